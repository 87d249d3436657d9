from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import Kind


class Source(models.Model):
    """A cedant or coverholder that sends us bordereaux."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("bordereau source")
        verbose_name_plural = _("bordereau sources")

    def __str__(self):
        return self.name


class MappingProfile(models.Model):
    """How to read one source's files of one kind; "auto" settings are detected from each file."""

    AUTO = "auto"
    ENCODINGS = [(AUTO, _("Detect")), ("utf-8", "UTF-8"), ("cp1252", "Windows-1252")]
    DELIMITERS = [(AUTO, _("Detect")), (",", _("Comma")), (";", _("Semicolon")), ("\t", _("Tab")), ("|", _("Pipe"))]
    DATE_FORMATS = [
        (AUTO, _("Detect")),
        ("%d/%m/%Y", "dd/mm/yyyy"),
        ("%m/%d/%Y", "mm/dd/yyyy"),
        ("%Y-%m-%d", "yyyy-mm-dd"),
        ("%d-%m-%Y", "dd-mm-yyyy"),
        ("%d.%m.%Y", "dd.mm.yyyy"),
    ]
    DECIMAL_STYLES = [(AUTO, _("Detect")), ("dot", "1,234,567.89"), ("comma", "1.234.567,89")]

    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.CASCADE, related_name="profiles")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.CHOICES)
    # our field name -> the column header in this source's files
    column_map = models.JSONField(_("column mapping"), default=dict, blank=True)
    encoding = models.CharField(_("encoding"), max_length=12, choices=ENCODINGS, default=AUTO)
    delimiter = models.CharField(_("delimiter"), max_length=4, choices=DELIMITERS, default=AUTO)
    date_format = models.CharField(_("date format"), max_length=12, choices=DATE_FORMATS, default=AUTO)
    decimal_style = models.CharField(_("decimal style"), max_length=8, choices=DECIMAL_STYLES, default=AUTO)
    header_row = models.PositiveIntegerField(
        _("header row"), null=True, blank=True, help_text=_("1-based line of the column headers; empty to detect")
    )
    all_or_nothing = models.BooleanField(
        _("all or nothing"), default=False, help_text=_("Load nothing from a file that has any rejected row.")
    )
    detected = models.JSONField(_("last detected layout"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("mapping profile")
        verbose_name_plural = _("mapping profiles")
        constraints = [models.UniqueConstraint(fields=["source", "kind"], name="mapping_profile_one_per_source_kind")]

    def __str__(self):
        return f"{self.source} · {self.get_kind_display()}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        MAPPING = "MAPPING", _("Needs column mapping")
        QUEUED = "QUEUED", _("Queued")
        RUNNING = "RUNNING", _("Running")
        SUCCEEDED = "SUCCEEDED", _("Succeeded")
        FAILED = "FAILED", _("Failed")
        CANCELLED = "CANCELLED", _("Cancelled")

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    # A file in one of these states counts as imported (or about to be) for its source and kind.
    HOLDS_FILE = (Status.MAPPING, Status.QUEUED, Status.RUNNING, Status.SUCCEEDED)

    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.CHOICES)
    period = models.DateField(_("period"), help_text=_("The month the bordereau reports on (first day)."))
    # Under a random name in AMPARO_PRIVATE_ROOT (see storage.py); the file's own name is original_name.
    stored_name = models.CharField(_("stored as"), max_length=80, unique=True)
    original_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size_bytes = models.BigIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    layout = models.JSONField(_("layout used"), default=dict, blank=True)
    rows_total = models.PositiveIntegerField(_("rows read"), default=0)
    rows_loaded = models.PositiveIntegerField(_("rows loaded"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Touched at every progress step: a running job whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        constraints = [
            # The same file is loaded once per source and kind; a failed or cancelled run may be retried.
            models.UniqueConstraint(
                fields=["source", "kind", "sha256"],
                condition=Q(status__in=["MAPPING", "QUEUED", "RUNNING", "SUCCEEDED"]),
                name="import_job_file_once_per_source_kind",
                violation_error_message=_("This file has already been imported for this source."),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.original_name}"

    @property
    def is_active(self):
        return self.status in self.ACTIVE


class RowError(models.Model):
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(_("row"))
    # A duplicate key names each of its columns (up to five, of up to 120 characters each).
    column = models.CharField(_("column"), max_length=255, blank=True)
    value = models.CharField(_("value"), max_length=255, blank=True)
    message = models.CharField(_("message"), max_length=255)

    class Meta:
        ordering = ["row_number", "id"]
        verbose_name = _("row error")
        indexes = [models.Index(fields=["job", "row_number"], name="row_error_job_row_idx")]

    def __str__(self):
        return f"row {self.row_number} {self.column}: {self.message}"


class BordereauRow(models.Model):
    # Millions of rows arrive per import: every index costs, so the natural key is the only one
    # besides the primary key, and it serves browsing too. On PostgreSQL the table is partitioned
    # by (source, period), one bordereau per partition (see partitions.py).
    # No database constraint on these two: every row of an import carries the same source and
    # job, and PostgreSQL would check each of a million rows at commit (7 s of a 60 s import).
    # The job row (with its own constraint to the source) is written and locked in the same
    # transaction, and sources and jobs are never deleted (PROTECT, no delete in the admin).
    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    period = models.DateField(_("period"))
    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    row_number = models.PositiveIntegerField(_("row in file"))
    currency = models.CharField(_("currency"), max_length=3)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        abstract = True


class RiskRow(BordereauRow):
    umr = models.CharField("UMR", max_length=200)
    certificate_ref = models.CharField(_("certificate ref"), max_length=200)
    # The standard's movement (Original, Additional or Return Premium...): see fields.TRANSACTION_TYPES.
    transaction_type = models.CharField(_("transaction type"), max_length=60)
    business_type = models.CharField(_("type of business"), max_length=20, blank=True, default="")
    # The file's effective date of the transaction, or the risk's inception date when it gives none.
    transaction_date = models.DateField(_("effective date of transaction"))
    insured_name = models.CharField(_("insured"), max_length=255)
    inception_date = models.DateField(_("inception"))
    expiry_date = models.DateField(_("expiry"))
    country = models.CharField(_("country"), max_length=2)
    sum_insured = models.DecimalField(_("sum insured"), max_digits=18, decimal_places=2)
    gross_premium = models.DecimalField(_("gross premium"), max_digits=18, decimal_places=2)
    commission_pct = models.DecimalField(_("commission %"), max_digits=7, decimal_places=4)
    total_taxes = models.DecimalField(_("total taxes"), max_digits=18, decimal_places=2)
    # Premiums of a return premium row are negative (and only theirs); sums insured never are.
    net_premium = models.DecimalField(_("net premium"), max_digits=18, decimal_places=2)
    class_of_business = models.CharField(_("class of business"), max_length=120)

    class Meta:
        verbose_name = _("risk bordereau row")
        constraints = [
            # The certificate first: each import builds this index by sorting its rows (see
            # partitions.py), and with source and period in front every comparison would first
            # walk two equal columns and a UMR shared by thousands of rows (1.6 s vs 0.6 s per million).
            models.UniqueConstraint(
                fields=[
                    "certificate_ref",
                    "umr",
                    "transaction_type",
                    "business_type",
                    "transaction_date",
                    "source",
                    "period",
                ],
                name="risk_row_natural_key",
            )
        ]

    def __str__(self):
        return f"{self.umr} / {self.certificate_ref} / {self.transaction_type}"


class ClaimRow(BordereauRow):
    claim_reference = models.CharField(_("claim reference"), max_length=200)
    umr = models.CharField("UMR", max_length=200, blank=True)
    certificate_ref = models.CharField(_("certificate ref"), max_length=200, blank=True)
    claim_status = models.CharField(_("claim status"), max_length=20)
    date_of_loss = models.DateField(_("date of loss"))
    date_first_advised = models.DateField(_("first advised"), null=True, blank=True)
    cause_of_loss = models.CharField(_("cause of loss"), max_length=200, blank=True)
    paid_indemnity = models.DecimalField(_("paid indemnity"), max_digits=18, decimal_places=2)
    paid_fees = models.DecimalField(_("paid fees"), max_digits=18, decimal_places=2)
    previously_paid = models.DecimalField(_("previously paid"), max_digits=18, decimal_places=2)
    reserve_indemnity = models.DecimalField(_("reserve indemnity"), max_digits=18, decimal_places=2)
    reserve_fees = models.DecimalField(_("reserve fees"), max_digits=18, decimal_places=2)
    total_incurred = models.DecimalField(_("total incurred"), max_digits=18, decimal_places=2)

    class Meta:
        verbose_name = _("claims bordereau row")
        constraints = [
            models.UniqueConstraint(fields=["claim_reference", "source", "period"], name="claim_row_natural_key")
        ]

    def __str__(self):
        return self.claim_reference


class BordereauTotal(models.Model):
    """One line of a bordereau's totals (a source and period): its rows of one currency and group,
    with their sums. The import that last changed the bordereau writes them in its own transaction,
    so that the rows page shows totals without summing a million rows on every visit."""

    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("period"))
    currency = models.CharField(_("currency"), max_length=3)
    rows = models.PositiveIntegerField(_("rows"))

    group = ""  # the column each line is for beside the currency

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.source} {self.period:%Y-%m} {self.currency} {getattr(self, self.group)}"


class RiskTotal(BordereauTotal):
    group = "class_of_business"
    class_of_business = models.CharField(_("class of business"), max_length=120)
    sum_insured = models.DecimalField(_("sum insured"), max_digits=24, decimal_places=2)
    gross_premium = models.DecimalField(_("gross premium"), max_digits=24, decimal_places=2)
    net_premium = models.DecimalField(_("net premium"), max_digits=24, decimal_places=2)

    class Meta:
        verbose_name = _("risk bordereau total")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "period", "currency", "class_of_business"], name="risk_total_one_per_group"
            )
        ]


class ClaimTotal(BordereauTotal):
    group = "claim_status"
    claim_status = models.CharField(_("claim status"), max_length=20)
    paid = models.DecimalField(_("paid"), max_digits=24, decimal_places=2)
    reserves = models.DecimalField(_("reserves"), max_digits=24, decimal_places=2)
    total_incurred = models.DecimalField(_("total incurred"), max_digits=24, decimal_places=2)

    class Meta:
        verbose_name = _("claims bordereau total")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "period", "currency", "claim_status"], name="claim_total_one_per_group"
            )
        ]


# The web-service sources' models live beside their code; loaded here, where Django looks for models.
from .sources.models import (  # noqa: E402, F401
    RateBudget,
    SourceBreaker,
    SourceClient,
    SourceConnection,
    SyncExchange,
    SyncPage,
    SyncRun,
)
