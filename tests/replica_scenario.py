"""Run by tests/test_replica_router.py in a process of its own whose DATABASE_URL is a primary and whose
DATABASE_REPLICA_URLS is a real streaming replica of it (tests/replica_cluster.py). Prints one JSON
line with what it saw; the test asserts on it.

    python -m tests.replica_scenario PRIMARY_URL REPLICA_URL
"""

import json
import sys
import time

import django


def queries_on(alias, run):
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connections[alias]) as captured:
        result = run()
    return result, len(captured)


def main():
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from api.tokens import token_pair_for
    from portal.accounts.models import Role
    from tests.factories import CustomerFactory, UserFactory, file_claim
    from tests.replica_cluster import PrimaryWithReplica

    call_command("migrate", verbosity=0, interactive=False)
    cluster = PrimaryWithReplica.__new__(PrimaryWithReplica)
    cluster.primary_port = int(sys.argv[1].rsplit(":", 1)[1].split("/")[0])
    cluster.replica_port = int(sys.argv[2].rsplit(":", 1)[1].split("/")[0])

    writer = UserFactory(role=Role.ADMIN)
    reader = UserFactory(role=Role.ADMIN)
    CustomerFactory(full_name="Cliente Replicado Uno")
    cluster.wait_for_replay()
    seen = {}

    writer_client, reader_client = Client(), Client()
    writer_client.force_login(writer)
    reader_client.force_login(reader)
    # The staff API's claims queue, for two administrators signed in with tokens (no session).
    claim = file_claim()
    api_writer = Client(headers={"Authorization": f"Bearer {token_pair_for(UserFactory(role=Role.ADMIN))['access']}"})
    api_reader = Client(headers={"Authorization": f"Bearer {token_pair_for(reader)['access']}"})
    cluster.wait_for_replay()

    def api_claim_status(api_client):
        response = api_client.get("/api/v1/staff/claims/")
        return {row["id"]: row["status"] for row in response.json()["results"]}.get(claim.pk)

    status, on_replica = queries_on("replica_1", lambda: api_claim_status(api_reader))
    seen["api_list_queries_on_replica"] = on_replica
    seen["api_list_status_before"] = status

    response, on_replica = queries_on("replica_1", lambda: reader_client.get("/customers/"))
    seen["list_status"] = response.status_code
    seen["list_queries_on_replica"] = on_replica
    seen["list_shows_replicated_row"] = "Cliente Replicado Uno" in response.content.decode()
    _, detail_on_replica = queries_on("replica_1", lambda: reader_client.get("/healthz"))
    seen["other_page_queries_on_replica"] = detail_on_replica

    # Stop the replica's replay: from here it is behind the primary.
    with connections["replica_1"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")

    # The writer changes something through a page (its language) and a customer is written meanwhile.
    seen["write_status"] = writer_client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code
    CustomerFactory(full_name="Cliente Recien Escrito")

    response, on_replica = queries_on("replica_1", lambda: writer_client.get("/customers/"))
    seen["writer_after_write_queries_on_replica"] = on_replica
    seen["writer_sees_fresh_row"] = "Cliente Recien Escrito" in response.content.decode()

    response, on_replica = queries_on("replica_1", lambda: reader_client.get("/customers/"))
    seen["reader_queries_on_replica"] = on_replica
    seen["reader_sees_fresh_row_while_replica_paused"] = "Cliente Recien Escrito" in response.content.decode()

    # A token user's write through the API, then their own list and another user's, the replica still paused.
    response = api_writer.post(
        "/api/v1/staff/claims/bulk-transition/",
        {"action": "start_review", "claims": [claim.pk]},
        content_type="application/json",
    )
    seen["api_write_status"] = response.status_code
    status, on_replica = queries_on("replica_1", lambda: api_claim_status(api_writer))
    seen["api_writer_after_write_queries_on_replica"] = on_replica
    seen["api_writer_sees_status"] = status
    status, on_replica = queries_on("replica_1", lambda: api_claim_status(api_reader))
    seen["api_reader_queries_on_replica"] = on_replica
    seen["api_reader_sees_status_while_replica_paused"] = status

    time.sleep(settings.AMPARO_REPLICA_STICKY_SECONDS + 0.5)
    _, on_replica = queries_on("replica_1", lambda: writer_client.get("/customers/"))
    seen["writer_back_on_replica_after_sticky_window"] = on_replica > 0

    with connections["replica_1"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    cluster.wait_for_replay()
    response = reader_client.get("/customers/")
    seen["reader_sees_fresh_row_after_replay"] = "Cliente Recien Escrito" in response.content.decode()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
