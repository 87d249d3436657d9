from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import IdType, Role


class Customer(models.Model):
    """A policyholder. It may exist without an app account; `user` links the one it signs in with."""

    full_name = models.CharField(_("full name"), max_length=200)
    id_type = models.CharField(_("ID type"), max_length=4, choices=IdType.choices, default=IdType.CC)
    id_number = models.CharField(_("ID number"), max_length=30)
    email_primary = models.EmailField(_("primary email"), blank=True)
    email_secondary = models.EmailField(_("secondary email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="customers",
        limit_choices_to={"role": Role.AGENT},
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("app account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer",
        limit_choices_to={"role": Role.CLIENT},
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["full_name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["id_type", "id_number"],
                name="customer_id_type_number_unique",
                violation_error_message=_("A customer with this ID type and number already exists."),
            ),
            models.UniqueConstraint(
                Lower("email_primary"),
                condition=~Q(email_primary=""),
                name="customer_email_primary_ci_unique",
                violation_error_message=_("A customer with this email already exists."),
            ),
            models.CheckConstraint(condition=~Q(full_name=""), name="customer_full_name_present"),
            models.CheckConstraint(condition=~Q(id_number=""), name="customer_id_number_present"),
        ]
        indexes = [
            models.Index(fields=["agent", "full_name"], name="customer_agent_name_idx"),
            # Equality and LIKE '5212%' prefix searches whatever the database's collation.
            models.Index(fields=["id_number"], name="customer_id_number_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["full_name", "id"], name="customer_name_idx"),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.id_type} {self.id_number})"

    def age_on(self, day):
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday
