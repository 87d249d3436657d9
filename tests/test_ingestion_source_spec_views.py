"""The portal page where an administrator adds or edits a web-service source's connection spec as YAML:
checked against the shipped JSON Schema with each error at its path, a write-only secret kept
encrypted, and a "Test connection" partial that fetches the token and the first page."""

import pytest
import yaml
from cryptography.fernet import Fernet
from django.urls import reverse

from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.ingestion.models import RiskRow
from portal.ingestion.sources.client import SourceClient, Stats
from portal.ingestion.sources.models import SourceBreaker, SourceConnection

from .cedant_server import CLIENT_SECRET, CedantServer, risk_record
from .factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def secret_keys(settings, tmp_path):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    settings.AMPARO_INGESTION_SECRET_KEYS = Fernet.generate_key().decode()
    from portal.ingestion.sources import client

    client._tokens.clear()


def signed_in(client, role):
    client.force_login(UserFactory(role=role))
    return client


def typed_secret_spec(server):
    """The test server's spec with the secret to be typed in the page instead of named in the environment."""
    spec = server.spec()
    spec["auth"] = {key: value for key, value in spec["auth"].items() if key != "client_secret_env"}
    return yaml.safe_dump(spec, sort_keys=False)


def test_an_administrator_adds_a_source_whose_secret_is_kept_encrypted_and_never_shown(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(1)]) as server:
        answer = client.post(
            reverse("ingestion:source_spec_new"),
            {"spec_text": typed_secret_spec(server), "secret": CLIENT_SECRET, "enabled": "on"},
        )
    connection = SourceConnection.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("ingestion:source_spec_edit", args=[connection.pk])
    assert connection.secret_encrypted and CLIENT_SECRET not in connection.secret_encrypted
    assert AuditEvent.objects.filter(action="ingestion.source_connection_saved").exists()
    page = client.get(answer.url).content.decode()
    assert "Seguros Andinos API" in page and 'data-testid="secret-kept"' in page
    assert CLIENT_SECRET not in page and connection.secret_encrypted not in page


def test_test_connection_shows_the_status_the_records_and_the_first_keys_but_not_the_secret(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(n) for n in range(1, 5)]) as server:
        answer = client.post(
            reverse("ingestion:source_spec_test_new"),
            {"spec_text": typed_secret_spec(server), "secret": CLIENT_SECRET},
            headers={"HX-Request": "true"},
        )
        assert server.token_requests
    body = answer.content.decode()
    assert answer.status_code == 200 and body.lstrip().startswith('<div id="probe"')
    assert 'data-testid="probe-status">200<' in body and 'data-testid="probe-records">3<' in body
    assert "<code>certificateRef</code>" in body and "Connected: 3 records on the first page" in body
    assert CLIENT_SECRET not in body
    assert not SourceConnection.objects.exists() and not RiskRow.objects.exists()


def test_a_wrong_secret_is_reported_by_the_test_and_nothing_is_kept(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(1)]) as server:
        body = client.post(
            reverse("ingestion:source_spec_test_new"),
            {"spec_text": typed_secret_spec(server), "secret": "not-the-secret"},
        ).content.decode()
    assert "refused our client credentials" in body and "not-the-secret" not in body
    assert not SourceConnection.objects.exists()


def test_bad_yaml_and_an_invalid_spec_give_their_errors_at_their_paths_and_change_nothing(client):
    client = signed_in(client, Role.ADMIN)
    broken = client.post(reverse("ingestion:source_spec_new"), {"spec_text": "name: [unclosed\n", "secret": "s3cr3t"})
    assert broken.status_code == 422 and "not valid YAML" in broken.content.decode()
    invalid = client.post(
        reverse("ingestion:source_spec_new"),
        {"spec_text": "name: X\nkind: life\nbase_url: 42\n", "secret": "s3cr3t"},
    )
    body = invalid.content.decode()
    assert invalid.status_code == 422 and 'data-testid="spec-errors"' in body
    assert "kind: &#x27;life&#x27; is not one of" in body and "base_url: 42 is not of type" in body
    assert "s3cr3t" not in body
    assert not SourceConnection.objects.exists()


def test_an_edit_that_renames_the_source_is_refused_and_the_spec_stays(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(1)]) as server:
        client.post(
            reverse("ingestion:source_spec_new"),
            {"spec_text": typed_secret_spec(server), "secret": CLIENT_SECRET, "enabled": "on"},
        )
        connection = SourceConnection.objects.get()
        renamed = typed_secret_spec(server).replace("Seguros Andinos API", "Otra Aseguradora")
        answer = client.post(reverse("ingestion:source_spec_edit", args=[connection.pk]), {"spec_text": renamed})
    assert answer.status_code == 422 and "a spec with another name is a new source" in answer.content.decode()
    assert SourceConnection.objects.get().spec == connection.spec


@pytest.mark.parametrize("role", [Role.FINANCE, Role.INTERVENTORIA, Role.SUPERVISOR, Role.AGENT])
def test_only_an_administrator_may_open_edit_or_test_a_spec(client, role):
    client = signed_in(client, role)
    assert client.get(reverse("ingestion:source_spec_new")).status_code == 403
    assert client.post(reverse("ingestion:source_spec_new"), {"spec_text": "name: X"}).status_code == 403
    assert client.post(reverse("ingestion:source_spec_test_new"), {"spec_text": "name: X"}).status_code == 403
    assert not SourceConnection.objects.exists()


def bearer_spec(server, token_env):
    spec = server.spec(auth={"type": "bearer", "token_env": token_env})
    return yaml.safe_dump(spec, sort_keys=False)


def test_the_portal_refuses_a_secret_read_from_a_variable_outside_the_sources_prefix(client, monkeypatch):
    client = signed_in(client, Role.ADMIN)
    monkeypatch.setenv("DJANGO_SECRET_KEY", "the-servers-own-key")
    with CedantServer([risk_record(1)], require_token=False) as attacker:
        tested = client.post(
            reverse("ingestion:source_spec_test_new"), {"spec_text": bearer_spec(attacker, "DJANGO_SECRET_KEY")}
        ).content.decode()
        saved = client.post(
            reverse("ingestion:source_spec_new"), {"spec_text": bearer_spec(attacker, "DJANGO_SECRET_KEY")}
        )
        assert not attacker.data_requests and not attacker.token_requests
    assert "auth.token_env: here only environment variables whose name starts with AMPARO_SOURCE_SECRET_" in tested
    assert "is not set" not in tested and "the-servers-own-key" not in tested
    assert saved.status_code == 422 and "AMPARO_SOURCE_SECRET_" in saved.content.decode()
    assert not SourceConnection.objects.exists()


def test_the_portal_reads_a_secret_from_a_variable_with_the_sources_prefix(client, monkeypatch):
    client = signed_in(client, Role.ADMIN)
    monkeypatch.setenv("AMPARO_SOURCE_SECRET_ANDINOS", CLIENT_SECRET)
    with CedantServer([risk_record(1)]) as server:
        spec = server.spec()
        spec["auth"]["client_secret_env"] = "AMPARO_SOURCE_SECRET_ANDINOS"
        body = client.post(
            reverse("ingestion:source_spec_test_new"), {"spec_text": yaml.safe_dump(spec, sort_keys=False)}
        ).content.decode()
    assert "Connected: 1 records on the first page" in body and CLIENT_SECRET not in body


def test_the_portal_refuses_a_variable_that_holds_another_sources_secret(client, monkeypatch):
    client = signed_in(client, Role.ADMIN)
    monkeypatch.setenv("AMPARO_SOURCE_SECRET_ANDINOS", CLIENT_SECRET)
    with CedantServer([risk_record(1)]) as server, CedantServer([risk_record(1)], require_token=False) as attacker:
        andinos = server.spec()
        andinos["auth"]["client_secret_env"] = "AMPARO_SOURCE_SECRET_ANDINOS"
        saved = client.post(reverse("ingestion:source_spec_new"), {"spec_text": yaml.safe_dump(andinos)})
        assert saved.status_code == 302
        borrowed = yaml.safe_load(bearer_spec(attacker, "AMPARO_SOURCE_SECRET_ANDINOS"))
        borrowed["name"] = "Otra Cedente API"
        tested = client.post(reverse("ingestion:source_spec_test_new"), {"spec_text": yaml.safe_dump(borrowed)})
        refused = client.post(reverse("ingestion:source_spec_new"), {"spec_text": yaml.safe_dump(borrowed)})
        assert not attacker.data_requests
        # The source that owns the variable may still be edited with it.
        connection = SourceConnection.objects.get()
        kept = client.post(
            reverse("ingestion:source_spec_edit", args=[connection.pk]),
            {"spec_text": yaml.safe_dump(andinos), "enabled": "on"},
        )
    message = "AMPARO_SOURCE_SECRET_ANDINOS holds the secret of Seguros Andinos API"
    assert message in tested.content.decode() and CLIENT_SECRET not in tested.content.decode()
    assert refused.status_code == 422 and message in refused.content.decode()
    assert kept.status_code == 302 and SourceConnection.objects.count() == 1


def test_a_kept_secret_is_not_sent_to_a_new_host_by_the_test_nor_kept_on_save_until_typed_again(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(1)]) as server, CedantServer([risk_record(1)]) as elsewhere:
        client.post(
            reverse("ingestion:source_spec_new"),
            {"spec_text": typed_secret_spec(server), "secret": CLIENT_SECRET, "enabled": "on"},
        )
        connection = SourceConnection.objects.get()
        edit = reverse("ingestion:source_spec_edit", args=[connection.pk])
        moved = typed_secret_spec(elsewhere)
        tested = client.post(reverse("ingestion:source_spec_test", args=[connection.pk]), {"spec_text": moved})
        refused = client.post(edit, {"spec_text": moved, "enabled": "on"})
        assert not elsewhere.token_requests and not elsewhere.data_requests
        retyped = client.post(edit, {"spec_text": moved, "secret": CLIENT_SECRET, "enabled": "on"})
    assert "type the secret again" in tested.content.decode()
    assert refused.status_code == 422 and "type the secret again" in refused.content.decode()
    assert retyped.status_code == 302
    assert SourceConnection.objects.get().spec["base_url"] == elsewhere.url


def test_the_new_source_page_refuses_the_name_of_an_existing_source_and_changes_nothing(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(1)]) as server, CedantServer([risk_record(1)]) as other:
        client.post(
            reverse("ingestion:source_spec_new"),
            {"spec_text": typed_secret_spec(server), "secret": CLIENT_SECRET, "enabled": "on"},
        )
        kept = SourceConnection.objects.get()
        answer = client.post(reverse("ingestion:source_spec_new"), {"spec_text": typed_secret_spec(other)})
    assert answer.status_code == 422 and "already exists; edit it from its own page" in answer.content.decode()
    connection = SourceConnection.objects.get()
    assert connection.spec == kept.spec and connection.secret_encrypted == kept.secret_encrypted


def test_test_connection_tries_once_without_the_circuit_breaker_and_says_what_the_source_answered(client):
    client = signed_in(client, Role.ADMIN)
    with CedantServer([risk_record(1)]) as server:
        server.faults = [("status", 503), ("status", 503), ("status", 503)]
        spec = server.spec(retry={"attempts": 6}, timeout={"connect": 30, "read": 120})
        spec["auth"].pop("client_secret_env")
        body = client.post(
            reverse("ingestion:source_spec_test_new"),
            {"spec_text": yaml.safe_dump(spec, sort_keys=False), "secret": CLIENT_SECRET},
        ).content.decode()
        assert len(server.data_requests) == 1
    assert "The source answered 503" in body
    assert not SourceBreaker.objects.exists()


def test_a_probe_client_waits_at_most_five_seconds_to_connect_and_fifteen_to_read():
    with CedantServer() as server:
        spec = server.spec(timeout={"connect": 30, "read": 120})
    probe = SourceClient(key="probe:new", spec=spec, secret=CLIENT_SECRET, stats=Stats(), probe=True)
    assert probe.timeout == (5, 15) and probe.attempts == 1 and probe.breaker is None


def test_the_django_admin_applies_the_same_refusals_as_the_spec_page(admin_client, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", "the-servers-own-key")
    add = "/admin/ingestion/sourceconnection/add/"
    with CedantServer([risk_record(1)]) as server, CedantServer([risk_record(1)]) as elsewhere:
        named = admin_client.post(add, {"spec_text": bearer_spec(server, "DJANGO_SECRET_KEY"), "enabled": "on"})
        assert named.status_code == 200 and "AMPARO_SOURCE_SECRET_" in named.content.decode()
        admin_client.post(add, {"spec_text": typed_secret_spec(server), "secret": CLIENT_SECRET, "enabled": "on"})
        connection = SourceConnection.objects.get()
        again = admin_client.post(add, {"spec_text": typed_secret_spec(server), "enabled": "on"})
        assert again.status_code == 200 and "already exists" in again.content.decode()
        moved = admin_client.post(
            f"/admin/ingestion/sourceconnection/{connection.pk}/change/",
            {"spec_text": typed_secret_spec(elsewhere), "enabled": "on"},
        )
        assert moved.status_code == 200 and "type the secret again" in moved.content.decode()
    assert SourceConnection.objects.get().spec == connection.spec
