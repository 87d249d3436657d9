"""The transactional outbox.

A service that changes something an outside system must learn (a policy issued, a payment received)
writes an `OutboxMessage` in its own transaction: the change and the message commit together or not
at all. The message holds the event in Amparo's vocabulary (policy number, version, status,
amounts); the adapter of each destination translates it into that system's protocol when it is
delivered, so nothing below `portal.integrations` knows any outside protocol.

Messages of one aggregate (a policy, a loan) for one destination are numbered 1, 2, 3... in commit
order (`OutboxAggregate` is the counter; its row lock is held until the writer commits), and are
delivered in that order, one at a time.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EventType(models.TextChoices):
    POLICY_ISSUED = "policy.issued", _("Policy issued")
    POLICY_RENEWED = "policy.renewed", _("Policy renewed")
    POLICY_ENDORSED = "policy.endorsed", _("Policy endorsed")
    POLICY_CANCELLED = "policy.cancelled", _("Policy cancelled")
    POLICY_REINSTATED = "policy.reinstated", _("Policy reinstated")
    POLICY_STATUS_CHANGED = "policy.status_changed", _("Policy status changed")
    PAYMENT_RECEIVED = "payment.received", _("Premium payment received")
    PAYOUT_PAID = "payout.paid", _("Claim payout paid")
    # Written by the loans domain when it exists (a disbursement to the customer); the adapter is ready.
    LOAN_DISBURSED = "loan.disbursed", _("Loan disbursed")


class AggregateType(models.TextChoices):
    POLICY = "policy", _("Policy")
    LOAN = "loan", _("Loan")


class MessageState(models.TextChoices):
    PENDING = "PENDING", pgettext_lazy("outbox message state", "Pending")
    SENT = "SENT", pgettext_lazy("outbox message state", "Sent, awaiting answer")
    ACKED = "ACKED", pgettext_lazy("outbox message state", "Acknowledged")
    DEAD = "DEAD", pgettext_lazy("outbox message state", "Dead")
    SKIPPED = "SKIPPED", pgettext_lazy("outbox message state", "Skipped")


class OutboxMessage(models.Model):
    """One event for one destination: PENDING → SENT → ACKED, or DEAD after too many failed attempts
    (a person then retries or skips it). A message is delivered only when every earlier message of
    its aggregate and destination is ACKED or SKIPPED, so a DEAD one holds the later ones back."""

    State = MessageState
    # States after which a message no longer holds back the later messages of its aggregate.
    FINISHED = (MessageState.ACKED, MessageState.SKIPPED)
    # States the relay may still deliver.
    OPEN = (MessageState.PENDING, MessageState.SENT)

    destination = models.CharField(_("destination"), max_length=20)
    event_type = models.CharField(_("event"), max_length=32, choices=EventType.choices)
    aggregate_type = models.CharField(_("aggregate type"), max_length=12, choices=AggregateType.choices)
    aggregate_id = models.CharField(_("aggregate"), max_length=64, help_text=_("The policy or loan number."))
    sequence = models.PositiveIntegerField(_("sequence"))
    # Sent with every try of this message, so a retry after a lost answer never does the work twice.
    idempotency_key = models.UUIDField(_("idempotency key"), default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField(_("event"), default=dict)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # While SENT: the relay worker holding it and until when; past it another worker may send it again.
    claimed_by = models.CharField(_("relay worker"), max_length=80, blank=True)
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    external_id = models.CharField(_("reference in the destination"), max_length=64, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    correlation_id = models.CharField(_("correlation id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    acked_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        permissions = [("resolve_outboxmessage", _("Can retry or skip a dead outbox message"))]
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "aggregate_type", "aggregate_id", "sequence"],
                name="outbox_sequence_per_aggregate",
            ),
            models.CheckConstraint(condition=Q(state__in=MessageState.values), name="outbox_state_valid"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="outbox_sequence_from_one"),
            models.CheckConstraint(
                condition=~Q(state=MessageState.SENT) | Q(lease_until__isnull=False),
                name="outbox_sent_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(state=MessageState.ACKED) | Q(acked_at__isnull=False),
                name="outbox_acked_has_time",
            ),
        ]
        indexes = [
            # The relay's scan: the open messages of a destination, oldest first.
            models.Index(
                fields=["destination", "id"],
                name="outbox_open_idx",
                condition=Q(state__in=["PENDING", "SENT"]),
            ),
            models.Index(fields=["state", "-created_at"], name="outbox_state_created_idx"),
            models.Index(fields=["aggregate_id"], name="outbox_aggregate_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.destination} {self.aggregate_id} #{self.sequence} {self.event_type}"

    @property
    def is_finished(self):
        return self.state in self.FINISHED


class OutboxAggregate(models.Model):
    """The last sequence number given to an aggregate's messages for a destination. Writers take it
    with one upsert whose row lock lasts until they commit, so sequence order is commit order."""

    destination = models.CharField(_("destination"), max_length=20)
    aggregate_type = models.CharField(_("aggregate type"), max_length=12, choices=AggregateType.choices)
    aggregate_id = models.CharField(_("aggregate"), max_length=64)
    last_sequence = models.PositiveIntegerField(_("last sequence"), default=0)

    class Meta:
        verbose_name = _("outbox aggregate")
        verbose_name_plural = _("outbox aggregates")
        constraints = [
            models.UniqueConstraint(
                fields=["destination", "aggregate_type", "aggregate_id"], name="outbox_aggregate_unique"
            )
        ]

    def __str__(self):
        return f"{self.destination} {self.aggregate_id}: {self.last_sequence}"
