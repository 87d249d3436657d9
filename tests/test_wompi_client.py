"""The Wompi client against a local Wompi: the documented endpoints and signatures, timeouts, and
tries again only when no answer came back."""

import time

import pytest

from portal.gateways.wompi import (
    WompiClient,
    WompiRefused,
    WompiServerError,
    WompiUnavailable,
    integrity_signature,
)

from .wompi_server import APPROVING_NEQUI


def nequi_transaction(client, reference, *, amount_in_cents=4_500_000):
    return client.create_transaction(
        reference=reference,
        amount_in_cents=amount_in_cents,
        currency="COP",
        customer_email="pagador@correo.test",
        payment_method={"type": "NEQUI", "phone_number": APPROVING_NEQUI},
        acceptance=client.acceptance_tokens(),
    )


def test_the_integrity_signature_reproduces_wompis_documented_example():
    assert (
        integrity_signature(
            reference="sk8-438k4-xmxm392-sn2m",
            amount_in_cents=2490000,
            currency="COP",
            secret="prod_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6",
        )
        == "37c8407747e595535433ef8f6a811d853cd943046624a0ec04662b17bbf33bf5"
    )


def test_acceptance_tokens_come_from_the_merchant_endpoint_with_both_documents(wompi):
    acceptance = WompiClient().acceptance_tokens()

    assert acceptance["acceptance_token"] in wompi.acceptance_tokens
    assert acceptance["accept_personal_auth"] in wompi.acceptance_tokens
    assert acceptance["policy_url"].endswith("terminos.pdf")
    assert acceptance["personal_data_url"].endswith("datos-personales.pdf")


def test_a_transaction_is_created_pending_with_a_signature_wompi_accepts(wompi):
    created = nequi_transaction(WompiClient(), "AMP-TEST-1")

    assert created["status"] == "PENDING"
    assert created["reference"] == "AMP-TEST-1"
    assert wompi.transactions[created["id"]]["amount_in_cents"] == 4_500_000


def test_a_wrong_integrity_secret_is_refused_by_wompi_and_not_tried_again(wompi, settings):
    settings.WOMPI_INTEGRITY_SECRET = "test_integrity_wrong"

    with pytest.raises(WompiRefused) as refusal:
        nequi_transaction(WompiClient(), "AMP-TEST-2")

    assert refusal.value.status_code == 422
    assert "signature" in refusal.value.messages
    assert wompi.calls("POST", "/v1/transactions") == 1


def test_a_reference_wompi_has_seen_is_refused_as_taken(wompi):
    client = WompiClient()
    nequi_transaction(client, "AMP-TEST-3")

    with pytest.raises(WompiRefused) as refusal:
        nequi_transaction(client, "AMP-TEST-3")

    assert refusal.value.reference_taken
    assert len(wompi.transactions) == 1


def test_a_dropped_connection_is_tried_again_and_succeeds(wompi):
    client = WompiClient()
    acceptance = client.acceptance_tokens()
    wompi.drop_connections(1)

    created = client.create_transaction(
        reference="AMP-TEST-4",
        amount_in_cents=100_000,
        currency="COP",
        customer_email="pagador@correo.test",
        payment_method={"type": "NEQUI", "phone_number": APPROVING_NEQUI},
        acceptance=acceptance,
    )

    assert created["reference"] == "AMP-TEST-4"
    assert wompi.calls("POST", "/v1/transactions") == 2
    assert len(wompi.transactions) == 1


def test_after_every_attempt_fails_to_connect_wompi_is_unavailable(wompi, settings):
    settings.WOMPI_ATTEMPTS = 3
    wompi.drop_connections(3)

    with pytest.raises(WompiUnavailable):
        WompiClient().pse_banks()

    assert wompi.calls("GET", "/v1/pse/financial_institutions") == 3


def test_a_server_error_that_came_back_is_not_tried_again(wompi):
    wompi.answer_with(503)

    with pytest.raises(WompiServerError) as error:
        WompiClient().pse_banks()

    assert error.value.status_code == 503
    assert wompi.calls("GET", "/v1/pse/financial_institutions") == 1


def test_a_refusal_that_came_back_is_not_tried_again(wompi, settings):
    settings.WOMPI_PUBLIC_KEY = "pub_test_unknown"

    with pytest.raises(WompiRefused) as refusal:
        WompiClient().pse_banks()

    assert refusal.value.status_code == 401
    assert wompi.calls("GET", "/v1/pse/financial_institutions") == 1


def test_an_answer_later_than_the_read_timeout_is_given_up_on_in_time(wompi, settings):
    settings.WOMPI_READ_TIMEOUT_SECONDS = 0.3
    settings.WOMPI_ATTEMPTS = 1
    wompi.delay_answers(2.0)

    started = time.monotonic()
    with pytest.raises(WompiUnavailable):
        WompiClient().pse_banks()

    assert time.monotonic() - started < 1.5


def test_a_late_answer_is_tried_again_and_the_second_answer_is_used(wompi, settings):
    settings.WOMPI_READ_TIMEOUT_SECONDS = 0.3
    wompi.delay_answers(1.0)

    banks = WompiClient().pse_banks()

    assert banks == [("1", "Banco que aprueba"), ("2", "Banco que rechaza")]
    assert wompi.calls("GET", "/v1/pse/financial_institutions") == 2


def test_a_post_whose_answer_was_lost_is_sent_again_and_wompi_refuses_the_taken_reference(wompi, settings):
    """The first POST created the transaction but its answer came too late; the retry cannot make a
    second one, because the reference is the attempt's own."""
    settings.WOMPI_READ_TIMEOUT_SECONDS = 0.3
    client = WompiClient()
    acceptance = client.acceptance_tokens()
    wompi.delay_answers(1.0)

    with pytest.raises(WompiRefused) as refusal:
        client.create_transaction(
            reference="AMP-TEST-5",
            amount_in_cents=100_000,
            currency="COP",
            customer_email="pagador@correo.test",
            payment_method={"type": "NEQUI", "phone_number": APPROVING_NEQUI},
            acceptance=acceptance,
        )

    assert refusal.value.reference_taken
    assert len(wompi.transactions) == 1
    assert client.transactions_with_reference("AMP-TEST-5")[0]["reference"] == "AMP-TEST-5"


def test_a_transaction_is_read_back_by_id(wompi):
    client = WompiClient()
    created = nequi_transaction(client, "AMP-TEST-6")
    wompi.settle(created["id"])

    assert client.transaction(created["id"])["status"] == "APPROVED"


def test_an_unknown_transaction_id_is_refused_as_not_found(wompi):
    with pytest.raises(WompiRefused) as refusal:
        WompiClient().transaction("../merchants/x")

    assert refusal.value.status_code == 404
