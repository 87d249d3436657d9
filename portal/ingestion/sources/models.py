"""Web-service sources: a source's declarative connection (its spec), the sync runs that pull from it,
the raw pages each run kept, and the state every worker process shares for it (the circuit breaker
and the rate budget). Loaded by the ingestion app's `models` module; the rows a run loads are the
same bordereau rows and import jobs as a file's."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SourceConnection(models.Model):
    """How to pull a source's bordereaux from its REST API: the spec (see spec.schema.json), checked
    against the project's JSON Schema before it is saved. Secrets are never in the spec: it names an
    environment variable, or the secret is kept here encrypted (see credentials.py)."""

    source = models.OneToOneField(
        "ingestion.Source", verbose_name=_("source"), on_delete=models.PROTECT, related_name="connection"
    )
    spec = models.JSONField(_("connection spec"))
    secret_encrypted = models.TextField(_("secret (encrypted)"), blank=True, editable=False)
    schedule = models.CharField(
        _("schedule"),
        max_length=100,
        blank=True,
        help_text=_("Cron line (minute hour day month weekday); empty: on demand."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    # The incremental cursor as of the last committed run: the next run asks for records after it.
    cursor_value = models.CharField(_("cursor"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("source connection")
        verbose_name_plural = _("source connections")

    def __str__(self):
        return str(self.source)

    @property
    def kind(self):
        return self.spec.get("kind", "")


class SyncRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "QUEUED", _("Queued")
        RUNNING = "RUNNING", _("Running")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")
        CANCELLED = "CANCELLED", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    connection = models.ForeignKey(
        SourceConnection, verbose_name=_("connection"), on_delete=models.PROTECT, related_name="runs"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    # A replay reads the pages this run kept instead of calling the source again.
    replay_of = models.ForeignKey(
        "self", verbose_name=_("replay of"), on_delete=models.PROTECT, null=True, blank=True, related_name="replays"
    )
    jobs = models.ManyToManyField("ingestion.ImportJob", verbose_name=_("import jobs"), related_name="+", blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)
    rows_loaded = models.PositiveIntegerField(_("rows loaded"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    retries = models.PositiveIntegerField(_("retries"), default=0)
    throttled = models.PositiveIntegerField(_("429 answers"), default=0)
    breaker_trips = models.PositiveIntegerField(_("circuit-breaker trips"), default=0)
    bytes = models.BigIntegerField(_("bytes"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    cursor_before = models.CharField(_("cursor before"), max_length=200, blank=True)
    cursor_after = models.CharField(_("cursor after"), max_length=200, blank=True)
    # Records that could not be given a period (they belong to no bordereau): a few, with their message.
    unplaced = models.JSONField(_("records without a period"), default=list, blank=True)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["QUEUED", "RUNNING"]),
                name="sync_run_one_active_per_connection",
                violation_error_message=_("This source is already being pulled."),
            )
        ]

    def __str__(self):
        return f"#{self.pk} {self.connection}"

    @property
    def is_active(self):
        return self.status in self.ACTIVE


class SyncPage(models.Model):
    """One page as the source sent it, gzipped under AMPARO_PRIVATE_ROOT (it holds insured names and
    sums) until AMPARO_INGESTION_PAGE_RETENTION_DAYS have passed: a replay reads it back."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="page_set")
    number = models.PositiveIntegerField(_("page"))
    url = models.CharField(_("address"), max_length=500)  # redacted (see client.redact_url)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    records = models.PositiveIntegerField(_("records"), default=0)
    bytes = models.PositiveIntegerField(_("bytes"), default=0)
    stored_name = models.CharField(_("stored as"), max_length=80, blank=True)
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)

    class Meta:
        ordering = ["run", "number"]
        verbose_name = _("sync page")
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="sync_page_once_per_run")]

    def __str__(self):
        return f"{self.run} p{self.number}"


class SyncExchange(models.Model):
    """One HTTP request of a run (a page, a retry of it, or a token), as the core sync keeps its
    exchanges: the address redacted through the allowlist, never a header or a body. Deleted with the
    raw pages after AMPARO_INGESTION_PAGE_RETENTION_DAYS."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="exchanges")
    page = models.PositiveIntegerField(_("page"), null=True, blank=True)  # none for a token request
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    method = models.CharField(_("method"), max_length=8)
    url = models.CharField(_("address"), max_length=500)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    bytes = models.PositiveIntegerField(_("bytes"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("sync exchange")
        verbose_name_plural = _("sync exchanges")
        indexes = [models.Index(fields=["started_at"], name="sync_exchange_started")]

    def __str__(self):
        return f"{self.run} {self.method} {self.status_code}"


class RateBudget(models.Model):
    """A request budget shared by every process calling one API (GCRA: `next_free` is the theoretical
    arrival time of the next request; see budget.py)."""

    key = models.CharField(max_length=200, unique=True)
    next_free = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rate budget")

    def __str__(self):
        return self.key


class SourceBreaker(models.Model):
    """The circuit breaker of one source, as pybreaker keeps it, in a row every process shares."""

    key = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=10, default="closed")
    failures = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("source circuit breaker")

    def __str__(self):
        return f"{self.key}: {self.state}"


class SourceClient(models.Model):
    """A cedant's system that pushes bordereaux for one source: an OAuth2 application of our own
    authorization server (client credentials), with the scopes it may be given."""

    WRITE, READ = "bordereaux:write", "bordereaux:read"

    source = models.OneToOneField(
        "ingestion.Source", verbose_name=_("source"), on_delete=models.PROTECT, related_name="api_client"
    )
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        verbose_name=_("OAuth2 application"),
        on_delete=models.CASCADE,
        related_name="bordereau_client",
    )
    scopes = models.CharField(_("scopes"), max_length=100, default=f"{WRITE} {READ}")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("source API client")
        verbose_name_plural = _("source API clients")

    def __str__(self):
        return str(self.source)
