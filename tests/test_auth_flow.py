"""Signing in: password, lockout, password reset, the TOTP second factor, and where people land."""

import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Role
from portal.audit.models import AuditEvent

from .factories import UserFactory
from .helpers import HTMX

LOGIN = "/accounts/login/"
WRONG_PASSWORD = "Wr0ng-but-secret-Passphrase!"


def sign_in(client, email, password, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, **extra)


def events(action):
    return AuditEvent.objects.filter(action=action)


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def current_token(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_token(device):
    return f"{(int(current_token(device)) + 500_000) % 1_000_000:06d}"


@pytest.fixture
def enrolled_agent(agent):
    device = TOTPDevice.objects.create(user=agent, name="phone", confirmed=True)
    return agent, device


# --- password sign-in ---------------------------------------------------------------------------


def test_staff_member_signs_in_with_email_and_password_and_it_is_audited(client, agent, password):
    response = sign_in(client, agent.email_primary, password)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:dashboard")
    assert signed_in_user_id(client) == str(agent.pk)
    event = events("auth.sign_in").get()
    assert event.actor == agent
    assert event.target_id == str(agent.pk)


def test_sign_in_email_is_not_case_sensitive(client, agent, password):
    response = sign_in(client, agent.email_primary.upper(), password)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(agent.pk)


def test_wrong_password_is_refused_and_audited_without_the_password(client, agent, caplog):
    caplog.set_level(logging.DEBUG)

    response = sign_in(client, agent.email_primary, WRONG_PASSWORD)

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert signed_in_user_id(client) is None
    event = events("auth.sign_in_failed").get()
    assert event.actor is None
    assert event.actor_label == agent.email_primary
    assert event.metadata == {"email": agent.email_primary}
    assert WRONG_PASSWORD not in str(event.metadata)
    assert WRONG_PASSWORD not in caplog.text
    for record in caplog.records:
        assert WRONG_PASSWORD not in record.getMessage()
        assert WRONG_PASSWORD not in str(vars(record))


def test_sign_in_with_an_unknown_email_is_audited_under_that_email(client, db):
    response = sign_in(client, "  Nobody@Amparo.TEST ", WRONG_PASSWORD)
    assert response.status_code == 200
    assert events("auth.sign_in_failed").get().actor_label == "nobody@amparo.test"


def test_sign_in_with_empty_fields_says_what_is_missing_and_writes_nothing(client, db):
    response = client.post(LOGIN, {"login": "", "password": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_sign_out_is_audited(client, agent, password):
    sign_in(client, agent.email_primary, password)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert signed_in_user_id(client) is None
    assert events("auth.sign_out").get().actor == agent


def test_client_account_cannot_sign_in_to_the_portal_and_is_told_why(client, client_user, password):
    response = sign_in(client, client_user.email_primary, password)

    assert response.status_code == 403
    body = response.content.decode()
    assert "Customers sign in with the Amparo mobile app." in body
    assert signed_in_user_id(client) is None
    assert not events("auth.sign_in").exists()


def test_sign_in_ignores_a_next_url_on_another_site(client, agent, password):
    response = client.post(
        LOGIN, {"login": agent.email_primary, "password": password, "next": "https://evil.example/steal"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"] == reverse("dashboard:dashboard")


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example/x", "https:/evil.example"])
def test_sign_in_from_a_query_string_next_does_not_leave_the_site(client, agent, password, target):
    response = client.post(f"{LOGIN}?next={target}", {"login": agent.email_primary, "password": password})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_sign_in_follows_a_next_url_on_this_site(client, admin_user, password):
    response = client.post(
        LOGIN, {"login": admin_user.email_primary, "password": password, "next": reverse("audit:log")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("audit:log")


# --- lockout ------------------------------------------------------------------------------------


def fail_five_times(client, email):
    for _ in range(5):
        sign_in(client, email, WRONG_PASSWORD)


def test_five_failed_sign_ins_lock_the_account_out_even_with_the_right_password(client, agent, password):
    fail_five_times(client, agent.email_primary)

    response = sign_in(client, agent.email_primary, password)

    assert response.status_code == 429
    body = response.content.decode()
    assert 'data-testid="locked-out"' in body
    assert "Too many failed sign-in attempts" in body
    assert signed_in_user_id(client) is None
    assert events("auth.locked_out").filter(actor_label=agent.email_primary).exists()
    assert not events("auth.sign_in").exists()


def test_four_failed_sign_ins_do_not_lock_the_account_out(client, agent, password):
    for _ in range(4):
        sign_in(client, agent.email_primary, WRONG_PASSWORD)
    response = sign_in(client, agent.email_primary, password)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(agent.pk)
    assert not events("auth.locked_out").exists()


def test_lockout_is_per_email_another_account_from_the_same_address_still_signs_in(
    client, agent, finance_user, password
):
    fail_five_times(client, agent.email_primary)
    response = sign_in(Client(), finance_user.email_primary, password)
    assert response.status_code == 302


def test_lockout_is_per_address_the_same_account_from_another_address_still_signs_in(client, agent, password):
    fail_five_times(client, agent.email_primary)
    response = sign_in(Client(), agent.email_primary, password, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 302


def test_lockout_cannot_be_dodged_by_changing_the_case_of_the_email(client, agent, password):
    fail_five_times(client, agent.email_primary)
    response = sign_in(client, agent.email_primary.upper(), password)
    assert response.status_code == 429


def test_lockout_password_is_not_written_to_the_logs(client, agent, caplog):
    caplog.set_level(logging.DEBUG)
    fail_five_times(client, agent.email_primary)
    assert WRONG_PASSWORD not in caplog.text


# --- password reset -----------------------------------------------------------------------------


def test_password_reset_sends_an_email_whose_link_sets_a_new_password(client, agent):
    response = client.post(reverse("account_reset_password"), {"email": agent.email_primary})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [agent.email_primary]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body).group(1)

    page = client.get(link, follow=True)
    assert page.status_code == 200
    assert "Choose a new password" in page.content.decode()
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    new_password = "Brand-new-Passphrase-2026"
    done = client.post(form_url, {"password1": new_password, "password2": new_password})
    assert done.status_code == 302

    agent.refresh_from_db()
    assert agent.check_password(new_password)
    client.logout()
    assert sign_in(client, agent.email_primary, new_password).status_code == 302


def test_password_reset_link_works_only_once(client, agent):
    client.post(reverse("account_reset_password"), {"email": agent.email_primary})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    client.post(form_url, {"password1": "Brand-new-Passphrase-2026", "password2": "Brand-new-Passphrase-2026"})

    again = Client().get(link, follow=True)
    assert "invalid or has already been used" in again.content.decode()


def test_password_reset_with_mismatched_passwords_changes_nothing(client, agent, password):
    client.post(reverse("account_reset_password"), {"email": agent.email_primary})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else link
    response = client.post(form_url, {"password1": "Brand-new-Passphrase-2026", "password2": "Another-one-2026!"})
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.check_password(password)


def test_password_reset_does_not_reveal_whether_an_email_has_an_account(client, db):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@amparo.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert all("/accounts/password/reset/key/" not in m.body for m in mail.outbox)


# --- second factor: when it is asked for --------------------------------------------------------


def test_with_2fa_required_a_staff_member_without_a_device_is_sent_to_set_it_up(client, agent, require_2fa):
    client.force_login(agent)
    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:two_factor_setup')}?next=%2Fdashboard%2F"


def test_with_2fa_required_an_htmx_request_gets_a_client_side_redirect(client, admin_user, require_2fa):
    client.force_login(admin_user)
    response = client.get(reverse("accounts:user_list"), headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:two_factor_setup"))
    assert response.content == b""


def test_with_2fa_required_every_staff_role_must_pass_it(client, db, require_2fa):
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.FINANCE, Role.INTERVENTORIA):
        client.force_login(UserFactory(role=role))
        response = client.get(reverse("dashboard:dashboard"))
        assert response.status_code == 302, role
        assert response["Location"].startswith(reverse("accounts:two_factor_setup")), role


def test_with_2fa_required_the_unverified_user_can_still_sign_out(client, agent, require_2fa):
    client.force_login(agent)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert signed_in_user_id(client) is None


def test_with_2fa_off_a_user_without_a_device_goes_straight_in(client, agent):
    client.force_login(agent)
    assert client.get(reverse("dashboard:dashboard")).status_code == 200


def test_a_user_with_a_confirmed_device_must_verify_even_when_2fa_is_not_required(client, enrolled_agent):
    agent, _device = enrolled_agent
    client.force_login(agent)
    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor_verify"))


def test_an_unconfirmed_device_does_not_make_the_user_verify(client, agent):
    TOTPDevice.objects.create(user=agent, name="half-done", confirmed=False)
    client.force_login(agent)
    assert client.get(reverse("dashboard:dashboard")).status_code == 200


def test_password_sign_in_of_an_enrolled_user_lands_on_the_code_page(client, enrolled_agent, password):
    agent, _device = enrolled_agent
    response = sign_in(client, agent.email_primary, password, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:two_factor_verify"))
    assert "Enter your code" in response.content.decode()


# --- second factor: verifying -------------------------------------------------------------------


def test_the_right_code_lets_the_user_in_and_is_audited(client, enrolled_agent):
    agent, device = enrolled_agent
    client.force_login(agent)

    response = client.post(
        reverse("accounts:two_factor_verify"), {"token": current_token(device), "next": reverse("dashboard:dashboard")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:dashboard")
    assert client.get(reverse("dashboard:dashboard")).status_code == 200
    assert events("auth.2fa_verified").get().actor == agent


def test_a_code_typed_with_spaces_is_accepted(client, enrolled_agent):
    agent, device = enrolled_agent
    client.force_login(agent)
    token = current_token(device)
    response = client.post(reverse("accounts:two_factor_verify"), {"token": f"{token[:3]} {token[3:]}"})
    assert response.status_code == 302


def test_a_wrong_code_is_422_and_audited(client, enrolled_agent):
    agent, device = enrolled_agent
    client.force_login(agent)

    response = client.post(reverse("accounts:two_factor_verify"), {"token": wrong_token(device)})

    assert response.status_code == 422
    assert "That code is not right" in response.content.decode()
    assert events("auth.2fa_failed").get().actor == agent
    assert not events("auth.2fa_verified").exists()
    assert client.get(reverse("dashboard:dashboard")).status_code == 302


def test_an_empty_code_is_422_with_a_message(client, enrolled_agent):
    agent, _device = enrolled_agent
    client.force_login(agent)
    response = client.post(reverse("accounts:two_factor_verify"), {"token": ""})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_a_code_cannot_be_used_twice(enrolled_agent):
    agent, device = enrolled_agent
    token = current_token(device)
    first, second = Client(), Client()
    first.force_login(agent)
    second.force_login(agent)

    assert first.post(reverse("accounts:two_factor_verify"), {"token": token}).status_code == 302
    assert second.post(reverse("accounts:two_factor_verify"), {"token": token}).status_code == 422


def test_verify_ignores_a_next_url_on_another_site(client, enrolled_agent):
    agent, device = enrolled_agent
    client.force_login(agent)
    response = client.post(
        reverse("accounts:two_factor_verify"), {"token": current_token(device), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"] == reverse("dashboard:dashboard")


def test_verify_page_sends_a_user_without_a_device_to_set_up(client, agent):
    client.force_login(agent)
    response = client.get(reverse("accounts:two_factor_verify"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:two_factor_setup")


# --- second factor: enrolling -------------------------------------------------------------------


def test_enrolling_with_the_right_code_turns_2fa_on_and_is_audited(client, agent, require_2fa):
    client.force_login(agent)
    page = client.get(reverse("accounts:two_factor_setup"))
    assert page.status_code == 200
    assert 'data-testid="totp-secret"' in page.content.decode()
    device = TOTPDevice.objects.get(user=agent, confirmed=False)

    response = client.post(
        reverse("accounts:two_factor_setup"), {"token": current_token(device), "next": reverse("dashboard:dashboard")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:dashboard")
    device.refresh_from_db()
    assert device.confirmed is True
    assert events("auth.2fa_enrolled").get().actor == agent
    assert client.get(reverse("dashboard:dashboard")).status_code == 200  # verified for this session


def test_enrolling_with_a_wrong_code_is_422_and_leaves_the_device_unconfirmed(client, agent):
    client.force_login(agent)
    client.get(reverse("accounts:two_factor_setup"))
    device = TOTPDevice.objects.get(user=agent, confirmed=False)

    response = client.post(reverse("accounts:two_factor_setup"), {"token": wrong_token(device)})

    assert response.status_code == 422
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not events("auth.2fa_enrolled").exists()


def secret_shown(page):
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page.content.decode()).group(1)


def test_reloading_the_set_up_page_keeps_the_same_pending_secret(client, agent):
    client.force_login(agent)
    first = secret_shown(client.get(reverse("accounts:two_factor_setup")))
    second = secret_shown(client.get(reverse("accounts:two_factor_setup")))
    assert first == second
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_another_session_gets_a_fresh_secret_and_the_earlier_one_is_gone(agent):
    earlier, later = Client(), Client()
    earlier.force_login(agent)
    later.force_login(agent)
    first = secret_shown(earlier.get(reverse("accounts:two_factor_setup")))
    second = secret_shown(later.get(reverse("accounts:two_factor_setup")))
    assert first != second
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_a_secret_seen_on_an_earlier_visit_cannot_be_confirmed(agent):
    intruder, owner = Client(), Client()
    intruder.force_login(agent)  # a phished password opened the enrolment page first
    intruder.get(reverse("accounts:two_factor_setup"))
    intruders_device = TOTPDevice.objects.get(user=agent, confirmed=False)
    owner.force_login(agent)
    owner.get(reverse("accounts:two_factor_setup"))
    owners_device = TOTPDevice.objects.get(user=agent, confirmed=False)

    refused = intruder.post(reverse("accounts:two_factor_setup"), {"token": current_token(intruders_device)})
    confirmed = owner.post(reverse("accounts:two_factor_setup"), {"token": current_token(owners_device)})

    assert refused.status_code == 409
    assert "replaced by a newer one" in refused.content.decode()
    assert confirmed.status_code == 302
    assert list(TOTPDevice.objects.filter(user=agent).values_list("pk", "confirmed")) == [(owners_device.pk, True)]


def test_a_wrong_code_keeps_the_secret_so_the_next_code_of_the_same_app_works(client, agent):
    client.force_login(agent)
    shown = secret_shown(client.get(reverse("accounts:two_factor_setup")))
    device = TOTPDevice.objects.get(user=agent, confirmed=False)

    retry = client.post(reverse("accounts:two_factor_setup"), {"token": wrong_token(device)})
    response = client.post(reverse("accounts:two_factor_setup"), {"token": current_token(device)})

    assert secret_shown(retry) == shown
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed is True


def test_confirming_drops_every_other_pending_device(client, agent):
    client.force_login(agent)
    client.get(reverse("accounts:two_factor_setup"))
    device = TOTPDevice.objects.get(user=agent, confirmed=False)
    stray = TOTPDevice.objects.create(user=agent, name="left behind", confirmed=False)

    client.post(reverse("accounts:two_factor_setup"), {"token": current_token(device)})

    assert not TOTPDevice.objects.filter(pk=stray.pk).exists()
    assert TOTPDevice.objects.filter(user=agent, confirmed=True).count() == 1


def test_set_up_page_says_2fa_is_on_for_an_enrolled_and_verified_user(client, enrolled_agent):
    agent, device = enrolled_agent
    client.force_login(agent)
    client.post(reverse("accounts:two_factor_verify"), {"token": current_token(device)})
    response = client.get(reverse("accounts:two_factor_setup"))
    assert response.status_code == 200
    assert 'data-testid="two-factor-on"' in response.content.decode()


def test_client_account_cannot_enrol_a_portal_authenticator(client, client_user):
    client.force_login(client_user)
    response = client.get(reverse("accounts:two_factor_setup"))
    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=client_user).exists()
