import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ReportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    PDF = "pdf", "PDF"


class ReportRun(models.Model):
    """One generation of a catalogue report: its validated parameters, who asked, how far it got, and
    the file it produced (in private storage, with its checksum) until it expires."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", pgettext_lazy("report run status", "Queued")
        RUNNING = "RUNNING", pgettext_lazy("report run status", "Running")
        SUCCEEDED = "SUCCEEDED", pgettext_lazy("report run status", "Ready")
        FAILED = "FAILED", pgettext_lazy("report run status", "Failed")
        EXPIRED = "EXPIRED", pgettext_lazy("report run status", "Expired")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.CharField(_("report"), max_length=40)
    format = models.CharField(_("format"), max_length=4, choices=ReportFormat.choices)
    # ISO strings as validated by the report's definition (dates as YYYY-MM-DD).
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=8, default="es-co")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    schedule = models.ForeignKey(
        "reports.ReportSchedule",
        verbose_name=_("schedule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    # Under a random name in AMPARO_PRIVATE_ROOT/reports (see storage.py); empty until generated.
    stored_name = models.CharField(_("stored as"), max_length=80, blank=True)
    size_bytes = models.BigIntegerField(_("size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Stamped when queued and while a worker generates it: a run silent too long lost its worker.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("report run")
        verbose_name_plural = _("report runs")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_run_progress_percent"),
            models.CheckConstraint(
                condition=~Q(status="SUCCEEDED") | ~Q(sha256=""), name="report_run_ready_has_checksum"
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by", "-requested_at"], name="report_run_requester_idx"),
            models.Index(fields=["status", "expires_at"], name="report_run_expiry_idx"),
        ]

    def __str__(self):
        return f"{self.report} {self.format} {self.requested_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("reports:run_detail", args=[self.pk])

    @property
    def is_active(self):
        return self.status in self.ACTIVE

    @property
    def download_name(self):
        return f"amparo-{self.report}-{self.requested_at:%Y%m%d-%H%M}.{self.format}"


class ReportSchedule(models.Model):
    """A report generated on a day of each month and emailed to its recipients (the finance pack)."""

    name = models.CharField(_("name"), max_length=120)
    reports = models.JSONField(_("reports"), default=list, help_text=_("Names of the catalogue's reports."))
    format = models.CharField(_("format"), max_length=4, choices=ReportFormat.choices, default=ReportFormat.PDF)
    day_of_month = models.PositiveSmallIntegerField(_("day of the month"), default=1)
    recipients = models.JSONField(_("recipients"), default=list, blank=True, help_text=_("Email addresses."))
    # Read when the pack is emailed, so finance staff who join or leave later are counted.
    emails_finance = models.BooleanField(
        _("email every active finance user"),
        default=False,
        help_text=_("Besides the recipients, every active user with the finance role when the reports are ready."),
    )
    # The runs are requested as this user, so they see what the owner's role and scope allow; without
    # one, as the reports' system account (an administrator who cannot sign in).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("runs as"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text=_("Empty: the reports' system account, which sees every book."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The month (first day) last generated: a schedule runs once per month however often the task looks.
    last_period = models.DateField(_("last month generated"), null=True, blank=True)
    # The month whose pack was emailed: the last of its runs to finish sends it, once.
    emailed_period = models.DateField(_("last month emailed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("report schedule")
        verbose_name_plural = _("report schedules")
        constraints = [
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1, day_of_month__lte=28), name="report_schedule_day_in_every_month"
            )
        ]

    def __str__(self):
        return self.name


class DashboardFigure(models.Model):
    """One precomputed dashboard figure for one scope: the dashboards read these instead of counting
    large tables on every view. A periodic task recomputes them; `computed_at` says how fresh they are."""

    # "all" for the whole company, "agent:<id>" for an agent's book, "team:<id>" for a team's.
    scope = models.CharField(_("scope"), max_length=40)
    key = models.CharField(_("figure"), max_length=60)
    value = models.JSONField(_("value"))
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("dashboard figure")
        verbose_name_plural = _("dashboard figures")
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="dashboard_figure_one_per_scope")]

    def __str__(self):
        return f"{self.scope} {self.key}"
