"""The staff API: the claims work queue (the portal queue's filters and scopes, pages without a count)
and bulk moves (by ids or by a filter, one result per claim, the portal's bulk service and limits).
Customers get 403 on every staff endpoint."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.tokens import token_pair_for
from portal.accounts.models import Role
from portal.claims import services
from portal.claims.models import BulkTransitionJob, Claim

from ..factories import CustomerFactory, TeamFactory, UserFactory, file_claim, issue_policy

CLAIMS = "/api/v1/staff/claims/"
BULK = "/api/v1/staff/claims/bulk-transition/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_claims(agent, product):
    """Three claims in the agent's book: two pending, one under review."""
    policy = issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=product)
    made = [file_claim(policy=policy, actor=agent, claimed_amount="1000000") for _ in range(3)]
    services.claim_start_review(claim=made[2], actor=agent)
    return made


@pytest.fixture
def foreign_claim(product):
    """A claim in another team's book."""
    outsider = UserFactory(role=Role.AGENT, team=TeamFactory())
    policy = issue_policy(customer=CustomerFactory(agent=outsider, created_by=outsider), product=product)
    return file_claim(policy=policy, actor=outsider)


def get(app_client, user, path=CLAIMS, **params):
    return app_client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")


def post(app_post, user, data, path=BULK):
    return app_post(path, data, token=token_pair_for(user)["access"])


def numbers(response):
    return sorted(row["number"] for row in response.json()["results"])


def test_an_agent_lists_the_claims_of_their_own_book_only(app_client, agent, own_claims, foreign_claim):
    response = get(app_client, agent)

    assert response.status_code == 200
    assert numbers(response) == sorted(c.number for c in own_claims)
    row = response.json()["results"][0]
    assert {"number", "status", "claimed_amount", "customer", "policy_number", "product"} <= set(row)


def test_a_supervisor_sees_the_books_of_their_team_only(app_client, supervisor, own_claims, foreign_claim):
    assert numbers(get(app_client, supervisor)) == sorted(c.number for c in own_claims)


def test_an_administrator_and_interventoria_see_every_book(app_client, admin_user, auditor, own_claims, foreign_claim):
    for user in (admin_user, auditor):
        assert len(get(app_client, user).json()["results"]) == 4


def test_the_queue_filters_are_the_portals(app_client, agent, own_claims):
    pending = get(app_client, agent, status="PENDING")
    by_number = get(app_client, agent, number=own_claims[0].number)
    open_ones = get(app_client, agent, status="OPEN")

    assert numbers(pending) == sorted(c.number for c in own_claims[:2])
    assert numbers(by_number) == [own_claims[0].number]
    assert len(open_ones.json()["results"]) == 3


def test_a_bad_filter_or_ordering_is_400(app_client, agent, own_claims):
    assert get(app_client, agent, status="NOPE").status_code == 400
    assert get(app_client, agent, ordering="password").status_code == 400


def test_pages_have_no_count_and_a_capped_size(app_client, agent, own_claims):
    first = get(app_client, agent, page_size=2)
    second = app_client.get(first.json()["next"], HTTP_AUTHORIZATION=f"Bearer {token_pair_for(agent)['access']}")
    huge = get(app_client, agent, page_size=100_000)

    assert "count" not in first.json() and len(first.json()["results"]) == 2
    assert len(second.json()["results"]) == 1 and second.json()["next"] is None
    assert len(huge.json()["results"]) == 3


def test_a_bulk_move_by_ids_reports_each_claim_and_leaves_out_other_books(app_post, agent, own_claims, foreign_claim):
    ids = [c.pk for c in own_claims] + [foreign_claim.pk]

    response = post(app_post, agent, {"action": "start_review", "claims": ids})

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["applied"], body["refused"], body["left_out"]) == ("FINISHED", 2, 1, 1)
    outcomes = {row["number"]: row["outcome"] for row in body["results"]}
    assert outcomes == {own_claims[0].number: "DONE", own_claims[1].number: "DONE", own_claims[2].number: "REFUSED"}
    assert Claim.objects.get(pk=foreign_claim.pk).status == Claim.Status.PENDING


def test_a_bulk_move_by_filter_takes_every_matching_claim_in_scope(app_post, agent, own_claims, foreign_claim):
    response = post(app_post, agent, {"action": "start_review", "filter": {"status": "PENDING"}})

    assert response.status_code == 200 and response.json()["applied"] == 2
    assert Claim.objects.get(pk=foreign_claim.pk).status == Claim.Status.PENDING


def test_a_large_bulk_move_runs_in_the_worker_and_is_followed_by_its_job(
    app_client, app_post, agent, own_claims, settings
):
    settings.AMPARO_CLAIM_BULK_IN_REQUEST = 1

    response = post(app_post, agent, {"action": "start_review", "claims": [c.pk for c in own_claims[:2]]})
    job = get(app_client, agent, path=f"/api/v1/staff/claims/bulk-jobs/{response.json()['id']}/")

    assert response.status_code == 202
    # Huey runs immediately in the tests: the job is done by the time it is asked for.
    assert job.status_code == 200 and job.json()["applied"] == 2 and len(job.json()["results"]) == 2


def test_another_users_bulk_job_is_404(app_client, app_post, agent, supervisor, own_claims):
    job = post(app_post, agent, {"action": "start_review", "claims": [own_claims[0].pk]}).json()

    assert get(app_client, supervisor, path=f"/api/v1/staff/claims/bulk-jobs/{job['id']}/").status_code == 404
    assert get(app_client, agent, path=f"/api/v1/staff/claims/bulk-jobs/{uuid.uuid4()}/").status_code == 404


def test_a_role_that_may_not_make_the_move_is_refused_by_the_service(app_post, agent, own_claims):
    response = post(app_post, agent, {"action": "close", "claims": [own_claims[0].pk]})

    assert response.status_code == 403 and "detail" in response.json()
    assert not BulkTransitionJob.objects.exists()


def test_bulk_input_must_name_ids_or_a_filter_and_a_bulk_action(app_post, agent, own_claims):
    assert post(app_post, agent, {"action": "start_review"}).status_code == 400
    both = {"action": "start_review", "claims": [own_claims[0].pk], "filter": {"status": "PENDING"}}
    assert post(app_post, agent, both).status_code == 400
    assert post(app_post, agent, {"action": "approve", "claims": [own_claims[0].pk]}).status_code == 400
    assert post(app_post, agent, {"action": "start_review", "claims": [999_999]}).status_code == 400
    assert not BulkTransitionJob.objects.exists()


def test_finance_reads_the_queue_but_cannot_move_claims(app_client, app_post, finance_user, own_claims):
    assert get(app_client, finance_user).status_code == 200
    assert post(app_post, finance_user, {"action": "start_review", "claims": [own_claims[0].pk]}).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", CLAIMS), ("post", BULK), ("get", "/api/v1/staff/claims/bulk-jobs/00000000-0000-0000-0000-000000000000/")],
)
def test_every_staff_endpoint_refuses_a_customer(method, path, app_client, customer_account, own_claims):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_pair_for(customer_account)['access']}"}
    data = {"action": "start_review", "claims": [own_claims[0].pk]}

    response = (
        getattr(app_client, method)(path, data, format="json", **auth)
        if method == "post"
        else (app_client.get(path, **auth))
    )

    assert response.status_code == 403 and "detail" in response.json()
    assert Claim.objects.get(pk=own_claims[0].pk).status == Claim.Status.PENDING


def test_staff_endpoints_need_a_token(app_client):
    response = app_client.get(CLAIMS)

    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_the_queue_reads_in_the_same_number_of_queries_whatever_the_rows(app_client, agent, own_claims):
    token = token_pair_for(agent)["access"]

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert app_client.get(CLAIMS, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(4):
        file_claim(policy=own_claims[0].policy, actor=agent, claimed_amount="1000")

    assert queries() == few
