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


TRANSACTION_TYPES = {
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

CLAIM_STATUSES = {
    "open": "Open",
    "opened": "Open",
    "new": "Open",
    "closed": "Closed",
    "close": "Closed",
    "reopened": "Reopened",
    "re-opened": "Reopened",
    "re opened": "Reopened",
    "denied": "Denied",
    "declined": "Denied",
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
        synonyms=("location of risk country", "risk country", "country", "country code", "country of risk"),
    ),
    Field(
        "currency",
        "Original Currency",
        "currency",
        synonyms=("original currency", "currency", "settlement currency", "ccy", "original ccy"),
    ),
    Field("sum_insured", "Sum Insured", "amount", synonyms=("sum insured", "total sum insured", "tsi", "limit")),
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
        ),
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
        synonyms=("total taxes", "taxes", "total tax", "tax", "ipt"),
    ),
    Field(
        "net_premium",
        "Net Premium",
        "amount",
        synonyms=("net premium", "final net premium", "net premium to underwriters", "nwp", "net written premium"),
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
        synonyms=("transaction type", "transaction", "txn type", "type"),
        choices=TRANSACTION_TYPES,
    ),
)

CLAIM_FIELDS = (
    Field(
        "claim_reference",
        "Claim Reference",
        "text",
        synonyms=("claim reference", "claim ref", "claim no", "claim number", "claim id"),
    ),
    Field("umr", "UMR", "text", required=False, synonyms=("umr", "unique market reference", "binder umr")),
    Field(
        "certificate_ref",
        "Certificate Ref",
        "text",
        required=False,
        synonyms=("certificate ref", "certificate reference", "certificate no", "policy number"),
    ),
    Field("claim_status", "Claim Status", "choice", synonyms=("claim status", "status"), choices=CLAIM_STATUSES),
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
    Field("cause_of_loss", "Cause of Loss", "text", required=False, synonyms=("cause of loss", "loss cause", "peril")),
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
        synonyms=("previously paid", "total previously paid", "paid to date"),
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
        "total_incurred", "Total Incurred", "amount", synonyms=("total incurred", "incurred", "total incurred amount")
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
    Kind.RISK: ("umr", "certificate_ref", "transaction_type"),
    Kind.CLAIMS: ("claim_reference",),
}
