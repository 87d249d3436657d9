"""Every refusal of the API is `{"detail": ...}` (plus field errors for bad input) with the status HTTP
means, in the language the app asks for."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.test import APIRequestFactory

from api.exceptions import api_exception_handler
from portal.accounts.models import Role

from ..factories import UserFactory

pytestmark = pytest.mark.django_db

STAFF_QUEUE = "/api/v1/staff/claims/"


def handled(exc):
    return api_exception_handler(exc, {"request": APIRequestFactory().get("/api/v1/")})


def test_a_request_without_a_token_is_401_with_a_detail(app_client):
    response = app_client.get(STAFF_QUEUE)
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_customer_on_a_staff_endpoint_is_403_with_a_detail(customer_client):
    response = customer_client.get(STAFF_QUEUE)
    assert response.status_code == 403 and set(response.json()) == {"detail"}


def test_an_unknown_api_path_is_a_json_404(app_client):
    response = app_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and "detail" in response.json()


def test_a_method_the_endpoint_does_not_take_is_405(client_for):
    staff = client_for(UserFactory(role=Role.ADMIN))
    response = staff.delete(STAFF_QUEUE)
    assert response.status_code == 405 and "detail" in response.json()


def test_a_body_the_endpoint_cannot_read_is_415(app_client):
    response = app_client.post("/api/v1/auth/token/", "email=a", content_type="text/plain")
    assert response.status_code == 415 and "detail" in response.json()


def test_a_body_larger_than_allowed_is_413_before_it_is_read(app_client, settings):
    settings.AMPARO_REQUEST_BODY_MAX_BYTES = 100
    response = app_client.post("/api/v1/auth/token/", {"email": "a@b.co", "password": "x" * 200}, format="json")
    assert response.status_code == 413 and "detail" in response.json()


def test_invalid_input_is_400_with_a_detail_and_the_messages_per_field(app_client):
    response = app_client.post("/api/v1/auth/token/", {"email": "not an email"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and set(body["errors"]) == {"email", "password"}
    assert all(isinstance(message, str) for messages in body["errors"].values() for message in messages)


def test_a_service_refusal_not_tied_to_a_field_becomes_the_detail():
    response = handled(DjangoValidationError("This policy is not in force on that day."))
    assert response.status_code == 400
    assert response.data == {"detail": "This policy is not in force on that day."}


def test_a_services_field_errors_keep_their_field():
    response = handled(DjangoValidationError({"loss_date": ["Not in the future."]}))
    assert response.data["errors"] == {"loss_date": ["Not in the future."]}


def test_nested_field_errors_are_named_by_their_path():
    response = handled(exceptions.ValidationError({"answers": [{}, {"value": ["Required."]}]}))
    assert response.data["errors"] == {"answers.1.value": ["Required."]}


def test_a_throttled_request_is_429_with_retry_after():
    response = handled(exceptions.Throttled(wait=30))
    assert response.status_code == 429 and response["Retry-After"] == "30" and "detail" in response.data


def test_the_app_gets_spanish_messages_when_it_asks_for_them(app_client):
    response = app_client.get(STAFF_QUEUE, HTTP_ACCEPT_LANGUAGE="es-CO,es;q=0.9")
    assert response.status_code == 401
    assert response.json()["detail"] == "Las credenciales de autenticación no se proveyeron."


def test_the_app_gets_english_messages_when_it_asks_for_them(app_client):
    response = app_client.get(STAFF_QUEUE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "Authentication credentials were not provided."
