"""GET/PATCH /api/v1/me/ and the profile photo: the customer's own record, ID and primary email
read-only, the photo checked by its content and served only to its owner."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.accounts.models import Role
from portal.accounts.photos import PROFILE_PHOTO
from portal.audit.models import AuditEvent

from ..factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
ME = "/api/v1/me/"
PHOTO = "/api/v1/me/photo/"


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path


def jpeg(name="yo.jpg"):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_a_customer_reads_their_own_profile(customer_client, customer_account):
    response = customer_client.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["email_primary"] == customer_account.email_primary
    assert body["id_number"] == customer_account.customer.id_number
    assert body["profile_photo"] is None and body["agent_name"]


def test_a_customer_changes_their_phone_and_address_and_it_is_audited(customer_client, customer_account):
    response = customer_client.patch(ME, {"phone": "+57 300 111 2233", "address": "Carrera 7 # 1-2"}, format="json")
    assert response.status_code == 200 and response.json()["phone"] == "+57 300 111 2233"
    customer = customer_account.customer
    customer.refresh_from_db()
    assert customer.address == "Carrera 7 # 1-2"
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.metadata["channel"] == "app" and set(event.metadata) == {"phone", "address", "channel"}


def test_the_id_the_agent_and_other_fields_cannot_be_set(customer_client, customer_account):
    customer = customer_account.customer
    before = (customer.id_type, customer.id_number, customer.agent_id, customer.user_id)
    other_agent = UserFactory(role=Role.AGENT)
    response = customer_client.patch(
        ME,
        {"id_type": "CE", "id_number": "999", "agent": other_agent.pk, "user": None, "agent_name": "X"},
        format="json",
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.id_type, customer.id_number, customer.agent_id, customer.user_id) == before


def test_a_new_primary_email_is_refused_and_points_to_its_verified_change(customer_client, customer_account):
    response = customer_client.patch(ME, {"email_primary": "otra@correo.test", "phone": "1"}, format="json")
    assert response.status_code == 400
    assert "/api/v1/auth/me/email/" in response.json()["errors"]["email_primary"][0]
    customer_account.customer.refresh_from_db()
    assert customer_account.customer.email_primary == customer_account.email_primary
    assert customer_account.customer.phone != "1"


def test_the_same_primary_email_sent_back_is_accepted(customer_client, customer_account):
    response = customer_client.patch(ME, {"email_primary": customer_account.email_primary.upper()}, format="json")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"full_name": "  "}, "full_name"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"birth_date": "ayer"}, "birth_date"),
    ],
)
def test_bad_profile_input_is_400_with_its_field_and_changes_nothing(customer_client, customer_account, changes, field):
    before = customer_account.customer.full_name, customer_account.customer.birth_date
    response = customer_client.patch(ME, changes, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    customer_account.customer.refresh_from_db()
    assert (customer_account.customer.full_name, customer_account.customer.birth_date) == before


def test_put_is_not_offered(customer_client):
    assert customer_client.put(ME, {}, format="json").status_code == 405


def test_staff_and_anonymous_callers_have_no_profile_here(client_for, app_client):
    assert app_client.get(ME).status_code == 401
    assert client_for(UserFactory(role=Role.AGENT)).get(ME).status_code == 403


def test_an_app_account_linked_to_no_customer_is_refused(client_for):
    assert client_for(UserFactory(role=Role.CLIENT)).get(ME).status_code == 403


def test_a_photo_is_stored_privately_and_served_only_to_its_owner(customer_client, customer_account, client_for):
    response = customer_client.post(PHOTO, {"photo": jpeg()}, format="multipart")
    assert response.status_code == 200
    assert response.json()["profile_photo"].endswith(PHOTO)
    customer_account.refresh_from_db()
    stored = customer_account.profile_photo.name
    assert "yo" not in stored and PROFILE_PHOTO.storage().exists(stored)
    download = customer_client.get(PHOTO)
    assert download.status_code == 200 and download["Content-Type"] == "image/jpeg"
    assert b"".join(download.streaming_content)[:2] == b"\xff\xd8"
    other = UserFactory(role=Role.CLIENT)
    CustomerFactory(user=other)
    assert client_for(other).get(PHOTO).status_code == 404
    assert AuditEvent.objects.filter(action="user.profile_photo_changed").count() == 1


def test_a_new_photo_replaces_the_old_file_and_removing_it_deletes_it(
    customer_client, customer_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(PHOTO, {"photo": jpeg()}, format="multipart")
    customer_account.refresh_from_db()
    first = customer_account.profile_photo.name
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(PHOTO, {"photo": jpeg("otra.jpg")}, format="multipart")
    customer_account.refresh_from_db()
    second = customer_account.profile_photo.name
    assert second != first and not PROFILE_PHOTO.storage().exists(first)
    with django_capture_on_commit_callbacks(execute=True):
        assert customer_client.delete(PHOTO).status_code == 204
    assert not PROFILE_PHOTO.storage().exists(second)
    assert customer_client.get(PHOTO).status_code == 404


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("yo.jpg", b"MZ\x90\x00" + b"\x00" * 100), "is a program"),
        (SimpleUploadedFile("yo.pdf", b"%PDF-1.4\n%%EOF\n"), "is not a JPEG, PNG or WebP photo"),
        (SimpleUploadedFile("yo.jpg", b""), "is empty"),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_kept(customer_client, customer_account, upload, message):
    response = customer_client.post(PHOTO, {"photo": upload}, format="multipart")
    assert response.status_code == 400 and message in response.json()["detail"] + str(response.json().get("errors"))
    customer_account.refresh_from_db()
    assert not customer_account.profile_photo


def test_a_photo_larger_than_allowed_is_refused(customer_client, customer_account, settings):
    settings.AMPARO_PROFILE_PHOTO_MAX_BYTES = 100
    response = customer_client.post(PHOTO, {"photo": jpeg()}, format="multipart")
    assert response.status_code == 400 and "the most a profile photo may be" in response.json()["detail"]


def test_a_photo_sent_as_json_is_415(customer_client):
    assert customer_client.post(PHOTO, {"photo": "x"}, format="json").status_code == 415


def test_the_photo_may_be_asked_for_by_its_type(customer_client, customer_account):
    customer_client.post(PHOTO, {"photo": jpeg()}, format="multipart")
    assert customer_client.get(PHOTO, HTTP_ACCEPT="image/*").status_code == 200
    missing = customer_client.delete(PHOTO) and customer_client.get(PHOTO, HTTP_ACCEPT="image/*")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json" and "detail" in missing.json()
