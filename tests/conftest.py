import os
import zipfile

import pytest
from django.utils import timezone

from portal.accounts.models import Role
from portal.claims.models import RejectionReason

from .factories import TEST_PASSWORD, CustomerFactory, ProductFactory, TeamFactory, UserFactory, issue_policy
from .helpers import TRICKY_TEXTS, UNREACHABLE_REDIS, People
from .s3_server import ACCESS_KEY, BUCKET, SECRET_KEY, LocalS3
from .wompi_server import running_wompi

NOT_RUN_ON_SQLITE = pytest.StashKey[int]()


def _on_postgres():
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def pytest_sessionstart(session):
    if os.environ.get("CI") and not _on_postgres():
        raise pytest.UsageError("CI runs the suite against PostgreSQL: set DATABASE_URL to a postgresql:// URL")


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` check PostgreSQL itself (triggers, row locks); on a SQLite run they
    are deselected and the run says so at the end. CI always runs on PostgreSQL, so there they run."""
    if _on_postgres():
        return
    deselected = [item for item in items if item.get_closest_marker("postgres")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]
        config.stash[NOT_RUN_ON_SQLITE] = len(deselected)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    count = config.stash.get(NOT_RUN_ON_SQLITE, 0)
    if count:
        terminalreporter.write_line(
            f"NOTE: {count} PostgreSQL tests were not run on SQLite; set DATABASE_URL=postgresql://... to run them",
            yellow=True,
            bold=True,
        )


@pytest.fixture(autouse=True)
def default_language():
    """A request in Spanish leaves Spanish active in the thread; the next test must not inherit it."""
    yield
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def empty_cache():
    """Rate-limit counters live in the cache; one test's sign-ins must not count against the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def make_user(db):
    def make(role=Role.AGENT, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def team(db):
    return TeamFactory()


@pytest.fixture
def supervisor(team):
    return team.supervisor


@pytest.fixture
def agent(team):
    return UserFactory(role=Role.AGENT, team=team)


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN)


@pytest.fixture
def auditor(db):
    return UserFactory(role=Role.INTERVENTORIA)


@pytest.fixture
def finance_user(db):
    return UserFactory(role=Role.FINANCE)


@pytest.fixture
def client_user(db):
    return UserFactory(role=Role.CLIENT)


@pytest.fixture
def outsider(db):
    """An agent on no team: nobody's teammate."""
    return UserFactory(role=Role.AGENT)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def customer(agent):
    return CustomerFactory(agent=agent, full_name="Lucía Restrepo", id_number="52123456")


@pytest.fixture
def product(db):
    return ProductFactory(name="Auto Total", code="AUTO")


@pytest.fixture
def policy(customer, product):
    return issue_policy(customer=customer, product=product)


@pytest.fixture
def admin(admin_user):
    return admin_user


@pytest.fixture
def require_2fa(settings):
    settings.AMPARO_REQUIRE_2FA = True


@pytest.fixture
def reason(db):
    """A rejection reason the migrations add."""
    return RejectionReason.objects.get(code="not-covered")


@pytest.fixture
def people(db):
    """Four different people for the four steps of a claim: filing, review, decision, payment."""
    return People(
        filer=UserFactory(role=Role.AGENT),
        reviewer=UserFactory(role=Role.AGENT),
        decider=UserFactory(role=Role.ADMIN),
        payer=UserFactory(role=Role.FINANCE),
    )


@pytest.fixture
def zip_bytes_expanded(monkeypatch):
    """The sizes of what is read out of any zip member during the test, decompressed."""
    expanded = []
    original_read = zipfile.ZipExtFile.read

    def counting_read(self, n=-1):
        data = original_read(self, n)
        expanded.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    return expanded


@pytest.fixture
def wompi(settings):
    """Wompi's sandbox played by a local server; settings point the adapter at it."""
    with running_wompi(settings) as server:
        yield server


@pytest.fixture
def private_root(settings, tmp_path):
    """Private files (bordereaux, claim documents) go under the test's own temporary folder."""
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    return settings.AMPARO_PRIVATE_ROOT


@pytest.fixture
def cedant_pull(settings, tmp_path, monkeypatch):
    """What a pull from the local cedant API (tests/cedant_server.py) needs: private files under tmp,
    quick retries, tokens renewed only when expired, an encryption key, the client secret in its
    variable, and no token cached by an earlier test."""
    from cryptography.fernet import Fernet

    from portal.ingestion.sources import client

    from .cedant_server import CLIENT_SECRET

    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    settings.AMPARO_INGESTION_RETRY_BASE_SECONDS = 0.01
    settings.AMPARO_INGESTION_RETRY_MAX_SECONDS = 5
    settings.AMPARO_INGESTION_TOKEN_LEEWAY_SECONDS = 0
    settings.AMPARO_INGESTION_SECRET_KEYS = Fernet.generate_key().decode()
    monkeypatch.setenv("ANDINOS_SECRET", CLIENT_SECRET)
    client._tokens.clear()


@pytest.fixture
def tricky_audit_events(admin_user):
    """One audit event per tricky text, the text as its actor label (the reports' writers' test data)."""
    from portal.audit.services import audit_record

    for number, label in enumerate(TRICKY_TEXTS):
        audit_record(actor=admin_user, action=f"test.{number}", actor_label=label)


@pytest.fixture
def source(db):
    """A cedant whose bordereaux are imported."""
    from portal.ingestion.services import source_create

    return source_create(actor=None, name="Andes MGA")


@pytest.fixture
def queue_down(monkeypatch):
    """The task queue's Redis does not answer."""
    import huey

    import portal.core.health as health

    monkeypatch.setattr(health, "HUEY", huey.RedisHuey("amparo-test-down", url=UNREACHABLE_REDIS))


@pytest.fixture
def database_down(db):
    """Every new cursor is refused as by a database that is down."""
    from django.db import OperationalError, connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    # Its own MonkeyPatch, undone before the test database is rolled back (which needs a cursor).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(connection, "cursor", refuse)
        yield


@pytest.fixture(scope="module")
def s3():
    """A local S3-compatible server (moto over HTTP) with one private bucket, for a test module."""
    server = LocalS3().start()
    server.bucket_create(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def on_s3(s3, settings):
    """Private files in the local S3 server's bucket, with signed URLs valid for two seconds."""
    settings.AMPARO_STORAGE_URL = s3.storage_url(BUCKET)
    settings.AMPARO_STORAGE_ACCESS_KEY = ACCESS_KEY
    settings.AMPARO_STORAGE_SECRET_KEY = SECRET_KEY
    settings.AMPARO_STORAGE_SIGNED_URL_SECONDS = 2
    return s3
