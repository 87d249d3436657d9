"""Report runs in the background, the nightly expiry of old runs' files, and the dashboards' figures
recomputed every five minutes and soon after the writes that move them (thin wrappers)."""

from portal.core.tasks import correlated_periodic_task, correlated_task, local_crontab

from .figures import dashboard_figures_refresh
from .generate import report_run_generate
from .services import (
    report_runs_expire,
    report_runs_fail_stalled,
    report_runs_requeue_silent,
    report_schedules_run_due,
)


@correlated_task()
def report_run_process(run_id):
    report_run_generate(run_id=run_id)


@correlated_periodic_task(local_crontab(minute="30", hour="2"))
def report_runs_expire_nightly():
    report_runs_fail_stalled()
    report_runs_expire()


@correlated_periodic_task(local_crontab(minute="*"))
def report_runs_requeue_silent_every_minute():
    report_runs_requeue_silent()


@correlated_task()
def dashboard_figures_refresh_now():
    dashboard_figures_refresh()


@correlated_periodic_task(local_crontab(minute="*/5"))
def dashboard_figures_refresh_periodic():
    dashboard_figures_refresh()


@correlated_periodic_task(local_crontab(minute="0", hour="6"))
def report_schedules_daily():
    report_schedules_run_due()
