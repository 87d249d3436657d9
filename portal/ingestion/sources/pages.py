"""The raw pages of each run, kept gzipped under AMPARO_PRIVATE_ROOT/bordereaux/pages (they hold
insured names and sums) so that a run can be replayed without calling the source again, until
AMPARO_INGESTION_PAGE_RETENTION_DAYS have passed."""

import gzip
import secrets
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import SyncExchange, SyncPage


def _root():
    return settings.AMPARO_PRIVATE_ROOT / "bordereaux" / "pages"


def page_path(stored_name):
    return _root() / stored_name[:2] / stored_name


class PageKeeper:
    """Keeps a run's pages off the pull's hot path: each page is gzipped and written by a thread of its
    own (zlib lets go of the GIL), at most `ahead` pages waiting; their log rows, and the rows of the
    HTTP requests in `exchanges` (the client's list, emptied here), are inserted together by `flush`,
    on the caller's database connection."""

    def __init__(self, run, *, exchanges, ahead=8):
        self.run, self.exchanges, self.ahead = run, exchanges, ahead
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pages")
        self.writing = deque()
        self.rows = []

    def keep(self, *, number, url, status_code, records, content):
        stored_name = f"{secrets.token_hex(16)}.json.gz"
        while len(self.writing) >= self.ahead:
            self._written()
        row = SyncPage(
            run=self.run,
            number=number,
            url=url[:500],
            status_code=status_code,
            records=records,
            bytes=len(content),
            stored_name=stored_name,
        )
        self.writing.append((self.pool.submit(_write_page, stored_name, content), row))

    def _written(self):
        """Wait for the oldest page's file; only once it is written may its row say it is kept."""
        future, row = self.writing.popleft()
        future.result()
        self.rows.append(row)

    def flush(self):
        """Wait for the pages' files, then insert their rows."""
        try:
            while self.writing:
                self._written()
        finally:
            SyncPage.objects.bulk_create(self.rows)
            self.rows = []
            SyncExchange.objects.bulk_create(SyncExchange(run=self.run, **exchange) for exchange in self.exchanges)
            self.exchanges.clear()

    def close(self):
        try:
            self.flush()
        finally:
            self.pool.shutdown()


def _write_page(stored_name, content):
    path = page_path(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The fastest level: JSON pages still shrink to about a fifth.
    path.write_bytes(gzip.compress(content, compresslevel=1))


def page_content(page):
    return gzip.decompress(page_path(page.stored_name).read_bytes())


def pages_purge(*, now=None):
    """Delete the stored pages older than the retention, and the runs' HTTP exchanges with them; the
    pages' log rows stay, without the file. Files that never got their row (a worker killed between
    the two) go by their age."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AMPARO_INGESTION_PAGE_RETENTION_DAYS)
    purged = 0
    for page in SyncPage.objects.filter(fetched_at__lt=cutoff).exclude(stored_name="").iterator():
        page_path(page.stored_name).unlink(missing_ok=True)
        purged += 1
    SyncPage.objects.filter(fetched_at__lt=cutoff).update(stored_name="")
    SyncExchange.objects.filter(started_at__lt=cutoff).delete()
    if _root().is_dir():
        for path in _root().glob("*/*.json.gz"):
            if path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
    return purged
