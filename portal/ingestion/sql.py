"""SQL the import builds for each backend: literals, amounts, the working tables' kind, the totals-row
pattern, and the Python functions SQLite needs in place of PostgreSQL's regular expressions.

Assembled from our own names and texts only; values travel as parameters or through COPY.
"""

from django.db import connection

from . import parsing
from .readers import TOTALS_WORDS

# What Python's str.strip() and str.split() take for white space, for SQL that must agree with them.
WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
DECIMAL_DOT_PATTERN = r"^-?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?$"
DECIMAL_COMMA_PATTERN = r"^-?([0-9]+|[0-9]{1,3}(\.[0-9]{3})+)(,[0-9]+)?$"
# Most amounts have no sign, no thousands separator and at most cents: a simpler pattern, and no rounding.
PLAIN_DECIMAL_PATTERNS = {"dot": r"^[0-9]+(\.[0-9]{1,2})?$", "comma": r"^[0-9]+(,[0-9]{1,2})?$"}


def stored_value_sql(spec):
    """Optional amounts are stored as 0 and optional texts and choices as empty, never NULL; an
    optional field with a fallback as that other field's value."""
    if spec.required:
        return spec.name
    if spec.fallback:
        return f"COALESCE({spec.name}, {spec.fallback})"
    if spec.type == "amount":
        return f"COALESCE({spec.name}, 0)"
    if spec.type in ("text", "choice"):
        return f"COALESCE({spec.name}, '')"
    return spec.name


def quote(text):
    """A SQL string literal of our own text (labels, translated messages)."""
    return "'" + str(text).replace("'", "''").replace("%", "%%") + "'"


def money_text(expression):
    if connection.vendor == "postgresql":
        return f"CAST(ROUND({expression}, 2) AS TEXT)"
    return f"printf('%%.2f', {expression})"


def scratch():
    """The kind of table for a job's working rows: on PostgreSQL unlogged rather than temporary,
    since parallel workers cannot read temporary tables."""
    return "UNLOGGED" if connection.vendor == "postgresql" else "TEMPORARY"


def totals_pattern():
    """A regular expression for the cells `readers.is_totals` takes for a totals label: the words in
    either case (no other character lower-cases to their letters), white space as Python sees it
    before, between and after them, then any colons and spaces."""
    space = f"[{WHITESPACE}]"

    def spelled(word):
        return "".join(f"{space}+" if letter == " " else f"[{letter}{letter.upper()}]" for letter in word)

    return quote(f"^{space}*({'|'.join(spelled(word) for word in sorted(TOTALS_WORDS))}){space}*[: ]*$")


def amount_sql(raw, normalised, decimal_style):
    """Two expressions: the cell without spaces, and that text as a number rounded to cents (of any
    sign and size), NULL if it is not a number. Mirrors `parsing.amount_number`; SQLite calls it."""
    if connection.vendor != "postgresql":
        return f"CAST(amparo_amount({raw}, '{decimal_style}') AS NUMERIC)", normalised
    if decimal_style == "comma":
        pattern, plain = DECIMAL_COMMA_PATTERN, f"REPLACE(REPLACE({normalised}, '.', ''), ',', '.')"
        simple = f"REPLACE({normalised}, ',', '.')"
    else:
        pattern, plain, simple = DECIMAL_DOT_PATTERN, f"REPLACE({normalised}, ',', '')", normalised
    amount = (
        f"CASE WHEN {normalised} ~ '{PLAIN_DECIMAL_PATTERNS[decimal_style]}' THEN CAST({simple} AS numeric) "
        f"WHEN {normalised} ~ '{pattern}' THEN ROUND(CAST({plain} AS numeric), 2) END"
    )
    # Trimming first would change nothing: every space goes.
    return f"REPLACE({raw}, ' ', '')", amount


def register_sqlite_functions():
    """SQLite has no regular expressions: it checks amounts with the Python parser instead."""

    def amount(raw, style):
        value = parsing.amount_number(raw or "", style)
        if value is None:
            return None
        return "1e30" if value.is_infinite() else str(value)  # too many digits: "Too large" downstream

    connection.connection.create_function("amparo_amount", 2, amount, deterministic=True)
