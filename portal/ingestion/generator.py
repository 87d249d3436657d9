"""Realistic, messy risk and claims bordereaux (after Lloyd's Coverholder Reporting Standards
v5.2) for tests, demos and benchmarks.

Every file makes its own seeded choices, the way each cedant's spreadsheet differs: which
synonym names each column, column order, extra columns we do not read, title rows above the
header, delimiter, encoding (UTF-8 with or without BOM, Windows-1252), date style (dd/mm/yyyy or
ISO), number style ("1.234.567,89" or "1,234,567.89", with or without thousands separators),
blank lines and a totals row at the end. Values are internally consistent (net = gross -
commission - taxes, total incurred = paid + previously paid + reserves, expiry after inception,
unique natural keys), so a clean row passes validation; `bad_rate` makes that fraction of the
rows invalid in one of several ways, and the summary says how many, so a test can check the
import's counts exactly.

Rows are produced one at a time and written as they come: a million CSV rows take a few seconds
and a few megabytes. The same seed writes the same bytes.
"""

import csv
import random
import time
from datetime import date, timedelta
from pathlib import Path

from .detect import _synonym_index, normalise_header
from .fields import CLAIM_STATUSES, FIELDS, NATURAL_KEYS, TRANSACTION_TYPES, Kind

FORMATS = ("csv", "xlsx")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
DELIMITERS = (",", ";", "\t")
DATE_STYLES = ("dmy", "iso")
DECIMAL_STYLES = ("dot", "comma")
HEADER_STYLES = ("as-is", "upper", "lower", "title", "snake")
TOTALS_LABELS = ("TOTAL", "Total", "Totales", "Grand Total", "Total general:")

# Countries with the currencies their risks are written in, and a rough exchange rate to USD
# so that amounts look right (COP in the hundreds of millions, USD in the tens of thousands).
MARKETS = (
    ("CO", "COL", ("COP", "COP", "COP", "USD")),
    ("MX", "MEX", ("MXN", "MXN", "USD")),
    ("PE", "PER", ("PEN", "USD")),
    ("CL", "CHL", ("CLP", "USD")),
    ("EC", "ECU", ("USD",)),
    ("PA", "PAN", ("USD",)),
    ("US", "USA", ("USD",)),
    ("ES", "ESP", ("EUR",)),
    ("GB", "GBR", ("GBP", "USD")),
    ("AR", "ARG", ("USD",)),
)
MARKET_WEIGHTS = (40, 15, 8, 6, 5, 5, 8, 5, 5, 3)
TO_USD = {"COP": 4000, "MXN": 18, "PEN": 4, "CLP": 900, "USD": 1, "EUR": 1, "GBP": 1}
TAX_RATES_BP = (0, 0, 0, 250, 500, 1000)  # basis points of gross premium

CLASSES = (
    "Property",
    "Property - Todo Riesgo",
    "Property, Industrial",
    "Marine Cargo",
    "Engineering (CAR/EAR)",
    "Casualty - RC General",
    "Terrorism",
    "Cyber",
    "Energy Onshore",
    "Agricultura",
    "Fianzas / Surety",
    "Contingency",
)
CAUSES = (
    "Incendio",
    "Inundación",
    "Terremoto",
    "Robo",
    "Daño por agua",
    "Colisión",
    "Responsabilidad civil",
    "Avería de maquinaria",
    "Huracán",
    "Fire",
    "Flood",
    "Theft",
    'Cortocircuito, "según perito"',
)
COMPANY_WORDS = (
    "Inversiones",
    "Constructora",
    "Comercializadora",
    "Distribuidora",
    "Agropecuaria",
    "Transportes",
    "Hoteles",
    "Clínica",
    "Fundación",
    "Industrias",
    "Compañía",
    "Textiles",
)
COMPANY_NAMES = (
    "Andina",
    "del Pacífico",
    "Peñalosa",
    "San Martín",
    "La Montaña",
    "Río Magdalena",
    "Los Álamos",
    "El Caribe",
    "Núñez",
    "Cañaveral",
    "Santa Bárbara",
    "Médica del Valle",
    "Ibáñez",
    "Güemes",
)
COMPANY_SUFFIXES = ("S.A.S.", "S.A.", "Ltda.", "S.A. de C.V.", "S.R.L.", "& Cía. S. en C.", "S.A.C.")
FIRST_NAMES = (
    "José",
    "María",
    "Andrés",
    "Sofía",
    "Julián",
    "Inés",
    "Iván",
    "Mónica",
    "Raúl",
    "Lucía",
    "Hernán",
    "Begoña",
    "Ángela",
    "Martín",
    "Nicolás",
)
LAST_NAMES = (
    "Muñoz",
    "Pérez",
    "Gómez",
    "Rodríguez",
    "Peña",
    "Ibáñez",
    "Castaño",
    "Londoño",
    "Nariño",
    "Sánchez",
    "Díaz",
    "Ortiz",
    "Zúñiga",
    "Ramírez",
    "Beltrán",
)
BROKERS = ("Correcta Seguros Ltda.", "Marsh S.A.", "Aon Colombia", "Delima Marsh", "Willis Towers Watson", "")
DEPARTMENTS = ("Bogotá D.C.", "Antioquia", "Atlántico", "Nariño", "Valle del Cauca", "Bolívar", "Córdoba", "Boyacá")
NOTES = ("", "", "", "", "Renovación sin cambios", "Ver anexo; cláusula 4", 'Cliente "preferente"', "N/A")

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
        "cause_of_loss",
        "paid_fees",
        "previously_paid",
        "reserve_fees",
    ),
}
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
    """The per-file choices, drawn from the seed; `overrides` pins any of them."""
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
        "blank_line_rate": rng.choice((0.0, 0.001, 0.004)),
        "zero_as_blank": rng.random() < 0.5,
        "totals_label": rng.choice(TOTALS_LABELS),
        "cells": rng.choice(("native", "native", "text")) if fmt == "xlsx" else "text",
        "omitted": [name for name in OPTIONAL_OMISSIONS[kind] if rng.random() < 0.15],
    }
    headers = {}
    for spec in FIELDS[kind]:
        candidates = [
            text for text in (spec.label, *spec.synonyms) if synonyms.get(normalise_header(text)) == spec.name
        ]
        headers[spec.name] = rng.choice(candidates)
    extras = [
        name
        for name, _values in EXTRA_COLUMNS[kind]
        if normalise_header(name) not in synonyms and rng.random() < 0.5
    ]
    choices["extra_columns"] = extras
    choices.update(overrides or {})
    choices["headers"] = {
        name: _header_text(text, choices["header_style"]) for name, text in {**headers, **choices.get("headers", {})}.items()
    }
    order = [spec.name for spec in FIELDS[kind] if spec.name not in choices["omitted"]] + [
        f"extra:{name}" for name in choices["extra_columns"]
    ]
    rng.shuffle(order)
    choices["order"] = choices.get("order") or order
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
        if native:
            self.amount = lambda cents: cents / 100
            self.percent = lambda bp: bp / 100
        elif comma and thousands:
            self.amount = lambda cents: f"{cents // 100:_},{cents % 100:02d}".replace("_", ".")
        elif comma:
            self.amount = lambda cents: f"{cents // 100},{cents % 100:02d}"
        elif thousands:
            self.amount = lambda cents: f"{cents // 100:,}.{cents % 100:02d}"
        else:
            self.amount = lambda cents: f"{cents // 100}.{cents % 100:02d}"
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
        self.kind, self.choices, self.rows, self.revision = kind, choices, rows, revision
        self.bad_rate = bad_rate
        self.rng = random.Random(f"{seed}:{kind}:rows")
        self.bad_rng = random.Random(f"{seed}:{kind}:bad")
        self.names = [spec.name for spec in FIELDS[kind]]
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
        self.reasons = [
            reason for reason in (RISK_REASONS if kind == Kind.RISK else CLAIM_REASONS) if self._applies(reason)
        ]
        self.rows_bad = 0
        self.bad_reasons = {}
        self.totals = {}
        self._pools()

    def _applies(self, reason):
        if reason == "advised_before_loss":
            return "date_first_advised" in self.present
        return True

    def _pools(self):
        rng, choices = self.rng, self.choices
        companies = [
            f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)} {rng.choice(COMPANY_SUFFIXES)}"
            for _ in range(1500)
        ]
        people = [
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(1000)
        ]
        if choices["header_style"] == "upper":
            people = [name.upper() for name in people]  # some senders shout everything
        self.insured = companies + people
        year = 2026
        self.umrs = [f"B{rng.randint(100, 9999):04d}{rng.choice(('RCO', 'AND', 'LAT', 'MXP'))}{year}{k:03d}" for k in range(1, rng.randint(2, 6))]
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
        self.transaction_table = [(spell[name], name) for name in _table(TRANSACTION_WEIGHTS)]
        spell = {}
        for canonical, _weight in STATUS_WEIGHTS:
            spellings = [text for text, value in CLAIM_STATUSES.items() if value == canonical]
            spell[canonical] = _header_text(rng.choice(spellings), rng.choice(("upper", "title", "as-is")))
        self.status_table = [(spell[name], name) for name in _table(STATUS_WEIGHTS)]

    # ---- rows -------------------------------------------------------------------------------

    def __iter__(self):
        make = self._risk_row if self.kind == Kind.RISK else self._claim_row
        rng, bad_rng, order = self.rng, self.bad_rng, self.order
        blank_rate, bad_rate = self.choices["blank_line_rate"], self.bad_rate
        extras = list(self.extras.items())
        last_good = None
        for number in range(self.rows):
            values = make(number)
            for name, pool in extras:
                values.append(
                    self.insured[int(rng.random() * len(self.insured))]
                    if pool is None
                    else pool[int(rng.random() * len(pool))]
                )
            extra_cell = False
            if bad_rate and bad_rng.random() < bad_rate:
                reason = self._spoil(values, last_good)
                extra_cell = reason == "extra_cell"
                self.rows_bad += 1
                self.bad_reasons[reason] = self.bad_reasons.get(reason, 0) + 1
            else:
                last_good = values
            row = [values[position] for position in order]
            if extra_cell:
                row.extend(["", "ver nota al pie"])
            yield row
            if blank_rate and rng.random() < blank_rate:
                yield [] if rng.random() < 0.5 else [""] * self.width

    def _risk_row(self, number):
        rng, fmt, totals = self.rng, self.fmt, self.totals
        country, currency, fx = self.markets[int(rng.random() * len(self.markets))]
        transaction, canonical = self.transaction_table[int(rng.random() * len(self.transaction_table))]
        inception = int(rng.random() * RISK_DAYS)
        term = TERMS[int(rng.random() * len(TERMS))]
        sum_insured = int(10 ** (4.5 + 3 * rng.random()) * fx) * 100
        gross = int(sum_insured * (0.0005 + 0.012 * rng.random()))
        if self.revision:
            gross = gross * (100 + 7 * self.revision) // 100
        gross = max(gross, 1000)
        commission = 500 + 25 * int(rng.random() * 100)  # 5.00% .. 29.75%
        taxes = 0 if "total_taxes" in self.choices["omitted"] else gross * TAX_RATES_BP[int(rng.random() * 6)] // 10000
        net = (((gross - taxes) * 10000 - gross * commission) * 2 + 10000) // 20000
        totals["sum_insured"] = totals.get("sum_insured", 0) + sum_insured
        totals["gross_premium"] = totals.get("gross_premium", 0) + gross
        totals["total_taxes"] = totals.get("total_taxes", 0) + taxes
        totals["net_premium"] = totals.get("net_premium", 0) + net
        return [
            self.umrs[int(rng.random() * len(self.umrs))],
            f"{self.cert_prefix}{number + 1:07d}",
            self.insured[int(rng.random() * len(self.insured))],
            fmt.dates[inception],
            fmt.dates[inception + term],
            country,
            currency,
            fmt.amount(sum_insured),
            fmt.amount(gross),
            fmt.percent(commission),
            "" if taxes == 0 and self.choices["zero_as_blank"] else fmt.amount(taxes),
            fmt.amount(net),
            CLASSES[int(rng.random() * len(CLASSES))],
            transaction,
        ]

    def _claim_row(self, number):
        rng, fmt, totals, omitted = self.rng, self.fmt, self.totals, self.choices["omitted"]
        _country, currency, fx = self.markets[int(rng.random() * len(self.markets))]
        status, canonical = self.status_table[int(rng.random() * len(self.status_table))]
        loss = int(rng.random() * LOSS_DAYS)
        advised = loss + int(rng.random() * 61)
        scale = 10 ** (2.5 + 3 * rng.random()) * fx
        paid_indemnity = paid_fees = previously_paid = reserve_indemnity = reserve_fees = 0
        if canonical in ("Open", "Reopened"):
            reserve_indemnity = int(scale * 100)
            reserve_fees = int(scale * 8 * rng.random())
            if rng.random() < 0.4:
                paid_indemnity = int(scale * 30 * rng.random())
        if canonical in ("Closed", "Reopened"):
            previously_paid = int(scale * 100 * rng.random())
            paid_indemnity = int(scale * 50 * rng.random())
        if canonical != "Denied" or rng.random() < 0.3:
            paid_fees = int(scale * 5 * rng.random())
        amounts = {
            "paid_indemnity": paid_indemnity,
            "paid_fees": paid_fees,
            "previously_paid": previously_paid,
            "reserve_indemnity": reserve_indemnity,
            "reserve_fees": reserve_fees,
        }
        for name in omitted:
            if name in amounts:
                amounts[name] = 0
        if self.revision:
            amounts["reserve_indemnity"] = amounts["reserve_indemnity"] * (100 + 7 * self.revision) // 100
        total = sum(amounts.values())
        for name, cents in amounts.items():
            totals[name] = totals.get(name, 0) + cents
        totals["total_incurred"] = totals.get("total_incurred", 0) + total
        blank = self.choices["zero_as_blank"]
        amount = fmt.amount
        return [
            f"{self.claim_prefix}{number + 1:07d}",
            self.umrs[int(rng.random() * len(self.umrs))],
            f"{self.cert_prefix}{int(rng.random() * 10 * (number + 1)) + 1:07d}",
            status,
            fmt.dates[loss],
            "" if advised % 17 == 0 else fmt.dates[advised],
            CAUSES[int(rng.random() * len(CAUSES))],
            currency,
            *("" if cents == 0 and blank else amount(cents) for cents in amounts.values()),
            amount(total),
        ]

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
            required = [spec.name for spec in FIELDS[self.kind] if spec.required and spec.name in self.present]
            values[at[rng.choice(required)]] = ""
        elif reason == "duplicate_key":
            for name in NATURAL_KEYS[self.kind]:
                values[at[name]] = last_good[at[name]]
        elif reason == "text_too_long":
            values[at["insured_name"]] = "Consorcio " + "Constructor Andino y Asociados " * 10
        elif reason == "future_loss_date":
            values[at["date_of_loss"]] = date(2099, 3, 15) if fmt.native else fmt.date_text(date(2099, 3, 15))
        elif reason == "advised_before_loss":
            loss = values[at["date_of_loss"]]
            day = loss if fmt.native else fmt.dates.index(loss)
            values[at["date_first_advised"]] = fmt.dates[day - 10] if isinstance(day, int) else day - timedelta(10)
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
    Kind.RISK: ("Bordereau de Riesgos / Risk Bordereau – {period}", "Coverholder: Agencia de Suscripción Andina S.A.S."),
    Kind.CLAIMS: ("Bordereau de Siniestros / Claims Bordereau – {period}", "Coverholder: Agencia de Suscripción Andina S.A.S."),
}


def _title_rows(kind, choices, umrs):
    rows = [
        [TITLES[kind][0].format(period="Octubre 2026")],
        [TITLES[kind][1]],
        ["Binder:", umrs[0], "", "Período de reporte:", "01/10/2026 – 31/10/2026"],
    ]
    return rows[: choices["title_rows"]]


def generate(path, *, rows, kind=Kind.RISK, fmt="csv", seed=0, bad_rate=0.0, revision=0, choices=None):
    """Write a bordereau of `rows` data rows to `path` and return what was chosen and what an
    import should find: rows_total, rows_good, rows_bad (and why), the header line, the layout.

    `revision` > 0 writes a corrected resubmission: the same file (same keys, layout and bad
    rows) with premiums (risk) or indemnity reserves (claims) changed. `choices` pins any of the
    per-file choices (see choose_layout), e.g. {"encoding": "cp1252", "delimiter": ";"}.
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
    if head and random.Random(f"{seed}:gap").random() < 0.5:
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
    for name in ("title_rows", "date_style", "decimal_style", "thousands", "totals_label", "omitted"):
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
