"""Virus scanning of uploads through ClamAV's daemon (clamd), the only code that speaks its protocol.

`CLAMD_ADDRESS` is `tcp://host:port` or `unix:///path/to/clamd.ctl`; without it scanning is off. An
upload goes over INSTREAM (4-byte big-endian chunk lengths, a zero length to end) and clamd answers
`stream: OK`, `stream: <signature> FOUND` or `... ERROR`. When clamd cannot give a verdict the upload
is refused too: a file nobody could scan is not stored.
"""

import logging
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


class ScanUnavailable(Exception):
    """clamd could not be reached or gave no verdict."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""


def scanning_enabled():
    return bool(settings.CLAMD_ADDRESS)


def _connect(address, timeout):
    parts = urlsplit(address)
    if parts.scheme == "unix":
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(timeout)
        client.connect(parts.path)
        return client
    if parts.scheme == "tcp" and parts.hostname and parts.port:
        return socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    raise ImproperlyConfigured(f"CLAMD_ADDRESS must be tcp://host:port or unix:///path, got {address!r}")


def _reply(client):
    received = b""
    while not received.endswith(b"\0"):
        block = client.recv(4096)
        if not block:
            break
        received += block
    return received.rstrip(b"\0").decode("utf-8", "replace").strip()


def scan_stream(chunks):
    """Scan the bytes `chunks` yields. Returns a Verdict; raises ScanUnavailable when clamd gives none."""
    started = time.perf_counter()
    sent = 0
    try:
        with _connect(settings.CLAMD_ADDRESS, settings.CLAMD_TIMEOUT_SECONDS) as client:
            client.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for offset in range(0, len(chunk), CHUNK_BYTES):
                    piece = chunk[offset : offset + CHUNK_BYTES]
                    client.sendall(struct.pack(">I", len(piece)) + piece)
                    sent += len(piece)
            client.sendall(struct.pack(">I", 0))
            answer = _reply(client)
    except OSError as exc:
        logger.error("virus scan: clamd unreachable after %d bytes: %s", sent, exc)
        raise ScanUnavailable(str(exc)) from exc
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if answer.endswith("OK"):
        logger.info("virus scan: clean (%d bytes, %s ms)", sent, elapsed_ms)
        return Verdict(clean=True)
    if answer.endswith("FOUND"):
        signature = answer.removeprefix("stream:").removesuffix("FOUND").strip()
        logger.warning("virus scan: %s found (%d bytes, %s ms)", signature, sent, elapsed_ms)
        return Verdict(clean=False, signature=signature)
    logger.error("virus scan: clamd answered %r (%d bytes)", answer[:200], sent)
    raise ScanUnavailable(answer[:200] or "no answer")


def scan_upload(upload):
    """Scan an uploaded (or any binary) file from its start, leaving it at its start for whoever stores it."""
    upload.seek(0)
    try:
        return scan_stream(iter(lambda: upload.read(CHUNK_BYTES), b""))
    finally:
        upload.seek(0)


def refuse_if_infected(upload):
    """Raise a ValidationError naming the file when clamd finds a virus in it or cannot scan it; nothing
    when it is clean or scanning is off (no CLAMD_ADDRESS)."""
    if not scanning_enabled():
        return
    name = Path(upload.name or "").name
    try:
        verdict = scan_upload(upload)
    except ScanUnavailable as exc:
        raise ValidationError(
            _("%(name)s could not be checked for viruses just now; nothing was stored. Try again in a few minutes.")
            % {"name": name}
        ) from exc
    if not verdict.clean:
        raise ValidationError(
            _("%(name)s contains a virus (%(signature)s) and was refused; nothing was stored.")
            % {"name": name, "signature": verdict.signature}
        )
