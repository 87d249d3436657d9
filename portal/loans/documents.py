"""Loan documents (identity and income, for the KYC check): checked by their content exactly as claim
documents are, and kept in the private storage beside them, under random names."""

import secrets
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage

from portal.claims.documents import ALLOWED_TYPES, checked_upload

__all__ = ["checked_upload", "store_upload", "stored_path"]


def document_storage():
    return FileSystemStorage(location=settings.AMPARO_PRIVATE_ROOT / "loan-documents")


def store_upload(upload, mime):
    stored_name = f"{secrets.token_hex(16)}{sorted(ALLOWED_TYPES[mime])[0]}"
    saved = document_storage().save(f"{stored_name[:2]}/{stored_name}", upload)
    return Path(saved).name


def stored_path(stored_name):
    return Path(document_storage().path(f"{stored_name[:2]}/{stored_name}"))
