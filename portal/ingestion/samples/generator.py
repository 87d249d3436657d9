# ruff: noqa: S311 - seeded pseudo-random data for test files, not secrets
"""Realistic, messy risk and claims bordereaux (after Lloyd's Coverholder Reporting Standards
v5.2) for tests, demos and benchmarks.

Longer than 600 lines because each way a sender's file differs (headers, formats, faults) is a
table here next to the others, and the tests read the planted faults' reasons from this one place.

Every file makes its own seeded choices, the way each cedant's spreadsheet differs: which
synonym names each column, column order, extra columns we do not read, title rows above the
header, delimiter, encoding (UTF-8 with or without BOM, Windows-1252), date style (dd/mm/yyyy or
ISO), number style ("1.234.567,89" or "1,234,567.89", with or without thousands separators),
blank lines and a totals row at the end. Values are internally consistent (net = gross -
commission - taxes, total incurred = paid + previously paid + reserves, expiry after inception,
unique natural keys), so a clean row passes validation; `bad_rate` makes that fraction of the
rows invalid in one of several ways, and the summary says how many, so a test can check the
import's counts exactly.

Rows are produced one at a time and written as they come, in constant memory (a few MB over the
interpreter): a million CSV rows take about 15 s on the 2-CPU benchmark machine. XLSX goes through
openpyxl's write-only mode (about 30 s per 100,000 rows). The same seed writes the same bytes.
"""

import csv
import operator
import random
import time
from datetime import date, timedelta
from pathlib import Path

from ..detect import _synonym_index, normalise_header
from ..fields import CLAIM_STATUSES, FIELDS, NATURAL_KEYS, TRANSACTION_TYPES, Kind
from .vocabulary import (
    BROKERS,
    CAUSES,
    CLASSES,
    COMPANY_NAMES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    DEPARTMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    MARKET_WEIGHTS,
    MARKETS,
    NOTES,
    TAX_RATES_BP,
    TO_USD,
)

FORMATS = ("csv", "xlsx")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")
DATE_STYLES = ("dmy", "iso")
DECIMAL_STYLES = ("dot", "comma")
HEADER_STYLES = ("as-is", "upper", "lower", "title", "snake")
TOTALS_LABELS = ("TOTAL", "Total", "Totales", "Grand Total", "Total general:")


# Extra columns senders add that we do not read. Each is kept only if its name is no synonym.
EXTRA_COLUMNS = {
    Kind.RISK: (("Broker", BROKERS), ("Department", DEPARTMENTS), ("Notes", NOTES), ("Underwriter", FIRST_NAMES)),
    Kind.CLAIMS: (("Insured Name", None), ("Adjuster", FIRST_NAMES), ("Notes", NOTES), ("Department", DEPARTMENTS)),
}
OPTIONAL_OMISSIONS = {
    Kind.RISK: ("total_taxes",),
    Kind.CLAIMS: (
        "umr",
        "certificate_ref",
        "date_first_advised",
        "paid_fees",
        "previously_paid",
        "reserve_fees",
    ),
}
AMOUNT_PARTS = ("paid_indemnity", "paid_fees", "previously_paid", "reserve_indemnity", "reserve_fees")
TRANSACTION_WEIGHTS = (("New", 55), ("Renewal", 28), ("Endorsement", 12), ("Cancellation", 3), ("Adjustment", 2))
STATUS_WEIGHTS = (("Open", 50), ("Closed", 30), ("Reopened", 10), ("Denied", 10))

RISK_REASONS = (
    "bad_date",
    "negative_amount",
    "not_a_number",
    "unknown_currency",
    "unknown_country",
    "wrong_net",
    "expiry_before_inception",
    "commission_over_100",
    "unknown_transaction_type",
    "missing_required",
    "duplicate_key",
    "extra_cell",
    "text_too_long",
)
CLAIM_REASONS = (
    "bad_date",
    "future_loss_date",
    "advised_before_loss",
    "negative_amount",
    "not_a_number",
    "unknown_currency",
    "unknown_status",
    "wrong_total_incurred",
    "missing_required",
    "duplicate_key",
    "extra_cell",
)

RISK_BASE = date(2025, 11, 1)  # inception dates fall in the year before the reporting month
RISK_DAYS = 365
TERMS = (365, 365, 365, 365, 365, 365, 365, 182, 90, 730)
LOSS_BASE = date(2023, 1, 1)  # losses up to 2026-08-31, first advised up to 60 days later
LOSS_DAYS = (date(2026, 8, 31) - LOSS_BASE).days + 1


def generated_fields(kind):
    """The fields this generator writes: files as senders wrote them before the standard's Type of
    Business and Effective Date of Transaction (see samples/crs.py for a file that has them)."""
    return tuple(spec for spec in FIELDS[kind] if spec.name not in ("business_type", "transaction_date"))


def _weighted(rng, pairs):
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights=weights)[0]


def _table(pairs, size=100):
    """A lookup list where a uniform index picks each name with its weight."""
    total = sum(weight for _name, weight in pairs)
    table = []
    for name, weight in pairs:
        table.extend([name] * round(weight * size / total))
    return table


# Spanish headers come with their accents; matching ignores them.
ACCENTED = {
    "poliza": "póliza",
    "numero": "número",
    "comision": "comisión",
    "pais": "país",
    "transaccion": "transacción",
    "indemnizacion": "indemnización",
    "notificacion": "notificación",
    "linea": "línea",
}


def _accented(name):
    return " ".join(ACCENTED.get(word, word) for word in name.split(" "))


def _header_text(name, style):
    if style == "upper":
        return name.upper()
    if style == "lower":
        return name.lower()
    if style == "title":
        return " ".join(word[:1].upper() + word[1:] for word in name.split(" "))
    if style == "snake":
        return name.lower().replace(" ", "_")
    return name


def choose_layout(kind, fmt, seed, overrides=None):
    """The per-file choices, drawn from the seed; `overrides` pins any of them (the others stay
    what the seed gives). "headers" may pin some fields' column names; "order" the column order."""
    rng = random.Random(f"{seed}:{kind}:{fmt}:layout")
    synonyms = _synonym_index(kind)
    choices = {
        "encoding": rng.choice(ENCODINGS),
        "delimiter": rng.choice(DELIMITERS),
        "newline": rng.choice(("\r\n", "\n")),
        "date_style": rng.choice(DATE_STYLES),
        "decimal_style": rng.choice(DECIMAL_STYLES),
        "thousands": rng.random() < 0.6,
        "percent_sign": rng.random() < 0.3,
        "country_style": "alpha3" if rng.random() < 0.15 else "alpha2",
        "header_style": rng.choice(HEADER_STYLES),
        "title_rows": rng.randint(0, 3),
        "title_gap": rng.random() < 0.5,
        "blank_line_rate": rng.choice((0.0, 0.001, 0.004)),
        "zero_as_blank": rng.random() < 0.5,
        "totals_label": rng.choice(TOTALS_LABELS),
        "header_accents": rng.random() < 0.7,
        "cells": rng.choice(("native", "native", "text")) if fmt == "xlsx" else "text",
        "omitted": [name for name in OPTIONAL_OMISSIONS[kind] if rng.random() < 0.15],
    }
    names = {}
    for spec in generated_fields(kind):
        candidates = [
            text for text in (spec.label, *spec.synonyms) if synonyms.get(normalise_header(text)) == spec.name
        ]
        names[spec.name] = rng.choice(candidates)
    choices["extra_columns"] = [
        name for name, _values in EXTRA_COLUMNS[kind] if normalise_header(name) not in synonyms and rng.random() < 0.5
    ]
    shuffle = rng.random()
    overrides = dict(overrides or {})
    pinned_headers = overrides.pop("headers", {})
    choices.update(overrides)
    choices["headers"] = {
        name: _header_text(_accented(text) if choices["header_accents"] else text, choices["header_style"])
        for name, text in names.items()
    }
    choices["headers"].update(pinned_headers)
    if "order" not in overrides:
        order = [spec.name for spec in generated_fields(kind) if spec.name not in choices["omitted"]]
        order += [f"extra:{name}" for name in choices["extra_columns"]]
        random.Random(shuffle).shuffle(order)
        choices["order"] = order
    return choices


class _Formatter:
    """Turns integer cents, basis points and day numbers into this file's cell values."""

    def __init__(self, choices, fmt, base, days):
        native = fmt == "xlsx" and choices["cells"] == "native"
        dmy = choices["date_style"] == "dmy"
        calendar = [base + timedelta(days=offset) for offset in range(days)]
        if native:
            self.dates = calendar
        elif dmy:
            self.dates = [f"{day.day:02d}/{day.month:02d}/{day.year}" for day in calendar]
        else:
            self.dates = [day.isoformat() for day in calendar]
        self.date_text = (lambda day: f"{day.day:02d}/{day.month:02d}/{day.year}") if dmy else date.isoformat
        comma, thousands = choices["decimal_style"] == "comma", choices["thousands"]
        sign = "%" if choices["percent_sign"] else ""
        # A million rows format four million amounts: the cents come from a table, the rest from
        # one format call (these are the fastest spellings measured).
        cents_text = [f"{',' if comma else '.'}{cents:02d}" for cents in range(100)]
        if native:
            self.amount = lambda cents: cents / 100
            self.percent = lambda bp: bp / 100
        elif comma and thousands:
            self.amount = lambda cents: f"{cents // 100:_}".replace("_", ".") + cents_text[cents % 100]
        elif thousands:
            self.amount = lambda cents: f"{cents // 100:,}" + cents_text[cents % 100]
        else:
            self.amount = lambda cents: str(cents // 100) + cents_text[cents % 100]
        if not native:
            point = "," if comma else "."
            self.percent = lambda bp: f"{bp // 100}{point}{bp % 100:02d}{sign}" if bp % 100 else f"{bp // 100}{sign}"
        self.native = native

    def negative(self, cents):
        value = self.amount(cents)
        return -value if self.native else f"-{value}"


class _Rows:
    """Yields the data rows of one file as lists of cell values in column order."""

    def __init__(self, kind, choices, fmt, rows, seed, bad_rate, revision):
        self.kind, self.choices, self.rows, self.revision, self.fmt_name = kind, choices, rows, revision, fmt
        self.bad_rate = bad_rate
        self.rng = random.Random(f"{seed}:{kind}:rows")
        self.bad_rng = random.Random(f"{seed}:{kind}:bad")
        self.names = [spec.name for spec in generated_fields(kind)]
        self.index = {name: position for position, name in enumerate(self.names)}
        present = set(choices["order"])
        self.present = [name for name in self.names if name in present]
        extra_values = dict(EXTRA_COLUMNS[kind])
        self.extras = {name: extra_values[name] for name in choices["extra_columns"]}
        # The row is built as one list: fields in FIELDS order, then the extra columns.
        slots = {name: position for position, name in enumerate(self.names)}
        slots.update({f"extra:{name}": len(self.names) + i for i, name in enumerate(self.extras)})
        self.order = [slots[column] for column in choices["order"]]
        self.width = len(self.order)
        if kind == Kind.RISK:
            self.fmt = _Formatter(choices, fmt, RISK_BASE, RISK_DAYS + max(TERMS) + 1)
        else:
            self.fmt = _Formatter(choices, fmt, LOSS_BASE, LOSS_DAYS + 61)
        wanted = choices.get("reasons") or (RISK_REASONS if kind == Kind.RISK else CLAIM_REASONS)
        self.reasons = [reason for reason in wanted if self._applies(reason)]
        if bad_rate and not self.reasons:
            raise ValueError(f"none of the reasons {wanted} can spoil a {fmt} {kind} row")
        self.rows_bad = 0
        self.bad_reasons = {}
        self.totals = {}
        self._pools()

    def _applies(self, reason):
        if reason == "advised_before_loss":
            return "date_first_advised" in self.present
        if reason == "extra_cell":
            # An XLSX sheet is a rectangle: the reader pads the header with empty cells as wide as
            # the widest row, so a stray cell past the last column cannot be told from padding.
            return self.fmt_name == "csv"
        return True

    def _pools(self):
        rng, choices = self.rng, self.choices
        companies = [
            f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)} {rng.choice(COMPANY_SUFFIXES)}"
            for _ in range(1500)
        ]
        people = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(1000)]
        if choices["header_style"] == "upper":
            people = [name.upper() for name in people]  # some senders shout everything
        self.insured = companies + people
        year = 2026
        self.umrs = [
            f"B{rng.randint(100, 9999):04d}{rng.choice(('RCO', 'AND', 'LAT', 'MXP'))}{year}{k:03d}"
            for k in range(1, rng.randint(2, 6))
        ]
        self.cert_prefix = f"{rng.choice(('AMP', 'CERT', 'CO', 'POL'))}-{year % 100}-"
        self.claim_prefix = f"{rng.choice(('CLM', 'SIN', 'RCL'))}{year}-"
        markets = []
        for (alpha2, alpha3, currencies), weight in zip(MARKETS, MARKET_WEIGHTS, strict=True):
            code = alpha3 if choices["country_style"] == "alpha3" else alpha2
            for currency in currencies:
                markets.extend([(code, currency, TO_USD[currency])] * weight)
        self.markets = markets
        spell = {}
        for canonical, _weight in TRANSACTION_WEIGHTS:
            spellings = [text for text, value in TRANSACTION_TYPES.items() if value == canonical]
            spell[canonical] = _header_text(rng.choice(spellings), rng.choice(("upper", "title", "as-is")))
        self.transaction_table = [spell[name] for name in _table(TRANSACTION_WEIGHTS)]
        spell = {}
        for canonical, _weight in STATUS_WEIGHTS:
            spellings = [text for text, value in CLAIM_STATUSES.items() if value == canonical]
            spell[canonical] = _header_text(rng.choice(spellings), rng.choice(("upper", "title", "as-is")))
        self.status_table = [(spell[name], name) for name in _table(STATUS_WEIGHTS)]

    # ---- rows -------------------------------------------------------------------------------

    def __iter__(self):
        values_of = self._risk_values() if self.kind == Kind.RISK else self._claim_values()
        random_, bad_random = self.rng.random, self.bad_rng.random
        pick = operator.itemgetter(*self.order)
        blank_rate, bad_rate, width = self.choices["blank_line_rate"], self.bad_rate, self.width
        extras = [self.insured if pool is None else pool for pool in self.extras.values()]
        last_good = None
        for values in values_of:
            for pool in extras:
                values.append(pool[int(random_() * len(pool))])
            if bad_rate and bad_random() < bad_rate:
                reason = self._spoil(values, last_good)
                self.rows_bad += 1
                self.bad_reasons[reason] = self.bad_reasons.get(reason, 0) + 1
                row = list(pick(values)) if width > 1 else [pick(values)]
                if reason == "extra_cell":
                    row.extend(["", "ver nota al pie"])  # "extra_cell" is the one spoiling done in column order
                yield row
            else:
                last_good = values
                yield pick(values) if width > 1 else [pick(values)]
            if blank_rate and random_() < blank_rate:
                yield [] if random_() < 0.5 else [""] * width

    def _risk_values(self):
        """The values of each risk row in FIELDS order; the amounts also add up into the totals."""
        random_, fmt, choices = self.rng.random, self.fmt, self.choices
        markets, transactions, umrs, insured = self.markets, self.transaction_table, self.umrs, self.insured
        dates, amount, prefix = fmt.dates, fmt.amount, self.cert_prefix
        magnitudes = [10 ** (4.5 + 3 * step / 1024) for step in range(1024)]  # sums insured, 30k..30M USD
        percents = [fmt.percent(500 + 25 * step) for step in range(100)]  # commission 5.00% .. 29.75%
        with_taxes = "total_taxes" not in choices["omitted"]
        blank_zero = choices["zero_as_blank"]
        increase = 100 + 7 * self.revision
        sum_total = gross_total = taxes_total = net_total = 0
        # Sums insured are round amounts: each currency's possible ones are formatted once.
        sums_insured = {}
        for fx in {fx for _country, _currency, fx in markets}:
            cents = [int(magnitude * fx) * 100 for magnitude in magnitudes]
            sums_insured[fx] = list(zip(cents, [amount(value) for value in cents], strict=True))
        zero = "" if blank_zero else amount(0)
        for number in range(1, self.rows + 1):
            country, currency, fx = markets[int(random_() * len(markets))]
            inception = int(random_() * RISK_DAYS)
            sum_insured, sum_insured_text = sums_insured[fx][int(random_() * 1024)]
            gross = max(1000, int(sum_insured * (0.0005 + 0.012 * random_())) * increase // 100)
            step = int(random_() * 100)
            commission = 500 + 25 * step
            taxes = gross * TAX_RATES_BP[int(random_() * 6)] // 10000 if with_taxes else 0
            net = (((gross - taxes) * 10000 - gross * commission) * 2 + 10000) // 20000
            sum_total += sum_insured
            gross_total += gross
            taxes_total += taxes
            net_total += net
            yield [
                umrs[int(random_() * len(umrs))],
                f"{prefix}{number:07d}",
                insured[int(random_() * len(insured))],
                dates[inception],
                dates[inception + TERMS[int(random_() * len(TERMS))]],
                country,
                currency,
                sum_insured_text,
                amount(gross),
                percents[step],
                amount(taxes) if taxes else zero,
                amount(net),
                CLASSES[int(random_() * len(CLASSES))],
                transactions[int(random_() * len(transactions))],
            ]
        self.totals = {
            "sum_insured": sum_total,
            "gross_premium": gross_total,
            "total_taxes": taxes_total,
            "net_premium": net_total,
        }

    def _claim_values(self):
        """The values of each claims row in FIELDS order; the amounts also add up into the totals."""
        random_, fmt, choices = self.rng.random, self.fmt, self.choices
        markets, statuses, umrs = self.markets, self.status_table, self.umrs
        dates, amount, claim_prefix, cert_prefix = fmt.dates, fmt.amount, self.claim_prefix, self.cert_prefix
        magnitudes = [10 ** (2.5 + 3 * step / 1024) for step in range(1024)]
        kept = [0 if name in choices["omitted"] else 1 for name in AMOUNT_PARTS]
        blank_zero = choices["zero_as_blank"]
        increase = 100 + 7 * self.revision
        totals = [0] * (len(AMOUNT_PARTS) + 1)
        for number in range(1, self.rows + 1):
            _country, currency, fx = markets[int(random_() * len(markets))]
            status, canonical = statuses[int(random_() * len(statuses))]
            loss = int(random_() * LOSS_DAYS)
            advised = loss + int(random_() * 61)
            scale = magnitudes[int(random_() * 1024)] * fx
            paid_indemnity = paid_fees = previously_paid = reserve_indemnity = reserve_fees = 0
            if canonical in ("Open", "Reopened"):
                reserve_indemnity = int(scale * 100) * increase // 100
                reserve_fees = int(scale * 8 * random_())
                if random_() < 0.4:
                    paid_indemnity = int(scale * 30 * random_())
            if canonical in ("Closed", "Reopened"):
                previously_paid = int(scale * 100 * random_())
                paid_indemnity = int(scale * 50 * random_())
            if canonical != "Denied" or random_() < 0.3:
                paid_fees = int(scale * 5 * random_())
            parts = [
                cents * keep
                for cents, keep in zip(
                    (paid_indemnity, paid_fees, previously_paid, reserve_indemnity, reserve_fees), kept, strict=True
                )
            ]
            parts.append(sum(parts))
            for position, cents in enumerate(parts):
                totals[position] += cents
            yield [
                f"{claim_prefix}{number:07d}",
                umrs[int(random_() * len(umrs))],
                f"{cert_prefix}{int(random_() * 10 * number) + 1:07d}",
                status,
                dates[loss],
                "" if advised % 17 == 0 else dates[advised],
                CAUSES[int(random_() * len(CAUSES))],
                currency,
                *("" if cents == 0 and blank_zero else amount(cents) for cents in parts[:-1]),
                amount(parts[-1]),
            ]
        self.totals = dict(zip((*AMOUNT_PARTS, "total_incurred"), totals, strict=True))

    # ---- bad rows ---------------------------------------------------------------------------

    def _spoil(self, values, last_good):
        """Make one row invalid in one way (chosen among those that apply); return the reason."""
        rng, fmt, at = self.bad_rng, self.fmt, self.index
        reasons = [reason for reason in self.reasons if reason != "duplicate_key" or last_good is not None]
        reason = rng.choice(reasons)
        risk = self.kind == Kind.RISK
        if reason == "bad_date":
            values[at["inception_date" if risk else "date_of_loss"]] = rng.choice(
                ("31/02/2026", "2026-02-30", "32/01/2026", "TBC", "00/00/0000")
            )
        elif reason == "negative_amount":
            name = rng.choice(("sum_insured", "gross_premium") if risk else ("paid_indemnity", "reserve_indemnity"))
            values[at[name]] = fmt.negative(rng.randint(100, 10_000_000))
            if name == "gross_premium":
                values[at["transaction_type"]] = "New"  # a return premium's may be negative
        elif reason == "not_a_number":
            name = "sum_insured" if risk else "total_incurred"
            values[at[name]] = rng.choice(("N/A", "TBC", "12abc", "see note"))
        elif reason == "unknown_currency":
            values[at["currency"]] = rng.choice(("US$", "PESOS", "EURO", "C0P"))
        elif reason == "unknown_country":
            values[at["country"]] = rng.choice(("ZZ", "Colombia", "LATAM", "??"))
        elif reason == "wrong_net":
            gross, net = self._cents(values[at["gross_premium"]]), self._cents(values[at["net_premium"]])
            values[at["net_premium"]] = fmt.amount(net + max(100, gross // 10))
        elif reason == "expiry_before_inception":
            values[at["expiry_date"]] = values[at["inception_date"]]
        elif reason == "commission_over_100":
            values[at["commission_pct"]] = fmt.percent(rng.randint(101, 300) * 100)
        elif reason == "unknown_transaction_type":
            values[at["transaction_type"]] = rng.choice(("Transfer", "Reinstatement", "Nueva", "X"))
        elif reason == "missing_required":
            required = [
                spec.name for spec in generated_fields(self.kind) if spec.required and spec.name in self.present
            ]
            values[at[rng.choice(required)]] = ""
        elif reason == "duplicate_key":
            # The key's fields this file has, and the dates its effective date falls back to.
            for name in (*NATURAL_KEYS[self.kind], *(("inception_date", "expiry_date") if risk else ())):
                if name in at:
                    values[at[name]] = last_good[at[name]]
        elif reason == "text_too_long":
            values[at["insured_name"]] = "Consorcio " + "Constructor Andino y Asociados " * 10
        elif reason == "future_loss_date":
            values[at["date_of_loss"]] = date(2099, 3, 15) if fmt.native else fmt.date_text(date(2099, 3, 15))
        elif reason == "advised_before_loss":
            day = max(10, fmt.dates.index(values[at["date_of_loss"]]))
            values[at["date_of_loss"]], values[at["date_first_advised"]] = fmt.dates[day], fmt.dates[day - 10]
        elif reason == "unknown_status":
            values[at["claim_status"]] = rng.choice(("Pending", "En trámite", "Settled", "?"))
        elif reason == "wrong_total_incurred":
            total = self._cents(values[at["total_incurred"]])
            values[at["total_incurred"]] = fmt.amount(total + max(1000, total // 10))
        # "extra_cell" is added after the row is put in column order.
        return reason

    def _cents(self, value):
        if value == "":
            return 0
        if isinstance(value, float):
            return round(value * 100)
        digits = "".join(ch for ch in value if ch.isdigit())
        return int(digits)

    def totals_row(self):
        row = [""] * self.width
        for position, slot in enumerate(self.order):
            if slot < len(self.names) and self.names[slot] in self.totals:
                row[position] = self.fmt.amount(self.totals[self.names[slot]])
        row[0] = self.choices["totals_label"]
        return row


TITLES = {
    Kind.RISK: (
        "Bordereau de Riesgos / Risk Bordereau \u2013 {period}",
        "Coverholder: Agencia de Suscripción Andina S.A.S.",
    ),
    Kind.CLAIMS: (
        "Bordereau de Siniestros / Claims Bordereau \u2013 {period}",
        "Coverholder: Agencia de Suscripción Andina S.A.S.",
    ),
}


def _title_rows(kind, choices, umrs):
    rows = [
        [TITLES[kind][0].format(period="Octubre 2026")],
        [TITLES[kind][1]],
        ["Binder:", umrs[0], "", "Período de reporte:", "01/10/2026 \u2013 31/10/2026"],
    ]
    return rows[: choices["title_rows"]]


def generate(path, *, rows, kind=Kind.RISK, fmt="csv", seed=0, bad_rate=0.0, revision=0, choices=None):
    """Write a bordereau of `rows` data rows to `path` and return what was chosen and what an
    import should find: rows_total, rows_good, rows_bad (and why), the header line, the layout.

    `revision` > 0 writes a corrected resubmission: the same file (same keys, layout and bad
    rows) with premiums (risk) or indemnity reserves (claims) changed. `choices` pins any of the
    per-file choices (see choose_layout), e.g. {"encoding": "cp1252", "delimiter": ";"}, and
    {"reasons": [...]} limits the ways rows are spoiled (RISK_REASONS, CLAIM_REASONS).
    """
    if kind not in (Kind.RISK, Kind.CLAIMS):
        raise ValueError(f"kind must be risk or claims, not {kind!r}")
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or xlsx, not {fmt!r}")
    if rows < 0 or not 0 <= bad_rate <= 1:
        raise ValueError("rows must be >= 0 and bad_rate between 0 and 1")
    started = time.perf_counter()
    path = Path(path)
    layout = choose_layout(kind, fmt, seed, choices)
    data = _Rows(kind, layout, fmt, rows, seed, bad_rate, revision)
    header = [
        layout["headers"][column] if not column.startswith("extra:") else column[6:] for column in layout["order"]
    ]
    head = _title_rows(kind, layout, data.umrs)
    if head and layout["title_gap"]:
        head.append([])  # a blank line between the titles and the header
    header_line = len(head) + 1
    if fmt == "csv":
        _write_csv(path, layout, head, header, data)
    else:
        _write_xlsx(path, layout, head, header, data)
    summary = {
        "path": str(path),
        "kind": kind,
        "format": fmt,
        "seed": seed,
        "revision": revision,
        "bad_rate": bad_rate,
        "rows_total": rows,
        "rows_good": rows - data.rows_bad,
        "rows_bad": data.rows_bad,
        "bad_reasons": dict(sorted(data.bad_reasons.items())),
        "header_line": header_line,
        "columns": header,
        "fields": {name: layout["headers"][name] for name in data.present},
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 3),
    }
    for name in ("title_rows", "title_gap", "date_style", "decimal_style", "thousands", "totals_label", "omitted"):
        summary[name] = layout[name]
    if fmt == "csv":
        summary.update(encoding=layout["encoding"], delimiter=layout["delimiter"], newline=layout["newline"])
    else:
        summary["cells"] = layout["cells"]
    return summary


def _write_csv(path, layout, head, header, data):
    with open(path, "w", encoding=layout["encoding"], newline="", buffering=1 << 20) as handle:
        writer = csv.writer(handle, delimiter=layout["delimiter"], lineterminator=layout["newline"])
        writer.writerows(head)
        writer.writerow(header)
        writer.writerows(data)
        writer.writerow(data.totals_row())


def _write_xlsx(path, layout, head, header, data):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Bordereau")
    for row in head:
        sheet.append(row)
    sheet.append(header)
    for row in data:
        sheet.append(row)
    sheet.append(data.totals_row())
    workbook.save(path)
