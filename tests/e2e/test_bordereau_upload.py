"""A finance user uploads a risk bordereau, watches the import's progress bar move to 100 % without
reloading, reads, filters and downloads the error report; the same file twice is refused; a file
with unusual column names goes through the mapping screen; a running import is cancelled.

Huey runs in immediate mode in the tests, which would finish an import inside the upload request,
so nobody could ever see the bar move. The `huey_worker` fixture runs a real huey consumer (one
worker thread) for the test instead; its tasks use their own database connections to the live
server's (transactional) test database, like the worker of a real deployment.
"""

import csv
import re
import time
import uuid

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from portal.accounts.demo import DEMO_PASSWORD
from portal.ingestion.models import ImportJob, RiskRow

from ..ingestion_rows import RISK_HEADER
from .helpers import open_from_navigation, sign_in

pytestmark = pytest.mark.e2e

FINANCE = "finance@amparo.demo"
IMPORT_TIMEOUT_S = 120
FINAL_STATUSES = {"Succeeded", "Failed", "Cancelled"}

HEADERS = RISK_HEADER
UNUSUAL_HEADERS = ["UMR", "Nro. Cert.", "Cliente", "Desde", "Hasta", *HEADERS[5:]]
CURRENCIES = ("COP", "USD", "EUR")
CLASSES = ("Property", "Marine", "Casualty")


# --- a real huey consumer for the test ------------------------------------------------------------


@pytest.fixture
def huey_worker(transactional_db, live_server, settings, tmp_path):
    """Run queued tasks in a real huey consumer (one worker thread) while the test runs.

    `Consumer.start()` would also install SIGINT/SIGTERM/SIGHUP handlers in pytest's main thread,
    and `run()` blocks; so this starts the consumer's scheduler and worker threads the way
    `start()` does, without the signal handlers. The queue gets a name (and, on SQLite storage, a
    file) of its own, so no other test run's tasks are picked up and ours go nowhere else.
    """
    from django.db import connections
    from huey.contrib.djhuey import HUEY

    settings.AMPARO_PRIVATE_ROOT = tmp_path / "private"
    saved_name, saved_kwargs = HUEY.name, dict(HUEY.storage_kwargs)
    HUEY.name = f"amparo-e2e-{uuid.uuid4().hex[:12]}"
    if "filename" in HUEY.storage_kwargs:
        HUEY.storage_kwargs["filename"] = str(tmp_path / "huey.sqlite3")
    HUEY.immediate = False  # switches from the in-memory storage to the real one
    # Each worker thread closes its own database connections when it stops.
    HUEY.on_shutdown("e2e_close_db_connections")(connections.close_all)
    consumer = HUEY.create_consumer(
        workers=1,
        worker_type="thread",
        periodic=False,
        check_worker_health=False,
        initial_delay=0.05,
        max_delay=0.25,
        shutdown_timeout=IMPORT_TIMEOUT_S,
    )
    consumer.scheduler.start()
    for _worker, thread in consumer.worker_threads:
        thread.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        HUEY.unregister_on_shutdown("e2e_close_db_connections")
        HUEY.flush()
        close = getattr(HUEY.storage, "close", None)
        if close is not None:
            close()
        HUEY.name = saved_name
        HUEY.storage_kwargs.clear()
        HUEY.storage_kwargs.update(saved_kwargs)
        HUEY.immediate = True


# --- files ----------------------------------------------------------------------------------------


def es_amount(cents):
    """123456789 cents -> '1.234.567,89'."""
    return f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"


def risk_line(index, *, inception="15/10/2026", currency=None, net_cents=None, certificate=None):
    gross_cents = (1000 + index % 500) * 100
    net = gross_cents * 90 // 100 - 5000 if net_cents is None else net_cents
    cells = [
        "B0750RE26",
        certificate or f"CERT-{index:07d}",
        f"Asegurado {index} S.A.S.",
        inception,
        "14/10/2027",
        "CO",
        currency or CURRENCIES[index % 3],
        es_amount((1_500_000 + index) * 100),
        es_amount(gross_cents),
        "10",
        es_amount(5000),
        es_amount(net),
        CLASSES[index % 3],
        "New",
    ]
    return ";".join(cells) + "\r\n"


def write_risk_bordereau(path, rows, *, bad=None, headers=HEADERS):
    """A risk bordereau as cedants send them: a title row, ';' between cells, comma decimals,
    dd/mm/yyyy dates and a totals row at the end. `bad` maps a data row index to its line."""
    bad = bad or {}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("Bordereau de riesgos;Reaseguros Andinos S.A.;octubre 2026\r\n")
        handle.write(";".join(headers) + "\r\n")
        for index in range(rows):
            handle.write(bad[index] if index in bad else risk_line(index))
        handle.write("Total;;;;;;;;;;;;;\r\n")
    return path


def line_of(index):
    """Data row `index` is on line index + 3 of the file (title on 1, header on 2)."""
    return index + 3


# row index -> (its line, column, value, message) of the four bad rows of the big file
BIG_ROWS = 250_000  # big enough that the import takes a few seconds
BAD = {
    10: (risk_line(10, inception="31/02/2026"), "Risk Inception Date", "31/02/2026", "Not a date in the format"),
    500: (risk_line(500, currency="ZZZ"), "Original Currency", "ZZZ", "Not an ISO 4217 currency code"),
    70_000: (
        risk_line(70_000, certificate="CERT-0000000"),
        "UMR + Certificate Ref + Transaction Type",
        "B0750RE26 / CERT-0000000 / Original Premium",
        "Same key as row 3",
    ),
    249_000: (
        risk_line(249_000, net_cents=99_999),
        "Net Premium",
        "999.99",
        "Should be gross - commission - taxes =",
    ),
}


# --- steps ----------------------------------------------------------------------------------------


def open_upload_form(page: Page):
    open_from_navigation(page, "ingestion:job_list")
    expect(page.get_by_role("heading", name="Bordereau imports")).to_be_visible()
    page.get_by_test_id("upload-link").click()
    expect(page.get_by_role("heading", name="Upload a bordereau")).to_be_visible()
    return page.get_by_test_id("upload-form")


def upload(page: Page, path, *, new_source=None, source=None, period="2026-10"):
    form = open_upload_form(page)
    if new_source is not None:
        form.locator("[name=new_source]").fill(new_source)
    else:
        form.locator("[name=source]").select_option(label=source)
    form.locator("[name=kind]").select_option(label="Risk / premium")
    form.locator("[name=period]").fill(period)
    form.locator("input[type=file]").set_input_files(str(path))
    expect(form.locator("[data-dropzone-name]")).to_have_text(path.name)
    form.get_by_role("button", name="Upload and import").click()


def job_from_url(page: Page):
    expect(page).to_have_url(re.compile(r"/bordereaux/jobs/\d+/(mapping/)?$"), timeout=30_000)
    return ImportJob.objects.get(pk=int(re.search(r"/jobs/(\d+)/", page.url).group(1)))


def watch_progress(page: Page, *, until):
    """Read the bar and the status badge every ~100 ms (never reloading) until the status is `until`;
    return the (progress, status) pairs seen."""
    seen = []
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    bar = page.locator("#job-progress [role=progressbar]")
    status = page.locator("#job-progress").get_by_test_id("job-status")
    while time.monotonic() < deadline:
        try:
            value = bar.get_attribute("aria-valuenow", timeout=2_000)
            text = status.inner_text(timeout=2_000)
        except PlaywrightError:  # the page is being swapped or refreshed right now
            continue
        if not seen or seen[-1] != (int(value), text):
            seen.append((int(value), text))
        if text == until:
            return seen
        if text in FINAL_STATUSES:
            pytest.fail(f"the import ended {text!r} instead of reaching {until!r}; seen: {seen}", pytrace=False)
        page.wait_for_timeout(100)
    pytest.fail(f"the import did not reach {until!r} in {IMPORT_TIMEOUT_S} s; seen: {seen}", pytrace=False)


def error_rows(page: Page):
    """The error report's rows as [row, column, value, message]: thousands separators dropped, and the
    table's dash for an empty cell read as empty."""
    rows = page.get_by_test_id("error-report").locator("tbody tr")
    cells = [[cell.strip() for cell in row.locator("td").all_inner_texts()] for row in rows.all()]
    return [[re.sub(r"[,.\u00a0 ]", "", row[0]), *("" if cell == "—" else cell for cell in row[1:])] for row in cells]


def read_csv_download(page: Page, test_id):
    with page.expect_download() as download_info:
        page.get_by_test_id(test_id).click()
    download = download_info.value
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        return download.suggested_filename, list(csv.reader(handle))


def read_xlsx_download(page: Page, test_id):
    with page.expect_download() as download_info:
        page.get_by_test_id(test_id).click()
    download = download_info.value
    with open(download.path(), "rb") as handle:  # the saved download has no .xlsx suffix
        sheet = load_workbook(handle, read_only=True).active
        rows = [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    return download.suggested_filename, rows


def expected_report(indexes):
    return [[str(line_of(index)), BAD[index][1], BAD[index][2], BAD[index][3]] for index in indexes]


def assert_report(rows, indexes):
    """Rows of a report (page or file) match the bad rows at `indexes`, in order; messages by their start."""
    assert len(rows) == len(indexes), rows
    for row, want in zip(rows, expected_report(indexes), strict=True):
        assert row[:3] == want[:3]
        assert row[3].startswith(want[3]), (row, want)


# --- tests ----------------------------------------------------------------------------------------


def test_a_finance_user_uploads_a_bordereau_watches_the_bar_reach_100_percent_and_downloads_the_error_report(
    page, demo, huey_worker, tmp_path
):
    path = write_risk_bordereau(
        tmp_path / "andinos-2026-10.csv", BIG_ROWS, bad={index: line for index, (line, *_rest) in BAD.items()}
    )
    sign_in(page, FINANCE, DEMO_PASSWORD)

    upload(page, path, new_source="Reaseguros Andinos S.A.")

    job = job_from_url(page)
    expect(page.get_by_test_id("flash")).to_contain_text("File received. The import runs in the background.")
    expect(page.get_by_role("heading", name=f"Import #{job.pk} · andinos-2026-10.csv")).to_be_visible()
    seen = watch_progress(page, until="Succeeded")

    moving = [value for value, status in seen if 0 < value < 100]
    assert moving, f"the bar was never seen between 0 and 100 %: {seen}"
    assert [value for value, _status in seen] == sorted(value for value, _status in seen), seen
    expect(page.get_by_test_id("progress-bar")).to_have_text("100 %")
    expect(page.locator("#job-progress [role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("rows-total")).to_have_text(f"{BIG_ROWS:,}")
    expect(page.get_by_test_id("rows-loaded")).to_have_text(f"{BIG_ROWS - len(BAD):,}")
    expect(page.get_by_test_id("rows-rejected")).to_have_text(str(len(BAD)))
    expect(page.get_by_test_id("cancel-job")).to_have_count(0)
    job.refresh_from_db()
    assert (job.status, job.rows_loaded, job.rows_rejected) == (ImportJob.Status.SUCCEEDED, BIG_ROWS - 4, 4)
    assert RiskRow.objects.filter(source=job.source).count() == BIG_ROWS - 4

    # The page loaded while the job ran, so the error report below the bar is there only because the
    # page refreshed itself when the job ended. It lists the four bad rows by their line in the file.
    report = page.get_by_test_id("error-report")
    expect(report.locator("tbody tr")).to_have_count(len(BAD))
    assert_report(error_rows(page), sorted(BAD))

    # Both downloads hold the whole report.
    name, rows = read_csv_download(page, "errors-csv")
    assert name == f"amparo-import-{job.pk}-errors.csv"
    assert rows[0] == ["Row", "Column", "Value", "Message"]
    assert_report(rows[1:], sorted(BAD))
    name, rows = read_xlsx_download(page, "errors-xlsx")
    assert name == f"amparo-import-{job.pk}-errors.xlsx"
    assert rows[0] == ["Row", "Column", "Value", "Message"]
    assert_report(rows[1:], sorted(BAD))

    # Filtering by message narrows the report in place and keeps the filter in the address...
    page.evaluate("window.__amparoNoReload = 'same document'")
    page.get_by_test_id("filter-form").locator("[name=message]").fill("currency")
    page.get_by_test_id("filter-form").locator("[name=message]").press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]message=currency(&|$)"))
    expect(report.locator("tbody tr")).to_have_count(1)
    assert_report(error_rows(page), [500])
    assert page.evaluate("window.__amparoNoReload") == "same document", "the page was reloaded"

    # ...and the downloads then hold what the filter shows.
    _name, rows = read_csv_download(page, "errors-csv")
    assert_report(rows[1:], [500])
    _name, rows = read_xlsx_download(page, "errors-xlsx")
    assert_report(rows[1:], [500])


def test_the_same_file_uploaded_again_is_refused_with_a_message_naming_the_earlier_job(
    page, demo, huey_worker, tmp_path
):
    path = write_risk_bordereau(tmp_path / "pacifico-2026-10.csv", 300)
    sign_in(page, FINANCE, DEMO_PASSWORD)
    upload(page, path, new_source="Pacífico Re")
    first = job_from_url(page)
    watch_progress(page, until="Succeeded")
    expect(page.get_by_test_id("no-errors")).to_contain_text("Every row was loaded.")

    upload(page, path, source="Pacífico Re", period="2026-11")

    form = page.get_by_test_id("upload-form")
    expect(form).to_contain_text(f"This file was already imported for Pacífico Re as job #{first.pk} on")
    expect(page).to_have_url(re.compile(r"/bordereaux/upload/$"))
    assert ImportJob.objects.count() == 1
    assert RiskRow.objects.count() == 300


def test_a_file_with_unusual_column_names_is_mapped_by_the_person_and_then_imported(page, demo, huey_worker, tmp_path):
    path = write_risk_bordereau(tmp_path / "unusual.csv", 40, headers=UNUSUAL_HEADERS)
    sign_in(page, FINANCE, DEMO_PASSWORD)
    upload(page, path, new_source="Seguros del Sur")

    job = job_from_url(page)
    expect(page).to_have_url(re.compile(rf"/bordereaux/jobs/{job.pk}/mapping/$"))
    expect(page.get_by_test_id("flash")).to_contain_text("This file's columns need a mapping")
    mapping = page.get_by_test_id("mapping-form")
    expect(mapping).to_be_visible()
    # What the file names plainly is preselected.
    expect(mapping.locator("[name=umr]")).to_have_value("UMR")
    expect(mapping.locator("[name=net_premium]")).to_have_value("Net Premium")
    assert job.status == ImportJob.Status.MAPPING

    mapping.locator("[name=certificate_ref]").select_option("Nro. Cert.")
    mapping.locator("[name=insured_name]").select_option("Cliente")
    mapping.locator("[name=inception_date]").select_option("Desde")
    mapping.locator("[name=expiry_date]").select_option("Hasta")
    mapping.get_by_role("button", name="Save the mapping and import").click()

    expect(page).to_have_url(re.compile(rf"/bordereaux/jobs/{job.pk}/$"))
    expect(page.get_by_test_id("flash")).to_contain_text("Mapping saved for Seguros del Sur. The import runs now.")
    watch_progress(page, until="Succeeded")
    expect(page.get_by_test_id("rows-loaded")).to_have_text("40")
    expect(page.get_by_test_id("no-errors")).to_be_visible()
    insured = set(RiskRow.objects.filter(source=job.source).values_list("insured_name", flat=True))
    assert insured == {f"Asegurado {index} S.A.S." for index in range(40)}
    assert job.source.profiles.get(kind="risk").column_map["certificate_ref"] == "Nro. Cert."


def test_a_running_import_is_cancelled_and_ends_cancelled_with_nothing_loaded(page, demo, huey_worker, tmp_path):
    path = write_risk_bordereau(tmp_path / "huge.csv", 400_000)  # it stops early: only its start is read
    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    sign_in(page, FINANCE, DEMO_PASSWORD)
    upload(page, path, new_source="Cedente Grande")
    job = job_from_url(page)
    watch_progress(page, until="Running")

    page.get_by_test_id("cancel-job").click()

    assert questions == ["Cancel this import? Nothing from it will be loaded."]
    expect(page.get_by_test_id("flash")).to_contain_text("Cancelling: the import stops at its next step.")
    seen = watch_progress(page, until="Cancelled")
    assert seen[-1][0] < 100
    expect(page.get_by_test_id("retry-job")).to_be_visible()
    expect(page.get_by_test_id("cancel-job")).to_have_count(0)
    job.refresh_from_db()
    assert (job.status, job.rows_loaded) == (ImportJob.Status.CANCELLED, 0)
    assert RiskRow.objects.filter(source=job.source).count() == 0


def test_a_file_above_the_upload_limit_is_stopped_in_the_browser_before_it_is_sent(page, demo, settings, tmp_path):
    settings.AMPARO_BORDEREAU_MAX_BYTES = 4096
    path = write_risk_bordereau(tmp_path / "too-big.csv", 300)
    sign_in(page, FINANCE, DEMO_PASSWORD)
    form = open_upload_form(page)
    form.locator("[name=new_source]").fill("Too Big Re")
    file_input = form.locator("input[type=file]")
    file_input.set_input_files(str(path))
    expect(file_input).to_have_js_property(
        "validationMessage", "This file is larger than 4.0\xa0KB, the most a bordereau uploaded here may be."
    )
    form.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", name="Upload a bordereau")).to_be_visible()
    assert not ImportJob.objects.exists()
