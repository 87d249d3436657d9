"""Bordereau files hold insured names and sums: they are stored under random names in private storage
(AMPARO_PRIVATE_ROOT/bordereaux on local disk, or the private bucket that AMPARO_STORAGE_URL names:
portal/core/storage.py), outside every public URL, and served only by the job's download view.

The readers (layout detection, the engine) read a file by path: `bordereau_local_copy` hands them the
file itself on local disk, or a temporary copy streamed from the bucket, so worker nodes share no disk."""

import mimetypes
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File

from portal.core.storage import private_file_response, private_storage

COPY_CHUNK = 1 << 20


def bordereau_storage():
    return private_storage("bordereaux")


def _key(stored_name):
    return f"{stored_name[:2]}/{stored_name}"


def store_upload(upload, original_name):
    """Save the upload under a random name (keeping the ending its own name gives); returns that name."""
    ending = ".xlsx" if original_name.lower().endswith((".xlsx", ".xlsm")) else ".csv"
    stored_name = f"{secrets.token_hex(16)}{ending}"
    saved = bordereau_storage().save(_key(stored_name), File(upload))
    # The storage renames a file rather than overwrite one; keep the name it actually used.
    return Path(saved).name


def stored_delete(stored_name):
    bordereau_storage().delete(_key(stored_name))


@contextmanager
def bordereau_local_copy(stored_name):
    """A local path holding the stored file while the block runs: the file itself on local disk, a
    temporary copy from object storage otherwise (deleted afterwards). FileNotFoundError when it is gone."""
    storage = bordereau_storage()
    key = _key(stored_name)
    try:
        local = Path(storage.path(key))
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    if not storage.exists(key):
        raise FileNotFoundError(stored_name)
    with tempfile.NamedTemporaryFile(prefix="amparo-bordereau-", suffix=Path(stored_name).suffix) as copy:
        with storage.open(key, "rb") as source:
            shutil.copyfileobj(source, copy, COPY_CHUNK)
        copy.flush()
        yield Path(copy.name)


def bordereau_response(stored_name, *, filename):
    """The download of a bordereau whose permission the caller has checked (a signed redirect on S3)."""
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return private_file_response(bordereau_storage(), _key(stored_name), filename=filename, content_type=content_type)
