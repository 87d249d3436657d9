"""Idempotency-Key on creating endpoints: the same key and body get the first answer again, another
body is 422, one still running is 409; failures free the key; old keys are purged."""

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from api.idempotency import idempotent
from portal.core.idempotency import idempotency_records_purge
from portal.core.models import IdempotencyRecord

from ..factories import UserFactory

created = []
# A request asked to wait holds here until the test lets it finish.
held = threading.Event()


@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([JSONParser, MultiPartParser])
@idempotent
def thing_create(request):
    if request.data.get("refuse"):
        return Response({"detail": "No."}, status=400)
    if request.data.get("wait"):
        held.wait(5)
    created.append(request.data.get("name"))
    return Response({"id": len(created), "name": request.data.get("name")}, status=201)


def call(user, data, key=None, fmt="json"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    request = APIRequestFactory().post("/api/v1/things/", data, format=fmt, **headers)
    force_authenticate(request, user=user)
    response = thing_create(request)
    response.render()
    return response


@pytest.fixture(autouse=True)
def nothing_created():
    created.clear()
    held.clear()


@pytest.fixture
def user(db):
    return UserFactory()


def test_the_same_key_and_body_get_the_first_answer_and_do_the_work_once(user):
    first = call(user, {"name": "a"}, key="k-1")
    again = call(user, {"name": "a"}, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.data == first.data == {"id": 1, "name": "a"}
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert created == ["a"]


def test_the_same_key_with_another_body_is_422_and_does_nothing(user):
    call(user, {"name": "a"}, key="k-1")
    response = call(user, {"name": "b"}, key="k-1")
    assert response.status_code == 422 and "detail" in response.data
    assert created == ["a"]


def test_keys_belong_to_their_user(user):
    call(user, {"name": "a"}, key="k-1")
    other = call(UserFactory(), {"name": "a"}, key="k-1")
    assert other.status_code == 201 and not other.has_header("Idempotent-Replayed")
    assert created == ["a", "a"]


def test_without_a_key_every_request_does_the_work(user):
    call(user, {"name": "a"})
    call(user, {"name": "a"})
    assert created == ["a", "a"]
    assert not IdempotencyRecord.objects.exists()


def test_a_refused_request_frees_its_key_for_a_retry(user):
    assert call(user, {"name": "a", "refuse": True}, key="k-1").status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert call(user, {"name": "a"}, key="k-1").status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_a_key_that_is_empty_too_long_or_not_ascii_is_400(user, key):
    response = call(user, {"name": "a"}, key=key)
    assert response.status_code == 400 and "Idempotency-Key" in response.data["errors"]
    assert created == []


def test_a_multipart_body_is_compared_by_its_files_content(user):
    def upload(content):
        return {"name": "a", "file": SimpleUploadedFile("a.pdf", content, content_type="application/pdf")}

    assert call(user, upload(b"%PDF-1 one"), key="k-1", fmt="multipart").status_code == 201
    assert call(user, upload(b"%PDF-1 one"), key="k-1", fmt="multipart")["Idempotent-Replayed"] == "true"
    assert call(user, upload(b"%PDF-1 two"), key="k-1", fmt="multipart").status_code == 422


def test_a_request_still_holding_its_key_is_409_until_its_lease_ends(user, settings):
    settings.AMPARO_API_IDEMPOTENCY_LEASE_SECONDS = 120
    call(user, {"name": "a"}, key="k-1")
    running = IdempotencyRecord.objects.filter(key="k-1")
    running.update(state=IdempotencyRecord.State.IN_PROGRESS, started_at=timezone.now() - timedelta(seconds=60))
    assert call(user, {"name": "a"}, key="k-1").status_code == 409
    # A worker killed mid-request never finishes: after the lease, a retry runs the work.
    running.update(started_at=timezone.now() - timedelta(seconds=121))
    retried = call(user, {"name": "a"}, key="k-1")
    assert retried.status_code == 201 and not retried.has_header("Idempotent-Replayed")
    assert created == ["a", "a"]


def test_old_keys_are_purged_and_recent_ones_kept(user, settings):
    settings.AMPARO_API_IDEMPOTENCY_TTL_HOURS = 24
    call(user, {"name": "a"}, key="old")
    call(user, {"name": "b"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_records_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_do_the_work_once_and_the_second_is_409(user):
    answers = {}

    def first():
        try:
            answers["first"] = call(user, {"name": "a", "wait": True}, key="race")
        finally:
            connection.close()

    worker = threading.Thread(target=first)
    worker.start()
    deadline = timezone.now() + timedelta(seconds=5)
    while not IdempotencyRecord.objects.filter(key="race").exists() and timezone.now() < deadline:
        pass
    answers["second"] = call(user, {"name": "a", "wait": True}, key="race")
    held.set()
    worker.join()
    assert answers["second"].status_code == 409 and "detail" in answers["second"].data
    assert answers["first"].status_code == 201
    assert created == ["a"]
