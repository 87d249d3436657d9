"""The fields of a risk (premium) and a claims bordereau, after Lloyd's Coverholder Reporting
Standards v5.2, with the column names senders use for them."""

from dataclasses import dataclass, field, replace

from django.utils.translation import gettext_lazy as _


class Kind:
    RISK = "risk"
    CLAIMS = "claims"
    CHOICES = [(RISK, _("Risk / premium")), (CLAIMS, _("Claims"))]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str  # text | date | amount | percent | currency | country | choice
    required: bool = True
    synonyms: tuple = ()
    choices: dict = field(default_factory=dict)  # accepted spelling (normalised) -> stored value
    max_length: int = 200
    # The values a "Not one of" message lists: the stored vocabulary, not every accepted spelling.
    listed: tuple = ()
    # Another field whose value is stored when this optional one is empty.
    fallback: str = ""
    # A premium amount: negative in a return premium row (see RETURN_TYPES), never elsewhere.
    signed: bool = False


# The standard's Transaction Type is the kind of premium movement (its code list, CRS v5.2).
ORIGINAL = "Original Premium"
ADDITIONAL = "Additional Premium"
RETURN = "Return Premium"
ADDITIONAL_COMMISSION = "Additional Premium - Brokerage/Commission"
ADDITIONAL_FEES = "Additional Premium - Fees/Expenses"
RETURN_COMMISSION = "Return Premium - Brokerage/Commission"
RETURN_FEES = "Return Premium - Fees/Expenses"
STANDARD_TRANSACTION_TYPES = (
    ORIGINAL,
    ADDITIONAL,
    RETURN,
    ADDITIONAL_COMMISSION,
    ADDITIONAL_FEES,
    RETURN_COMMISSION,
    RETURN_FEES,
)
RETURN_TYPES = (RETURN, RETURN_COMMISSION, RETURN_FEES)
# Words of files written before the standard's code list, read on as the standard's movements:
# New and Renewal are an original premium of that business type, Cancellation a return premium,
# and Endorsement and Adjustment an additional or a return premium by the sign of the gross premium.
BY_SIGN = "by sign"
LEGACY_TRANSACTION_TYPES = {
    "New": (ORIGINAL, "New"),
    "Renewal": (ORIGINAL, "Renewal"),
    "Cancellation": (RETURN, ""),
    "Endorsement": (BY_SIGN, ""),
    "Adjustment": (BY_SIGN, ""),
}
TRANSACTION_TYPES = {
    "original premium": ORIGINAL,
    "original": ORIGINAL,
    "op": ORIGINAL,
    "additional premium": ADDITIONAL,
    "additional": ADDITIONAL,
    "ap": ADDITIONAL,
    "return premium": RETURN,
    "return": RETURN,
    "rp": RETURN,
    "additional premium for brokerage or commission": ADDITIONAL_COMMISSION,
    "additional premium brokerage commission": ADDITIONAL_COMMISSION,
    "additional premium - brokerage/commission": ADDITIONAL_COMMISSION,
    "ap brokerage": ADDITIONAL_COMMISSION,
    "ap commission": ADDITIONAL_COMMISSION,
    "additional premium for fees or expenses": ADDITIONAL_FEES,
    "additional premium fees expenses": ADDITIONAL_FEES,
    "additional premium - fees/expenses": ADDITIONAL_FEES,
    "ap fees": ADDITIONAL_FEES,
    "return premium for brokerage or commission": RETURN_COMMISSION,
    "return premium brokerage commission": RETURN_COMMISSION,
    "return premium - brokerage/commission": RETURN_COMMISSION,
    "rp brokerage": RETURN_COMMISSION,
    "rp commission": RETURN_COMMISSION,
    "return premium for fees or expenses": RETURN_FEES,
    "return premium fees expenses": RETURN_FEES,
    "return premium - fees/expenses": RETURN_FEES,
    "rp fees": RETURN_FEES,
    "prima original": ORIGINAL,
    "prima inicial": ORIGINAL,
    "emision": ORIGINAL,
    "prima adicional": ADDITIONAL,
    "cobro adicional": ADDITIONAL,
    "devolucion de prima": RETURN,
    "devolucion": RETURN,
    "prima de devolucion": RETURN,
    "extorno": RETURN,
    # Earlier words, kept for files that still use them (see LEGACY_TRANSACTION_TYPES).
    "new": "New",
    "nb": "New",
    "new business": "New",
    "renewal": "Renewal",
    "ren": "Renewal",
    "endorsement": "Endorsement",
    "end": "Endorsement",
    "mta": "Endorsement",
    "cancellation": "Cancellation",
    "can": "Cancellation",
    "cancel": "Cancellation",
    "adjustment": "Adjustment",
    "adj": "Adjustment",
}

BUSINESS_TYPES = {
    "new": "New",
    "n": "New",
    "nb": "New",
    "new business": "New",
    "renewal": "Renewal",
    "r": "Renewal",
    "ren": "Renewal",
    "renewed": "Renewal",
    "nuevo": "New",
    "nueva": "New",
    "negocio nuevo": "New",
    "renovacion": "Renewal",
    "renovado": "Renewal",
}

# The standard's Claim Status (Open, Closed, Re-opened, Denied), as senders write it.
CLAIM_STATUSES = {
    "open": "Open",
    "opened": "Open",
    "new": "Open",
    "advised": "Open",
    "notified": "Open",
    "notification": "Open",
    "o": "Open",
    "closed": "Closed",
    "close": "Closed",
    "c": "Closed",
    "closed no payment": "Closed",
    "closed - no payment": "Closed",
    "closed without payment": "Closed",
    "reopened": "Reopened",
    "re-opened": "Reopened",
    "re opened": "Reopened",
    "reopen": "Reopened",
    "ro": "Reopened",
    "denied": "Denied",
    "declined": "Denied",
    "claim denied": "Denied",
    "repudiated": "Denied",
    "rejected": "Denied",
    "abierto": "Open",
    "cerrado": "Closed",
    "pagado": "Closed",
    "reabierto": "Reopened",
    "objetado": "Denied",
    "negado": "Denied",
    "rechazado": "Denied",
}

RISK_FIELDS = (
    Field(
        "umr",
        "UMR",
        "text",
        synonyms=("umr", "unique market reference", "binder umr", "contract ref", "agreement number"),
    ),
    Field(
        "certificate_ref",
        "Certificate Ref",
        "text",
        synonyms=(
            "certificate ref",
            "certificate reference",
            "certificate no",
            "certificate number",
            "cert ref",
            "policy number",
            "risk reference",
            "policy certificate ref",
            "policy certificate reference",
            "policy or certificate reference",
            "certificate policy reference",
            "policy certificate number",
        ),
    ),
    Field(
        "insured_name",
        "Insured Full Name or Company Name",
        "text",
        synonyms=(
            "insured full name or company name",
            "insured name",
            "insured",
            "name of insured",
            "company name",
            "insured full name",
        ),
        max_length=255,
    ),
    Field(
        "inception_date",
        "Risk Inception Date",
        "date",
        synonyms=("risk inception date", "inception date", "inception", "period from", "start date", "effective date"),
    ),
    Field(
        "expiry_date",
        "Risk Expiry Date",
        "date",
        synonyms=("risk expiry date", "expiry date", "expiry", "period to", "end date", "expiration date"),
    ),
    Field(
        "country",
        "Location of Risk Country",
        "country",
        synonyms=(
            "location of risk country",
            "risk location country",
            "risk country",
            "country",
            "country code",
            "country of risk",
        ),
    ),
    Field(
        "currency",
        "Original Currency",
        "currency",
        synonyms=("original currency", "currency", "settlement currency", "ccy", "original ccy"),
    ),
    Field(
        "sum_insured",
        "Sum Insured",
        "amount",
        synonyms=("sum insured", "sum insured amount", "total sum insured", "tsi", "limit"),
    ),
    Field(
        "gross_premium",
        "Gross Premium",
        "amount",
        synonyms=(
            "gross premium",
            "gross premium paid this time",
            "gross written premium",
            "gwp",
            "gross premium paid",
            "gross written premium for this time",
            "gross premium for this time",
        ),
        signed=True,
    ),
    Field(
        "commission_pct",
        "Commission %",
        "percent",
        synonyms=("commission %", "commission percentage", "commission", "brokerage %", "comm %", "commission pct"),
    ),
    Field(
        "total_taxes",
        "Total Taxes",
        "amount",
        required=False,
        synonyms=("total taxes", "total taxes and levies", "taxes and levies", "taxes", "total tax", "tax", "ipt"),
        signed=True,
    ),
    Field(
        "net_premium",
        "Net Premium",
        "amount",
        synonyms=("net premium", "final net premium", "net premium to underwriters", "nwp", "net written premium"),
        signed=True,
    ),
    Field(
        "class_of_business",
        "Class of Business",
        "text",
        synonyms=("class of business", "class", "line of business", "lob", "coverage"),
        max_length=120,
    ),
    Field(
        "transaction_type",
        "Transaction Type",
        "choice",
        synonyms=("transaction type", "transaction type original premium etc", "transaction", "txn type", "type"),
        choices=TRANSACTION_TYPES,
        listed=STANDARD_TRANSACTION_TYPES,
        max_length=60,
    ),
    # The standard reports new business or renewal in a field of its own.
    Field(
        "business_type",
        "Type of Business",
        "choice",
        required=False,
        synonyms=("type of business", "new or renewal", "new renewal", "business type", "nb ren", "renewal indicator"),
        choices=BUSINESS_TYPES,
        listed=("New", "Renewal"),
        max_length=20,
    ),
    Field(
        "transaction_date",
        "Effective Date of Transaction",
        "date",
        required=False,
        synonyms=(
            "effective date of transaction",
            "transaction effective date",
            "transaction date",
            "date of transaction",
            "effective date of endorsement",
        ),
        fallback="inception_date",
    ),
)

CLAIM_FIELDS = (
    Field(
        "claim_reference",
        "Claim Reference",
        "text",
        synonyms=(
            "claim reference",
            "claim reference number",
            "claim ref",
            "claim no",
            "claim number",
            "claim id",
            "claim reference no",
        ),
    ),
    Field("umr", "UMR", "text", required=False, synonyms=("umr", "unique market reference", "binder umr")),
    Field(
        "certificate_ref",
        "Certificate Ref",
        "text",
        required=False,
        synonyms=(
            "certificate ref",
            "certificate reference",
            "certificate no",
            "policy number",
            "policy certificate ref",
            "policy certificate reference",
            "certificate policy reference",
        ),
    ),
    Field(
        "claim_status",
        "Claim Status",
        "choice",
        synonyms=("claim status", "status", "claim status open closed"),
        choices=CLAIM_STATUSES,
    ),
    Field("date_of_loss", "Date of Loss", "date", synonyms=("date of loss", "loss date", "dol", "date of loss from")),
    Field(
        "date_first_advised",
        "Date Claim First Advised",
        "date",
        required=False,
        synonyms=(
            "date claim first advised",
            "date first advised",
            "notification date",
            "date reported",
            "date claim first advised/date claim made",
        ),
    ),
    Field(
        "cause_of_loss",
        "Cause of Loss",
        "text",
        required=False,
        synonyms=("cause of loss", "cause of loss code", "loss cause", "peril", "loss description"),
    ),
    Field(
        "currency", "Original Currency", "currency", synonyms=("original currency", "currency", "claim currency", "ccy")
    ),
    Field(
        "paid_indemnity",
        "Paid this month - Indemnity",
        "amount",
        required=False,
        synonyms=("paid this month - indemnity", "paid this month indemnity", "paid indemnity", "indemnity paid"),
    ),
    Field(
        "paid_fees",
        "Paid this month - Fees",
        "amount",
        required=False,
        synonyms=("paid this month - fees", "paid this month fees", "paid fees", "fees paid"),
    ),
    Field(
        "previously_paid",
        "Previously Paid",
        "amount",
        required=False,
        synonyms=("previously paid", "total previously paid", "paid to date", "previously paid total"),
    ),
    Field(
        "reserve_indemnity",
        "Reserve - Indemnity",
        "amount",
        required=False,
        synonyms=("reserve - indemnity", "reserve indemnity", "outstanding indemnity", "indemnity reserve"),
    ),
    Field(
        "reserve_fees",
        "Reserve - Fees",
        "amount",
        required=False,
        synonyms=("reserve - fees", "reserve fees", "outstanding fees", "fees reserve"),
    ),
    Field(
        "total_incurred",
        "Total Incurred",
        "amount",
        synonyms=("total incurred", "incurred", "total incurred amount", "total incurred to date"),
    ),
)

# Colombian and other Latin American cedants often send Spanish headers.
SPANISH_SYNONYMS = {
    "umr": ("contrato", "numero de contrato"),
    "certificate_ref": ("certificado", "numero de certificado", "numero de poliza", "poliza"),
    "insured_name": ("asegurado", "nombre del asegurado", "tomador"),
    "inception_date": ("fecha de inicio", "inicio de vigencia", "fecha inicio vigencia"),
    "expiry_date": ("fecha de fin", "fin de vigencia", "fecha fin vigencia"),
    "country": ("pais", "pais del riesgo"),
    "currency": ("moneda", "moneda original"),
    "sum_insured": ("suma asegurada", "valor asegurado"),
    "gross_premium": ("prima bruta",),
    "commission_pct": ("comision %", "porcentaje de comision", "comision"),
    "total_taxes": ("impuestos", "total impuestos", "iva"),
    "net_premium": ("prima neta",),
    "class_of_business": ("ramo", "linea de negocio"),
    "transaction_type": ("tipo de movimiento", "movimiento", "tipo de transaccion"),
    "business_type": ("tipo de negocio", "nuevo o renovacion", "nuevo renovacion"),
    "transaction_date": ("fecha del movimiento", "fecha de efecto del movimiento", "fecha efectiva del movimiento"),
    "claim_reference": ("numero de siniestro", "referencia del siniestro", "siniestro"),
    "claim_status": ("estado del siniestro", "estado"),
    "date_of_loss": ("fecha de siniestro", "fecha de ocurrencia"),
    "date_first_advised": ("fecha de aviso", "fecha de notificacion"),
    "cause_of_loss": ("causa", "causa del siniestro"),
    "paid_indemnity": ("indemnizacion pagada", "pagado indemnizacion"),
    "paid_fees": ("gastos pagados", "honorarios pagados"),
    "previously_paid": ("pagado anteriormente", "pagos anteriores"),
    "reserve_indemnity": ("reserva indemnizacion", "reserva de indemnizacion"),
    "reserve_fees": ("reserva gastos", "reserva de gastos"),
    "total_incurred": ("total incurrido", "incurrido"),
}
RISK_FIELDS = tuple(replace(spec, synonyms=spec.synonyms + SPANISH_SYNONYMS.get(spec.name, ())) for spec in RISK_FIELDS)
CLAIM_FIELDS = tuple(
    replace(spec, synonyms=spec.synonyms + SPANISH_SYNONYMS.get(spec.name, ())) for spec in CLAIM_FIELDS
)

FIELDS = {Kind.RISK: RISK_FIELDS, Kind.CLAIMS: CLAIM_FIELDS}
NATURAL_KEYS = {
    # Two movements of one certificate in one period differ by their type or their effective date.
    Kind.RISK: ("umr", "certificate_ref", "transaction_type", "business_type", "transaction_date"),
    Kind.CLAIMS: ("claim_reference",),
}
