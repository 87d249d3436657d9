"""Reads of the reports domain, scoped to the user."""

from django.db.models import Q

from portal.accounts.models import Role

from .models import ReportRun, ReportSchedule

SEES_EVERY_RUN = frozenset({Role.ADMIN, Role.INTERVENTORIA})


def report_runs_visible_to(user):
    """A user's own runs; finance also the runs of the schedules emailed to every finance user (the
    finance pack, run as the reports' system account); administrators and Interventoría everyone's
    (read-only oversight)."""
    runs = ReportRun.objects.select_related("requested_by")
    if not user.is_authenticated or not user.is_active:
        return runs.none()
    if user.role in SEES_EVERY_RUN:
        return runs
    if user.role == Role.FINANCE:
        return runs.filter(Q(requested_by=user) | Q(schedule__emails_finance=True))
    return runs.filter(requested_by=user)


def report_run_downloadable(run):
    return run.status == ReportRun.Status.SUCCEEDED and bool(run.stored_name)


def report_schedules_visible_to(user):
    if user.is_authenticated and user.is_active and user.role in SEES_EVERY_RUN | {Role.FINANCE}:
        return ReportSchedule.objects.select_related("owner")
    return ReportSchedule.objects.none()
