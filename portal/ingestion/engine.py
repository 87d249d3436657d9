"""The working tables of one bordereau import (`Batch`): raw rows copied in, per-field lookups, typed
rows, the rows that repeat an earlier key, and the statements that type, check and load them.
`pipeline` runs these steps in order; `rules` holds the cross-field rules; `sql` the backend's SQL.

The SQL here is assembled from table and column names of our own models and field definitions,
never from file contents; every value travels as a query parameter or through COPY.
"""

from datetime import date
from decimal import Decimal
from functools import partial
from itertools import islice

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import movements, parsing, partitions, totals
from .concurrently import side_by_side
from .fields import FIELDS, NATURAL_KEYS, Kind
from .models import ClaimRow, ImportJob, RiskRow
from .readers import (
    TOTALS_INITIALS,
    NotStreamable,
)
from .rules import claim_rules, risk_rules
from .sql import WHITESPACE, amount_sql, quote, register_sqlite_functions, scratch, stored_value_sql, totals_pattern

CHUNK_ROWS = 50_000
COPY_CHUNKS_PER_STATEMENT = 16  # progress is reported between COPY statements
ROW_MODELS = {Kind.RISK: RiskRow, Kind.CLAIMS: ClaimRow}
LOOKUP_TYPES = frozenset({"date", "currency", "country", "choice", "percent"})
# A bordereau row's id: its job's and its line's numbers, unique across the partitions without a
# sequence, so that parallel workers can number the rows as they type them.
ROW_ID = "(CAST(%d AS bigint) * 4294967296 + row_number)"
FORMULA_STARTS = ("=", "+", "-", "@")


def _db_value(value):
    if connection.vendor == "postgresql":
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class Batch:
    """The working tables of one job (see `_scratch`): raw rows, per-field lookups, typed rows, and
    the rows that repeat an earlier key."""

    def __init__(self, kind, job_id, layout):
        self.kind, self.job_id = kind, job_id
        self.fields = FIELDS[kind]
        self.model = ROW_MODELS[kind]
        self.raw = f"ingestion_raw_{job_id}"
        self.typed = f"ingestion_typed_{job_id}"
        self.later = f"ingestion_later_{job_id}"
        self.rejected = f"ingestion_rejected_{job_id}"
        self._take(layout)
        self.cells = self.width  # cells kept per raw row
        # Rows copied straight from the file still hold their blank and totals rows (see build_typed).
        self.streamed = False
        self.attached = False  # whether `upsert` made the typed rows the bordereau's partition
        self.tables = [self.raw, self.typed, self.later, self.rejected, *(self._lookup(spec) for spec in self.fields)]

    def label(self, name):
        """A field as the sender's file heads it, so that errors point at their own column."""
        position = self.layout.columns.get(name)
        if position is not None and position < len(self.layout.headers) and self.layout.headers[position]:
            return self.layout.headers[position][:120]
        return next(spec.label for spec in self.fields if spec.name == name)

    def shown_key(self):
        """The natural key's fields that the file has, as a duplicate's error names them."""
        return [name for name in NATURAL_KEYS[self.kind] if name in self.layout.columns]

    def cell(self, spec):
        """The raw text of a field in a row of the raw table `r`; a field the file lacks reads as empty."""
        position = self.layout.columns.get(spec.name)
        return "''" if position is None else f"r.c{position}"

    def _lookup(self, spec):
        return f"ingestion_lookup_{self.job_id}_{spec.name}"

    def execute(self, sql, params=()):
        # Always with parameters, so that both backends read "%%" in literals as "%".
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def drop(self):
        for table in self.tables:
            self.execute(f"DROP TABLE IF EXISTS {table}")
        if connection.vendor == "postgresql":
            for setting in ("jit", "work_mem", "max_parallel_workers_per_gather"):
                self.execute(f"RESET {setting}")

    def use_import_settings(self):
        """This connection's settings for the import's statements; each connection that runs some
        of them (see `side_by_side`) needs them."""
        # Compiling these one-off statements costs more than it saves.
        self.execute("SET jit = off")
        # The duplicate-key aggregate holds every key of the file at once.
        self.execute("SET work_mem = '256MB'")

    def create(self, cells=None, first_row=None):
        """The raw table, with `cells` text columns c0, c1...; rows copied without a row number are
        numbered from `first_row` on, in the order they arrive."""
        self.drop()
        self.cells = cells or self.width
        numbered = ""
        if connection.vendor == "postgresql":
            self.use_import_settings()
            if first_row is not None:
                numbered = f" GENERATED BY DEFAULT AS IDENTITY (START WITH {int(first_row)})"
        else:
            register_sqlite_functions()
        cells_sql = ", ".join(f"c{position} text" for position in range(self.cells))
        self.execute(
            f"CREATE {scratch()} TABLE {self.raw} (row_number integer{numbered}, extra_cells integer, {cells_sql})"
        )

    def widen(self, layout):
        """Take `layout`, this batch's own with columns added after its last: the raw table gets them,
        empty in the rows it already holds (as a cell the source left out is)."""
        for position in range(self.cells, len(layout.headers)):
            self.execute(f"ALTER TABLE {self.raw} ADD COLUMN c{position} text DEFAULT ''")
        self._take(layout)
        self.cells = max(self.cells, self.width)

    def _take(self, layout):
        self.layout = layout
        self.width = len(layout.headers)
        self.positions = sorted({layout.columns[spec.name] for spec in self.fields if spec.name in layout.columns})

    def write(self, rows):
        """Rows read by Python: (row number, extra cells, text of each cell in `positions`)."""
        if not rows:
            return
        columns = ", ".join(["row_number", "extra_cells", *(f"c{position}" for position in self.positions)])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {self.raw} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * (len(self.positions) + 2))
                cursor.executemany(f"INSERT INTO {self.raw} ({columns}) VALUES ({marks})", rows)

    def write_copy_text(self, text):
        """Rows already in COPY's text format: row number, extra cells, then each cell in `positions`
        (PostgreSQL only)."""
        columns = ", ".join(["row_number", "extra_cells", *(f"c{position}" for position in self.positions)])
        with connection.cursor() as cursor, cursor.copy(f"COPY {self.raw} ({columns}) FROM STDIN") as copy:
            copy.write(text)

    def stream(self, rows, header_row, on_progress):
        """Copy a CSV file's records after the header from `rows` into the raw table as they are
        (see CsvRows.copy_chunks). Returns the number of records, or None if the file needs the
        Python reader; the raw table is then empty again."""
        first_row = header_row + 1
        try:
            start, header_cells = rows.data_start(header_row)
            self.create(max(header_cells, self.width), first_row)
            chunks = rows.copy_chunks(start, cells=self.cells)
            options = f"FORMAT csv, DELIMITER {quote(rows.delimiter)}, ENCODING {quote(rows.copy_encoding)}"
            columns = ", ".join(f"c{position}" for position in range(self.cells))
            copy_sql = f"COPY {self.raw} ({columns}) FROM STDIN ({options}, FORCE_NOT_NULL ({columns}))"
            records, ragged, more = 0, [], True
            while more:
                more = False
                with transaction.atomic(), connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                    for data, count, ragged_in_chunk in islice(chunks, COPY_CHUNKS_PER_STATEMENT):
                        copy.write(data)
                        ragged += [first_row + records + index for index in ragged_in_chunk]
                        records += count
                        more = True
                on_progress(records, 0, rows.position)
        except (NotStreamable, psycopg.DataError):
            self.create()
            return None
        if ragged:
            self.execute(f"UPDATE {self.raw} SET extra_cells = 1 WHERE row_number = ANY(%s)", [ragged])
        self.streamed = True
        return records

    def analyze(self, table, columns=()):
        # Autovacuum would come too late for these tables: without statistics the planner guesses badly.
        if connection.vendor == "postgresql":
            self.execute(f"ANALYZE {table} ({', '.join(columns)})" if columns else f"ANALYZE {table}")

    def build_lookups(self):
        """Parse each distinct value of the repetitive fields once, in Python."""
        specs = [spec for spec in self.fields if spec.type in LOOKUP_TYPES]
        for spec, distinct in zip(specs, self._distinct_cells(specs), strict=True):
            table = self._lookup(spec)
            value_type = self.model._meta.get_field(spec.name).db_type(connection)
            self.execute(f"CREATE {scratch()} TABLE {table} (raw text PRIMARY KEY, value {value_type}, error text)")
            parse = parsing.lookup_parser(spec, self.layout.date_format, self.layout.decimal_style)
            with connection.cursor() as cursor:
                rows = []
                for raw in distinct:
                    value, error = parse(raw)
                    rows.append((raw, _db_value(value), None if error is None else str(error)))
                cursor.executemany(f"INSERT INTO {table} (raw, value, error) VALUES (%s, %s, %s)", rows)
            self.analyze(table)

    def _distinct_cells(self, specs):
        """The distinct raw texts of each field; on PostgreSQL from two passes over the raw rows at
        once, each grouping half of the fields."""
        cells = [self.cell(spec) for spec in specs]
        present = list(dict.fromkeys(cell for cell in cells if cell != "''"))
        distinct = {"''": [""]}
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                for cell in present:
                    cursor.execute(f"SELECT DISTINCT {cell} FROM {self.raw} r")
                    distinct[cell] = [row[0] for row in cursor.fetchall()]
        elif present:
            halves = [present[: (len(present) + 1) // 2], present[(len(present) + 1) // 2 :]]
            for found in side_by_side(*(partial(self._grouped_cells, half) for half in halves if half)):
                distinct.update(found)
        return [distinct[cell] for cell in cells]

    def _grouped_cells(self, cells):
        """The distinct texts of each of `cells` in one pass: one grouping set per cell."""
        found = {cell: [] for cell in cells}
        grouping = ", ".join(f"GROUPING({cell})" for cell in cells)
        sets = ", ".join(f"({cell})" for cell in cells)
        self.use_import_settings()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {grouping}, {', '.join(cells)} FROM {self.raw} r GROUP BY GROUPING SETS ({sets})")
            for row in cursor.fetchall():
                grouped = row[: len(cells)].index(0)  # GROUPING() is 0 for the column of its set
                found[cells[grouped]].append(row[len(cells) + grouped])
        return found

    def _kept_rows(self):
        """The WHERE clause that drops blank and totals rows, and the count of extra cells, for rows
        copied straight from the file; they mean what `run_import`'s reading loop means by them."""
        if not self.streamed:
            return "", "r.extra_cells"
        spaces = quote(WHITESPACE)

        # Trimming with a set of multibyte characters is slow: an empty cell, or one that starts
        # with a printable ASCII character (never white space), needs no trimming to be decided.
        def blank(positions):
            return " AND ".join(
                f"(r.c{at} = '' OR (ASCII(r.c{at}) NOT BETWEEN 33 AND 126 AND BTRIM(r.c{at}, {spaces}) = ''))"
                for at in positions
            )

        # A totals label starts with white space or a totals word's first letter, and every totals
        # word has a t: most cells are ruled out without the regular expression.
        starts = ", ".join(str(code) for code in sorted({*map(ord, WHITESPACE), *map(ord, TOTALS_INITIALS)}))
        pattern = totals_pattern()
        totals = " OR ".join(
            f"(ASCII(r.c{at}) IN ({starts}) AND (STRPOS(r.c{at}, 't') > 0 OR STRPOS(r.c{at}, 'T') > 0) "
            f"AND r.c{at} ~ {pattern})"
            for at in range(min(3, self.cells))
        )
        where = f"WHERE r.extra_cells IS NOT NULL OR NOT ({blank(range(self.cells))} OR {totals})"
        beyond = range(self.width, self.cells)
        if not beyond:
            return where, "COALESCE(r.extra_cells, 0)"
        return where, f"COALESCE(r.extra_cells, CASE WHEN {blank(beyond)} THEN 0 ELSE 1 END)"

    def build_typed(self, job):
        """Every data row as the bordereau table will store it, with its per-field errors and a
        status, in layers so that each expensive step (normalising, matching and casting an
        amount) runs once per cell. Status 1: a field is wrong (its raw text is kept); 2: the
        fields are fine but a rule across them is not; 0: fine. On PostgreSQL the table is logged
        and has the bordereau table's columns and types, so that it can become its partition (see
        `upsert`). Returns the number of rows."""
        where, extra = self._kept_rows()
        postgresql = connection.vendor == "postgresql"
        inner, middle, outer, joins = ["r.row_number", f"{extra} AS extra_cells"], ["row_number", "extra_cells"], [], []
        outer += ["row_number", "extra_cells"]
        period, now = ("CAST(%s AS date)", "CAST(%s AS timestamp with time zone)") if postgresql else ("%s", "%s")
        final = [
            f"{ROW_ID % int(job.pk)} AS id",
            f"CAST({int(job.source_id)} AS bigint) AS source_id",
            f"{period} AS period",
            f"CAST({int(job.pk)} AS bigint) AS job_id",
            "row_number",
            f"{now} AS updated_at",
            "extra_cells",
        ]
        required = quote(parsing.MSG_REQUIRED)
        stored_values = {}
        # A formula in a name or reference is an injection attempt, not data.
        formula = quote(parsing.MSG_FORMULA)
        for spec in self.fields:
            name, cell = spec.name, self.cell(spec)
            inner.append(f"{cell} AS {name}__raw")
            middle.append(f"{name}__raw")
            if spec.type in LOOKUP_TYPES:
                alias = f"lk_{name}"
                joins.append(f"LEFT JOIN {self._lookup(spec)} {alias} ON {alias}.raw = {cell}")
                inner += [f"{alias}.value AS {name}__v", f"{alias}.error AS {name}__e"]
                middle += [f"{name}__v", f"{name}__e"]
                value, error = movements.DERIVED_VALUES.get(name, f"{name}__v"), f"{name}__e"
            elif spec.type == "amount":
                normalised, amount = amount_sql(cell, f"{name}__n", self.layout.decimal_style)
                inner.append(f"{normalised} AS {name}__n")
                middle += [f"{amount} AS {name}__a", f"{name}__n"]
                value = f"CASE WHEN {name}__a >= 0 AND {name}__a <= {parsing.MAX_AMOUNT} THEN {name}__a END"
                negative = f"{name}__a < 0"
                if spec.signed:
                    value, negative = movements.signed_amount_sql(f"{name}__a")
                # Without spaces the cell is empty exactly when TRIM would leave it empty.
                blank = f"{name}__n = ''" if postgresql else f"TRIM({name}__raw) = ''"
                # The amount's value is missing exactly when one of these holds: a required amount
                # needs no second test for "Required".
                error = (
                    f"CASE WHEN {blank} THEN {required if spec.required else 'NULL'} "
                    f"WHEN {name}__a IS NULL THEN {quote(parsing.MSG_NUMBER)} "
                    f"WHEN {negative} THEN {quote(parsing.MSG_NEGATIVE)} "
                    f"WHEN ABS({name}__a) > {parsing.MAX_AMOUNT} THEN {quote(parsing.MSG_TOO_BIG)} END"
                )
            else:
                inner.append(f"NULLIF(TRIM({cell}), '') AS {name}__t")
                middle.append(f"{name}__t")
                too_long = quote(parsing.MSG_TOO_LONG % {"max": spec.max_length})
                value = f"{name}__t"
                if postgresql:
                    # Cheaper there: the byte length first, and the first character's code.
                    too_many = f"OCTET_LENGTH({name}__t) > {spec.max_length} AND LENGTH({name}__t) > {spec.max_length}"
                    formula_start = f"ASCII({name}__t) IN ({', '.join(str(ord(char)) for char in FORMULA_STARTS)})"
                else:
                    too_many = f"LENGTH({name}__t) > {spec.max_length}"
                    formula_start = f"SUBSTR({name}__t, 1, 1) IN ({', '.join(quote(char) for char in FORMULA_STARTS)})"
                error = f"CASE WHEN {too_many} THEN {too_long} WHEN {formula_start} THEN {formula} END"
            if spec.required and spec.type != "amount":
                error = f"COALESCE({error}, CASE WHEN {value} IS NULL THEN {required} END)"
            outer += [f"{value} AS {name}", f"{error} AS {name}__error", f"{name}__raw"]
            stored = stored_value_sql(spec)
            stored_values[name] = stored
            if postgresql:
                stored = f"CAST({stored} AS {self.model._meta.get_field(name).db_type(connection)})"
            # The raw text is kept only where it is needed: in the error rows of a bad cell.
            final += [
                f"{stored} AS {name}",
                f"{name}__error",
                f"CASE WHEN {name}__error IS NOT NULL THEN {name}__raw END AS {name}__raw",
            ]
        any_error = " OR ".join(["extra_cells > 0", *(f"{spec.name}__error IS NOT NULL" for spec in self.fields)])
        self.rules = risk_rules() if self.kind == Kind.RISK else claim_rules(timezone.localdate().isoformat())
        broken = " OR ".join(f"({condition})" for _field, _value, _message, condition in self.rules)
        final.append(f"CASE WHEN {any_error} THEN 1 WHEN {broken} THEN 2 ELSE 0 END AS status")
        if postgresql:
            # Duplicate keys are looked for among these hashes first (see find_duplicates).
            key = " || chr(31) || ".join(f"CAST({stored_values[name]} AS text)" for name in NATURAL_KEYS[self.kind])
            final.append(f"hashtextextended({key}, 0) AS key_hash")
        # The layers must not be folded back into one another's repeated expressions.
        if connection.vendor == "postgresql":
            # A volatile column does that, as OFFSET 0 would, but still lets parallel workers run them.
            for layer in (inner, middle, outer):
                layer.append("CLOCK_TIMESTAMP() AS fence")
            fence = ""
        else:
            fence = "LIMIT -1 OFFSET 0"  # SQLite never flattens a subquery with an OFFSET
        if postgresql:
            self.execute(f"SET max_parallel_workers_per_gather = {int(settings.AMPARO_INGESTION_TYPING_WORKERS)}")
        rows = self.execute(
            f"""CREATE {"" if postgresql else "TEMPORARY"} TABLE {self.typed} AS SELECT {", ".join(final)} FROM (
                SELECT {", ".join(outer)} FROM (
                    SELECT {", ".join(middle)} FROM (
                        SELECT {", ".join(inner)} FROM {self.raw} r {" ".join(joins)} {where} {fence}
                    ) normalised {fence}
                ) parsed {fence}
            ) checked""",
            [_db_value(job.period), timezone.now()],
        )
        # The planner needs the share of good rows and how often key hashes repeat; statistics on the
        # keys' texts would cost more than the queries they could improve.
        self.analyze(self.typed, ["status", "key_hash"])
        if rows < 0:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {self.typed}")
                rows = cursor.fetchone()[0]
        self.rows = rows
        return rows

    def write_errors(self):
        """One error row per bad cell (and per ragged row), then one per broken rule across the
        fields of a row whose fields are each fine; in field order within each row. One pass over
        the typed rows for both."""
        ragged = quote(_("This row has more cells than the header"))
        parts = [
            f"SELECT row_number, 0 AS position, '' AS label, '' AS raw, {ragged} AS message "
            "FROM bad WHERE status = 1 AND extra_cells > 0"
        ]
        for position, spec in enumerate(self.fields, start=1):
            parts.append(
                f"SELECT row_number, {position}, {quote(self.label(spec.name))}, {spec.name}__raw, {spec.name}__error "
                f"FROM bad WHERE status = 1 AND {spec.name}__error IS NOT NULL"
            )
        for position, (field, value, message, condition) in enumerate(self.rules, start=len(self.fields) + 1):
            parts.append(
                f"SELECT row_number, {position}, {quote(self.label(field))}, {value}, {message} "
                f"FROM bad WHERE status = 2 AND {condition}"
            )
        bad = f"bad AS MATERIALIZED (SELECT * FROM {self.typed} WHERE status <> 0)"
        if connection.vendor == "postgresql":
            # Where the bad rows are, so that `upsert` can remove them without another scan.
            self.execute(f"CREATE {scratch()} TABLE {self.rejected} (place tid)")
            bad = (
                f"bad AS MATERIALIZED (SELECT ctid AS place, * FROM {self.typed} WHERE status <> 0), "
                f"kept AS (INSERT INTO {self.rejected} SELECT place FROM bad)"
            )
        self.execute(
            f"""WITH {bad}
            INSERT INTO ingestion_rowerror (job_id, row_number, "column", value, message)
            SELECT %s, row_number, label, SUBSTR(raw, 1, 255), SUBSTR(message, 1, 255) FROM (
                {" UNION ALL ".join(parts)}
            ) errors ORDER BY row_number, position""",
            [self.job_id],
        )

    def find_duplicates(self):
        """The rows that repeat an earlier good row's natural key, with that row, into `later`. It
        only reads the typed rows, so it may run on a connection of its own (see `side_by_side`)."""
        natural = NATURAL_KEYS[self.kind]
        shown = " || ' / ' || ".join(f"CAST(t.{name} AS TEXT)" for name in self.shown_key())
        same_key = " AND ".join(f"k.{name} = t.{name}" for name in natural)
        suspects = f"SELECT * FROM {self.typed} WHERE status = 0"
        place = ""
        if connection.vendor == "postgresql":
            suspects = suspects.replace("SELECT *", "SELECT ctid AS place, *")
            place = "t.place, "
            # Parallel workers would each hash nearly every key and hand them all to the leader, and
            # sorting a million integers beats hashing them into a million groups (0.3 s vs 0.6 s).
            self.use_import_settings()
            self.execute("SET max_parallel_workers_per_gather = 0")
            self.execute("SET enable_hashagg = off")
            # Grouping integers is much cheaper than grouping the keys' texts: only the rows whose
            # hash repeats (the repeated keys, and the odd collision) are compared by their keys.
            suspects += (
                f" AND key_hash IN (SELECT key_hash FROM {self.typed} WHERE status = 0 "
                "GROUP BY key_hash HAVING COUNT(*) > 1)"
            )
        # One aggregate finds the (usually few) repeated keys; only their rows are looked at again.
        self.execute(
            f"""CREATE {scratch()} TABLE {self.later} AS
            WITH suspects AS MATERIALIZED ({suspects})
            SELECT {place}t.row_number, k.first_row, {shown} AS shown FROM suspects t JOIN (
                SELECT {", ".join(natural)}, MIN(row_number) AS first_row FROM suspects
                GROUP BY {", ".join(natural)} HAVING COUNT(*) > 1
            ) k ON {same_key} WHERE t.row_number <> k.first_row"""
        )
        if connection.vendor == "postgresql":
            self.execute("RESET enable_hashagg")
            self.execute("RESET max_parallel_workers_per_gather")

    def write_duplicate_errors(self):
        """Keep the first row of each natural key in the file; reject the others, naming that row."""
        labels = " + ".join(self.label(name) for name in self.shown_key())
        self.execute(
            f"""INSERT INTO ingestion_rowerror (job_id, row_number, "column", value, message)
            SELECT %s, row_number, %s, SUBSTR(shown, 1, 255), %s || CAST(first_row AS TEXT) FROM {self.later}
            ORDER BY row_number""",
            [self.job_id, labels[:255], _("Same key as row") + " "],
        )

    def may_become_its_bordereau(self, job):
        """Whether the typed rows, less the rejected ones, are likely to become the partition of the
        job's source and period; `upsert` decides, under a lock. Judged from the jobs, not from the
        catalog: looking the partition up before that lock leaves this connection a stale answer
        after it, and reading the default partition deadlocks with an import attaching one."""
        earlier = ImportJob.objects.filter(
            source_id=job.source_id,
            kind=job.kind,
            period=job.period,
            status=ImportJob.Status.SUCCEEDED,
            rows_loaded__gt=0,
        )
        return partitions.is_partitioned(self.model) and not earlier.exists()

    def _first_of_its_bordereau(self, job):
        return not partitions.partition_exists(
            self.model, job.source_id, job.period
        ) and not partitions.default_partition_holds(self.model, job.source_id, job.period)

    def good_row_totals(self):
        """The totals of the rows with no field or rule error, duplicates still among them."""
        return self._totals(f"{self.typed} t WHERE t.status = 0")

    def repeated_row_totals(self):
        """The totals of the rows rejected for repeating an earlier row's key; on PostgreSQL, where
        they are known by place (a TID scan of the few, not a pass over every typed row)."""
        return self._totals(f"{self.typed} t WHERE t.ctid = ANY(ARRAY(SELECT place FROM {self.later}))")

    def bordereau_totals(self, job):
        """The totals of every row of the job's source and period, as stored now."""
        table = self.model._meta.db_table
        return self._totals(
            f"{table} t WHERE t.source_id = %s AND t.period = %s", [job.source_id, _db_value(job.period)]
        )

    def _totals(self, rows_sql, params=()):
        """{(currency, group): [rows, sum, ...]} of the rows `rows_sql` gives as `t` (see totals.TOTALS)."""
        _model, group, sums = totals.TOTALS[self.kind]
        columns = ", ".join(f"SUM({expression})" for expression in sums.values())
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.currency, t.{group}, COUNT(*), {columns} FROM {rows_sql} GROUP BY t.currency, t.{group}",
                params,
            )
            return {(currency, value): list(figures) for currency, value, *figures in cursor.fetchall()}

    def upsert(self, job):
        """Update the rows whose natural key is already there for this source and period, insert the
        rest. Two plain statements are much cheaper than INSERT ... ON CONFLICT on big batches; a
        lock per source and period keeps two imports of the same bordereau from racing. On
        PostgreSQL the first import of a source and period makes its own typed rows, less the
        rejected ones, the partition of that source and period (see `partitions`)."""
        table = self.model._meta.db_table
        natural = NATURAL_KEYS[self.kind]
        fields = [spec.name for spec in self.fields]
        period = _db_value(job.period)
        good = f"t.status = 0 AND NOT EXISTS (SELECT 1 FROM {self.later} d WHERE d.row_number = t.row_number)"
        partitioned = partitions.is_partitioned(self.model)
        if partitioned:
            self.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [job.source_id, job.period.year * 12 + job.period.month]
            )
            # Attaching takes this lock on the table, then an exclusive one on its default partition.
            # Taken first, before the default partition is read, it keeps two imports of different
            # bordereaux from each holding what the other's attach waits for (a deadlock).
            self.execute(f"LOCK TABLE {table} IN SHARE UPDATE EXCLUSIVE MODE")
            if self._first_of_its_bordereau(job):
                self.attached = True
                # By place: a TID scan of the few rejected rows instead of a pass over them all.
                rejected = self.execute(
                    f"DELETE FROM {self.typed} WHERE ctid = ANY(ARRAY("
                    f"SELECT place FROM {self.rejected} UNION ALL SELECT place FROM {self.later}))"
                )
                # Each key's index is then built in one sorted pass, by parallel workers.
                self.execute("SET LOCAL maintenance_work_mem = '256MB'")
                partitions.partition_attach(self.model, self.typed, job.source_id, job.period)
                return self.rows - rejected
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE source_id = %s AND period = %s LIMIT 1", [job.source_id, period]
            )
            existing = cursor.fetchone() is not None
        same_key = " AND ".join(f"existing.{name} = t.{name}" for name in natural)
        only_new = ""
        if existing:
            only_new = (
                f"AND NOT EXISTS (SELECT 1 FROM {table} existing "
                f"WHERE existing.source_id = %s AND existing.period = %s AND {same_key})"
            )
        columns = ", ".join(["id", "source_id", "period", "job_id", "row_number", "updated_at", *fields])
        # In file order, as the rows came: parallel workers typed them in any order, and the key
        # index takes them much faster in order (which also keeps the ids in file order).
        insert = (
            f"INSERT INTO {table} ({columns}) SELECT {', '.join(f't.{column}' for column in columns.split(', '))} "
            f"FROM {self.typed} t WHERE {good} {only_new} ORDER BY t.row_number"
        )
        if not existing:
            written = self.execute(insert)
        else:
            written = self._update_existing(table, fields, good, same_key, job, period) + self.execute(
                insert, [job.source_id, period]
            )
        if partitioned:
            partitions.partition_statistics_refresh(self.model, job.source_id, job.period, written=written)
        return written

    def _update_existing(self, table, fields, good, same_key, job, period):
        changed = ", ".join(f"{name} = t.{name}" for name in fields)
        return self.execute(
            f"""UPDATE {table} AS existing SET job_id = t.job_id, row_number = t.row_number,
            updated_at = t.updated_at, {changed}
            FROM (SELECT * FROM {self.typed} t WHERE {good}) AS t
            WHERE existing.source_id = %s AND existing.period = %s AND {same_key}""",
            [job.source_id, period],
        )
