from django.db.models import Exists, OuterRef, Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import OtpChallenge, Role, User

SEES_EVERY_BOOK = frozenset({Role.ADMIN, Role.INTERVENTORIA, Role.FINANCE})


def book_scope_q(user, *, agent_field="agent"):
    """The filter that limits a model owned by an agent (customers, policies...) to `user`'s scope.

    Admin, finance and interventoría see every book; a supervisor sees the books of the agents on
    the teams they lead; an agent sees their own; a customer signed in to the app sees what belongs
    to their own customer record (the agent field's path with `user` for `agent`: `customer__agent`
    becomes `customer__user`); anyone else sees nothing.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.role in SEES_EVERY_BOOK:
        return Q()
    if user.role == Role.SUPERVISOR:
        # A semi-join on the handful of agents they lead, not an OR across joins: on a million rows
        # the planner can then filter by the agent column and keep using the list's sort index.
        agents = User.objects.filter(Q(team__supervisor=user) | Q(pk=user.pk)).values("pk")
        return Q(**{f"{agent_field}__in": agents})
    if user.role == Role.AGENT:
        return Q(**{agent_field: user})
    if user.role == Role.CLIENT and agent_field.endswith("agent"):
        return Q(**{f"{agent_field.removesuffix('agent')}user": user})
    return Q(pk__in=[])


def users_visible_to(user):
    """Users whose records `user` may see: everyone for admin and interventoría, a supervisor's
    own agents (and themselves), and only themselves for everybody else."""
    users = User.objects.select_related("team", "team__supervisor").annotate(
        has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    if not user.is_authenticated or not user.is_active:
        return users.none()
    if user.role in {Role.ADMIN, Role.INTERVENTORIA}:
        return users
    if user.role == Role.SUPERVISOR:
        return users.filter(Q(team__supervisor=user) | Q(pk=user.pk))
    return users.filter(pk=user.pk)


def agents_supervised_by(user):
    return users_visible_to(user).filter(role=Role.AGENT, team__supervisor=user).order_by("team__name", "full_name")


def teams_led_by(user):
    return user.led_teams.order_by("name")


def otp_challenge_purpose(challenge_id):
    """The purpose of a challenge (which step its code completes), or None."""
    return OtpChallenge.objects.filter(pk=challenge_id).values_list("purpose", flat=True).first()


def otp_challenge_account_key(challenge_id):
    """Whose challenge it is, for per-account throttles: the user's id, else the challenge's own."""
    user_id = OtpChallenge.objects.filter(pk=challenge_id).values_list("user_id", flat=True).first()
    return f"user:{user_id}" if user_id else f"challenge:{challenge_id}"
