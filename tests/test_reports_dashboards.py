"""The dashboards read precomputed figures: after a refresh they equal the live counts for every
role's scope, say how fresh they are, cost the same few queries whatever the book's size, and a
write that moves them queues a refresh (debounced)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import Role
from portal.claims.bulk import bulk_transition_run, bulk_transition_start
from portal.claims.selectors import claim_card_figures
from portal.claims.services import claim_approve, claim_start_review
from portal.core import tasks as core_tasks
from portal.loans import services as loan_services
from portal.loans.repayments import loan_arrears_age
from portal.loans.selectors import loan_card_figures
from portal.policies.selectors import policy_figures
from portal.policies.services import policy_suspend
from portal.reports.dashboards import book_card, claims_card, loans_card, precomputed_book
from portal.reports.figures import EVERYONE, dashboard_figures_refresh
from portal.reports.models import DashboardFigure

from .factories import (
    CustomerFactory,
    TeamFactory,
    UserFactory,
    apply_loan,
    file_claim,
    grant_approval_limit,
    issue_policy,
)
from .helpers import approved

pytestmark = pytest.mark.django_db
MONTH = timezone.localdate().replace(day=1).isoformat()


@pytest.fixture
def books(agent, supervisor):
    own = CustomerFactory(agent=agent)
    issue_policy(customer=own)
    policy_suspend(policy=issue_policy(customer=own), actor=agent, reason="Unpaid premium")
    claim = file_claim(policy=issue_policy(customer=CustomerFactory(agent=agent)), actor=agent)
    grant_approval_limit(supervisor, "50000000")
    claim_approve(
        claim=claim_start_review(claim=claim, actor=supervisor),
        actor=UserFactory(role=Role.ADMIN),
        amount=Decimal("1234.50"),
        note="ok",
    )
    file_claim(actor=agent, agent=agent)
    other = UserFactory(role=Role.AGENT, team=TeamFactory())
    issue_policy(customer=CustomerFactory(agent=other))
    file_claim(actor=other, agent=other)


def without_freshness(figures):
    return {key: value for key, value in figures.items() if key != "computed_at"}


@pytest.mark.parametrize("who", ["agent", "supervisor", "finance_user", "admin_user", "auditor"])
def test_the_precomputed_figures_equal_the_live_counts_for_every_scope(request, books, who):
    user = request.getfixturevalue(who)
    dashboard_figures_refresh()
    precomputed = precomputed_book(user)
    assert without_freshness(book_card(user, precomputed)) == policy_figures(user)
    live_claims = claim_card_figures(user)
    assert without_freshness(claims_card(user, precomputed, month=MONTH)) == live_claims


def test_before_the_first_refresh_the_live_counts_answer(agent, books):
    assert precomputed_book(agent) is None
    assert book_card(agent, None) == policy_figures(agent)


def test_an_agent_with_an_empty_book_sees_zeros_once_figures_exist(books):
    dashboard_figures_refresh()
    newcomer = UserFactory(role=Role.AGENT)
    figures = book_card(newcomer, precomputed_book(newcomer))
    assert figures["total"] == 0 and figures["computed_at"] is not None


def test_a_book_that_emptied_loses_its_figures_at_the_next_refresh(agent, books):
    dashboard_figures_refresh()
    DashboardFigure.objects.create(
        scope="agent:999999", key="book", value={}, computed_at=timezone.now() - timedelta(hours=1)
    )
    dashboard_figures_refresh()
    assert not DashboardFigure.objects.filter(scope="agent:999999").exists()


def test_last_months_approvals_are_not_shown_as_this_months(admin_user, books):
    dashboard_figures_refresh()
    DashboardFigure.objects.filter(scope=EVERYONE).update(
        value={**DashboardFigure.objects.get(scope=EVERYONE).value, "month": "2000-01-01"}
    )
    assert claims_card(admin_user, precomputed_book(admin_user), month=MONTH)["approved_this_month"] == []


def test_the_dashboard_says_how_fresh_its_figures_are_in_a_constant_number_of_queries(
    client, admin_user, books, django_assert_max_num_queries
):
    dashboard_figures_refresh()
    client.force_login(admin_user)
    client.get(reverse("dashboard:dashboard"))
    with django_assert_max_num_queries(40) as captured:
        body = client.get(reverse("dashboard:dashboard")).content.decode()
    assert 'data-testid="book-freshness"' in body and 'data-testid="claims-freshness"' in body
    assert not any("policies_policy" in query["sql"] and "COUNT" in query["sql"] for query in captured.captured_queries)


def test_a_write_that_moves_the_figures_queues_one_refresh_and_it_counts_the_write(
    agent, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 60
    cache.clear()
    queued = []
    monkeypatch.setattr(core_tasks, "enqueue", lambda path, **kwargs: queued.append(path))
    with django_capture_on_commit_callbacks(execute=True):
        issue_policy(actor=agent, agent=agent)
        issue_policy(actor=agent, agent=agent)
    assert queued.count(core_tasks.DASHBOARD_REFRESH_TASK) == 1
    monkeypatch.undo()
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 60
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        CustomerFactory(agent=agent)
    assert book_card(agent, precomputed_book(agent))["total"] == 2


def test_no_refresh_is_queued_when_after_write_refreshes_are_off(
    agent, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 0
    queued = []
    monkeypatch.setattr(core_tasks, "enqueue", lambda path, **kwargs: queued.append(path))
    with django_capture_on_commit_callbacks(execute=True):
        issue_policy(actor=agent, agent=agent)
    assert core_tasks.DASHBOARD_REFRESH_TASK not in queued


def test_a_bulk_claim_transition_asks_for_a_refresh_and_it_counts_the_claims_moved(
    agent, supervisor, settings, django_capture_on_commit_callbacks
):
    claims = [file_claim(actor=agent, agent=agent) for _ in range(3)]
    dashboard_figures_refresh()
    before = claim_card_figures(agent)
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 60
    cache.clear()
    job = bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[claim.pk for claim in claims])
    with django_capture_on_commit_callbacks(execute=True):
        bulk_transition_run(job=job)
    live = claim_card_figures(agent)
    assert live != before
    assert without_freshness(claims_card(agent, precomputed_book(agent), month=MONTH)) == live


@pytest.mark.django_db(transaction=True)
def test_a_bulk_job_in_many_chunks_refreshes_after_its_last_chunk(agent, supervisor, settings, monkeypatch):
    monkeypatch.setattr("portal.claims.bulk.BULK_CHUNK", 1)
    claims = [file_claim(actor=agent, agent=agent) for _ in range(3)]
    dashboard_figures_refresh()
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 60
    cache.clear()
    job = bulk_transition_start(actor=supervisor, action="start_review", claim_ids=[claim.pk for claim in claims])

    bulk_transition_run(job=job)

    assert without_freshness(claims_card(agent, precomputed_book(agent), month=MONTH)) == claim_card_figures(agent)


@pytest.mark.django_db(transaction=True)
def test_a_write_that_rolls_back_holds_back_no_refresh(agent, supervisor, settings):
    claim = file_claim(actor=agent, agent=agent)
    dashboard_figures_refresh()
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 60
    cache.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        core_tasks.dashboard_figures_moved()
        raise RuntimeError("rolled back")

    claim_start_review(claim=claim, actor=supervisor)

    assert without_freshness(claims_card(agent, precomputed_book(agent), month=MONTH)) == claim_card_figures(agent)


@pytest.fixture
def loans(agent, settings):
    """In `agent`'s book a loan waiting on its KYC and a disbursed one gone late; another team's running loan."""
    waiting = apply_loan(agent=agent, customer=CustomerFactory(agent=agent))
    loan_services.loan_task_start(loan=waiting, actor=agent)
    late = disbursed(approved(apply_loan(customer=CustomerFactory(agent=agent)), settings))
    loan_arrears_age(today=timezone.localdate() + timedelta(days=75))
    other = UserFactory(role=Role.AGENT, team=TeamFactory())
    disbursed(approved(apply_loan(amount="2000000", customer=CustomerFactory(agent=other)), settings))
    return late


def disbursed(loan):
    loan_services.loan_act(
        loan=loan, action="disbursement_prepare", actor=UserFactory(role=Role.FINANCE), payee_account="Banco 1"
    )
    return loan_services.loan_act(loan=loan, action="disbursement_confirm", actor=UserFactory(role=Role.FINANCE))


@pytest.mark.parametrize("who", ["agent", "supervisor", "finance_user", "admin_user"])
def test_the_precomputed_loans_figures_equal_the_live_pipeline_and_portfolio_for_every_scope(request, loans, who):
    user = request.getfixturevalue(who)
    dashboard_figures_refresh()
    assert without_freshness(loans_card(user, precomputed_book(user))) == loan_card_figures(user)


def test_each_role_sees_the_loans_of_its_own_scope(agent, supervisor, finance_user, loans):
    dashboard_figures_refresh()
    mine = loans_card(agent, precomputed_book(agent))
    everyone = loans_card(finance_user, precomputed_book(finance_user))
    assert mine["in_progress"] == 1 and mine["computed_at"] is not None
    assert [(row["currency"], row["loans"]) for row in mine["portfolio"]] == [("COP", 1)]
    assert mine["portfolio"][0]["in_arrears"] == mine["portfolio"][0]["outstanding"] > 0
    assert loans_card(supervisor, precomputed_book(supervisor)) == mine
    assert [(row["currency"], row["loans"]) for row in everyone["portfolio"]] == [("COP", 2)]
    assert everyone["portfolio"][0]["outstanding"] > mine["portfolio"][0]["outstanding"]


def test_a_loan_that_moves_on_queues_a_refresh_and_it_counts_the_move(
    agent, settings, django_capture_on_commit_callbacks
):
    loan = apply_loan(agent=agent, customer=CustomerFactory(agent=agent))
    dashboard_figures_refresh()
    assert loans_card(agent, precomputed_book(agent))["in_progress"] == 0
    settings.AMPARO_DASHBOARD_REFRESH_DEBOUNCE_SECONDS = 60
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        loan_services.loan_task_start(loan=loan, actor=agent)
    assert loans_card(agent, precomputed_book(agent)) == {
        **loan_card_figures(agent),
        "computed_at": precomputed_book(agent)[1],
    }
    assert loans_card(agent, precomputed_book(agent))["in_progress"] == 1


def dashboard_queries(client, user, django_assert_max_num_queries):
    client.force_login(user)
    client.get(reverse("dashboard:dashboard"))
    with django_assert_max_num_queries(DASHBOARD_QUERIES[user.role]) as captured:
        response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


# Session, user, its device, its permissions (2), the navigation's three badges, the figures row, and
# what each role's cards read of small tables or of the audit table by index.
DASHBOARD_QUERIES = {Role.ADMIN: 16, Role.FINANCE: 17, Role.SUPERVISOR: 13, Role.AGENT: 11, Role.INTERVENTORIA: 17}


@pytest.mark.parametrize("who", ["agent", "supervisor", "finance_user", "admin_user", "auditor"])
def test_each_dashboard_costs_the_same_few_queries_whatever_the_size_of_the_books(
    request, client, books, loans, who, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    dashboard_figures_refresh()
    small = dashboard_queries(client, user, django_assert_max_num_queries)
    agent = request.getfixturevalue("agent")
    for _ in range(3):
        issue_policy(customer=CustomerFactory(agent=agent))
        file_claim(actor=agent, agent=agent)
        loan_services.loan_task_start(loan=apply_loan(customer=CustomerFactory(agent=agent)), actor=agent)
    dashboard_figures_refresh()
    larger = dashboard_queries(client, user, django_assert_max_num_queries)
    assert len(larger) == len(small)
    # The navigation's badges count up to a bound (LIMIT); nothing else counts the books.
    unbounded = [sql for sql in larger if "COUNT" in sql and "LIMIT" not in sql]
    assert not any(table in sql for sql in unbounded for table in ("policies_policy", "claims_claim", "loans_loan"))
    assert sum("reports_dashboardfigure" in sql for sql in larger) == 1
