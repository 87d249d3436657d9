# ruff: noqa: S311 - seeded pseudo-random data for test files, not secrets
"""A risk bordereau laid out after Lloyd's Coverholder Reporting Standards v5.2, as a cedant sends it:
the standard's own column names (with their abbreviations in brackets), its transaction types
(Original, Additional and Return Premium, as words, as OP/AP/RP and in Spanish) with return premiums
sent both positive and negative, New/Renewal in a column of its own, each movement's effective date,
`;` separated, Windows-1252, amounts as 1.234,56, dates dd/mm/yyyy, and a totals row at the end.

Each certificate has three movements in the period (an original premium, then an additional and a
return premium on later dates), so an AP and an RP of one certificate in one month must both load.
About `bad_rate` of the rows are spoiled in one way each, every one a row COPY still reads.
"""

import random
import time
from datetime import date, timedelta

# The standard's names for the columns, in its order.
CRS_RISK_HEADERS = (
    "Unique Market Reference (UMR)",
    "Certificate Reference",
    "Insured Full Name or Company Name",
    "Risk Inception Date",
    "Risk Expiry Date",
    "Location of Risk Country",
    "Transaction Type - Original Premium etc",
    "Type of Business (New/Renewal)",
    "Effective Date of Transaction",
    "Original Currency",
    "Sum Insured Amount",
    "Gross Written Premium (GWP)",
    "Commission %",
    "Total Taxes and Levies",
    "Final Net Premium",
    "Class of Business",
)
ORIGINAL_WORDS = ("Original Premium", "OP", "Prima original")
ADDITIONAL_WORDS = ("Additional Premium", "AP", "Prima adicional")
RETURN_WORDS = ("Return Premium", "RP", "Devolución de prima")
BUSINESS_WORDS = ("New", "Renewal", "Renovación", "Nuevo")
REASONS = ("negative_original_premium", "unknown_transaction_type", "unknown_business_type", "wrong_net")
CLASSES = ("Property", "Marine Cargo", "Casualty", "Engineering", "Terrorism")
MARKETS = (("CO", "COP"), ("CO", "USD"), ("MX", "MXN"), ("PE", "PEN"), ("CL", "CLP"), ("GB", "GBP"))
NAMES = ("José Núñez Peña", "Ñandú Textiles S.A.S.", "Café Quindío Ltda.", "Agrícola Córdoba S.A.", "Zoë Ltd")
BASE = date(2025, 11, 1)


def _amount(cents):
    """-123456 -> '-1.234,56'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{part:02d}"


def _day(offset):
    return (BASE + timedelta(days=offset)).strftime("%d/%m/%Y")


def generate_crs(path, *, rows, seed=0, bad_rate=0.0):
    """Write the bordereau; return what it holds (rows good and bad, the layout COPY needs)."""
    started = time.perf_counter()
    rng = random.Random(f"{seed}:crs")
    random_ = rng.random
    umrs = [f"B{rng.randint(1000, 9999)}CRS{2026}{k:03d}" for k in range(1, 5)]
    insured = [f"{name} {number}" for number in range(400) for name in NAMES]
    days = [_day(offset) for offset in range(800)]
    good = bad = 0
    reasons = {}
    handle = path.open("w", encoding="cp1252", newline="")
    handle.write(";".join(CRS_RISK_HEADERS) + "\r\n")
    for number in range(rows):
        certificate, movement = divmod(number, 3)
        inception = certificate % 365
        umr = umrs[certificate % len(umrs)]
        country, currency = MARKETS[certificate % len(MARKETS)]
        sum_insured = (certificate % 997 + 10) * 100_000_00
        gross = int(sum_insured * (0.0005 + 0.01 * random_())) // 100 * 100 + int(random_() * 100)
        commission = 5 + int(random_() * 25)
        taxes = gross * (0, 0, 5, 10)[int(random_() * 4)] // 100
        net = gross - (gross * commission + 50) // 100 - taxes
        business, effective = "", days[inception + 30 + movement * 20]
        if movement == 0:
            words, business, effective = ORIGINAL_WORDS, BUSINESS_WORDS[certificate % 4], ""
        elif movement == 1:
            words = ADDITIONAL_WORDS
        else:
            words = RETURN_WORDS
        sign = -1 if movement == 2 and random_() < 0.5 else 1  # a return premium sent negative
        cells = [
            umr,
            f"CRS-{certificate:07d}",
            insured[int(random_() * len(insured))],
            days[inception],
            days[inception + 365],
            country,
            words[int(random_() * 3)],
            business,
            effective,
            currency,
            _amount(sum_insured),
            _amount(sign * gross),
            str(commission),
            _amount(sign * taxes),
            _amount(sign * net),
            CLASSES[certificate % len(CLASSES)],
        ]
        if bad_rate and random_() < bad_rate:
            reason = REASONS[int(random_() * len(REASONS))]
            if reason == "negative_original_premium":
                cells[6], cells[11] = ORIGINAL_WORDS[0], _amount(-gross)
            elif reason == "unknown_transaction_type":
                cells[6] = "Reinstatement"
            elif reason == "unknown_business_type":
                cells[7] = "Transfer"
            else:
                cells[14] = _amount(sign * (net + max(100, gross // 10)))
            reasons[reason] = reasons.get(reason, 0) + 1
            bad += 1
        else:
            good += 1
        handle.write(";".join(cells) + "\r\n")
    handle.write(";".join(["Total", *[""] * (len(CRS_RISK_HEADERS) - 1)]) + "\r\n")
    handle.close()
    return {
        "shape": "crs",
        "rows": rows,
        "rows_good": good,
        "rows_bad": bad,
        "bad_reasons": reasons,
        "columns": list(CRS_RISK_HEADERS),
        "delimiter": ";",
        "encoding": "cp1252",
        "header_line": 1,
        "bytes": path.stat().st_size,
        "seconds": round(time.perf_counter() - started, 2),
    }
