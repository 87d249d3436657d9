"""Receipts: each emailed once, with its PDF, by the worker."""

from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record

from ..documents import receipt_email
from ..models import (
    Receipt,
)


def receipt_deliver(*, receipt_id):
    """Email a receipt with its PDF, once: the row is locked while it is sent and marked sent in the same
    transaction, so a second run (a retry, a second worker) finds it sent. Returns True when sent now."""
    with transaction.atomic():
        receipt = (
            Receipt.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("payment__account__customer__agent", "payment__recorded_by")
            .filter(pk=receipt_id, sent_at__isnull=True)
            .exclude(email="")
            .first()
        )
        if receipt is None:
            return False
        receipt_email(receipt=receipt).send()
        receipt.sent_at = timezone.now()
        receipt.save(update_fields=["sent_at"])
        audit_record(
            actor=None,
            actor_label="scheduler",
            action="payment.receipt_sent",
            target=receipt.payment,
            metadata={"receipt": receipt.number, "to": receipt.email},
        )
    return True
