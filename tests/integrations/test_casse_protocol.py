"""The CASSE adapter speaks the protocol of docs/casse-protocol.md to a local core: OAuth2 client
credentials, the requests and bodies each event becomes, the idempotency key, and what it keeps of
each exchange (nothing personal, no secret)."""

import json

import pytest

from portal.integrations.casse import CasseClient, read_answer
from portal.integrations.models import Exchange
from portal.outbox.models import OutboxMessage
from portal.policies.services import policy_cancel


def test_a_policy_becomes_a_put_with_its_terms_and_the_messages_idempotency_key(core, drain, policy_history):
    policy = policy_history(endorse=False, pay=False)
    message = OutboxMessage.objects.get()

    drain()

    assert core.requests[0]["path"] == "/oauth/token"
    put = next(request for request in core.requests if request["method"] == "PUT")
    assert put["path"] == f"/v1/policies/{policy.number}"
    assert put["key"] == str(message.idempotency_key)
    stored = core.policies[policy.number]
    assert (stored["version"], stored["status"]) == (1, policy.status)
    assert stored["customer"] == f"{policy.customer.id_type}-{policy.customer.id_number}"
    message.refresh_from_db()
    policy.refresh_from_db()
    assert message.state == "ACKED"
    assert policy.core_reference == message.external_id == stored["coreId"]


def test_a_cancellation_is_posted_to_the_policys_cancellations(core, drain, policy_history):
    policy = policy_history(endorse=False, pay=False)
    policy_cancel(
        policy=policy,
        actor=policy.customer.agent,
        effective_date=policy.current_version.start_date,
        reason="Se arrepintió",
    )

    drain()

    assert [effect["kind"] for effect in core.effects_of(policy.number)] == ["policy", "cancellation"]
    assert core.policies[policy.number]["status"] == "CANCELLED"


def test_premium_collected_is_posted_as_a_payment_of_its_policy(core, drain, policy_history):
    policy = policy_history(endorse=False)

    drain()

    (payment,) = core.payments.values()
    assert payment["kind"] == "PREMIUM"
    assert payment["policy_number"] == policy.number
    assert payment["amount"] == "250000.00"
    assert payment["reference"].startswith("REC-")
    stored = policy.instalments.first().allocations.get().payment
    stored.refresh_from_db()
    assert stored.core_reference.startswith("CASSE-PAY-")


def test_the_token_is_asked_once_and_again_only_when_the_core_refuses_it(core, drain, policy_history):
    policy_history(endorse=False, pay=False)
    policy_history(endorse=False, pay=False)
    drain()
    assert sum(request["path"] == "/oauth/token" for request in core.requests) <= 1

    core.tokens.clear()
    policy_history(endorse=False, pay=False)
    drain()

    assert OutboxMessage.objects.filter(state="ACKED").count() == 3
    assert sum(request["path"] == "/oauth/token" for request in core.requests) <= 2


def test_wrong_client_credentials_send_nothing_and_break_nothing(core, drain, settings, policy_history):
    settings.CASSE_CLIENT_SECRET = "wrong"
    policy_history(endorse=False, pay=False)

    drain(timeout=60)

    message = OutboxMessage.objects.get()
    assert message.state == "PENDING"
    assert "token" in message.last_error
    assert not core.effects


def test_what_is_kept_of_an_exchange_has_no_personal_field_and_no_secret(core, drain, settings, policy_history):
    policy = policy_history()
    customer = policy.customer

    drain()

    kept = json.dumps(list(Exchange.objects.values("path", "request_headers", "request_body", "response_body")))
    for private in (customer.full_name, customer.id_number, settings.CASSE_CLIENT_SECRET, "Carro nuevo"):
        assert private not in kept
    assert core.tokens and not any(token in kept for token in core.tokens)
    assert '"customer": "[redacted]"' in kept
    put = Exchange.objects.filter(method="PUT").first()
    assert put.request_body["number"] == policy.number
    assert put.request_headers["Idempotency-Key"] == str(put.message.idempotency_key)
    assert put.response_body["coreId"].startswith("CASSE-POL-")


def test_a_customers_statement_path_is_logged_without_their_id(core, db):
    core.add_statement_line("CC", "52000001", amount="100.00")

    CasseClient().statement(id_type="CC", id_number="52000001")

    assert Exchange.objects.get(operation="pull.statement").path == "/v1/customers/[redacted]/statement"


class _Response:
    def __init__(self, status_code, body, headers=None):
        self.status_code = status_code
        self._body = body
        self.headers = headers or {}

    def json(self):
        if self._body is None:
            raise ValueError("not JSON")
        return self._body


@pytest.mark.parametrize(
    ("status", "body", "outcome", "destination_failing"),
    [
        (200, {"responseType": "OK", "coreId": "C-1"}, "OK", False),
        (200, {"unexpected": True}, "RETRY", False),
        (503, None, "RETRY", True),
        (
            422,
            {"responseType": "ER", "errorType": "VALIDATION", "errorCode": "X", "errorDesc": "bad"},
            "REFUSED",
            False,
        ),
        (409, {"responseType": "ER", "errorType": "BUSINESS", "errorCode": "X", "errorDesc": "no"}, "REFUSED", False),
        (409, {"responseType": "ER", "errorType": "TECHNICAL", "errorCode": "X", "errorDesc": "lock"}, "RETRY", False),
        (404, None, "REFUSED", False),
    ],
)
def test_each_answer_of_the_core_is_read_by_its_status_and_envelope(status, body, outcome, destination_failing):
    answer = read_answer(_Response(status, body))

    assert (answer.outcome, answer.destination_failing) == (outcome, destination_failing)


def test_a_429_tells_how_long_to_wait_in_seconds_or_as_a_date():
    assert read_answer(_Response(429, None, {"Retry-After": "120"})).retry_after == 120
    in_a_while = read_answer(_Response(429, None, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"})).retry_after
    assert in_a_while > 3600
