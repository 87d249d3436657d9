"""Who sees whose records: the scope helpers, and the user pages that are filtered through them."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Role, UserStatus
from portal.accounts.selectors import book_scope_q, users_visible_to
from portal.accounts.views import USERS_REASON
from portal.customers.models import Customer

from .factories import CustomerFactory, TeamFactory, UserFactory
from .helpers import HTMX


@pytest.fixture
def world(db):
    """Two teams with two agents each, plus one user of every other role.

    Every user owns one TOTP device: any model with a foreign key to its owner will do to
    check `book_scope_q`, and the device table is one that exists today.
    """
    team = TeamFactory(name="Bogotá Norte")
    other_team = TeamFactory(name="Medellín Centro")
    people = {
        "supervisor": team.supervisor,
        "other_supervisor": other_team.supervisor,
        "agent": UserFactory(role=Role.AGENT, team=team),
        "teammate": UserFactory(role=Role.AGENT, team=team),
        "outsider_agent": UserFactory(role=Role.AGENT, team=other_team),
        "outsider_agent_2": UserFactory(role=Role.AGENT, team=other_team),
        "admin": UserFactory(role=Role.ADMIN),
        "auditor": UserFactory(role=Role.INTERVENTORIA),
        "finance": UserFactory(role=Role.FINANCE),
        "client": UserFactory(role=Role.CLIENT),
    }
    for person in people.values():
        TOTPDevice.objects.create(user=person, name=f"book of {person.email_primary}", confirmed=False)
    return people


def book_owners(user):
    devices = TOTPDevice.objects.filter(book_scope_q(user, agent_field="user"))
    return set(devices.values_list("user__email_primary", flat=True))


def emails(users):
    return {u.email_primary for u in users}


def every(world):
    return emails(world.values())


# --- book_scope_q -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "auditor", "finance"])
def test_admin_interventoria_and_finance_see_every_book(world, who):
    assert book_owners(world[who]) == every(world)


def test_supervisor_sees_the_books_of_their_own_agents_and_their_own(world):
    seen = book_owners(world["supervisor"])
    assert seen == emails([world["supervisor"], world["agent"], world["teammate"]])


def test_supervisor_does_not_see_another_teams_agents_books(world):
    seen = book_owners(world["supervisor"])
    assert world["outsider_agent"].email_primary not in seen
    assert world["other_supervisor"].email_primary not in seen


def test_supervisor_of_two_teams_sees_both_teams_books(world):
    second_team = TeamFactory(supervisor=world["supervisor"])
    newcomer = UserFactory(role=Role.AGENT, team=second_team)
    TOTPDevice.objects.create(user=newcomer, name="book", confirmed=False)
    assert newcomer.email_primary in book_owners(world["supervisor"])


def test_agent_sees_only_their_own_book(world):
    assert book_owners(world["agent"]) == {world["agent"].email_primary}


def test_agent_does_not_see_a_teammates_book(world):
    assert world["teammate"].email_primary not in book_owners(world["agent"])


def test_client_sees_no_book(world):
    assert book_owners(world["client"]) == set()


def test_a_customer_in_the_app_sees_only_what_belongs_to_their_own_record(world):
    mine = CustomerFactory(user=world["client"])
    CustomerFactory()
    assert list(Customer.objects.filter(book_scope_q(world["client"]))) == [mine]
    assert list(Customer.objects.filter(book_scope_q(world["client"], agent_field="agent"))) == [mine]


def test_anonymous_visitor_sees_no_book(world):
    assert book_owners(AnonymousUser()) == set()


@pytest.mark.parametrize("who", ["admin", "supervisor", "agent", "finance", "auditor"])
def test_suspended_user_sees_no_book_whatever_their_role(world, who):
    user = world[who]
    user.status = UserStatus.SUSPENDED
    user.save(update_fields=["status"])
    user.refresh_from_db()
    assert book_owners(user) == set()


# --- users_visible_to ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "auditor"])
def test_admin_and_interventoria_see_every_user(world, who):
    assert emails(users_visible_to(world[who])) == every(world)


def test_supervisor_sees_their_agents_and_themselves(world):
    seen = emails(users_visible_to(world["supervisor"]))
    assert seen == emails([world["supervisor"], world["agent"], world["teammate"]])


def test_supervisor_cannot_see_another_teams_agent_or_supervisor(world):
    seen = emails(users_visible_to(world["supervisor"]))
    assert world["outsider_agent"].email_primary not in seen
    assert world["other_supervisor"].email_primary not in seen


@pytest.mark.parametrize("who", ["agent", "finance", "client"])
def test_agent_finance_and_client_see_only_themselves_in_the_user_directory(world, who):
    # Finance sees every book (customers, payments) but not the staff directory; a client
    # sees their own profile (the mobile app's "my profile"), nobody else's.
    assert emails(users_visible_to(world[who])) == {world[who].email_primary}


def test_anonymous_visitor_sees_no_user(world):
    assert list(users_visible_to(AnonymousUser())) == []


@pytest.mark.parametrize("who", ["admin", "auditor", "supervisor", "agent", "finance"])
def test_suspended_user_sees_no_user_whatever_their_role(world, who):
    # book_scope_q already refuses inactive users; the user directory must follow the same rule.
    user = world[who]
    user.status = UserStatus.SUSPENDED
    user.save(update_fields=["status"])
    user.refresh_from_db()
    assert list(users_visible_to(user)) == []


def test_users_visible_to_reports_who_has_two_factor(world):
    TOTPDevice.objects.create(user=world["agent"], name="phone", confirmed=True)
    flags = {u.email_primary: u.has_two_factor for u in users_visible_to(world["admin"])}
    assert flags[world["agent"].email_primary] is True
    assert flags[world["teammate"].email_primary] is False  # only an unconfirmed device


# --- user list and detail by URL ----------------------------------------------------------------


def test_admin_user_list_shows_everyone(client, world):
    client.force_login(world["admin"])
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 200
    body = response.content.decode()
    for person in world.values():
        assert person.email_primary in body


def test_supervisor_user_list_shows_own_team_only(client, world):
    client.force_login(world["supervisor"])
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert world["agent"].email_primary in body
    assert world["teammate"].email_primary in body
    assert world["outsider_agent"].email_primary not in body
    assert world["admin"].email_primary not in body


def test_interventoria_user_list_shows_everyone(client, world):
    client.force_login(world["auditor"])
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 200
    assert world["outsider_agent"].email_primary in response.content.decode()


def test_user_list_htmx_request_gets_only_the_results_partial(client, world):
    client.force_login(world["admin"])
    response = client.get(reverse("accounts:user_list"), {"role": Role.FINANCE}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert world["finance"].email_primary in body
    assert world["agent"].email_primary not in body


def test_user_list_filter_narrows_the_full_page(client, world):
    client.force_login(world["admin"])
    response = client.get(reverse("accounts:user_list"), {"q": world["client"].email_primary})
    body = response.content.decode()
    assert "<html" in body
    assert world["client"].email_primary in body
    assert world["agent"].email_primary not in body


def test_user_list_filters_cannot_widen_a_supervisors_scope(client, world):
    client.force_login(world["supervisor"])
    response = client.get(reverse("accounts:user_list"), {"q": world["outsider_agent"].email_primary})
    assert response.status_code == 200
    body = response.content.decode()
    # The search box echoes the email; the table must not list the person.
    assert world["outsider_agent"].full_name not in body
    assert reverse("accounts:user_detail", args=[world["outsider_agent"].pk]) not in body


@pytest.mark.parametrize("who", ["agent", "finance"])
def test_agent_and_finance_cannot_open_the_user_directory_and_are_told_why(client, world, who):
    client.force_login(world[who])
    for url in (reverse("accounts:user_list"), reverse("accounts:user_detail", args=[world[who].pk])):
        response = client.get(url)
        assert response.status_code == 403
        body = response.content.decode()
        assert 'data-testid="permission-denied"' in body
        assert str(USERS_REASON) in body


def test_client_cannot_open_the_user_directory_and_is_told_to_use_the_app(client, world):
    client.force_login(world["client"])
    response = client.get(reverse("accounts:user_list"))
    assert response.status_code == 403
    assert "mobile app" in response.content.decode()


def test_anonymous_visitor_is_sent_to_sign_in_from_the_user_directory(client, world):
    url = reverse("accounts:user_detail", args=[world["agent"].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]


def test_supervisor_can_open_their_own_agent(client, world):
    client.force_login(world["supervisor"])
    response = client.get(reverse("accounts:user_detail", args=[world["agent"].pk]))
    assert response.status_code == 200
    assert world["agent"].full_name in response.content.decode()


def test_supervisor_can_open_their_own_page(client, world):
    client.force_login(world["supervisor"])
    response = client.get(reverse("accounts:user_detail", args=[world["supervisor"].pk]))
    assert response.status_code == 200


def test_supervisor_cannot_open_another_teams_agent(client, world):
    client.force_login(world["supervisor"])
    response = client.get(reverse("accounts:user_detail", args=[world["outsider_agent"].pk]))
    # 404, not 403: the page does not reveal that the user exists.
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["admin", "other_supervisor"])
def test_supervisor_cannot_open_a_user_outside_their_teams(client, world, who):
    client.force_login(world["supervisor"])
    response = client.get(reverse("accounts:user_detail", args=[world[who].pk]))
    assert response.status_code == 404


def test_interventoria_can_open_any_user_but_sees_no_management_forms(client, world):
    client.force_login(world["auditor"])
    response = client.get(reverse("accounts:user_detail", args=[world["outsider_agent"].pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert world["outsider_agent"].full_name in body
    assert 'data-testid="role-form"' not in body


def test_admin_sees_management_forms_on_someone_elses_page(client, world):
    client.force_login(world["admin"])
    response = client.get(reverse("accounts:user_detail", args=[world["agent"].pk]))
    assert response.status_code == 200
    assert 'data-testid="role-form"' in response.content.decode()


def test_admin_sees_no_management_forms_on_their_own_page(client, world):
    client.force_login(world["admin"])
    response = client.get(reverse("accounts:user_detail", args=[world["admin"].pk]))
    assert response.status_code == 200
    assert 'data-testid="role-form"' not in response.content.decode()


def test_user_detail_of_a_missing_user_is_404(client, world):
    client.force_login(world["admin"])
    response = client.get(reverse("accounts:user_detail", args=[999_999]))
    assert response.status_code == 404
