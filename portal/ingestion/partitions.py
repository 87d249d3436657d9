"""On PostgreSQL the bordereau row tables are partitioned by (source, period): one partition per
bordereau. A first import of a source and period builds its rows in a table of its own, with no
index to maintain row by row, then adds the keys (each index built in one sorted pass) and
attaches that table as the partition, all in the import's final transaction. That costs a third
of inserting a million rows into a shared, indexed table. Later imports of the same source and
period update and insert into its partition as into any table.

The parent keeps the natural-key unique constraint (it includes the partition key, so PostgreSQL
enforces it in every partition); its primary key is (id, source, period), since a partitioned
table's primary key must include the partition key. Django still uses `id` alone: ids are unique
across partitions by construction (see `engine.ROW_ID`). Rows written by anything but the import
(the ORM, the admin) go to the default partition, which normally stays empty: attaching a
partition makes PostgreSQL scan it.
"""

from datetime import timedelta

from django.db import connection


def partition_name(model, source_id, period):
    return f"{model._meta.db_table}_s{int(source_id)}_{period:%Y%m%d}"


def _bounds(source_id, period):
    # Periods are first days of months; a one-day range holds exactly one, whatever the day.
    after = period + timedelta(days=1)
    return f"FROM ({int(source_id)}, '{period.isoformat()}') TO ({int(source_id)}, '{after.isoformat()}')"


def is_partitioned(model):
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [model._meta.db_table])
        return cursor.fetchone() is not None


def partition_exists(model, source_id, period):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition_name(model, source_id, period)])
        return cursor.fetchone()[0]


def default_partition_holds(model, source_id, period):
    """Whether rows of `source_id` and `period` were written outside the import (the ORM, the
    admin) and so went to the default partition."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {model._meta.db_table}_default WHERE source_id = %s AND period = %s LIMIT 1",
            [source_id, period],
        )
        return cursor.fetchone() is not None


def partition_statistics_refresh(model, source_id, period, *, written):
    """ANALYZE the bordereau's partition when an import wrote more of it than autovacuum waits for (50
    rows and a tenth of the table): the next import's upsert must not be planned on the statistics of
    a partition a tenth its size (a nested loop instead of a hash join), whether autovacuum has come
    by yet or is off. Returns whether it did."""
    name = partition_name(model, source_id, period)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [name])
        row = cursor.fetchone()
        # reltuples is -1 until the table is first analyzed.
        if row is None or written <= 50 + 0.1 * max(row[0], 0):
            return False
        cursor.execute(f"ANALYZE {name}")
    return True


def _columns(cursor, table):
    """`table`'s columns, and whether each is NOT NULL."""
    cursor.execute(
        "SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return dict(cursor.fetchall())


def partition_attach(model, table, source_id, period):
    """Make `table`, which holds the parent's columns (and others, of the import's own), the
    partition of `source_id` and `period`: drop the others, add the parent's NOT NULLs, checks and
    keys, and attach it. The check on source and period lets PostgreSQL attach without scanning."""
    parent = model._meta.db_table
    name = partition_name(model, source_id, period)
    with connection.cursor() as cursor:
        columns = _columns(cursor, parent)
        dropped_columns = [column for column in _columns(cursor, table) if column not in columns]
        not_null = [column for column, required in columns.items() if required]
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = to_regclass(%s) AND contype IN ('c', 'p', 'u') ORDER BY contype, conname",
            [parent],
        )
        constraints = cursor.fetchall()
        changes = [f"DROP COLUMN {column}" for column in dropped_columns]
        changes += [f"ALTER COLUMN {column} SET NOT NULL" for column in not_null]
        changes.append(
            f"ADD CONSTRAINT {name}_bounds CHECK (source_id = {int(source_id)} AND period = '{period.isoformat()}')"
        )
        # Checks must carry the parent's names; keys get names of their own (they are indexes).
        changes += [
            f"ADD CONSTRAINT {conname if kind == 'c' else f'{name}_{kind}key'} {definition}"
            for conname, kind, definition in constraints
        ]
        cursor.execute(f"ALTER TABLE {table} {', '.join(changes)}")
        cursor.execute(f"ALTER TABLE {table} RENAME TO {name}")
        cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {name} FOR VALUES {_bounds(source_id, period)}")
