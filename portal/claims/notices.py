"""What the customer is emailed when their claim is filed or moves: what happened, in their words."""

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from portal.core.tasks import enqueue_on_commit
from portal.notifications.services import email_queue
from portal.policies.documents import COMPANY, CUSTOMER_LANGUAGE

from .models import ClaimTransition
from .workflow import customer_words


def claim_status_email(*, entry, language=CUSTOMER_LANGUAGE):
    """The email telling the customer about one move of their claim (a ClaimTransition with its claim,
    policy, customer and agent read), for `notifications.services.email_queue(**message)`."""
    claim = entry.claim
    customer = claim.customer
    with translation.override(language):
        words = customer_words(entry, claim.currency)
        subject = _("Your claim %(number)s: %(status)s") % {
            "number": claim.number,
            "status": entry.get_to_status_display().lower(),
        }
        body = render_to_string(
            "claims/emails/status_changed.txt",
            {"claim": claim, "customer": customer, "agent": customer.agent, "words": words, "company": COMPANY},
        )
    return {"to": [customer.email_primary], "subject": subject, "body": body}


def customers_tell(transition_ids):
    """Email each customer what happened to their claim, from the worker once the moves commit."""
    enqueue_on_commit("portal.claims.tasks.claim_status_emails_send_task", transition_ids=list(transition_ids))


def claim_status_emails_send(*, transition_ids):
    """Queue the email of each of these claim moves to its customer (one message each, so a failed one is
    retried alone); customers without an email address are skipped. How many were queued."""
    entries = (
        ClaimTransition.objects.filter(pk__in=transition_ids)
        .exclude(claim__customer__email_primary="")
        .select_related("claim__policy", "claim__customer__agent", "rejection_reason")
        .order_by("pk")
    )
    queued = 0
    for entry in entries.iterator(chunk_size=500):
        email_queue(**claim_status_email(entry=entry), after_commit=False)
        queued += 1
    return queued
