"""Turning the text of one bordereau cell into a value, or a message saying why not.

Each parser returns (value, error). They run for every cell of files with millions of cells;
the import engine remembers their answers per column, since cells repeat a lot.
"""

import re
import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pycountry
from django.utils.translation import gettext_lazy as _

CURRENCIES = frozenset(currency.alpha_3 for currency in pycountry.currencies)
COUNTRIES = {country.alpha_2: country.alpha_2 for country in pycountry.countries}
COUNTRIES.update({country.alpha_3: country.alpha_2 for country in pycountry.countries})

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")

MSG_REQUIRED = _("Required")
MSG_DATE = _("Not a date in the format %(format)s")
MSG_NUMBER = _("Not a number")
MSG_NEGATIVE = _("Must not be negative")
MSG_PERCENT_RANGE = _("Must be between 0 and 100")
MSG_CURRENCY = _("Not an ISO 4217 currency code")
MSG_COUNTRY = _("Not an ISO 3166 country code")
MSG_CHOICE = _("Not one of: %(choices)s")
MSG_TOO_LONG = _("Longer than %(max)d characters")
MSG_TOO_BIG = _("Too large")
MSG_FORMULA = _("Starts like a spreadsheet formula (= + - @), which is not accepted in a text field")

DATE_FORMAT_LABELS = {
    "%d/%m/%Y": "dd/mm/yyyy",
    "%m/%d/%Y": "mm/dd/yyyy",
    "%Y-%m-%d": "yyyy-mm-dd",
    "%d-%m-%Y": "dd-mm-yyyy",
    "%d.%m.%Y": "dd.mm.yyyy",
}


def parse_date(raw, date_format):
    """ISO dates are always accepted (they cannot be misread); anything else must follow the format."""
    text = raw.strip()
    if not text:
        return None, None
    try:
        if ISO_DATE.fullmatch(text):
            return date.fromisoformat(text), None
        # Spreadsheets export midnight timestamps: "31/01/2026 00:00:00".
        text = text.split(" ", 1)[0]
        return datetime.strptime(text, date_format).date(), None
    except ValueError:
        return None, MSG_DATE % {"format": DATE_FORMAT_LABELS.get(date_format, date_format)}


# Thousands separators only between groups of three digits: "1,5" is not fifteen.
DOT_NUMBER = re.compile(r"-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?")
COMMA_NUMBER = re.compile(r"-?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?")


def amount_number(raw, decimal_style):
    """The cell as a Decimal rounded to cents, whatever its sign and size; None if not a number."""
    text = raw.strip().replace(" ", "")
    if decimal_style == "comma":
        if not COMMA_NUMBER.fullmatch(text):
            return None
        text = text.replace(".", "").replace(",", ".")
    else:
        if not DOT_NUMBER.fullmatch(text):
            return None
        text = text.replace(",", "")
    try:
        return Decimal(text).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return Decimal("Infinity")  # more digits than any amount we store


def parse_amount(raw, decimal_style):
    if not raw.strip():
        return None, None
    value = amount_number(raw, decimal_style)
    if value is None:
        return None, MSG_NUMBER
    if value < 0:
        return None, MSG_NEGATIVE
    if value > MAX_AMOUNT:
        return None, MSG_TOO_BIG
    return value, None


def parse_percent(raw, decimal_style):
    text = raw.strip().rstrip("%").strip()
    if not text:
        return None, None
    if decimal_style == "comma":
        text = text.replace(",", ".")
    if not PLAIN_NUMBER.fullmatch(text):
        return None, MSG_NUMBER
    value = Decimal(text)
    if not Decimal(0) <= value <= Decimal(100):
        return None, MSG_PERCENT_RANGE
    return value.quantize(Decimal("0.0001")), None


def parse_currency(raw):
    text = raw.strip().upper()
    if not text:
        return None, None
    return (text, None) if text in CURRENCIES else (None, MSG_CURRENCY)


def parse_country(raw):
    text = raw.strip().upper()
    if not text:
        return None, None
    code = COUNTRIES.get(text)
    return (code, None) if code else (None, MSG_COUNTRY)


def parse_choice(raw, choices, listed=()):
    """`choices` maps each accepted spelling (lower case, no accents) to its stored value; the
    message lists `listed`, or else every stored value."""
    plain = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    text = " ".join(plain.strip().lower().split())
    if not text:
        return None, None
    value = dict(choices).get(text)
    if value is None:
        return None, MSG_CHOICE % {"choices": ", ".join(listed or sorted(set(dict(choices).values())))}
    return value, None


def parse_text(raw, max_length):
    text = raw.strip()
    if not text:
        return None, None
    if len(text) > max_length:
        return None, MSG_TOO_LONG % {"max": max_length}
    return text, None


def lookup_parser(spec, date_format, decimal_style):
    """The parser of a field whose values repeat (see engine.LOOKUP_TYPES), for one file's layout."""
    if spec.type == "date":
        return lambda raw: parse_date(raw, date_format)
    if spec.type == "percent":
        return lambda raw: parse_percent(raw, decimal_style)
    if spec.type == "currency":
        return parse_currency
    if spec.type == "country":
        return parse_country
    choices = tuple(spec.choices.items())
    return lambda raw: parse_choice(raw, choices, spec.listed)
