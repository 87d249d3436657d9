"""API tokens: a 5-minute access token with an audience and the user's token version, checked on every
request; strictly single-use rotating refresh tokens (a race within the grace window gets one pair, a
later replay ends the sign-in); logout, a password change and a suspension end every access token."""

import threading
from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from api.tokens import pair_for_family, token_pair_for
from portal.accounts import services as account_services
from portal.accounts.models import RefreshFamily, Role
from portal.audit.models import AuditEvent

SIGN_IN = "/api/v1/auth/token/"
VERIFY = "/api/v1/auth/otp/verify/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
PASSWORD_CHANGE = "/api/v1/auth/password/change/"
STAFF_CLAIMS = "/api/v1/staff/claims/"
NEW_PASSWORD = "Otra-clave-segura-2026"


def staff_get(app_client, token):
    return app_client.get(STAFF_CLAIMS, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_a_customer_signs_in_with_password_and_the_emailed_code(app_post, customer_account, password, code_sent_to):
    started = app_post(SIGN_IN, {"email": customer_account.email_primary.upper(), "password": password})

    assert started.status_code == 202 and started.json()["method"] == "email"
    tokens = app_post(VERIFY, {"challenge": started.json()["challenge"], "code": code_sent_to("camila@correo.test")})

    assert tokens.status_code == 200
    access = AccessToken(tokens.json()["access"])
    assert access["aud"] == "amparo-app"
    assert access["ver"] == customer_account.token_version
    assert access["exp"] - access["iat"] == 5 * 60
    for action in ("auth.otp_sent", "auth.otp_verified", "auth.sign_in"):
        assert AuditEvent.objects.filter(action=action, target_id=str(customer_account.pk)).exists()
    customer_account.refresh_from_db()
    assert customer_account.last_login is not None


@pytest.mark.django_db
def test_a_wrong_password_is_401_and_audited(app_post, customer_account):
    response = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": "not-it"})

    assert response.status_code == 401 and "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").exists()


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_the_account_out_from_that_address(
    app_post, customer_account, password, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        app_post(SIGN_IN, {"email": customer_account.email_primary, "password": "not-it"})

    response = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()


@pytest.mark.django_db
def test_staff_sign_in_with_their_authenticator_app_and_no_email(app_post, agent, password, code_sent_to):
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)

    started = app_post(SIGN_IN, {"email": agent.email_primary, "password": password})
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    tokens = app_post(VERIFY, {"challenge": started.json()["challenge"], "code": f"{totp.token():06d}"})

    assert started.status_code == 202 and started.json()["method"] == "totp"
    assert code_sent_to(agent.email_primary) is None
    assert tokens.status_code == 200


@pytest.mark.django_db
def test_staff_without_an_authenticator_cannot_sign_in_to_the_api(app_post, agent, password):
    response = app_post(SIGN_IN, {"email": agent.email_primary, "password": password})

    assert response.status_code == 401
    assert "authenticator" in response.json()["detail"]


@pytest.mark.django_db
def test_an_access_token_for_another_audience_is_refused(app_client, agent, settings):
    claims = AccessToken(token_pair_for(agent)["access"]).payload
    signed_for_another = jwt.encode({**claims, "aud": "another-app"}, settings.SECRET_KEY, algorithm="HS256")
    signed_for_us = jwt.encode(claims, settings.SECRET_KEY, algorithm="HS256")

    assert staff_get(app_client, signed_for_another).status_code == 401
    assert staff_get(app_client, signed_for_us).status_code == 200


@pytest.mark.django_db
def test_an_expired_access_token_is_refused(app_client, agent):
    family = account_services.refresh_family_start(user=agent)
    RefreshFamily.objects.filter(pk=family.pk).update(current_issued_at=timezone.now() - timedelta(minutes=6))
    family.refresh_from_db()

    response = staff_get(app_client, pair_for_family(family)["access"])

    assert response.status_code == 401


@pytest.mark.django_db
def test_a_refresh_token_cannot_be_used_as_an_access_token(app_client, agent):
    response = staff_get(app_client, token_pair_for(agent)["refresh"])

    assert response.status_code == 401


@pytest.mark.django_db
def test_a_refresh_gives_a_new_pair_and_the_old_refresh_token_is_single_use(app_post, agent, settings):
    settings.AMPARO_API_REFRESH_GRACE_SECONDS = 0
    first = token_pair_for(agent)

    second = app_post(REFRESH, {"refresh": first["refresh"]})
    replay = app_post(REFRESH, {"refresh": first["refresh"]})
    after_replay = app_post(REFRESH, {"refresh": second.json()["refresh"]})

    assert second.status_code == 200 and second.json()["refresh"] != first["refresh"]
    assert replay.status_code == 401
    # The replay ended the whole sign-in: the token it was rotated into is dead too.
    assert after_replay.status_code == 401
    assert RefreshFamily.objects.get().revoked_reason == "refresh_reused"
    assert AuditEvent.objects.filter(action="auth.refresh_reused").exists()


@pytest.mark.django_db
def test_a_repeat_within_the_grace_window_gets_the_same_pair(app_post, agent):
    first = token_pair_for(agent)

    second = app_post(REFRESH, {"refresh": first["refresh"]})
    repeat = app_post(REFRESH, {"refresh": first["refresh"]})

    assert second.status_code == repeat.status_code == 200
    assert second.json() == repeat.json()
    assert RefreshFamily.objects.get().generation == 1


@pytest.mark.django_db
def test_a_reuse_after_the_grace_window_revokes_the_family(app_post, agent):
    first = token_pair_for(agent)
    second = app_post(REFRESH, {"refresh": first["refresh"]}).json()
    RefreshFamily.objects.update(rotated_at=timezone.now() - timedelta(minutes=1))

    replay = app_post(REFRESH, {"refresh": first["refresh"]})

    assert replay.status_code == 401
    assert app_post(REFRESH, {"refresh": second["refresh"]}).status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_refreshes_racing_with_one_token_get_the_same_new_pair(agent):
    refresh = token_pair_for(agent)["refresh"]
    barrier = threading.Barrier(2)
    answers = []

    def refresh_once():
        try:
            barrier.wait()
            response = Client().post(REFRESH, {"refresh": refresh}, content_type="application/json")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [status for status, _body in answers] == [200, 200]
    assert answers[0][1] == answers[1][1]
    family = RefreshFamily.objects.get()
    assert family.generation == 1 and family.revoked_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_replay_racing_after_the_grace_window_revokes_the_family_for_everyone(agent, settings):
    settings.AMPARO_API_REFRESH_GRACE_SECONDS = 0
    refresh = token_pair_for(agent)["refresh"]
    barrier = threading.Barrier(3)
    answers = []

    def refresh_once():
        try:
            barrier.wait()
            response = Client().post(REFRESH, {"refresh": refresh}, content_type="application/json")
            answers.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One rotated it; the others came after, outside the (zero) grace window: the family is revoked.
    assert sorted(answers) == [200, 401, 401]
    assert RefreshFamily.objects.get().revoked_reason == "refresh_reused"


@pytest.mark.django_db
def test_logout_ends_every_access_token_at_once_and_this_sign_in(app_client, app_post, agent):
    here = token_pair_for(agent)
    other_device = token_pair_for(agent)

    response = app_post(LOGOUT, token=here["access"])

    assert response.status_code == 204
    assert staff_get(app_client, here["access"]).status_code == 401
    assert staff_get(app_client, other_device["access"]).status_code == 401
    assert app_post(REFRESH, {"refresh": here["refresh"]}).status_code == 401
    # The other device keeps its sign-in: its refresh token gets it a new, valid access token.
    renewed = app_post(REFRESH, {"refresh": other_device["refresh"]})
    assert renewed.status_code == 200
    assert staff_get(app_client, renewed.json()["access"]).status_code == 200
    assert AuditEvent.objects.filter(action="auth.tokens_revoked", metadata__reason="sign_out").exists()


@pytest.mark.django_db
def test_a_password_change_through_the_api_ends_every_token(app_client, app_post, agent, password):
    tokens = token_pair_for(agent)

    response = app_post(
        PASSWORD_CHANGE, {"current_password": password, "new_password": NEW_PASSWORD}, token=tokens["access"]
    )

    assert response.status_code == 200
    assert staff_get(app_client, tokens["access"]).status_code == 401
    assert app_post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401
    agent.refresh_from_db()
    assert agent.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_a_password_change_needs_the_current_password(app_post, agent):
    tokens = token_pair_for(agent)

    response = app_post(
        PASSWORD_CHANGE, {"current_password": "wrong", "new_password": NEW_PASSWORD}, token=tokens["access"]
    )

    assert response.status_code == 400 and "current_password" in str(response.json())
    agent.refresh_from_db()
    assert not agent.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_a_password_change_in_the_portal_ends_the_api_tokens(client, app_client, app_post, agent, password):
    tokens = token_pair_for(agent)
    client.force_login(agent)

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert staff_get(app_client, tokens["access"]).status_code == 401
    assert app_post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


@pytest.mark.django_db
def test_a_suspension_by_an_administrator_ends_every_token_even_after_reactivation(
    client, app_client, app_post, agent, admin_user
):
    tokens = token_pair_for(agent)
    client.force_login(admin_user)

    client.post(f"/users/{agent.pk}/suspend/", {"reason": "Fraude en investigación"})

    assert staff_get(app_client, tokens["access"]).status_code == 401
    account_services.user_reactivate(user=agent, actor=admin_user)
    assert staff_get(app_client, tokens["access"]).status_code == 401
    assert app_post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


@pytest.mark.django_db
def test_a_refresh_token_of_a_suspended_user_is_refused(app_post, agent, admin_user):
    tokens = token_pair_for(agent)
    RefreshFamily.objects.update(revoked_at=None)
    agent.status = "SUSPENDED"
    agent.save(update_fields=["status"])

    assert app_post(REFRESH, {"refresh": tokens["refresh"]}).status_code == 401


@pytest.mark.django_db
def test_a_forged_refresh_token_is_401(app_post, agent):
    forged = RefreshToken()
    forged["user_id"] = str(agent.pk)

    response = app_post(REFRESH, {"refresh": str(forged) + "x"})

    assert response.status_code == 401


@pytest.mark.django_db
def test_public_endpoints_ignore_a_stale_bearer_token(app_post, customer_account, password):
    stale = token_pair_for(customer_account)["access"]
    account_services.user_tokens_revoke(user=customer_account, reason="test")

    response = app_post(SIGN_IN, {"email": customer_account.email_primary, "password": password}, token=stale)

    assert response.status_code == 202


@pytest.mark.django_db
def test_a_customer_token_works_only_while_the_account_is_active(app_post, make_user):
    client_user = make_user(role=Role.CLIENT)
    tokens = token_pair_for(client_user)
    client_user.status = "SUSPENDED"
    client_user.save(update_fields=["status"])

    assert app_post(LOGOUT, token=tokens["access"]).status_code == 401
