"""Report schedules: the monthly finance pack runs on its day (or the first look after it) for the
month before, once per month however often the task looks, and emails its recipients the links once
every run has ended; only administrators add schedules, and a schedule that could not run is refused."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.audit.models import AuditEvent
from portal.reports.models import ReportRun, ReportSchedule
from portal.reports.services import FINANCE_PACK, report_schedule_create, report_schedules_run_due

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_installed_pack(db):
    """The finance pack the migrations install would run beside the schedules these tests add."""
    ReportSchedule.objects.all().delete()


@pytest.fixture
def pack(admin_user, finance_user):
    return report_schedule_create(
        name="Monthly finance pack",
        reports=FINANCE_PACK,
        fmt="csv",
        day_of_month=1,
        recipients=["cfo@amparo.test", "finance@amparo.test"],
        owner=finance_user,
        actor=admin_user,
    )


def test_the_pack_runs_on_the_first_for_the_month_before_and_emails_the_links_once(
    pack, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        runs = report_schedules_run_due(today=date(2026, 12, 1))
    assert sorted(run.report for run in runs) == sorted(FINANCE_PACK)
    production = ReportRun.objects.get(report="premium_production")
    assert production.parameters == {"from": "2026-11-01", "to": "2026-11-30"}
    assert ReportRun.objects.get(report="earned_premium").parameters == {"as_of": "2026-11-30"}
    assert set(ReportRun.objects.values_list("status", flat=True)) == {ReportRun.Status.SUCCEEDED}
    [email] = mailoutbox
    assert email.to == ["cfo@amparo.test", "finance@amparo.test"] and "2026-11" in email.subject
    assert all(str(run.pk) in email.body for run in ReportRun.objects.all())


def test_the_pack_runs_once_a_month_however_often_the_task_looks(pack, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_schedules_run_due(today=date(2026, 12, 1))
        assert report_schedules_run_due(today=date(2026, 12, 1)) == []
        assert report_schedules_run_due(today=date(2026, 12, 2)) == []
    assert ReportRun.objects.count() == len(FINANCE_PACK)


def test_a_missed_day_is_caught_up_and_a_later_day_waits(admin_user, finance_user, pack):
    late = report_schedule_create(
        name="Mid-month",
        reports=["collections"],
        fmt="xlsx",
        day_of_month=15,
        recipients=["x@amparo.test"],
        owner=finance_user,
        actor=admin_user,
    )
    assert {run.schedule_id for run in report_schedules_run_due(today=date(2026, 12, 3))} == {pack.pk}
    assert {run.schedule_id for run in report_schedules_run_due(today=date(2026, 12, 20))} == {late.pk}


def test_only_administrators_add_schedules_and_bad_ones_are_refused(admin_user, finance_user):
    with pytest.raises(PermissionDenied):
        report_schedule_create(
            name="x",
            reports=["collections"],
            fmt="csv",
            day_of_month=1,
            recipients=["a@b.co"],
            owner=finance_user,
            actor=finance_user,
        )
    for changes, field in [
        ({"reports": ["policies_by_colour"]}, "reports"),
        ({"reports": ["audit_extract"]}, "owner"),
        ({"day_of_month": 31}, "day_of_month"),
        ({"recipients": []}, "recipients"),
        ({"fmt": "doc"}, "format"),
    ]:
        arguments = {
            "name": "x",
            "reports": ["collections"],
            "fmt": "csv",
            "day_of_month": 1,
            "recipients": ["a@b.co"],
            "owner": finance_user,
            "actor": admin_user,
            **changes,
        }
        with pytest.raises(ValidationError) as refused:
            report_schedule_create(**arguments)
        assert field in refused.value.error_dict
    with pytest.raises(ValidationError):
        report_schedule_create(
            name="x",
            reports=["collections"],
            fmt="csv",
            day_of_month=1,
            recipients=["not an address"],
            owner=finance_user,
            actor=admin_user,
        )
    assert not ReportSchedule.objects.exists()


def test_a_report_the_owner_may_no_longer_run_is_skipped_and_audited(pack, finance_user):
    finance_user.role = "AGENT"
    finance_user.save()
    runs = report_schedules_run_due(today=date(2026, 12, 1))
    assert sorted(run.report for run in runs) == ["claims", "premium_production", "receivables_ageing"]
    assert AuditEvent.objects.filter(action="report.schedule_skipped").count() == 2


def test_administrators_add_schedules_in_the_django_admin_and_the_save_is_audited(client, admin_user, finance_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/reports/reportschedule/add/",
        {
            "name": "Pack",
            "reports": '["collections"]',
            "format": "pdf",
            "day_of_month": 1,
            "recipients": '["cfo@amparo.test"]',
            "owner": finance_user.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AuditEvent.objects.filter(action="report.schedule_created").exists()
    refused = client.post(
        "/admin/reports/reportschedule/add/",
        {
            "name": "Pack",
            "reports": '["policies_by_colour"]',
            "format": "pdf",
            "day_of_month": 1,
            "recipients": '["cfo@amparo.test"]',
            "owner": finance_user.pk,
        },
    )
    assert refused.status_code == 200 and ReportSchedule.objects.count() == 1
