"""Gauges of the business read from the database at each scrape: what an operator must see waiting or
stuck. Read-only counts by a bounded set of statuses, so the series stay few whatever the data."""

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from portal.claims.models import BulkTransitionJob, Claim, ClaimStatus
from portal.gateways.models import WebhookEvent
from portal.ingestion.models import ImportJob
from portal.integrations.models import ReconciliationRun
from portal.outbox.models import MessageState, OutboxMessage
from portal.reports.models import ReportRun

from .models import BackupRun


def _counts_by(queryset, field, choices):
    found = dict(queryset.values_list(field).annotate(n=Count("pk")).order_by().values_list(field, "n"))
    return {value: found.get(value, 0) for value in choices.values}


def _by_status(name, documentation, label, counts):
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, count in counts.items():
        family.add_metric([value.lower()], count)
    return family


class BusinessCollector(Collector):
    def collect(self):
        now = timezone.now()
        yield _by_status(
            "amparo_import_jobs",
            "Bordereau import jobs by status.",
            "status",
            _counts_by(ImportJob.objects.all(), "status", ImportJob.Status),
        )
        yield _by_status(
            "amparo_claim_bulk_jobs",
            "Bulk claim jobs by status.",
            "status",
            _counts_by(BulkTransitionJob.objects.all(), "status", BulkTransitionJob.Status),
        )
        yield _by_status(
            "amparo_report_runs",
            "Report runs by status (queued and running wait for a worker; failed ones are kept until they expire).",
            "status",
            _counts_by(ReportRun.objects.all(), "status", ReportRun.Status),
        )
        yield GaugeMetricFamily(
            "amparo_reconciliation_runs_running",
            "Core-system reconciliation runs in progress.",
            value=ReconciliationRun.objects.filter(status=ReconciliationRun.Status.RUNNING).count(),
        )
        waiting = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).aggregate(
            count=Count("pk"), oldest=Min("received_at")
        )
        yield GaugeMetricFamily(
            "amparo_webhook_events_waiting",
            "Gateway webhook events received and not yet applied.",
            value=waiting["count"],
        )
        oldest = waiting["oldest"]
        yield GaugeMetricFamily(
            "amparo_webhook_event_oldest_waiting_seconds",
            "Age of the oldest webhook event waiting to be applied (0 when none waits).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        yield _by_status(
            "amparo_outbox_messages",
            "Core-system outbox messages by state (pending + sent is the depth; dead hold their policy back).",
            "state",
            _counts_by(OutboxMessage.objects.all(), "state", MessageState),
        )
        yield _by_status(
            "amparo_claims", "Claims by status.", "status", _counts_by(Claim.objects.all(), "status", ClaimStatus)
        )
        last = BackupRun.objects.filter(status=BackupRun.Status.SUCCEEDED).order_by("-finished_at").first()
        yield GaugeMetricFamily(
            "amparo_backup_last_success_timestamp_seconds",
            "When the last backup finished (Unix time; 0 when none has).",
            value=last.finished_at.timestamp() if last else 0,
        )
