from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit.services import audit_record

from ..models import Role, Team, User, UserStatus
from .tokens import user_tokens_revoke


def team_rule_check(*, role, team):
    """Agents belong to a team (its supervisor oversees their book); nobody else does."""
    if role == Role.AGENT and team is None:
        raise ValidationError({"team": _("An agent must belong to a team.")})
    if role != Role.AGENT and team is not None:
        raise ValidationError({"team": _("Only agents belong to a team.")})


def _lock(user):
    return User.objects.select_for_update().get(pk=user.pk)


def _set_role_group(user):
    user.groups.set([Group.objects.get(name=user.role)])


@transaction.atomic
def user_create(
    *,
    actor,
    email_primary,
    full_name,
    id_type,
    id_number,
    role,
    team=None,
    password=None,
    status=UserStatus.ACTIVE,
    **profile,
):
    email_primary = email_primary.strip().lower()
    if User.objects.filter(email_primary__iexact=email_primary).exists():
        raise ValidationError({"email_primary": _("A user with this email already exists.")})
    if User.objects.filter(id_type=id_type, id_number=id_number).exists():
        raise ValidationError({"id_number": _("A user with this ID type and number already exists.")})
    team_rule_check(role=role, team=team)
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email_primary,
                password,
                full_name=full_name,
                id_type=id_type,
                id_number=id_number,
                role=role,
                team=team,
                status=status,
                **profile,
            )
    except IntegrityError as exc:
        # A concurrent request created the same email or ID between our check and our insert.
        raise ValidationError(_("A user with this email or ID number already exists.")) from exc
    _set_role_group(user)
    audit_record(
        actor=actor,
        action="user.created",
        target=user,
        metadata={"role": role, "team": team.name if team else None},
    )
    return user


@transaction.atomic
def user_change_role(*, user, role, actor, team=None, note=""):
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("You cannot change your own role."))
    team_rule_check(role=role, team=team)
    user = _lock(user)
    previous_role, previous_team = user.role, user.team
    if previous_role == Role.SUPERVISOR and role != Role.SUPERVISOR and user.led_teams.exists():
        raise ValidationError(_("This supervisor still leads a team; give the team a new supervisor first."))
    if previous_role == role and previous_team == team:
        return user
    user.role = role
    user.team = team
    user.save(update_fields=["role", "team"])
    _set_role_group(user)
    audit_record(
        actor=actor,
        action="user.role_changed",
        target=user,
        metadata={
            "from": previous_role,
            "to": role,
            "team_from": previous_team.name if previous_team else None,
            "team_to": user.team.name if user.team else None,
            "note": note,
        },
    )
    return user


@transaction.atomic
def user_suspend(*, user, actor, reason):
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the user is suspended.")})
    if actor is not None and actor.pk == user.pk:
        raise ValidationError(_("You cannot suspend yourself."))
    user = _lock(user)
    if user.status == UserStatus.SUSPENDED:
        raise ValidationError(_("This user is already suspended."))
    previous = user.status
    user.status = UserStatus.SUSPENDED
    user.save(update_fields=["status"])
    audit_record(
        actor=actor, action="user.suspended", target=user, metadata={"from": previous, "reason": reason.strip()}
    )
    # Tokens issued before stay dead after a reactivation too.
    user_tokens_revoke(user=user, reason="suspended", actor=actor)
    return user


@transaction.atomic
def user_reactivate(*, user, actor, note=""):
    user = _lock(user)
    if user.status == UserStatus.ACTIVE:
        raise ValidationError(_("This user is already active."))
    previous = user.status
    user.status = UserStatus.ACTIVE
    user.save(update_fields=["status"])
    audit_record(actor=actor, action="user.reactivated", target=user, metadata={"from": previous, "note": note})
    return user


@transaction.atomic
def team_create(*, actor, name, supervisor):
    if supervisor.role != Role.SUPERVISOR:
        raise ValidationError({"supervisor": _("A team is led by a supervisor.")})
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": _("A team with this name already exists.")})
    team = Team.objects.create(name=name, supervisor=supervisor)
    audit_record(actor=actor, action="team.created", target=team, metadata={"supervisor": supervisor.email_primary})
    return team


@transaction.atomic
def totp_device_start(*, user):
    """A new pending TOTP device with a fresh key, replacing any earlier pending one.

    Whoever saw an earlier enrolment page (with a phished password, say) holds a key that no longer
    exists by the time the user confirms theirs.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)


def totp_device_pending(*, user, device_id):
    """The pending device `device_id` of `user` (the one this session was shown), or None."""
    if device_id is None:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=False, pk=device_id).first()


@transaction.atomic
def totp_device_confirm(*, user, device_id, token):
    """Confirm the pending device this session was shown, if the authenticator app's code is right;
    every other pending device of the user goes."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False, pk=device_id).first()
    if device is None:
        raise ValidationError(_("Start the set-up again: there is no authenticator waiting for a code."))
    if not device.verify_token((token or "").strip().replace(" ", "")):
        raise ValidationError({"token": _("That code is not right. Check the time on your phone and try again.")})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    audit_record(actor=user, action="auth.2fa_enrolled", target=user, metadata={"device": "totp"})
    return device


@transaction.atomic
def user_reset_two_factor(*, user, actor, reason):
    """Remove a user's authenticator (a lost phone); they enrol again at the next sign-in."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Say why the second factor is reset.")})
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    audit_record(
        actor=actor, action="auth.2fa_reset", target=user, metadata={"devices_removed": removed, "reason": reason}
    )
    return removed


@transaction.atomic
def auth_event_record(*, action, user=None, email=""):
    """Audit a sign-in related event: by the user when we know who, else by the email typed."""
    if user is not None:
        audit_record(actor=user, action=action, target=user)
    else:
        email = email.strip().lower()[:254]
        audit_record(actor=None, actor_label=email, action=action, metadata={"email": email})


@transaction.atomic
def user_language_set(*, user, language):
    """Remember the language a user chose with the switch; every later page (and sign-in) uses it."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Unknown language.")})
    user = _lock(user)
    previous = user.language
    if previous == language:
        return user
    user.language = language
    user.save(update_fields=["language"])
    audit_record(actor=user, action="user.language_changed", target=user, metadata={"from": previous, "to": language})
    return user
