"""Report files hold customers' names and money: they live under random names in private storage
(AMPARO_PRIVATE_ROOT/reports on local disk, or the private bucket AMPARO_STORAGE_URL names:
portal/core/storage.py), outside every public URL, and are served only by the run's download view.

A generator writes to a scratch file on local disk (the writers need a path), which is then saved
to the storage, so worker nodes need no shared disk."""

import os
import secrets
import shutil
import tempfile
from pathlib import Path

from django.core.files import File

from portal.core.storage import private_file_response, private_storage

COPY_CHUNK = 1 << 20


def report_storage():
    return private_storage("reports")


def _key(stored_name):
    return f"{stored_name[:2]}/{stored_name}"


def scratch_path(extension):
    """A new empty local file to write a report into before it is stored; the caller removes it."""
    handle, name = tempfile.mkstemp(prefix="amparo-report-", suffix=f".{extension}")
    os.close(handle)
    return Path(name)


def report_store(path, extension):
    """Save the file at `path` under a new random name; returns the name the storage used."""
    stored_name = f"{secrets.token_hex(16)}.{extension}"
    with open(path, "rb") as content:
        saved = report_storage().save(_key(stored_name), File(content))
    # The storage renames a file rather than overwrite one; keep the name it actually used.
    return Path(saved).name


def report_delete(stored_name):
    report_storage().delete(_key(stored_name))


def report_exists(stored_name):
    return report_storage().exists(_key(stored_name))


def report_copy_to(stored_name, destination):
    with report_storage().open(_key(stored_name), "rb") as source, open(destination, "wb") as target:
        shutil.copyfileobj(source, target, COPY_CHUNK)


def report_response(stored_name, *, filename, content_type):
    """The download of a run whose permission the caller has checked (a signed redirect on S3)."""
    return private_file_response(report_storage(), _key(stored_name), filename=filename, content_type=content_type)
