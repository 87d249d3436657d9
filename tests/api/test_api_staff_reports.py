"""/api/v1/staff/reports/: finance integrations list the reports their role may run, request a run,
follow it and download its file with its checksum; the portal's roles, scopes and validation."""

import hashlib

import pytest

from api.tokens import token_pair_for
from portal.reports.models import ReportRun

from ..factories import issue_policy

pytestmark = pytest.mark.django_db
REPORTS = "/api/v1/staff/reports/"


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_pair_for(user)['access']}"}


def test_finance_lists_runs_follows_and_downloads_a_report(app_client, app_post, finance_user, agent):
    issue_policy(actor=agent, agent=agent)
    listed = app_client.get(REPORTS, **auth(finance_user))
    assert listed.status_code == 200
    names = [report["name"] for report in listed.json()]
    assert "premium_production" in names and "audit_extract" not in names
    created = app_post(
        f"{REPORTS}premium_production/runs/",
        {"format": "csv", "parameters": {"from": "2026-01-01"}},
        token=token_pair_for(finance_user)["access"],
    )
    assert created.status_code == 202, created.content
    run_id = created.json()["id"]
    run = app_client.get(f"{REPORTS}runs/{run_id}/", **auth(finance_user)).json()
    assert run["status"] == "SUCCEEDED" and run["download_url"]
    download = app_client.get(run["download_url"], **auth(finance_user))
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == run["sha256"] == download["X-Checksum-SHA256"]


def test_bad_parameters_are_400_with_the_parameter_named_and_nothing_is_recorded(app_post, finance_user):
    response = app_post(
        f"{REPORTS}premium_production/runs/",
        {"format": "csv", "parameters": {"from": "yesterday"}},
        token=token_pair_for(finance_user)["access"],
    )
    assert response.status_code == 400 and "from" in response.json()["errors"]
    assert not ReportRun.objects.exists()


def test_a_report_for_other_roles_is_403_and_an_unknown_one_404(app_post, agent):
    token = token_pair_for(agent)["access"]
    assert app_post(f"{REPORTS}payouts/runs/", {"format": "csv"}, token=token).status_code == 403
    assert app_post(f"{REPORTS}policies_by_colour/runs/", {"format": "csv"}, token=token).status_code == 404


def test_someone_elses_run_is_404(app_client, app_post, finance_user, agent):
    created = app_post(f"{REPORTS}collections/runs/", {"format": "csv"}, token=token_pair_for(finance_user)["access"])
    assert app_client.get(f"{REPORTS}runs/{created.json()['id']}/", **auth(agent)).status_code == 404


def test_a_customer_account_is_refused(app_client, client_user):
    assert app_client.get(REPORTS, **auth(client_user)).status_code == 403
