"""The customer's claims in the app: their own only (another customer's id is 404 and changes nothing),
first notice of loss through the portal's filing service and its cover checks, the timeline in the
customer's words, and documents through the same content-checked private storage."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.claims.models import Claim, ClaimDocument, RejectionReason
from portal.claims.services import claim_approve, claim_close, claim_reject, claim_start_review

from ..factories import UserFactory, file_claim

CLAIMS = "/api/v1/claims/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_root(settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    return settings.AMPARO_PRIVATE_ROOT


def jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def named(name, content):
    upload = io.BytesIO(content)
    upload.name = name
    return upload


def stored_files(root):
    return [path for path in Path(root).rglob("*") if path.is_file()] if Path(root).exists() else []


def first_notice(policy, /, **changes):
    return {
        "policy": policy.pk,
        "coverage_code": "RC",
        "loss_date": timezone.localdate().isoformat(),
        "claimed_amount": "2500000.00",
        "description": "Me chocaron por detrás en la Calle 80",
        **changes,
    }


def own_policy(customer):
    return customer.policies.get()


# --- reading ------------------------------------------------------------------------------------------------


def test_a_customer_lists_their_own_claims_only(as_customer, policyholder, other_policyholder):
    mine = file_claim(policy=own_policy(policyholder))
    file_claim(policy=own_policy(other_policyholder))

    response = as_customer(policyholder.user).get(CLAIMS)

    assert response.status_code == 200
    body = response.json()
    assert [row["number"] for row in body["results"]] == [mine.number]
    assert body["results"][0]["status"] == "PENDING"
    assert body["results"][0]["policy_number"] == own_policy(policyholder).number
    assert body["next"] is None


def test_the_claims_list_reads_a_constant_number_of_queries_and_pages(as_customer, policyholder):
    policy = own_policy(policyholder)
    file_claim(policy=policy, claimed_amount="1000")
    caller = as_customer(policyholder.user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert caller.get(CLAIMS).status_code == 200
        return len(captured)

    few = queries()
    for _ in range(4):
        file_claim(policy=policy, claimed_amount="1000")

    assert queries() == few
    page = caller.get(CLAIMS, {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]


def test_another_customers_claim_is_not_found(as_customer, policyholder, other_policyholder, private_root):
    theirs = file_claim(policy=own_policy(other_policyholder))
    caller = as_customer(policyholder.user)

    assert caller.get(f"{CLAIMS}{theirs.pk}/").status_code == 404
    upload = caller.post(f"{CLAIMS}{theirs.pk}/documents/", {"files": [named("f.jpg", jpeg())]}, format="multipart")
    assert upload.status_code == 404
    assert not ClaimDocument.objects.exists() and stored_files(private_root) == []


def test_the_timeline_tells_the_customer_what_happened_without_staff_names_or_notes(as_customer, policyholder):
    claim = file_claim(policy=own_policy(policyholder), claimed_amount="3000000")
    reviewer = UserFactory(role=Role.AGENT, full_name="Perito Interno")
    claim = claim_start_review(claim=claim, actor=reviewer)
    claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount="2000000", note="Nota interna del perito")

    body = as_customer(policyholder.user).get(f"{CLAIMS}{claim.pk}/").json()

    texts = [entry["text"] for entry in body["timeline"]]
    assert texts == [
        "We received your claim.",
        "An adjuster is reviewing your claim.",
        "Your claim was approved for COP 2,000,000.00.",
    ]
    assert [entry["status"] for entry in body["timeline"]] == ["PENDING", "UNDER_REVIEW", "APPROVED"]
    assert "Perito Interno" not in str(body) and "Nota interna" not in str(body)
    assert body["approved_amount"] == "2000000.00"


def test_a_rejection_tells_the_customer_the_reason(as_customer, policyholder):
    claim = claim_start_review(claim=file_claim(policy=own_policy(policyholder)), actor=UserFactory(role=Role.AGENT))
    reason = RejectionReason.objects.filter(is_active=True).first()
    claim_reject(claim=claim, actor=UserFactory(role=Role.ADMIN), reason=reason, note="interno")

    body = as_customer(policyholder.user).get(f"{CLAIMS}{claim.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["timeline"][-1]["text"] == f"Your claim was not approved: {reason.label}."
    assert body["rejection_reason"] == reason.label


# --- first notice of loss -------------------------------------------------------------------------------------


def test_a_customer_files_a_claim_on_their_own_policy(as_customer, policyholder):
    policy = own_policy(policyholder)

    response = as_customer(policyholder.user).post(CLAIMS, first_notice(policy))

    assert response.status_code == 201, response.json()
    claim = Claim.objects.get()
    assert (claim.customer, claim.policy, claim.filed_by, claim.status) == (
        policyholder,
        policy,
        policyholder.user,
        Claim.Status.PENDING,
    )
    body = response.json()
    assert body["id"] == claim.pk and body["number"] == claim.number
    assert response["Location"] == f"{CLAIMS}{claim.pk}/"
    assert body["timeline"][0]["text"] == "We received your claim."
    assert AuditEvent.objects.filter(action="claim.filed", target_id=str(claim.pk), actor=policyholder.user).exists()


def test_status_customer_and_amounts_in_the_request_are_ignored(as_customer, policyholder, other_policyholder):
    notice = first_notice(
        own_policy(policyholder),
        status="APPROVED",
        approved_amount="99999999",
        customer=other_policyholder.pk,
        number="SIN-FAKE",
    )

    response = as_customer(policyholder.user).post(CLAIMS, notice)

    assert response.status_code == 201
    claim = Claim.objects.get()
    assert (claim.status, claim.approved_amount, claim.customer) == ("PENDING", None, policyholder)
    assert claim.number != "SIN-FAKE"


def test_a_claim_on_another_customers_policy_is_refused_and_nothing_is_filed(
    as_customer, policyholder, other_policyholder
):
    response = as_customer(policyholder.user).post(CLAIMS, first_notice(own_policy(other_policyholder)))

    assert response.status_code == 400
    assert "policy" in response.json()["errors"]
    assert not Claim.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"loss_date": "2001-01-01"}, "loss_date", id="no cover on the day"),
        pytest.param({"loss_date": "2999-01-01"}, "loss_date", id="in the future"),
        pytest.param({"coverage_code": "ZZ"}, "coverage_code", id="not a coverage of the policy"),
        pytest.param({"claimed_amount": "999999999999"}, "claimed_amount", id="more than the coverage left"),
        pytest.param({"claimed_amount": "0"}, "claimed_amount", id="zero"),
        pytest.param({"claimed_amount": "mucho"}, "claimed_amount", id="not a number"),
        pytest.param({"description": ""}, "description", id="nothing said"),
        pytest.param({"policy": "abc"}, "policy", id="not an id"),
    ],
)
def test_the_portals_cover_checks_refuse_bad_notices_with_field_errors(as_customer, policyholder, changes, field):
    response = as_customer(policyholder.user).post(CLAIMS, first_notice(own_policy(policyholder), **changes))

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Claim.objects.exists()


def test_a_notice_with_missing_fields_names_each_of_them(as_customer, policyholder):
    response = as_customer(policyholder.user).post(CLAIMS, {})

    assert response.status_code == 400
    assert {"policy", "coverage_code", "loss_date", "claimed_amount", "description"} <= set(response.json()["errors"])


def test_a_loss_before_the_policy_started_is_not_covered(as_customer, policyholder):
    policy = own_policy(policyholder)
    day = policy.current_version.start_date - timedelta(days=1)

    response = as_customer(policyholder.user).post(CLAIMS, first_notice(policy, loss_date=day.isoformat()))

    assert response.status_code == 400
    assert policy.number in str(response.json()["errors"]["loss_date"])


# --- documents ------------------------------------------------------------------------------------------------


def test_a_customer_attaches_a_photo_to_their_claim(as_customer, policyholder, private_root):
    claim = file_claim(policy=own_policy(policyholder))

    response = as_customer(policyholder.user).post(
        f"{CLAIMS}{claim.pk}/documents/", {"files": [named("choque.jpg", jpeg())]}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    document = ClaimDocument.objects.get()
    assert (document.claim, document.uploaded_by, document.content_type) == (
        claim,
        policyholder.user,
        "image/jpeg",
    )
    assert response.json()[0]["original_name"] == "choque.jpg"
    assert len(stored_files(private_root)) == 1
    detail = as_customer(policyholder.user).get(f"{CLAIMS}{claim.pk}/").json()
    assert [doc["original_name"] for doc in detail["documents"]] == ["choque.jpg"]
    assert "stored_name" not in str(detail) and document.stored_name not in str(detail)


def test_a_program_among_the_files_is_refused_and_none_is_kept(as_customer, policyholder, private_root):
    claim = file_claim(policy=own_policy(policyholder))
    program = named("factura.pdf", b"MZ\x90\x00" + b"\x00" * 64)

    response = as_customer(policyholder.user).post(
        f"{CLAIMS}{claim.pk}/documents/", {"files": [named("a.jpg", jpeg()), program]}, format="multipart"
    )

    assert response.status_code == 400
    assert "program" in str(response.json()["errors"])
    assert not ClaimDocument.objects.exists() and stored_files(private_root) == []


def test_documents_must_come_as_multipart_form_data(as_customer, policyholder, private_root):
    claim = file_claim(policy=own_policy(policyholder))

    response = as_customer(policyholder.user).post(f"{CLAIMS}{claim.pk}/documents/", {"files": ["x"]})

    assert response.status_code == 415
    assert not ClaimDocument.objects.exists()


def test_no_documents_are_added_to_a_closed_claim(as_customer, policyholder, private_root):
    claim = claim_start_review(claim=file_claim(policy=own_policy(policyholder)), actor=UserFactory(role=Role.AGENT))
    admin = UserFactory(role=Role.ADMIN)
    claim = claim_reject(claim=claim, actor=admin, reason=RejectionReason.objects.first(), note="x")
    claim_close(claim=claim, actor=admin)

    response = as_customer(policyholder.user).post(
        f"{CLAIMS}{claim.pk}/documents/", {"files": [named("a.jpg", jpeg())]}, format="multipart"
    )

    assert response.status_code == 409
    assert "closed" in response.json()["detail"]
    assert stored_files(private_root) == []


def test_an_upload_larger_than_allowed_is_refused_before_it_is_read(as_customer, policyholder, settings):
    settings.AMPARO_UPLOAD_BODY_MAX_BYTES = 1000
    claim = file_claim(policy=own_policy(policyholder))

    response = as_customer(policyholder.user).post(
        f"{CLAIMS}{claim.pk}/documents/", {"files": [named("a.jpg", b"\xff" * 5000)]}, format="multipart"
    )

    assert response.status_code == 413
    assert "detail" in response.json()


# --- who may call -----------------------------------------------------------------------------------------------


def test_staff_and_accounts_without_a_customer_record_are_refused(as_customer, agent, client_user):
    for user in (agent, client_user):
        assert as_customer(user).get(CLAIMS).status_code == 403
        assert as_customer(user).post(CLAIMS, {}).status_code == 403


def test_no_token_is_401(app_client, policyholder):
    assert app_client.get(CLAIMS).status_code == 401
    assert app_client.post(CLAIMS, {}, format="json").status_code == 401


# --- retries and the schema -------------------------------------------------------------------------------------


def test_a_retried_notice_with_the_same_idempotency_key_files_one_claim(as_customer, policyholder):
    caller = as_customer(policyholder.user)
    notice = first_notice(own_policy(policyholder))

    first = caller.post(CLAIMS, notice, HTTP_IDEMPOTENCY_KEY="5b0c7a52-fnol")
    again = caller.post(CLAIMS, notice, HTTP_IDEMPOTENCY_KEY="5b0c7a52-fnol")
    other = caller.post(CLAIMS, {**notice, "claimed_amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="5b0c7a52-fnol")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert other.status_code == 422
    assert Claim.objects.count() == 1


def test_the_schema_documents_the_claims_endpoints_and_their_refusals(app_client):
    paths = app_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]

    assert {"400", "401", "403", "409", "422"} <= set(paths["/api/v1/claims/"]["post"]["responses"])
    assert {"200", "401", "403", "404"} <= set(paths["/api/v1/claims/{id}/"]["get"]["responses"])
    upload = paths["/api/v1/claims/{id}/documents/"]["post"]
    assert {"400", "404", "409", "413", "415"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "Idempotency-Key" in {parameter["name"] for parameter in paths["/api/v1/claims/"]["post"]["parameters"]}


def test_the_claim_page_reads_a_constant_number_of_queries_whatever_its_timeline(as_customer, policyholder):
    claim = file_claim(policy=own_policy(policyholder))
    caller = as_customer(policyholder.user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert caller.get(f"{CLAIMS}{claim.pk}/").status_code == 200
        return len(captured)

    few = queries()
    claim = claim_start_review(claim=claim, actor=UserFactory(role=Role.AGENT))
    claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount="1000", note="ok")

    assert queries() == few


def test_a_customer_reading_spanish_gets_the_status_in_spanish(as_customer, policyholder):
    file_claim(policy=own_policy(policyholder))

    [row] = as_customer(policyholder.user).get(CLAIMS, HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9").json()["results"]

    assert row["status_label"] == "Pendiente"
