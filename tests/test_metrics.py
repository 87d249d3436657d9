"""/metrics: Prometheus text for a scraper holding the token or calling from an allowed address; request,
database, cache and huey task metrics; business gauges; bounded series; gunicorn's multiprocess mode."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from huey.exceptions import TaskException
from prometheus_client.parser import text_string_to_metric_families

from portal.core.metrics import multiprocess_directory_prepare
from portal.gateways.models import WebhookEvent
from portal.reports.models import ReportRun
from portal.reports.services import report_run_request

from .factories import file_claim

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-for-tests-0123456789"
# Every page a signed-in admin can open, and a few hundred requests that miss, add at most this many series.
# Each view adds its own request series (latency buckets by method, responses by status), so the limit grows
# with the portal. 3,006 series with 10 latency buckets and the count by view, transport and method; 2,011
# with 7 buckets and without that count (a full test process held ~10,000 before, ~6,500 after).
SERIES_LIMIT = 2600
LATENCY_COUNT = "django_http_requests_latency_seconds_by_view_method_count"


@pytest.fixture
def scraper(client, settings):
    settings.AMPARO_METRICS_TOKEN = TOKEN

    def scrape():
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.content
        return response.content.decode()

    return scrape


def samples(text, name):
    """{labels as a sorted tuple: value} of the samples called `name`."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(text, name, **labels):
    return samples(text, name).get(tuple(sorted(labels.items())), 0)


def series_count(text):
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


# --- who may read it ----------------------------------------------------------------------------


def test_metrics_are_refused_to_anyone_without_token_or_allowed_address(client, db, settings):
    settings.AMPARO_METRICS_TOKEN = TOKEN
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"django_http" not in response.content


def test_metrics_are_refused_when_nothing_is_configured_even_to_a_signed_in_admin(client, admin_user, settings):
    settings.AMPARO_METRICS_TOKEN = ""
    settings.AMPARO_METRICS_ALLOWED_IPS = []
    client.force_login(admin_user)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


def test_a_wrong_bearer_token_is_answered_401_with_the_scheme(client, db, settings):
    settings.AMPARO_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_right_bearer_token_gets_prometheus_text(client, db, settings):
    settings.AMPARO_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("allowed", [["10.1.2.3"], ["10.0.0.0/8"], ["192.0.2.1", "10.1.0.0/16"]])
def test_an_allowed_address_needs_no_token(client, db, settings, allowed):
    settings.AMPARO_METRICS_ALLOWED_IPS = allowed
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_an_address_outside_the_allowlist_is_refused(client, db, settings):
    settings.AMPARO_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_a_forwarded_address_is_believed_only_from_the_trusted_proxies(client, db, settings):
    settings.AMPARO_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.AMPARO_TRUSTED_PROXY_COUNT = 0
    forged = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    assert client.get("/metrics", **forged).status_code == 403
    settings.AMPARO_TRUSTED_PROXY_COUNT = 1
    behind_balancer = {"REMOTE_ADDR": "192.0.2.10", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}
    assert client.get("/metrics", **behind_balancer).status_code == 200


def test_metrics_answer_only_get(client, db, settings):
    settings.AMPARO_METRICS_TOKEN = TOKEN
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_a_malformed_allowlist_refuses_to_start():
    env = {**os.environ, "AMPARO_METRICS_ALLOWED_IPS": "10.0.0.0/8,intranet"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "AMPARO_METRICS_ALLOWED_IPS: 'intranet' is not an address or network" in result.stderr


# --- what it counts -----------------------------------------------------------------------------


def test_requests_are_counted_and_timed_by_view_name(client, db, scraper):
    before = value(scraper(), LATENCY_COUNT, view="healthz", method="GET")
    client.get("/healthz")
    client.get("/healthz")
    after = value(scraper(), LATENCY_COUNT, view="healthz", method="GET")
    assert after - before == 2


def test_an_invented_method_is_labelled_invalid_and_adds_no_series_of_its_own(client, db, scraper):
    client.generic("BREW", "/healthz")
    client.generic("BREW", "/healthz")
    text = scraper()
    methods = {dict(labels).get("method") for labels in samples(text, LATENCY_COUNT)}
    assert "BREW" not in methods and "<invalid method>" in methods
    assert value(text, LATENCY_COUNT, view="healthz", method="<invalid method>") == 2


def test_requests_are_not_counted_twice_by_view(client, db, scraper):
    client.get("/healthz")
    text = scraper()
    assert value(text, LATENCY_COUNT, view="healthz", method="GET") >= 1
    assert not samples(text, "django_http_requests_total_by_view_transport_method_total")


def test_database_queries_are_timed_by_connection(db, scraper):
    text = scraper()
    assert value(text, "django_db_query_duration_seconds_count", alias="default", vendor=connection.vendor) > 0


def test_cache_reads_are_timed_and_counted_as_hits_and_misses(db, scraper):
    from django.core.cache import cache

    backend = "redis" if "Redis" in type(cache).__name__ else "locmem"
    before = scraper()
    cache.set("metrics-test", 1)
    cache.get("metrics-test")
    cache.get("metrics-test-absent")
    after = scraper()
    for result in ("hit", "miss"):
        gained = value(after, "amparo_cache_gets_total", backend=backend, result=result) - value(
            before, "amparo_cache_gets_total", backend=backend, result=result
        )
        assert gained >= 1, result
    assert value(after, "amparo_cache_operation_seconds_count", backend=backend, operation="set") > 0


def test_cache_get_gives_the_default_for_a_missing_key_and_the_stored_falsy_value(db):
    from django.core.cache import cache

    cache.set("metrics-zero", 0)
    assert cache.get("metrics-zero", "default") == 0
    assert cache.get("metrics-nothing", "default") == "default"


@HUEY.task()
def metrics_probe_task(fail=False):
    if fail:
        raise ValueError("the probe was asked to fail")
    return "done"


def test_huey_tasks_are_counted_by_name_and_outcome_and_timed(db, scraper):
    name = "tests.test_metrics.metrics_probe_task"
    before = scraper()
    metrics_probe_task()
    metrics_probe_task()
    with pytest.raises(TaskException, match="the probe was asked to fail"):
        metrics_probe_task(fail=True)()
    after = scraper()

    def gained(metric, **labels):
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert gained("amparo_task_runs_total", task=name, outcome="complete") == 2
    assert gained("amparo_task_runs_total", task=name, outcome="error") == 1
    assert gained("amparo_task_enqueued_total", task=name) == 3
    assert gained("amparo_task_duration_seconds_count", task=name) == 3


def test_business_gauges_show_claims_by_status_and_the_oldest_waiting_webhook(db, scraper):
    file_claim()
    file_claim()
    WebhookEvent.objects.create(
        provider=WebhookEvent.Provider.WOMPI,
        event_id="evt-waiting",
        payload="{}",
        received_at=timezone.now() - timedelta(minutes=7),
    )
    text = scraper()
    assert value(text, "amparo_claims", status="pending") == 2
    assert value(text, "amparo_claims", status="paid") == 0
    assert value(text, "amparo_webhook_events_waiting") == 1
    assert 7 * 60 <= value(text, "amparo_webhook_event_oldest_waiting_seconds") < 8 * 60
    assert value(text, "amparo_outbox_messages", state="dead") == 0
    assert value(text, "amparo_import_jobs", status="running") == 0
    assert value(text, "amparo_backup_last_success_timestamp_seconds") == 0


def test_report_runs_are_counted_by_status_one_series_each(db, scraper, finance_user):
    year = {"from": "2026-01-01", "to": "2026-12-31"}
    runs = [
        report_run_request(report_name="collections", fmt="csv", parameters=year, actor=finance_user) for _ in range(4)
    ]
    ReportRun.objects.filter(pk=runs[0].pk).update(status=ReportRun.Status.RUNNING)
    ReportRun.objects.filter(pk__in=[runs[1].pk, runs[2].pk]).update(status=ReportRun.Status.FAILED)
    text = scraper()
    assert value(text, "amparo_report_runs", status="queued") == 1
    assert value(text, "amparo_report_runs", status="running") == 1
    assert value(text, "amparo_report_runs", status="failed") == 2
    assert value(text, "amparo_report_runs", status="succeeded") == 0
    assert len(samples(text, "amparo_report_runs")) == len(ReportRun.Status)


def test_with_nothing_waiting_the_oldest_webhook_age_is_zero(db, scraper):
    assert value(scraper(), "amparo_webhook_event_oldest_waiting_seconds") == 0


# --- bounded cardinality --------------------------------------------------------------------------


def page_paths(patterns, prefix=""):
    """The paths of every URL pattern that takes no argument."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if re.search(r"[<(^$\\]", route):
            continue
        if isinstance(pattern, URLResolver):
            yield from page_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield "/" + route


def biggest_families(text, most=8):
    names = Counter(line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#"))
    return names.most_common(most)


def test_metrics_series_stay_bounded_after_every_page_and_many_misses(client, admin_user, scraper):
    client.force_login(admin_user)
    client.raise_request_exception = False
    # The registry lives as long as the test process: what earlier tests served is already counted.
    before = series_count(scraper())
    paths = sorted(set(page_paths(get_resolver().url_patterns)))
    assert len(paths) > 30
    for path in paths:
        client.get(path)
    after_every_page = series_count(scraper())
    for number in range(100):
        client.get(f"/claims/{900000 + number}/")
        client.get(f"/no-such-page-{number}/")
        client.get(f"/api/v1/no-such-endpoint-{number}")

    text = scraper()
    assert series_count(text) - before <= SERIES_LIMIT, biggest_families(text)
    # The misses add at most the "not found" series of the views they reached, once each.
    assert series_count(text) - after_every_page < 40
    # The missed paths and ids appear in no label (a sample's value may hold any digits).
    labels = {
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    }
    assert not [label for label in labels if "no-such-page" in label or "900000" in label]


# --- gunicorn, several processes --------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_preparing_the_multiprocess_directory_wipes_files_of_processes_that_are_gone(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone_pid = int(finished.stdout)
    (tmp_path / f"counter_{gone_pid}.db").write_bytes(b"old")
    (tmp_path / f"gauge_livesum_{gone_pid}.db").write_bytes(b"old")
    (tmp_path / f"counter_{os.getpid()}.db").write_bytes(b"mine")

    assert multiprocess_directory_prepare(tmp_path) == 2
    assert [path.name for path in tmp_path.iterdir()] == [f"counter_{os.getpid()}.db"]


def test_preparing_makes_a_missing_directory(tmp_path):
    multiprocess_directory_prepare(tmp_path / "metrics")
    assert (tmp_path / "metrics").is_dir()


@pytest.mark.postgres
def test_gunicorn_workers_add_up_in_one_metrics_page_and_a_killed_worker_keeps_its_counts(db, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by a previous run")
    port = free_port()
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "DATABASE_URL": f"postgresql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "AMPARO_METRICS_TOKEN": TOKEN,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:portal.gunicorn_conf",
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                requests.get(f"{base}/healthz", timeout=10)
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert not (metrics_dir / "counter_999999.db").exists(), "a previous run's counts were wiped at start"
        served_by = set()
        for _ in range(40):
            with requests.Session() as fresh:
                fresh.get(f"{base}/healthz", timeout=5)
        for path in metrics_dir.glob("counter_*.db"):
            served_by.add(int(path.stem.split("_")[-1]))

        def healthz_count():
            text = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).text
            return value(text, LATENCY_COUNT, view="healthz", method="GET")

        assert healthz_count() >= 40
        assert len(served_by) == 2, "both workers answered and wrote their own files"

        os.kill(max(served_by), signal.SIGKILL)
        time.sleep(2)
        assert healthz_count() >= 40, "the killed worker's requests still count"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# --- the dashboard and the alert rules --------------------------------------------------------------

DOCS = ROOT / "docs" / "operations"
PROMQL_NAME = re.compile(r"\b((?:amparo|django)_[a-z0-9_]+)")


def test_the_dashboard_and_alert_rules_read_only_metrics_that_exist(client, admin_user, scraper):
    import json

    import yaml

    client.force_login(admin_user)
    client.get("/claims/")
    metrics_probe_task()
    metrics_served = {family.name for family in text_string_to_metric_families(scraper())}
    served_samples = {sample.name for family in text_string_to_metric_families(scraper()) for sample in family.samples}
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    named = {name for expression in expressions for name in PROMQL_NAME.findall(expression)}
    assert named
    assert named - metrics_served - served_samples == set()


def test_the_alert_rules_cover_what_an_operator_must_hear_about():
    import yaml

    rules = yaml.safe_load((DOCS / "prometheus-alerts.yml").read_text())
    text = " ".join(rule["expr"] for group in rules["groups"] for rule in group["rules"])
    assert "amparo_webhook_event_oldest_waiting_seconds > 300" in text
    assert 'amparo_outbox_messages{state="dead"}' in text
    assert 'amparo_import_jobs{status="failed"}' in text
    assert 'amparo_report_runs{status="failed"}' in text
    assert 'status=~"5.."' in text
    assert "amparo_backup_last_success_timestamp_seconds" in text
