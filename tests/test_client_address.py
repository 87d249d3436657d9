"""The client's address behind reverse proxies: one number of trusted proxies drives the lockout,
allauth's rate limits and the audit trail, and nothing a client writes into X-Forwarded-For moves it."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.accounts.adapters import AccountAdapter
from portal.audit.models import AuditEvent
from portal.core.client_address import client_address

LOGIN = "/accounts/login/"
WRONG_PASSWORD = "Wr0ng-but-secret-Passphrase!"
BALANCER = "10.0.0.10"


def request_from(remote_addr, forwarded=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture
def one_trusted_proxy(settings):
    settings.AMPARO_TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def sign_in(client, email, password, forwarded):
    return client.post(
        LOGIN, {"login": email, "password": password}, REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=forwarded
    )


def test_without_trusted_proxies_the_socket_address_is_the_client_whatever_the_header_says(settings):
    settings.AMPARO_TRUSTED_PROXY_COUNT = 0
    assert client_address(request_from("203.0.113.7", "198.51.100.99")) == "203.0.113.7"


def test_with_one_trusted_proxy_the_client_is_the_address_that_proxy_appended(one_trusted_proxy):
    assert client_address(request_from(BALANCER, "198.51.100.20")) == "198.51.100.20"


def test_a_hop_the_client_writes_itself_does_not_move_its_address(one_trusted_proxy):
    assert client_address(request_from(BALANCER, "192.0.2.1, 198.51.100.20")) == "198.51.100.20"
    assert client_address(request_from(BALANCER, "192.0.2.1,192.0.2.2,198.51.100.20")) == "198.51.100.20"


def test_with_two_trusted_proxies_the_client_is_second_from_the_right(settings):
    settings.AMPARO_TRUSTED_PROXY_COUNT = 2
    assert client_address(request_from(BALANCER, "192.0.2.1, 198.51.100.20, 10.0.0.11")) == "198.51.100.20"


def test_a_request_that_bypassed_the_proxies_is_known_by_its_socket_address(settings):
    settings.AMPARO_TRUSTED_PROXY_COUNT = 2
    assert client_address(request_from("203.0.113.7", "198.51.100.20")) == "203.0.113.7"
    assert client_address(request_from("203.0.113.7")) == "203.0.113.7"


def test_an_address_that_is_not_one_is_not_believed(one_trusted_proxy):
    assert client_address(request_from(BALANCER, "<script>")) is None
    assert client_address(request_from(BALANCER, "2001:DB8::1")) == "2001:db8::1"


def test_allauth_counts_its_rate_limits_per_the_same_address(one_trusted_proxy):
    request = request_from(BALANCER, "192.0.2.1, 198.51.100.20")
    assert AccountAdapter(request).get_client_ip(request) == "198.51.100.20"


def test_two_clients_behind_one_balancer_are_locked_out_independently(one_trusted_proxy, agent, password):
    attacker, colleague = Client(), Client()
    for _ in range(5):
        sign_in(attacker, agent.email_primary, WRONG_PASSWORD, forwarded="198.51.100.66")

    assert sign_in(attacker, agent.email_primary, password, forwarded="198.51.100.66").status_code == 429
    response = sign_in(colleague, agent.email_primary, password, forwarded="198.51.100.20")
    assert response.status_code == 302
    assert colleague.session.get("_auth_user_id") == str(agent.pk)


def test_a_spoofed_extra_hop_does_not_escape_the_lockout(one_trusted_proxy, agent, password):
    attacker = Client()
    for _ in range(5):
        sign_in(attacker, agent.email_primary, WRONG_PASSWORD, forwarded="198.51.100.66")

    response = sign_in(Client(), agent.email_primary, password, forwarded="192.0.2.1, 198.51.100.66")

    assert response.status_code == 429


def test_the_audit_trail_records_the_client_behind_the_balancer(one_trusted_proxy, client, admin_user, agent):
    client.force_login(admin_user)
    client.post(
        reverse("accounts:user_suspend", args=[agent.pk]),
        {"reason": "left"},
        REMOTE_ADDR=BALANCER,
        HTTP_X_FORWARDED_FOR="192.0.2.1, 198.51.100.20",
    )
    assert AuditEvent.objects.get(action="user.suspended").ip_address == "198.51.100.20"
