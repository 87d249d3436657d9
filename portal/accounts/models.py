import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .photos import profile_photo_storage


class Role(models.TextChoices):
    ADMIN = "ADMIN", _("Administrator")
    SUPERVISOR = "SUPERVISOR", _("Supervisor")
    AGENT = "AGENT", _("Agent")
    FINANCE = "FINANCE", _("Finance")
    INTERVENTORIA = "INTERVENTORIA", _("Interventoría (audit)")
    CLIENT = "CLIENT", _("Client")


STAFF_ROLES = frozenset(Role.values) - {Role.CLIENT}


class UserStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Active")
    SUSPENDED = "SUSPENDED", _("Suspended")
    PENDING_VERIFICATION = "PENDING_VERIFICATION", _("Pending verification")


class IdType(models.TextChoices):
    CC = "CC", _("Cédula de ciudadanía")
    CE = "CE", _("Cédula de extranjería")
    NIT = "NIT", _("NIT")
    PA = "PA", _("Passport")
    TI = "TI", _("Tarjeta de identidad")
    PPT = "PPT", _("Permiso por protección temporal")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email_primary, password, **extra_fields):
        if not email_primary:
            raise ValueError("A user needs a primary email")
        user = self.model(email_primary=self.normalize_email(email_primary).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email_primary, password=None, **extra_fields):
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email_primary, password, **extra_fields)

    def create_superuser(self, email_primary, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        extra_fields["is_superuser"] = True
        return self._create_user(email_primary, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email_primary__iexact=username)


class Team(models.Model):
    """A sales team: agents whose book the supervisor oversees."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    supervisor = models.ForeignKey(
        "accounts.User",
        verbose_name=_("supervisor"),
        on_delete=models.PROTECT,
        related_name="led_teams",
        limit_choices_to={"role": Role.SUPERVISOR},
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self):
        return self.name


class User(AbstractBaseUser, PermissionsMixin):
    email_primary = models.EmailField(_("primary email"), unique=True)
    email_secondary = models.EmailField(_("secondary email"), blank=True)
    full_name = models.CharField(_("full name"), max_length=200)
    id_type = models.CharField(_("ID type"), max_length=4, choices=IdType.choices, default=IdType.CC)
    id_number = models.CharField(_("ID number"), max_length=30)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # Private (portal.accounts.photos): set only by user_profile_photo_set, served only to its owner.
    profile_photo = models.ImageField(
        _("profile photo"), storage=profile_photo_storage, max_length=200, blank=True, editable=False
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT, db_index=True)
    status = models.CharField(_("status"), max_length=24, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    # Derived by the database so that no code path can let it drift from `status`.
    is_active = models.GeneratedField(
        expression=Q(status=UserStatus.ACTIVE),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agents",
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # Blank: no choice made, the portal's default (settings.LANGUAGE_CODE) applies.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True, default="")
    # In every API token; bumped (services.tokens.user_tokens_revoke) to make every token issued before fail.
    token_version = models.PositiveIntegerField(_("token version"), default=0)

    objects = UserManager()

    USERNAME_FIELD = "email_primary"
    EMAIL_FIELD = "email_primary"
    REQUIRED_FIELDS = ["full_name", "id_type", "id_number"]

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email_primary"),
                name="user_email_primary_ci_unique",
                violation_error_message=_("A user with this email already exists."),
            ),
            models.UniqueConstraint(
                fields=["id_type", "id_number"],
                name="user_id_type_number_unique",
                violation_error_message=_("A user with this ID type and number already exists."),
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(condition=Q(status__in=UserStatus.values), name="user_status_valid"),
            models.CheckConstraint(
                condition=Q(team__isnull=True) | Q(role=Role.AGENT),
                name="user_team_only_for_agents",
                violation_error_message=_("Only agents belong to a team."),
            ),
        ]

    def __str__(self):
        return f"{self.full_name} <{self.email_primary}>"

    @property
    def is_staff(self):
        """Django admin is for configuration, and configuration is the administrators' job."""
        return self.role == Role.ADMIN

    @property
    def is_staff_role(self):
        return self.role in STAFF_ROLES

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email_primary


class OtpPurpose(models.TextChoices):
    SIGN_UP = "SIGN_UP", _("Sign-up")
    SIGN_IN = "SIGN_IN", _("Sign-in")
    PASSWORD_RESET = "PASSWORD_RESET", _("Password reset")
    EMAIL_CHANGE = "EMAIL_CHANGE", _("Email change")


class OtpMethod(models.TextChoices):
    EMAIL = "EMAIL", _("Code sent by email")
    TOTP = "TOTP", _("Authenticator app")


class OtpChallenge(models.Model):
    """One step that waits for a one-time code: the code went to `email` (or comes from the user's
    authenticator app), and only its keyed hash, bound to this challenge's id, is kept.

    A challenge with no user is a decoy: the API answers for it exactly as for a real one, so the
    answer never tells whether an account or an email exists; no code of it was ever sent.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Waiting for the code")
        USED = "USED", _("Used")
        DEAD = "DEAD", _("No longer valid")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="otp_challenges"
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=OtpPurpose.choices)
    method = models.CharField(_("method"), max_length=8, choices=OtpMethod.choices, default=OtpMethod.EMAIL)
    email = models.EmailField(_("sent to"), blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    failed_attempts = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    sends = models.PositiveSmallIntegerField(_("codes sent"), default=0)
    last_sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    # What the step needs once the code is right (the new address of an email change).
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code challenge")
        verbose_name_plural = _("one-time code challenges")
        indexes = [models.Index(fields=["user", "purpose", "status"], name="otp_user_purpose_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=OtpPurpose.values), name="otp_purpose_valid"),
            models.CheckConstraint(condition=Q(method__in=OtpMethod.values), name="otp_method_valid"),
            models.CheckConstraint(condition=Q(status__in=["PENDING", "USED", "DEAD"]), name="otp_status_valid"),
            models.CheckConstraint(
                condition=Q(status="USED", used_at__isnull=False) | ~Q(status="USED"), name="otp_used_has_time"
            ),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} {self.pk}"


class RefreshFamily(models.Model):
    """The refresh tokens one sign-in has led to, each replacing the one before (rotation).

    Only `current_jti` may be refreshed; `previous_jti` answers again with the current pair for a
    short grace window (two requests raced with it), and any other token of the family, or the
    previous one after the window, is a replay: the whole family is revoked.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="refresh_families")
    generation = models.PositiveIntegerField(_("rotations"), default=0)
    current_jti = models.CharField(max_length=64)
    current_issued_at = models.DateTimeField()
    previous_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.CharField(_("why revoked"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("refresh token family")
        verbose_name_plural = _("refresh token families")
        indexes = [
            models.Index(fields=["user"], condition=Q(revoked_at__isnull=True), name="refresh_family_live_user_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""), name="refresh_family_revoked_says_why"
            ),
        ]

    def __str__(self):
        return f"{self.user_id}/{self.pk}"
