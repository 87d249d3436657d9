"""The loan's documents for the customer: its repayment schedule and its statement (what was paid, what
is owed), as PDF in the customer's language, laid out like the premium statement (WeasyPrint)."""

from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import HTML

from portal.policies.documents import (
    COMPANY,
    CUSTOMER_LANGUAGE,
    LOGO,
    STATIC_DIR,
    LocalStaticFetcher,
    page_counter_css,
)

from . import amortization
from .selectors import loan_outstanding, loan_repayments, loan_schedule

SCHEDULE, STATEMENT = "schedule", "statement"


def loan_pdf(*, loan, kind, language=CUSTOMER_LANGUAGE):
    """The schedule (`SCHEDULE`) or the statement (`STATEMENT`) of `loan` as PDF bytes."""
    rows = list(loan_schedule(loan)) or amortization.schedule(loan.principal, loan.annual_rate_pct, loan.tenure_months)
    with translation.override(language):
        html = render_to_string(
            "loans/loan_document.html",
            {
                "loan": loan,
                "customer": loan.customer,
                "kind": kind,
                "schedule": rows,
                "total_interest": sum(row.interest for row in rows),
                "repayments": loan_repayments(loan) if kind == STATEMENT else [],
                "outstanding": loan_outstanding(loan) if loan.disbursed_on else None,
                "issued_on": timezone.localdate(),
                "language": translation.get_language(),
                "company": COMPANY,
                "logo_url": LOGO,
                "page_counter": page_counter_css(),
            },
        )
    return HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=LocalStaticFetcher()).write_pdf()


def loan_pdf_filename(loan, kind):
    return f"{loan.number}-{kind}.pdf"
