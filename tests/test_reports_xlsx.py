"""The reports' streamed XLSX: it opens in openpyxl with a frozen header, typed cells (numbers,
dates, date-times in local time, text), a number format per currency, bold totals per currency, and
text that a spreadsheet would run as a formula or that XML cannot carry written safely."""

from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from portal.reports import writers
from portal.reports.catalogue import REPORTS


def workbook(tmp_path, name, rows):
    count, totals = writers.write_xlsx(REPORTS[name], iter(rows), tmp_path / "r.xlsx")
    return count, totals, load_workbook(tmp_path / "r.xlsx").active


def test_money_is_typed_with_its_currencys_format_and_totalled_in_bold_per_currency(tmp_path):
    rows = [
        (
            '=HYPERLINK("x")',
            "Ana & <Luis>",
            "COP",
            Decimal("10.50"),
            Decimal("0.00"),
            None,
            *[Decimal("1")] * 2,
            Decimal("13.50"),
        ),
        ("Beto", "Ana", "USD", Decimal("1.25"), *[Decimal("0")] * 4, Decimal("1.25")),
        ("Carla", "Ana", "COP", Decimal("2.00"), *[Decimal("0")] * 4, Decimal("2.00")),
    ]
    count, totals, sheet = workbook(tmp_path, "receivables_ageing", rows)
    assert count == 3 and sheet.freeze_panes == "A2"
    assert [cell.value for cell in sheet[1]][:3] == ["Customer", "Agent", "Currency"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet["A2"].value == '\'=HYPERLINK("x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == "Ana & <Luis>"
    assert sheet["D2"].value == 10.5 and sheet["D2"].number_format == '#,##0.00 "COP"'
    assert sheet["D3"].number_format == '#,##0.00 "USD"' and sheet["F2"].value is None
    totals_rows = {row[2].value: row for row in sheet.iter_rows(min_row=5) if row[0].value == "Total"}
    assert set(totals_rows) == {"COP", "USD"}
    assert Decimal(str(totals_rows["COP"][8].value)) == Decimal("15.50") and totals_rows["COP"][8].font.b
    assert totals_rows["USD"][3].number_format == '#,##0.00 "USD"'
    assert [line[8] for line in totals.rows()] == [Decimal("15.50"), Decimal("1.25")]


def test_dates_and_local_date_times_are_spreadsheet_dates_and_counts_are_numbers(tmp_path, settings):
    _count, _totals, sheet = workbook(
        tmp_path,
        "audit_extract",
        [(datetime(2026, 1, 2, 15, 30, tzinfo=UTC), "a@b.co", "x.y", "t", "7", "Bell\x07 label", "c")],
    )
    assert sheet["A2"].value == datetime(2026, 1, 2, 10, 30) and sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["F2"].value == "Bell_x0007_ label"
    _count, _totals, sheet = workbook(
        tmp_path, "premium_production", [(date(2026, 3, 1), "Autos", "Ana", "COP", 2, 0, 1, 0, 0, Decimal("5.00"))]
    )
    assert sheet["A2"].value == datetime(2026, 3, 1) and sheet["A2"].number_format == "yyyy-mm"
    assert sheet["E2"].value == 2 and sheet["E2"].number_format == "#,##0"
    assert [cell.value for cell in sheet[3]][:5] == ["Total", None, None, "COP", 2]
