"""A PostgreSQL primary and a real streaming replica of it, made on this machine for the tests: `initdb`
on one free port, `pg_basebackup -R` from it into a second data folder, started on another port. Both
run as the `postgres` system user (PostgreSQL refuses root) and are removed at the end."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def replica_tools_available():
    return (BIN / "initdb").exists() and (BIN / "pg_basebackup").exists() and shutil.which("runuser") is not None


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(*command, check=True):
    return subprocess.run(["runuser", "-u", "postgres", "--", *map(str, command)], check=check, capture_output=True)


class PrimaryWithReplica:
    def __init__(self):
        # Not under pytest's tmp_path: its parents are private to root, and the clusters run as postgres.
        self.folder = Path(tempfile.mkdtemp(prefix="amparo-replica-"))
        self.primary_port = _free_port()
        self.replica_port = _free_port()

    def url(self, port, name="amparo"):
        return f"postgresql://postgres@127.0.0.1:{port}/{name}"

    @property
    def primary_url(self):
        return self.url(self.primary_port)

    @property
    def replica_url(self):
        return self.url(self.replica_port)

    def _start(self, data, port):
        _as_postgres(
            BIN / "pg_ctl", "-D", data, "-l", self.folder / f"{port}.log", "-w", "-t", "60",
            "-o", f"-p {port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )  # fmt: skip

    def start(self):
        shutil.chown(self.folder, "postgres", "postgres")
        primary, replica = self.folder / "primary", self.folder / "replica"
        _as_postgres(BIN / "initdb", "-D", primary, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(primary / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        self._start(primary, self.primary_port)
        _as_postgres(BIN / "createdb", "-h", "127.0.0.1", "-p", self.primary_port, "-U", "postgres", "amparo")
        _as_postgres(
            BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", self.primary_port, "-U", "postgres",
            "-D", replica, "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        self._start(replica, self.replica_port)
        return self

    def stop(self):
        for data in ("replica", "primary"):
            if (self.folder / data / "postmaster.pid").exists():
                _as_postgres(BIN / "pg_ctl", "-D", self.folder / data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def wait_for_replay(self, timeout=30):
        import psycopg  # only the tests that start the clusters need it here

        with psycopg.connect(self.primary_url, autocommit=True) as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.replica_url, autocommit=True) as replica:
            while time.monotonic() < deadline:
                caught_up = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]
                if caught_up:
                    return
                time.sleep(0.1)
        raise TimeoutError("the replica did not catch up")


def environment(cluster, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PROMETHEUS_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": cluster.primary_url,
            "DATABASE_REPLICA_URLS": cluster.replica_url,
            **extra,
        }
    )
    return env
