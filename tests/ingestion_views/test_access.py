"""Who may open which bordereau page and take which action: every page and action for every role, the
anonymous visitor and the customer account; a refused request changes nothing."""

import pytest
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.ingestion.models import ImportJob, MappingProfile, RiskRow, Source
from portal.ingestion.views import PROFILE_REASON, READ_REASON, UPLOAD_REASON

from ..factories import UserFactory
from ..helpers import HTMX, as_upload, file_with_errors, full_mapping, signed_in

STAFF_ONLY = "The portal is for Amparo staff. Customers use the Amparo mobile app."

# name, method, guard ("read", "upload", "manage" = read then change, "profile")
ENDPOINTS = [
    ("job list", "get", "read"),
    ("job list as an HTMX partial", "htmx", "read"),
    ("job page", "get", "read"),
    ("job progress poll", "progress", "read"),
    ("error report as CSV", "get", "read"),
    ("error report as XLSX", "get", "read"),
    ("original file", "get", "read"),
    ("risk rows", "get", "read"),
    ("claims rows", "get", "read"),
    ("rows export", "get", "read"),
    ("sources", "get", "read"),
    ("upload page", "get", "upload"),
    ("upload", "post", "upload"),
    ("mapping screen", "get", "upload"),
    ("mapping saved", "post", "upload"),
    ("cancel", "post", "manage"),
    ("retry", "post", "manage"),
    ("profile page", "get", "profile"),
    ("profile saved", "post", "profile"),
]

ALLOWED = {
    Role.ADMIN: {"read", "upload", "manage", "profile"},
    Role.FINANCE: {"read", "upload", "manage"},
    Role.INTERVENTORIA: {"read"},
    Role.SUPERVISOR: set(),
    Role.AGENT: set(),
}


@pytest.fixture
def world(imported, mapping_job):
    """One finished job with errors, one waiting for a mapping, and their source."""
    return {"job": imported, "mapping_job": mapping_job, "source": imported.source}


def endpoint_url(name, world):
    job, mapping_job, source = world["job"], world["mapping_job"], world["source"]
    return {
        "job list": reverse("ingestion:job_list"),
        "job list as an HTMX partial": reverse("ingestion:job_list"),
        "job page": reverse("ingestion:job_detail", args=[job.pk]),
        "job progress poll": reverse("ingestion:job_detail", args=[job.pk]),
        "error report as CSV": reverse("ingestion:job_errors_export", args=[job.pk, "csv"]),
        "error report as XLSX": reverse("ingestion:job_errors_export", args=[job.pk, "xlsx"]),
        "original file": reverse("ingestion:job_file", args=[job.pk]),
        "risk rows": reverse("ingestion:rows", args=["risk"]),
        "claims rows": reverse("ingestion:rows", args=["claims"]),
        "rows export": reverse("ingestion:rows", args=["risk"]) + "?export=csv",
        "sources": reverse("ingestion:source_list"),
        "upload page": reverse("ingestion:upload"),
        "upload": reverse("ingestion:upload"),
        "mapping screen": reverse("ingestion:job_mapping", args=[mapping_job.pk]),
        "mapping saved": reverse("ingestion:job_mapping", args=[mapping_job.pk]),
        "cancel": reverse("ingestion:job_cancel", args=[mapping_job.pk]),
        "retry": reverse("ingestion:job_retry", args=[job.pk]),
        "profile page": reverse("ingestion:profile_edit", args=[source.pk, "risk"]),
        "profile saved": reverse("ingestion:profile_edit", args=[source.pk, "risk"]),
    }[name]


def endpoint_post_data(name, world):
    if name == "upload":
        return {
            "new_source": "Intruder Re",
            "kind": "risk",
            "period": "2026-10",
            "file": as_upload(file_with_errors(), name="other.csv"),
        }
    if name == "mapping saved":
        return full_mapping(world["mapping_job"])
    if name == "profile saved":
        return {
            "settings-encoding": "utf-8",
            "settings-delimiter": ";",
            "settings-date_format": "auto",
            "settings-decimal_style": "comma",
        }
    return {}


def call(client, name, method, world):
    url = endpoint_url(name, world)
    if method == "post":
        return client.post(url, endpoint_post_data(name, world))
    if method == "htmx":
        return client.get(url, headers=HTMX)
    if method == "progress":
        return client.get(url, {"was_active": "1"}, headers={**HTMX, "HX-Target": "job-progress"})
    return client.get(url)


def snapshot():
    """What a refused request must leave untouched."""
    return (
        list(ImportJob.objects.order_by("pk").values_list("pk", "status", "cancel_requested")),
        Source.objects.count(),
        MappingProfile.objects.count(),
        RiskRow.objects.count(),
        AuditEvent.objects.count(),
    )


def expected_reason(guard, role):
    if guard == "profile":
        return PROFILE_REASON
    if guard == "upload" or (guard == "manage" and "read" in ALLOWED[role]):
        return UPLOAD_REASON
    return READ_REASON


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_staff_role_opens_exactly_the_bordereau_pages_and_actions_it_is_allowed(
    client, world, role, django_capture_on_commit_callbacks
):
    signed_in(client, UserFactory(role=role))
    for name, method, guard in ENDPOINTS:
        before = snapshot()
        with django_capture_on_commit_callbacks(execute=True):
            response = call(client, name, method, world)
        if guard in ALLOWED[role]:
            assert response.status_code in {200, 302}, f"{role} {name}: {response.status_code}"
            if name == "retry":
                # a succeeded job cannot be retried: the answer says so, nothing changes
                assert snapshot() == before
        else:
            assert response.status_code == 403, f"{role} {name}: {response.status_code}"
            body = response.content.decode()
            assert str(expected_reason(guard, role)) in body, f"{role} {name}: reason missing"
            assert world["job"].original_name not in body
            assert snapshot() == before, f"{role} {name} changed something"


@pytest.mark.parametrize(("name", "method", "guard"), ENDPOINTS, ids=[endpoint[0] for endpoint in ENDPOINTS])
def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_bordereau_page_and_action(
    client, world, name, method, guard
):
    before = snapshot()
    response = call(client, name, method, world)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert snapshot() == before


def test_a_customer_account_is_refused_every_bordereau_page(client, world, client_user):
    signed_in(client, client_user)
    for name, method, _guard in ENDPOINTS:
        before = snapshot()
        response = call(client, name, method, world)
        assert response.status_code == 403, name
        assert STAFF_ONLY in response.content.decode()
        assert snapshot() == before


def test_interventoria_sees_the_job_page_without_the_cancel_or_retry_buttons(client, auditor, world):
    signed_in(client, auditor)
    for job in (world["job"], world["mapping_job"]):
        body = client.get(reverse("ingestion:job_detail", args=[job.pk])).content.decode()
        assert 'data-testid="cancel-job"' not in body
        assert 'data-testid="retry-job"' not in body
    body = client.get(reverse("ingestion:job_list")).content.decode()
    assert 'data-testid="upload-link"' not in body
    assert world["job"].original_name in body


def test_finance_sees_the_upload_link_and_the_cancel_button_of_an_import_waiting_for_its_mapping(
    client, finance_user, world
):
    signed_in(client, finance_user)
    assert 'data-testid="upload-link"' in client.get(reverse("ingestion:job_list")).content.decode()
    detail = client.get(reverse("ingestion:job_detail", args=[world["mapping_job"].pk])).content.decode()
    assert 'data-testid="cancel-job"' in detail


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.ADMIN, True),
        (Role.FINANCE, True),
        (Role.INTERVENTORIA, True),
        (Role.SUPERVISOR, False),
        (Role.AGENT, False),
    ],
)
def test_the_navigation_shows_bordereaux_to_admin_finance_and_interventoria_only(client, db, role, shown):
    signed_in(client, UserFactory(role=role))
    body = client.get(reverse("dashboard:dashboard")).content.decode()
    assert 'data-testid="main-nav"' in body
    assert ('data-nav="ingestion:job_list"' in body) is shown


def test_cancel_and_retry_answer_only_to_post(client, finance_user, world):
    signed_in(client, finance_user)
    for name in ("ingestion:job_cancel", "ingestion:job_retry"):
        response = client.get(reverse(name, args=[world["job"].pk]))
        assert response.status_code == 405
