"""Helpers shared by several test modules: actors and claims brought to a status, threads released
together, bordereau files and imports, the navigation each role must see. Factories and builders of
single records stay in factories.py; fixtures in conftest.py. A test module never imports another."""

import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.models import Claim, ClaimStatus, ClaimTransition, RejectionReason
from portal.claims.services import claim_approve, claim_close, claim_mark_paid, claim_reject, claim_start_review
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import import_job_create

from .factories import file_claim, issue_policy

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
