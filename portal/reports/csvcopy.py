"""A report's CSV straight from PostgreSQL: `COPY (its query) TO STDOUT WITH (FORMAT csv)`, with every
column formatted in SQL exactly as the Python writer (`writers.write_csv`) formats it, so the file is
the same byte for byte, at COPY's speed (no Python object per cell).

A report can go this way when its source gives `ReportData.query`: the queryset whose rows are the
report's rows, column for column. It is compiled by Django's compiler with its parameters (never
`str(query)`), and wrapped: `SELECT <formatted columns> FROM (<query>) AS report_rows(c0, c1, ...)`.

- Text: what starts with a formula character gets a leading apostrophe, as every export does; an empty
  text is written as NULL, which COPY leaves unquoted as Python's csv module does.
- Dates ISO; date-times in the active time zone with their offset, to the second (`isoformat`).
- COPY ends lines with LF; the CSV module (and RFC 4180) with CRLF. Line ends outside quoted fields are
  turned into CRLF while the blocks stream by, keeping track of whether a block ends inside quotes.
- The totals per currency come from one grouped query over the same rows (a CSV has no totals lines;
  they are returned, as the Python writer returns them).
- Progress is reported once, when the COPY has ended: the connection carries nothing else while it
  copies (the run's progress is an UPDATE on it), and a million rows take seconds.
"""

import csv
import io

from django.db import connections
from django.utils import timezone

from portal.core.exports import FORMULA_STARTS

from .catalogue import DATE, DATETIME, INT, MONTH, TEXT

FORMULA_SQL = ", ".join(f"chr({ord(character)})" for character in FORMULA_STARTS)


def copy_possible(query):
    return query is not None and connections[query.db].vendor == "postgresql"


def _formatted(kind, column):
    """The SQL writing `column` as the Python writer writes a value of `kind`, and its parameters."""
    if kind == TEXT:
        text = f"{column}::text"
        return f"NULLIF(CASE WHEN left({text}, 1) IN ({FORMULA_SQL}) THEN '''' || {text} ELSE {text} END, '')", []
    if kind in (DATE, MONTH):
        return f"to_char({column}, 'YYYY-MM-DD')", []
    if kind == DATETIME:
        local = f"({column} AT TIME ZONE %s)"
        offset = f"({local} - ({column} AT TIME ZONE 'UTC'))"
        return (
            # The offset's sign apart: to_char signs every field of a negative interval (-03:-30).
            f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN {offset} < interval '0' "
            f"THEN '-' || to_char(-{offset}, 'HH24:MI') ELSE '+' || to_char({offset}, 'HH24:MI') END",
            [timezone.get_current_timezone_name()] * 4,
        )
    return f"{column}::text", []


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
    selected, select_params = [], []
    for kind, name in zip((column.kind for column in report.columns), names, strict=True):
        sql, more = _formatted(kind, name)
        selected.append(sql)
        select_params += more
    # Only our column names and Django's compiled SQL are interpolated; every value is a parameter.
    statement = f"COPY (SELECT {', '.join(selected)} FROM {source}) TO STDOUT WITH (FORMAT csv)"  # noqa: S608
    line_ends = _LineEnds()
    connection = connections[query.db]
    with open(path, "wb") as out, connection.cursor() as cursor:
        out.write(_header(report))
        with cursor.cursor.copy(statement, [*select_params, *params]) as copy:
            for block in copy:
                out.write(line_ends.convert(bytes(block)))
        if totals.indexes:
            _fill_totals(report, cursor, source, params, names, totals)
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
