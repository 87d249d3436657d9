"""The sign-in, sign-up and code endpoints are throttled per client address and per account in the
shared cache; a throttled request is 429 with `{"detail"}` and Retry-After, and changes nothing."""

import pytest

from api.tokens import token_pair_for
from portal.accounts.models import OtpChallenge

SIGN_IN = "/api/v1/auth/token/"
VERIFY = "/api/v1/auth/otp/verify/"
RESET = "/api/v1/auth/password/reset/"

pytestmark = pytest.mark.django_db


def test_one_address_is_throttled_across_accounts(app_post, settings):
    settings.AMPARO_API_AUTH_RATE_PER_ADDRESS = "3/min"

    answers = [app_post(RESET, {"email": f"persona{n}@correo.test"}).status_code for n in range(4)]
    throttled = app_post(RESET, {"email": "otra@correo.test"})

    assert answers == [202, 202, 202, 429]
    assert throttled.status_code == 429
    assert "detail" in throttled.json() and int(throttled["Retry-After"]) > 0
    assert OtpChallenge.objects.count() == 3


def test_one_account_is_throttled_across_addresses(app_post, customer_account, settings):
    settings.AMPARO_API_AUTH_RATE_PER_ACCOUNT = "2/min"

    answers = [
        app_post(RESET, {"email": customer_account.email_primary}, REMOTE_ADDR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]

    assert answers == [202, 202, 429]


def test_codes_of_one_account_are_throttled_across_its_challenges(app_post, customer_account, password, settings):
    settings.AMPARO_API_AUTH_RATE_PER_ACCOUNT = "3/min"
    challenge = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password}).json()["challenge"]

    answers = [
        app_post(VERIFY, {"challenge": challenge, "code": "000000"}, REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]

    assert answers == [400, 400, 400, 429]
    assert OtpChallenge.objects.get(pk=challenge).failed_attempts == 3


def test_the_address_is_the_one_the_trusted_proxy_reports(app_post, settings):
    settings.AMPARO_TRUSTED_PROXY_COUNT = 1
    settings.AMPARO_API_AUTH_RATE_PER_ADDRESS = "1/min"

    first = app_post(RESET, {"email": "a@correo.test"}, HTTP_X_FORWARDED_FOR="192.0.2.1")
    other_client = app_post(RESET, {"email": "b@correo.test"}, HTTP_X_FORWARDED_FOR="192.0.2.2")
    same_client = app_post(RESET, {"email": "c@correo.test"}, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.1")

    assert (first.status_code, other_client.status_code, same_client.status_code) == (202, 202, 429)


def test_refreshing_tokens_is_not_counted_against_the_address(app_post, customer_account, settings):
    settings.AMPARO_API_AUTH_RATE_PER_ADDRESS = "1/min"
    pair = token_pair_for(customer_account)

    for _ in range(3):
        response = app_post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]})
        assert response.status_code == 200
        pair = response.json()
