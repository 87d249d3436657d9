"""Bulk actions from the work queue: by the rows ticked or by "all matching this filter", with a
confirmation first, applied claim by claim with the same rules, and a result per claim. Small sets
run in the request; larger ones go to the huey task (immediate in tests) with a progress page.
"""

import pytest
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims import bulk as claim_bulk
from portal.claims import services, workflow
from portal.claims.models import BulkTransitionJob, BulkTransitionResult, Claim
from portal.claims.views import CHANGE_REASON

from .factories import CustomerFactory, ProductFactory, TeamFactory, UserFactory, file_claim, issue_policy
from .helpers import HTMX, signed_in


def bulk(client, *, htmx=False, follow=False, **data):
    return client.post(reverse("claims:bulk_apply"), data, headers=HTMX if htmx else {}, follow=follow)


def statuses(claims):
    return [Claim.objects.get(pk=claim.pk).status for claim in claims]


def outcomes(job):
    return {
        result.claim.number: (result.outcome, result.message)
        for result in BulkTransitionResult.objects.filter(job=job).select_related("claim")
    }


@pytest.fixture
def policy(agent, product):
    return issue_policy(customer=CustomerFactory(agent=agent, created_by=agent), product=product)


@pytest.fixture
def claims(policy, agent):
    """Three claims of the agent's: two pending, one already under review."""
    made = [file_claim(policy=policy, actor=agent, claimed_amount="1000000") for _ in range(3)]
    services.claim_start_review(claim=made[2], actor=agent)
    return made


def test_ticking_claims_first_asks_for_confirmation_and_changes_nothing(client, agent, claims):
    response = bulk(signed_in(client, agent), action="start_review", claim=[c.pk for c in claims])

    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert "Start review: 3 claims." in body
    assert statuses(claims) == ["PENDING", "PENDING", "UNDER_REVIEW"]
    assert not BulkTransitionJob.objects.exists()


def test_a_confirmed_bulk_action_applies_claim_by_claim_and_shows_each_outcome(client, agent, claims):
    signed_in(client, agent)

    response = bulk(client, action="start_review", claim=[c.pk for c in claims], confirmed="on")

    job = BulkTransitionJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("claims:bulk_job", args=[job.pk])
    assert statuses(claims) == ["UNDER_REVIEW"] * 3
    assert (job.status, job.total, job.applied, job.refused) == ("FINISHED", 3, 2, 1)
    result = outcomes(job)
    assert result[claims[0].number] == ("DONE", "")
    assert result[claims[2].number][0] == "REFUSED"
    assert "is under review now, so it cannot be put under review" in result[claims[2].number][1]
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="bulk-results"' in page
    assert f'data-claim="{claims[2].number}" data-outcome="REFUSED"' in page
    assert AuditEvent.objects.filter(action="claim.start_review").count() == 3


def test_the_htmx_path_confirms_in_place_then_redirects_to_the_result(client, agent, claims):
    signed_in(client, agent)

    confirm = bulk(client, htmx=True, action="start_review", claim=[claims[0].pk])
    applied = bulk(client, htmx=True, action="start_review", claim=[claims[0].pk], confirmed="on")

    assert "<html" not in confirm.content.decode() and 'data-testid="bulk-confirm"' in confirm.content.decode()
    job = BulkTransitionJob.objects.get()
    assert applied["HX-Redirect"] == reverse("claims:bulk_job", args=[job.pk])


def test_all_claims_matching_the_filter_are_taken_with_mixed_outcomes(client, supervisor, agent, claims, reason):
    other_policy = issue_policy(customer=CustomerFactory(agent=agent), product=ProductFactory(name="Hogar"))
    elsewhere = file_claim(policy=other_policy, actor=agent)
    signed_in(client, supervisor)
    query = f"policy={claims[0].policy.number}&sort=-created_at"

    confirm = bulk(
        client, action="reject", rejection_reason=reason.pk, note="Fuera de cobertura", every_match="on", query=query
    )
    bulk(
        client,
        action="reject",
        rejection_reason=reason.pk,
        note="Fuera de cobertura",
        every_match="on",
        query=query,
        confirmed="on",
    )

    assert "Reject: 3 claims." in confirm.content.decode()
    job = BulkTransitionJob.objects.get()
    assert (job.applied, job.refused) == (1, 2)
    assert statuses(claims) == ["PENDING", "PENDING", "REJECTED"]
    assert statuses([elsewhere]) == ["PENDING"]
    assert "is pending now, so it cannot be rejected" in outcomes(job)[claims[0].number][1]


def test_the_queue_says_how_many_claims_match_without_counting_past_the_bound(client, agent, claims, monkeypatch):
    signed_in(client, agent)
    url = reverse("claims:queue_count")

    page = client.get(reverse("claims:claim_list"), {"status": "OPEN"}).content.decode()
    counted = client.get(url, {"status": "OPEN"}, headers=HTMX).content.decode()
    one = client.get(url, {"status": "OPEN", "number": claims[0].number}, headers=HTMX).content.decode()
    monkeypatch.setattr(workflow, "BULK_MAX", 2)
    bounded = client.get(url, {"status": "OPEN"}, headers=HTMX).content.decode()

    assert f'hx-get="{url}?status=OPEN"' in page
    assert "All 3 claims matching this filter" in counted
    assert "The 1 claim matching this filter" in one
    assert "All claims matching this filter (more than 2)" in bounded


def test_the_count_never_counts_another_books_claims(client, claims, product):
    stranger = UserFactory(role=Role.AGENT, team=TeamFactory())
    file_claim(policy=issue_policy(customer=CustomerFactory(agent=stranger), product=product), actor=stranger)

    body = signed_in(client, stranger).get(reverse("claims:queue_count"), headers=HTMX).content.decode()

    assert "The 1 claim matching this filter" in body


def test_claims_outside_the_users_book_are_left_out_and_said_so(client, agent, claims, product):
    stranger = UserFactory(role=Role.AGENT, team=TeamFactory())
    theirs = file_claim(policy=issue_policy(customer=CustomerFactory(agent=stranger), product=product), actor=stranger)
    signed_in(client, agent)

    confirm = bulk(client, action="start_review", claim=[claims[0].pk, theirs.pk, 999999999])
    response = bulk(client, action="start_review", claim=[claims[0].pk, theirs.pk], confirmed="on", follow=True)

    assert "2 chosen claims are not in your book; they will be left out." in confirm.content.decode()
    assert "1 chosen claim is not in your book; it was left out." in response.content.decode()
    job = BulkTransitionJob.objects.get()
    assert job.claim_ids == [claims[0].pk]
    assert statuses([theirs]) == ["PENDING"]
    assert theirs.number not in response.content.decode()


def test_choosing_only_claims_outside_the_book_is_refused(client, agent, product):
    stranger = UserFactory(role=Role.AGENT, team=TeamFactory())
    theirs = file_claim(policy=issue_policy(customer=CustomerFactory(agent=stranger), product=product), actor=stranger)

    response = bulk(signed_in(client, agent), htmx=True, action="start_review", claim=[theirs.pk], confirmed="on")

    assert response.status_code == 422
    assert "None of the chosen claims is in your book." in response.content.decode()
    assert not BulkTransitionJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "start_review"}, "Select at least one claim, or choose all claims matching the filter."),
        ({"action": "approve", "claim": ["1"]}, "Select a valid choice."),
        ({"action": "reject", "claim": ["1"]}, "Select a valid choice."),
        ({"action": "", "claim": ["1"]}, "This field is required."),
    ],
)
def test_a_bulk_action_the_role_may_not_make_or_without_claims_is_refused(client, agent, claims, data, message):
    response = bulk(signed_in(client, agent), htmx=True, confirmed="on", **data)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not BulkTransitionJob.objects.exists()


def test_a_bulk_rejection_needs_a_reason_and_a_note(client, supervisor, claims):
    response = bulk(signed_in(client, supervisor), htmx=True, action="reject", claim=[claims[2].pk], confirmed="on")

    body = response.content.decode()
    assert response.status_code == 422 and "Pick a rejection reason." in body
    assert statuses(claims) == ["PENDING", "PENDING", "UNDER_REVIEW"]


def test_a_refused_bulk_action_on_the_full_page_goes_back_to_the_queue_with_the_reason(client, agent, claims):
    response = bulk(signed_in(client, agent), action="start_review", query="status=OPEN", follow=True)

    assert response.redirect_chain[-1][0] == f"{reverse('claims:claim_list')}?status=OPEN"
    assert "Select at least one claim" in response.content.decode()


def test_a_bulk_action_above_the_maximum_is_refused(client, agent, claims, monkeypatch):
    monkeypatch.setattr(workflow, "BULK_MAX", 2)

    response = bulk(signed_in(client, agent), htmx=True, action="start_review", every_match="on", query="status=OPEN")

    assert response.status_code == 422
    assert "A bulk action takes at most 2 claims at a time; narrow the filter." in response.content.decode()


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA])
def test_read_only_roles_get_403_on_bulk_actions(client, claims, role):
    response = bulk(
        signed_in(client, UserFactory(role=role)), action="close", claim=[c.pk for c in claims], confirmed="on"
    )

    assert response.status_code == 403 and str(CHANGE_REASON) in response.content.decode()
    assert not BulkTransitionJob.objects.exists()


def test_a_large_set_goes_to_the_worker_and_the_page_shows_its_result(
    client, agent, claims, settings, django_capture_on_commit_callbacks
):
    settings.AMPARO_CLAIM_BULK_IN_REQUEST = 2
    signed_in(client, agent)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = bulk(client, action="start_review", every_match="on", query="status=OPEN", confirmed="on")

    # The job for the worker, then (queued by the job's chunk) the emails to the customers it moved.
    assert len(callbacks) == 2
    job = BulkTransitionJob.objects.get()
    assert (job.status, job.processed, job.applied, job.refused) == ("FINISHED", 3, 2, 1)
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="bulk-results"' in page and 'hx-trigger="every 1s"' not in page


def test_a_small_set_runs_in_the_request_without_the_worker(
    client, agent, claims, django_capture_on_commit_callbacks, monkeypatch
):
    signed_in(client, agent)
    queued = []
    monkeypatch.setattr("portal.core.tasks.enqueue", lambda task_path, **kwargs: queued.append(task_path))

    with django_capture_on_commit_callbacks(execute=True):
        bulk(client, action="start_review", claim=[claims[0].pk], confirmed="on")

    # Only the customer's email goes to the worker; the move itself was made in the request.
    assert queued == ["portal.claims.tasks.claim_status_emails_send_task"]
    assert BulkTransitionJob.objects.get().status == "FINISHED"


def test_the_progress_of_a_running_job_is_polled_until_it_finishes(client, agent, claims):
    job = claim_bulk.bulk_transition_start(actor=agent, action="start_review", claim_ids=[c.pk for c in claims])
    signed_in(client, agent)
    url = reverse("claims:bulk_job", args=[job.pk])
    poll = {"HX-Request": "true", "HX-Target": "bulk-progress"}

    queued = client.get(url).content.decode()
    polled = client.get(url, {"was_running": "1"}, headers=poll)
    claim_bulk.bulk_transition_run(job=job)
    finished = client.get(url, {"was_running": "1"}, headers=poll)

    assert 'hx-trigger="every 1s"' in queued and "The result per claim shows here when it finishes" in queued
    assert polled.status_code == 200 and "<html" not in polled.content.decode()
    assert 'data-testid="bulk-total">3<' in polled.content.decode()
    assert finished["HX-Refresh"] == "true"


def test_the_result_table_filters_by_outcome(client, agent, claims):
    job = claim_bulk.bulk_transition_start(actor=agent, action="start_review", claim_ids=[c.pk for c in claims])
    claim_bulk.bulk_transition_run(job=job)
    signed_in(client, agent)

    refused = client.get(reverse("claims:bulk_job", args=[job.pk]), {"outcome": "REFUSED"}).content.decode()

    assert claims[2].number in refused and claims[0].number not in refused


def test_another_users_bulk_job_is_404(client, agent, supervisor, claims):
    job = claim_bulk.bulk_transition_start(actor=agent, action="start_review", claim_ids=[claims[0].pk])

    assert signed_in(client, supervisor).get(reverse("claims:bulk_job", args=[job.pk])).status_code == 404


def test_the_job_page_names_when_and_by_whom_it_started(client, agent, claims):
    job = claim_bulk.bulk_transition_start(actor=agent, action="start_review", claim_ids=[claims[0].pk])

    body = signed_in(client, agent).get(reverse("claims:bulk_job", args=[job.pk])).content.decode()

    assert "Bulk action: Start review" in body and f"Started by {agent.full_name}" in body
