"""The raw pages of each run, kept gzipped under AMPARO_PRIVATE_ROOT/bordereaux/pages (they hold
insured names and sums) so that a run can be replayed without calling the source again, until
AMPARO_INGESTION_PAGE_RETENTION_DAYS have passed."""

import gzip
import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import SyncPage


def _root():
    return settings.AMPARO_PRIVATE_ROOT / "bordereaux" / "pages"


def page_path(stored_name):
    return _root() / stored_name[:2] / stored_name


def page_store(*, run, number, url, status_code, records, content):
    # The fastest level: JSON pages still shrink to about a fifth, and a pull is not held up by gzip.
    stored_name = f"{secrets.token_hex(16)}.json.gz"
    path = page_path(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content, compresslevel=1))
    return SyncPage.objects.create(
        run=run,
        number=number,
        url=url[:500],
        status_code=status_code,
        records=records,
        bytes=len(content),
        stored_name=stored_name,
    )


def page_content(page):
    return gzip.decompress(page_path(page.stored_name).read_bytes())


def pages_purge(*, now=None):
    """Delete the stored pages older than the retention; their log rows stay, without the file."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AMPARO_INGESTION_PAGE_RETENTION_DAYS)
    purged = 0
    for page in SyncPage.objects.filter(fetched_at__lt=cutoff).exclude(stored_name="").iterator():
        page_path(page.stored_name).unlink(missing_ok=True)
        purged += 1
    SyncPage.objects.filter(fetched_at__lt=cutoff).update(stored_name="")
    return purged
