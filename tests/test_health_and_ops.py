"""Operations: the health check, correlation ids, structured logs without secrets, production settings, the queue."""

import io
import json
import logging
import os
import secrets
import shutil
import string
import subprocess
import sys
import uuid
from pathlib import Path

import huey
import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.module_loading import import_string

import portal.core.health as health
from portal.core.logging import REDACTED, RedactSecretsFilter
from portal.settings.base import huey_settings

from .helpers import UNREACHABLE_REDIS

ROOT = Path(__file__).resolve().parent.parent
# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_answers_200_when_database_and_queue_are_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "queue": "ok"}


def test_healthz_needs_no_sign_in_and_is_never_cached(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_queue_is_down(client, db, queue_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "queue": "down"}


def test_healthz_answers_503_when_the_database_is_down(client, db, database_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "queue": "ok"}


def test_healthz_reports_both_when_both_are_down(client, db, database_down, queue_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == response.json()["queue"] == "down"


def test_queue_check_accepts_an_explicit_huey(db):
    assert health.queue_is_up(huey.RedisHuey("amparo-test-down", url=UNREACHABLE_REDIS)) is False
    assert health.queue_is_up(huey.MemoryHuey("amparo-test-up")) is True


def test_healthz_only_answers_get(client, db):
    assert client.post("/healthz").status_code == 405


def test_healthz_is_reachable_by_a_signed_in_user_who_has_not_passed_2fa(client, agent, settings):
    settings.AMPARO_REQUIRE_2FA = True
    client.force_login(agent)
    assert client.get("/healthz").status_code == 200


# --- correlation id -----------------------------------------------------------------------------


def test_a_valid_request_id_is_echoed_back(client, db):
    request_id = str(uuid.uuid4())
    response = client.get("/healthz", headers={"X-Request-ID": request_id})
    assert response["X-Request-ID"] == request_id
    assert "X-Request-ID" in response["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("sent", ["not-a-uuid", "'; DROP TABLE audit_auditevent; --", "x" * 300])
def test_an_invalid_request_id_is_replaced_by_a_generated_one(client, db, sent):
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    returned = response["X-Request-ID"]
    assert returned != sent
    uuid.UUID(returned)  # a real UUID


def test_a_request_without_an_id_gets_a_generated_one(client, db):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    uuid.UUID(first)
    assert first != second


# --- structured logs ----------------------------------------------------------------------------


def handler_like_settings(stream):
    """A handler built from settings.LOGGING's console handler, writing to `stream`."""
    config = settings.LOGGING
    handler = logging.StreamHandler(stream)
    formatter_config = dict(config["formatters"][config["handlers"]["console"]["formatter"]])
    formatter_factory = import_string(formatter_config.pop("()"))
    if "format" in formatter_config:  # logging.config does this rename for custom formatters
        formatter_config["fmt"] = formatter_config.pop("format")
    handler.setFormatter(formatter_factory(**formatter_config))
    for name in config["handlers"]["console"]["filters"]:
        filter_config = dict(config["filters"][name])
        handler.addFilter(import_string(filter_config.pop("()"))(**filter_config))
    return handler


@pytest.fixture
def json_log():
    """Collect what settings.LOGGING would print, as parsed JSON lines."""
    stream = io.StringIO()
    handler = handler_like_settings(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.INFO)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_log_lines_are_json_with_level_logger_message_and_correlation_id(client, db, queue_down, json_log):
    request_id = str(uuid.uuid4())
    client.get("/healthz", headers={"X-Request-ID": request_id})

    records = [line for line in json_log() if line.get("logger") == "portal.core.health"]
    assert records, "the failed queue check should have been logged"
    record = records[0]
    assert record["level"] == "ERROR"
    assert record["message"] == "health check: task queue unreachable"
    assert record["correlation_id"] == request_id
    assert "time" in record


def test_log_line_outside_a_request_has_an_empty_correlation_id(json_log):
    logging.getLogger("amparo.test").warning("nightly job started")
    record = next(line for line in json_log() if line["message"] == "nightly job started")
    assert record["correlation_id"] in (None, "")


def test_json_log_line_redacts_secrets(json_log):
    logging.getLogger("amparo.test").warning("retrying with api_key=sk_live_abc123 and token: tok-999")
    message = next(line["message"] for line in json_log() if line["message"].startswith("retrying"))
    assert "sk_live_abc123" not in message
    assert "tok-999" not in message
    assert message == f"retrying with api_key={REDACTED} and token: {REDACTED}"


def make_record(msg, args=(), **extra):
    record = logging.LogRecord("amparo.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def redact(record):
    assert RedactSecretsFilter().filter(record) is True  # never drops a line
    return record


@pytest.mark.parametrize(
    "text",
    [
        "password=hunter2",
        'password": "hunter2"',
        "passwd: hunter2",
        "Authorization: hunter2",
        "secret=hunter2&next=/",
        "otp=hunter2",
    ],
)
def test_redaction_blanks_secret_values_written_into_the_message(text):
    record = redact(make_record(f"request failed {text}"))
    assert "hunter2" not in record.getMessage()
    assert REDACTED in record.getMessage()


def test_redaction_keeps_ordinary_text():
    record = redact(make_record("user %s signed in from %s", ("ana@amparo.test", "203.0.113.7")))
    assert record.getMessage() == "user ana@amparo.test signed in from 203.0.113.7"


def test_redaction_blanks_secret_values_passed_as_arguments():
    record = redact(make_record("upstream said %s", ("token=abc.def.ghi",)))
    assert "abc.def.ghi" not in record.getMessage()


def test_redaction_blanks_secret_keys_of_mapping_arguments():
    record = redact(make_record("login %(email)s with %(password)s", ({"email": "a@b.co", "password": "hunter2"},)))
    assert record.getMessage() == f"login a@b.co with {REDACTED}"


def test_redaction_blanks_secret_extra_fields():
    record = redact(make_record("calling gateway", client_secret="s3cr3t", api_key="k3y", amount=1000))
    assert record.client_secret == REDACTED
    assert record.api_key == REDACTED
    assert record.amount == 1000


def test_redaction_of_a_secret_followed_by_a_placeholder_still_produces_a_line(json_log, capsys):
    # The common way to log: the value comes as an argument after "password=%s". Redacting the
    # placeholder away must not break formatting, which would lose the line and make logging
    # print the raw arguments -- the secret -- to stderr.
    logging.getLogger("amparo.test").warning("sign-in rejected password=%s for %s", "hunter2", "ana@amparo.test")

    lines = [line["message"] for line in json_log() if line["message"].startswith("sign-in rejected")]
    assert lines == [f"sign-in rejected password={REDACTED} for ana@amparo.test"]
    captured = capsys.readouterr()
    assert "hunter2" not in captured.err
    assert "hunter2" not in captured.out


# --- production settings ------------------------------------------------------------------------


def production_env(**overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "AMPARO_", "HUEY_", "REDIS_", "CACHE_", "EMAIL_"))
    }
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(60)),
            "DATABASE_URL": "postgresql://amparo:change-me@db.example.invalid:5432/amparo",
            "DJANGO_ALLOWED_HOSTS": "amparo.example.com",
            "HUEY_URL": "redis://queue.example.invalid:6379/0",
            "REDIS_URL": "redis://cache.example.invalid:6379/1",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_with_production_settings_reports_no_warnings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short-and-guessable"}, "DJANGO_SECRET_KEY"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DJANGO_ALLOWED_HOSTS": None}, "DJANGO_ALLOWED_HOSTS"),
        ({"HUEY_URL": None}, "HUEY_URL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "EMAIL_BACKEND"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, "EMAIL_BACKEND"),
    ],
)
def test_production_settings_refuse_to_load_without_the_essentials(missing, message):
    result = run_manage("check", env=production_env(**missing))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_settings_turn_2fa_on_and_harden_cookies():
    code = (
        "from django.conf import settings as s;"
        "print(s.AMPARO_REQUIRE_2FA, s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.EMAIL_BACKEND)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True", "True", "django.core.mail.backends.smtp.EmailBackend"]


def test_a_malformed_boolean_setting_is_refused_with_its_name():
    result = run_manage("check", env=production_env(AMPARO_REQUIRE_2FA="maybe"))
    assert result.returncode != 0
    assert "AMPARO_REQUIRE_2FA must be a boolean" in result.stderr


def procfile_processes():
    return dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip() and ":" in line
    )


def test_procfile_declares_web_workers_one_scheduler_and_release():
    processes = procfile_processes()
    assert "gunicorn portal.wsgi" in processes["web"]
    assert processes["worker"].strip().endswith("run_huey --no-periodic")
    assert processes["scheduler"].strip().endswith("run_huey")
    assert "migrate" in processes["release"]


def test_procfile_runs_every_process_on_production_settings():
    for name, command in procfile_processes().items():
        assert "DJANGO_SETTINGS_MODULE=portal.settings.production" in command, name


def test_gunicorn_believes_forwarded_headers_only_from_configured_addresses():
    web = procfile_processes()["web"]
    assert "--forwarded-allow-ips '*'" not in web
    assert "${FORWARDED_ALLOW_IPS" in web


def test_manage_py_refuses_to_fall_back_to_development_settings_for_a_named_database():
    env = production_env(DJANGO_SETTINGS_MODULE=None)
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SETTINGS_MODULE" in result.stderr


def test_a_fresh_clone_runs_manage_py_check_without_a_var_folder(tmp_path):
    # `make run` and `make test` create var/; a bare `manage.py check` or `migrate` must not need them.
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in tracked)):
        source = ROOT / name
        if source.is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "AMPARO_", "HUEY_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


# --- the queue ----------------------------------------------------------------------------------


def test_huey_settings_picks_sqlite_huey_for_a_sqlite_url(tmp_path):
    config = huey_settings(f"sqlite:///{tmp_path}/queue.sqlite3", name="q")
    assert config["huey_class"] == "huey.SqliteHuey"
    assert config["filename"] == f"{tmp_path}/queue.sqlite3"
    assert config["immediate"] is False


@pytest.mark.parametrize("url", ["redis://cache.internal:6379/2", "rediss://user:pw@cache.internal:6380/0"])
def test_huey_settings_picks_redis_huey_for_a_redis_url(url):
    config = huey_settings(url, name="q")
    assert config["huey_class"] == "huey.RedisHuey"
    assert config["url"] == url


@pytest.mark.parametrize("url", ["postgres://u:p@db/amparo", "postgresql://u:p@db/amparo"])
def test_huey_settings_picks_sql_huey_for_a_postgres_url(url):
    config = huey_settings(url, name="q")
    assert config["huey_class"] == "huey.contrib.sql_huey.SqlHuey"
    assert config["database"] == "postgresql://u:p@db/amparo"


@pytest.mark.parametrize("url", ["mysql://u:p@db/amparo", "amqp://broker", "", "/var/huey.db"])
def test_huey_settings_rejects_an_unknown_scheme(url):
    with pytest.raises(ImproperlyConfigured, match="HUEY_URL"):
        huey_settings(url, name="q")


@pytest.mark.parametrize("url", ["sqlite:///tmp/q.db", "redis://localhost:6379/0", "postgresql://u:p@db/amparo"])
def test_every_huey_class_huey_settings_names_can_be_imported(url):
    assert import_string(huey_settings(url, name="q")["huey_class"])


def test_huey_settings_passes_immediate_mode_and_workers_through():
    config = huey_settings("redis://localhost:6379/0", name="q", immediate=True, workers=7)
    assert config["immediate"] is True
    assert config["consumer"]["workers"] == 7


def test_tests_run_the_queue_in_immediate_mode():
    from huey.contrib.djhuey import HUEY

    assert HUEY.immediate is True


def test_sqlite_huey_from_huey_settings_really_queues_work(tmp_path):
    config = huey_settings(f"sqlite:///{tmp_path}/queue.sqlite3", name="q")
    queue = huey.SqliteHuey(config["name"], filename=config["filename"])

    @queue.task()
    def add(a, b):
        return a + b

    add(1, 2)
    assert queue.pending_count() == 1


def test_email_task_delivers_the_message_in_immediate_mode(db):
    from portal.notifications.tasks import email_message_send

    email_message_send(
        to=["ana@amparo.test"], subject="Su recibo de pago", body="Gracias por su pago.", html="<p>Gracias</p>"
    )

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@amparo.test"]
    assert message.subject == "Su recibo de pago"
    assert message.body == "Gracias por su pago."
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.alternatives[0][0] == "<p>Gracias</p>"
    assert message.alternatives[0][1] == "text/html"


def test_email_task_without_html_sends_plain_text_only(db):
    from portal.notifications.tasks import email_message_send

    email_message_send(to=["ana@amparo.test"], subject="Aviso", body="Texto")
    assert mail.outbox[0].alternatives == []
