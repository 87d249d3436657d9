"""Report files hold customers' names and money: they live under random names outside every public
URL (AMPARO_PRIVATE_ROOT/reports, never MEDIA_ROOT) and are served only by the run's download view."""

import secrets
from pathlib import Path

from django.conf import settings


def reports_root():
    return Path(settings.AMPARO_PRIVATE_ROOT) / "reports"


def new_stored_name(extension):
    return f"{secrets.token_hex(16)}.{extension}"


def stored_path(stored_name):
    path = reports_root() / stored_name[:2] / stored_name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
