"""Roles are Django groups with permissions; navigation shows each role only what it may use."""

import functools
import re

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.test import RequestFactory
from django.urls import reverse
from django_otp.middleware import is_verified as otp_is_verified
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Role
from portal.accounts.roles import ALL_PERMISSIONS, ROLE_PERMISSIONS, sync_role_permissions
from portal.dashboard.navigation import navigation

from .factories import UserFactory
from .helpers import EXPECTED_NAV


def dotted(permissions):
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions.select_related("content_type")}


def request_for(user, path="/dashboard/"):
    """A request as the middleware leaves it: django-otp tells whether the user passed the second factor."""
    request = RequestFactory().get(path)
    if user.is_authenticated:
        user.otp_device = None
        user.is_verified = functools.partial(otp_is_verified, user)
    request.user = user
    return request


def nav_names(user, path="/dashboard/"):
    return [item["name"] for item in nav_entries(request_for(user, path))]


def nav_entries(request):
    """Every entry of the navigation's areas, in the order the bar shows them."""
    return [item for area in navigation(request)["nav_areas"] for item in area["entries"]]


@pytest.mark.django_db
def test_there_is_one_group_per_role():
    assert set(Group.objects.filter(name__in=Role.values).values_list("name", flat=True)) == set(Role.values)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [role for role, perms in ROLE_PERMISSIONS.items() if perms != ALL_PERMISSIONS])
def test_each_role_group_holds_exactly_the_permissions_listed_for_it(role):
    group = Group.objects.get(name=role)
    assert dotted(group.permissions.all()) == set(ROLE_PERMISSIONS[role])


@pytest.mark.django_db
def test_every_listed_permission_exists():
    # A typo in ROLE_PERMISSIONS would otherwise silently grant nothing.
    listed = {perm for perms in ROLE_PERMISSIONS.values() if perms != ALL_PERMISSIONS for perm in perms}
    assert listed <= dotted(Permission.objects.all())


@pytest.mark.django_db
def test_admin_group_holds_every_permission():
    assert ROLE_PERMISSIONS[Role.ADMIN] == ALL_PERMISSIONS
    group = Group.objects.get(name=Role.ADMIN)
    assert group.permissions.count() == Permission.objects.count()


@pytest.mark.django_db
def test_admin_user_has_every_permission_through_the_group_without_being_superuser():
    admin = UserFactory(role=Role.ADMIN)
    assert admin.is_superuser is False
    assert admin.get_all_permissions() == dotted(Permission.objects.all())


@pytest.mark.django_db
def test_client_holds_no_portal_permission():
    assert UserFactory(role=Role.CLIENT).get_all_permissions() == set()


@pytest.mark.django_db
def test_agent_manages_their_book_files_claims_takes_payments_applies_for_loans_and_nothing_else():
    assert UserFactory(role=Role.AGENT).get_all_permissions() == {
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "policies.view_product",
        "policies.view_quote",
        "policies.add_quote",
        "policies.change_quote",
        "policies.view_policy",
        "policies.add_policy",
        "policies.change_policy",
        "policies.view_policyversion",
        "claims.view_claim",
        "claims.add_claim",
        "claims.change_claim",
        "claims.view_claimtransition",
        "claims.view_claimdocument",
        "claims.add_claimdocument",
        "payments.view_ledgeraccount",
        "payments.view_instalment",
        "payments.view_ledgerentry",
        "payments.view_payment",
        "payments.view_paymentallocation",
        "payments.view_receipt",
        "payments.add_payment",
        "gateways.view_gatewaytransaction",
        "gateways.add_gatewaytransaction",
        "reports.view_reportrun",
        "reports.add_reportrun",
        "loans.view_loan",
        "loans.view_loantask",
        "loans.view_loandocument",
        "loans.view_loaninstalment",
        "loans.add_loan",
        "loans.change_loan",
        "loans.add_loandocument",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_finance_and_interventoria_read_the_book_but_change_nothing_in_it(role):
    user = UserFactory(role=role)
    assert user.has_perm("customers.view_customer")
    assert user.has_perm("policies.view_policy")
    assert not user.has_perm("customers.change_customer")
    assert not user.has_perm("policies.add_quote")
    assert not user.has_perm("policies.change_policy")


@pytest.mark.django_db
def test_finance_uploads_and_reads_bordereaux_but_configures_nothing():
    finance = UserFactory(role=Role.FINANCE)
    assert finance.has_perm("ingestion.add_importjob")
    assert finance.has_perm("ingestion.view_riskrow")
    assert not finance.has_perm("ingestion.change_mappingprofile")
    assert not finance.has_perm("accounts.view_user")


@pytest.mark.django_db
def test_supervisor_may_view_users_but_not_change_them():
    supervisor = UserFactory(role=Role.SUPERVISOR)
    assert supervisor.has_perm("accounts.view_user")
    assert not supervisor.has_perm("accounts.change_user")
    assert not supervisor.has_perm("audit.view_auditevent")


@pytest.mark.django_db
def test_interventoria_reads_users_and_the_audit_log_but_changes_nothing():
    auditor = UserFactory(role=Role.INTERVENTORIA)
    assert auditor.has_perm("accounts.view_user")
    assert auditor.has_perm("audit.view_auditevent")
    # Running a report (an audit extract) reads the records: it is the one thing Interventoría adds.
    writes = {p for p in auditor.get_all_permissions() if p.split(".")[1].startswith(("add_", "change_", "delete_"))}
    assert writes == {"reports.add_reportrun"}


@pytest.mark.django_db
def test_syncing_role_permissions_restores_a_group_that_drifted():
    group = Group.objects.get(name=Role.SUPERVISOR)
    group.permissions.clear()
    group.permissions.add(Permission.objects.get(codename="delete_user"))

    sync_role_permissions()

    assert dotted(group.permissions.all()) == set(ROLE_PERMISSIONS[Role.SUPERVISOR])


@pytest.mark.django_db
def test_syncing_role_permissions_recreates_a_missing_group_and_is_idempotent():
    Group.objects.filter(name=Role.FINANCE).delete()
    sync_role_permissions()
    sync_role_permissions()
    assert Group.objects.filter(name=Role.FINANCE).count() == 1


def test_role_groups_migration_creates_a_group_for_every_role():
    from importlib import import_module

    migration = import_module("portal.accounts.migrations.0002_role_groups")
    assert set(migration.ROLES) == set(Role.values)


# --- navigation ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(EXPECTED_NAV))
def test_navigation_shows_each_role_only_its_items(role):
    assert nav_names(UserFactory(role=role)) == EXPECTED_NAV[role]


@pytest.mark.django_db
def test_navigation_is_empty_for_a_client_account():
    assert nav_names(UserFactory(role=Role.CLIENT)) == []


@pytest.mark.django_db
def test_navigation_is_empty_while_a_required_second_factor_is_pending(settings):
    settings.AMPARO_REQUIRE_2FA = True
    assert nav_names(UserFactory(role=Role.ADMIN)) == []


@pytest.mark.django_db
def test_navigation_is_empty_until_an_enrolled_user_enters_their_code():
    admin = UserFactory(role=Role.ADMIN)
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    assert nav_names(admin) == []


def test_navigation_is_empty_for_an_anonymous_visitor():
    assert nav_names(AnonymousUser()) == []


@pytest.mark.django_db
def test_navigation_marks_the_current_section_active():
    admin = UserFactory(role=Role.ADMIN)
    request = request_for(admin, reverse("accounts:user_detail", args=[admin.pk]))
    active = [item["name"] for item in nav_entries(request) if item["active"]]
    assert active == ["accounts:user_list"]


@pytest.mark.django_db
def test_dashboard_is_active_only_on_the_dashboard_itself():
    admin = UserFactory(role=Role.ADMIN)
    request = request_for(admin, reverse("audit:log"))
    items = {item["name"]: item["active"] for item in nav_entries(request)}
    assert items["dashboard:dashboard"] is False
    assert items["audit:log"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(EXPECTED_NAV))
def test_rendered_dashboard_shows_each_role_only_its_navigation_and_its_own_dashboard(client, role):
    user = UserFactory(role=role)
    client.force_login(user)
    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'data-nav="([^"]+)"', body) == EXPECTED_NAV[role]
    assert f"{user.get_role_display()} dashboard" in body


@pytest.mark.django_db
def test_client_account_is_refused_the_dashboard_with_an_explanation(client):
    client.force_login(UserFactory(role=Role.CLIENT))
    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 403
    assert "mobile app" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.FINANCE, Role.INTERVENTORIA, Role.CLIENT])
def test_django_admin_is_closed_to_every_role_but_admin(client, role):
    client.force_login(UserFactory(role=role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_django_admin_is_open_to_admin(client):
    client.force_login(UserFactory(role=Role.ADMIN))
    assert client.get(reverse("admin:index")).status_code == 200
