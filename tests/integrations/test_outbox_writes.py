"""Each change the core must learn writes its outbox message in the change's own transaction, in our
words, numbered per policy in commit order; with sync off nothing is written."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from portal.accounts.models import Role
from portal.claims.services import claim_approve, claim_start_review
from portal.integrations.demo import seed_demo_outbox
from portal.outbox.models import AggregateType, EventType, OutboxMessage
from portal.outbox.services import outbox_publish
from portal.payments.services import payout_confirm, payout_prepare
from portal.policies.models import Policy
from portal.policies.services import (
    policies_follow_dates,
    policy_cancel,
    policy_reinstate,
    policy_renew,
    policy_suspend,
)
from tests.factories import UserFactory, file_claim, issue_policy, make_quote


def line_of(policy):
    return list(
        OutboxMessage.objects.filter(aggregate_id=policy.number)
        .order_by("sequence")
        .values_list("sequence", "event_type")
    )


def test_with_sync_off_issuing_a_policy_writes_nothing_for_the_core(sync_off, policy_history):
    policy_history()

    assert not OutboxMessage.objects.exists()


def test_issuing_a_policy_writes_its_event_in_our_words_for_the_core(sync_on, db):
    policy = issue_policy()

    message = OutboxMessage.objects.get()
    version = policy.current_version
    assert (message.destination, message.event_type, message.aggregate_type) == ("casse", "policy.issued", "policy")
    assert (message.aggregate_id, message.sequence, message.state) == (policy.number, 1, "PENDING")
    assert message.payload["policy_number"] == policy.number
    assert message.payload["version"] == 1
    assert message.payload["status"] == policy.status
    assert message.payload["customer"] == {
        "id_type": policy.customer.id_type,
        "id_number": policy.customer.id_number,
        "full_name": policy.customer.full_name,
    }
    assert message.payload["premium"] == str(version.premium)
    assert message.payload["currency"] == "COP"
    assert [line["code"] for line in message.payload["coverages"]] == ["RC", "PT"]
    assert message.payload["start_date"] == version.start_date.isoformat()


def test_the_message_is_written_in_the_same_transaction_as_the_policy(sync_on, db):
    quote = make_quote()
    with pytest.raises(RuntimeError), transaction.atomic():
        issue_policy(customer=quote.customer, product=quote.product)
        raise RuntimeError("the request failed after issuing")

    assert not Policy.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_policys_changes_and_payments_are_numbered_in_its_own_line(sync_on, policy_history):
    policy = policy_history()
    policy_suspend(policy=policy, actor=policy.customer.agent, reason="Pago pendiente")
    policy_reinstate(policy=policy, actor=policy.customer.agent, reason="Pagó")
    policy_cancel(
        policy=policy,
        actor=policy.customer.agent,
        effective_date=policy.current_version.start_date + timedelta(days=40),
        reason="Vendió el carro",
    )

    assert line_of(policy) == [
        (1, EventType.POLICY_ISSUED),
        (2, EventType.POLICY_ENDORSED),
        (3, EventType.PAYMENT_RECEIVED),
        (4, EventType.POLICY_STATUS_CHANGED),
        (5, EventType.POLICY_STATUS_CHANGED),
        (6, EventType.POLICY_CANCELLED),
    ]
    payment = OutboxMessage.objects.get(aggregate_id=policy.number, sequence=3).payload
    assert payment["amount"] == "250000.00"
    assert payment["reference"].startswith("REC-")
    assert payment["policy_number"] == policy.number
    cancellation = OutboxMessage.objects.get(aggregate_id=policy.number, sequence=6).payload
    assert Decimal(cancellation["refund"]) > 0
    assert cancellation["version"] == 3


def test_a_renewal_is_a_new_line_that_starts_with_its_renewal_event(sync_on, db):
    today = issue_policy().current_version.start_date
    policy = issue_policy(as_of=today - timedelta(days=340), start_date=today - timedelta(days=340))

    renewal = policy_renew(policy=policy, actor=policy.customer.agent)

    assert line_of(renewal) == [(1, EventType.POLICY_RENEWED)]
    assert OutboxMessage.objects.get(aggregate_id=renewal.number).payload["renews"] == policy.number


def test_the_daily_run_writes_the_status_it_gives_a_policy(sync_on, db):
    policy = issue_policy()
    policies_follow_dates(today=policy.current_version.end_date)

    assert line_of(policy)[-1] == (2, EventType.POLICY_STATUS_CHANGED)
    assert OutboxMessage.objects.get(aggregate_id=policy.number, sequence=2).payload["status"] == "EXPIRED"


def test_a_confirmed_claim_payout_goes_in_the_line_of_the_claims_policy(sync_on, supervisor):
    policy = issue_policy()
    claim = file_claim(policy=policy, claimed_amount="4000000")
    claim = claim_start_review(claim=claim, actor=supervisor)
    claim = claim_approve(claim=claim, actor=UserFactory(role=Role.ADMIN), amount=Decimal("3000000"), note="Conforme")
    payout = payout_prepare(claim=claim, actor=UserFactory(role=Role.FINANCE), payee_account="Bancolombia 123")
    payout_confirm(payout=payout, actor=UserFactory(role=Role.FINANCE))

    message = OutboxMessage.objects.get(event_type=EventType.PAYOUT_PAID)
    assert (message.aggregate_id, message.sequence) == (policy.number, 2)
    assert (message.payload["reference"], message.payload["amount"]) == (payout.number, "3000000.00")
    assert message.payload["claim_number"] == claim.number


def _status_message_for(number, note):
    return outbox_publish(
        event_type=EventType.POLICY_STATUS_CHANGED,
        aggregate_type=AggregateType.POLICY,
        aggregate_id=number,
        payload={"note": note},
    )[0].sequence


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transactions_writing_for_one_policy_are_numbered_in_commit_order(sync_on):
    first_wrote, let_first_commit = threading.Event(), threading.Event()
    sequences = {}

    def first():
        try:
            with transaction.atomic():
                sequences["first"] = _status_message_for("AUTO-2026-000001", "first")
                first_wrote.set()
                let_first_commit.wait(5)
        finally:
            connection.close()

    def second():
        try:
            first_wrote.wait(5)
            with transaction.atomic():
                sequences["second"] = _status_message_for("AUTO-2026-000001", "second")
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_wrote.wait(5)
    time.sleep(0.3)
    waiting = "second" not in sequences
    let_first_commit.set()
    for thread in threads:
        thread.join(10)

    assert waiting, "the second writer must wait for the first to commit"
    assert sequences == {"first": 1, "second": 2}


def test_the_demo_data_leaves_messages_waiting_while_sync_is_off(sync_off, db):
    for _ in range(3):
        issue_policy()

    assert seed_demo_outbox() == 3
    assert seed_demo_outbox() == 0
    assert set(OutboxMessage.objects.values_list("state", "destination")) == {("PENDING", "casse")}
