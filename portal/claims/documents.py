"""Claim attachments: checked by their content, stored under random names outside every public URL."""

from django.utils.translation import gettext_noop

from portal.core.private_files import PrivateFileKind

# What a claim document may be, by the type its bytes show, with the file name endings that type may carry.
ALLOWED_TYPES = {
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "image/webp": {".webp"},
    "image/heic": {".heic"},
    "application/pdf": {".pdf"},
}
CLAIM_DOCUMENT = PrivateFileKind(
    folder="claim-documents",
    allowed_types=ALLOWED_TYPES,
    max_bytes_setting="AMPARO_CLAIM_DOCUMENT_MAX_BYTES",
    too_large=gettext_noop("The file %(name)s is %(size)s; the most a document may be is %(max)s."),
    program=gettext_noop("%(name)s is a program; only photos and PDF documents can be attached."),
    wrong_kind=gettext_noop("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document."),
)


def document_storage():
    return CLAIM_DOCUMENT.storage()


def checked_upload(upload):
    """The (content type, sha256, size) of an acceptable upload, or a ValidationError saying what is wrong."""
    return CLAIM_DOCUMENT.checked(upload)


def stored_path(stored_name):
    return CLAIM_DOCUMENT.path(stored_name)


def stored_delete(stored_name):
    CLAIM_DOCUMENT.delete(stored_name)


def stored_response(document):
    """The download of a document whose permission the caller has checked (a signed redirect on S3)."""
    return CLAIM_DOCUMENT.response(
        document.stored_name, filename=document.original_name, content_type=document.content_type
    )
