"""The raw pages of each run, kept gzipped in private storage (AMPARO_PRIVATE_ROOT/bordereaux/pages,
or the private bucket AMPARO_STORAGE_URL names: portal/core/storage.py; they hold insured names and
sums) so that a run can be replayed, on any worker node, without calling the source again, until
AMPARO_INGESTION_PAGE_RETENTION_DAYS have passed."""

import gzip
import secrets
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from portal.core.storage import private_storage

from .models import SyncExchange, SyncPage


def page_storage():
    return private_storage("bordereaux/pages")


def _key(stored_name):
    return f"{stored_name[:2]}/{stored_name}"


class PageKeeper:
    """Keeps a run's pages off the pull's hot path: each page is gzipped and written by a thread of its
    own (zlib lets go of the GIL), at most `ahead` pages waiting; their log rows, and the rows of the
    HTTP requests in `exchanges` (the client's list, emptied here), are inserted together by `flush`,
    on the caller's database connection."""

    def __init__(self, run, *, exchanges, ahead=8):
        self.run, self.exchanges, self.ahead = run, exchanges, ahead
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-pages")
        self.storage = page_storage()
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
        self.writing.append((self.pool.submit(_write_page, self.storage, stored_name, content), row))

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


def _write_page(storage, stored_name, content):
    # The fastest level: JSON pages still shrink to about a fifth.
    storage.save(_key(stored_name), ContentFile(gzip.compress(content, compresslevel=1)))


def page_content(page):
    with page_storage().open(_key(page.stored_name), "rb") as stored:
        return gzip.decompress(stored.read())


def _stored_before(storage, cutoff):
    """The names of the stored pages last written before `cutoff`."""
    if isinstance(storage, FileSystemStorage):
        root = Path(storage.location)
        if root.is_dir():
            for path in root.glob("*/*.json.gz"):
                if path.stat().st_mtime < cutoff.timestamp():
                    yield path.relative_to(root).as_posix()
        return
    # One listing carries every object's time; asking the storage per file would be a request each.
    prefix = f"{storage.location}/"
    for item in storage.bucket.objects.filter(Prefix=prefix):
        if item.last_modified < cutoff:
            yield item.key[len(prefix) :]


def pages_purge(*, now=None):
    """Delete the stored pages older than the retention, and the runs' HTTP exchanges with them; the
    pages' log rows stay, without the file. Files that never got their row (a worker killed between
    the two) go by their age."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AMPARO_INGESTION_PAGE_RETENTION_DAYS)
    storage = page_storage()
    purged = 0
    for page in SyncPage.objects.filter(fetched_at__lt=cutoff).exclude(stored_name="").iterator():
        storage.delete(_key(page.stored_name))
        purged += 1
    SyncPage.objects.filter(fetched_at__lt=cutoff).update(stored_name="")
    SyncExchange.objects.filter(started_at__lt=cutoff).delete()
    for name in list(_stored_before(storage, cutoff)):
        storage.delete(name)
    return purged
