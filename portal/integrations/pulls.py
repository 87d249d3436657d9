"""What the core changed, brought back: policy statuses it set on its own, and customers' statement
lines. Each page is stored together with the cursor that follows it, in one transaction, so a pull
that dies half-way starts again after the last page it kept and never skips or repeats one."""

import logging
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from portal.core.money import CURRENCIES
from portal.customers.models import Customer
from portal.policies.models import Policy
from portal.policies.services import policy_status_from_core

from . import casse
from .casse import CasseError
from .destinations import LABELS, adapter_for
from .models import DestinationBreaker, PullCursor, StatementLine, StatementPull

logger = logging.getLogger(__name__)

POLICY_FEED = "policies"
FIRST_CHANGES_SINCE = "1970-01-01T00:00:00Z"
CHANGED_BY_CORE = "CORE"
CURRENCY_CODES = {code for code, _label in CURRENCIES}


def destination_is_sending(destination):
    """False while the destination's breaker is open or probing: the relay probes, pulls wait."""
    return (
        not DestinationBreaker.objects.filter(destination=destination)
        .exclude(state=DestinationBreaker.State.CLOSED)
        .exists()
    )


def _day(value):
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _apply_status(item, *, source, today):
    """Follow one status change the core made; returns True when it changed our policy."""
    policy = Policy.objects.filter(number=str(item.get("number", ""))).first()
    status = str(item.get("status", ""))
    if policy is None or policy.status == status:
        return False
    try:
        policy_status_from_core(
            policy=policy, status=status, on=_day(item.get("statusChangedAt")) or today, source=source
        )
    except ValidationError as refusal:
        logger.warning(
            "core status change not followed",
            extra={"policy": policy.number, "core_status": status, "reason": " ".join(refusal.messages)},
        )
        return False
    return True


def policy_changes_pull(*, destination=casse.NAME, adapter=None, max_pages=50):
    """Bring the status changes the core made since the last pull, page by page; returns figures."""
    adapter = adapter or adapter_for(destination)
    figures = {"pages": 0, "items": 0, "applied": 0}
    if not adapter.enabled() or not destination_is_sending(destination):
        return figures
    cursor, _created = PullCursor.objects.get_or_create(destination=destination, feed=POLICY_FEED)
    source = LABELS[destination]
    for _page in range(max_pages):
        position = cursor.position or {}
        try:
            page = adapter.policy_changes(
                updated_since=position.get("updated_since") or FIRST_CHANGES_SINCE, cursor=position.get("cursor")
            )
        except CasseError as failure:
            logger.warning("core policy changes not pulled", extra={"destination": destination, "error": str(failure)})
            break
        page = page if isinstance(page, dict) else {}
        items = page.get("items") or []
        with transaction.atomic():
            cursor = PullCursor.objects.select_for_update().get(pk=cursor.pk)
            if (cursor.position or {}) != position:
                break  # another puller stored this page meanwhile
            today = timezone.localdate()
            for item in items:
                if isinstance(item, dict) and item.get("statusChangedBy") == CHANGED_BY_CORE:
                    figures["applied"] += _apply_status(item, source=source, today=today)
            following = page.get("nextCursor")
            cursor.position = (
                {"updated_since": position.get("updated_since") or FIRST_CHANGES_SINCE, "cursor": following}
                if following
                else {"updated_since": page.get("until") or position.get("updated_since") or FIRST_CHANGES_SINCE}
            )
            cursor.pulled_at = timezone.now()
            cursor.save(update_fields=["position", "pulled_at"])
        figures["pages"] += 1
        figures["items"] += len(items)
        if not following:
            break
    return figures


def _statement_line(customer, destination, line):
    """A StatementLine from one line of the core's answer, or None when it is not a usable line."""
    if not isinstance(line, dict) or not line.get("lineId"):
        return None
    try:
        amount = Decimal(str(line.get("amount")))
        balance = Decimal(str(line["balance"])) if line.get("balance") not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None
    posted_on = _day(line.get("date"))
    currency = str(line.get("currency", ""))
    if posted_on is None or currency not in CURRENCY_CODES or not amount.is_finite():
        return None
    return StatementLine(
        customer=customer,
        destination=destination,
        line_id=str(line["lineId"])[:64],
        posted_on=posted_on,
        description=str(line.get("description", ""))[:255],
        policy_number=str(line.get("policy_number", ""))[:30],
        amount=amount.quantize(Decimal("0.01")),
        currency=currency,
        balance=balance.quantize(Decimal("0.01")) if balance is not None and balance.is_finite() else None,
    )


def customers_due_for_statement(destination, *, limit):
    """Customers with a policy the core knows, those pulled longest ago (or never) first."""
    known = Policy.objects.filter(customer=OuterRef("pk")).exclude(core_reference="")
    last = StatementPull.objects.filter(customer=OuterRef("pk"), destination=destination).values("pulled_at")[:1]
    return (
        Customer.objects.filter(Exists(known))
        .annotate(last_pulled=Subquery(last))
        .order_by(F("last_pulled").asc(nulls_first=True), "pk")[:limit]
    )


def statement_pull(*, customer, destination=casse.NAME, adapter=None):
    """Bring one customer's new statement lines; returns how many came. Raises CasseError."""
    adapter = adapter or adapter_for(destination)
    pull, _created = StatementPull.objects.get_or_create(customer=customer, destination=destination)
    page = adapter.statement(id_type=customer.id_type, id_number=customer.id_number, since=pull.since or None)
    page = page if isinstance(page, dict) else {}
    lines = page.get("lines") or []
    made = [line for line in (_statement_line(customer, destination, item) for item in lines) if line is not None]
    if len(made) < len(lines):
        logger.warning(
            "core statement lines not usable",
            extra={"destination": destination, "customer": customer.pk, "skipped": len(lines) - len(made)},
        )
    with transaction.atomic():
        pull = StatementPull.objects.select_for_update().get(pk=pull.pk)
        # A line pulled before (the same lineId) is kept as it was.
        StatementLine.objects.bulk_create(made, ignore_conflicts=True)
        if page.get("nextSince"):
            pull.since = str(page["nextSince"])[:64]
        pull.pulled_at = timezone.now()
        pull.save(update_fields=["since", "pulled_at"])
    return len(made)


def statements_pull(*, destination=casse.NAME, adapter=None, limit=200):
    """Pull the statements of up to `limit` customers, longest waiting first; stops when the core fails."""
    adapter = adapter or adapter_for(destination)
    figures = {"customers": 0, "lines": 0}
    if not adapter.enabled() or not destination_is_sending(destination):
        return figures
    for customer in customers_due_for_statement(destination, limit=limit):
        try:
            figures["lines"] += statement_pull(customer=customer, destination=destination, adapter=adapter)
        except CasseError as failure:
            logger.warning("core statements not pulled", extra={"destination": destination, "error": str(failure)})
            break
        figures["customers"] += 1
    return figures
