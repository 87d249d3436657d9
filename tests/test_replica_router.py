"""Read replicas: list pages read from a replica, everything else and every write from the primary; reads
inside a transaction and a user's reads for a few seconds after a write stay on the primary. Proved on
a real streaming replica made on this machine (pg_basebackup -R), with its replay paused to make it lag."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.decorators import api_view, permission_classes
from rest_framework.test import force_authenticate

from portal.claims.models import Claim
from portal.core import db_router
from portal.core.db_router import ReplicaRouter, ReplicaRoutingMiddleware, api_reads_from_replica, reads_from_replica

from .replica_cluster import PrimaryWithReplica, environment, replica_tools_available

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def with_replica(settings):
    settings.DATABASES = {**settings.DATABASES, "replica_1": dict(settings.DATABASES["default"])}
    settings.AMPARO_REPLICA_STICKY_SECONDS = 5


def serve(request, view):
    """Run `view` through the routing middleware as Django would; returns where its read went."""
    middleware = ReplicaRoutingMiddleware(lambda req: middleware.process_view(req, view, (), {}) or view(req))
    return middleware(request)


def routed_read(request):
    response = HttpResponse(ReplicaRouter().db_for_read(Claim))
    return response


def read_inside_transaction(request):
    with transaction.atomic():
        return HttpResponse(ReplicaRouter().db_for_read(Claim))


def read_after_write(request):
    ReplicaRouter().db_for_write(Claim)
    return HttpResponse(ReplicaRouter().db_for_read(Claim))


# The routing decisions need no database: a signed-in user is what the middleware reads. (Not the `db`
# fixture: it wraps each test in a transaction, and reads inside one stay on the primary by design.)
def signed_in(pk):
    return SimpleNamespace(pk=pk, is_authenticated=True)


@pytest.fixture
def get():
    def make(method="get", user=None):
        request = getattr(RequestFactory(), method)("/claims/")
        request.user = user or signed_in(1)
        return request

    return make


def test_a_list_page_reads_from_a_replica(with_replica, get):
    assert serve(get(), reads_from_replica(routed_read)).content == b"replica_1"


def test_a_page_that_did_not_opt_in_reads_from_the_primary(with_replica, get):
    assert serve(get(), routed_read).content == b"default"


def test_without_replicas_everything_reads_from_the_primary(get):
    assert serve(get(), reads_from_replica(routed_read)).content == b"default"


def test_reads_outside_a_request_read_from_the_primary(with_replica):
    assert ReplicaRouter().db_for_read(Claim) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_stay_on_the_primary(with_replica, get):
    assert serve(get(), reads_from_replica(read_inside_transaction)).content == b"default"


def test_a_request_that_wrote_reads_the_rest_from_the_primary(with_replica, get):
    assert serve(get(), reads_from_replica(read_after_write)).content == b"default"


def test_a_post_pins_the_user_to_the_primary_for_the_sticky_window(with_replica, get, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(db_router.time, "time", lambda: clock[0])
    serve(get("post"), lambda request: HttpResponse("saved"))
    assert serve(get(), reads_from_replica(routed_read)).content == b"default"
    clock[0] += 6
    assert serve(get(), reads_from_replica(routed_read)).content == b"replica_1"


def test_one_users_write_does_not_pin_another_user(with_replica, get):
    serve(get("post"), lambda request: HttpResponse("saved"))
    assert serve(get(user=signed_in(2)), reads_from_replica(routed_read)).content == b"replica_1"


@api_view(["GET", "POST"])
@permission_classes([])
@api_reads_from_replica
def api_routed_read(request):
    return HttpResponse(ReplicaRouter().db_for_read(Claim))


def api_request(method, user):
    """A request as the API receives it: the user is known only once DRF authenticates it (a token)."""
    request = getattr(RequestFactory(), method)("/api/v1/claims/")
    force_authenticate(request, user=user)
    return request


def test_an_api_list_reads_from_a_replica_once_drf_has_authenticated_the_caller(with_replica):
    assert serve(api_request("get", signed_in(7)), api_routed_read).content == b"replica_1"


def test_an_api_callers_write_pins_their_api_reads_to_the_primary(with_replica, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(db_router.time, "time", lambda: clock[0])
    assert serve(api_request("post", signed_in(7)), api_routed_read).content == b"default"
    assert serve(api_request("get", signed_in(7)), api_routed_read).content == b"default"
    assert serve(api_request("get", signed_in(8)), api_routed_read).content == b"replica_1"
    clock[0] += 6
    assert serve(api_request("get", signed_in(7)), api_routed_read).content == b"replica_1"


def test_an_api_view_without_the_decorator_reads_from_the_primary(with_replica):
    @api_view(["GET"])
    @permission_classes([])
    def plain(request):
        return HttpResponse(ReplicaRouter().db_for_read(Claim))

    assert serve(api_request("get", signed_in(7)), plain).content == b"default"


def test_writes_and_migrations_go_to_the_primary_only(with_replica):
    router = ReplicaRouter()
    assert router.db_for_write(Claim) == "default"
    assert router.allow_migrate("default", "claims") is True
    assert router.allow_migrate("replica_1", "claims") is False


@pytest.mark.postgres
# CI runs it always: there missing server binaries fail it instead.
@pytest.mark.skipif(
    not replica_tools_available() and not os.environ.get("CI"), reason="needs PostgreSQL's server binaries and runuser"
)
def test_on_a_real_streaming_replica_list_pages_read_there_and_a_writer_reads_its_own_write():
    cluster = PrimaryWithReplica().start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tests.replica_scenario", cluster.primary_url, cluster.replica_url],
            cwd=ROOT,
            env=environment(cluster, AMPARO_REPLICA_STICKY_SECONDS="2"),
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        cluster.stop()
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["list_status"] == 200
    assert seen["list_queries_on_replica"] > 0
    assert seen["list_shows_replicated_row"]
    assert seen["other_page_queries_on_replica"] == 0
    assert seen["write_status"] == 302
    assert seen["writer_after_write_queries_on_replica"] == 0
    assert seen["writer_sees_fresh_row"], "the writer reads its own write from the primary"
    assert seen["reader_queries_on_replica"] > 0
    assert not seen["reader_sees_fresh_row_while_replica_paused"], "the other user reads the lagging replica"
    assert seen["writer_back_on_replica_after_sticky_window"]
    # The API's lists likewise, for token users: the caller's own write is read back from the primary.
    assert seen["api_list_queries_on_replica"] > 0 and seen["api_list_status_before"] == "PENDING"
    assert seen["api_write_status"] == 200
    assert seen["api_writer_after_write_queries_on_replica"] == 0
    assert seen["api_writer_sees_status"] == "UNDER_REVIEW"
    assert seen["api_reader_queries_on_replica"] > 0
    assert seen["api_reader_sees_status_while_replica_paused"] == "PENDING"
    assert seen["reader_sees_fresh_row_after_replay"]
