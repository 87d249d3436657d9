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

DEMO_SOURCE = "Seguros Andinos (demo)"
DEMO_CRS_SOURCE = "Andean Coverholder Ltd (demo)"


def seed_demo_bordereaux():
    """A cedant with one risk and one claims bordereau imported, some rows rejected on purpose."""

    finance = User.objects.get(email_primary="finance@amparo.demo")
    if not Source.objects.filter(name=DEMO_SOURCE).exists():
        source = source_create(actor=finance, name=DEMO_SOURCE)
        with tempfile.TemporaryDirectory() as folder:
            for kind, rows, fmt in ((Kind.RISK, 400, "csv"), (Kind.CLAIMS, 150, "xlsx")):
                path = Path(folder) / f"demo-{kind}.{fmt}"
                generate(path, rows=rows, kind=kind, fmt=fmt, seed=2026, bad_rate=0.03)
                _import(finance, source, kind, path, f"andinos-{kind}-2026-10.{fmt}")
    if not Source.objects.filter(name=DEMO_CRS_SOURCE).exists():
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
