"""Working out how a file is laid out: encoding, delimiter, header row, which column is which
field, the date format and the decimal style. A profile's explicit settings win; "auto" ones are
detected from the first rows, and the result is shown to the user."""

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from itertools import islice

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .fields import FIELDS
from .readers import SAMPLE_BYTES, UnreadableFile, XlsxRows, detect_encoding, file_format, read_sample

HEADER_SEARCH_ROWS = 30
# Each cell of the header row is a column of the import's working table, and PostgreSQL's tables
# stop at 1,600 columns.
MAX_HEADER_CELLS = 1000
SAMPLE_ROWS = 500
DELIMITERS = (",", ";", "\t", "|")
AUTO = "auto"


def normalise_header(text):
    """'Fecha de Inicio ' -> 'fecha de inicio': lower case, no accents, single spaces."""
    plain = unicodedata.normalize("NFKD", text.replace("\ufeff", "")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^0-9a-z%]+", " ", plain.lower()).split())


@dataclass
class Layout:
    format: str
    encoding: str = ""
    delimiter: str = ""
    header_row: int = 0  # 1-based
    headers: list = field(default_factory=list)
    columns: dict = field(default_factory=dict)  # field name -> 0-based column index
    date_format: str = "%d/%m/%Y"
    decimal_style: str = "dot"
    notes: list = field(default_factory=list)
    # field name -> [confidence, how its header was recognised] (see CONFIDENCE and MATCH_LABELS)
    confidence: dict = field(default_factory=dict)

    def as_dict(self):
        return asdict(self)


def _synonym_index(kind):
    index = {}
    for spec in FIELDS[kind]:
        for synonym in (spec.name.replace("_", " "), spec.label, *spec.synonyms):
            index.setdefault(normalise_header(synonym), spec.name)
    return index


# How a header was recognised, and how sure that makes us: a person would agree with each of these.
MAPPED, EXACT, WITHOUT_NOTE, ABBREVIATION = "mapped", "exact", "without_note", "abbreviation"
CONFIDENCE = {MAPPED: 1.0, EXACT: 1.0, WITHOUT_NOTE: 0.9, ABBREVIATION: 0.8}
MATCH_LABELS = {
    MAPPED: gettext_lazy("mapped in the source's profile"),
    EXACT: gettext_lazy("its name"),
    WITHOUT_NOTE: gettext_lazy("its name without its note in brackets"),
    ABBREVIATION: gettext_lazy("the abbreviation in brackets"),
}
# "Unique Market Reference (UMR)": a name, then a note or abbreviation in brackets at the end.
TRAILING_NOTE = re.compile(r"^(?P<name>.*?)\s*\((?P<note>[^()]*)\)\s*$")


def header_keys(header):
    """The texts a header may equal a synonym as, strongest first: itself, itself without a trailing
    note in brackets, and that note (the standard's abbreviation, say UMR or GWP)."""
    keys = [(normalise_header(header), EXACT)]
    found = TRAILING_NOTE.match(header)
    if found:
        keys += [(normalise_header(found["name"]), WITHOUT_NOTE), (normalise_header(found["note"]), ABBREVIATION)]
    return [(key, how) for key, how in keys if key]


def match_headers(headers, kind, column_map=None):
    """Map header cells to fields by name: a header the profile maps to a field is that field;
    otherwise the first of its `header_keys` that is a synonym names it. Returns (columns,
    confidence, duplicates): field -> column, field -> [score, how], and (field, first, second)
    for each field two headers claim (a person must choose)."""
    synonyms = _synonym_index(kind)
    wanted = {name: normalise_header(header) for name, header in (column_map or {}).items() if header}
    columns, confidence, duplicates = {}, {}, []
    for position, header in enumerate(headers):
        key = normalise_header(header)
        if not key:
            continue
        found = [(name, MAPPED) for name, mapped in wanted.items() if mapped == key]
        if not found:
            named = [(synonyms[text], how) for text, how in header_keys(header) if text in synonyms]
            # A field the profile maps is only ever its mapped header.
            found = [match for match in named[:1] if match[0] not in wanted]
        for name, how in found:
            if name in columns:
                duplicates.append((name, columns[name], position))
            else:
                columns[name] = position
                confidence[name] = [CONFIDENCE[how], how]
    return columns, confidence, duplicates


def match_columns(headers, kind, column_map=None):
    """Map header cells to fields by name (see `match_headers`). Returns (columns, duplicates)."""
    columns, _confidence, duplicates = match_headers(headers, kind, column_map)
    return columns, duplicates


def column_matches(layout, kind):
    """What a job page shows of a detected layout (`Layout.as_dict()`): per field the file has, its
    column, how the header was recognised and how sure that is (in %)."""
    headers, confidence = layout.get("headers", []), layout.get("confidence")
    if confidence is None:
        return []  # detected before confidences were kept
    matches = []
    for spec in FIELDS[kind]:
        position = layout.get("columns", {}).get(spec.name)
        if position is None or position >= len(headers):
            continue
        score, how = confidence.get(spec.name, (CONFIDENCE[MAPPED], MAPPED))
        matches.append(
            {"field": spec.label, "header": headers[position], "how": MATCH_LABELS[how], "percent": round(score * 100)}
        )
    return matches


def suggest_columns(headers, kind, columns):
    """For fields no header names outright, the closest unused headers (each header used once)."""
    taken = set(columns.values())
    scored = []
    for spec in FIELDS[kind]:
        if spec.name in columns:
            continue
        names = [normalise_header(name) for name in (spec.label, *spec.synonyms)]
        for position, header in enumerate(headers):
            key = normalise_header(header)
            if position in taken or not key:
                continue
            score = max(difflib.SequenceMatcher(None, key, name).ratio() for name in names)
            if score >= 0.7:
                scored.append((score, spec.name, position))
    suggestions = {}
    for _score, name, position in sorted(scored, reverse=True):
        if name not in suggestions and position not in taken:
            suggestions[name] = headers[position]
            taken.add(position)
    return suggestions


def _sample_rows(sample_text, delimiter):
    reader = csv.reader(io.StringIO(sample_text), delimiter=delimiter, strict=False)
    try:
        return list(islice(reader, SAMPLE_ROWS))
    except csv.Error as exc:
        raise UnreadableFile(
            _("Line %(line)d cannot be read as CSV: %(error)s") % {"line": reader.line_num, "error": exc}
        ) from exc


def _find_header(rows, kind, column_map):
    best = (0, None)
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        score = len(match_columns(row, kind, column_map)[0]) if len(row) > 1 else 0
        if score > best[0]:
            best = (score, number)
    return best


def detect_layout(path, kind, *, profile=None, original_name="", whole_file_is_utf8=None):
    """Return the Layout of the file, applying the profile's explicit settings."""
    settings = _profile_settings(profile)
    layout = Layout(format=file_format(path, original_name))
    if layout.format == "xlsx":
        rows = list(islice(iter(XlsxRows(path)), SAMPLE_ROWS))
        if not rows:
            raise UnreadableFile(_("The workbook's first sheet is empty."))
        score, header_index = _find_header(rows, kind, settings["column_map"])
    else:
        sample = read_sample(path)
        layout.encoding = settings["encoding"] if settings["encoding"] != AUTO else detect_encoding(sample)
        # Plain ASCII at the start and not UTF-8 further down: Windows-1252 (ASCII is part of it).
        # With UTF-8 accents at the start, the file mixes two encodings and is refused when read.
        if layout.encoding == "utf-8" and whole_file_is_utf8 is False and sample.isascii():
            layout.encoding = "cp1252"
            layout.notes.append(_("Read as Windows-1252: the file is not valid UTF-8 further down."))
        try:
            text = sample.decode(layout.encoding.replace("-sig", ""), errors="ignore").lstrip("\ufeff")
        except LookupError as exc:
            raise UnreadableFile(_("Unknown encoding %(encoding)s.") % {"encoding": layout.encoding}) from exc
        if len(sample) == SAMPLE_BYTES and "\n" in text:
            text = text.rsplit("\n", 1)[0]  # the sample ends mid-line
        delimiters = [settings["delimiter"]] if settings["delimiter"] != AUTO else DELIMITERS
        score, header_index, rows = 0, None, []
        for delimiter in delimiters:
            candidate_rows = _sample_rows(text, delimiter)
            candidate_score, candidate_index = _find_header(candidate_rows, kind, settings["column_map"])
            if candidate_score > score or not layout.delimiter:
                layout.delimiter, rows = delimiter, candidate_rows
                score, header_index = candidate_score, candidate_index
    if settings["header_row"]:
        header_index = settings["header_row"] - 1
        if header_index >= len(rows):
            raise UnreadableFile(
                _("The profile says the headers are on line %(line)d, but the file is shorter.")
                % {"line": settings["header_row"]}
            )
    elif not score:
        raise UnreadableFile(
            _(
                "No header row found: none of the first %(count)d lines names the columns of a %(kind)s bordereau "
                "(such as %(examples)s)."
            )
            % {"count": HEADER_SEARCH_ROWS, "kind": kind, "examples": ", ".join(s.label for s in FIELDS[kind][:3])}
        )
    layout.header_row = header_index + 1
    if len(rows[header_index]) > MAX_HEADER_CELLS:
        raise UnreadableFile(
            _("The header row (line %(line)d) has %(count)s cells; at most %(limit)s columns can be read.")
            % {
                "line": layout.header_row,
                "count": number_format(len(rows[header_index]), force_grouping=True),
                "limit": number_format(MAX_HEADER_CELLS, force_grouping=True),
            }
        )
    layout.headers = [cell.strip() for cell in rows[header_index]]
    while layout.headers and not layout.headers[-1]:
        layout.headers.pop()  # spreadsheets pad rows to the sheet's width
    layout.columns, layout.confidence, duplicates = match_headers(layout.headers, kind, settings["column_map"])
    if duplicates:
        name, first, second = duplicates[0]
        raise UnreadableFile(
            _("Two columns are both %(field)s (columns %(first)d and %(second)d); keep one or map them in the profile.")
            % {"field": _label(kind, name), "first": first + 1, "second": second + 1}
        )
    data = rows[header_index + 1 :]
    layout.date_format = (
        settings["date_format"] if settings["date_format"] != AUTO else _detect_date_format(data, layout, kind)
    )
    layout.decimal_style = (
        settings["decimal_style"] if settings["decimal_style"] != AUTO else _detect_decimal_style(data, layout, kind)
    )
    return layout


def missing_required(layout, kind):
    return [spec for spec in FIELDS[kind] if spec.required and spec.name not in layout.columns]


def _label(kind, name):
    return next(spec.label for spec in FIELDS[kind] if spec.name == name)


def _profile_settings(profile):
    if profile is None:
        return {
            "encoding": AUTO,
            "delimiter": AUTO,
            "date_format": AUTO,
            "decimal_style": AUTO,
            "header_row": None,
            "column_map": {},
        }
    return {
        "encoding": profile.encoding,
        "delimiter": profile.delimiter,
        "date_format": profile.date_format,
        "decimal_style": profile.decimal_style,
        "header_row": profile.header_row,
        "column_map": profile.column_map or {},
    }


def _column_values(data, layout, kind, field_type):
    positions = [
        layout.columns[spec.name] for spec in FIELDS[kind] if spec.type == field_type and spec.name in layout.columns
    ]
    for row in data:
        for position in positions:
            if position < len(row) and row[position].strip():
                yield row[position].strip()


SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def _detect_date_format(data, layout, kind):
    separators, day_first, month_first = set(), False, False
    for value in _column_values(data, layout, kind, "date"):
        match = SLASHED.match(value)
        if not match:
            continue
        separators.add(value[match.end(1)])
        first, second = int(match.group(1)), int(match.group(2))
        day_first |= first > 12
        month_first |= second > 12
    separator = "/" if "/" in separators or not separators else separators.pop()
    if month_first and not day_first:
        layout.notes.append(_("Dates read as month/day/year."))
        return f"%m{separator}%d{separator}%Y"
    if not day_first and not month_first and separators:
        layout.notes.append(_("Dates are ambiguous in the first rows; read as day/month/year."))
    return f"%d{separator}%m{separator}%Y"


COMMA_DECIMAL = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d+$|^-?\d+,\d{1,2}$")
DOT_DECIMAL = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d+$|^-?\d+\.\d{1,2}$|^-?\d{1,3}(,\d{3})+$")


def _detect_decimal_style(data, layout, kind):
    comma = dot = 0
    for value in _column_values(data, layout, kind, "amount"):
        if COMMA_DECIMAL.match(value):
            comma += 1
        elif DOT_DECIMAL.match(value):
            dot += 1
    if comma > dot:
        layout.notes.append(_("Numbers read as 1.234.567,89 (comma decimals)."))
        return "comma"
    return "dot"
