"""A report's CSV straight from PostgreSQL: `COPY (its query) TO STDOUT WITH (FORMAT csv)`, with every
column formatted in SQL exactly as the Python writer (`writers.write_csv`) formats it, so the file is
the same byte for byte, at COPY's speed (no Python object per cell).

A report can go this way when its source gives `ReportData.query`: the queryset whose rows are the
report's rows, column for column. It is compiled by Django's compiler with its parameters (never
`str(query)`), and wrapped: `SELECT <formatted columns> FROM (<query>) AS report_rows(c0, c1, ...)`.

- Text: what starts with a formula character gets a leading apostrophe, as every export does; an empty
  text is written as NULL, which COPY leaves unquoted as Python's csv module does.
- Dates ISO; date-times in the active time zone with their offset, to the second (`isoformat`): the
  COPY runs in a savepoint that sets the session's time zone locally (to_char's TZH:TZM, a fifth of
  the cost of working the offset out per row) and is rolled back after it, which also undoes the
  setting; nothing in it reads a date-time back into Python.
- COPY ends lines with LF; the CSV module (and RFC 4180) with CRLF. Line ends outside quoted fields are
  turned into CRLF while the blocks stream by, keeping track of whether a block ends inside quotes.
- The totals per currency come from one grouped query over the same rows (a CSV has no totals lines;
  they are returned, as the Python writer returns them).
- Progress is reported once, when the COPY has ended: the connection carries nothing else while it
  copies (the run's progress is an UPDATE on it), and a million rows take seconds.
"""

import csv
import io

from django.db import connections, transaction
from django.utils import timezone

from portal.core.exports import FORMULA_STARTS

from .catalogue import DATE, DATETIME, INT, MONTH, TEXT

BLOCK_ROWS = 4096
FORMULA_SQL = ", ".join(f"chr({ord(character)})" for character in FORMULA_STARTS)


def copy_possible(query):
    return query is not None and connections[query.db].vendor == "postgresql"


def _formatted(kind, column):
    """The SQL writing `column` as the Python writer writes a value of `kind`."""
    if kind == TEXT:
        text = f"{column}::text"
        return f"NULLIF(CASE WHEN left({text}, 1) IN ({FORMULA_SQL}) THEN '''' || {text} ELSE {text} END, '')"
    if kind in (DATE, MONTH):
        return f"to_char({column}, 'YYYY-MM-DD')"
    if kind == DATETIME:
        return f"to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"
    return f"{column}::text"


def _compiled(report, query):
    compiler = query.query.get_compiler(using=query.db)
    inner, params = compiler.as_sql()
    if len(compiler.select) != len(report.columns):
        raise ValueError(
            f"{report.name}: the query selects {len(compiler.select)} columns, the report has {len(report.columns)}"
        )
    names = [f"c{number}" for number in range(len(report.columns))]
    return f"({inner}) AS report_rows({', '.join(names)})", list(params), names


def _header(report):
    line = io.StringIO()
    csv.writer(line).writerow([str(column.label) for column in report.columns])
    return ("\ufeff" + line.getvalue()).encode()


class _LineEnds:
    """LF -> CRLF outside quoted fields, across blocks; counts the records it ends."""

    def __init__(self):
        self.quoted = False
        self.records = 0

    def convert(self, block):
        if b'"' not in block and not self.quoted:
            self.records += block.count(b"\n")
            return block.replace(b"\n", b"\r\n")
        parts = block.split(b'"')
        for index in range(0 if not self.quoted else 1, len(parts), 2):
            self.records += parts[index].count(b"\n")
            parts[index] = parts[index].replace(b"\n", b"\r\n")
        # An odd number of quotes in the block flips whether the next one starts inside quotes.
        self.quoted ^= (len(parts) - 1) % 2 == 1
        return b'"'.join(parts)


def write_csv_copy(report, query, path, *, totals, progress=None):
    """The report's CSV at `path` through COPY; returns the number of rows. `totals` (a writers.Totals)
    is filled from the database."""
    source, params, names = _compiled(report, query)
    selected = [_formatted(column.kind, name) for column, name in zip(report.columns, names, strict=True)]
    # Only our column names and Django's compiled SQL are interpolated; every value is a parameter.
    statement = f"COPY (SELECT {', '.join(selected)} FROM {source}) TO STDOUT WITH (FORMAT csv)"  # noqa: S608
    line_ends = _LineEnds()
    with open(path, "wb") as out, transaction.atomic(using=query.db), connections[query.db].cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [timezone.get_current_timezone_name()])
        out.write(_header(report))
        pending = []
        with cursor.cursor.copy(statement, params) as copy:
            # PostgreSQL sends a message per row: gathered, they are converted and written in blocks.
            for block in copy:
                pending.append(block)
                if len(pending) == BLOCK_ROWS:
                    out.write(line_ends.convert(b"".join(pending)))
                    pending.clear()
        out.write(line_ends.convert(b"".join(pending)))
        if totals.indexes:
            _fill_totals(report, cursor, source, params, names, totals)
        transaction.set_rollback(True, using=query.db)
    if progress is not None:
        progress(line_ends.records)
    return line_ends.records


def _fill_totals(report, cursor, source, params, names, totals):
    currency = names[totals.currency_index] if totals.currency_index is not None else "''"
    sums = ", ".join(f"sum({names[index]})" for index in totals.indexes)
    cursor.execute(f"SELECT {currency}, {sums} FROM {source} GROUP BY 1", params)  # noqa: S608 - as above
    for currency_value, *values in cursor.fetchall():
        totals.sums[currency_value] = [
            (int(value) if report.columns[index].kind == INT else value) if value is not None else 0
            for index, value in zip(totals.indexes, values, strict=True)
        ]
