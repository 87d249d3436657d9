"""A demo cedant with one risk and one claims bordereau imported, some rows rejected on purpose."""

import tempfile
from datetime import date
from pathlib import Path

from portal.accounts.models import User

from .fields import Kind
from .models import Source
from .runner import import_job_run
from .samples.generator import generate
from .services import import_job_create, source_create

DEMO_SOURCE = "Seguros Andinos (demo)"


def seed_demo_bordereaux():
    """A cedant with one risk and one claims bordereau imported, some rows rejected on purpose."""

    if Source.objects.filter(name=DEMO_SOURCE).exists():
        return
    finance = User.objects.get(email_primary="finance@amparo.demo")
    source = source_create(actor=finance, name=DEMO_SOURCE)
    with tempfile.TemporaryDirectory() as folder:
        for kind, rows, fmt in ((Kind.RISK, 400, "csv"), (Kind.CLAIMS, 150, "xlsx")):
            path = Path(folder) / f"demo-{kind}.{fmt}"
            generate(path, rows=rows, kind=kind, fmt=fmt, seed=2026, bad_rate=0.03)
            with path.open("rb") as handle:
                job = import_job_create(
                    actor=finance,
                    source=source,
                    kind=kind,
                    period=date(2026, 10, 1),
                    upload=handle,
                    original_name=f"andinos-{kind}-2026-10.{fmt}",
                    enqueue=False,
                )
            import_job_run(job_id=job.pk)
