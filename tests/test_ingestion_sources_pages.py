"""The raw pages a pull keeps for replay: a page's row says it is kept only once its file is written;
a replay whose kept file has gone fails with a message naming the page; the fetching thread hands
back its database connection even when the pages' clean-up fails."""

import pytest
from cryptography.fernet import Fernet

from portal.ingestion.sources import pages as pages_module
from portal.ingestion.sources import sync as sync_module
from portal.ingestion.sources.models import SyncPage, SyncRun
from portal.ingestion.sources.pages import PageKeeper, page_storage
from portal.ingestion.sources.services import source_connection_load, sync_run_start
from portal.ingestion.sources.sync import sync_run_execute

from .cedant_server import CLIENT_SECRET, CedantServer, risk_record


@pytest.fixture(autouse=True)
def private(settings, tmp_path, monkeypatch):
    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    settings.AMPARO_INGESTION_RETRY_BASE_SECONDS = 0.01
    settings.AMPARO_INGESTION_SECRET_KEYS = Fernet.generate_key().decode()
    monkeypatch.setenv("ANDINOS_SECRET", CLIENT_SECRET)
    from portal.ingestion.sources import client

    client._tokens.clear()


def kept_name(page):
    return f"{page.stored_name[:2]}/{page.stored_name}"


def pulled(server):
    connection = source_connection_load(actor=None, spec=server.spec())
    run = sync_run_start(actor=None, connection=connection, enqueue=False)
    return sync_run_execute(run_id=run.pk, sleep=lambda seconds: None)


@pytest.mark.django_db
def test_a_page_whose_file_could_not_be_written_gets_no_row(monkeypatch):
    with CedantServer() as server:
        connection = source_connection_load(actor=None, spec=server.spec())
    run = sync_run_start(actor=None, connection=connection, enqueue=False)
    write = pages_module._write_page

    def disk_full_on_page_two(storage, stored_name, content):
        if content == b"two":
            raise OSError("No space left on device")
        write(storage, stored_name, content)

    monkeypatch.setattr(pages_module, "_write_page", disk_full_on_page_two)
    keeper = PageKeeper(run, exchanges=[])
    keeper.keep(number=1, url="https://api.example/1", status_code=200, records=1, content=b"one")
    keeper.keep(number=2, url="https://api.example/2", status_code=200, records=1, content=b"two")
    with pytest.raises(OSError, match="No space left"):
        keeper.close()
    kept = list(SyncPage.objects.filter(run=run))
    assert [page.number for page in kept] == [1] and page_storage().exists(kept_name(kept[0]))


@pytest.mark.django_db
def test_a_replay_whose_kept_page_file_is_gone_fails_naming_the_page():
    with CedantServer([risk_record(n) for n in range(1, 8)]) as server:
        first = pulled(server)
    lost = first.page_set.get(number=2)
    page_storage().delete(kept_name(lost))
    replay = sync_run_start(actor=None, connection=first.connection, replay_of=first, enqueue=False)
    replay = sync_run_execute(run_id=replay.pk)
    assert replay.status == SyncRun.Status.FAILED
    assert replay.error == f"Page 2 of run #{first.pk} has lost its kept file; that run cannot be replayed."


class _Connection:
    vendor, in_atomic_block, closed = "postgresql", False, False

    def close(self):
        self.closed = True


class _PagesWhoseCloseFails:
    def __iter__(self):
        return iter([(1, [])])

    def close(self):
        raise OSError("the last log rows could not be written")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_fetching_thread_closes_its_database_connection_even_when_the_pages_clean_up_fails(monkeypatch):
    connection = _Connection()
    monkeypatch.setattr(sync_module, "db_connection", connection)
    assert list(sync_module._ahead(_PagesWhoseCloseFails())) == [(1, [])]
    assert connection.closed
