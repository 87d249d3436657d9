"""The "test connection" button: ask a source for its first page with a spec (saved or still being
edited), keeping nothing. Checks the secret, the token, the address and that the records read as rows."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .client import SourceClient, SourceError, Stats
from .credentials import MissingSecret, connection_secret
from .paginators import PagingError, paginator_for
from .records import RecordsUnusable, records_layout
from .sync import page_records

FIRST_KEYS_SHOWN = 40


@dataclass
class Probe:
    ok: bool
    message: str
    status: int | None = None
    records: int = 0
    keys: list = field(default_factory=list)  # the first record's keys, never its values
    fields: list = field(default_factory=list)  # (record key, bordereau column) pairs


def spec_probe(*, key, spec, secret_encrypted="", kept_for=None, secret=None):
    """Fetch the first page of `spec`'s source with `secret` (typed, not yet kept) or the one the spec
    names or that is kept encrypted (for the spec `kept_for`); the answer never holds the secret."""
    try:
        secret = secret or connection_secret(spec, secret_encrypted, kept_for=kept_for)
        client = SourceClient(key=key, spec=spec, secret=secret, stats=Stats(), probe=True)
        url, params = paginator_for(spec, dict(spec["resource"].get("params") or {})).first()
        page = client.get(url, params)
        records = page_records(page.body, spec, 1)
    except (SourceError, PagingError, MissingSecret) as exc:
        return Probe(ok=False, message=str(exc))
    probe = Probe(ok=True, message="", status=page.status, records=len(records))
    if not records:
        probe.message = _("Connected: the first page has no records.")
        return probe
    first = records[0]
    probe.keys = list(first)[:FIRST_KEYS_SHOWN] if isinstance(first, dict) else []
    try:
        layout = records_layout(spec, records)
    except RecordsUnusable as exc:
        return Probe(ok=False, message=str(exc), status=page.status, records=len(records), keys=probe.keys)
    probe.fields = list(zip(layout.headers, layout.columns, strict=True))
    probe.message = _("Connected: %(count)d records on the first page; %(fields)s.") % {
        "count": len(records),
        "fields": ", ".join(f"{key} → {name}" for key, name in probe.fields),
    }
    return probe


def connection_probe(connection):
    """(ok, message) of a saved connection's first page."""
    probe = spec_probe(key=str(connection.pk), spec=connection.spec, secret_encrypted=connection.secret_encrypted)
    return probe.ok, probe.message
