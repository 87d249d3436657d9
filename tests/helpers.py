"""Helpers shared by several test modules: health checks' unreachable queue, threads released together,
actors and claims brought to a status, payments started at the local Wompi, loans brought along their
tasks, bordereau files and imports, what the bordereau pages are sent and answer, the navigation each
role must see. Factories and builders of single records stay in factories.py; fixtures in conftest.py.
A test module never imports another."""

import csv
import io
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.models import Claim, ClaimStatus, ClaimTransition, RejectionReason
from portal.claims.services import claim_approve, claim_close, claim_mark_paid, claim_reject, claim_start_review
from portal.core.storage import private_storage
from portal.gateways.services import online_payment_start
from portal.ingestion.fields import FIELDS, Kind
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import import_job_create
from portal.ingestion.sources.services import source_connection_load, sync_run_start
from portal.ingestion.sources.sync import sync_run_execute
from portal.loans import services as loan_services
from portal.loans.models import Loan
from portal.reports.catalogue import REPORTS, parameters_clean

from .bureau_server import running_bureau
from .factories import UserFactory, file_claim, issue_policy
from .wompi_server import APPROVING_NEQUI

# --- health --------------------------------------------------------------------------------------------------------

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


# --- threads ------------------------------------------------------------------------------------------------------


def run_together(work, arguments):
    """Run `work(argument)` in one thread per argument, all released at once; return (results, errors)."""
    barrier = threading.Barrier(len(arguments))
    results, errors = [], []
    lock = threading.Lock()

    def run(argument):
        try:
            barrier.wait(timeout=30)
            result = work(argument)
            with lock:
                results.append(result)
        except Exception as error:  # every failure is collected and asserted on by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return results, errors


# --- claims -------------------------------------------------------------------------------------------------------

CLAIMED = Decimal("5000000.00")


@dataclass
class Payout:
    """What the payments app hands over when a payout is confirmed (its model is not ours)."""

    reference: str
    pk: int = 1


@dataclass
class People:
    filer: object
    reviewer: object
    decider: object
    payer: object


def claim_in(status, people, *, policy=None, amount=CLAIMED):
    """A claim brought to `status` through the real services, by people other than the one acting next
    (CLOSED is closed after payment)."""
    claim = file_claim(policy=policy or issue_policy(actor=people.filer), actor=people.filer, claimed_amount=amount)
    if status == ClaimStatus.PENDING:
        return claim
    claim = claim_start_review(claim=claim, actor=people.reviewer)
    if status == ClaimStatus.UNDER_REVIEW:
        return claim
    if status == ClaimStatus.REJECTED:
        return claim_reject(
            claim=claim, actor=people.decider, reason=RejectionReason.objects.first(), note="No cubierto"
        )
    claim = claim_approve(claim=claim, actor=people.decider, amount=amount, note="Peritaje conforme")
    if status == ClaimStatus.APPROVED:
        return claim
    claim = claim_mark_paid(claim=claim, actor=people.payer, payout=Payout(reference="TRF-0001"))
    if status == ClaimStatus.PAID:
        return claim
    return claim_close(claim=claim, actor=people.decider)


def footprint(claim):
    """Everything a refused move must leave as it was."""
    return (
        Claim.objects.filter(pk=claim.pk).values().get(),
        ClaimTransition.objects.filter(claim=claim).count(),
        AuditEvent.objects.count(),
    )


# --- payments -----------------------------------------------------------------------------------------------------


def nequi_payment_started(customer, actor, amount="45000", *, phone=APPROVING_NEQUI):
    """A Nequi payment sent to Wompi (the local server), from a number it approves unless told; still pending."""
    return online_payment_start(
        customer=customer,
        amount=Decimal(amount),
        currency="COP",
        method="NEQUI",
        method_details={"phone_number": phone},
        actor=actor,
    )


# --- claim documents --------------------------------------------------------------------------------------------

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


def document_upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_claim_files(client, claim, *files, htmx=False):
    url = reverse("claims:document_upload", args=[claim.pk])
    return client.post(url, {"files": list(files)}, headers=HTMX if htmx else {})


# --- loans --------------------------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="cedula.pdf"):
    """A small valid PDF upload, as a scanned ID would come."""
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def fresh(loan):
    """The loan as stored now, with its current task."""
    return Loan.objects.select_related("current_task").get(pk=loan.pk)


def kyc_done(loan, agent):
    """The loan past its KYC task, done by `agent`."""
    loan_services.loan_task_start(loan=loan, actor=agent)
    loan_services.loan_document_add(loan=loan, upload=pdf(), actor=agent)
    return loan_services.loan_act(loan=loan, action="kyc_pass", actor=agent)


def checked(loan, settings, *, score=720):
    """The loan past its credit check, run against a local bureau answering `score`."""
    with running_bureau(settings, default_score=score):
        loan_services.loan_credit_check_run(task_id=fresh(loan).current_task_id)
    return fresh(loan)


def approved(loan, settings):
    """The loan through KYC, credit check and an administrator's approval."""
    agent = loan.customer.agent
    kyc_done(loan, agent)
    checked(loan, settings)
    loan_services.loan_act(loan=loan, action="approve", actor=UserFactory(role=Role.ADMIN))
    return fresh(loan)


# --- bordereau files and imports ----------------------------------------------------------------------------------

PERIOD = date(2026, 10, 1)

RISK_COLUMNS = {
    "umr": "UMR",
    "cert": "Certificate Ref",
    "insured": "Insured Full Name or Company Name",
    "inception": "Risk Inception Date",
    "expiry": "Risk Expiry Date",
    "country": "Location of Risk Country",
    "currency": "Original Currency",
    "sum": "Sum Insured",
    "gross": "Gross Premium",
    "comm": "Commission %",
    "taxes": "Total Taxes",
    "net": "Net Premium",
    "cob": "Class of Business",
    "txn": "Transaction Type",
}
CLAIM_COLUMNS = {
    "ref": "Claim Reference",
    "umr": "UMR",
    "cert": "Certificate Ref",
    "status": "Claim Status",
    "loss": "Date of Loss",
    "advised": "Date Claim First Advised",
    "cause": "Cause of Loss",
    "currency": "Original Currency",
    "paid_ind": "Paid this month - Indemnity",
    "paid_fees": "Paid this month - Fees",
    "prev": "Previously Paid",
    "res_ind": "Reserve - Indemnity",
    "res_fees": "Reserve - Fees",
    "incurred": "Total Incurred",
}


def claim_values(number, **changes):
    """The cells of one clean claims bordereau row, by short name, in the order of CLAIM_COLUMNS."""
    values = {
        "ref": f"CLM-{number:04d}",
        "umr": "B0999ABC2026",
        "cert": f"CERT-{number:04d}",
        "status": "Open",
        "loss": "15/08/2026",
        "advised": "20/08/2026",
        "cause": "Fire",
        "currency": "USD",
        "paid_ind": "1000.00",
        "paid_fees": "100.00",
        "prev": "500.00",
        "res_ind": "2000.00",
        "res_fees": "200.00",
        "incurred": "3800.00",
    }
    values.update(changes)
    return values


def _cell(text, delimiter):
    if any(char in text for char in (delimiter, '"', "\n", "\r")):
        return '"' + text.replace('"', '""') + '"'
    return text


def as_csv(rows, *, columns=RISK_COLUMNS, headers=None, delimiter=",", before=""):
    """CSV bytes: optional lines before the header, the header (our labels unless given), the rows."""
    headers = headers or list(columns.values())
    lines = [delimiter.join(_cell(h, delimiter) for h in headers)]
    lines += [delimiter.join(_cell(row[key], delimiter) for key in columns) for row in rows]
    return (before + "\r\n".join(lines) + "\r\n").encode("utf-8")


def upload(source, content, *, kind="risk", period=PERIOD, name="bordereau.csv", actor=None):
    return import_job_create(
        actor=actor,
        source=source,
        kind=kind,
        period=period,
        upload=SimpleUploadedFile(name, content),
        original_name=name,
        enqueue=False,
    )


def run_import(job):
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def import_file(source, content, **options):
    return run_import(upload(source, content, **options))


def errors_of(job):
    return list(job.row_errors.order_by("row_number", "id").values_list("row_number", "column", "message"))


# --- the bordereau pages ------------------------------------------------------------------------------------------

HTMX = {"HX-Request": "true"}

RISK_LABELS = [spec.label for spec in FIELDS[Kind.RISK]]
CURRENCIES = ["COP", "USD", "EUR"]
CLASSES = ["Property", "Marine", "Casualty"]
HYPERLINK = '=HYPERLINK("http://evil.example/steal","Click me")'


def signed_in(client, user):
    client.force_login(user)
    return client


def stored_files(root):
    """Every file under `root`, or none when it was never created."""
    return [path for path in Path(root).rglob("*") if path.is_file()] if Path(root).exists() else []


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def xlsx_workbook(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def read_xlsx(response):
    workbook = xlsx_workbook(response)
    return [["" if value is None else value for value in row] for row in workbook.active.iter_rows(values_only=True)]


def es_amount(value):
    """1234567.8 -> '1.234.567,80' (the way Colombian cedants write amounts)."""
    return f"{Decimal(value):,.2f}".translate(str.maketrans(",.", ".,"))


def risk_row(number, **overrides):
    """A valid risk row (by label); overrides replace cells by our field name."""
    gross = Decimal(1000 + number)
    values = {
        "umr": "B0750RE26",
        "certificate_ref": f"CERT-{number:05d}",
        "insured_name": f"Asegurado {number} S.A.S.",
        "inception_date": "15/10/2026",
        "expiry_date": "14/10/2027",
        "country": "CO",
        "currency": CURRENCIES[number % 3],
        "sum_insured": es_amount(1_000_000 + number * 1000),
        "gross_premium": es_amount(gross),
        "commission_pct": "10",
        "total_taxes": es_amount(50),
        "net_premium": es_amount(gross * Decimal("0.9") - 50),
        "class_of_business": CLASSES[number % 3],
        "transaction_type": "New",
        "business_type": "",
        "transaction_date": "",
    }
    values.update(overrides)
    return [values[spec.name] for spec in FIELDS[Kind.RISK]]


def risk_file(rows, *, headers=RISK_LABELS, title="Bordereau de riesgos - Reaseguros Andinos - octubre 2026"):
    """A messy-but-readable risk bordereau: ';' delimiter, comma decimals, a title row and a totals row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([title])
    writer.writerow(headers)
    writer.writerows(rows)
    writer.writerow(["Total", "", "", "", "", "", "", "", "", "", "", "", "", ""])
    return buffer.getvalue().encode("utf-8")


def valid_rows(count, start=0):
    return [risk_row(number) for number in range(start, start + count)]


# Data rows start on line 3 (title on 1, header on 2): row index i is line i + 3.
BAD_ROWS = {
    5: (risk_row(5, inception_date="31/02/2026"), "Risk Inception Date", "31/02/2026", "Not a date in the format"),
    6: (risk_row(6, currency="ZZZ"), "Original Currency", "ZZZ", "Not an ISO 4217 currency code"),
    7: (
        risk_row(0),
        "UMR + Certificate Ref + Transaction Type + Type of Business + Effective Date of Transaction",
        "B0750RE26 / CERT-00000 / Original Premium / New / 2026-10-15",  # no effective date: the inception's
        "Same key as row 3",
    ),
    8: (
        risk_row(8, gross_premium="1.000,00", net_premium="999,99"),
        "Net Premium",
        "999.99",
        "Should be gross - commission - taxes = 850.00",
    ),
    9: (risk_row(9, currency=HYPERLINK), "Original Currency", HYPERLINK, "Not an ISO 4217 currency code"),
    10: (risk_row(10, sum_insured="-5,00"), "Sum Insured", "-5,00", "Must not be negative"),
}


def file_with_errors():
    """12 data rows: 6 good ones, 6 rejected (bad date, currency, duplicate key, net premium, formula, negative)."""
    rows = [BAD_ROWS[index][0] if index in BAD_ROWS else risk_row(index) for index in range(12)]
    return risk_file(rows)


def as_upload(content, name="bordereau-2026-10.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


UNUSUAL_HEADERS = [
    "UMR",
    "Nro. Cert.",
    "Cliente",
    "Desde",
    "Hasta",
    "Location of Risk Country",
    "Original Currency",
    "Sum Insured",
    "Gross Premium",
    "Commission %",
    "Total Taxes",
    "Net Premium",
    "Class of Business",
    "Transaction Type",
]
UNUSUAL_MAPPING = {
    "certificate_ref": "Nro. Cert.",
    "insured_name": "Cliente",
    "inception_date": "Desde",
    "expiry_date": "Hasta",
}


def full_mapping(job, **changes):
    """The mapping form's POST data: every recognised column plus UNUSUAL_MAPPING, then `changes`."""
    headers = job.layout["headers"]
    data = {name: headers[position] for name, position in job.layout["columns"].items()}
    data.update(UNUSUAL_MAPPING)
    data.update(changes)
    return {spec.name: data.get(spec.name, "") for spec in FIELDS[job.kind]}


# --- navigation ---------------------------------------------------------------------------------------------------

# The navigation's entries in the bar's order: Dashboard, Sales, Claims, Money, Reinsurance, Oversight,
# Administration (portal/dashboard/navigation.py).
SALES_NAV = ["customers:customer_list", "policies:quote_list", "policies:policy_list", "policies:renewal_queue"]
BOOK_NAV = [*SALES_NAV, "claims:claim_list", "loans:loan_list", "payments:payment_list"]
OVERSIGHT_NAV = [
    "payments:payout_list",
    "gateways:reconciliation",
    "ingestion:job_list",
    "ingestion:source_list",
]
EXPECTED_NAV = {
    Role.ADMIN: [
        "dashboard:dashboard",
        *BOOK_NAV,
        *OVERSIGHT_NAV,
        "reports:catalogue",
        "audit:log",
        "accounts:user_list",
        "integrations:outbox",
        "admin:index",
    ],
    Role.SUPERVISOR: ["dashboard:dashboard", *BOOK_NAV, "reports:catalogue", "accounts:user_list"],
    Role.AGENT: ["dashboard:dashboard", *BOOK_NAV, "reports:catalogue"],
    Role.FINANCE: ["dashboard:dashboard", *BOOK_NAV, *OVERSIGHT_NAV, "reports:catalogue"],
    Role.INTERVENTORIA: [
        "dashboard:dashboard",
        *BOOK_NAV,
        *OVERSIGHT_NAV,
        "reports:catalogue",
        "audit:log",
        "accounts:user_list",
        "integrations:outbox",
    ],
}


# --- a child process on the test database ----------------------------------------------------------------------


def url_of_the_test_database():
    """The URL of the database this test runs on (pytest-django's test database)."""
    settings = connection.settings_dict
    user = quote(settings["USER"] or "", safe="")
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    host = settings["HOST"] or "localhost"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{settings['NAME']}"


def disbursed(loan, settings):
    """The loan approved, its disbursement prepared by one finance user and confirmed by another."""
    loan = approved(loan, settings)
    loan_services.loan_act(
        loan=loan, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="B"
    )
    loan_services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))
    return fresh(loan)


def private_file(folder, stored_name):
    """Where private storage keeps a stored file on local disk: AMPARO_PRIVATE_ROOT/<folder>/<ab>/<name>."""
    return Path(private_storage(folder).path(f"{stored_name[:2]}/{stored_name}"))


# Text that a CSV or XLSX writer must carry unchanged or neutralise: formulas, quotes, line ends, XML
# markup, control characters, backslashes and escapes that look like the format's own.
TRICKY_TEXTS = [
    '=HYPERLINK("http://x")',
    "+57 300",
    "-1",
    "@SUM(A1)",
    "\tTab",
    "\rReturn",
    'a,"b"\nc',
    "line\r\nbreak",
    "back\\slash \\n \\\\",
    "tab\tinside",
    "Ana & <Luis> \"quoted\" 'single'",
    "bell\x07 escape\x1b form\x0c unit\x1f vt\x0b one\x01 two\x02",
    "emoji 🚗💥 ñandú, Bogotá",
    "",
    "]]> </t></is></c></row>",
    "_x0041_ literal",
    "'already",
    ' "quoted',
]


def sql(query, params=()):
    """The rows of a raw SQL query: the tests' own reading of the figures a report should give."""
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def report_rows(name, user, **raw):
    """(report, its rows) for `user` with the raw parameters `raw`; checks that the count the source
    gives, the query PostgreSQL would COPY as the file and each row's width agree with the rows."""
    report = REPORTS[name]
    values, _stored = parameters_clean(report, raw, user=user)
    data = report.source(user, values)
    rows = list(data.rows)
    assert data.total in (None, len(rows))
    if data.query is not None:
        # PostgreSQL COPYs the query as the file: it must select the report's columns, in order.
        assert [tuple(row) for row in data.query] == rows
    assert all(len(row) == len(report.columns) for row in rows)
    return report, rows


def report_column(report, rows, key):
    index = report.column_index(key)
    return [row[index] for row in rows]


def audit_extract_since_2000(user):
    """The audit extract report and its data over the whole audit table, whatever today's date."""
    report = REPORTS["audit_extract"]
    values, _stored = parameters_clean(report, {}, user=user)
    values["from"] = date(2000, 1, 1)
    return report, report.source(user, values)


class Sleeps(list):
    """A `sleep` for the pull that waits for nothing and keeps what it was asked to wait."""

    def __call__(self, seconds):
        self.append(seconds)


def pull(server, sleeps=None, **spec):
    """One sync run of the local cedant `server`'s spec (with `spec`'s overrides), run here to its end."""
    connection = source_connection_load(actor=None, spec=server.spec(**spec))
    run = sync_run_start(actor=None, connection=connection, enqueue=False)
    return sync_run_execute(run_id=run.pk, sleep=sleeps if sleeps is not None else Sleeps())
