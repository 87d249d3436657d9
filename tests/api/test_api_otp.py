"""One-time codes: 6 digits bound to their challenge, kept only hashed, valid 10 minutes, dead at the
fifth wrong try, resent only after a cooldown (and the earlier code then stops working)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal.accounts import services as account_services
from portal.accounts.models import OtpChallenge, OtpPurpose, RefreshFamily
from portal.audit.models import AuditEvent

SIGN_IN = "/api/v1/auth/token/"
VERIFY = "/api/v1/auth/otp/verify/"
RESEND = "/api/v1/auth/otp/resend/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(app_post, customer_account, password, code_sent_to):
    """A sign-in waiting for its code: (challenge id, the code emailed)."""
    response = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password})
    assert response.status_code == 202
    return response.json()["challenge"], code_sent_to(customer_account.email_primary)


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_right_code_returns_the_tokens_once(app_post, started):
    challenge, code = started

    first = app_post(VERIFY, {"challenge": challenge, "code": code})
    again = app_post(VERIFY, {"challenge": challenge, "code": code})

    assert first.status_code == 200 and {"access", "refresh"} <= set(first.json())
    assert again.status_code == 400 and "no longer be used" in again.json()["detail"]


def test_the_code_is_stored_only_as_a_hash_bound_to_its_challenge(started):
    challenge, code = started

    row = OtpChallenge.objects.get(pk=challenge)
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert code not in str(row.payload)


def test_an_expired_code_is_refused_and_a_new_one_can_be_asked_for(app_post, started, customer_account, code_sent_to):
    challenge, code = started
    OtpChallenge.objects.filter(pk=challenge).update(
        expires_at=timezone.now() - timedelta(seconds=1), last_sent_at=timezone.now() - timedelta(minutes=11)
    )

    expired = app_post(VERIFY, {"challenge": challenge, "code": code})
    resent = app_post(RESEND, {"challenge": challenge})
    fresh = app_post(VERIFY, {"challenge": challenge, "code": code_sent_to(customer_account.email_primary)})

    assert expired.status_code == 400 and "expired" in expired.json()["detail"]
    assert OtpChallenge.objects.get(pk=challenge).failed_attempts == 0
    assert resent.status_code == 202
    assert fresh.status_code == 200


def test_a_code_is_valid_for_ten_minutes(started):
    challenge, _code = started

    row = OtpChallenge.objects.get(pk=challenge)
    assert timedelta(minutes=9, seconds=50) < row.expires_at - row.created_at <= timedelta(minutes=10)


def test_the_fifth_wrong_try_kills_the_challenge_even_for_the_right_code_after(app_post, started):
    challenge, code = started

    answers = [app_post(VERIFY, {"challenge": challenge, "code": wrong(code)}) for _ in range(5)]
    after = app_post(VERIFY, {"challenge": challenge, "code": code})

    assert [a.status_code for a in answers] == [400] * 5
    assert "4 tries left" in answers[0].json()["detail"]
    assert "Too many wrong codes" in answers[4].json()["detail"]
    assert after.status_code == 400
    row = OtpChallenge.objects.get(pk=challenge)
    assert (row.status, row.failed_attempts) == (OtpChallenge.Status.DEAD, 5)
    assert AuditEvent.objects.filter(action="auth.otp_failed").count() == 5
    assert AuditEvent.objects.filter(action="auth.otp_locked").count() == 1


def test_the_code_of_another_challenge_does_not_open_this_one(app_post, started, make_user, password, code_sent_to):
    challenge, _code = started
    other = make_user(role="CLIENT")
    app_post(SIGN_IN, {"email": other.email_primary, "password": password})
    others_code = code_sent_to(other.email_primary)

    response = app_post(VERIFY, {"challenge": challenge, "code": others_code})

    assert response.status_code == 400
    assert OtpChallenge.objects.get(pk=challenge).failed_attempts == 1


def test_a_new_sign_in_makes_the_earlier_code_useless(app_post, started, customer_account, password):
    challenge, code = started
    app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password})

    response = app_post(VERIFY, {"challenge": challenge, "code": code})

    assert response.status_code == 400


def test_a_resend_within_the_cooldown_is_429_with_retry_after(app_post, started):
    challenge, _code = started

    response = app_post(RESEND, {"challenge": challenge})

    assert response.status_code == 429
    assert "detail" in response.json() and int(response["Retry-After"]) > 0


def test_a_resend_after_the_cooldown_sends_a_new_code_and_the_old_one_stops_working(
    app_post, started, customer_account, code_sent_to
):
    challenge, old = started
    OtpChallenge.objects.filter(pk=challenge).update(last_sent_at=timezone.now() - timedelta(minutes=2))

    response = app_post(RESEND, {"challenge": challenge})
    new = code_sent_to(customer_account.email_primary)

    assert response.status_code == 202 and response.json()["challenge"] == challenge
    if new != old:
        assert app_post(VERIFY, {"challenge": challenge, "code": old}).status_code == 400
    assert app_post(VERIFY, {"challenge": challenge, "code": new}).status_code == 200


def test_wrong_tries_are_not_forgiven_by_a_resend(app_post, started, customer_account, code_sent_to):
    challenge, code = started
    for _ in range(4):
        app_post(VERIFY, {"challenge": challenge, "code": wrong(code)})
    OtpChallenge.objects.filter(pk=challenge).update(last_sent_at=timezone.now() - timedelta(minutes=2))
    app_post(RESEND, {"challenge": challenge})
    new = code_sent_to(customer_account.email_primary)

    app_post(VERIFY, {"challenge": challenge, "code": wrong(new)})

    assert OtpChallenge.objects.get(pk=challenge).status == OtpChallenge.Status.DEAD


def test_codes_are_resent_a_limited_number_of_times(app_post, started, settings):
    challenge, _code = started
    settings.AMPARO_OTP_MAX_SENDS = 2
    answers = []
    for _ in range(2):
        OtpChallenge.objects.filter(pk=challenge).update(last_sent_at=timezone.now() - timedelta(minutes=2))
        answers.append(app_post(RESEND, {"challenge": challenge}).status_code)

    assert answers == [202, 400]


def test_an_unknown_or_malformed_challenge_is_a_plain_400(app_post):
    unknown = app_post(VERIFY, {"challenge": "00000000-0000-0000-0000-000000000000", "code": "123456"})
    malformed = app_post(VERIFY, {"challenge": "nope", "code": "123456"})

    assert unknown.status_code == 400 and "detail" in unknown.json()
    assert malformed.status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_right_code_get_one_pair_of_tokens(customer_account, code_sent_to):
    challenge = account_services.otp_challenge_issue(user=customer_account, purpose=OtpPurpose.SIGN_IN)
    code = code_sent_to(customer_account.email_primary)
    barrier = threading.Barrier(3)
    answers = []

    def verify_once():
        try:
            barrier.wait()
            response = Client().post(
                VERIFY, {"challenge": str(challenge.pk), "code": code}, content_type="application/json"
            )
            answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=verify_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [200, 400, 400]
    assert RefreshFamily.objects.filter(user=customer_account).count() == 1
