"""The claims' Django admin: rejection reasons and approval limits configured (and audited) by
administrators only; claims, transitions and documents read-only."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.models import ApprovalAuthority, Claim, RejectionReason
from portal.claims.services import claim_start_review

from .factories import UserFactory, file_claim, grant_approval_limit

pytestmark = pytest.mark.django_db


def events(action):
    return AuditEvent.objects.filter(action=action)


@pytest.fixture
def claim(agent):
    return claim_start_review(claim=file_claim(agent=agent), actor=agent)


def changelist(model):
    return reverse(f"admin:claims_{model}_changelist")


# --- who gets in ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["claim", "claimtransition", "claimdocument", "rejectionreason", "approvalauthority"])
def test_admin_opens_every_claims_page_of_the_django_admin(admin_client, model, claim):
    assert admin_client.get(changelist(model)).status_code == 200


def test_admin_opens_a_claim_read_only_with_its_transitions(admin_client, claim):
    response = admin_client.get(reverse("admin:claims_claim_change", args=[claim.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert claim.number in body
    assert "start_review" in body
    assert 'name="_save"' not in body


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.FINANCE, Role.INTERVENTORIA, Role.CLIENT])
@pytest.mark.parametrize("model", ["claim", "rejectionreason", "approvalauthority"])
def test_every_other_role_is_sent_to_the_admin_sign_in(client, role, model):
    client.force_login(UserFactory(role=role))
    response = client.get(changelist(model))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_nobody_adds_changes_or_deletes_claims_in_the_admin(admin_client, claim):
    assert admin_client.get(reverse("admin:claims_claim_add")).status_code == 403
    assert admin_client.post(reverse("admin:claims_claim_delete", args=[claim.pk]), {"post": "yes"}).status_code == 403
    response = admin_client.post(reverse("admin:claims_claim_change", args=[claim.pk]), {"status": "APPROVED"})
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.status == Claim.Status.UNDER_REVIEW


# --- the claims changelist (the benchmark's peer) ----------------------------------------------


def changelist_queries(admin_client, url):
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(url).status_code == 200
    return len(queries)


def test_the_claims_changelist_reads_a_fixed_number_of_queries_however_many_claims(admin_client, agent):
    url = changelist("claim") + "?status__exact=PENDING"
    for _ in range(2):
        file_claim(agent=agent)
    few = changelist_queries(admin_client, url)
    for _ in range(4):
        file_claim(agent=agent)
    assert changelist_queries(admin_client, url) == few


def test_the_claims_changelist_finds_a_claim_by_number_and_filters_by_status(admin_client, claim, agent):
    other = file_claim(agent=agent)

    body = admin_client.get(changelist("claim"), {"q": claim.number}).content.decode()
    assert claim.number in body and other.number not in body

    body = admin_client.get(changelist("claim"), {"status__exact": "PENDING"}).content.decode()
    assert other.number in body and claim.number not in body


def test_the_transitions_changelist_filters_by_the_workflows_actions(admin_client, claim):
    response = admin_client.get(changelist("claimtransition"), {"action": "start_review"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Start review" in body and "?action=approve" in body
    assert response.context["cl"].result_count == 1


# --- rejection reasons ---------------------------------------------------------------------------


def test_admin_adds_a_rejection_reason_and_the_audit_log_says_who(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:claims_rejectionreason_add"),
        {
            "code": "no-policy-number",
            "label_es_co": "Sin número de póliza",
            "label_en": "No policy number",
            "is_active": "on",
            "position": "9",
        },
    )

    assert response.status_code == 302
    reason = RejectionReason.objects.get(code="no-policy-number")
    event = events("claim.rejection_reason_created").get()
    assert event.actor == admin_user
    assert event.target_id == str(reason.pk)
    assert (event.metadata["label_es_co"], event.metadata["label_en"]) == ("Sin número de póliza", "No policy number")
    assert (reason.label_es_co, reason.label_en) == ("Sin número de póliza", "No policy number")


def test_admin_takes_a_reason_off_the_list_from_the_changelist_and_the_change_is_audited(admin_client):
    reasons = list(RejectionReason.objects.order_by("position", "code"))
    data = {
        "form-TOTAL_FORMS": str(len(reasons)),
        "form-INITIAL_FORMS": str(len(reasons)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, reason in enumerate(reasons):
        data[f"form-{index}-id"] = str(reason.pk)
        data[f"form-{index}-position"] = str(reason.position)
        if reason.code != "late-notice":
            data[f"form-{index}-is_active"] = "on"

    response = admin_client.post(changelist("rejectionreason"), data)

    assert response.status_code == 302
    assert not RejectionReason.objects.get(code="late-notice").is_active
    event = events("claim.rejection_reason_changed").get()
    assert event.metadata["code"] == "late-notice"
    assert event.metadata["changes"] == {"is_active": [True, False]}


def test_a_reasons_code_cannot_change_once_it_exists_and_reasons_are_never_deleted(admin_client):
    reason = RejectionReason.objects.get(code="exclusion")
    response = admin_client.post(
        reverse("admin:claims_rejectionreason_change", args=[reason.pk]),
        {
            "code": "renamed",
            "label_es_co": "Exclusión de la póliza",
            "label_en": "The policy excludes it",
            "is_active": "on",
            "position": "1",
        },
    )

    assert response.status_code == 302
    reason.refresh_from_db()
    assert reason.code == "exclusion"
    assert (reason.label_es_co, reason.label_en) == ("Exclusión de la póliza", "The policy excludes it")
    changes = events("claim.rejection_reason_changed").get().metadata["changes"]
    assert changes["label_en"] == ["An exclusion of the policy applies", "The policy excludes it"]
    assert changes["label_es_co"][1] == "Exclusión de la póliza"
    assert admin_client.get(reverse("admin:claims_rejectionreason_delete", args=[reason.pk])).status_code == 403


# --- approval limits ---------------------------------------------------------------------------


def add_limit(admin_client, **data):
    return admin_client.post(reverse("admin:claims_approvalauthority_add"), {"currency": "COP", **data})


def test_admin_grants_a_supervisor_an_approval_limit_and_the_audit_log_names_the_supervisor(
    admin_client, admin_user, supervisor
):
    response = add_limit(admin_client, user=supervisor.pk, limit="20000000")

    assert response.status_code == 302
    assert ApprovalAuthority.objects.get(user=supervisor, currency="COP").limit == Decimal("20000000")
    event = events("claim.approval_limit_granted").get()
    assert (event.actor, event.target_id) == (admin_user, str(supervisor.pk))
    assert event.metadata == {"currency": "COP", "limit": "20000000.00", "changes": {}}


def test_raising_and_removing_a_limit_are_audited_with_the_amounts(admin_client, supervisor):
    grant_approval_limit(supervisor, "20000000")
    authority = ApprovalAuthority.objects.get(user=supervisor)

    response = admin_client.post(
        reverse("admin:claims_approvalauthority_change", args=[authority.pk]),
        {"user": supervisor.pk, "currency": "COP", "limit": "35000000"},
    )
    assert response.status_code == 302
    assert events("claim.approval_limit_changed").get().metadata["changes"] == {"limit": ["20000000.00", "35000000.00"]}

    response = admin_client.post(reverse("admin:claims_approvalauthority_delete", args=[authority.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not ApprovalAuthority.objects.filter(user=supervisor).exists()
    assert events("claim.approval_limit_removed").get().metadata == {"currency": "COP", "limit": "35000000.00"}


def test_removing_limits_in_bulk_from_the_changelist_audits_each_one(admin_client, supervisor):
    other = UserFactory(role=Role.SUPERVISOR)
    grant_approval_limit(supervisor, "20000000")
    grant_approval_limit(other, "9000000")
    response = admin_client.post(
        changelist("approvalauthority"),
        {
            "action": "delete_selected",
            "_selected_action": list(ApprovalAuthority.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not ApprovalAuthority.objects.exists()
    removed = events("claim.approval_limit_removed")
    assert set(removed.values_list("target_id", flat=True)) == {str(supervisor.pk), str(other.pk)}


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN, Role.FINANCE])
def test_only_supervisors_get_approval_limits(admin_client, role):
    user = UserFactory(role=role)
    response = add_limit(admin_client, user=user.pk, limit="1000000")

    assert response.status_code == 200
    assert "Only supervisors approve claims up to a limit" in response.content.decode()
    assert not ApprovalAuthority.objects.exists()
    assert not events("claim.approval_limit_granted").exists()


def test_a_negative_or_second_limit_in_one_currency_is_refused_with_a_clear_message(admin_client, supervisor):
    response = add_limit(admin_client, user=supervisor.pk, limit="-5")
    assert "The limit cannot be negative" in response.content.decode()

    grant_approval_limit(supervisor, "20000000")
    response = add_limit(admin_client, user=supervisor.pk, limit="30000000")
    body = response.content.decode()
    assert response.status_code == 200
    assert "already exists" in body
    assert "approval_authority_per_currency" not in body
    assert ApprovalAuthority.objects.get(user=supervisor).limit == Decimal("20000000")
    assert not events("claim.approval_limit_granted").exists()


def test_the_user_field_offers_an_autocomplete_search(admin_client, supervisor):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "claims", "model_name": "approvalauthority", "field_name": "user", "term": supervisor.full_name},
    )
    assert response.status_code == 200
    assert str(supervisor.pk) in {row["id"] for row in response.json()["results"]}
