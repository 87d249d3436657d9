"""A valid risk bordereau row, shared by the ingestion tests; each test spoils what it checks."""

from portal.ingestion.fields import RISK_FIELDS

# The columns every risk file of these tests has; the optional Type of Business and Effective Date
# of Transaction have tests of their own (test_ingestion_crs.py).
RISK_HEADER = [spec.label for spec in RISK_FIELDS if spec.name not in ("business_type", "transaction_date")]

# The standard's transaction types (CRS v5.2 code list), as a bad one's message lists them.
TXN_CHOICES = (
    "Not one of: Original Premium, Additional Premium, Return Premium, Additional Premium - Brokerage/Commission, "
    "Additional Premium - Fees/Expenses, Return Premium - Brokerage/Commission, Return Premium - Fees/Expenses"
)


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
