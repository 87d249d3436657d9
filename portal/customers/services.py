from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts import services as account_services
from portal.accounts.models import OtpPurpose, Role, User, UserStatus
from portal.audit.services import audit_record
from portal.notifications.services import email_queue

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
    return _update(customer, actor, changes, check=lambda values, pk: _check(values, actor=actor, exclude_pk=pk))


# What a customer may change of their own record in the app: never their ID (it identifies them to the
# insurer), their agent, or their primary email (verified by a code first: app_email_change_verify).
SELF_SERVICE_FIELDS = ("full_name", "email_secondary", "phone", "address", "city", "birth_date")


def _self_service_check(values, pk):
    errors = {}
    if not values.get("full_name"):
        errors["full_name"] = _("Enter your full name.")
    birth_date = values.get("birth_date")
    if birth_date and birth_date > timezone.localdate():
        errors["birth_date"] = _("The birth date cannot be in the future.")
    if birth_date and birth_date.year < 1900:
        errors["birth_date"] = _("Enter a birth date after 1900.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def customer_profile_update(*, customer, actor, **changes):
    """A customer's changes to their own profile, from the app (`actor` is their linked account)."""
    unknown = set(changes) - set(SELF_SERVICE_FIELDS)
    if unknown:
        raise TypeError(f"customer_profile_update() got unexpected fields {sorted(unknown)}")
    if customer.user_id != actor.pk:
        raise ValidationError(_("Only the customer themselves may change their profile here."))
    return _update(customer, actor, changes, check=_self_service_check, channel="app")


def _update(customer, actor, changes, *, check, channel=None):
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    current = {name: getattr(customer, name) for name in EDITABLE_FIELDS}
    values = {**current, **_cleaned(changes)}
    changed = {name for name in EDITABLE_FIELDS if values[name] != current[name]}
    if not changed:
        return customer
    check(values, customer.pk)
    for name in changed:
        setattr(customer, name, values[name])
    _save(customer)
    metadata = {
        name: {"from": _audit_value(current[name]), "to": _audit_value(values[name])} for name in sorted(changed)
    }
    if channel:
        metadata["channel"] = channel
    audit_record(actor=actor, action="customer.updated", target=customer, metadata=metadata)
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


# --- the mobile app's sign-up and email change ----------------------------------------------------


def _signup_notice(address):
    """Tell the owner of `address` that a sign-up with their details was refused (they may already
    have an account); the person signing up is told nothing of it."""
    if address:
        email_queue(
            to=[address],
            subject=_("Someone tried to sign up to Amparo with your details"),
            body=render_to_string("accounts/emails/signup_notice.txt", {}),
        )


def _signup_decoy(address, reason, password):
    # As long as a real sign-up takes (it hashes the password): the time taken tells nothing either.
    make_password(password)
    audit_record(actor=None, actor_label=address or "", action="customer.app_signup_refused", metadata={"why": reason})
    _signup_notice(address)
    return account_services.otp_challenge_issue(user=None, purpose=OtpPurpose.SIGN_UP, email=address)


def _pending_account(address, id_type, id_number):
    """The unverified app account a sign-up may take over (or None to create one), or False when an
    account that is not a pending app account holds the address or the ID."""
    holders = list(
        User.objects.select_for_update().filter(
            Q(email_primary__iexact=address) | Q(id_type=id_type, id_number=id_number)
        )
    )
    if len(holders) > 1 or any(
        holder.status != UserStatus.PENDING_VERIFICATION or holder.role != Role.CLIENT for holder in holders
    ):
        return False
    return holders[0] if holders else None


@transaction.atomic
def app_signup_start(*, full_name, id_type, id_number, email, phone, birth_date, password):
    """The first step of a sign-up in the app: a pending account and a code by email.

    When a customer with this ID exists, the code goes to the email on file (never to the one
    typed) and the account is linked to that customer once verified; otherwise a customer is
    created in the direct book at verification. The challenge returned looks the same whatever
    exists: when the details cannot sign up (an account already exists, the record has no email),
    it is a decoy and the owner of the address is told by email instead.
    """
    values = _cleaned({"full_name": full_name, "id_number": id_number, "email_primary": email, "phone": phone})
    id_number, email = values["id_number"], values["email_primary"]
    if not values["full_name"] or not id_number:
        raise ValidationError(_("Enter your full name and ID number."))
    if birth_date and not (birth_date.year >= 1900 and birth_date <= timezone.localdate()):
        raise ValidationError({"birth_date": _("Enter your real birth date.")})
    probe = User(full_name=values["full_name"], email_primary=email, id_number=id_number)
    try:
        validate_password(password, probe)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from error
    customer = Customer.objects.select_for_update().filter(id_type=id_type, id_number=id_number).first()
    if customer is not None:
        address = customer.email_primary
        if not address or customer.user_id is not None:
            return _signup_decoy(address, "customer_has_account_or_no_email", password)
    else:
        address = email
        if Customer.objects.filter(email_primary__iexact=email).exists():
            return _signup_decoy(address, "email_of_another_customer", password)
    account = _pending_account(address, id_type, id_number)
    if account is False:
        return _signup_decoy(address, "account_exists", password)
    profile = {"full_name": values["full_name"], "phone": values["phone"], "birth_date": birth_date}
    if account is None:
        account = account_services.user_create(
            actor=None,
            email_primary=address,
            id_type=id_type,
            id_number=id_number,
            role=Role.CLIENT,
            password=password,
            status=UserStatus.PENDING_VERIFICATION,
            **profile,
        )
    else:
        # An earlier unfinished sign-up: the newest details and password win; only the owner of the
        # address can finish either.
        for name, value in {**profile, "email_primary": address, "id_type": id_type, "id_number": id_number}.items():
            setattr(account, name, value)
        account.set_password(password)
        account.save()
    return account_services.otp_challenge_issue(
        user=account,
        purpose=OtpPurpose.SIGN_UP,
        email=address,
        payload={"customer": customer.pk if customer else None},
    )


def app_signup_verify(*, challenge_id, code):
    """The account, verified and linked to its customer (created in the direct book when new), once
    the sign-up code is right. A wrong code counts against the challenge (see otp_challenge_redeem)."""
    return account_services.otp_challenge_redeem(
        challenge_id=challenge_id, code=code, purposes=[OtpPurpose.SIGN_UP], apply=_signup_complete
    )


def _direct_book_agent():
    agent = User.objects.filter(
        email_primary__iexact=settings.AMPARO_DIRECT_BOOK_AGENT_EMAIL, role=Role.AGENT, status=UserStatus.ACTIVE
    ).first()
    if agent is None:
        raise ValidationError(_("Sign-up in the app is not available right now. Please contact Amparo."))
    return agent


@transaction.atomic
def _signup_complete(challenge):
    user = account_services.user_email_verify(user=challenge.user)
    customer_id = challenge.payload.get("customer")
    customer = (
        Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer_id
        else Customer.objects.select_for_update().filter(id_type=user.id_type, id_number=user.id_number).first()
    )
    if customer is None:
        customer = Customer(
            agent=_direct_book_agent(),
            created_by=user,
            full_name=user.full_name,
            id_type=user.id_type,
            id_number=user.id_number,
            email_primary=user.email_primary,
            phone=user.phone,
            birth_date=user.birth_date,
        )
        _save(customer)
        audit_record(
            actor=user,
            action="customer.created",
            target=customer,
            metadata={"agent": customer.agent.email_primary, "channel": "app"},
        )
    elif customer.user_id is not None or customer.email_primary.lower() != user.email_primary.lower():
        # The record was linked, its email changed, or it was made, since the code was sent.
        raise ValidationError(_("Your customer record changed meanwhile. Sign up again, or ask your agent."))
    customer_link_app_account(customer=customer, user=user, actor=user)
    return user


def app_email_change_verify(*, user, challenge_id, code):
    """The user's new primary email, once its code is right; their customer record follows it."""
    return account_services.otp_challenge_redeem(
        challenge_id=challenge_id, code=code, purposes=[OtpPurpose.EMAIL_CHANGE], apply=_email_change_apply, user=user
    )


@transaction.atomic
def _email_change_apply(challenge):
    new_email = challenge.payload["new_email"]
    customer = Customer.objects.select_for_update().filter(user=challenge.user).first()
    taken = Customer.objects.filter(email_primary__iexact=new_email)
    if customer is not None and taken.exclude(pk=customer.pk).exists():
        raise ValidationError({"new_email": _("Another customer already uses this email. Ask your agent.")})
    user = account_services.user_email_change(user=challenge.user, new_email=new_email)
    if customer is not None:
        previous = customer.email_primary
        customer.email_primary = new_email
        _save(customer)
        audit_record(
            actor=user,
            action="customer.updated",
            target=customer,
            metadata={"email_primary": {"from": previous, "to": new_email}, "channel": "app"},
        )
    return user
