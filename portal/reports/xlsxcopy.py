"""A report's XLSX sheet built by PostgreSQL: each row's `<row>` XML made in SQL and streamed by COPY
straight into the zip's sheet entry, so no Python object is made per cell (the Python writer,
xlsx.py, is bound by fetching and converting the rows). The workbook around the sheet (header,
styles, totals, package parts) is the Python writer's own, and the cells are those it writes:

- Row numbers come from `row_number() OVER ()` over the report's ordered query, in its order.
- Text: a formula start gets a leading apostrophe, then `& < > "` are escaped and the characters XML
  cannot carry become Excel's `_xHHHH_`, as `xlsx.xml_text` does; a NULL cell is left out.
- Numbers as PostgreSQL writes them; money with the style of its row's currency (the currencies are
  read first, so every style is known before the rows go by); dates as serial days; date-times as
  serial days of the local wall time (the session's time zone set in a savepoint, as csvcopy does).
- COPY's CSV format with a quote and a delimiter the XML never holds (both are control characters,
  escaped above): a row is then sent verbatim, or wrapped in that quote when it holds a line break;
  deleting the quote bytes leaves the XML. The line ends COPY adds fall between rows, where XML
  allows whitespace.
- Progress is reported once, when the COPY has ended, as csvcopy does.
"""

from django.db import connections, transaction
from django.utils import timezone

from . import xlsx
from .catalogue import DATE, DATETIME, MONEY, MONTH, TEXT
from .csvcopy import FORMULA_SQL, _compiled, _fill_totals

BLOCK_ROWS = 4096
QUOTE = b"\x01"
CONTROL_CODES = [*(code for code in range(1, 32) if code not in (9, 10)), 0xFFFE, 0xFFFF]
NEEDS_ESCAPE_SQL = "'[&<>\"\\x01-\\x08\\x0b-\\x1f\\uFFFE\\uFFFF]|_x[0-9A-Fa-f]{4}_'"


def _text_sql(column, *, escaped):
    text = f"{column}::text"
    neutralised = f"CASE WHEN left({text}, 1) IN ({FORMULA_SQL}) THEN '''' || {text} ELSE {text} END"
    if not escaped:
        return neutralised
    neutralised = f"regexp_replace({neutralised}, '_x([0-9A-Fa-f]{{4}})_', '_x005F_x\\1_', 'g')"
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        neutralised = f"replace({neutralised}, '{character}', '{entity}')"
    for code in CONTROL_CODES:
        neutralised = f"replace({neutralised}, chr({code}), '_x{code:04X}_')"
    return neutralised


def _value_sql(kind, column):
    if kind in (DATE, MONTH):
        return f"({column}::date - date '1899-12-30')::text"
    if kind == DATETIME:
        # The session's time zone is the report's: ::timestamp is the local wall time.
        return f"(extract(epoch FROM {column}::timestamp - timestamp '1899-12-30')::float8 / 86400)::text"
    return f"{column}::text"


def _money_style_sql(styles, currency_column, currencies):
    if currency_column is None:
        return f"' s=\"{styles.get(MONEY, '')}\"'"
    if not currencies:
        return "''"  # no rows: a CASE needs a WHEN
    cases = " ".join(
        f"WHEN {_literal(currency)} THEN ' s=\"{styles.get(MONEY, currency)}\"'" for currency in currencies
    )
    return f"CASE coalesce({currency_column}::text, '') {cases} END"


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def _cell_sql(kind, letters, column, style, *, escaped):
    # One concat() per cell and per row: chained || copies the growing string at every step, and
    # that, not the formatting, was most of the time.
    if kind == TEXT:
        opening = '\'" t="inlineStr"><is><t xml:space="preserve">\''
        parts = f"{opening}, {_text_sql(column, escaped=escaped)}, '</t></is></c>'"
    else:
        parts = f"'\"', {style}, '><v>', {_value_sql(kind, column)}, '</v></c>'"
    return f"CASE WHEN {column} IS NOT NULL THEN concat('<c r=\"{letters}', row_ref, {parts}) END"


def _row_sql(report, styles, names, currencies):
    currency_name = names[report.column_index(report.currency_column)] if report.currency_column else None
    styled = []
    for number, (column, name) in enumerate(zip(report.columns, names, strict=True)):
        if column.kind == MONEY:
            style = _money_style_sql(styles, currency_name, currencies)
        elif column.kind in xlsx.NUMBER_FORMATS:
            style = f"' s=\"{styles.get(column.kind)}\"'"
        else:
            style = "''" if column.kind != TEXT else ""
        styled.append((column.kind, xlsx.column_letters(number), name, style))

    def row(*, escaped):
        # concat() leaves out the NULL cells, as the Python writer leaves out None.
        cells = ", ".join(_cell_sql(*cell, escaped=escaped) for cell in styled)
        return f"concat('<row r=\"', row_ref, '\">', {cells}, '</row>')"

    texts = [f"{name}::text" for kind, _letters, name, _style in styled if kind == TEXT]
    if not texts:
        return row(escaped=False)
    # Most rows need no escaping: one test per row, not per cell, picks the plain or the escaping SQL.
    guard = f"concat({', '.join(texts)}) ~ {NEEDS_ESCAPE_SQL}"
    return f"CASE WHEN {guard} THEN {row(escaped=True)} ELSE {row(escaped=False)} END"


def _currencies(report, cursor, source, params, names):
    if report.currency_column is None or not any(column.kind == MONEY for column in report.columns):
        return []
    name = names[report.column_index(report.currency_column)]
    cursor.execute(f"SELECT DISTINCT coalesce({name}::text, '') FROM {source} ORDER BY 1", params)  # noqa: S608
    return [currency for (currency,) in cursor.fetchall()]


def write_xlsx_copy(report, query, path, *, totals, progress=None):
    """The report's XLSX at `path` with its sheet's rows made by PostgreSQL; returns the number of rows.
    `totals` (a writers.Totals) is filled from the database."""
    source, params, names = _compiled(report, query)
    styles = xlsx.Styles()
    count = 0
    with (
        xlsx.package_open(path) as package,
        transaction.atomic(using=query.db),
        connections[query.db].cursor() as cursor,
    ):
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [timezone.get_current_timezone_name()])
        row_sql = _row_sql(report, styles, names, _currencies(report, cursor, source, params, names))
        # One row past what a sheet holds is enough to refuse the report, without reading the rest.
        numbered = f"SELECT (row_number() OVER () + 1)::text AS row_ref, * FROM {source} LIMIT {xlsx.SHEET_MAX_ROWS}"  # noqa: S608
        # Only our column names, styles and Django's compiled SQL are interpolated; every value is a parameter.
        statement = (
            f"COPY (SELECT {row_sql} FROM ({numbered}) AS numbered) "  # noqa: S608
            "TO STDOUT WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
        )
        with package.open(xlsx.SHEET, "w") as sheet:
            sheet.write(xlsx.sheet_start(report))
            pending = []
            with cursor.cursor.copy(statement, params) as copy:
                for block in copy:
                    pending.append(block)
                    if len(pending) == BLOCK_ROWS:
                        count += _write(sheet, pending)
            count += _write(sheet, pending)
            xlsx.rows_check(count)
            if totals.indexes:
                _fill_totals(report, cursor, source, params, names, totals)
            sheet.write(xlsx.totals_xml(report, styles, totals, first_row=count + 2))
        xlsx.package_finish(package, report, styles)
        transaction.set_rollback(True, using=query.db)
    if progress is not None:
        progress(count)
    return count


def _write(sheet, pending):
    """Writes the gathered blocks to the sheet; returns how many rows they held."""
    block = b"".join(pending)
    pending.clear()
    if QUOTE in block:
        block = block.replace(QUOTE, b"")
    sheet.write(block)
    # Text has its "<" escaped, so every "</row>" ends a row.
    return block.count(b"</row>")
