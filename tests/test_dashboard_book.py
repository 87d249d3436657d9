"""The dashboard's book card: each role sees the policies, quotes, renewals and customers of its own scope."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.policies.selectors import policy_figures
from portal.policies.services import policy_suspend

from .factories import CustomerFactory, TeamFactory, UserFactory, issue_policy, make_quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(agent):
    """Two active policies and a suspended one in `agent`'s book; one policy on another team."""
    own = CustomerFactory(agent=agent)
    issue_policy(customer=own)
    issue_policy(customer=CustomerFactory(agent=agent))
    policy_suspend(policy=issue_policy(customer=own), actor=agent, reason="Unpaid premium")
    make_quote(customer=own)
    issue_policy(customer=CustomerFactory(agent=UserFactory(role=Role.AGENT, team=TeamFactory())))


def test_an_agent_counts_only_their_own_book(agent, books):
    figures = policy_figures(agent)
    assert (figures["total"], figures["active"], figures["suspended"]) == (3, 2, 1)
    assert figures["customers"] == 2
    assert figures["open_quotes"] == 1
    assert figures["chart"]["values"] == [0, 2, 1, 0, 0, 0]


def test_the_supervisor_counts_the_team_and_finance_counts_everyone(supervisor, finance_user, books):
    assert policy_figures(supervisor)["total"] == 3
    assert policy_figures(finance_user)["total"] == 4


def test_renewals_due_counts_policies_ending_within_thirty_days(agent):
    customer = CustomerFactory(agent=agent)
    today = timezone.localdate()
    issue_policy(customer=customer, start_date=today - timedelta(days=350), as_of=today - timedelta(days=350))
    issue_policy(customer=customer)
    assert policy_figures(agent)["renewals_due"] == 1


def test_the_dashboard_shows_the_book_card_with_its_figures(client, agent, books):
    client.force_login(agent)
    body = client.get(reverse("dashboard:dashboard")).content.decode()
    assert 'data-testid="book-card"' in body
    assert "Your book" in body
    assert 'data-testid="book-active">2<' in body
    assert 'id="book-data"' in body


def test_an_empty_book_says_what_to_do_next(client, agent):
    client.force_login(agent)
    body = client.get(reverse("dashboard:dashboard")).content.decode()
    assert 'data-testid="book-empty"' in body
    assert "Add a customer, price a quote and issue it" in body


@pytest.mark.parametrize("role", [Role.ADMIN, Role.FINANCE, Role.INTERVENTORIA])
def test_oversight_roles_see_the_whole_book_of_business(client, role, books):
    client.force_login(UserFactory(role=role))
    body = client.get(reverse("dashboard:dashboard")).content.decode()
    assert "Book of business" in body
    assert "No policies have been issued yet." not in body
