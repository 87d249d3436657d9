"""Claim attachments: checked by their content, stored under random names outside every public URL."""

import hashlib
import secrets
from pathlib import Path

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from portal.core.storage import private_file_response, private_storage
from portal.core.virus_scan import refuse_if_infected

# What a claim document may be, by the type its bytes show, with the file name endings that type may carry.
ALLOWED_TYPES = {
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "image/webp": {".webp"},
    "image/heic": {".heic"},
    "application/pdf": {".pdf"},
}
EXECUTABLE_TYPES = {
    "application/x-msdownload",
    "application/x-executable",
    "application/x-mach-binary",
    "application/x-elf",
}
EXECUTABLE_SUFFIXES = {
    ".exe",
    ".dll",
    ".bat",
    ".cmd",
    ".com",
    ".msi",
    ".sh",
    ".js",
    ".vbs",
    ".scr",
    ".jar",
    ".ps1",
    ".apk",
}
HEAD_BYTES = 8192


def document_storage():
    return private_storage("claim-documents")


def checked_upload(upload):
    """The (content type, sha256, size) of an acceptable upload, or a ValidationError saying what is wrong."""
    name = Path(upload.name or "").name
    suffix = Path(name).suffix.lower()
    if upload.size == 0:
        raise ValidationError(_("The file %(name)s is empty.") % {"name": name})
    if upload.size > settings.AMPARO_CLAIM_DOCUMENT_MAX_BYTES:
        raise ValidationError(
            _("The file %(name)s is %(size)s; the most a document may be is %(max)s.")
            % {
                "name": name,
                "size": filesizeformat(upload.size),
                "max": filesizeformat(settings.AMPARO_CLAIM_DOCUMENT_MAX_BYTES),
            }
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime in EXECUTABLE_TYPES or suffix in EXECUTABLE_SUFFIXES or head[:2] == b"MZ" or head[:4] == b"\x7fELF":
        raise ValidationError(
            _("%(name)s is a program; only photos and PDF documents can be attached.") % {"name": name}
        )
    if mime not in ALLOWED_TYPES:
        raise ValidationError(_("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document.") % {"name": name})
    if not suffix:
        raise ValidationError(
            _("%(name)s has no extension but holds a %(kind)s file; name it %(expected)s or attach the right file.")
            % {"name": name, "kind": kind.extension.upper(), "expected": _expected_suffix(mime)}
        )
    if suffix not in ALLOWED_TYPES[mime]:
        raise ValidationError(
            _("%(name)s is named like a %(suffix)s file but holds a %(kind)s file; rename it or attach the right file.")
            % {"name": name, "suffix": suffix, "kind": kind.extension.upper()}
        )
    refuse_if_infected(upload)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return mime, digest.hexdigest(), upload.size


def _expected_suffix(mime):
    return sorted(ALLOWED_TYPES[mime])[0]


def store_upload(upload, mime):
    """Save the upload under a random name; the name is all that links it to its claim."""
    stored_name = f"{secrets.token_hex(16)}{_expected_suffix(mime)}"
    saved = document_storage().save(_key(stored_name), upload)
    # The storage renames a file rather than overwrite one; keep the name it actually used.
    return Path(saved).name


def _key(stored_name):
    return f"{stored_name[:2]}/{stored_name}"


def stored_path(stored_name):
    """Where a stored document lies on local disk (only when private files are on local disk)."""
    return Path(document_storage().path(_key(stored_name)))


def stored_delete(stored_name):
    document_storage().delete(_key(stored_name))


def stored_response(document):
    """The download of a document whose permission the caller has checked (a signed redirect on S3)."""
    return private_file_response(
        document_storage(),
        _key(document.stored_name),
        filename=document.original_name,
        content_type=document.content_type,
    )
