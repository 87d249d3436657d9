"""Premium schedules, the customer ledger, payments with their receipts, and claim payouts.

Balances are never stored: an account's balance is the sum of its ledger entries, which are
append-only (the model refuses changes and, on PostgreSQL, a trigger makes the database refuse
them too). A positive balance is owed by the customer; a negative one is credit in their favour.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.models import AppendOnlyModel
from portal.core.money import CURRENCIES

CURRENCY_CODES = [code for code, _label in CURRENCIES]
MONEY = {"max_digits": 16, "decimal_places": 2}


class LedgerAccount(models.Model):
    """A customer's account in one currency: every amount on it is in that currency."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="ledger_accounts"
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)

    class Meta:
        ordering = ["customer", "currency"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="ledger_account_per_currency"),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="ledger_account_currency_valid"),
        ]

    def __str__(self):
        return f"{self.customer.full_name} · {self.currency}"


class InstalmentStatus(models.TextChoices):
    OPEN = "OPEN", pgettext_lazy("instalment status", "Open")
    PAID = "PAID", pgettext_lazy("instalment status", "Paid")
    CANCELLED = "CANCELLED", pgettext_lazy("instalment status", "Cancelled")


class Instalment(models.Model):
    """One premium instalment of a policy. What is paid of it is never rewritten by a later version:
    endorsements and cancellations change only the part still open."""

    Status = InstalmentStatus

    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="instalments"
    )
    policy = models.ForeignKey(
        "policies.Policy", verbose_name=_("policy"), on_delete=models.PROTECT, related_name="instalments"
    )
    policy_version = models.ForeignKey(
        "policies.PolicyVersion",
        verbose_name=_("set by version"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The version that created the instalment or last changed its amount."),
    )
    sequence = models.PositiveSmallIntegerField(_("instalment"))
    due_date = models.DateField(_("due on"))
    scheduled_amount = models.DecimalField(_("amount first scheduled"), **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)
    amount_paid = models.DecimalField(_("paid"), default=0, **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["due_date", "policy", "sequence"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.UniqueConstraint(fields=["policy", "sequence"], name="instalment_sequence_per_policy"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=F("amount"), scheduled_amount__gt=0),
                name="instalment_paid_within_amount",
            ),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="instalment_currency_valid"),
            # The status says what the amounts say: open while something is unpaid, paid when all of
            # it is, cancelled when nothing was left of it.
            models.CheckConstraint(
                condition=Q(status=InstalmentStatus.OPEN, amount_paid__lt=F("amount"))
                | Q(status=InstalmentStatus.PAID, amount_paid=F("amount"), amount__gt=0)
                | Q(status=InstalmentStatus.CANCELLED, amount=0, amount_paid=0),
                name="instalment_status_matches_amounts",
            ),
        ]
        indexes = [
            # Allocation: an account's open instalments, oldest due first.
            models.Index(fields=["account", "status", "due_date"], name="instalment_account_open_idx"),
            # Reminders and lapses: open instalments past their due date.
            models.Index(fields=["status", "due_date"], name="instalment_status_due_idx"),
        ]

    def __str__(self):
        return f"{self.policy.number} #{self.sequence}"

    @property
    def outstanding(self):
        return self.amount - self.amount_paid

    def is_overdue(self, today=None):
        return self.status == InstalmentStatus.OPEN and self.due_date < (today or timezone.localdate())


class PaymentMethod(models.TextChoices):
    CASH = "CASH", _("Cash")
    BANK_TRANSFER = "BANK_TRANSFER", _("Bank transfer")
    CARD = "CARD", _("Card")
    NEQUI = "NEQUI", _("Nequi")
    PSE = "PSE", _("PSE bank transfer")


class Payment(models.Model):
    """Money received from a customer (premium) or paid out to them (a claim payout)."""

    Method = PaymentMethod
    # Recorded by staff in the portal; the others arrive confirmed by a payment gateway.
    MANUAL_METHODS = (PaymentMethod.CASH, PaymentMethod.BANK_TRANSFER)
    GATEWAY_METHODS = (PaymentMethod.CARD, PaymentMethod.NEQUI, PaymentMethod.PSE)

    class Direction(models.TextChoices):
        IN = "IN", pgettext_lazy("payment direction", "Received")
        OUT = "OUT", pgettext_lazy("payment direction", "Paid out")

    class Status(models.TextChoices):
        CONFIRMED = "CONFIRMED", pgettext_lazy("payment status", "Confirmed")
        REVERSED = "REVERSED", pgettext_lazy("payment status", "Reversed")

    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payments"
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.IN)
    method = models.CharField(_("method"), max_length=14, choices=Method.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    reference = models.CharField(
        _("reference"),
        max_length=64,
        help_text=_("The receipt-book number for cash, the bank's reference for a transfer, the gateway's reference."),
    )
    received_on = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.CONFIRMED)
    # What the payment came from when no person recorded it, e.g. ("gateways.gatewaytransaction", "17").
    source_type = models.CharField(pgettext_lazy("where a payment came from", "source"), max_length=100, blank=True)
    source_id = models.CharField(_("source id"), max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reversed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reason = models.CharField(_("reason for the reversal"), max_length=255, blank=True)
    # The insurer's core system's id for this payment, from its acknowledgement (the first one when
    # the payment went to several policies).
    core_reference = models.CharField(_("reference in the insurer's core"), max_length=64, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            # The same transfer, receipt or gateway reference is one payment, however often it arrives.
            models.UniqueConstraint(fields=["direction", "method", "reference"], name="payment_reference_per_method"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=~Q(reference=""), name="payment_reference_present"),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="payment_currency_valid"),
            models.CheckConstraint(
                condition=Q(status="CONFIRMED", reversed_at__isnull=True)
                | Q(status="REVERSED", reversed_at__isnull=False),
                name="payment_reversal_recorded",
            ),
        ]
        indexes = [
            models.Index(fields=["received_on", "direction"], name="payment_received_idx"),
            models.Index(fields=["account", "received_on"], name="payment_account_idx"),
            models.Index(fields=["-created_at"], name="payment_created_idx"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.reference}"

    @property
    def customer(self):
        return self.account.customer


class PaymentAllocation(models.Model):
    """How much of a payment went to which instalment."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="allocations"
    )
    instalment = models.ForeignKey(
        Instalment, verbose_name=_("instalment"), on_delete=models.PROTECT, related_name="allocations"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    created_at = models.DateTimeField(_("allocated at"), default=timezone.now)

    class Meta:
        ordering = ["payment", "id"]
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_allocation_positive")]

    def __str__(self):
        return f"{self.payment_id} → {self.instalment_id}: {self.amount}"


class ClaimPayout(models.Model):
    """The money paid to a customer for an approved claim: prepared by one finance user, confirmed by another."""

    class Status(models.TextChoices):
        PREPARED = "PREPARED", pgettext_lazy("payout status", "Awaiting confirmation")
        CONFIRMED = "CONFIRMED", pgettext_lazy("payout status", "Confirmed")
        CANCELLED = "CANCELLED", pgettext_lazy("payout status", "Cancelled")

    number = models.CharField(_("payout number"), max_length=30, unique=True)
    claim = models.ForeignKey("claims.Claim", verbose_name=_("claim"), on_delete=models.PROTECT, related_name="payouts")
    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payouts"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    payee_account = models.CharField(
        _("pay to"), max_length=120, help_text=_("The bank and account number the money is transferred to.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREPARED)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prepared by"), on_delete=models.PROTECT, related_name="+"
    )
    prepared_at = models.DateTimeField(_("prepared at"), default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=255, blank=True)
    payment = models.OneToOneField(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, null=True, blank=True, related_name="payout"
    )

    class Meta:
        ordering = ["-prepared_at", "-id"]
        verbose_name = _("claim payout")
        verbose_name_plural = _("claim payouts")
        constraints = [
            models.UniqueConstraint(
                fields=["claim"], condition=~Q(status="CANCELLED"), name="claim_payout_one_live_per_claim"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="claim_payout_amount_positive"),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="claim_payout_currency_valid"),
            # Four eyes: whoever prepared a payout never confirms it.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("prepared_by")),
                name="claim_payout_confirmer_is_not_preparer",
            ),
            models.CheckConstraint(
                condition=~Q(status="CONFIRMED")
                | Q(confirmed_by__isnull=False, confirmed_at__isnull=False, payment__isnull=False),
                name="claim_payout_confirmed_has_payment",
            ),
            models.CheckConstraint(
                condition=~Q(status="CANCELLED") | Q(cancelled_by__isnull=False, cancelled_at__isnull=False),
                name="claim_payout_cancellation_recorded",
            ),
        ]
        indexes = [models.Index(fields=["status", "prepared_at"], name="claim_payout_status_idx")]

    def __str__(self):
        return self.number


class LedgerEntryKind(models.TextChoices):
    PREMIUM_DUE = "PREMIUM_DUE", _("Premium due")
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED", _("Payment received")
    REFUND = "REFUND", _("Premium returned")
    CLAIM_PAYOUT = "CLAIM_PAYOUT", _("Claim settled")
    DISBURSEMENT = "DISBURSEMENT", _("Paid out to the customer")
    ADJUSTMENT = "ADJUSTMENT", _("Adjustment")


class LedgerEntry(AppendOnlyModel):
    """One movement on an account, signed: positive is owed by the customer, negative is in their favour.

    Entries are never changed or deleted; a correction is a new entry. An entry dated ahead
    (`posted_on` in the future) is an instalment that falls due on that date.
    """

    Kind = LedgerEntryKind
    # The sign each kind of entry must have (ADJUSTMENT goes either way).
    DEBITS = (LedgerEntryKind.PREMIUM_DUE, LedgerEntryKind.DISBURSEMENT)
    CREDITS = (LedgerEntryKind.PAYMENT_RECEIVED, LedgerEntryKind.REFUND, LedgerEntryKind.CLAIM_PAYOUT)

    account = models.ForeignKey(
        LedgerAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    posted_on = models.DateField(_("date"))
    instalment = models.ForeignKey(
        Instalment, verbose_name=_("instalment"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    policy_version = models.ForeignKey(
        "policies.PolicyVersion",
        verbose_name=_("policy version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    payout = models.ForeignKey(
        ClaimPayout, verbose_name=_("claim payout"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A person's note (a reversal's reason); what the entry is comes from its kind and links, in the reader's language.
    description = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    refusal = "Ledger entries are append-only"

    class Meta:
        ordering = ["account", "posted_on", "id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_amount_not_zero"),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="ledger_entry_currency_valid"),
            models.CheckConstraint(
                condition=Q(kind__in=["PREMIUM_DUE", "DISBURSEMENT"], amount__gt=0)
                | Q(kind__in=["PAYMENT_RECEIVED", "REFUND", "CLAIM_PAYOUT"], amount__lt=0)
                | Q(kind="ADJUSTMENT"),
                name="ledger_entry_sign_matches_kind",
            ),
        ]
        indexes = [
            # Statements and balances: an account's entries in a date range, in order.
            models.Index(fields=["account", "posted_on", "id"], name="ledger_entry_statement_idx"),
            # Daily collections on the finance dashboard.
            models.Index(fields=["kind", "posted_on"], name="ledger_entry_kind_day_idx"),
        ]

    def __str__(self):
        return f"{self.posted_on} {self.kind} {self.amount} {self.currency}"


class Receipt(models.Model):
    """The receipt of one payment. Its row is written with the payment, so the email goes once."""

    payment = models.OneToOneField(Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(_("receipt number"), max_length=30, unique=True)
    email = models.EmailField(_("sent to"), blank=True)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    sent_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")

    def __str__(self):
        return self.number


class InstalmentReminder(models.Model):
    """An overdue reminder sent to the customer; one per instalment and stage, so none is sent twice."""

    class Stage(models.IntegerChoices):
        DAYS_1 = 1, _("1 day overdue")
        DAYS_15 = 15, _("15 days overdue")

    instalment = models.ForeignKey(
        Instalment, verbose_name=_("instalment"), on_delete=models.CASCADE, related_name="reminders"
    )
    stage = models.PositiveSmallIntegerField(_("stage"), choices=Stage.choices)
    email = models.EmailField(_("sent to"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        ordering = ["instalment", "stage"]
        verbose_name = _("instalment reminder")
        verbose_name_plural = _("instalment reminders")
        constraints = [
            models.UniqueConstraint(fields=["instalment", "stage"], name="instalment_reminder_once_per_stage")
        ]

    def __str__(self):
        return f"{self.instalment} · {self.get_stage_display()}"
