"""The daily reconciliation with the core: policies it never acknowledged, statuses that differ, premium per
product and month, payments it has not acknowledged; stored, shown highlighted, downloadable as CSV and
emailed to administrators when there is any difference."""

import csv
import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from portal.accounts.models import Role
from portal.integrations.models import ReconciliationRun
from portal.integrations.reconciliation import reconciliation_run
from portal.outbox.models import OutboxMessage
from portal.policies.models import Policy
from tests.factories import UserFactory


@pytest.fixture
def reconcile_and_email(django_capture_on_commit_callbacks):
    """Run the reconciliation with the tasks it queues after commit run at once, so its email goes out."""

    def run():
        HUEY.immediate = True
        with django_capture_on_commit_callbacks(execute=True):
            return reconciliation_run()

    return run


@pytest.fixture
def book_with_differences(core, drain, policy_history):
    agreeing = policy_history(endorse=False, pay=False)
    suspended_in_core = policy_history(endorse=False, pay=False)
    drain()
    core.change_status(suspended_in_core.number, "SUSPENDED")
    refused = policy_history(endorse=False)
    core.refuse_next(1)
    drain()
    two_hours_ago = timezone.now() - timedelta(hours=2)
    Policy.objects.filter(pk=refused.pk).update(created_at=two_hours_ago)
    OutboxMessage.objects.filter(aggregate_id=refused.number).update(created_at=two_hours_ago)
    core.policies["OTRA-2026-000001"] = {
        "number": "OTRA-2026-000001",
        "coreId": "CASSE-POL-9",
        "status": "ACTIVE",
        "version": 1,
        "premiums": [],
        "updatedAt": timezone.now().isoformat(),
        "statusChangedBy": "CORE",
    }
    return {"agreeing": agreeing, "suspended": suspended_in_core, "refused": refused}


def test_each_kind_of_difference_is_found_and_the_administrators_are_told(book_with_differences, reconcile_and_email):
    admin = UserFactory(role=Role.ADMIN)
    book = book_with_differences

    run = reconcile_and_email()

    assert run.status == "DONE"
    assert run.counts == {
        "NOT_ACKNOWLEDGED": 1,
        "STATUS": 1,
        "UNKNOWN_HERE": 1,
        "PREMIUM": 1,
        "PAYMENT_NOT_ACKNOWLEDGED": 1,
    }
    found = {(d.kind, d.subject): (d.ours, d.theirs) for d in run.differences.all()}
    assert found[("STATUS", book["suspended"].number)] == ("ACTIVE", "SUSPENDED")
    assert ("NOT_ACKNOWLEDGED", book["refused"].number) in found
    assert ("UNKNOWN_HERE", "OTRA-2026-000001") in found
    premium_subject = next(subject for kind, subject in found if kind == "PREMIUM")
    assert premium_subject.startswith(book["refused"].product.code)
    (email,) = mail.outbox
    assert email.to == [admin.email_primary]
    assert "5" in email.subject


def test_a_book_the_core_agrees_with_has_no_difference_and_no_email(core, drain, policy_history, reconcile_and_email):
    UserFactory(role=Role.ADMIN)
    policy_history()
    drain()

    run = reconcile_and_email()

    assert (run.status, run.counts, run.differences.count()) == ("DONE", {}, 0)
    assert mail.outbox == []


def test_when_the_core_cannot_be_asked_the_run_fails_and_says_so(db, core, clock, reconcile_and_email):
    UserFactory(role=Role.ADMIN)
    core.go_down(until=clock.now() + timedelta(hours=1))

    run = reconcile_and_email()

    assert run.status == "FAILED"
    assert run.error
    assert len(mail.outbox) == 1


def test_with_sync_off_there_is_nothing_to_reconcile(sync_off, db):
    assert reconciliation_run() is None


def test_the_page_shows_the_differences_highlighted_to_administrators_and_interventoria(client, book_with_differences):
    run = reconciliation_run()

    for role in (Role.ADMIN, Role.INTERVENTORIA):
        client.force_login(UserFactory(role=role))
        page = client.get(reverse("integrations:reconciliation"))
        assert page.status_code == 200
        body = page.content.decode()
        assert 'data-kind="STATUS"' in body
        assert book_with_differences["suspended"].number in body
    filtered = client.get(reverse("integrations:reconciliation"), {"run": run.pk, "kind": "UNKNOWN_HERE"})
    assert "OTRA-2026-000001" in filtered.content.decode()
    assert book_with_differences["suspended"].number not in filtered.content.decode()


def test_the_differences_download_as_csv(client, book_with_differences):
    run = reconciliation_run()
    client.force_login(UserFactory(role=Role.INTERVENTORIA))

    response = client.get(reverse("integrations:reconciliation_export"), {"run": run.pk})

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1 + run.differences.count()
    assert any(row[1] == book_with_differences["suspended"].number for row in rows)


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.FINANCE])
def test_other_roles_are_refused_the_reconciliation(client, db, role):
    ReconciliationRun.objects.create(destination="casse")
    client.force_login(UserFactory(role=role))

    assert client.get(reverse("integrations:reconciliation")).status_code == 403
    assert client.get(reverse("integrations:reconciliation_export")).status_code == 403
