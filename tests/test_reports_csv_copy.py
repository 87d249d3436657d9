"""A report's CSV streamed by PostgreSQL's COPY is the same file, byte for byte, as the one the Python
writer makes from the same rows: header, formula neutralisation, empty and quoted cells, line ends,
local date-times; its row count and totals agree; and without a query (or on SQLite) Python writes it."""

import pytest
from django.utils import timezone

from portal.audit.services import audit_record_many
from portal.reports import writers
from portal.reports.catalogue import REPORTS, parameters_clean
from portal.reports.csvcopy import copy_possible
from portal.reports.generate import report_run_generate
from portal.reports.models import ReportRun
from portal.reports.services import report_run_request

from .factories import issue_policy
from .helpers import TRICKY_TEXTS, audit_extract_since_2000, private_file

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.parametrize("zone", ["America/Bogota", "America/St_Johns", "Asia/Kolkata", "UTC"])
def test_the_copy_csv_is_byte_identical_to_the_python_csv(tricky_audit_events, admin_user, tmp_path, zone):
    with timezone.override(zone):
        report, data = audit_extract_since_2000(admin_user)
        assert copy_possible(data.query)
        python_count, _totals = writers.write_csv(report, data.rows, tmp_path / "python.csv")
        copy_count, _totals = writers.write(
            report, "csv", None, tmp_path / "copy.csv", parameters={}, requested_by=admin_user, query=data.query
        )
    python_bytes, copy_bytes = (tmp_path / "python.csv").read_bytes(), (tmp_path / "copy.csv").read_bytes()
    assert copy_count == python_count >= len(TRICKY_TEXTS)
    assert copy_bytes == python_bytes
    assert b"'=HYPERLINK" in copy_bytes and b",'+57 300," in copy_bytes and b"'\tTab" in copy_bytes


@pytest.mark.parametrize("name", ["premium_production", "receivables_ageing"])
def test_reports_with_totals_give_the_same_file_count_and_totals_either_way(name, agent, admin_user, tmp_path):
    issue_policy(actor=agent, agent=agent)
    issue_policy(actor=agent, agent=agent, sum_insured="200000000", full_name='=Cuenta, "Ltda"')
    report = REPORTS[name]
    values, _stored = parameters_clean(report, {}, user=admin_user)
    data = report.source(admin_user, values)
    python_count, python_totals = writers.write_csv(report, data.rows, tmp_path / "python.csv")
    seen = []
    copy_count, copy_totals = writers.write(
        report,
        "csv",
        None,
        tmp_path / "copy.csv",
        parameters={},
        requested_by=admin_user,
        query=data.query,
        progress=seen.append,
    )
    assert (tmp_path / "copy.csv").read_bytes() == (tmp_path / "python.csv").read_bytes()
    assert copy_count == python_count > 0
    assert copy_totals.rows() == python_totals.rows() and python_totals.rows()
    assert seen == [copy_count]


def test_a_report_without_a_query_is_written_by_python(admin_user, tmp_path):
    report = REPORTS["loss_ratio"]
    values, _stored = parameters_clean(report, {}, user=admin_user)
    data = report.source(admin_user, values)
    assert data.query is None and not copy_possible(None)
    count, _totals = writers.write(report, "csv", data.rows, tmp_path / "r.csv", parameters={}, requested_by=admin_user)
    assert count == 0 and (tmp_path / "r.csv").read_text("utf-8-sig").startswith("Product,Currency")


def test_a_run_of_thousands_of_rows_is_copied_and_reports_its_progress_once_the_copy_ends(admin_user):
    audit_record_many(actor=admin_user, action="test.many", entries=[(None, {})] * 2500)
    run = report_run_request(
        report_name="audit_extract",
        fmt="csv",
        parameters={"from": "2026-01-01", "action": "test.many"},
        actor=admin_user,
    )
    run = report_run_generate(run_id=run.pk)
    assert run.status == ReportRun.Status.SUCCEEDED and run.row_count == 2500
    assert private_file("reports", run.stored_name).read_bytes().count(b"\r\n") == 2501
