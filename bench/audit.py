"""Audit log page vs Django admin's changelist on the same 1,000,000 audit events.

    python -m bench audit [--rows N] [--repeat N]

Both list the newest sign-in events (a typical filter) on their first page.
"""

import argparse
import time

from django.db import connection
from django.test import Client

from portal.accounts.models import Role
from portal.accounts.services import user_create
from portal.audit.models import AuditEvent

from .common import emit, ensure_database, time_requests

ACTIONS = ["auth.sign_in", "auth.sign_out", "auth.sign_in_failed", "user.role_changed", "auth.2fa_verified"]


def _user(email, role, id_number):
    from portal.accounts.models import User

    return User.objects.filter(email_primary=email).first() or user_create(
        actor=None, email_primary=email, full_name=email, id_type="CC", id_number=id_number, role=role, password=None
    )


def build_events(rows, actor):
    """Insert synthetic events set-based in PostgreSQL until the table holds `rows`."""
    have = AuditEvent.objects.count()
    if have >= rows:
        return 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (occurred_at, actor_id, actor_label, action, target_type, target_id,
                                          target_label, metadata, correlation_id, ip_address)
            SELECT now() - (n || ' seconds')::interval, %s, %s,
                   (%s::text[])[1 + n %% 5], 'accounts.user', (n %% 5000)::text, 'User ' || (n %% 5000),
                   jsonb_build_object('n', n), md5(n::text), '10.0.0.1'::inet
            FROM generate_series(%s, %s) AS n
            """,
            [actor.pk, actor.email_primary, ACTIONS, have + 1, rows],
        )
        cursor.execute("ANALYZE audit_auditevent")
    return round(time.perf_counter() - started, 1)


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m bench audit")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    ensure_database()
    auditor = _user("bench-auditor@amparo.bench", Role.INTERVENTORIA, "900000001")
    admin = _user("bench-admin@amparo.bench", Role.ADMIN, "900000002")
    build_seconds = build_events(args.rows, admin)

    ours_client, admin_client = Client(), Client()
    ours_client.force_login(auditor)
    admin_client.force_login(admin)
    ours = time_requests(ours_client, "/audit/?action=auth.sign_in", repeat=args.repeat)
    peer = time_requests(admin_client, "/admin/audit/auditevent/?action__exact=auth.sign_in", repeat=args.repeat)
    emit(
        {
            "benchmark": "audit_log_first_page",
            "rows": AuditEvent.objects.count(),
            "build_s": build_seconds,
            "p50_ms": ours["p50_ms"],
            "p95_ms": ours["p95_ms"],
            "queries": ours["queries"],
            "admin_p50_ms": peer["p50_ms"],
            "admin_p95_ms": peer["p95_ms"],
            "admin_queries": peer["queries"],
            "ratio": round(peer["p50_ms"] / ours["p50_ms"], 2),
        }
    )
