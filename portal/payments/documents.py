"""What the customer receives about their payments: the receipt (PDF, by email), the account
statement (PDF) and the overdue reminder email, in the customer's language like the policy documents."""

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from weasyprint import HTML

from portal.policies.documents import (
    COMPANY,
    CUSTOMER_LANGUAGE,
    LOGO,
    STATIC_DIR,
    LocalStaticFetcher,
    page_counter_css,
)

from .models import InstalmentReminder
from .selectors import account_statement, allocations_of, lapse_grace_days


def _pdf(template, context):
    html = render_to_string(
        template,
        {
            **context,
            "language": translation.get_language(),
            "company": COMPANY,
            "logo_url": LOGO,
            "page_counter": page_counter_css(),
        },
    )
    return HTML(string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=LocalStaticFetcher()).write_pdf()


def _receipt_context(receipt):
    payment = receipt.payment
    allocations = list(allocations_of(payment))
    return {
        "receipt": receipt,
        "payment": payment,
        "customer": payment.account.customer,
        "allocations": allocations,
        "credit_left": payment.amount - sum(allocation.amount for allocation in allocations),
    }


def receipt_pdf(*, receipt, language=CUSTOMER_LANGUAGE):
    with translation.override(language):
        return _pdf("payments/receipt_document.html", _receipt_context(receipt))


def receipt_filename(receipt):
    return f"{receipt.number}.pdf"


def receipt_email(*, receipt, language=CUSTOMER_LANGUAGE):
    """The receipt email with its PDF attached, ready to send."""
    context = {**_receipt_context(receipt), "company": COMPANY}
    with translation.override(language):
        subject = _("Your payment receipt %(number)s") % {"number": receipt.number}
        body = render_to_string("payments/emails/receipt.txt", context)
        html = render_to_string("payments/emails/receipt.html", {**context, "language": translation.get_language()})
        pdf = receipt_pdf(receipt=receipt, language=language)
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[receipt.email]
    )
    message.attach_alternative(html, "text/html")
    message.attach(receipt_filename(receipt), pdf, "application/pdf")
    return message


def statement_pdf(*, account, start, end, language=CUSTOMER_LANGUAGE):
    """The account statement between `start` and `end` as PDF bytes, in `language`."""
    with translation.override(language):
        statement = account_statement(account, start, end)
        return _pdf(
            "payments/statement_document.html",
            {"statement": statement, "customer": account.customer, "issued_on": timezone.localdate()},
        )


def statement_filename(account, start, end):
    return f"statement-{account.customer.id_number}-{account.currency}-{start.isoformat()}-{end.isoformat()}.pdf"


def overdue_reminder_email(*, instalment, stage, today=None, language=CUSTOMER_LANGUAGE):
    """The reminder that an instalment is overdue, for `tasks.notifications.email_message_send(**message)`."""
    today = today or timezone.localdate()
    customer = instalment.account.customer
    context = {
        "instalment": instalment,
        "policy": instalment.policy,
        "customer": customer,
        "agent": customer.agent,
        "days_overdue": (today - instalment.due_date).days,
        "outstanding": instalment.outstanding,
        "company": COMPANY,
        "final": stage == InstalmentReminder.Stage.DAYS_15,
        "lapses_on": instalment.due_date + timedelta(days=lapse_grace_days() + 1),
    }
    with translation.override(language):
        context["language"] = translation.get_language()
        due = date_format(instalment.due_date, "DATE_FORMAT")
        if context["final"]:
            subject = _("Second notice: the instalment of policy %(number)s due on %(day)s is unpaid") % {
                "number": instalment.policy.number,
                "day": due,
            }
        else:
            subject = _("The instalment of your policy %(number)s was due on %(day)s") % {
                "number": instalment.policy.number,
                "day": due,
            }
        body = render_to_string("payments/emails/overdue_reminder.txt", context)
        html = render_to_string("payments/emails/overdue_reminder.html", context)
    return {"to": [customer.email_primary], "subject": subject, "body": body, "html": html}
