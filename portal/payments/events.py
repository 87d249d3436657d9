"""What outside systems (the insurer's core) learn about money: premium collected for a policy and
claim payouts, written to the outbox in the transaction that records them, in Amparo's words.

Premium is reported per policy, when money is applied to its instalments (at once, or later from
credit): the event goes in the policy's line of messages, so the core never hears of a payment
towards a policy before the policy itself.
"""

from portal.outbox.models import AggregateType, EventType
from portal.outbox.services import outbox_publish
from portal.policies.models import Policy


def premium_collected_publish(payment, allocations, *, on):
    """One `payment.received` per policy whose instalments `allocations` (of `payment`) paid."""
    if not allocations:
        return []
    amounts = {}
    for allocation in allocations:
        amounts[allocation.instalment.policy_id] = amounts.get(allocation.instalment.policy_id, 0) + allocation.amount
    numbers = dict(Policy.objects.filter(pk__in=amounts).values_list("pk", "number"))
    receipt = getattr(payment, "receipt", None)
    messages = []
    for policy_id, amount in sorted(amounts.items()):
        messages += outbox_publish(
            event_type=EventType.PAYMENT_RECEIVED,
            aggregate_type=AggregateType.POLICY,
            aggregate_id=numbers[policy_id],
            payload={
                "payment_id": payment.pk,
                "reference": receipt.number if receipt else payment.reference,
                "method": payment.method,
                "amount": str(amount),
                "currency": payment.currency,
                "policy_number": numbers[policy_id],
                "paid_on": payment.received_on.isoformat(),
                "recorded_on": on.isoformat(),
            },
        )
    return messages


def payout_paid_publish(payout, *, payment, policy_number, on):
    """`payout.paid`: the money of a claim paid out, in the line of the claim's policy."""
    return outbox_publish(
        event_type=EventType.PAYOUT_PAID,
        aggregate_type=AggregateType.POLICY,
        aggregate_id=policy_number,
        payload={
            "payment_id": payment.pk,
            "reference": payout.number,
            "amount": str(payout.amount),
            "currency": payout.currency,
            "policy_number": policy_number,
            "claim_number": payout.claim.number,
            "paid_on": payment.received_on.isoformat(),
            "recorded_on": on.isoformat(),
        },
    )
