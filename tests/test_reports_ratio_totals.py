"""A ratio column's totals line: the loss ratio report's total is total incurred over total earned per
currency (quantized as the rows are), blank when nothing was earned, never a sum of the rows' ratios."""

from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.reports import writers
from portal.reports.catalogue import REPORTS

pytestmark = pytest.mark.django_db
LOSS_RATIO = REPORTS["loss_ratio"]
ROWS = [
    ("Auto", "COP", Decimal("1000.00"), Decimal("250.00"), Decimal("0.2500")),
    ("Hogar", "COP", Decimal("3000.00"), Decimal("1500.00"), Decimal("0.5000")),
    ("Vida", "COP", Decimal("2000.00"), Decimal("0.00"), Decimal("0.0000")),
    ("Vida", "USD", Decimal("0.00"), Decimal("10.00"), None),
]


def test_the_total_ratio_is_total_incurred_over_total_earned_per_currency(tmp_path):
    _count, totals = writers.write_csv(LOSS_RATIO, iter(ROWS), tmp_path / "r.csv")
    cop, usd = totals.rows()
    assert cop[1:] == ["COP", Decimal("6000.00"), Decimal("1750.00"), Decimal("0.2917")]
    assert usd[1:] == ["USD", Decimal("0.00"), Decimal("10.00"), None]


def test_the_xlsx_totals_line_carries_the_total_ratio(tmp_path):
    writers.write_xlsx(LOSS_RATIO, iter(ROWS), tmp_path / "r.xlsx")
    sheet = load_workbook(tmp_path / "r.xlsx").active
    lines = {row[1]: row for row in sheet.iter_rows(min_row=len(ROWS) + 2, values_only=True)}
    assert lines["COP"][2:] == (6000, 1750, 0.2917)
    assert lines["USD"][2:] == (0, 10, None)


def test_the_pdf_totals_show_the_total_ratio(tmp_path, finance_user):
    path = tmp_path / "r.pdf"
    writers.write_pdf(LOSS_RATIO, iter(ROWS), path, parameters={}, requested_by=finance_user)
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    assert "29.17 %" in text
