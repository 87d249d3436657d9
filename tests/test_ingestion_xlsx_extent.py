"""calamine holds a sheet as a dense grid from its first used cell to its last, so a workbook of two
cells (A1 and XFD1048576) asks for hundreds of gigabytes. Before calamine sees a workbook, its
sheets' XML is read a megabyte at a time and every cell is placed as calamine would place it: by
its reference, wherever and however the XML writes one, or after the cell before it. A sheet past
MAX_XLSX_COLUMNS columns or MAX_XLSX_CELLS cells (from A1) is refused with a clear message.

Each sheet here is written by hand: a spreadsheet library would fill in or tidy away what the
test is about. The guard's measure is checked against calamine's own on small sheets."""

import random
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from portal.ingestion import readers
from portal.ingestion.readers import UnreadableFile, check_xlsx_is_safe, first_sheet

from .ingestion_workbooks import number_cell, risk_cells, sheet_row, text_cell, write_workbook

FAR = number_cell("XFD1048576", 1)
ONE_MB = 1 << 20


def workbook(tmp_path, sheet_data, *, dimension=None, name="book.xlsx"):
    return write_workbook(tmp_path / name, sheet_data, dimension=dimension)


def measured(path, readings=None):
    """The guard's (rows, columns) of the workbook's sheet; `readings` gets one item per reading."""
    readings = [] if readings is None else readings
    with zipfile.ZipFile(path) as archive:

        def open_sheet():
            readings.append(1)
            return archive.open("xl/worksheets/sheet1.xml")

        extent = readers.check_sheet_extent(open_sheet)
    return extent.rows, extent.columns


def calamine_extent(path):
    """The last row and column (1-based) of the grid calamine builds."""
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return (sheet.end[0] + 1, sheet.end[1] + 1) if sheet.end else (0, 0)


def padding(size, first_row=2):
    """Rows of text in column A, from `first_row` on, that fill about `size` bytes of sheet XML."""
    count = size // len(sheet_row(first_row, text_cell(f"A{first_row}", "x" * 1000))) + 1
    return "".join(
        sheet_row(number, text_cell(f"A{number}", "x" * 1000)) for number in range(first_row, first_row + count)
    )


# Sheets whose cells calamine places in unusual ways; the guard must never place them nearer.
UNUSUAL_SHEETS = {
    "references in order": sheet_row(1, number_cell("A1", 1), number_cell("C1", 2))
    + sheet_row(3, number_cell("B3", 3)),
    "a second reference on the cell, the one calamine takes": '<row r="1"><c r="A1" r="Z9"><v>1</v></c></row>',
    "a second reference with no space before it": '<row r="1"><c r="A1"r="Z9"><v>1</v></c></row>',
    "single quotes and spaces around the equals sign": "<row r='1'><c r = 'D7'><v>1</v></c></row>",
    "tabs and line breaks inside the tags": '<row\nr="1"><c\n\tr\n=\n"D7"><v>1</v></c></row>',
    "a namespace prefix": '<row r="1"><x:c xmlns:x="urn:x" r="E5"><x:v>1</x:v></x:c></row>',
    "cells without a reference": '<row r="2"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>',
    "rows without a reference": "<row><c><v>1</v></c></row><row><c><v>1</v></c></row><row><c><v>1</v></c></row>",
    "a row that goes back": '<row r="10"><c r="A10"><v>1</v></c></row><row r="5"/><row><c><v>1</v></c></row>',
    "an empty cell that moves the next one": '<row r="1"><c r="A1"><v>1</v></c><c r="Z1"/><c><v>1</v></c></row>',
    "cells after a placed cell": '<row r="3"><c r="F3"><v>1</v></c><c><v>1</v></c><c><v>1</v></c></row>',
    "lower-case references": '<row r="1"><c r="a1"><v>1</v></c><c r="d4"><v>1</v></c></row>',
    "leading zeros": '<row r="1"><c r="A0004"><v>1</v></c></row>',
    "a cell below its row": '<row r="1"><c r="A9"><v>1</v></c></row>',
    "a cell outside any row": '<c r="Z9"><v>1</v></c>',
    "a '>' and a '<' inside attribute values": '<row r="1"><c a="x>y" b="<" r="H2"><v>1</v></c></row>',
}


@pytest.mark.parametrize("sheet_data", UNUSUAL_SHEETS.values(), ids=UNUSUAL_SHEETS.keys())
def test_the_guard_never_places_a_cell_nearer_than_calamine_does(tmp_path, sheet_data):
    path = workbook(tmp_path, sheet_data)
    rows, columns = measured(path)
    calamine_rows, calamine_columns = calamine_extent(path)
    assert rows >= calamine_rows and columns >= calamine_columns, (rows, columns, calamine_rows, calamine_columns)


def test_the_guard_measures_an_ordinary_bordereau_exactly_in_one_reading(tmp_path):
    header, *data = risk_cells(2000)
    path = workbook(tmp_path, "".join(sheet_row(number, *cells) for number, cells in enumerate([header, *data], 1)))
    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size > ONE_MB
    readings = []
    assert measured(path, readings) == calamine_extent(path) == (2001, 14)
    assert len(readings) == 1
    check_xlsx_is_safe(path)


# The sparse workbook's far cell, hidden in each way calamine reads a place.
HIDDEN_FAR_CELLS = {
    "written plainly": sheet_row(1, number_cell("A1", 1)) + sheet_row(1048576, FAR),
    "behind a first reference on the same cell": '<row r="1"><c r="A1" r="XFD1048576"><v>1</v></c></row>',
    "behind a first reference, with no space": '<row r="1"><c r="A1"r="XFD1048576"><v>1</v></c></row>',
    "in single quotes with spaces": "<row r='1'><c r = 'XFD1048576'><v>1</v></c></row>",
    "after a line break": '<row r="1"><c\nr="XFD1048576"><v>1</v></c></row>',
    "under a namespace prefix": '<row r="1"><x:c xmlns:x="urn:x" r="XFD1048576"><x:v>1</x:v></x:c></row>',
    "in lower case with leading zeros": '<row r="1"><c r="xfd0001048576"><v>1</v></c></row>',
    "in a cell with a '<' in an attribute": '<row r="1"><c a="<" r="XFD1048576"><v>1</v></c></row>',
    "in a cell outside any row": '<c r="XFD1048576"><v>1</v></c>',
    "after a megabyte of ordinary rows": sheet_row(1, number_cell("A1", 1)) + padding(2 * ONE_MB) + FAR,
}


@pytest.mark.parametrize("sheet_data", HIDDEN_FAR_CELLS.values(), ids=HIDDEN_FAR_CELLS.keys())
def test_a_sparse_sheet_is_refused_however_its_far_cell_is_written(tmp_path, sheet_data):
    with pytest.raises(UnreadableFile, match=r"reaches column XFD \(16,384 columns\); at most 200 columns"):
        check_xlsx_is_safe(workbook(tmp_path, sheet_data))


def test_a_sheet_that_says_it_is_small_is_still_measured_by_its_cells(tmp_path):
    path = workbook(tmp_path, sheet_row(1, number_cell("A1", 1)) + sheet_row(1048576, FAR), dimension="A1")
    with pytest.raises(UnreadableFile, match="column XFD"):
        check_xlsx_is_safe(path)


def test_a_sheet_that_says_it_is_too_big_is_refused_before_its_cells_are_read(tmp_path, zip_bytes_expanded):
    path = workbook(tmp_path, sheet_row(1, number_cell("A1", 1)) + padding(8 * ONE_MB), dimension="A1:XFD1048576")
    with pytest.raises(UnreadableFile, match="column XFD"):
        check_xlsx_is_safe(path)
    expanded = sum(zip_bytes_expanded)
    assert expanded <= 2 * ONE_MB, f"{expanded:,} bytes were read of a sheet that said it was too big"


def test_rows_without_references_count_one_after_another(tmp_path, monkeypatch):
    """Twenty columns on row 1, then empty rows that name no row: calamine counts each."""
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 100_000)
    first = sheet_row(1, number_cell("A1", 1), number_cell("T1", 1))
    fits = workbook(tmp_path, first + "<row/>" * 4_998 + "<row><c><v>1</v></c></row>", name="fits.xlsx")
    too_many = workbook(tmp_path, first + "<row/>" * 5_000 + "<row><c><v>1</v></c></row>", name="over.xlsx")
    assert calamine_extent(fits) == (5_000, 20)
    check_xlsx_is_safe(fits)
    with pytest.raises(UnreadableFile, match=r"5,002 rows by 20 columns \(100,040 cells"):
        check_xlsx_is_safe(too_many)


def test_cells_without_references_count_one_after_another(tmp_path):
    cells = "<c><v>1</v></c>" * 201
    with pytest.raises(UnreadableFile, match=r"reaches column GS \(201 columns\)"):
        check_xlsx_is_safe(workbook(tmp_path, f'<row r="1">{cells}</row>'))


def test_two_hundred_columns_are_read_and_two_hundred_and_one_refused(tmp_path):
    check_xlsx_is_safe(workbook(tmp_path, sheet_row(1, number_cell("A1", 1), number_cell("GR1", 1)), name="200.xlsx"))
    with pytest.raises(UnreadableFile, match=r"reaches column GS \(201 columns\)"):
        check_xlsx_is_safe(workbook(tmp_path, sheet_row(1, number_cell("A1", 1), number_cell("GS1", 1))))


def test_the_cell_limit_counts_rows_times_columns_from_a1(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 1_000)
    check_xlsx_is_safe(workbook(tmp_path, sheet_row(100, number_cell("J100", 1)), name="fits.xlsx"))
    with pytest.raises(UnreadableFile, match=r"101 rows by 10 columns \(1,010 cells from A1 to its last cell\)"):
        check_xlsx_is_safe(workbook(tmp_path, sheet_row(101, number_cell("J101", 1))))


def test_a_sheet_that_widens_after_its_first_megabyte_is_measured_again_at_its_full_width(tmp_path, monkeypatch):
    """In its second megabyte, among ordinary rows, a cell on row 400,000: within the cell limit
    at the two columns the sheet has so far, not at the two hundred it reaches later."""
    monkeypatch.setattr(readers, "MAX_XLSX_CELLS", 1_000_000)
    sheet = (
        sheet_row(1, number_cell("A1", 1), number_cell("B1", 1))
        + padding(ONE_MB + ONE_MB // 2, first_row=2)
        + sheet_row(3000, number_cell("B400000", 1))
        + padding(ONE_MB, first_row=3001)
        + sheet_row(5000, number_cell("GR5000", 1))
    )
    with pytest.raises(UnreadableFile, match=r"400,000 rows by 200 columns"):
        check_xlsx_is_safe(workbook(tmp_path, sheet))


def test_a_cell_longer_than_a_megabyte_is_refused(tmp_path):
    text = random.Random(0).randbytes(ONE_MB).hex()  # two megabytes that do not compress away
    with pytest.raises(UnreadableFile, match="longer than 1 MB"):
        check_xlsx_is_safe(workbook(tmp_path, sheet_row(1, text_cell("A1", text))))


def test_a_part_that_fails_its_checksum_is_refused_as_damaged(tmp_path):
    path = tmp_path / "damaged.xlsx"
    whole = zipfile.ZipFile(workbook(tmp_path, sheet_row(1, number_cell("A1", 1)), name="whole.xlsx"))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:  # stored, so that a byte can be changed
        for info in whole.infolist():
            archive.writestr(info.filename, whole.read(info))
    path.write_bytes(path.read_bytes().replace(b"<v>1</v>", b"<v>7</v>"))
    with pytest.raises(UnreadableFile, match="fails its checksum"):
        check_xlsx_is_safe(path)


def test_a_sparse_workbook_is_refused_before_calamine_opens_it(tmp_path, monkeypatch):
    import python_calamine

    opened = []
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", lambda *args, **kwargs: opened.append(args))
    path = workbook(tmp_path, sheet_row(1, number_cell("A1", 1)) + sheet_row(1048576, FAR))
    first_sheet.cache_clear()
    with pytest.raises(UnreadableFile, match="column XFD"):
        first_sheet(str(path), path.stat().st_mtime_ns, path.stat().st_size)
    assert opened == []
