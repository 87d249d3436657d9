"""What a backup records and a verified restore compares: row counts and content checksums of the key
tables, the ledger's sum per account, the audit trail's count and last id.

Checksums add up a hash of every row's text, so they need no ordering and constant memory; the session
reads in UTC so timestamps print the same on both sides. Table names come from our own models.
"""

from portal.audit.models import AuditEvent
from portal.claims.models import Claim, ClaimTransition
from portal.customers.models import Customer
from portal.payments.models import LedgerEntry, Payment
from portal.policies.models import Policy, PolicyVersion

KEY_MODELS = (Customer, Policy, PolicyVersion, Claim, ClaimTransition, Payment, LedgerEntry, AuditEvent)


def _one(cursor, sql, params=()):
    cursor.execute(sql, params)
    return cursor.fetchone()


def database_figures(cursor):
    """The figures of the database `cursor` reads, as plain JSON values (strings for big numbers)."""
    cursor.execute("SET TIME ZONE 'UTC'")
    tables = {}
    for model in KEY_MODELS:
        table = model._meta.db_table
        rows, checksum = _one(
            cursor,
            f"SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0) FROM \"{table}\" t",  # noqa: E501
        )
        tables[table] = {"rows": rows, "checksum": str(checksum)}
    ledger = LedgerEntry._meta
    cursor.execute(
        f'SELECT account_id, currency, sum(amount), count(*) FROM "{ledger.db_table}" GROUP BY account_id, currency '
        "ORDER BY account_id, currency"
    )
    ledger_sums = {f"{account}:{currency}": {"sum": str(total), "entries": n} for account, currency, total, n in cursor}
    audit_count, audit_last_id = _one(
        cursor, f'SELECT count(*), coalesce(max(id), 0) FROM "{AuditEvent._meta.db_table}"'
    )
    return {
        "tables": tables,
        "ledger_sums": ledger_sums,
        "audit": {"count": audit_count, "last_id": audit_last_id},
    }


def figures_differences(recorded, restored):
    """What differs between two `database_figures`, as sentences; empty when they match."""
    differences = []
    for table, figures in recorded["tables"].items():
        found = restored["tables"].get(table)
        if found != figures:
            differences.append(f"table {table}: backup {figures}, restored {found}")
    if recorded["ledger_sums"] != restored["ledger_sums"]:
        accounts = set(recorded["ledger_sums"]) | set(restored["ledger_sums"])
        for account in sorted(accounts):
            if recorded["ledger_sums"].get(account) != restored["ledger_sums"].get(account):
                differences.append(
                    f"ledger account {account}: backup {recorded['ledger_sums'].get(account)}, "
                    f"restored {restored['ledger_sums'].get(account)}"
                )
    if recorded["audit"] != restored["audit"]:
        differences.append(f"audit events: backup {recorded['audit']}, restored {restored['audit']}")
    return differences
