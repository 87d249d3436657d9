"""The soak's book (app accounts, claims to move, a bordereau source), the wait for the workers (and the
product's sweeps) to finish what the clients queued, what the sweeps recovered, and the invariants
checked afterwards against the database."""

import time
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from api.tokens import token_pair_for
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.claims.models import BulkTransitionJob, BulkTransitionResult, Claim, ClaimTransition
from portal.claims.services import claim_file
from portal.customers.services import customer_link_app_account
from portal.gateways.models import WebhookEvent
from portal.ingestion.models import ImportJob, RiskRow, Source
from portal.ingestion.services import source_create
from portal.payments.models import LedgerAccount, LedgerEntry, Payment
from portal.policies.models import Policy
from portal.reports.models import ReportRun

SOURCE_NAME = "Soak cedant"


def app_tokens(customers):
    """(access token, policy id) per customer, each linked to an app account (made once)."""
    agent = User.objects.get(email_primary="agent@amparo.demo")
    answers = []
    for customer in customers:
        if customer.user_id is None:
            user = User.objects.create_user(
                email_primary=f"app.{customer.email_primary}",
                password=None,
                full_name=customer.full_name,
                id_type="CC",
                id_number=customer.id_number,
                role=Role.CLIENT,
            )
            customer_link_app_account(customer=customer, user=user, actor=agent)
            customer.refresh_from_db()
        policy = Policy.objects.filter(customer=customer).order_by("pk").first()
        answers.append((token_pair_for(customer.user)["access"], policy.pk))
    return answers


def staff_token(email):
    return token_pair_for(User.objects.get(email_primary=email))["access"]


def claims_to_review(customers, count, run):
    """`count` pending claims on the book's policies, filed by their agent, for the bulk moves."""
    agent = User.objects.get(email_primary="agent@amparo.demo")
    policies = list(Policy.objects.filter(customer__in=customers).order_by("pk"))
    return [
        claim_file(
            policy=policies[number % len(policies)],
            coverage_code="RC",
            loss_date=timezone.localdate(),
            claimed_amount=Decimal("50000.00"),
            description=f"Soak {run}: choque simple {number}",
            actor=agent,
        ).pk
        for number in range(count)
    ]


def bulk_chunks(claim_ids, small=20, large=80):
    """Chunks alternating small (run in the request) and large (run by a worker)."""
    chunks, start, sizes = [], 0, [small, large]
    while start < len(claim_ids):
        size = sizes[len(chunks) % 2]
        chunks.append(claim_ids[start : start + size])
        start += size
    return chunks


def import_source():
    source = Source.objects.filter(name=SOURCE_NAME).first()
    return source or source_create(actor=User.objects.get(email_primary="admin@amparo.demo"), name=SOURCE_NAME)


def _unfinished(phase, references):
    return {
        "webhooks": WebhookEvent.objects.filter(reference__in=references, status=WebhookEvent.Status.RECEIVED),
        "imports": ImportJob.objects.filter(original_name__in=list(phase.import_rows), status__in=ImportJob.ACTIVE),
        "bulk": BulkTransitionJob.objects.filter(pk__in=phase.bulk_jobs).exclude(
            status=BulkTransitionJob.Status.FINISHED
        ),
        "reports": ReportRun.objects.filter(pk__in=phase.report_runs, status__in=ReportRun.ACTIVE),
    }


def drain(phase, references, queue, timeout):
    """Wait until the workers finished everything the phase queued and the queue is empty, or until
    nothing moved for `timeout` seconds; True when all is done."""
    last, quiet_since = None, time.monotonic()
    while time.monotonic() - quiet_since < timeout:
        counts = {name: query.count() for name, query in _unfinished(phase, references).items()}
        if not any(counts.values()) and queue.pending_count() == 0:
            return True
        figures = (
            counts,
            sum(ImportJob.objects.filter(status=ImportJob.Status.RUNNING).values_list("progress", flat=True)),
        )
        if figures != last:
            last, quiet_since = figures, time.monotonic()
        time.sleep(0.5)
    return False


SWEEP_ACTIONS = {"ingestion.import_requeued": "imports", "report.requeued": "reports", "claim.bulk_requeued": "bulk"}


def recovered_by_sweep(since):
    """What the scheduler's sweeps queued again since `since`, from their audit events: {kind: {state it
    was found in: count}} (QUEUED: its task was lost before a worker took it, or still waiting)."""
    events = AuditEvent.objects.filter(actor_label="scheduler", action__in=SWEEP_ACTIONS, occurred_at__gte=since)
    recovered = {}
    for action, metadata in events.values_list("action", "metadata"):
        kind = recovered.setdefault(SWEEP_ACTIONS[action], {})
        kind[metadata.get("was", "?")] = kind.get(metadata.get("was", "?"), 0) + 1
    return recovered


def _webhook_problems(attempts, posted):
    attempts = [attempts[index] for index in posted]
    references = [attempt.reference for attempt in attempts]
    problems = []
    events = WebhookEvent.objects.filter(reference__in=references)
    if events.count() != len(attempts):
        problems.append(f"{events.count()} events stored for {len(attempts)} deliveries")
    not_applied = events.exclude(status=WebhookEvent.Status.PROCESSED).count()
    if not_applied:
        problems.append(f"{not_applied} events not applied")
    payments = Payment.objects.filter(reference__in=references)
    twice = payments.values("reference").annotate(n=Count("pk")).filter(n__gt=1).count()
    if payments.count() != len(attempts) or twice:
        problems.append(f"{payments.count()} payments for {len(attempts)} approved transactions ({twice} twice)")
    entries = dict(
        LedgerEntry.objects.filter(payment__in=payments)
        .values_list("payment")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .values_list("payment", "total")
    )
    for payment in payments:
        total = entries.get(payment.pk)
        if total is None or abs(total) != payment.amount:
            problems.append(f"payment {payment.reference}: ledger {total} for {payment.amount}")
    return problems


def ledger_problems(customers, answered_balances):
    """Every account's balance as the API answered it after the phase equals the sum of its entries."""
    problems = []
    sums = dict(
        LedgerAccount.objects.filter(customer__in=customers)
        .annotate(total=Sum("entries__amount"))
        .values_list("customer__user_id", "total")
    )
    for user_id, balance in answered_balances.items():
        if not isinstance(balance, Decimal) or balance != (sums.get(user_id) or Decimal("0")):
            problems.append(f"user {user_id}: the API says {balance}, the entries sum {sums.get(user_id)}")
    return problems


def _claim_problems(phase):
    problems = []
    if phase.replays_wrong:
        problems.append(f"{len(phase.replays_wrong)} Idempotency-Key retries did not get the first answer")
    filed = Claim.objects.filter(pk__in=phase.claim_keys.values()).count()
    if filed != len(phase.claim_keys):
        problems.append(f"{filed} claims for {len(phase.claim_keys)} keys")
    by_key = (
        Claim.objects.filter(Q(*[Q(description__contains=key) for key in phase.claim_keys], _connector=Q.OR)).count()
        if phase.claim_keys
        else 0
    )
    if by_key != len(phase.claim_keys):
        problems.append(f"{by_key} claims filed under {len(phase.claim_keys)} Idempotency-Keys")
    asked = phase.bulk_claim_ids
    transitions = ClaimTransition.objects.filter(claim__in=asked, action="start_review")
    twice = transitions.values("claim").annotate(n=Count("pk")).filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} claims put under review more than once")
    done = BulkTransitionResult.objects.filter(job__in=phase.bulk_jobs, outcome=BulkTransitionResult.Outcome.DONE)
    if done.count() != transitions.count():
        problems.append(f"{done.count()} bulk results done, {transitions.count()} transitions written")
    if transitions.count() != len(asked):
        problems.append(f"{transitions.count()} transitions for {len(asked)} claims asked")
    moved = Claim.objects.filter(pk__in=asked, status=Claim.Status.UNDER_REVIEW).count()
    if moved != len(asked):
        problems.append(f"{moved} of {len(asked)} claims asked are under review")
    return problems


def _import_problems(phase):
    problems = []
    jobs = ImportJob.objects.filter(original_name__in=list(phase.import_rows))
    if jobs.count() != len(phase.import_rows):
        problems.append(f"{jobs.count()} import jobs for {len(phase.import_rows)} files uploaded")
    for job in jobs:
        stored = RiskRow.objects.filter(job=job).count()
        if job.status != ImportJob.Status.SUCCEEDED or job.rows_total != phase.import_rows[job.original_name]:
            problems.append(f"import {job.pk}: {job.status}, {job.rows_total} rows read")
        elif stored + job.rows_rejected != job.rows_total:
            problems.append(f"import {job.pk}: {stored} rows stored + {job.rows_rejected} rejected != {job.rows_total}")
    return problems


def _report_problems(phase):
    problems = []
    runs = ReportRun.objects.filter(pk__in=phase.report_runs)
    failed = runs.exclude(status=ReportRun.Status.SUCCEEDED).count()
    if failed or runs.count() != len(phase.report_runs):
        problems.append(f"{failed} of {len(phase.report_runs)} report runs did not succeed")
    if phase.report_checksums_wrong:
        problems.append(f"{len(phase.report_checksums_wrong)} report files differ from their checksum")
    return problems


def phase_problems(phase, attempts, posted):
    problems = _webhook_problems(attempts, posted) + _claim_problems(phase) + _import_problems(phase)
    problems += _report_problems(phase)
    problems += phase.failures
    return problems


def phase_figures(phase, seconds):
    jobs = ImportJob.objects.filter(original_name__in=list(phase.import_rows), status=ImportJob.Status.SUCCEEDED)
    rows = sum(jobs.values_list("rows_total", flat=True))
    spans = [(job.started_at, job.finished_at) for job in jobs if job.started_at and job.finished_at]
    busy = (max(end for _s, end in spans) - min(start for start, _e in spans)).total_seconds() if spans else 0
    connection.close()
    return {
        "imports": jobs.count(),
        "rows_imported": rows,
        "rows_per_s": round(rows / busy, 1) if busy else 0,
        "claims_filed": len(phase.claim_keys),
        "claim_transitions": ClaimTransition.objects.filter(
            claim__in=phase.bulk_claim_ids, action="start_review"
        ).count(),
        "bulk_jobs": len(phase.bulk_jobs),
        "reports_done": ReportRun.objects.filter(pk__in=phase.report_runs, status=ReportRun.Status.SUCCEEDED).count(),
    }
