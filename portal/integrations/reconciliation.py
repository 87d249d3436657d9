"""The daily reconciliation of Amparo's book with the core's: policies the core never acknowledged,
statuses that differ, premium per product and month, payments the core has not acknowledged. The
differences are stored with the run (the page and the CSV read them) and emailed to administrators."""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import Role, User
from portal.audit.services import audit_record
from portal.core.dates import add_months
from portal.notifications.services import email_queue
from portal.outbox.models import EventType, OutboxMessage
from portal.policies.models import Policy, PolicyVersion

from . import casse
from .casse import CasseError
from .destinations import LABELS, adapter_for
from .models import DifferenceKind, ReconciliationDifference, ReconciliationRun

logger = logging.getLogger(__name__)

# Differences listed per kind (the counts are always whole).
LISTED_PER_KIND = 1000
MAX_LISTING_PAGES = 10_000


class _Differences:
    def __init__(self, run):
        self.run = run
        self.counts = defaultdict(int)
        self.rows = []

    def add(self, kind, subject, ours="", theirs=""):
        self.counts[kind] += 1
        if self.counts[kind] <= LISTED_PER_KIND:
            self.rows.append(
                ReconciliationDifference(
                    run=self.run, kind=kind, subject=str(subject)[:80], ours=str(ours)[:120], theirs=str(theirs)[:120]
                )
            )


def _core_policies(adapter):
    """{number: status} of every policy the core has, read page by page."""
    statuses, cursor = {}, None
    for _page in range(MAX_LISTING_PAGES):
        page = adapter.policy_changes(updated_since=None, cursor=cursor)
        page = page if isinstance(page, dict) else {}
        for item in page.get("items") or []:
            if isinstance(item, dict) and item.get("number"):
                statuses[str(item["number"])] = str(item.get("status", ""))
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return statuses


def _policies(found, *, destination, adapter, cutoff):
    for number in (
        Policy.objects.filter(core_reference="", created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("number", flat=True)
    ):
        found.add(DifferenceKind.NOT_ACKNOWLEDGED, number, ours=number, theirs="")
    theirs = _core_policies(adapter)
    # A policy with messages still on their way may differ for now; it is compared once they arrive.
    in_flight = set(
        OutboxMessage.objects.filter(destination=destination, state__in=OutboxMessage.OPEN)
        .values_list("aggregate_id", flat=True)
        .distinct()
    )
    ours = Policy.objects.exclude(core_reference="").values_list("number", "status").order_by("number")
    for number, status in ours.iterator(chunk_size=5000):
        core_status = theirs.pop(number, None)
        if core_status is None:
            found.add(DifferenceKind.UNKNOWN_IN_CORE, number, ours=status)
        elif core_status != status and number not in in_flight:
            found.add(DifferenceKind.STATUS, number, ours=status, theirs=core_status)
    known_here = (
        set(Policy.objects.filter(number__in=list(theirs)).values_list("number", flat=True)) if theirs else set()
    )
    for number, core_status in sorted(theirs.items()):
        if number not in known_here:
            found.add(DifferenceKind.UNKNOWN_HERE, number, theirs=core_status)


def _local_midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def _premium(found, *, adapter, today):
    """Premium written per product, currency and month (this month and the last), ours against the core's."""
    first = today.replace(day=1)
    for month_start in (add_months(first, -1), first):
        month = f"{month_start:%Y-%m}"
        ours = defaultdict(Decimal)
        # The month in the portal's time zone, the days the core's `recorded_on` dates count in.
        since, until = _local_midnight(month_start), _local_midnight(add_months(month_start, 1))
        rows = (
            PolicyVersion.objects.filter(created_at__gte=since, created_at__lt=until)
            .values("policy__product__code", "currency")
            .annotate(total=Sum("premium_change"))
        )
        for row in rows:
            ours[(row["policy__product__code"], row["currency"])] += row["total"] or Decimal(0)
        theirs = defaultdict(Decimal)
        page = adapter.premium_summary(month=month)
        for item in (page.get("items") if isinstance(page, dict) else None) or []:
            try:
                theirs[(str(item.get("product")), str(item.get("currency")))] += Decimal(str(item.get("premium")))
            except (InvalidOperation, AttributeError):
                found.add(DifferenceKind.PREMIUM, f"{month} ?", theirs=str(item)[:120])
        for product, currency in sorted(set(ours) | set(theirs)):
            if ours[(product, currency)] != theirs[(product, currency)]:
                found.add(
                    DifferenceKind.PREMIUM,
                    f"{product} {month}",
                    ours=f"{ours[(product, currency)]:.2f} {currency}",
                    theirs=f"{theirs[(product, currency)]:.2f} {currency}",
                )


def _payments(found, *, destination, cutoff):
    unacknowledged = (
        OutboxMessage.objects.filter(
            destination=destination,
            event_type__in=[EventType.PAYMENT_RECEIVED, EventType.PAYOUT_PAID, EventType.LOAN_DISBURSED],
            created_at__lt=cutoff,
        )
        .exclude(state=OutboxMessage.State.ACKED)
        .order_by("created_at")
    )
    for message in unacknowledged.iterator(chunk_size=2000):
        payload = message.payload
        found.add(
            DifferenceKind.PAYMENT_NOT_ACKNOWLEDGED,
            payload.get("reference", message.pk),
            ours=f"{payload.get('amount', '')} {payload.get('currency', '')} · {message.aggregate_id}",
            theirs=message.get_state_display(),
        )


def _email_administrators(run):
    recipients = list(
        User.objects.filter(role=Role.ADMIN, is_active=True)
        .exclude(email_primary="")
        .values_list("email_primary", flat=True)
    )
    if not recipients:
        return
    label = LABELS.get(run.destination, run.destination)
    if run.status == ReconciliationRun.Status.FAILED:
        subject = _("Amparo: the reconciliation with %(core)s could not finish") % {"core": label}
        lines = [run.error]
    else:
        subject = _("Amparo: %(count)s differences with %(core)s") % {"count": run.differences_found, "core": label}
        lines = [f"{DifferenceKind(kind).label}: {count}" for kind, count in sorted(run.counts.items())]
    page = reverse("integrations:reconciliation") + f"?run={run.pk}"
    body = "\n".join([subject, "", *lines, "", _("See them in the portal: %(page)s") % {"page": page}])
    email_queue(to=recipients, subject=subject, body=body)


def reconciliation_run(*, destination=casse.NAME, adapter=None, now=None):
    """Compare and store the differences; email administrators when there are any (or when the core
    could not be asked). Returns the run, or None when sync with the destination is off."""
    adapter = adapter or adapter_for(destination)
    if not adapter.enabled():
        return None
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CASSE_RECONCILE_AFTER_MINUTES)
    run = ReconciliationRun.objects.create(destination=destination, started_at=now)
    found = _Differences(run)
    try:
        _policies(found, destination=destination, adapter=adapter, cutoff=cutoff)
        _premium(found, adapter=adapter, today=timezone.localdate(now))
        _payments(found, destination=destination, cutoff=cutoff)
    except CasseError as failure:
        run.status, run.error = ReconciliationRun.Status.FAILED, str(failure)[:500]
        logger.warning("reconciliation with the core failed", extra={"destination": destination, "error": run.error})
    else:
        run.status = ReconciliationRun.Status.DONE
    with transaction.atomic():
        ReconciliationDifference.objects.bulk_create(found.rows, batch_size=2000)
        run.counts = dict(found.counts)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "counts", "finished_at"])
        audit_record(
            actor=None,
            actor_label="scheduler",
            action="integrations.reconciliation_run",
            target=run,
            metadata={"status": run.status, "differences": run.counts},
        )
        if run.status == ReconciliationRun.Status.FAILED or run.differences_found:
            _email_administrators(run)
    return run
