"""Finance runs the premium production report as XLSX from the portal, watches its progress bar
reach the end, downloads the file and finds the expected totals in it; then the same report as PDF,
whose text (read with pypdf) carries the same total."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from portal.accounts.demo import DEMO_PASSWORD
from portal.policies.demo import seed_demo_policies

from .helpers import open_from_navigation, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def book(demo):
    seed_demo_policies()


def written_cop():
    """COP written from 2025-01-01 to today, by the versions' effective dates (the demo has some ahead)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(premium_change) FROM policies_policyversion WHERE currency = 'COP' "
            "AND effective_date BETWEEN %s AND %s",
            [date(2025, 1, 1), timezone.localdate()],
        )
        return cursor.fetchone()[0]


def run_report(page: Page, fmt: str):
    open_from_navigation(page, "reports:catalogue")
    page.get_by_test_id("run-premium_production").click()
    form = page.get_by_test_id("report-form")
    form.get_by_label("Format").select_option(fmt)
    form.get_by_label("From").fill("2025-01-01")
    form.get_by_test_id("generate").click()
    expect(page).to_have_url(re.compile(r"/reports/runs/[0-9a-f-]+/$"))
    expect(page.get_by_test_id("progress-bar")).to_have_text("100 %")
    with page.expect_download() as download:
        page.get_by_test_id("download").click()
    return download.value


def test_finance_runs_premium_production_as_xlsx_and_pdf_and_the_files_carry_the_totals(page, book, tmp_path):
    total = written_cop()
    sign_in(page, "finance@amparo.demo", DEMO_PASSWORD)

    xlsx = run_report(page, "xlsx")
    assert xlsx.suggested_filename.endswith(".xlsx")
    # openpyxl goes by the file name's ending, and the browser's download has none: keep it under its name.
    xlsx.save_as(tmp_path / xlsx.suggested_filename)
    rows = list(load_workbook(tmp_path / xlsx.suggested_filename).active.iter_rows(values_only=True))
    [cop_total] = [row for row in rows if row[0] == "Total" and row[3] == "COP"]
    assert Decimal(str(cop_total[-1])).quantize(Decimal("0.01")) == total

    pdf = run_report(page, "pdf")
    text = "\n".join(page_.extract_text() for page_ in PdfReader(pdf.path()).pages)
    assert "Premium production" in text and f"COP {total:,.2f}" in text
