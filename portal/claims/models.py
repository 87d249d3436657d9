import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.models import AppendOnlyModel, PrivateDocument
from portal.policies.models import CURRENCIES


class ClaimStatus(models.TextChoices):
    PENDING = "PENDING", pgettext_lazy("claim status", "Pending")
    UNDER_REVIEW = "UNDER_REVIEW", pgettext_lazy("claim status", "Under review")
    APPROVED = "APPROVED", pgettext_lazy("claim status", "Approved")
    REJECTED = "REJECTED", pgettext_lazy("claim status", "Rejected")
    PAID = "PAID", pgettext_lazy("claim status", "Paid")
    CLOSED = "CLOSED", pgettext_lazy("claim status", "Closed")


class RejectionReason(models.Model):
    """The configurable list of reasons a claim may be rejected for (managed in the Django admin)."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=120)
    is_active = models.BooleanField(_("in use"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")

    def __str__(self):
        # `label` is the user's language's text (portal/claims/translation.py), the other one when it is empty.
        return self.label


class ApprovalAuthority(models.Model):
    """How much one person may approve on a single claim, per currency. No row means no authority."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="approval_limits"
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    limit = models.DecimalField(_("approval limit"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("approval authority")
        verbose_name_plural = _("approval authorities")
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="approval_authority_per_currency"),
            models.CheckConstraint(condition=Q(limit__gte=0), name="approval_authority_limit_positive"),
        ]

    def __str__(self):
        return f"{self.user} · {self.currency} {self.limit}"


class Claim(models.Model):
    """A claim (siniestro) against one policy version.

    Indexed only for what the work queue, the cover check and the timeline read: every extra index
    is paid on each status change of a million-row table. The foreign keys to people and reasons
    carry none, since users and reasons are never deleted, only suspended or taken off the list.
    """

    Status = ClaimStatus
    OPEN = (ClaimStatus.PENDING, ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED)
    # What counts against a coverage's limit in its policy term.
    CONSUMING = (ClaimStatus.APPROVED, ClaimStatus.PAID)

    number = models.CharField(_("claim number"), max_length=30, unique=True)
    policy = models.ForeignKey(
        "policies.Policy", verbose_name=_("policy"), on_delete=models.PROTECT, db_index=False, related_name="claims"
    )
    policy_version = models.ForeignKey(
        "policies.PolicyVersion",
        verbose_name=_("policy version in force"),
        on_delete=models.PROTECT,
        db_index=False,
        related_name="+",
    )
    # The policy's customer, kept on the claim so the work queue scopes and filters without a join.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        db_index=False,
        related_name="claims",
    )
    coverage_code = models.SlugField(_("coverage"), max_length=20, db_index=False)
    coverage_name = models.CharField(_("coverage name"), max_length=120)
    loss_date = models.DateField(_("date of loss"))
    description = models.TextField(_("what happened"))
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    claimed_amount = models.DecimalField(_("amount claimed"), max_digits=16, decimal_places=2)
    approved_amount = models.DecimalField(_("amount approved"), max_digits=16, decimal_places=2, null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    # Bumped by every transition: a form that saw revision N is refused once the claim has moved on.
    revision = models.PositiveIntegerField(_("revision"), default=1)
    rejection_reason = models.ForeignKey(
        RejectionReason,
        verbose_name=_("rejection reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("filed by"), on_delete=models.PROTECT, db_index=False, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("filed at"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ClaimStatus.values), name="claim_status_valid"),
            models.CheckConstraint(condition=Q(claimed_amount__gt=0), name="claim_claimed_amount_positive"),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gt=0), name="claim_approved_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ClaimStatus.APPROVED, ClaimStatus.PAID]) | Q(approved_amount__isnull=False),
                name="claim_approved_has_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status=ClaimStatus.REJECTED) | Q(rejection_reason__isnull=False),
                name="claim_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("filed_by")),
                name="claim_decider_is_not_filer",
            ),
        ]
        indexes = [
            # The work queue: a status filter, oldest or newest first.
            models.Index(fields=["status", "created_at"], name="claim_status_created_idx"),
            models.Index(fields=["-created_at"], name="claim_created_idx"),
            models.Index(fields=["customer", "created_at"], name="claim_customer_created_idx"),
            models.Index(fields=["assignee", "status"], name="claim_assignee_status_idx"),
            models.Index(fields=["policy", "coverage_code", "status"], name="claim_policy_coverage_idx"),
            models.Index(fields=["loss_date"], name="claim_loss_date_idx"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.status in self.OPEN


class ClaimTransition(AppendOnlyModel):
    """One recorded move of a claim's status: who, when, from, to, and why. Append-only."""

    claim = models.ForeignKey(
        Claim, verbose_name=_("claim"), on_delete=models.PROTECT, db_index=False, related_name="transitions"
    )
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(_("from"), max_length=12, choices=ClaimStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=ClaimStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2, null=True, blank=True)
    rejection_reason = models.ForeignKey(
        RejectionReason,
        verbose_name=_("rejection reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    refusal = "Claim transitions are append-only"

    class Meta:
        ordering = ["claim", "created_at", "id"]
        verbose_name = _("claim transition")
        verbose_name_plural = _("claim transitions")
        indexes = [
            models.Index(fields=["claim", "created_at"], name="claim_transition_claim_idx"),
            # The dashboard's "approved this month" reads one action's moves in a period, not the table.
            models.Index(fields=["action", "created_at"], name="claim_transition_action_idx"),
        ]

    def __str__(self):
        return f"{self.claim_id}: {self.from_status or '∅'} → {self.to_status}"


class ClaimDocument(PrivateDocument):
    """A photo or PDF attached to a claim, stored under a random name outside every public URL."""

    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.PROTECT, related_name="documents")

    class Meta:
        ordering = ["claim", "uploaded_at", "id"]
        verbose_name = _("claim document")
        verbose_name_plural = _("claim documents")


class BulkTransitionJob(models.Model):
    """One bulk action over many claims; large ones run in a huey task and report progress here."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", pgettext_lazy("bulk job status", "Queued")
        RUNNING = "RUNNING", pgettext_lazy("bulk job status", "Running")
        FINISHED = "FINISHED", pgettext_lazy("bulk job status", "Finished")
        FAILED = "FAILED", pgettext_lazy("bulk job status", "Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(_("action"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    rejection_reason = models.ForeignKey(
        RejectionReason, verbose_name=_("rejection reason"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    claim_ids = models.JSONField(_("claims"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("claims"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    applied = models.PositiveIntegerField(_("done"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    # Stamped when queued and at every chunk: a job silent too long lost its worker.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("bulk claim action")
        verbose_name_plural = _("bulk claim actions")

    def __str__(self):
        return f"{self.action} ({self.total})"

    @property
    def percent(self):
        return 100 if not self.total else round(100 * self.processed / self.total)

    @property
    def is_finished(self):
        return self.status in (self.Status.FINISHED, self.Status.FAILED)


class BulkTransitionResult(models.Model):
    class Outcome(models.TextChoices):
        DONE = "DONE", pgettext_lazy("bulk outcome", "Done")
        REFUSED = "REFUSED", pgettext_lazy("bulk outcome", "Refused")

    job = models.ForeignKey(BulkTransitionJob, on_delete=models.CASCADE, related_name="results")
    # The id as the job was given it: a claim that does not exist gets a "not found" result too,
    # which a foreign key constraint would refuse. Claims are never deleted, so nothing dangles.
    claim = models.ForeignKey(
        Claim, verbose_name=_("claim"), on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    message = models.CharField(_("message"), max_length=255, blank=True)

    class Meta:
        ordering = ["job", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "claim"], name="bulk_result_once_per_claim")]

    def __str__(self):
        return f"{self.claim_id}: {self.outcome}"
