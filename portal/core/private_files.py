"""Uploaded files the app keeps private (claim documents, profile photos): accepted by the type their
bytes show, never by their name or the type the sender claims, and stored under random names in a
private area (AMPARO_PRIVATE_ROOT, or a private bucket: portal/core/storage.py) that no public URL
reaches, after a virus scan; the app serves them after a permission check."""

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .storage import private_file_response, private_storage
from .virus_scan import refuse_if_infected

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
# The code of the refusal of a file larger than its kind allows (an API answers it 413, not 422).
TOO_LARGE = "too_large"


@dataclass(frozen=True)
class PrivateFileKind:
    """What one kind of private upload may be, and how its refusals read (%(name)s, %(size)s, %(max)s)."""

    folder: str
    # The content types accepted, with the file name endings each may carry (the first is the stored one).
    allowed_types: dict
    max_bytes_setting: str
    too_large: str
    program: str
    wrong_kind: str

    def storage(self):
        return private_storage(self.folder)

    def checked(self, upload):
        """The (content type, sha256, size) of an acceptable upload, or a ValidationError saying what is wrong."""
        name = Path(upload.name or "").name
        suffix = Path(name).suffix.lower()
        max_bytes = getattr(settings, self.max_bytes_setting)
        if upload.size == 0:
            raise ValidationError(_("The file %(name)s is empty.") % {"name": name})
        if upload.size > max_bytes:
            raise ValidationError(
                _(self.too_large)
                % {"name": name, "size": filesizeformat(upload.size), "max": filesizeformat(max_bytes)},
                code=TOO_LARGE,
            )
        upload.seek(0)
        head = upload.read(HEAD_BYTES)
        kind = filetype.guess(head)
        mime = kind.mime if kind else None
        if mime in EXECUTABLE_TYPES or suffix in EXECUTABLE_SUFFIXES or head[:2] == b"MZ" or head[:4] == b"\x7fELF":
            raise ValidationError(_(self.program) % {"name": name})
        if mime not in self.allowed_types:
            raise ValidationError(_(self.wrong_kind) % {"name": name})
        if not suffix:
            raise ValidationError(
                _("%(name)s has no extension but holds a %(kind)s file; name it %(expected)s or attach the right file.")
                % {"name": name, "kind": kind.extension.upper(), "expected": self.stored_suffix(mime)}
            )
        if suffix not in self.allowed_types[mime]:
            raise ValidationError(
                _(
                    "%(name)s is named like a %(suffix)s file but holds a %(kind)s file; "
                    "rename it or attach the right file."
                )
                % {"name": name, "suffix": suffix, "kind": kind.extension.upper()}
            )
        refuse_if_infected(upload)
        digest = hashlib.sha256()
        upload.seek(0)
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        return mime, digest.hexdigest(), upload.size

    def stored_suffix(self, mime):
        return sorted(self.allowed_types[mime])[0]

    def store(self, upload, mime):
        """Save the upload under a random name: the name is all that links it to its record."""
        stored_name = f"{secrets.token_hex(16)}{self.stored_suffix(mime)}"
        saved = self.storage().save(self.key(stored_name), upload)
        # The storage renames a file rather than overwrite one; keep the name it actually used.
        return Path(saved).name

    def keep(self, upload, create):
        """Check `upload` and store it, then `create(original_name=, stored_name=, content_type=, size=,
        sha256=)` its record (the caller's row and audit event, in the caller's transaction); when
        `create` fails the stored file is deleted again, so nothing refused is left behind. What
        `create` returns."""
        mime, sha256, size = self.checked(upload)
        stored_name = self.store(upload, mime)
        try:
            return create(
                original_name=Path(upload.name or "").name[-255:],
                stored_name=stored_name,
                content_type=mime,
                size=size,
                sha256=sha256,
            )
        except Exception:
            self.delete(stored_name)
            raise

    def key(self, stored_name):
        return f"{stored_name[:2]}/{stored_name}"

    def path(self, stored_name):
        """Where a stored file lies on local disk (only when private files are on local disk)."""
        return Path(self.storage().path(self.key(stored_name)))

    def delete(self, stored_name):
        self.storage().delete(self.key(stored_name))

    def response(self, stored_name, *, filename, content_type):
        """The download of a file whose permission the caller has checked (a signed redirect on S3)."""
        return private_file_response(
            self.storage(), self.key(stored_name), filename=filename, content_type=content_type
        )
