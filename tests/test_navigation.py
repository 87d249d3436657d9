"""The navigation's areas, what a role sees of them, the current page, the badges of what waits, and
the list pages' filter bar (search, quick filters, more filters, removable chips)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.accounts.models import Role
from portal.claims.filters import ClaimFilter
from portal.claims.models import Claim
from portal.core.listing import filter_bar
from portal.dashboard.navigation import navigation_for

from .factories import UserFactory, file_claim

pytestmark = pytest.mark.django_db


def areas(user, path="/dashboard/"):
    return {area["key"]: area for area in navigation_for(user, path)}


def test_the_areas_come_in_the_order_of_a_working_day():
    keys = list(areas(UserFactory(role=Role.ADMIN)))
    assert keys == ["home", "sales", "claims", "loans", "money", "reinsurance", "oversight", "administration"]


def test_an_agent_sees_no_area_it_cannot_use():
    assert set(areas(UserFactory(role=Role.AGENT))) == {"home", "sales", "claims", "loans", "money", "oversight"}


def test_the_longest_matching_entry_is_the_current_one():
    finance = UserFactory(role=Role.FINANCE)
    money = areas(finance, reverse("payments:payout_list"))["money"]
    active = [item["name"] for item in money["entries"] if item["active"]]
    assert active == ["payments:payout_list"]
    assert money["active"] is True


def test_a_supervisor_is_shown_the_claims_under_review_they_may_decide_and_not_those_they_reviewed(supervisor, agent):
    waiting = file_claim(actor=agent, agent=agent)
    reviewed = file_claim(actor=agent, agent=agent)
    Claim.objects.filter(pk__in=[waiting.pk, reviewed.pk]).update(status=Claim.Status.UNDER_REVIEW)
    Claim.objects.filter(pk=reviewed.pk).update(reviewed_by=supervisor)

    [claims] = areas(supervisor)["claims"]["entries"]

    assert claims["waiting"] == 1
    assert areas(agent)["claims"]["entries"][0]["waiting"] == 0


def test_the_navigation_is_not_worked_out_for_a_partial_that_does_not_show_it(
    client, admin_user, django_assert_max_num_queries
):
    client.force_login(admin_user)
    client.get(reverse("policies:policy_list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("policies:policy_list"), headers={"HX-Request": "true"})
    assert 'data-testid="main-nav"' not in response.content.decode()


def test_the_filter_bar_puts_the_roles_quick_filters_in_front_and_each_active_filter_in_a_removable_chip(supervisor):
    request = RequestFactory().get("/claims/", {"status": "OPEN", "product": "", "sort": "-created_at"})
    request.user = supervisor
    claim_filter = ClaimFilter(request.GET, queryset=Claim.objects.all(), request=request)

    bar = filter_bar(request, claim_filter, clear_query="status=")

    assert bar.search.name == "customer"
    assert [field.name for field in bar.quick] == ["status", "age", "assignee"]
    assert "product" in [field.name for field in bar.more] and not bar.more_open
    assert bar.kept_params == [("sort", "-created_at")]
    [chip] = bar.chips
    assert (chip.label, chip.value) == ("Status", "All open")
    assert "status=&" in chip.remove_url or chip.remove_url.endswith("status=")
    assert bar.clear_url == "/claims/?status="


def test_an_agents_quick_filters_differ_and_a_filter_in_use_behind_more_filters_opens_them(agent):
    request = RequestFactory().get("/claims/", {"loss_after": "2026-01-01"})
    request.user = agent
    bar = filter_bar(request, ClaimFilter(request.GET, queryset=Claim.objects.all(), request=request))

    assert [field.name for field in bar.quick] == ["status", "age", "product"]
    assert bar.more_open
    [chip] = bar.chips
    assert chip.label == "Date of loss between"
