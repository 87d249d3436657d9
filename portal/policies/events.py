"""What outside systems (the insurer's core) learn about a policy: the event each change writes to the
outbox in its own transaction, in Amparo's words. The adapters above translate it for each system."""

from portal.outbox.models import AggregateType
from portal.outbox.services import outbox_publish


def _coverage(line):
    return {
        "code": line.get("code", ""),
        "name": line.get("name", ""),
        "limit": str(line.get("limit", "")),
        "premium": str(line.get("premium", "")),
        "deductible_pct": str(line.get("deductible_pct", "")),
        "deductible_min": str(line.get("deductible_min", "")),
    }


def policy_snapshot(policy, *, on):
    """The policy as it stands after the change: its current version's terms, its status and holder."""
    version = policy.current_version
    customer = policy.customer
    product = policy.product
    return {
        "policy_id": policy.pk,
        "policy_number": policy.number,
        "version": version.number,
        "version_kind": version.kind,
        "status": policy.status,
        "customer": {"id_type": customer.id_type, "id_number": customer.id_number, "full_name": customer.full_name},
        "product": {"code": product.code, "name": product.name, "line": product.line},
        "start_date": version.start_date.isoformat(),
        "end_date": version.end_date.isoformat(),
        "effective_date": version.effective_date.isoformat(),
        "sum_insured": str(version.sum_insured),
        "premium": str(version.premium),
        "premium_change": str(version.premium_change),
        "currency": version.currency,
        "coverages": [_coverage(line) for line in version.coverages],
        "renews": policy.renewal_of.number if policy.renewal_of_id else None,
        "recorded_on": on.isoformat(),
    }


def policy_event_publish(policy, *, event_type, on, **details):
    """Write `event_type` about `policy` (as it is now) for every configured destination; call it in the
    service's transaction, after the policy's own row and its account are locked."""
    return outbox_publish(
        event_type=event_type,
        aggregate_type=AggregateType.POLICY,
        aggregate_id=policy.number,
        payload=lambda: {**policy_snapshot(policy, on=on), **details},
    )
