"""Authority limits, four-eyes, the buttons offered against what the services accept, and whose claims one sees."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import Role, UserStatus
from portal.claims import workflow
from portal.claims.models import Claim, ClaimStatus, RejectionReason
from portal.claims.selectors import claim_figures, claims_visible_to
from portal.claims.services import (
    claim_actions_available,
    claim_approve,
    claim_reject,
    claim_start_review,
    claim_transition,
)

from .factories import CustomerFactory, TeamFactory, UserFactory, file_claim, grant_approval_limit, issue_policy
from .helpers import CLAIMED, People, claim_in, footprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_with(db):
    def supervisor_with(limit=None, currency="COP"):
        supervisor = UserFactory(role=Role.SUPERVISOR)
        return grant_approval_limit(supervisor, limit, currency) if limit is not None else supervisor

    return supervisor_with


@pytest.fixture
def under_review(people):
    def under_review(amount=CLAIMED):
        return claim_in(ClaimStatus.UNDER_REVIEW, people, amount=Decimal(amount))

    return under_review


def refused_approval(claim, actor, amount=None):
    before = footprint(claim)
    with pytest.raises(PermissionDenied) as refused:
        claim_approve(claim=claim, actor=actor, amount=amount or claim.claimed_amount, note="Conforme")
    assert footprint(claim) == before
    return str(refused.value)


ABOVE_LIMIT = "This claim is above your approval limit; an administrator must approve it."


# --- authority limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["5000000", "5000000.00", "80000000"])
def test_a_supervisor_approves_a_claim_up_to_their_limit(under_review, supervisor_with, limit):
    claim = under_review("5000000")
    supervisor = supervisor_with(limit)

    approved = claim_approve(claim=claim, actor=supervisor, amount="5000000", note="Dentro del límite")

    assert (approved.status, approved.decided_by) == (ClaimStatus.APPROVED, supervisor)


def test_a_supervisor_may_not_approve_a_claim_a_cent_above_their_limit(under_review, supervisor_with):
    claim = under_review("5000000.01")

    assert refused_approval(claim, supervisor_with("5000000")) == ABOVE_LIMIT


def test_a_supervisor_may_not_approve_part_of_a_claim_whose_claimed_amount_is_above_their_limit(
    under_review, supervisor_with
):
    claim = under_review("9000000")

    assert refused_approval(claim, supervisor_with("5000000"), amount="4000000") == ABOVE_LIMIT


def test_a_supervisor_without_an_approval_authority_may_not_approve_at_all(under_review, supervisor_with):
    claim = under_review("1000")

    assert refused_approval(claim, supervisor_with()) == ABOVE_LIMIT


def test_an_authority_in_another_currency_gives_no_authority_over_a_peso_claim(under_review, supervisor_with):
    claim = under_review("1000")

    assert refused_approval(claim, supervisor_with("1000000000", currency="USD")) == ABOVE_LIMIT


def test_an_authority_of_zero_gives_no_authority(under_review, supervisor_with):
    assert refused_approval(under_review("1"), supervisor_with("0")) == ABOVE_LIMIT


def test_an_administrator_approves_any_amount_without_an_authority_row(under_review, admin_user):
    claim = under_review("100000000")

    approved = claim_approve(claim=claim, actor=admin_user, amount="100000000", note="Pérdida total")

    assert approved.approved_amount == Decimal("100000000.00")


def test_a_supervisor_above_their_limit_may_still_reject_the_claim(under_review, supervisor_with):
    claim = under_review("90000000")
    supervisor = supervisor_with("1000000")

    rejected = claim_reject(
        claim=claim, actor=supervisor, reason=RejectionReason.objects.first(), note="Exclusión aplicable"
    )

    assert rejected.status == ClaimStatus.REJECTED


# --- four eyes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_nobody_approves_or_rejects_a_claim_they_filed(role):
    filer = grant_approval_limit(UserFactory(role=role), "1000000000")
    claim = file_claim(actor=filer)
    claim = claim_start_review(claim=claim, actor=UserFactory(role=Role.AGENT))
    before = footprint(claim)

    with pytest.raises(PermissionDenied) as approving:
        claim_approve(claim=claim, actor=filer, amount="100", note="Mío")
    with pytest.raises(PermissionDenied) as rejecting:
        claim_reject(claim=claim, actor=filer, reason=RejectionReason.objects.first(), note="Mío")

    assert str(approving.value) == str(rejecting.value) == "You filed this claim; somebody else must decide on it."
    assert footprint(claim) == before


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_nobody_approves_a_claim_they_started_reviewing(people, role):
    reviewer = grant_approval_limit(UserFactory(role=role), "1000000000")
    claim = claim_start_review(claim=claim_in(ClaimStatus.PENDING, people), actor=reviewer)

    assert refused_approval(claim, reviewer) == "You reviewed this claim; somebody else must approve it."


def test_the_reviewer_may_reject_the_claim_they_reviewed(people, supervisor_with):
    reviewer = supervisor_with("1000000000")
    claim = claim_start_review(claim=claim_in(ClaimStatus.PENDING, people), actor=reviewer)

    rejected = claim_reject(claim=claim, actor=reviewer, reason=RejectionReason.objects.first(), note="No cubierto")

    assert (rejected.reviewed_by, rejected.decided_by) == (reviewer, reviewer)


# --- the buttons offered are exactly the moves accepted ----------------------------------------------------


def acting(kind, people):
    """The person acting, by the part they play: a role, or a supervisor in a particular position."""
    if kind == "supervisor within limit":
        return grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "1000000000")
    if kind == "supervisor above limit":
        return grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "4999999.99")
    if kind == "supervisor without authority":
        return UserFactory(role=Role.SUPERVISOR)
    if kind == "supervisor with dollars only":
        return grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "1000000000", currency="USD")
    if kind in ("supervisor who filed", "supervisor who reviewed"):
        return people.filer if kind == "supervisor who filed" else people.reviewer
    return UserFactory(role=kind)


ACTING = [
    *[role for role in Role if role != Role.SUPERVISOR],
    "supervisor within limit",
    "supervisor above limit",
    "supervisor without authority",
    "supervisor with dollars only",
    "supervisor who filed",
    "supervisor who reviewed",
]


def accepted_moves(claim, actor):
    """Each manual move tried with good inputs, each rolled back; the ones the services accept."""
    inputs = {
        "approve": {"amount": claim.claimed_amount, "note": "Conforme"},
        "reject": {"rejection_reason": RejectionReason.objects.first(), "note": "No cubierto"},
        "reopen": {"note": "Nueva evidencia"},
    }
    accepted = set()
    for action in workflow.MANUAL_ACTIONS:
        savepoint = transaction.savepoint()
        try:
            claim_transition(
                claim=claim, action=action, actor=actor, expected_revision=claim.revision, **inputs.get(action, {})
            )
        except (PermissionDenied, ValidationError):
            pass
        else:
            accepted.add(action)
        transaction.savepoint_rollback(savepoint)
    return accepted


@pytest.mark.parametrize("status", list(ClaimStatus))
@pytest.mark.parametrize("kind", ACTING)
def test_the_moves_offered_on_a_claim_are_exactly_the_moves_the_services_accept(status, kind):
    people = People(
        filer=grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "1000000000"),
        reviewer=grant_approval_limit(UserFactory(role=Role.SUPERVISOR), "1000000000"),
        decider=UserFactory(role=Role.ADMIN),
        payer=UserFactory(role=Role.FINANCE),
    )
    claim = claim_in(status, people)
    actor = acting(kind, people)

    offered = {transition.action for transition in claim_actions_available(claim, actor)}

    assert offered == accepted_moves(claim, actor)
    assert "pay" not in offered


def test_the_buttons_match_the_table_for_the_usual_cases(people, supervisor_with, admin_user):
    claim = claim_in(ClaimStatus.UNDER_REVIEW, people)

    def offered(user):
        return [transition.action for transition in claim_actions_available(claim, user)]

    assert offered(supervisor_with("1000000000")) == ["approve", "reject"]
    assert offered(supervisor_with("1000")) == ["reject"]
    assert offered(admin_user) == ["approve", "reject"]
    assert offered(people.filer) == []
    assert offered(UserFactory(role=Role.FINANCE)) == []


# --- scope: whose claims one sees --------------------------------------------------------------------------


@dataclass
class Book:
    north: object
    south: object
    north_agent: object
    south_agent: object
    claims: dict


@pytest.fixture
def book(db):
    """Two teams, an agent on each, a claim in each agent's book."""
    north, south = TeamFactory(), TeamFactory()
    north_agent = UserFactory(role=Role.AGENT, team=north)
    south_agent = UserFactory(role=Role.AGENT, team=south)
    claims = {}
    for agent in (north_agent, south_agent):
        policy = issue_policy(actor=agent, customer=CustomerFactory(agent=agent))
        claims[agent] = file_claim(policy=policy, actor=agent)
    return Book(north, south, north_agent, south_agent, claims)


def visible(user):
    return set(claims_visible_to(user))


def test_an_agent_sees_the_claims_on_their_own_customers_only(book):
    assert visible(book.north_agent) == {book.claims[book.north_agent]}
    assert visible(book.south_agent) == {book.claims[book.south_agent]}


def test_an_agent_sees_a_claim_on_their_customer_even_when_someone_else_filed_it(book, admin_user):
    policy = book.claims[book.north_agent].policy
    by_admin = file_claim(policy=policy, actor=admin_user)

    assert visible(book.north_agent) == {book.claims[book.north_agent], by_admin}


def test_a_supervisor_sees_the_claims_of_their_teams_agents_and_not_of_other_teams(book):
    assert visible(book.north.supervisor) == {book.claims[book.north_agent]}
    assert visible(book.south.supervisor) == {book.claims[book.south_agent]}
    assert visible(UserFactory(role=Role.SUPERVISOR)) == set()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA, Role.ADMIN])
def test_finance_interventoria_and_administrators_see_every_claim(book, role):
    assert visible(UserFactory(role=role)) == set(book.claims.values())


def test_a_client_sees_no_claim_in_the_portal_scope(book):
    assert visible(UserFactory(role=Role.CLIENT)) == set()


def test_a_suspended_administrator_sees_no_claim(book):
    admin = UserFactory(role=Role.ADMIN, status=UserStatus.SUSPENDED)
    admin.refresh_from_db()

    assert visible(admin) == set()


# --- the dashboard's figures -------------------------------------------------------------------------------


def test_the_dashboard_figures_count_only_the_claims_in_scope_in_two_queries(book, people, django_assert_num_queries):
    north, north_agent = book.north, book.north_agent
    policy = book.claims[north_agent].policy
    theirs = People(filer=north_agent, reviewer=people.reviewer, decider=people.decider, payer=people.payer)
    for status, amount in [
        (ClaimStatus.UNDER_REVIEW, "1000000"),
        (ClaimStatus.APPROVED, "2000000"),
        (ClaimStatus.PAID, "3000000.50"),
        (ClaimStatus.REJECTED, "4000000"),
        (ClaimStatus.CLOSED, "5000000"),
    ]:
        claim_in(status, theirs, policy=policy, amount=Decimal(amount))
    old = book.claims[north_agent]
    Claim.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=40))
    claim_in(ClaimStatus.APPROVED, people, amount=Decimal("9000000"))  # another book: not the supervisor's

    with django_assert_num_queries(2):
        figures = claim_figures(north.supervisor)

    assert [(status, count) for status, _label, count in figures["by_status"]] == [
        ("PENDING", 1),
        ("UNDER_REVIEW", 1),
        ("APPROVED", 1),
        ("REJECTED", 1),
        ("PAID", 1),
        ("CLOSED", 1),
    ]
    assert figures["open"] == 3
    assert figures["ageing"] == [("0-7", 2), ("8-30", 0), ("31-90", 1), ("91+", 0)]
    # Approved this month: the approved, the paid and the closed-after-paid claims' approvals.
    assert figures["approved_this_month"] == [("COP", Decimal("10000000.50"))]
    assert figures["chart"]["values"] == [1, 1, 1, 1, 1, 1]
    assert claim_figures(UserFactory(role=Role.ADMIN))["approved_this_month"] == [("COP", Decimal("19000000.50"))]
    assert claim_figures(UserFactory(role=Role.CLIENT))["open"] == 0


def test_approvals_count_in_the_month_they_were_made_only(people):
    claim_in(ClaimStatus.APPROVED, people)
    admin = UserFactory(role=Role.ADMIN)
    today = timezone.localdate()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    last_month = today.replace(day=1) - timedelta(days=1)

    assert claim_figures(admin, today=today)["approved_this_month"] == [("COP", CLAIMED)]
    assert claim_figures(admin, today=next_month)["approved_this_month"] == []
    assert claim_figures(admin, today=last_month)["approved_this_month"] == []
