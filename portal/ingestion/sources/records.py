"""Records as rows: which record key feeds which CRS v5.2 field (the spec's mapping first, then the
same synonyms as file headers, with camelCase, underscores, case and accents ignored; dotted keys
reach into nested objects), each record's cells as text for the import's raw table, its period,
and the incremental cursor's order."""

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from itertools import repeat

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ..detect import Layout, match_columns, missing_required, normalise_header
from ..fields import FIELDS
from ..services import period_from_text
from .paginators import dotted

CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
SAMPLE_RECORDS = 200


class RecordsUnusable(Exception):
    pass


def humanised(key):
    """'insured.fullName' -> 'insured full Name': how a file would head it, for the synonyms."""
    return CAMEL.sub(" ", key.replace(".", " "))


def _keys(record, prefix=""):
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _keys(value, f"{path}.")
        else:
            yield path


def _key_columns(spec, keys):
    """field -> position in `keys` of the key that feeds it: the spec's mapping first, then the
    synonyms; two keys that read as one field are refused (a person must choose)."""
    kind = spec["kind"]
    label_to_field = {}
    for spec_field in FIELDS[kind]:
        for name in (spec_field.label, spec_field.name.replace("_", " "), *spec_field.synonyms):
            label_to_field.setdefault(normalise_header(name), spec_field.name)
    column_map = {}
    for key, column in (spec.get("mapping") or {}).items():
        field_name = label_to_field.get(normalise_header(column))
        if field_name is None:
            raise RecordsUnusable(
                _("The mapping sends %(key)s to %(column)s, which is not a column of a %(kind)s bordereau.")
                % {"key": key, "column": column, "kind": kind}
            )
        column_map[field_name] = humanised(key)
    columns, duplicates = match_columns([humanised(key) for key in keys], kind, column_map)
    if duplicates:
        name, first, second = duplicates[0]
        raise RecordsUnusable(
            _("Two record keys both read as %(field)s (%(first)s and %(second)s): map one of them in the spec.")
            % {"field": name, "first": keys[first], "second": keys[second]}
        )
    return columns


def records_layout(spec, records):
    """The Layout of the source's records, from the first records seen: one column per field found."""
    kind = spec["kind"]
    keys = list(
        dict.fromkeys(key for record in records[:SAMPLE_RECORDS] if isinstance(record, dict) for key in _keys(record))
    )
    keys += [key for key in spec.get("mapping") or {} if key not in keys]
    columns = _key_columns(spec, keys)
    # One column per field found, in the fields' order, headed by the record key that feeds it.
    found = [spec_field.name for spec_field in FIELDS[kind] if spec_field.name in columns]
    layout = Layout(
        format="json",
        headers=[keys[columns[name]] for name in found],
        columns={name: position for position, name in enumerate(found)},
        date_format="%d/%m/%Y",
        decimal_style="dot",
    )
    missing = missing_required(layout, kind)
    if missing:
        raise RecordsUnusable(
            _("The records have no key for: %(fields)s. Map them in the spec's mapping.")
            % {"fields": ", ".join(spec_field.label for spec_field in missing)}
        )
    return layout


def layout_with_keys(spec, layout, keys):
    """`layout` with a column after its own for each of `keys` (record keys first seen after it was
    made) that feeds a field it lacks; None when none does."""
    known = set(layout.headers)
    headers = layout.headers + [key for key in keys if key not in known]
    columns = _key_columns(spec, headers)
    added = sorted((position, name) for name, position in columns.items() if name not in layout.columns)
    if not added:
        return None
    return replace(
        layout,
        headers=layout.headers + [headers[position] for position, _name in added],
        columns={**layout.columns, **{name: len(layout.headers) + at for at, (_position, name) in enumerate(added)}},
    )


class KeyWatch:
    """The dotted record keys a page brings that no page before it had, found with C-level unions of
    each level's keys (of the dicts themselves: a union takes a dict's keys faster than its keys
    view's): a key known to hold values costs nothing more; an object's keys are gathered again on
    each page."""

    def __init__(self):
        self.leaves, self.objects, self.reported = set(), set(), set()

    def new_keys(self, records, prefix=""):
        """The dotted keys of `records` (dicts only) not seen before, as `_keys` names them."""
        found = []
        for key in set().union(*records):
            path = prefix + key
            if path in self.leaves:
                continue
            values = list(map(dict.get, records, repeat(key)))
            objects = [value for value in values if type(value) is dict]
            if objects:
                self.objects.add(path)
                found += self.new_keys(objects, f"{path}.")
                continue
            if path in self.objects:
                continue
            # A key null wherever it appears so far may hold an object on a later page: looked at again.
            if any(value is not None for value in values):
                self.leaves.add(path)
            if path not in self.reported:
                self.reported.add(path)
                found.append(path)
        return found


def cell_text(value):
    """A JSON value as the text a file would hold: numbers in plain decimal notation (1e-05 would be
    read as no number at all), booleans and null as words and empty."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if kind is float:
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    return str(value)[:1000]  # an object or list where a value belongs: its field's checks reject it


NONE_TYPE = type(None)
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def column_texts(values):
    """`cell_text` of each value of one column: the hot loop of a pull, so the usual columns (all
    text, all integers, all floats without an exponent) are converted by C-level maps."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return values
    if kinds <= {str, NONE_TYPE}:
        return ["" if value is None else value for value in values]
    if kinds <= {int}:
        return list(map(str, values))
    if kinds <= {float}:
        texts = list(map(repr, values))
        if "e" not in "".join(texts):
            return texts
    return list(map(cell_text, values))


def columns_reader(layout):
    """A function from a list of records (JSON objects) to their cells' texts, column by column in the
    layout's order: plain keys are read with one C-level map each, dotted keys walked level by level."""
    keys = [key.split(".") for key in layout.headers]

    def read(records):
        columns = []
        for parts in keys:
            values = list(map(dict.get, records, repeat(parts[0])))
            for part in parts[1:]:
                values = [value.get(part) if type(value) is dict else None for value in values]
            columns.append(column_texts(values))
        return columns

    return read


def copy_text(numbers, columns):
    """Rows numbered `numbers` with the cells of `columns`, in COPY's text format (no extra cells)."""
    escaped = []
    for texts in columns:
        joined = "".join(texts)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            texts = [text.translate(COPY_ESCAPES) for text in texts]
        escaped.append(texts)
    return "\n".join(map("\t".join, zip(map(str, numbers), repeat("0"), *escaped))) + "\n"


def periods_reader(period_spec):
    """A function from a record to (period, problem), remembering each distinct value's answer."""
    seen = {}
    if "value" in period_spec:
        fixed = record_period({}, period_spec)
        return lambda record: fixed
    field = period_spec["field"]
    plain = "." not in field

    def read(record):
        value = record.get(field) if plain else dotted(record, field)
        try:
            return seen[value]
        except (KeyError, TypeError):
            answer = record_period(record, period_spec)
            if isinstance(value, str) and len(seen) < 10_000:
                seen[value] = answer
            return answer

    return read


def record_period(record, period_spec):
    """The first day of the month the record reports on, or a message saying why there is none."""
    if "value" in period_spec:
        text = period_spec["value"]
    else:
        text = dotted(record, period_spec["field"]) if isinstance(record, dict) else None
        if text in (None, ""):
            return None, _("The record has no %(field)s.") % {"field": period_spec["field"]}
    try:
        return period_from_text(text), None
    except ValidationError:
        return None, _("%(value)s is not a month (e.g. 2026-10).") % {"value": str(text)[:40]}


def cursor_order(value):
    """How cursor values compare: as instants when they are timestamps, as numbers when they are
    numbers, else as text."""
    text = str(value)
    moment = parse_datetime(text) if isinstance(value, str) else None
    if moment is not None:
        return (0, moment.timestamp(), text)
    try:
        return (1, Decimal(text), text)
    except InvalidOperation:
        return (2, 0, text)


def cursor_max(current, candidate):
    if candidate in (None, ""):
        return current
    if current in (None, ""):
        return str(candidate)
    return str(candidate) if cursor_order(candidate) > cursor_order(current) else current
