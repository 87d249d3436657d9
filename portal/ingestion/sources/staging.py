"""Staging a pull's records into the import engine's working tables: one import job and one raw
table per period, rows numbered by their place in the run. `Staging` does it in Python (any database);
`PagesInSql`, on PostgreSQL, sends each page's JSON to the database as it came and lets set-based
SQL split the records, find their periods and cut their cells, once, instead of a Python loop per
record and per cell. Record keys reach the SQL only as parameters, never as text of the statement."""

import hashlib

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from ..engine import Batch
from ..models import ImportJob
from ..services import period_from_text
from .records import cells_reader, periods_reader, records_layout

UNPLACED_KEPT = 100


class _Part:
    """The records of one period: its import job and working tables."""

    def __init__(self, job, batch):
        self.job, self.batch, self.pending, self.records = job, batch, [], 0


class Staging:
    """Records into the import's working tables, one import job per period, in Python: the rows go
    through COPY a page at a time (any database)."""

    def __init__(self, run, spec):
        self.run, self.spec = run, spec
        self.kind = spec["kind"]
        self.layout = None
        self.parts = {}
        self.records = 0
        self.unplaced = []
        self.unplaced_count = 0
        self.period_of = periods_reader(spec["period"])
        self.beat_at = 0.0  # time.monotonic() of the last heartbeat

    def add(self, page_number, records, content):
        if self.layout is None and records:
            self.layout = records_layout(self.spec, records)
            self.cells_of = cells_reader(self.layout)
        cells_of, period_of, parts = getattr(self, "cells_of", None), self.period_of, self.parts
        for record in records:
            self.records += 1
            if type(record) is not dict:
                self._unplace(page_number, _("The record is not a JSON object."))
                continue
            period, problem = period_of(record)
            if problem:
                self._unplace(page_number, problem)
                continue
            part = parts.get(period) or self._part(period)
            part.records += 1
            part.pending.append((self.records, 0, *cells_of(record)))
        for part in self.parts.values():
            part.batch.write(part.pending)
            part.pending = []

    def _unplace(self, page_number, message):
        self.unplaced_count += 1
        if len(self.unplaced) < UNPLACED_KEPT:
            self.unplaced.append({"record": self.records, "page": page_number, "message": str(message)})

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

    def finish(self):
        """Everything is staged: nothing more to do here."""

    def drop(self):
        for part in self.parts.values():
            part.batch.drop()


def _cell_sql(value):
    """The text a file would hold for the JSON value `value` (a jsonb expression), as `cell_text`."""
    return (
        f"COALESCE(CASE jsonb_typeof({value}) WHEN 'string' THEN {value} #>> '{{}}' "
        f"WHEN 'number' THEN CAST(CAST({value} AS numeric) AS text) WHEN 'boolean' THEN {value} #>> '{{}}' "
        f"WHEN 'null' THEN '' ELSE LEFT(CAST({value} AS text), 1000) END, '')"
    )


def _path(dotted_key):
    return dotted_key.split(".") if dotted_key else []


class PagesInSql(Staging):
    def __init__(self, run, spec):
        super().__init__(run, spec)
        self.pages_table = f"ingestion_pages_{run.pk}"
        self.records_table = f"ingestion_records_{run.pk}"
        self._execute(f"DROP TABLE IF EXISTS {self.pages_table}")
        self._execute(f"CREATE UNLOGGED TABLE {self.pages_table} (number integer, first_row bigint, body text)")

    def _execute(self, sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def add(self, page_number, records, content):
        if self.layout is None and records:
            self.layout = records_layout(self.spec, records)
        if records:
            with connection.cursor() as cursor, cursor.copy(f"COPY {self.pages_table} FROM STDIN") as copy:
                copy.write_row((page_number, self.records + 1, content.decode("utf-8")))
        self.records += len(records)

    def finish(self):
        if not self.records:
            return
        records_path = _path(self.spec["resource"].get("records", ""))
        self._execute(f"DROP TABLE IF EXISTS {self.records_table}")
        self._execute(
            f"""CREATE UNLOGGED TABLE {self.records_table} AS
            SELECT p.first_row + r.place - 1 AS row_number, p.number AS page, r.record
            FROM {self.pages_table} p CROSS JOIN LATERAL jsonb_array_elements(CAST(p.body AS jsonb) #> %s)
            WITH ORDINALITY AS r(record, place)""",
            [records_path],
        )
        self._execute(f"DROP TABLE {self.pages_table}")
        periods = self._periods()
        for period, texts in periods.items():
            part = self._part(period)
            part.records = self._stage(part, texts)

    def _periods(self):
        """{period: [the period texts that mean it]}, each distinct text judged once by the Python rule;
        records with no period, or one that is not a month, are set aside with their reason."""
        period_spec = self.spec["period"]
        problems = []
        if "value" in period_spec:
            periods = {period_from_text(period_spec["value"]): None}
        else:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT DISTINCT record #>> %s FROM {self.records_table} WHERE jsonb_typeof(record) = 'object'",
                    [_path(period_spec["field"])],
                )
                texts = [row[0] for row in cursor.fetchall()]
            periods = {}
            for text in texts:
                if text in (None, ""):
                    problems.append((text, _("The record has no %(field)s.") % {"field": period_spec["field"]}))
                    continue
                try:
                    periods.setdefault(period_from_text(text), []).append(text)
                except ValidationError:
                    problems.append((text, _("%(value)s is not a month (e.g. 2026-10).") % {"value": str(text)[:40]}))
        self._set_aside(problems)
        return periods

    def _set_aside(self, problems):
        """Count the records that belong to no bordereau and keep the first few with their reason."""
        messages = {(text or ""): str(message) for text, message in problems}
        field_path = _path(self.spec["period"].get("field", ""))
        where, params = "jsonb_typeof(record) <> 'object'", []
        if messages:
            where += " OR COALESCE(record #>> %s, '') = ANY(%s)"
            params = [field_path, list(messages)]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {self.records_table} WHERE {where}", params)
            self.unplaced_count = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT row_number, page, jsonb_typeof(record) = 'object', COALESCE(record #>> %s, '') "
                f"FROM {self.records_table} WHERE {where} ORDER BY row_number LIMIT {UNPLACED_KEPT}",
                [field_path, *params],
            )
            found = cursor.fetchall()
        not_object = str(_("The record is not a JSON object."))
        self.unplaced = [
            {"record": row_number, "page": page, "message": messages[text] if is_object else not_object}
            for row_number, page, is_object, text in found
        ]

    def _stage(self, part, texts):
        """The records of one period into its raw table, cut into cells: one INSERT ... SELECT."""
        count = len(self.layout.headers)
        columns = ", ".join(f"c{position}" for position in range(count))
        # Each key's value is found once (the LATERAL), then turned into text.
        values = ", ".join(f"r.record #> %s AS v{position}" for position in range(count))
        cells = ", ".join(_cell_sql(f"v.v{position}") for position in range(count))
        params = [_path(key) for key in self.layout.headers]
        where = "jsonb_typeof(r.record) = 'object'"
        if texts is not None:
            where += " AND r.record #>> %s = ANY(%s)"
            params += [_path(self.spec["period"]["field"]), texts]
        return self._execute(
            f"INSERT INTO {part.batch.raw} (row_number, extra_cells, {columns}) "
            f"SELECT r.row_number, 0, {cells} FROM {self.records_table} r CROSS JOIN LATERAL (SELECT {values}) v "
            f"WHERE {where} ORDER BY r.row_number",
            params,
        )

    def drop(self):
        super().drop()
        self._execute(f"DROP TABLE IF EXISTS {self.pages_table}")
        self._execute(f"DROP TABLE IF EXISTS {self.records_table}")


def run_tables_drop(run_id):
    """The working tables a run of `run_id` may have left behind when its worker died."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (f"ingestion_pages_{int(run_id)}", f"ingestion_records_{int(run_id)}"):
                cursor.execute(f"DROP TABLE IF EXISTS {table}")


def staging_for(run, spec):
    return PagesInSql(run, spec) if connection.vendor == "postgresql" else Staging(run, spec)
