"""A report's XLSX whose rows PostgreSQL builds (xlsxcopy.py) reads back, cell for cell, as the one the
Python writer makes from the same rows: values, types, number formats and bold, with text that would
run as a formula or that XML cannot carry, local date-times in several time zones, money styled per
currency and the totals; its row count and progress agree; and without a query Python writes it."""

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from portal.audit.services import audit_record_many
from portal.reports import writers
from portal.reports.catalogue import REPORTS, parameters_clean
from portal.reports.generate import report_run_generate
from portal.reports.models import ReportRun
from portal.reports.services import report_run_request

from .factories import issue_policy
from .helpers import TRICKY_TEXTS, audit_extract_since_2000, private_file

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def cells(path):
    sheet = load_workbook(path).active
    return [
        [(cell.coordinate, cell.value, cell.data_type, cell.number_format, cell.font.b) for cell in row]
        for row in sheet.iter_rows()
    ], sheet.freeze_panes


def both(report, data, user, tmp_path):
    python_count, python_totals = writers.write_xlsx(report, data.rows, tmp_path / "python.xlsx")
    seen = []
    copy_count, copy_totals = writers.write(
        report,
        "xlsx",
        None,
        tmp_path / "copy.xlsx",
        parameters={},
        requested_by=user,
        query=data.query,
        progress=seen.append,
    )
    assert copy_count == python_count and seen == [copy_count]
    assert copy_totals.rows() == python_totals.rows()
    return cells(tmp_path / "python.xlsx"), cells(tmp_path / "copy.xlsx")


@pytest.mark.parametrize("zone", ["America/Bogota", "America/St_Johns", "Asia/Kolkata", "UTC"])
def test_the_sql_built_sheet_reads_back_as_the_python_sheet_on_tricky_text_in_each_time_zone(
    tricky_audit_events, admin_user, tmp_path, zone
):
    with timezone.override(zone):
        report, data = audit_extract_since_2000(admin_user)
        python, copy = both(report, data, admin_user, tmp_path)
    assert copy == python
    rows, frozen = copy
    assert frozen == "A2" and len(rows) == len(TRICKY_TEXTS) + 1
    labels = [row[1][1] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in labels and "emoji 🚗💥 ñandú, Bogotá" in labels
    assert "back\\slash \\n \\\\" in labels and "]]> </t></is></c></row>" in labels
    assert any(label.startswith("bell_x0007_") for label in labels)
    assert rows[1][0][3] == "yyyy-mm-dd hh:mm" and rows[1][0][2] == "d"


@pytest.mark.parametrize("name", ["premium_production", "receivables_ageing"])
@pytest.mark.parametrize("zone", ["America/Bogota", "Asia/Kolkata"])
def test_money_dates_counts_and_bold_totals_per_currency_read_back_the_same(name, zone, agent, admin_user, tmp_path):
    issue_policy(actor=agent, agent=agent)
    issue_policy(actor=agent, agent=agent, sum_insured="200000000", full_name='=Cuenta, "Ltda" <S.A.>')
    report = REPORTS[name]
    with timezone.override(zone):
        values, _stored = parameters_clean(report, {}, user=admin_user)
        python, copy = both(report, report.source(admin_user, values), admin_user, tmp_path)
    assert copy == python
    rows, _frozen = copy
    assert len(rows) > 2 and rows[-1][0][1] == "Total" and rows[-1][0][4]
    assert any(cell[3].startswith("#,##0.00") for cell in rows[1])


@pytest.mark.parametrize("name", ["premium_production", "audit_extract"])
def test_a_report_without_rows_is_the_same_header_only_workbook_either_way(name, admin_user, tmp_path):
    report = REPORTS[name]
    values, _stored = parameters_clean(report, {}, user=admin_user)
    python, copy = both(report, report.source(admin_user, values), admin_user, tmp_path)
    assert copy == python and len(copy[0]) == 1


def test_a_run_of_thousands_of_rows_is_built_by_postgresql_and_reports_its_progress_once(admin_user):
    audit_record_many(actor=admin_user, action="test.many", entries=[(None, {})] * 2500)
    run = report_run_request(
        report_name="audit_extract",
        fmt="xlsx",
        parameters={"from": "2026-01-01", "action": "test.many"},
        actor=admin_user,
    )
    run = report_run_generate(run_id=run.pk)
    assert run.status == ReportRun.Status.SUCCEEDED and run.row_count == 2500 and run.progress == 100
    sheet = load_workbook(private_file("reports", run.stored_name), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2501 and rows[-1][2] == "test.many"
