"""A valid risk bordereau row, shared by the ingestion tests; each test spoils what it checks."""

from portal.ingestion.fields import RISK_FIELDS

RISK_HEADER = [spec.label for spec in RISK_FIELDS]


def risk_values(number, **changes):
    """The cells of one clean risk row, by short name, in the order of RISK_HEADER."""
    values = {
        "umr": "B0999ABC2026",
        "cert": f"CERT-{number:04d}",
        "insured": f"Insured {number} SAS",
        "inception": "01/10/2026",
        "expiry": "30/09/2027",
        "country": "CO",
        "currency": "USD",
        "sum": "1000000.00",
        "gross": "1000.00",
        "comm": "20",
        "taxes": "50.00",
        "net": "750.00",
        "cob": "Property",
        "txn": "New",
    }
    values.update(changes)
    return values
