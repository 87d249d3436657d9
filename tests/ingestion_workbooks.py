"""Workbooks written by hand, part by part, for the ingestion tests: a spreadsheet library would
fill in the cells these leave out (a sheet of two cells a million rows apart) or tidy away the
unusual XML they are made of."""

import zipfile
from xml.sax.saxutils import escape

from .ingestion_rows import RISK_HEADER, risk_values

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{OFFICE_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{OFFICE_RELATIONSHIPS}">'
    '<sheets><sheet name="Bordereau" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{OFFICE_RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def sheet_xml(sheet_data, *, dimension=None):
    head = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{head}'
        f"<sheetData>{sheet_data}</sheetData></worksheet>"
    )


def write_workbook(path, sheet_data, *, dimension=None):
    """An .xlsx at `path` whose one sheet holds `sheet_data` (the XML inside <sheetData>) as it is."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml(sheet_data, dimension=dimension))
    return path


def text_cell(reference, text):
    return f'<c r="{reference}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def number_cell(reference, value):
    return f'<c r="{reference}"><v>{value}</v></c>'


def sheet_row(number, *cells):
    return f'<row r="{number}">{"".join(cells)}</row>'


def risk_cells(count):
    """The cells of the header (row 1) and of `count` valid risk rows after it, columns A to N:
    one list of cells per row."""
    letters = [chr(ord("A") + index) for index in range(len(RISK_HEADER))]
    rows = [[text_cell(f"{letter}1", label) for letter, label in zip(letters, RISK_HEADER, strict=True)]]
    for number in range(1, count + 1):
        values = risk_values(number).values()
        rows.append([text_cell(f"{letter}{number + 1}", value) for letter, value in zip(letters, values, strict=True)])
    return rows
