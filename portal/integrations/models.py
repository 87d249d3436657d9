"""What Amparo keeps of its conversation with the insurer's core: every exchange (redacted), the
circuit breaker each destination shares across processes, the pull cursors, the statement lines
pulled per customer, and the daily reconciliations."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.money import CURRENCIES


class Outcome(models.TextChoices):
    IN_FLIGHT = "IN_FLIGHT", pgettext_lazy("exchange outcome", "No answer recorded (worker stopped)")
    OK = "OK", pgettext_lazy("exchange outcome", "Acknowledged")
    RETRY = "RETRY", pgettext_lazy("exchange outcome", "Failed, to be tried again")
    REFUSED = "REFUSED", pgettext_lazy("exchange outcome", "Refused")
    NO_ANSWER = "NO_ANSWER", pgettext_lazy("exchange outcome", "No answer")


class Exchange(models.Model):
    """One HTTP request to an outside system and its answer. Bodies and headers are kept only through
    an allowlist: secrets and personal fields are replaced before anything is stored. An exchange
    that delivers an outbox message is one of its attempts."""

    Outcome = Outcome

    destination = models.CharField(_("destination"), max_length=20)
    operation = models.CharField(_("operation"), max_length=40)
    message = models.ForeignKey(
        "outbox.OutboxMessage",
        verbose_name=_("outbox message"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exchanges",
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), null=True, blank=True)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=300)
    request_headers = models.JSONField(_("request headers"), default=dict, blank=True)
    request_body = models.JSONField(_("request body"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    worker = models.CharField(_("relay worker"), max_length=80, blank=True)
    correlation_id = models.CharField(_("correlation id"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        indexes = [models.Index(fields=["destination", "-started_at"], name="exchange_destination_idx")]

    def __str__(self):
        return f"{self.method} {self.path} → {self.status_code or '-'}"


class DestinationBreaker(models.Model):
    """A destination's circuit breaker, one row shared by every relay process: after `failures` in a row
    it opens and no message is sent until `retry_at`; then one process wins the probe (HALF_OPEN) and
    its answer closes it again or opens it for longer."""

    class State(models.TextChoices):
        CLOSED = "CLOSED", pgettext_lazy("circuit breaker", "Closed: sending")
        OPEN = "OPEN", pgettext_lazy("circuit breaker", "Open: not sending")
        HALF_OPEN = "HALF_OPEN", pgettext_lazy("circuit breaker", "Probing")

    destination = models.CharField(_("destination"), max_length=20, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.CLOSED)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    retry_at = models.DateTimeField(_("probe from"), null=True, blank=True)
    cooldown_seconds = models.PositiveIntegerField(_("current wait (s)"), default=0)
    probe_until = models.DateTimeField(_("probe claimed until"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("circuit breaker")
        verbose_name_plural = _("circuit breakers")
        constraints = [
            models.CheckConstraint(
                condition=Q(state="CLOSED") | Q(retry_at__isnull=False), name="breaker_open_has_retry_time"
            )
        ]

    def __str__(self):
        return f"{self.destination}: {self.state}"


class PullCursor(models.Model):
    """Where an incremental pull stands (e.g. the core's policy changes); saved in the transaction that
    stores the page it follows, so a pull that dies half-way starts again after the last page kept."""

    destination = models.CharField(_("destination"), max_length=20)
    feed = models.CharField(_("feed"), max_length=40)
    position = models.JSONField(_("position"), default=dict, blank=True)
    pulled_at = models.DateTimeField(_("last pulled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("pull cursor")
        verbose_name_plural = _("pull cursors")
        constraints = [models.UniqueConstraint(fields=["destination", "feed"], name="pull_cursor_unique")]

    def __str__(self):
        return f"{self.destination} {self.feed}"


class StatementPull(models.Model):
    """Where the pull of one customer's statement from the core stands (its `since`), saved with the lines."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    destination = models.CharField(_("destination"), max_length=20)
    since = models.CharField(_("since"), max_length=64, blank=True)
    pulled_at = models.DateTimeField(_("last pulled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("statement pull")
        verbose_name_plural = _("statement pulls")
        constraints = [models.UniqueConstraint(fields=["customer", "destination"], name="statement_pull_per_customer")]
        indexes = [models.Index(fields=["destination", "pulled_at"], name="statement_pull_due_idx")]

    def __str__(self):
        return f"{self.customer_id} {self.destination} since {self.since}"


class StatementLine(models.Model):
    """One line of a customer's statement as the insurer's core keeps it (premium billed, collected,
    returned...), pulled and stored as it came: shown beside Amparo's own ledger, never mixed into it."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="core_statement_lines"
    )
    destination = models.CharField(_("destination"), max_length=20)
    line_id = models.CharField(_("line id in the core"), max_length=64)
    posted_on = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=255, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=30, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    balance = models.DecimalField(_("balance in the core"), max_digits=16, decimal_places=2, null=True, blank=True)
    pulled_at = models.DateTimeField(_("pulled at"), default=timezone.now)

    class Meta:
        ordering = ["customer", "-posted_on", "-id"]
        verbose_name = _("core statement line")
        verbose_name_plural = _("core statement lines")
        constraints = [
            models.UniqueConstraint(fields=["destination", "line_id"], name="statement_line_once"),
        ]
        indexes = [models.Index(fields=["customer", "-posted_on"], name="statement_line_customer_idx")]

    def __str__(self):
        return f"{self.posted_on} {self.description} {self.amount} {self.currency}"


class ReconciliationRun(models.Model):
    """One daily comparison of Amparo's book with the core's, and the differences it found."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", pgettext_lazy("reconciliation status", "Running")
        DONE = "DONE", pgettext_lazy("reconciliation status", "Done")
        FAILED = "FAILED", pgettext_lazy("reconciliation status", "Could not finish")

    destination = models.CharField(_("destination"), max_length=20)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # {kind: count} of the differences found, kept whole even when the list is capped.
    counts = models.JSONField(_("differences"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("reconciliation with the core")
        verbose_name_plural = _("reconciliations with the core")

    def __str__(self):
        return f"{self.destination} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def differences_found(self):
        return sum(self.counts.values())


class DifferenceKind(models.TextChoices):
    NOT_ACKNOWLEDGED = "NOT_ACKNOWLEDGED", _("Policy without the core's reference")
    STATUS = "STATUS", _("Status differs")
    UNKNOWN_IN_CORE = "UNKNOWN_IN_CORE", _("Policy the core does not have")
    UNKNOWN_HERE = "UNKNOWN_HERE", _("Policy only the core has")
    PREMIUM = "PREMIUM", _("Premium per product and month differs")
    PAYMENT_NOT_ACKNOWLEDGED = "PAYMENT_NOT_ACKNOWLEDGED", _("Payment the core has not acknowledged")


class ReconciliationDifference(models.Model):
    Kind = DifferenceKind

    run = models.ForeignKey(
        ReconciliationRun, verbose_name=_("reconciliation"), on_delete=models.CASCADE, related_name="differences"
    )
    kind = models.CharField(_("difference"), max_length=24, choices=Kind.choices)
    subject = models.CharField(
        _("what"), max_length=80, help_text=_("A policy number, a product and month, a reference.")
    )
    ours = models.CharField(_("in Amparo"), max_length=120, blank=True)
    theirs = models.CharField(_("in the core"), max_length=120, blank=True)

    class Meta:
        ordering = ["run", "kind", "subject"]
        verbose_name = _("reconciliation difference")
        verbose_name_plural = _("reconciliation differences")

    def __str__(self):
        return f"{self.kind} {self.subject}"
