"""The customer's own policies: the list, one policy's current terms, coverages and versions, and the
policy document of the current or a given version; another customer's policy is 404."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import Role
from portal.policies.services import policy_endorse

from ..factories import UserFactory, issue_policy

pytestmark = pytest.mark.django_db
POLICIES = "/api/v1/policies/"


@pytest.fixture
def my_policy(customer_account):
    return issue_policy(customer=customer_account.customer)


@pytest.fixture
def endorsed(my_policy):
    return policy_endorse(
        policy=my_policy,
        actor=my_policy.customer.agent,
        effective_date=timezone.localdate() + timedelta(days=1),
        reason="Más cobertura",
        sum_insured="150000000",
    )


def test_the_list_shows_only_the_callers_policies(customer_client, my_policy):
    issue_policy()
    body = customer_client.get(POLICIES).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["number"] == my_policy.number and row["version"] == 1 and row["currency"] == "COP"


def test_the_policy_list_reads_the_same_number_of_queries_for_one_policy_or_many(
    customer_client, customer_account, my_policy, django_assert_max_num_queries, django_assert_num_queries
):
    with django_assert_max_num_queries(20) as one:
        customer_client.get(POLICIES)
    for _ in range(4):
        issue_policy(customer=customer_account.customer)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(customer_client.get(POLICIES).json()["results"]) == 5


def test_a_policy_shows_its_current_terms_coverages_and_every_version(customer_client, endorsed):
    body = customer_client.get(f"{POLICIES}{endorsed.pk}/").json()
    assert body["version"] == 2 and body["sum_insured"] == "150000000.00"
    assert [v["kind"] for v in body["versions"]] == ["NEW_BUSINESS", "ENDORSEMENT"]
    assert {c["code"] for c in body["coverages"]} == {"RC", "PT"}
    assert body["breakdown"]["total"] == body["premium"]
    assert body["document"].endswith(f"{POLICIES}{endorsed.pk}/document/")
    assert body["versions"][0]["document"].endswith("document/?version=1")


def test_the_detail_reads_the_same_number_of_queries_whatever_its_versions(
    customer_client, my_policy, django_assert_max_num_queries, django_assert_num_queries
):
    with django_assert_max_num_queries(20) as one:
        customer_client.get(f"{POLICIES}{my_policy.pk}/")
    for day in (1, 2, 3):
        policy_endorse(
            policy=my_policy,
            actor=my_policy.customer.agent,
            effective_date=timezone.localdate() + timedelta(days=day),
            reason="Cambio",
            sum_insured=f"1{day}0000000",
        )
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(customer_client.get(f"{POLICIES}{my_policy.pk}/").json()["versions"]) == 4


def test_the_document_is_the_current_versions_pdf(customer_client, endorsed):
    response = customer_client.get(f"{POLICIES}{endorsed.pk}/document/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert f"{endorsed.number}-v2.pdf" in response["Content-Disposition"]


def test_the_document_of_an_earlier_version_on_request(customer_client, endorsed):
    response = customer_client.get(f"{POLICIES}{endorsed.pk}/document/?version=1")
    assert response.status_code == 200 and f"{endorsed.number}-v1.pdf" in response["Content-Disposition"]


@pytest.mark.parametrize(("version", "status"), [("9", 404), ("uno", 400), ("-1", 400)])
def test_a_missing_or_malformed_version_is_refused_in_json(customer_client, my_policy, version, status):
    document = f"{POLICIES}{my_policy.pk}/document/?version={version}"
    response = customer_client.get(document, HTTP_ACCEPT="application/pdf")
    assert response.status_code == status and response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_another_customers_policy_and_its_document_are_404(customer_client):
    theirs = issue_policy()
    assert customer_client.get(f"{POLICIES}{theirs.pk}/").status_code == 404
    assert customer_client.get(f"{POLICIES}{theirs.pk}/document/").status_code == 404


def test_an_id_that_is_too_large_is_404_not_an_error(customer_client):
    assert customer_client.get(f"{POLICIES}99999999999999999999999/").status_code == 404


def test_staff_and_anonymous_callers_cannot_use_the_customer_policies(client_for, app_client, my_policy):
    assert app_client.get(POLICIES).status_code == 401
    agent = client_for(my_policy.customer.agent)
    assert agent.get(POLICIES).status_code == 403
    assert agent.get(f"{POLICIES}{my_policy.pk}/").status_code == 403
    assert client_for(UserFactory(role=Role.ADMIN)).get(f"{POLICIES}{my_policy.pk}/document/").status_code == 403


def test_a_page_size_over_the_cap_gives_the_capped_page(customer_client, my_policy):
    assert customer_client.get(f"{POLICIES}?page_size=100000").status_code == 200
    assert customer_client.get(f"{POLICIES}?page=99").status_code == 404
