"""Where private files live (claim documents, bordereaux, report files, photos): never under a public
URL, served only after a permission check. Local disk under `AMPARO_PRIVATE_ROOT` by default."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def private_storage(area):
    """The storage of one area of private files ("claim-documents", "bordereaux", ...)."""
    return FileSystemStorage(location=settings.AMPARO_PRIVATE_ROOT / area)
