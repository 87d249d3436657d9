"""A sync run, in the worker: fetch the source's pages (or read a kept run's pages back), keep each
page, stream its records into the import engine's working tables (one import job per period, rows
through COPY as a file's are), then type, check and load them with the file path's own steps, and
advance the incremental cursor in the same transaction as the rows. A worker killed before that
transaction leaves the rows and the cursor as they were, so the next run picks up from the last
committed cursor and ends where a clean run would."""

import hashlib
import json
import logging
import queue
import threading
import time
from itertools import repeat

import orjson
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import audit_record

from ..engine import Batch
from ..models import ImportJob, MappingProfile
from ..pipeline import batch_load, batch_type
from .client import RefusedPage, SourceClient, SourceError, Stats
from .credentials import MissingSecret, connection_secret
from .models import SourceConnection, SyncPage, SyncRun
from .pages import PageKeeper, page_content
from .paginators import PagingError, dotted, paginator_for
from .records import (
    KeyWatch,
    RecordsUnusable,
    columns_reader,
    copy_text,
    cursor_max,
    layout_with_keys,
    periods_reader,
    records_layout,
)

logger = logging.getLogger(__name__)

UNPLACED_KEPT = 100
MAX_PAGES = 1_000_000
# Rows of one period held before one COPY: fewer, larger statements than one per page.
COPY_ROWS = 20_000
# The log rows of the pages kept are inserted together, at most this many seconds late (a slow
# source's one by one): a worker killed mid-run leaves the rows of the pages it had.
PAGES_LOGGED_EVERY_SECONDS = 0.25


class RunCancelled(Exception):
    pass


class _Part:
    """The records of one period: its import job and working tables, and its rows not yet copied."""

    def __init__(self, job, batch):
        self.job, self.batch, self.pending, self.pending_rows, self.records = job, batch, [], 0, 0

    def add(self, numbers, columns):
        self.records += len(numbers)
        self.pending_rows += len(numbers)
        if db_connection.vendor == "postgresql":
            self.pending.append(copy_text(numbers, columns))
        else:
            self.pending.extend(zip(numbers, repeat(0), *columns))
        if self.pending_rows >= COPY_ROWS:
            self.flush()

    def flush(self):
        if not self.pending_rows:
            return
        if db_connection.vendor == "postgresql":
            self.batch.write_copy_text("".join(self.pending))
        else:
            self.batch.write(self.pending)
        self.pending, self.pending_rows = [], 0


class _Staging:
    def __init__(self, run, spec):
        self.run, self.spec = run, spec
        self.kind = spec["kind"]
        self.layout = None
        self.keys = KeyWatch()
        self.parts = {}
        self.records = 0
        self.unplaced = []
        self.unplaced_count = 0
        # A spec stored before `period` was required has none: the run fails saying so (sync_run_execute).
        self.period_of = periods_reader(spec["period"]) if isinstance(spec.get("period"), dict) else None
        self.beat_at = 0.0  # time.monotonic() of the last heartbeat

    def add(self, page_number, records):
        if not records:
            return
        if self.layout is None:
            self.layout = records_layout(self.spec, records)
            self.columns_of = columns_reader(self.layout)
        self._take_new_keys(records)
        first = self.records + 1
        self.records += len(records)
        shared = self._one_period(records)
        if shared is not None and shared[1] is None:
            part = self.parts.get(shared[0]) or self._part(shared[0])
            part.add(range(first, first + len(records)), self.columns_of(records))
            return
        groups = {}
        for number, record in enumerate(records, first):
            if type(record) is not dict:
                self._unplace(page_number, number, _("The record is not a JSON object."))
                continue
            period, problem = self.period_of(record)
            if problem:
                self._unplace(page_number, number, problem)
                continue
            numbers, grouped = groups.setdefault(period, ([], []))
            numbers.append(number)
            grouped.append(record)
        for period, (numbers, grouped) in groups.items():
            (self.parts.get(period) or self._part(period)).add(numbers, self.columns_of(grouped))

    def _take_new_keys(self, records):
        """Stage from this page on the fields fed by keys no page before it had: APIs leave out a key
        whose value is empty, so a page may be the first to hold one."""
        if set(map(type, records)) != {dict}:
            records = [record for record in records if type(record) is dict]
        keys = self.keys.new_keys(records)
        if not keys:
            return
        layout = layout_with_keys(self.spec, self.layout, keys)
        if layout is None:
            return
        self.flush()
        for part in self.parts.values():
            part.batch.widen(layout)
            part.job.layout = layout.as_dict()
        ImportJob.objects.filter(pk__in=[part.job.pk for part in self.parts.values()]).update(layout=layout.as_dict())
        self.layout = layout
        self.columns_of = columns_reader(layout)

    def _one_period(self, records):
        """(period, problem) of every record of the page when one value gives it (the usual page), else None."""
        if set(map(type, records)) != {dict}:
            return None
        field = self.spec["period"].get("field")
        if field is not None:
            try:
                if "." in field or len(set(map(dict.get, records, repeat(field)))) != 1:
                    return None
            except TypeError:  # a list or an object where the period belongs
                return None
        return self.period_of(records[0])

    def flush(self):
        for part in self.parts.values():
            part.flush()

    def _unplace(self, page_number, number, message):
        self.unplaced_count += 1
        if len(self.unplaced) < UNPLACED_KEPT:
            self.unplaced.append({"record": number, "page": page_number, "message": str(message)})

    def _part(self, period):
        run = self.run
        source = run.connection.source
        job = ImportJob.objects.create(
            source=source,
            kind=self.kind,
            period=period,
            # Not a file: its name says where the rows came from; its fingerprint is the run's, so that
            # a replay or a later pull is never refused as a repeated file (rows update by natural key).
            stored_name=f"api-run{run.pk}-{period:%Y%m}",
            original_name=_("%(source)s API, run #%(run)d, %(period)s")
            % {"source": source.name, "run": run.pk, "period": f"{period:%Y-%m}"},
            sha256=hashlib.sha256(f"sync-run:{run.pk}:{period.isoformat()}".encode()).hexdigest(),
            status=ImportJob.Status.RUNNING,
            layout=self.layout.as_dict(),
            created_by=run.created_by,
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        run.jobs.add(job)
        batch = Batch(self.kind, job.pk, self.layout)
        batch.create()
        part = self.parts[period] = _Part(job, batch)
        return part

    def drop(self):
        for part in self.parts.values():
            part.batch.drop()


def _claim(run_id):
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection__source").get(pk=run_id)
        if run.status != SyncRun.Status.QUEUED:
            return None
        run.status = SyncRun.Status.RUNNING
        run.started_at = run.heartbeat_at = timezone.now()
        run.save(update_fields=["status", "started_at", "heartbeat_at"])
        return run


def page_records(body, spec, number):
    """The records of page `number`. After the first page, an empty answer or one without the list
    (null, or no such key) is the end: APIs answer the page past the end that way as well."""
    path = spec["resource"].get("records")
    records = dotted(body, path) if path else body
    if records is None and (number > 1 or body is None):
        return []
    if not isinstance(records, list):
        raise PagingError(
            _("Page %(page)d has no list of records at %(path)s.") % {"page": number, "path": path or _("its top")}
        )
    return records


def _fetched_pages(run, spec, cursor_before, stats, sleep):
    """(number, records) of each page, fetched and kept."""
    connection = run.connection
    secret = connection_secret(spec, connection.secret_encrypted)
    client = SourceClient(key=str(connection.pk), spec=spec, secret=secret, stats=stats, sleep=sleep)
    params = dict(spec["resource"].get("params") or {})
    incremental = spec["resource"].get("incremental")
    if incremental and cursor_before:
        params[incremental["param"]] = cursor_before
    paginator = paginator_for(spec, params)
    request = paginator.first()
    keeper = PageKeeper(run, exchanges=client.exchanges)
    try:
        yield from _pages_kept(client, paginator, request, spec, keeper)
    finally:
        keeper.close()


def _pages_kept(client, paginator, request, spec, keeper):
    seen = set()
    number = 0
    logged_at = time.monotonic()
    while request is not None:
        url, query = request
        fingerprint = (url, json.dumps(query, sort_keys=True, default=str))
        if fingerprint in seen:
            raise PagingError(
                _("The API sent page %(page)d's address again: its paging goes round in a circle.") % {"page": number}
            )
        seen.add(fingerprint)
        number += 1
        if number > MAX_PAGES:
            raise PagingError(_("More than %(pages)d pages: stopped.") % {"pages": MAX_PAGES})
        try:
            page = client.get(url, query, page=number)
        except RefusedPage as refusal:
            if number > 1 and paginator.counts_pages and refusal.status in (400, 404):
                logger.info("page %d answered %d: taken as the end of the records", number, refusal.status)
                return
            raise
        records = page_records(page.body, spec, number)
        keeper.keep(number=number, url=page.url, status_code=page.status, records=len(records), content=page.content)
        if time.monotonic() - logged_at >= PAGES_LOGGED_EVERY_SECONDS:
            keeper.flush()
            logged_at = time.monotonic()
        yield number, records
        request = paginator.next(page.response, page.body, records)


def _replayed_pages(run, spec):
    kept = SyncPage.objects.filter(run_id=run.replay_of_id).order_by("number")
    for page in kept.iterator():
        if not page.stored_name:
            raise PagingError(
                _("Page %(page)d of run #%(run)d is no longer kept.") % {"page": page.number, "run": page.run_id}
            )
        try:
            content = page_content(page)
        except FileNotFoundError as exc:
            raise PagingError(
                _("Page %(page)d of run #%(run)d has lost its kept file; that run cannot be replayed.")
                % {"page": page.number, "run": page.run_id}
            ) from exc
        body = orjson.loads(content) if content.strip() else None
        yield page.number, page_records(body, spec, page.number)


class _Failed:
    def __init__(self, error):
        self.error = error


def _ahead(pages):
    """The items of the generator `pages`, the next one fetched on a thread of its own (and its own
    database connection) while the caller stages this one: the wait for the source and the parsing
    of its JSON overlap the COPY of the page before. Where other connections cannot see this one's
    uncommitted rows (inside a transaction: the tests), one after the other."""
    if db_connection.vendor != "postgresql" or db_connection.in_atomic_block:
        yield from pages
        return
    ready, stop, done = queue.Queue(maxsize=2), threading.Event(), object()

    def put(item):
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in pages:
                if not put(item):
                    return
            put(done)
        except BaseException as error:
            put(_Failed(error))
        finally:
            # Here, on this thread's connection: the pages' own clean-up (their last log rows).
            try:
                pages.close()
            finally:
                db_connection.close()

    thread = threading.Thread(target=produce, name="sync-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is done:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join(timeout=60)


def _page_cursor(current, records, field):
    """The largest cursor so far, with this page's records: most APIs write every timestamp the same
    way (ISO 8601 in UTC, same length), which then sort as text; only the page's largest is parsed."""
    values = [dotted(record, field) for record in records if type(record) is dict]
    values = [value for value in values if value not in (None, "")]
    if not values:
        return current
    texts = [value for value in values if type(value) is str]
    if len(texts) == len(values) and len({len(text) for text in texts}) == 1 and all(t[-1] == "Z" for t in texts):
        return cursor_max(current, max(texts))
    for value in values:
        current = cursor_max(current, value)
    return current


def sync_run_execute(*, run_id, sleep=time.sleep):
    """Run a queued sync run to its end; returns the run, or None if another worker had it."""
    run = _claim(run_id)
    if run is None:
        return None
    started = time.perf_counter()
    connection = run.connection
    spec = connection.spec
    incremental = spec["resource"].get("incremental")
    cursor_before = connection.cursor_value or (str(incremental.get("initial_value", "")) if incremental else "")
    cursor = cursor_before
    stats = Stats()
    staging = _Staging(run, spec)
    pages = 0
    SyncRun.objects.filter(pk=run.pk).update(cursor_before=cursor_before)
    try:
        if staging.period_of is None:
            raise RecordsUnusable(_("The spec gives no period ({field: ...} or {value: ...}): the rows have no place."))
        replay = run.replay_of_id is not None
        source_pages = _replayed_pages(run, spec) if replay else _fetched_pages(run, spec, cursor_before, stats, sleep)
        for number, records in _ahead(source_pages):
            pages = number
            staging.add(number, records)
            if incremental:
                cursor = _page_cursor(cursor, records, incremental["cursor_field"])
            _heartbeat(run, staging, stats, pages, started)
        staging.flush()
        for part in staging.parts.values():
            batch_type(part.job, part.batch)
            _heartbeat(run, staging, stats, pages, started)
        _commit(run, connection, staging, stats, pages, cursor_before, cursor, started)
    except RunCancelled:
        _fail(run, staging, stats, pages, started, status=SyncRun.Status.CANCELLED, error="")
    except (SourceError, PagingError, RecordsUnusable, MissingSecret) as exc:
        _fail(run, staging, stats, pages, started, status=SyncRun.Status.FAILED, error=str(exc))
    except Exception:
        logger.exception("sync run %s failed", run.pk)
        _fail(
            run,
            staging,
            stats,
            pages,
            started,
            status=SyncRun.Status.FAILED,
            error=_("The pull stopped on an unexpected error; nothing was loaded. Run it again or contact support."),
        )
        raise
    finally:
        staging.drop()
    run.refresh_from_db()
    return run


def _counts(staging, stats, pages, started):
    return {
        "pages": pages,
        "records": staging.records,
        "retries": stats.retries,
        "throttled": stats.throttled,
        "breaker_trips": stats.breaker_trips,
        "bytes": stats.bytes,
        "seconds": round(time.perf_counter() - started, 3),
    }


HEARTBEAT_SECONDS = 1.0


def _heartbeat(run, staging, stats, pages, started):
    """Show progress and look for a cancel, at most once a second (a page may take milliseconds)."""
    if time.monotonic() - staging.beat_at < HEARTBEAT_SECONDS:
        return
    staging.beat_at = time.monotonic()
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=now, **_counts(staging, stats, pages, started))
    ImportJob.objects.filter(pk__in=[part.job.pk for part in staging.parts.values()]).update(
        heartbeat_at=now, rows_total=0
    )
    if SyncRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
        raise RunCancelled


@transaction.atomic
def _commit(run, connection, staging, stats, pages, cursor_before, cursor, started):
    """The rows of every period, their errors and totals, the cursor and the run's log: all or nothing."""
    SourceConnection.objects.select_for_update().filter(pk=connection.pk).exists()
    if SyncRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
        raise RunCancelled
    profile = MappingProfile.objects.filter(source=connection.source, kind=staging.kind).first()
    loaded = rejected = 0
    held_back = bool(staging.unplaced_count)
    now = timezone.now()
    for part in staging.parts.values():
        job = part.job
        rows_loaded, rows_rejected = batch_load(job, part.batch, profile)
        refused = bool(profile is not None and profile.all_or_nothing and rows_rejected)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED if refused else ImportJob.Status.SUCCEEDED,
            rows_total=part.records,
            rows_loaded=rows_loaded,
            rows_rejected=rows_rejected,
            progress=100,
            finished_at=now,
            error=_("Nothing loaded: the profile is all-or-nothing and rows were rejected.") if refused else "",
        )
        audit_record(
            actor=run.created_by,
            action="ingestion.import_finished",
            target=job,
            metadata={
                "rows_total": part.records,
                "rows_loaded": rows_loaded,
                "rows_rejected": rows_rejected,
                "run": run.pk,
            },
        )
        loaded += rows_loaded
        rejected += rows_rejected
        held_back = held_back or refused
    if held_back:
        # Records refused whole, or with no period, must come back on the next run once fixed at the
        # source; past the cursor they never would.
        cursor = cursor_before
    SourceConnection.objects.filter(pk=connection.pk).update(cursor_value=cursor)
    counts = _counts(staging, stats, pages, started)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRun.Status.SUCCEEDED,
        rows_loaded=loaded,
        rows_rejected=rejected + staging.unplaced_count,
        unplaced=staging.unplaced,
        cursor_before=cursor_before,
        cursor_after=cursor,
        progress=100,
        finished_at=now,
        **counts,
    )
    audit_record(
        actor=run.created_by,
        action="ingestion.sync_finished",
        target=run,
        metadata={
            **counts,
            "rows_loaded": loaded,
            "rows_rejected": rejected + staging.unplaced_count,
            "cursor_before": cursor_before,
            "cursor_after": cursor,
        },
    )


@transaction.atomic
def _fail(run, staging, stats, pages, started, *, status, error):
    now = timezone.now()
    ImportJob.objects.filter(pk__in=[part.job.pk for part in staging.parts.values()]).update(
        status=ImportJob.Status.CANCELLED if status == SyncRun.Status.CANCELLED else ImportJob.Status.FAILED,
        error=error,
        finished_at=now,
    )
    counts = _counts(staging, stats, pages, started)
    SyncRun.objects.filter(pk=run.pk).update(status=status, error=error, finished_at=now, **counts)
    audit_record(
        actor=run.created_by,
        action="ingestion.sync_cancelled" if status == SyncRun.Status.CANCELLED else "ingestion.sync_failed",
        target=run,
        metadata={**counts, "error": error},
    )
