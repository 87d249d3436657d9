"""The monthly finance pack every install gets from a migration: one schedule (production, earned,
ageing, claims, loss ratio; PDF on the 1st) run as the reports' system account and emailed to the
finance users active when it is ready; installing it again adds none."""

import importlib
from datetime import date

import pytest
from django.apps import apps
from django.urls import reverse

from portal.accounts.models import Role, User, UserStatus
from portal.reports.models import ReportRun, ReportSchedule
from portal.reports.services import FINANCE_PACK, SYSTEM_EMAIL, report_schedules_run_due

from .factories import UserFactory

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("portal.reports.migrations.0005_finance_pack_schedule")


def test_the_migrations_install_one_finance_pack_run_by_the_system_and_emailed_to_finance():
    [pack] = ReportSchedule.objects.all()
    assert pack.reports == FINANCE_PACK and pack.format == "pdf" and pack.day_of_month == 1
    assert pack.owner is None and pack.emails_finance and pack.is_active


def test_installing_the_pack_again_adds_none():
    MIGRATION.install_finance_pack(apps, None)
    MIGRATION.install_finance_pack(apps, None)
    assert ReportSchedule.objects.count() == 1


def test_a_pack_renamed_by_an_administrator_is_not_installed_twice():
    ReportSchedule.objects.update(name="Finance pack")
    MIGRATION.install_finance_pack(apps, None)
    assert ReportSchedule.objects.count() == 1


def test_reversed_the_migration_removes_the_pack_it_installed_and_keeps_the_others(admin_user):
    ReportSchedule.objects.create(
        name="Mine", reports=["claims"], format="csv", day_of_month=2, recipients=[], owner=admin_user
    )
    MIGRATION.remove_finance_pack(apps, None)
    assert list(ReportSchedule.objects.values_list("name", flat=True)) == ["Mine"]


def test_a_schedule_for_every_finance_user_is_saved_in_the_admin_with_no_recipients_typed(admin_client):
    answer = admin_client.post(
        "/admin/reports/reportschedule/add/",
        {
            "name": "Cartera",
            "reports": '["receivables_ageing"]',
            "format": "xlsx",
            "day_of_month": "5",
            "recipients": "",
            "emails_finance": "on",
            "owner": "",
            "is_active": "on",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert ReportSchedule.objects.get(name="Cartera").recipients == []


def test_a_database_without_the_pack_gets_it():
    ReportSchedule.objects.all().delete()
    MIGRATION.install_finance_pack(apps, None)
    assert ReportSchedule.objects.get().reports == FINANCE_PACK


def test_the_installed_pack_runs_as_the_system_account_and_emails_the_active_finance_users(
    mailoutbox, django_capture_on_commit_callbacks, client, private_root
):
    UserFactory(role=Role.FINANCE, email_primary="cfo@amparo.test")
    UserFactory(role=Role.FINANCE, email_primary="analyst@amparo.test")
    UserFactory(role=Role.FINANCE, email_primary="gone@amparo.test", status=UserStatus.SUSPENDED)
    UserFactory(role=Role.AGENT, email_primary="agent@amparo.test")
    with django_capture_on_commit_callbacks(execute=True):
        runs = report_schedules_run_due(today=date(2026, 12, 1))
    assert sorted(run.report for run in runs) == sorted(FINANCE_PACK)
    assert {run.requested_by.email_primary for run in ReportRun.objects.select_related("requested_by")} == {
        SYSTEM_EMAIL
    }
    assert set(ReportRun.objects.values_list("status", flat=True)) == {ReportRun.Status.SUCCEEDED}
    [email] = mailoutbox
    assert email.to == ["analyst@amparo.test", "cfo@amparo.test"]
    # Every link in it opens for a recipient, though the runs are the system account's; not for an agent.
    run = ReportRun.objects.first()
    client.force_login(User.objects.get(email_primary="cfo@amparo.test"))
    assert client.get(reverse("reports:run_detail", args=[run.pk])).status_code == 200
    assert client.get(reverse("reports:run_download", args=[run.pk])).status_code == 200
    client.force_login(User.objects.get(email_primary="agent@amparo.test"))
    assert client.get(reverse("reports:run_detail", args=[run.pk])).status_code == 404


def test_a_pack_with_nobody_to_email_sends_nothing(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report_schedules_run_due(today=date(2026, 12, 1))
    assert mailoutbox == []
    assert ReportSchedule.objects.get().emailed_period == date(2026, 12, 1)
