"""User management: the services (every write, audited in the same transaction) and the admin views over them."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts import services
from portal.accounts.models import IdType, Role, User, UserStatus
from portal.accounts.views import MANAGE_USERS_REASON
from portal.audit.models import AuditEvent

from .factories import TeamFactory, UserFactory
from .helpers import HTMX


def create_kwargs(**overrides):
    values = {
        "email_primary": "nueva.agente@amparo.test",
        "full_name": "Nueva Agente Pérez",
        "id_type": IdType.CC,
        "id_number": "52123456",
        "role": Role.FINANCE,
        "team": None,
        "password": "A-long-enough-password-1",
    }
    values.update(overrides)
    return values


def events(action):
    return AuditEvent.objects.filter(action=action)


def group_names(user):
    return set(user.groups.values_list("name", flat=True))


class AuditWriteFailed(Exception):
    pass


@pytest.fixture
def failing_audit(monkeypatch):
    """Make the audit write blow up, to prove the change it records rolls back with it."""

    def explode(**kwargs):
        raise AuditWriteFailed("audit storage unavailable")

    monkeypatch.setattr("portal.accounts.services.users.audit_record", explode)


# --- user_create --------------------------------------------------------------------------------


def test_user_create_writes_the_user_with_its_role_group_and_an_audit_event(admin_user, team):
    user = services.user_create(
        actor=admin_user, **create_kwargs(role=Role.AGENT, team=team, email_primary="  Nueva@Amparo.TEST ")
    )

    user.refresh_from_db()
    assert user.email_primary == "nueva@amparo.test"
    assert user.role == Role.AGENT
    assert user.team == team
    assert user.is_active is True
    assert user.check_password("A-long-enough-password-1")
    assert group_names(user) == {Role.AGENT}
    event = events("user.created").get()
    assert event.actor == admin_user
    assert event.target_type == "accounts.user"
    assert event.target_id == str(user.pk)
    assert event.metadata == {"role": Role.AGENT, "team": team.name}


def test_user_create_without_password_leaves_an_unusable_one(admin_user):
    user = services.user_create(actor=admin_user, **create_kwargs(role=Role.FINANCE, password=None))
    assert user.has_usable_password() is False


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR, Role.FINANCE, Role.INTERVENTORIA, Role.CLIENT])
def test_user_create_puts_each_role_in_its_own_group(admin_user, role):
    user = services.user_create(actor=admin_user, **create_kwargs(role=role))
    assert group_names(user) == {role}


def test_user_create_refuses_an_email_that_exists_in_another_case_and_writes_nothing(admin_user):
    UserFactory(email_primary="ana@amparo.test")
    users_before = User.objects.count()

    with pytest.raises(ValidationError) as error:
        services.user_create(actor=admin_user, **create_kwargs(email_primary="ANA@Amparo.Test"))

    assert "email_primary" in error.value.message_dict
    assert "already exists" in error.value.message_dict["email_primary"][0]
    assert User.objects.count() == users_before
    assert not events("user.created").exists()


def test_user_create_refuses_a_repeated_id_type_and_number_and_writes_nothing(admin_user):
    UserFactory(id_type=IdType.CC, id_number="52123456")
    users_before = User.objects.count()

    with pytest.raises(ValidationError) as error:
        services.user_create(actor=admin_user, **create_kwargs(id_type=IdType.CC, id_number="52123456"))

    assert "id_number" in error.value.message_dict
    assert User.objects.count() == users_before
    assert not events("user.created").exists()


def test_user_create_accepts_the_same_id_number_under_another_id_type(admin_user):
    UserFactory(id_type=IdType.CC, id_number="52123456")
    user = services.user_create(actor=admin_user, **create_kwargs(id_type=IdType.CE, id_number="52123456"))
    assert user.pk is not None


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.FINANCE, Role.ADMIN, Role.CLIENT])
def test_user_create_refuses_a_team_for_anyone_but_an_agent_and_writes_nothing(admin_user, team, role):
    users_before = User.objects.count()

    with pytest.raises(ValidationError) as error:
        services.user_create(actor=admin_user, **create_kwargs(role=role, team=team))

    assert "team" in error.value.message_dict
    assert User.objects.count() == users_before
    assert not events("user.created").exists()


def test_user_create_refuses_an_agent_without_a_team_and_writes_nothing(admin_user):
    users_before = User.objects.count()

    with pytest.raises(ValidationError) as error:
        services.user_create(actor=admin_user, **create_kwargs(role=Role.AGENT, team=None))

    assert error.value.message_dict == {"team": ["An agent must belong to a team."]}
    assert User.objects.count() == users_before


def test_role_change_to_agent_without_a_team_is_refused_and_changes_nothing(admin_user, finance_user):
    with pytest.raises(ValidationError) as error:
        services.user_change_role(user=finance_user, role=Role.AGENT, team=None, actor=admin_user)

    assert error.value.message_dict == {"team": ["An agent must belong to a team."]}
    finance_user.refresh_from_db()
    assert finance_user.role == Role.FINANCE
    assert not events("user.role_changed").exists()


def test_user_create_rolls_back_the_user_when_the_audit_write_fails(admin_user, failing_audit):
    with pytest.raises(AuditWriteFailed):
        services.user_create(actor=admin_user, **create_kwargs())
    assert not User.objects.filter(email_primary="nueva.agente@amparo.test").exists()


def test_database_refuses_a_team_on_a_non_agent_even_past_the_service(team):
    from django.db import IntegrityError, transaction

    finance = UserFactory(role=Role.FINANCE)
    finance.team = team
    with pytest.raises(IntegrityError), transaction.atomic():
        finance.save(update_fields=["team"])


# --- user_change_role ---------------------------------------------------------------------------


def test_role_change_records_from_and_to_in_the_audit_event(admin_user, agent, team):
    services.user_change_role(user=agent, role=Role.FINANCE, actor=admin_user, note="moved to collections")

    agent.refresh_from_db()
    assert agent.role == Role.FINANCE
    assert agent.team is None
    event = events("user.role_changed").get()
    assert event.actor == admin_user
    assert event.target_id == str(agent.pk)
    assert event.metadata == {
        "from": Role.AGENT,
        "to": Role.FINANCE,
        "team_from": team.name,
        "team_to": None,
        "note": "moved to collections",
    }


def test_role_change_moves_the_user_to_the_new_roles_group(admin_user, agent):
    assert group_names(agent) == {Role.AGENT}
    services.user_change_role(user=agent, role=Role.INTERVENTORIA, actor=admin_user)
    agent.refresh_from_db()
    assert group_names(agent) == {Role.INTERVENTORIA}
    assert agent.has_perm("audit.view_auditevent")


def test_role_change_to_agent_puts_the_user_on_the_team(admin_user, finance_user, team):
    services.user_change_role(user=finance_user, role=Role.AGENT, team=team, actor=admin_user)
    finance_user.refresh_from_db()
    assert finance_user.team == team
    assert events("user.role_changed").get().metadata["team_to"] == team.name


def test_moving_an_agent_to_another_team_is_audited(admin_user, agent, team):
    other_team = TeamFactory()
    services.user_change_role(user=agent, role=Role.AGENT, team=other_team, actor=admin_user)
    agent.refresh_from_db()
    assert agent.team == other_team
    metadata = events("user.role_changed").get().metadata
    assert (metadata["team_from"], metadata["team_to"]) == (team.name, other_team.name)


def test_role_change_to_the_same_role_and_team_writes_nothing(admin_user, agent, team):
    services.user_change_role(user=agent, role=Role.AGENT, team=team, actor=admin_user)
    assert not events("user.role_changed").exists()


def test_nobody_can_change_their_own_role(admin_user):
    with pytest.raises(ValidationError) as error:
        services.user_change_role(user=admin_user, role=Role.AGENT, actor=admin_user)
    assert "own role" in error.value.messages[0]
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert not events("user.role_changed").exists()


def test_supervisor_who_leads_a_team_cannot_be_demoted(admin_user, supervisor):
    with pytest.raises(ValidationError) as error:
        services.user_change_role(user=supervisor, role=Role.FINANCE, actor=admin_user)
    assert "leads a team" in error.value.messages[0]
    supervisor.refresh_from_db()
    assert supervisor.role == Role.SUPERVISOR
    assert group_names(supervisor) == {Role.SUPERVISOR}
    assert not events("user.role_changed").exists()


def test_supervisor_without_a_team_can_be_demoted(admin_user):
    supervisor = UserFactory(role=Role.SUPERVISOR)
    services.user_change_role(user=supervisor, role=Role.FINANCE, actor=admin_user)
    supervisor.refresh_from_db()
    assert supervisor.role == Role.FINANCE


def test_role_change_refuses_an_unknown_role(admin_user, agent):
    with pytest.raises(ValidationError) as error:
        services.user_change_role(user=agent, role="EMPEROR", actor=admin_user)
    assert "role" in error.value.message_dict
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_role_change_refuses_a_team_for_a_non_agent(admin_user, agent, team):
    with pytest.raises(ValidationError) as error:
        services.user_change_role(user=agent, role=Role.FINANCE, team=team, actor=admin_user)
    assert "team" in error.value.message_dict
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_role_change_rolls_back_when_the_audit_write_fails(admin_user, agent, failing_audit):
    with pytest.raises(AuditWriteFailed):
        services.user_change_role(user=agent, role=Role.FINANCE, actor=admin_user)
    agent.refresh_from_db()
    assert agent.role == Role.AGENT
    assert group_names(agent) == {Role.AGENT}


# --- user_suspend / user_reactivate -------------------------------------------------------------


def test_suspending_a_user_makes_them_inactive_and_is_audited(admin_user, agent):
    services.user_suspend(user=agent, actor=admin_user, reason="  left the company ")

    agent.refresh_from_db()  # is_active is computed by the database
    assert agent.status == UserStatus.SUSPENDED
    assert agent.is_active is False
    event = events("user.suspended").get()
    assert event.actor == admin_user
    assert event.metadata == {"from": UserStatus.ACTIVE, "reason": "left the company"}


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_suspending_needs_a_reason(admin_user, agent, reason):
    with pytest.raises(ValidationError) as error:
        services.user_suspend(user=agent, actor=admin_user, reason=reason)
    assert "reason" in error.value.message_dict
    agent.refresh_from_db()
    assert agent.status == UserStatus.ACTIVE
    assert not events("user.suspended").exists()


def test_suspending_an_already_suspended_user_is_refused(admin_user, agent):
    services.user_suspend(user=agent, actor=admin_user, reason="first")
    with pytest.raises(ValidationError) as error:
        services.user_suspend(user=agent, actor=admin_user, reason="second")
    assert "already suspended" in error.value.messages[0]
    assert events("user.suspended").count() == 1


def test_nobody_can_suspend_themselves(admin_user):
    with pytest.raises(ValidationError):
        services.user_suspend(user=admin_user, actor=admin_user, reason="oops")
    admin_user.refresh_from_db()
    assert admin_user.is_active is True


def test_suspension_rolls_back_when_the_audit_write_fails(admin_user, agent, failing_audit):
    with pytest.raises(AuditWriteFailed):
        services.user_suspend(user=agent, actor=admin_user, reason="left")
    agent.refresh_from_db()
    assert agent.status == UserStatus.ACTIVE
    assert agent.is_active is True


def test_reactivating_a_suspended_user_makes_them_active_and_is_audited(admin_user, agent):
    services.user_suspend(user=agent, actor=admin_user, reason="on leave")
    services.user_reactivate(user=agent, actor=admin_user, note="back from leave")

    agent.refresh_from_db()
    assert agent.status == UserStatus.ACTIVE
    assert agent.is_active is True
    assert events("user.reactivated").get().metadata == {"from": UserStatus.SUSPENDED, "note": "back from leave"}


def test_reactivating_a_user_pending_verification_activates_them(admin_user):
    pending = UserFactory(role=Role.CLIENT, status=UserStatus.PENDING_VERIFICATION)
    pending.refresh_from_db()
    assert pending.is_active is False
    services.user_reactivate(user=pending, actor=admin_user)
    pending.refresh_from_db()
    assert pending.is_active is True


def test_reactivating_an_active_user_is_refused(admin_user, agent):
    with pytest.raises(ValidationError) as error:
        services.user_reactivate(user=agent, actor=admin_user)
    assert "already active" in error.value.messages[0]
    assert not events("user.reactivated").exists()


def test_suspended_user_with_an_open_session_is_signed_out_on_the_next_request(client, admin_user, agent):
    client.force_login(agent)
    assert client.get(reverse("dashboard:dashboard")).status_code == 200

    services.user_suspend(user=agent, actor=admin_user, reason="fraud investigation")

    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_suspended_user_cannot_sign_in(client, admin_user, agent, password):
    services.user_suspend(user=agent, actor=admin_user, reason="left")
    response = client.post(reverse("account_login"), {"login": agent.email_primary, "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_inactive")
    assert client.get(response["Location"]).status_code == 200
    assert "_auth_user_id" not in client.session
    assert not events("auth.sign_in").exists()


# --- user_reset_two_factor ----------------------------------------------------------------------


def test_resetting_two_factor_removes_every_device_and_is_audited(admin_user, agent):
    TOTPDevice.objects.create(user=agent, name="old phone", confirmed=True)
    TOTPDevice.objects.create(user=agent, name="pending", confirmed=False)
    TOTPDevice.objects.create(user=admin_user, name="admin phone", confirmed=True)

    removed = services.user_reset_two_factor(user=agent, actor=admin_user, reason="lost phone")

    assert removed == 2
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert TOTPDevice.objects.filter(user=admin_user).exists()
    event = events("auth.2fa_reset").get()
    assert event.target_id == str(agent.pk)
    assert event.metadata == {"devices_removed": 2, "reason": "lost phone"}


@pytest.mark.parametrize("reason", ["", "  "])
def test_resetting_two_factor_needs_a_reason(admin_user, agent, reason):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    with pytest.raises(ValidationError):
        services.user_reset_two_factor(user=agent, actor=admin_user, reason=reason)
    assert TOTPDevice.objects.filter(user=agent).exists()
    assert not events("auth.2fa_reset").exists()


# --- the admin views: HTMX partial, full page, bad input, permission ----------------------------


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def role_url(user):
    return reverse("accounts:user_change_role", args=[user.pk])


def suspend_url(user):
    return reverse("accounts:user_suspend", args=[user.pk])


def assert_user_panel_partial(response):
    body = response.content.decode()
    assert 'data-testid="user-panel"' in body
    assert "<html" not in body
    return body


def test_role_change_over_htmx_answers_with_the_refreshed_user_panel(admin_client, agent):
    response = admin_client.post(role_url(agent), {"role": Role.FINANCE, "note": "transfer"}, headers=HTMX)

    assert response.status_code == 200
    body = assert_user_panel_partial(response)
    assert "Finance" in body
    assert "Role updated." in body  # flash message swapped in out of band
    agent.refresh_from_db()
    assert agent.role == Role.FINANCE
    assert events("user.role_changed").count() == 1


def test_role_change_full_page_redirects_to_the_user_with_a_flash_message(admin_client, agent):
    response = admin_client.post(role_url(agent), {"role": Role.FINANCE})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_detail", args=[agent.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Role updated."]
    page = admin_client.get(response["Location"])
    assert "Role updated." in page.content.decode()
    agent.refresh_from_db()
    assert agent.role == Role.FINANCE


def test_invalid_role_change_over_htmx_is_422_with_the_error_and_changes_nothing(admin_client, agent):
    response = admin_client.post(role_url(agent), {"role": Role.AGENT, "team": ""}, headers=HTMX)

    assert response.status_code == 422
    body = assert_user_panel_partial(response)
    assert "An agent must belong to a team." in body
    agent.refresh_from_db()
    assert agent.team is not None
    assert not events("user.role_changed").exists()


def test_unknown_role_over_htmx_is_422(admin_client, agent):
    response = admin_client.post(role_url(agent), {"role": "EMPEROR"}, headers=HTMX)
    assert response.status_code == 422
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_role_change_refused_by_the_service_over_htmx_is_422_with_its_reason(admin_client, supervisor):
    response = admin_client.post(role_url(supervisor), {"role": Role.FINANCE}, headers=HTMX)

    assert response.status_code == 422
    body = assert_user_panel_partial(response)
    assert "still leads a team" in body
    supervisor.refresh_from_db()
    assert supervisor.role == Role.SUPERVISOR


def test_invalid_role_change_full_page_redirects_back_with_an_error_message(admin_client, agent):
    response = admin_client.post(role_url(agent), {"role": Role.FINANCE, "team": agent.team_id})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_detail", args=[agent.pk])
    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert messages == [("danger", "Team: Only agents belong to a team.")]
    agent.refresh_from_db()
    assert agent.role == Role.AGENT


def test_admin_cannot_change_their_own_role_through_the_view(admin_client, admin_user):
    response = admin_client.post(role_url(admin_user), {"role": Role.AGENT}, headers=HTMX)
    assert response.status_code == 422
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_suspend_over_htmx_answers_with_the_panel_showing_the_new_status(admin_client, agent):
    response = admin_client.post(suspend_url(agent), {"reason": "left the company"}, headers=HTMX)

    assert response.status_code == 200
    body = assert_user_panel_partial(response)
    assert "Suspended" in body
    assert 'data-testid="reactivate-form"' in body
    agent.refresh_from_db()
    assert agent.is_active is False


def test_suspend_full_page_redirects_with_a_flash_message(admin_client, agent):
    response = admin_client.post(suspend_url(agent), {"reason": "left the company"}, follow=True)

    assert response.redirect_chain == [(reverse("accounts:user_detail", args=[agent.pk]), 302)]
    assert "User suspended. They can no longer sign in." in response.content.decode()
    agent.refresh_from_db()
    assert agent.status == UserStatus.SUSPENDED


def test_suspend_without_a_reason_over_htmx_is_422_and_changes_nothing(admin_client, agent):
    response = admin_client.post(suspend_url(agent), {"reason": ""}, headers=HTMX)

    assert response.status_code == 422
    body = assert_user_panel_partial(response)
    assert "This field is required." in body
    agent.refresh_from_db()
    assert agent.is_active is True
    assert not events("user.suspended").exists()


def test_suspending_an_already_suspended_user_over_htmx_is_422_and_says_why(admin_client, admin_user, agent):
    # e.g. two admins on the same page: the second click must tell them why nothing happened,
    # even though the refreshed panel no longer shows the suspend form.
    services.user_suspend(user=agent, actor=admin_user, reason="first")
    response = admin_client.post(suspend_url(agent), {"reason": "again"}, headers=HTMX)
    assert response.status_code == 422
    assert "This user is already suspended." in response.content.decode()
    assert events("user.suspended").count() == 1


def test_reactivating_an_active_user_over_htmx_is_422_and_says_why(admin_client, agent):
    response = admin_client.post(reverse("accounts:user_reactivate", args=[agent.pk]), {"note": ""}, headers=HTMX)
    assert response.status_code == 422
    assert "This user is already active." in response.content.decode()
    assert not events("user.reactivated").exists()


def test_reactivate_over_htmx_answers_with_the_panel(admin_client, admin_user, agent):
    services.user_suspend(user=agent, actor=admin_user, reason="leave")
    response = admin_client.post(reverse("accounts:user_reactivate", args=[agent.pk]), {"note": ""}, headers=HTMX)
    assert response.status_code == 200
    assert 'data-testid="suspend-form"' in assert_user_panel_partial(response)
    agent.refresh_from_db()
    assert agent.is_active is True


def test_reset_two_factor_over_htmx_removes_the_device(admin_client, agent):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    url = reverse("accounts:user_reset_two_factor", args=[agent.pk])
    response = admin_client.post(url, {"reason": "lost phone"}, headers=HTMX)
    assert response.status_code == 200
    assert "2FA off" in assert_user_panel_partial(response)
    assert not TOTPDevice.objects.filter(user=agent).exists()


@pytest.mark.parametrize("who", ["supervisor", "auditor", "finance_user", "agent"])
def test_only_an_admin_may_change_roles_or_suspend_and_others_are_told_why(client, request, who, team):
    actor = request.getfixturevalue(who)
    target = UserFactory(role=Role.AGENT, team=team)
    client.force_login(actor)

    for url, data in ((role_url(target), {"role": Role.FINANCE}), (suspend_url(target), {"reason": "x"})):
        for headers in ({}, HTMX):
            response = client.post(url, data, headers=headers)
            assert response.status_code == 403
            assert str(MANAGE_USERS_REASON) in response.content.decode()

    target.refresh_from_db()
    assert (target.role, target.status) == (Role.AGENT, UserStatus.ACTIVE)
    assert not AuditEvent.objects.filter(action__in=["user.role_changed", "user.suspended"]).exists()


def test_client_account_cannot_post_to_the_admin_actions(client, client_user, agent):
    client.force_login(client_user)
    response = client.post(suspend_url(agent), {"reason": "x"})
    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.is_active is True


def test_anonymous_post_to_the_admin_actions_is_sent_to_sign_in(client, agent):
    response = client.post(suspend_url(agent), {"reason": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    agent.refresh_from_db()
    assert agent.is_active is True


def test_admin_actions_refuse_get(admin_client, agent):
    assert admin_client.get(suspend_url(agent)).status_code == 405
    assert admin_client.get(role_url(agent)).status_code == 405


def test_admin_actions_refuse_a_post_without_csrf_token(admin_user, agent):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin_user)
    response = csrf_client.post(suspend_url(agent), {"reason": "left"})
    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.is_active is True


def test_admin_action_on_a_missing_user_is_404(admin_client):
    response = admin_client.post(reverse("accounts:user_suspend", args=[999_999]), {"reason": "x"}, headers=HTMX)
    assert response.status_code == 404


def test_role_change_replaces_any_group_added_by_hand(admin_user, agent):
    # The group follows the role even when the user had been put into extra groups by hand.
    agent.groups.add(Group.objects.get(name=Role.ADMIN))
    services.user_change_role(user=agent, role=Role.FINANCE, actor=admin_user)
    agent.refresh_from_db()
    assert group_names(agent) == {Role.FINANCE}


def test_user_create_turns_a_duplicate_that_slips_past_the_check_into_a_validation_error(admin_user, monkeypatch):
    # Two admins creating the same person at once: both pre-checks pass, the database's unique
    # constraint decides, and the loser gets a clear message instead of a 500.
    from django.db.models import QuerySet

    UserFactory(email_primary="twin@amparo.test")
    users_before = User.objects.count()
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)

    with pytest.raises(ValidationError) as error:
        services.user_create(actor=admin_user, **create_kwargs(email_primary="twin@amparo.test"))

    monkeypatch.undo()
    assert "already exists" in error.value.messages[0]
    assert User.objects.count() == users_before
    assert not events("user.created").exists()


# --- creating users in the Django admin (configuration, ADMIN only) -----------------------------


def admin_add(client, **overrides):
    data = {
        "email_primary": "nuevo@amparo.test",
        "full_name": "Nuevo Usuario",
        "id_type": IdType.CC,
        "id_number": "80123456",
        "role": Role.FINANCE,
        "team": "",
        "phone": "",
        "password": "",
    }
    data.update(overrides)
    return client.post(reverse("admin:accounts_user_add"), data)


def test_admin_creates_a_user_in_the_django_admin_through_the_audited_service(admin_client, admin_user, team):
    response = admin_add(admin_client, role=Role.AGENT, team=team.pk)

    assert response.status_code == 302
    user = User.objects.get(email_primary="nuevo@amparo.test")
    assert user.team == team
    assert group_names(user) == {Role.AGENT}
    assert events("user.created").get().actor == admin_user


def test_django_admin_refuses_a_team_for_a_non_agent_with_a_clear_message(admin_client, team):
    response = admin_add(admin_client, role=Role.FINANCE, team=team.pk)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Only agents belong to a team." in body
    assert "user_team_only_for_agents" not in body  # not the database constraint's name
    assert not User.objects.filter(email_primary="nuevo@amparo.test").exists()


def test_django_admin_refuses_a_duplicate_email_in_another_case_with_a_clear_message(admin_client):
    UserFactory(email_primary="nuevo@amparo.test")

    response = admin_add(admin_client, email_primary="NUEVO@Amparo.test")

    assert response.status_code == 200
    body = response.content.decode()
    assert "A user with this email already exists." in body
    assert "user_email_primary_ci_unique" not in body
    assert User.objects.filter(email_primary__iexact="nuevo@amparo.test").count() == 1


def test_django_admin_refuses_an_initial_password_that_breaks_the_password_rules(admin_client):
    response = admin_add(admin_client, password="1234")

    assert response.status_code == 200
    assert "This password is too short." in response.content.decode()
    assert not User.objects.filter(email_primary="nuevo@amparo.test").exists()


def test_destructive_actions_on_the_user_page_ask_for_confirmation(admin_client, agent):
    TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    body = admin_client.get(reverse("accounts:user_detail", args=[agent.pk])).content.decode()
    for testid in ("role-form", "suspend-form", "reset-2fa-form"):
        form = body[body.index(f'data-testid="{testid}"') :]
        form = form[: form.index("</form>")]
        assert "hx-confirm=" in form, testid
