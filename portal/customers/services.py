from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import Role
from portal.audit.services import audit_record

from .models import Customer
from .selectors import assignable_agents, customer_duplicates, customers_visible_to, normalized_id_number

# What a customer's profile holds, and who their agent is: the fields the forms edit.
EDITABLE_FIELDS = (
    "full_name",
    "id_type",
    "id_number",
    "email_primary",
    "email_secondary",
    "phone",
    "address",
    "city",
    "birth_date",
    "agent",
)


def _cleaned(values):
    cleaned = dict(values)
    for name in ("full_name", "id_number", "email_secondary", "phone", "address", "city"):
        if name in cleaned and cleaned[name] is not None:
            cleaned[name] = " ".join(str(cleaned[name]).split())
    if "email_primary" in cleaned:
        cleaned["email_primary"] = (cleaned["email_primary"] or "").strip().lower()
    if "id_number" in cleaned:
        cleaned["id_number"] = normalized_id_number(cleaned["id_number"])
    return cleaned


def _check(values, *, actor, exclude_pk=None):
    errors = {}
    if not values.get("full_name"):
        errors["full_name"] = _("Enter the customer's full name.")
    if not values.get("id_number"):
        errors["id_number"] = _("Enter the customer's ID number.")
    birth_date = values.get("birth_date")
    if birth_date and birth_date > timezone.localdate():
        errors["birth_date"] = _("The birth date cannot be in the future.")
    if birth_date and birth_date.year < 1900:
        errors["birth_date"] = _("Enter a birth date after 1900.")
    agent = values.get("agent")
    if agent is None or not assignable_agents(actor).filter(pk=agent.pk).exists():
        errors["agent"] = _("Choose an active agent from your own book or team.")
    if values.get("id_number"):
        duplicates = list(
            customer_duplicates(
                id_type=values["id_type"],
                id_number=values["id_number"],
                email=values.get("email_primary"),
                exclude_pk=exclude_pk,
            )
        )
        # Name the existing customer only to someone who may see them; others learn only that it exists.
        visible = set(
            customers_visible_to(actor).filter(pk__in=[d.pk for d in duplicates]).values_list("pk", flat=True)
        )
        for duplicate in duplicates:
            same_id = duplicate.id_type == values["id_type"] and duplicate.id_number == values["id_number"]
            if same_id and duplicate.pk in visible:
                errors["id_number"] = _("%(type)s %(number)s is already a customer: %(name)s (agent %(agent)s).") % {
                    "type": duplicate.id_type,
                    "number": duplicate.id_number,
                    "name": duplicate.full_name,
                    "agent": duplicate.agent.full_name,
                }
            elif same_id:
                errors["id_number"] = _(
                    "%(type)s %(number)s is already registered with another agent — ask your supervisor."
                ) % {"type": duplicate.id_type, "number": duplicate.id_number}
            elif duplicate.pk in visible:
                errors["email_primary"] = _("%(email)s is already the email of customer %(name)s.") % {
                    "email": duplicate.email_primary,
                    "name": duplicate.full_name,
                }
            else:
                errors["email_primary"] = _(
                    "This email is already registered with another agent — ask your supervisor."
                )
    if errors:
        raise ValidationError(errors)


def _save(customer):
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        # A concurrent request registered the same ID or email between our check and our write.
        raise ValidationError(_("A customer with this ID number or email already exists.")) from exc


@transaction.atomic
def customer_create(*, actor, agent, full_name, id_type, id_number, **profile):
    values = _cleaned({"agent": agent, "full_name": full_name, "id_type": id_type, "id_number": id_number, **profile})
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_create() got unexpected fields {sorted(unknown)}")
    _check(values, actor=actor)
    customer = Customer(created_by=actor, **values)
    _save(customer)
    audit_record(actor=actor, action="customer.created", target=customer, metadata={"agent": agent.email_primary})
    return customer


@transaction.atomic
def customer_update(*, customer, actor, **changes):
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_update() got unexpected fields {sorted(unknown)}")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    current = {name: getattr(customer, name) for name in EDITABLE_FIELDS}
    values = {**current, **_cleaned(changes)}
    changed = {name for name in EDITABLE_FIELDS if values[name] != current[name]}
    if not changed:
        return customer
    _check(values, actor=actor, exclude_pk=customer.pk)
    for name in changed:
        setattr(customer, name, values[name])
    _save(customer)
    audit_record(
        actor=actor,
        action="customer.updated",
        target=customer,
        metadata={
            name: {"from": _audit_value(current[name]), "to": _audit_value(values[name])} for name in sorted(changed)
        },
    )
    return customer


def _audit_value(value):
    if hasattr(value, "email_primary"):
        return value.email_primary
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@transaction.atomic
def customer_link_app_account(*, customer, user, actor):
    """Link the customer's record to the mobile-app account they sign in with (one account, one customer)."""
    if user.role != Role.CLIENT:
        raise ValidationError({"user": _("Only a customer app account (role Client) can be linked to a customer.")})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.user_id == user.pk:
        return customer
    if Customer.objects.filter(user=user).exclude(pk=customer.pk).exists():
        raise ValidationError({"user": _("This app account already belongs to another customer.")})
    customer.user = user
    _save(customer)
    audit_record(
        actor=actor, action="customer.app_account_linked", target=customer, metadata={"account": user.email_primary}
    )
    return customer
