"""Loans to customers (policy loans and premium financing): products, applications worked through
one task at a time, and the repayment schedule of a disbursed loan.

The database keeps the task rules itself: at most one open task per loan (a partial unique index),
and a loan's `current_task` always an open task of that loan (a deferred constraint trigger, see
migration 0002), so no code path can leave a stale pointer behind.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.models import PrivateDocument
from portal.core.money import CURRENCIES

CURRENCY_CODES = [code for code, _label in CURRENCIES]
MONEY = {"max_digits": 16, "decimal_places": 2}
RATE = {"max_digits": 7, "decimal_places": 4}
MAX_TENURE_MONTHS = 360


class LoanKind(models.TextChoices):
    POLICY_LOAN = "POLICY_LOAN", _("Policy loan")
    PREMIUM_FINANCING = "PREMIUM_FINANCING", _("Premium financing")


class LoanProduct(models.Model):
    """What may be lent and on which terms; set up by administrators in the Django admin."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=LoanKind.choices, default=LoanKind.POLICY_LOAN)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    min_amount = models.DecimalField(_("minimum amount"), **MONEY)
    max_amount = models.DecimalField(_("maximum amount"), **MONEY)
    min_tenure_months = models.PositiveSmallIntegerField(_("minimum tenure (months)"), default=1)
    max_tenure_months = models.PositiveSmallIntegerField(_("maximum tenure (months)"), default=60)
    annual_rate_pct = models.DecimalField(
        _("annual nominal rate (%)"), help_text=_("Compounded monthly: the monthly rate is a twelfth of it."), **RATE
    )
    fee_pct = models.DecimalField(_("origination fee (% of the amount)"), default=0, **RATE)
    fee_flat = models.DecimalField(_("origination fee (fixed)"), default=0, **MONEY)
    # Eligibility rules, checked when a loan is applied for.
    requires_policy = models.BooleanField(
        _("requires a policy in force"), default=True, help_text=_("The loan is against one active policy.")
    )
    max_share_of_sum_insured_pct = models.DecimalField(
        _("most of the policy's sum insured (%)"), null=True, blank=True, **RATE
    )
    allows_overdue_instalments = models.BooleanField(_("allowed with overdue premium instalments"), default=False)
    min_credit_score = models.PositiveSmallIntegerField(
        _("lowest credit score accepted"), default=600, help_text=_("Below it the credit check refuses the loan.")
    )
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        constraints = [
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="loan_product_currency_valid"),
            models.CheckConstraint(
                condition=Q(min_amount__gt=0, max_amount__gte=F("min_amount")), name="loan_product_amount_bounds"
            ),
            models.CheckConstraint(
                condition=Q(
                    min_tenure_months__gte=1,
                    max_tenure_months__gte=F("min_tenure_months"),
                    max_tenure_months__lte=MAX_TENURE_MONTHS,
                ),
                name="loan_product_tenure_bounds",
            ),
            models.CheckConstraint(
                condition=Q(annual_rate_pct__gte=0, annual_rate_pct__lte=200), name="loan_product_rate_range"
            ),
            models.CheckConstraint(condition=Q(fee_pct__gte=0, fee_flat__gte=0), name="loan_product_fees_positive"),
            models.CheckConstraint(
                condition=Q(max_share_of_sum_insured_pct__isnull=True)
                | Q(max_share_of_sum_insured_pct__gt=0, max_share_of_sum_insured_pct__lte=100),
                name="loan_product_share_range",
            ),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"


class LoanApprovalAuthority(models.Model):
    """How much one supervisor may approve on one loan, per currency. No row means no authority."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="loan_approval_limits",
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    limit = models.DecimalField(_("approval limit"), **MONEY)

    class Meta:
        verbose_name = _("loan approval authority")
        verbose_name_plural = _("loan approval authorities")
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="loan_approval_authority_per_currency"),
            models.CheckConstraint(condition=Q(limit__gte=0), name="loan_approval_authority_positive"),
        ]

    def __str__(self):
        return f"{self.user} · {self.currency} {self.limit}"


class LoanStatus(models.TextChoices):
    NEW = "NEW", pgettext_lazy("loan status", "New")
    IN_PROGRESS = "IN_PROGRESS", pgettext_lazy("loan status", "In progress")
    COMPLETED = "COMPLETED", pgettext_lazy("loan status", "Disbursed")
    REJECTED = "REJECTED", pgettext_lazy("loan status", "Rejected")
    WITHDRAWN = "WITHDRAWN", pgettext_lazy("loan status", "Withdrawn")


class AccountState(models.TextChoices):
    ACTIVE = "ACTIVE", pgettext_lazy("loan account", "Active")
    CLOSED = "CLOSED", pgettext_lazy("loan account", "Repaid and closed")
    WRITTEN_OFF = "WRITTEN_OFF", pgettext_lazy("loan account", "Written off")


class ArrearsBucket(models.TextChoices):
    CURRENT = "CURRENT", pgettext_lazy("arrears", "Up to date")
    DAYS_1_30 = "1_30", pgettext_lazy("arrears", "1 to 30 days late")
    DAYS_31_60 = "31_60", pgettext_lazy("arrears", "31 to 60 days late")
    DAYS_61_90 = "61_90", pgettext_lazy("arrears", "61 to 90 days late")
    DAYS_90_PLUS = "90_PLUS", pgettext_lazy("arrears", "More than 90 days late")


class TaskKind(models.TextChoices):
    KYC = "KYC", pgettext_lazy("loan task", "Identity and income check")
    CREDIT_CHECK = "CREDIT_CHECK", pgettext_lazy("loan task", "Credit check")
    APPROVAL = "APPROVAL", pgettext_lazy("loan task", "Approval")
    DISBURSEMENT = "DISBURSEMENT", pgettext_lazy("loan task", "Disbursement")


class TaskOutcome(models.TextChoices):
    PASSED = "PASSED", pgettext_lazy("loan task outcome", "Passed")
    REFUSED = "REFUSED", pgettext_lazy("loan task outcome", "Refused")
    CANCELLED = "CANCELLED", pgettext_lazy("loan task outcome", "Cancelled")


class Loan(models.Model):
    """One loan, from application to its last repayment. Its terms are frozen when it is applied for:
    a later change to the product never changes a loan already asked for."""

    Status = LoanStatus
    OPEN = (LoanStatus.NEW, LoanStatus.IN_PROGRESS)

    number = models.CharField(_("loan number"), max_length=30, unique=True)
    product = models.ForeignKey(LoanProduct, verbose_name=_("product"), on_delete=models.PROTECT, related_name="loans")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="loans"
    )
    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loans",
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    principal = models.DecimalField(_("amount"), **MONEY)
    tenure_months = models.PositiveSmallIntegerField(_("tenure (months)"))
    annual_rate_pct = models.DecimalField(_("annual nominal rate (%)"), **RATE)
    fee_amount = models.DecimalField(_("origination fee"), **MONEY)
    instalment_amount = models.DecimalField(_("monthly instalment"), **MONEY)
    status = models.CharField(_("status"), max_length=12, choices=LoanStatus.choices, default=LoanStatus.NEW)
    account_state = models.CharField(_("account"), max_length=12, choices=AccountState.choices, blank=True)
    arrears_bucket = models.CharField(
        _("arrears"), max_length=8, choices=ArrearsBucket.choices, default=ArrearsBucket.CURRENT
    )
    current_task = models.OneToOneField(
        "LoanTask",
        verbose_name=_("current task"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applied by"), on_delete=models.PROTECT, related_name="+"
    )
    applied_at = models.DateTimeField(_("applied at"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    disbursement_payment = models.OneToOneField(
        "payments.Payment",
        verbose_name=_("disbursement transfer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disbursed_loan",
    )
    credit_balance = models.DecimalField(_("credit in the customer's favour"), default=0, **MONEY)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-applied_at", "-id"]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=LoanStatus.values), name="loan_status_valid"),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="loan_currency_valid"),
            models.CheckConstraint(
                condition=Q(principal__gt=0, fee_amount__gte=0, instalment_amount__gt=0, credit_balance__gte=0),
                name="loan_amounts_positive",
            ),
            models.CheckConstraint(
                condition=Q(tenure_months__gte=1, tenure_months__lte=MAX_TENURE_MONTHS), name="loan_tenure_range"
            ),
            # Only a disbursed loan has an account, and it always has one.
            models.CheckConstraint(
                condition=Q(
                    status=LoanStatus.COMPLETED, account_state__in=AccountState.values, disbursed_on__isnull=False
                )
                | (~Q(status=LoanStatus.COMPLETED) & Q(account_state="", disbursed_on__isnull=True)),
                name="loan_account_only_when_disbursed",
            ),
            # A loan being worked always has its current task, and only such a loan has one: the next
            # task is started by the transaction that completes the previous one.
            models.CheckConstraint(
                condition=Q(status=LoanStatus.IN_PROGRESS, current_task__isnull=False)
                | (~Q(status=LoanStatus.IN_PROGRESS) & Q(current_task__isnull=True)),
                name="loan_current_task_while_in_progress",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "applied_at"], name="loan_status_applied_idx"),
            models.Index(fields=["-applied_at", "-id"], name="loan_applied_idx"),
            models.Index(fields=["customer", "applied_at"], name="loan_customer_idx"),
            models.Index(fields=["account_state", "arrears_bucket"], name="loan_account_arrears_idx"),
            # The queue filtered by the task a loan waits on: only loans being worked have a current task,
            # a few among a million, and the planner reaches them here instead of walking every loan by date.
            models.Index(
                fields=["applied_at"], name="loan_working_applied_idx", condition=Q(current_task__isnull=False)
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.status in self.OPEN

    @property
    def total_due(self):
        return self.principal + self.fee_amount


class LoanTask(models.Model):
    """One step of a loan's workflow, worked by one person (the credit check by the worker)."""

    Kind = TaskKind
    Outcome = TaskOutcome

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(_("task"), max_length=14, choices=TaskKind.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=10, choices=TaskOutcome.choices, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    # The credit check: what the bureau said, and a supervisor's override of its refusal.
    score = models.PositiveSmallIntegerField(_("credit score"), null=True, blank=True)
    reasons = models.JSONField(_("bureau reasons"), default=list, blank=True)
    bureau_reference = models.CharField(_("bureau reference"), max_length=64, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    check_error = models.CharField(_("credit check problem"), max_length=255, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refusal overridden by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The disbursement: prepared by one finance user, confirmed by another.
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prepared by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    prepared_at = models.DateTimeField(_("prepared at"), null=True, blank=True)
    payee_account = models.CharField(_("pay to"), max_length=120, blank=True)

    class Meta:
        ordering = ["loan", "started_at", "id"]
        verbose_name = _("loan task")
        verbose_name_plural = _("loan tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["loan"], condition=Q(completed_at__isnull=True), name="loan_task_one_open_per_loan"
            ),
            models.UniqueConstraint(
                fields=["loan", "kind"], condition=~Q(outcome=TaskOutcome.CANCELLED), name="loan_task_kind_once"
            ),
            models.CheckConstraint(condition=Q(kind__in=TaskKind.values), name="loan_task_kind_valid"),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True, outcome="", completed_by__isnull=True)
                | Q(completed_at__isnull=False, outcome__in=TaskOutcome.values),
                name="loan_task_outcome_when_completed",
            ),
            models.CheckConstraint(
                condition=Q(prepared_by__isnull=True)
                | Q(completed_by__isnull=True)
                | ~Q(prepared_by=F("completed_by")),
                name="loan_task_confirmer_is_not_preparer",
            ),
        ]
        indexes = [
            # The queue filters loans by their current task's kind; the timeline reads a loan's tasks.
            models.Index(fields=["kind", "completed_at"], name="loan_task_kind_open_idx"),
        ]

    def __str__(self):
        return f"{self.loan_id} · {self.get_kind_display()}"

    @property
    def is_open(self):
        return self.completed_at is None


class LoanInstalmentStatus(models.TextChoices):
    OPEN = "OPEN", pgettext_lazy("instalment status", "Open")
    PAID = "PAID", pgettext_lazy("instalment status", "Paid")


class LoanInstalment(models.Model):
    """One monthly instalment of a disbursed loan, as the schedule computed it, and what is paid of it."""

    Status = LoanInstalmentStatus

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="instalments")
    sequence = models.PositiveSmallIntegerField(_("instalment"))
    due_date = models.DateField(_("due on"))
    principal = models.DecimalField(_("principal"), **MONEY)
    interest = models.DecimalField(_("interest"), **MONEY)
    fee = models.DecimalField(_("fee"), default=0, **MONEY)
    principal_paid = models.DecimalField(_("principal paid"), default=0, **MONEY)
    interest_paid = models.DecimalField(_("interest paid"), default=0, **MONEY)
    fee_paid = models.DecimalField(_("fee paid"), default=0, **MONEY)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    status = models.CharField(
        _("status"), max_length=6, choices=LoanInstalmentStatus.choices, default=LoanInstalmentStatus.OPEN
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)

    class Meta:
        ordering = ["loan", "sequence"]
        verbose_name = _("loan instalment")
        verbose_name_plural = _("loan instalments")
        constraints = [
            models.UniqueConstraint(fields=["loan", "sequence"], name="loan_instalment_sequence"),
            models.CheckConstraint(
                condition=Q(principal__gte=0, interest__gte=0, fee__gte=0)
                & Q(principal_paid__gte=0, principal_paid__lte=F("principal"))
                & Q(interest_paid__gte=0, interest_paid__lte=F("interest"))
                & Q(fee_paid__gte=0, fee_paid__lte=F("fee")),
                name="loan_instalment_paid_within_amounts",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="loan_instalment_due_idx")]

    def __str__(self):
        return f"{self.loan_id} #{self.sequence}"

    @property
    def amount(self):
        return self.principal + self.interest + self.fee

    @property
    def paid(self):
        return self.principal_paid + self.interest_paid + self.fee_paid

    @property
    def outstanding(self):
        return self.amount - self.paid


class LoanDocument(PrivateDocument):
    """An identity or income document for the KYC check, stored like claim documents: checked by its
    content, under a random name outside every public URL."""

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="documents")

    class Meta:
        ordering = ["loan", "uploaded_at", "id"]
        verbose_name = _("loan document")
        verbose_name_plural = _("loan documents")


class LoanRepayment(models.Model):
    """Money received on a loan (one payment of the payments ledger) and how much of it was left over
    as credit after every instalment it could pay."""

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="repayments")
    payment = models.OneToOneField(
        "payments.Payment", verbose_name=_("payment"), on_delete=models.PROTECT, related_name="loan_repayment"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    credited = models.DecimalField(_("left as credit"), default=0, **MONEY)
    received_on = models.DateField(_("received on"))
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        ordering = ["loan", "received_on", "id"]
        verbose_name = _("loan repayment")
        verbose_name_plural = _("loan repayments")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0, credited__gte=0, credited__lte=F("amount")), name="loan_repayment_amounts"
            )
        ]

    def __str__(self):
        return f"{self.loan_id}: {self.amount}"


class LoanAllocation(models.Model):
    """How much of a repayment went to one instalment's fee, interest and principal."""

    repayment = models.ForeignKey(
        LoanRepayment, verbose_name=_("repayment"), on_delete=models.PROTECT, related_name="allocations"
    )
    instalment = models.ForeignKey(
        LoanInstalment, verbose_name=_("instalment"), on_delete=models.PROTECT, related_name="allocations"
    )
    fee = models.DecimalField(_("fee"), default=0, **MONEY)
    interest = models.DecimalField(_("interest"), default=0, **MONEY)
    principal = models.DecimalField(_("principal"), default=0, **MONEY)

    class Meta:
        ordering = ["repayment", "id"]
        verbose_name = _("loan allocation")
        verbose_name_plural = _("loan allocations")
        constraints = [
            models.CheckConstraint(
                condition=Q(fee__gte=0, interest__gte=0, principal__gte=0), name="loan_allocation_positive"
            )
        ]

    def __str__(self):
        return f"{self.repayment_id} → {self.instalment_id}"


class LoanReminder(models.Model):
    """An arrears reminder emailed to the customer: one per instalment and stage, so none goes twice."""

    class Stage(models.IntegerChoices):
        DAYS_1 = 1, _("1 day late")
        DAYS_30 = 30, _("30 days late")
        DAYS_60 = 60, _("60 days late")
        DAYS_90 = 90, _("90 days late")

    instalment = models.ForeignKey(
        LoanInstalment, verbose_name=_("instalment"), on_delete=models.CASCADE, related_name="reminders"
    )
    stage = models.PositiveSmallIntegerField(_("stage"), choices=Stage.choices)
    email = models.EmailField(_("sent to"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        ordering = ["instalment", "stage"]
        verbose_name = _("loan reminder")
        verbose_name_plural = _("loan reminders")
        constraints = [models.UniqueConstraint(fields=["instalment", "stage"], name="loan_reminder_once_per_stage")]

    def __str__(self):
        return f"{self.instalment} · {self.get_stage_display()}"
