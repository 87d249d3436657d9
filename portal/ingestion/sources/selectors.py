"""Reads of web-service sources, scoped to the user: the connections and their runs are open to those
who may read bordereaux; what a run did is shown to them as it goes."""

from django.db.models import OuterRef, Subquery

from .models import SourceConnection, SyncExchange, SyncRun


def _may_read(user):
    return user.is_authenticated and user.is_active and user.has_perm("ingestion.view_syncrun")


def source_connections_visible_to(user):
    if not _may_read(user):
        return SourceConnection.objects.none()
    last = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        SourceConnection.objects.select_related("source")
        .annotate(
            last_run_status=Subquery(last.values("status")[:1]),
            last_run_at=Subquery(last.values("created_at")[:1]),
        )
        .order_by("source__name")
    )


def sync_runs_visible_to(user):
    if not _may_read(user):
        return SyncRun.objects.none()
    return SyncRun.objects.select_related("connection__source", "created_by").prefetch_related("jobs")


EXCHANGES_SHOWN = 500


def sync_exchanges_of(run):
    """The first HTTP requests of a run the user may see (`run` comes from sync_runs_visible_to), in
    the order they were made, and how many there are in all."""
    exchanges = SyncExchange.objects.filter(run=run).order_by("id")
    return list(exchanges[:EXCHANGES_SHOWN]), exchanges.count()
