"""Bordereau files hold insured names and sums: they are stored under random names outside every
public URL (AMPARO_PRIVATE_ROOT, never MEDIA_ROOT) and served only by the job's download view."""

import secrets
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage


def bordereau_storage():
    return FileSystemStorage(location=settings.AMPARO_PRIVATE_ROOT / "bordereaux")


def store_upload(upload, original_name):
    """Save the upload under a random name (keeping the ending its own name gives); returns that name."""
    ending = ".xlsx" if original_name.lower().endswith((".xlsx", ".xlsm")) else ".csv"
    stored_name = f"{secrets.token_hex(16)}{ending}"
    saved = bordereau_storage().save(f"{stored_name[:2]}/{stored_name}", File(upload))
    # The storage renames a file rather than overwrite one; keep the name it actually used.
    return Path(saved).name


def stored_path(stored_name):
    return Path(bordereau_storage().path(f"{stored_name[:2]}/{stored_name}"))
