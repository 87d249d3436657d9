"""Loan documents (identity and income, for the KYC check): checked by their content and stored like
claim documents (the same private-file kind: the configured storage, scanned before it is kept), under
random names outside every public URL."""

from django.utils.translation import gettext_noop

from portal.claims.documents import ALLOWED_TYPES
from portal.core.private_files import PrivateFileKind

LOAN_DOCUMENT = PrivateFileKind(
    folder="loan-documents",
    allowed_types=ALLOWED_TYPES,
    max_bytes_setting="AMPARO_CLAIM_DOCUMENT_MAX_BYTES",
    too_large=gettext_noop("The file %(name)s is %(size)s; the most a document may be is %(max)s."),
    program=gettext_noop("%(name)s is a program; only photos and PDF documents can be attached."),
    wrong_kind=gettext_noop("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or a PDF document."),
)


def stored_response(document):
    """The download of a document whose permission the caller has checked (a signed redirect on S3)."""
    return LOAN_DOCUMENT.response(
        document.stored_name, filename=document.original_name, content_type=document.content_type
    )
