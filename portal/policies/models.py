from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.core.models import AppendOnlyModel
from portal.core.money import CURRENCIES


class LineOfBusiness(models.TextChoices):
    AUTO = "AUTO", _("Auto")
    HOME = "HOME", _("Home")
    LIFE = "LIFE", _("Life")
    HEALTH = "HEALTH", _("Health")
    PROPERTY = "PROPERTY", _("Commercial property")
    TRAVEL = "TRAVEL", _("Travel")


class Product(models.Model):
    """An insurance product: its coverages (amparos) and the rules that price them."""

    code = models.CharField(
        _("code"),
        max_length=12,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z][A-Z0-9]{1,11}$", _("Two to twelve capital letters or digits, starting with a letter.")
            )
        ],
        help_text=_("Capital letters and digits; it prefixes the policy numbers (AUTO-2026-000123)."),
    )
    name = models.CharField(_("name"), max_length=120)
    line = models.CharField(_("line of business"), max_length=12, choices=LineOfBusiness.choices)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default="COP")
    description = models.TextField(_("description"), blank=True)
    term_months = models.PositiveSmallIntegerField(_("term (months)"), default=12, validators=[MinValueValidator(1)])
    min_sum_insured = models.DecimalField(_("minimum sum insured"), max_digits=16, decimal_places=2, default=0)
    max_sum_insured = models.DecimalField(_("maximum sum insured"), max_digits=16, decimal_places=2)
    requires_age = models.BooleanField(
        _("rated by age"), default=False, help_text=_("The insured's age is a rating input (life, health).")
    )
    min_age = models.PositiveSmallIntegerField(_("minimum age"), default=18)
    max_age = models.PositiveSmallIntegerField(_("maximum age"), default=75)
    expense_loading_pct = models.DecimalField(
        _("expense loading %"), max_digits=5, decimal_places=2, default=0, help_text=_("Commission and expenses.")
    )
    tax_pct = models.DecimalField(_("tax (IVA) %"), max_digits=5, decimal_places=2, default=0)
    min_premium = models.DecimalField(_("minimum net premium"), max_digits=16, decimal_places=2, default=0)
    quote_validity_days = models.PositiveSmallIntegerField(_("quote validity (days)"), default=30)
    is_active = models.BooleanField(_("on sale"), default=True)
    sold_in_app = models.BooleanField(
        _("sold in the app"),
        default=False,
        help_text=_("Customers may quote and buy it themselves in the mobile app (while it is on sale)."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(condition=Q(max_sum_insured__gt=F("min_sum_insured")), name="product_si_range"),
            models.CheckConstraint(condition=Q(max_age__gte=F("min_age")), name="product_age_range"),
            models.CheckConstraint(
                condition=Q(expense_loading_pct__gte=0, tax_pct__gte=0, min_premium__gte=0),
                name="product_factors_not_negative",
            ),
            # One code, one prefix: "moto" and "MOTO" would otherwise number policies alike.
            models.CheckConstraint(condition=Q(code=Upper("code")), name="product_code_upper_case"),
        ]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # "moto" typed in the admin is read as MOTO before the capitals-only check.
        self.code = (self.code or "").strip().upper()
        super().clean_fields(exclude=exclude)


class Coverage(models.Model):
    """An amparo: what is covered, up to which share of the sum insured, with which deductible and rate."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="coverages")
    code = models.SlugField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=255, blank=True)
    limit_pct = models.DecimalField(
        _("limit (% of sum insured)"), max_digits=6, decimal_places=2, default=100, validators=[MinValueValidator(0)]
    )
    deductible_pct = models.DecimalField(
        _("deductible (% of loss)"), max_digits=5, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    deductible_min = models.DecimalField(_("minimum deductible"), max_digits=16, decimal_places=2, default=0)
    rate_per_mille = models.DecimalField(
        _("annual rate (‰ of the limit)"), max_digits=8, decimal_places=4, validators=[MinValueValidator(0)]
    )
    is_mandatory = models.BooleanField(_("mandatory"), default=False)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["product", "position", "id"]
        verbose_name = _("coverage")
        verbose_name_plural = _("coverages")
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="coverage_code_per_product"),
            models.CheckConstraint(
                condition=Q(limit_pct__gte=0, deductible_pct__gte=0, deductible_pct__lte=100, rate_per_mille__gte=0),
                name="coverage_figures_in_range",
            ),
        ]

    def __str__(self):
        return f"{self.product.code} · {self.name}"


class RatingRule(models.Model):
    """A factor applied to the risk premium when an input falls in [low, high]."""

    class Factor(models.TextChoices):
        AGE = "AGE", _("Insured's age")
        SUM_INSURED = "SUM_INSURED", _("Sum insured")

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="rating_rules"
    )
    factor = models.CharField(_("input"), max_length=12, choices=Factor.choices)
    low = models.DecimalField(_("from"), max_digits=16, decimal_places=2)
    high = models.DecimalField(_("to"), max_digits=16, decimal_places=2)
    multiplier = models.DecimalField(_("multiplier"), max_digits=6, decimal_places=4)
    label = models.CharField(_("label"), max_length=80)

    class Meta:
        ordering = ["product", "factor", "low"]
        verbose_name = _("rating rule")
        verbose_name_plural = _("rating rules")
        constraints = [
            models.CheckConstraint(condition=Q(high__gte=F("low")), name="rating_rule_band_order"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="rating_rule_multiplier_positive"),
        ]

    def __str__(self):
        return f"{self.product.code} · {self.label} x{self.multiplier}"


class QuoteStatus(models.TextChoices):
    DRAFT = "DRAFT", pgettext_lazy("quote status", "Draft")
    QUOTED = "QUOTED", pgettext_lazy("quote status", "Quoted")
    ACCEPTED = "ACCEPTED", pgettext_lazy("quote status", "Accepted")
    ISSUED = "ISSUED", pgettext_lazy("quote status", "Issued")
    EXPIRED = "EXPIRED", pgettext_lazy("quote status", "Expired")
    DECLINED = "DECLINED", pgettext_lazy("quote status", "Declined")


class PolicyStatus(models.TextChoices):
    # In Spanish a policy (póliza) is feminine: these labels have their own context.
    PENDING = "PENDING", pgettext_lazy("policy status", "Pending start")
    ACTIVE = "ACTIVE", pgettext_lazy("policy status", "Active")
    SUSPENDED = "SUSPENDED", pgettext_lazy("policy status", "Suspended")
    EXPIRED = "EXPIRED", pgettext_lazy("policy status", "Expired")
    CANCELLED = "CANCELLED", pgettext_lazy("policy status", "Cancelled")
    # Ended for non-payment: an instalment stayed unpaid past the grace period.
    LAPSED = "LAPSED", pgettext_lazy("policy status", "Lapsed")


class PaymentFrequency(models.TextChoices):
    """How often the customer pays the premium of a term; each instalment covers that many months."""

    ANNUAL = "ANNUAL", _("Annual (one payment)")
    SEMIANNUAL = "SEMIANNUAL", _("Semi-annual")
    QUARTERLY = "QUARTERLY", _("Quarterly")
    MONTHLY = "MONTHLY", _("Monthly")

    @property
    def months(self):
        return {"ANNUAL": 12, "SEMIANNUAL": 6, "QUARTERLY": 3, "MONTHLY": 1}[self.value]


class Quote(models.Model):
    Status = QuoteStatus
    OPEN = (QuoteStatus.DRAFT, QuoteStatus.QUOTED, QuoteStatus.ACCEPTED)

    number = models.CharField(_("number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="quotes"
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="quotes")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField(_("cover starts"))
    end_date = models.DateField(_("cover ends"))
    sum_insured = models.DecimalField(_("sum insured"), max_digits=16, decimal_places=2)
    coverage_codes = models.JSONField(_("coverages chosen"), default=list)
    insured_age = models.PositiveSmallIntegerField(_("insured's age"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    premium = models.DecimalField(_("premium"), max_digits=16, decimal_places=2)
    breakdown = models.JSONField(_("premium breakdown"), default=dict)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    payment_frequency = models.CharField(
        _("payment frequency"), max_length=10, choices=PaymentFrequency.choices, default=PaymentFrequency.ANNUAL
    )
    renewal_of = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("renews policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewal_quotes",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decline_reason = models.CharField(_("decline reason"), max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=QuoteStatus.values), name="quote_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_frequency__in=PaymentFrequency.values), name="quote_payment_frequency_valid"
            ),
            models.CheckConstraint(condition=Q(end_date__gt=F("start_date")), name="quote_dates_in_order"),
            models.CheckConstraint(condition=Q(sum_insured__gt=0, premium__gte=0), name="quote_amounts_positive"),
        ]
        indexes = [models.Index(fields=["status", "valid_until"], name="quote_status_validity_idx")]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.status in self.OPEN


class Policy(models.Model):
    Status = PolicyStatus
    number = models.CharField(_("policy number"), max_length=30, unique=True)
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="policies")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="policies"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    payment_frequency = models.CharField(
        _("payment frequency"), max_length=10, choices=PaymentFrequency.choices, default=PaymentFrequency.ANNUAL
    )
    current_version = models.OneToOneField(
        "policies.PolicyVersion",
        verbose_name=_("current version"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    quote = models.OneToOneField(
        Quote, verbose_name=_("quote"), on_delete=models.PROTECT, null=True, blank=True, related_name="policy"
    )
    renewal_of = models.OneToOneField(
        "self",
        verbose_name=_("renews"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renewed_by",
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    # The insurer's core system's id for this policy, from its acknowledgement of the issuance.
    core_reference = models.CharField(_("reference in the insurer's core"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PolicyStatus.values), name="policy_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_frequency__in=PaymentFrequency.values), name="policy_payment_frequency_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="policy_status_created_idx"),
            # The policy list's default order (newest issued first) for a book of any size.
            models.Index(fields=["-created_at"], name="policy_created_idx"),
            # LIKE 'AUTO-2026%' prefix searches whatever the database's collation.
            models.Index(fields=["number"], name="policy_number_prefix_idx", opclasses=["varchar_pattern_ops"]),
            # Reconciliation: policies the insurer's core has not acknowledged yet.
            models.Index(fields=["created_at"], name="policy_no_core_ref_idx", condition=Q(core_reference="")),
        ]

    def __str__(self):
        return self.number


class PolicyVersion(AppendOnlyModel):
    """One immutable state of a policy's terms. A change makes a new version; old ones never change.

    The model refuses updates and deletes, and on PostgreSQL a trigger makes the database refuse
    them too.
    """

    class Kind(models.TextChoices):
        NEW_BUSINESS = "NEW_BUSINESS", _("New business")
        ENDORSEMENT = "ENDORSEMENT", _("Endorsement")
        RENEWAL = "RENEWAL", _("Renewal")
        CANCELLATION = "CANCELLATION", _("Cancellation")
        REINSTATEMENT = "REINSTATEMENT", _("Reinstatement")

    policy = models.ForeignKey(Policy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    effective_date = models.DateField(_("effective from"))
    start_date = models.DateField(_("cover starts"))
    end_date = models.DateField(_("cover ends"))
    sum_insured = models.DecimalField(_("sum insured"), max_digits=16, decimal_places=2)
    insured_age = models.PositiveSmallIntegerField(_("insured's age"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    # [{code, name, limit, deductible_pct, deductible_min, rate_per_mille, premium}] as priced for this version
    coverages = models.JSONField(_("coverages"), default=list)
    premium = models.DecimalField(_("premium for the term"), max_digits=16, decimal_places=2)
    breakdown = models.JSONField(_("premium breakdown"), default=dict)
    premium_change = models.DecimalField(
        _("premium charged (+) or returned (-)"),
        max_digits=16,
        decimal_places=2,
        help_text=_("What this version adds to or returns from what the customer pays, pro rata."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    refusal = "Policy versions are immutable"

    class Meta:
        ordering = ["policy", "number"]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="policy_version_number_unique"),
            models.CheckConstraint(condition=Q(end_date__gt=F("start_date")), name="policy_version_dates_in_order"),
            models.CheckConstraint(
                condition=Q(effective_date__gte=F("start_date"), effective_date__lte=F("end_date")),
                name="policy_version_effective_in_term",
            ),
            models.CheckConstraint(condition=Q(sum_insured__gt=0, premium__gte=0), name="policy_version_amounts"),
        ]
        indexes = [
            models.Index(fields=["end_date"], name="policy_version_end_idx"),
            models.Index(fields=["start_date"], name="policy_version_start_idx"),
        ]

    def __str__(self):
        return f"{self.policy.number} v{self.number}"

    @property
    def ends_cover(self):
        """A cancellation version: cover stops at its effective date."""
        return self.kind == self.Kind.CANCELLATION

    @property
    def cover_end(self):
        return self.effective_date if self.ends_cover else self.end_date


class RenewalReminder(models.Model):
    """A renewal reminder sent to the customer; one per policy and stage, so none is ever sent twice."""

    class Stage(models.IntegerChoices):
        DAYS_30 = 30, _("30 days before expiry")
        DAYS_7 = 7, _("7 days before expiry")

    policy = models.ForeignKey(Policy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="reminders")
    stage = models.PositiveSmallIntegerField(_("stage"), choices=Stage.choices)
    email = models.EmailField(_("sent to"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        ordering = ["policy", "-stage"]
        verbose_name = _("renewal reminder")
        verbose_name_plural = _("renewal reminders")
        constraints = [models.UniqueConstraint(fields=["policy", "stage"], name="renewal_reminder_once_per_stage")]

    def __str__(self):
        return f"{self.policy.number} · {self.get_stage_display()}"
