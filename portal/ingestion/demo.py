"""A demo cedant with one risk and one claims bordereau imported, some rows rejected on purpose, and
a coverholder whose risk bordereau speaks the Coverholder Reporting Standards' words."""

import tempfile
from datetime import date
from pathlib import Path

from portal.accounts.models import User

from .fields import Kind
from .models import Source
from .runner import import_job_run
from .samples.crs import generate_crs
from .samples.generator import generate
from .services import import_job_create, source_create
from .sources.services import source_connection_load

DEMO_SOURCE = "Seguros Andinos (demo)"
DEMO_CRS_SOURCE = "Andean Coverholder Ltd (demo)"
DEMO_WEB_SOURCE = "Seguros Andinos API (demo)"
# The example spec: the demo has no cedant API to call, so the connection is disabled and a
# pull says which environment variable is missing; it shows what an administrator edits.
DEMO_WEB_SPEC = {
    "name": DEMO_WEB_SOURCE,
    "kind": "risk",
    "base_url": "https://api.cedant.example",
    "auth": {
        "type": "oauth2_client_credentials",
        "token_url": "https://api.cedant.example/oauth/token",
        "client_id": "amparo",
        "client_secret_env": "ANDINOS_SECRET",
        "scope": "bordereaux.read",
    },
    "resource": {
        "path": "/v1/risks",
        "params": {"page_size": 500},
        "records": "data",
        "paginator": {"type": "link_header"},
        "incremental": {
            "cursor_field": "updated_at",
            "param": "updated_since",
            "initial_value": "2026-01-01T00:00:00Z",
        },
    },
    "period": {"field": "reporting_period"},
    "mapping": {"riskCountry": "Location of Risk Country"},
    "rate_limit": {"requests": 20, "per": "second"},
    "timeout": {"connect": 5, "read": 30},
    "retry": {"attempts": 6},
    "schedule": "0 6 * * *",
}


def seed_demo_bordereaux():
    """A cedant with one risk and one claims bordereau imported, some rows rejected on purpose, a
    coverholder's bordereau in the standard's words, and a web-service source (disabled: the demo has
    no cedant API)."""
    present = set(
        Source.objects.filter(name__in=[DEMO_SOURCE, DEMO_CRS_SOURCE, DEMO_WEB_SOURCE]).values_list("name", flat=True)
    )
    if DEMO_WEB_SOURCE not in present:
        admin = User.objects.get(email_primary="admin@amparo.demo")
        source_connection_load(actor=admin, spec=DEMO_WEB_SPEC, enabled=False)
    if {DEMO_SOURCE, DEMO_CRS_SOURCE} <= present:
        return
    finance = User.objects.get(email_primary="finance@amparo.demo")
    if DEMO_SOURCE not in present:
        source = source_create(actor=finance, name=DEMO_SOURCE)
        with tempfile.TemporaryDirectory() as folder:
            for kind, rows, fmt in ((Kind.RISK, 400, "csv"), (Kind.CLAIMS, 150, "xlsx")):
                path = Path(folder) / f"demo-{kind}.{fmt}"
                generate(path, rows=rows, kind=kind, fmt=fmt, seed=2026, bad_rate=0.03)
                _import(finance, source, kind, path, f"andinos-{kind}-2026-10.{fmt}")
    if DEMO_CRS_SOURCE not in present:
        source = source_create(actor=finance, name=DEMO_CRS_SOURCE)
        with tempfile.TemporaryDirectory() as folder:
            # Original, additional and return premiums (some sent negative), New/Renewal in a column.
            path = Path(folder) / "demo-crs.csv"
            generate_crs(path, rows=300, seed=2026, bad_rate=0.03)
            _import(finance, source, Kind.RISK, path, "coverholder-crs-2026-10.csv")


def _import(actor, source, kind, path, name):
    with path.open("rb") as handle:
        job = import_job_create(
            actor=actor,
            source=source,
            kind=kind,
            period=date(2026, 10, 1),
            upload=handle,
            original_name=name,
            enqueue=False,
        )
    import_job_run(job_id=job.pk)
