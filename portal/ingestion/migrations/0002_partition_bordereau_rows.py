"""On PostgreSQL, the risk and claims row tables become tables partitioned by (source, period)
(see portal/ingestion/partitions.py). Rows already there move into one partition per source
and period, and a default partition takes rows written outside the import. Django's model
state does not change: it still sees `id` as the primary key."""

from django.db import migrations

TABLES = ("ingestion_riskrow", "ingestion_claimrow")


def _constraints(cursor, table):
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('c', 'p', 'u') ORDER BY contype, conname",
        [table],
    )
    return cursor.fetchall()


def _rebuild(cursor, table, *, partitioned):
    """Replace `table` by a copy of itself with the same columns, identity, checks and keys, and its
    rows: partitioned by (source, period) with a partition per pair, or plain."""
    old = f"{table}_old"
    constraints = _constraints(cursor, table)
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    for name, _kind, _definition in constraints:
        cursor.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old")
    cursor.execute(f"ALTER SEQUENCE {table}_id_seq RENAME TO {old}_id_seq")
    partition_by = " PARTITION BY RANGE (source_id, period)" if partitioned else ""
    cursor.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY){partition_by}")
    for name, kind, definition in constraints:
        if kind == "p":
            definition = "PRIMARY KEY (id, source_id, period)" if partitioned else "PRIMARY KEY (id)"
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    if partitioned:
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        cursor.execute(f"SELECT DISTINCT source_id, period FROM {old}")
        for source_id, period in cursor.fetchall():
            cursor.execute(
                f"CREATE TABLE {table}_s{int(source_id)}_{period:%Y%m%d} PARTITION OF {table} "
                f"FOR VALUES FROM (%s, %s) TO (%s, %s::date + 1)",
                [source_id, period, source_id, period],
            )
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {old}), 0) + 1, false)"
    )
    cursor.execute(f"DROP TABLE {old} CASCADE")


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            _rebuild(cursor, table, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            _rebuild(cursor, table, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("ingestion", "0001_initial")]

    operations = [migrations.RunPython(partition, unpartition)]
