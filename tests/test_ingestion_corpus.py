"""The malformed-file corpus (tests/ingestion_corpus/, see its README.md): every file is either
refused with a clear message and nothing written, or loaded partially with exactly the right
row errors. The few files that must be big (a 10 MB line, a zip bomb) are built here at run time.

Each import goes through the services the worker uses (import_job_create + import_job_run); the
run must end the job SUCCEEDED or FAILED, never with an exception.
"""

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from portal.ingestion.models import ClaimRow, ImportJob, RiskRow, RowError
from portal.ingestion.runner import import_job_run
from portal.ingestion.services import import_job_create, profile_save, source_create

from .ingestion_rows import RISK_HEADER, TXN_CHOICES, risk_values
from .ingestion_workbooks import number_cell, risk_cells, sheet_row, text_cell, write_workbook

pytestmark = pytest.mark.usefixtures("private_root")

CORPUS = Path(__file__).parent / "ingestion_corpus"
PERIOD = date(2026, 10, 1)

INSURED = "Insured Full Name or Company Name"
NOT_A_DATE = "Not a date in the format dd/mm/yyyy"
TEN_MB = 10 * 1024 * 1024
CRS_KEY_COLUMNS = " + ".join(
    (
        "Unique Market Reference (UMR)",
        "Certificate Reference",
        "Transaction Type - Original Premium etc",
        "Type of Business (New/Renewal)",
        "Effective Date of Transaction",
    )
)


def risk_line(number, **changes):
    return ",".join(risk_values(number, **changes).values())


def header_line():
    return ",".join(RISK_HEADER)


# --- what a file must do -------------------------------------------------------------------


@dataclass(frozen=True)
class Contains:
    """A message or column that must contain this text (case-insensitive), where the exact
    wording is the app's to choose."""

    text: str

    def matches(self, actual):
        return self.text.lower() in actual.lower()


@dataclass(frozen=True)
class Matches:
    """A message that must match this regular expression (any case)."""

    pattern: str

    def matches(self, actual):
        return re.search(self.pattern, actual, re.IGNORECASE) is not None


def _matches(expected, actual):
    return expected.matches(actual) if isinstance(expected, Contains | Matches) else expected == actual


TOO_MANY_CELLS = Matches(r"\bcells\b.*\bheader\b")  # "This row has 16 cells but the header has 14"


@dataclass(frozen=True)
class Refused:
    """Refused at upload: no job is created."""

    phrase: str


@dataclass(frozen=True)
class Failed:
    """The job ends FAILED; its error matches every pattern (regular expressions, any case)."""

    patterns: tuple


@dataclass(frozen=True)
class Loaded:
    """The job ends SUCCEEDED with `loaded` rows and exactly these (row, column, message) errors."""

    loaded: int
    errors: tuple = ()
    total: int | None = None  # rows read; defaults to loaded + rejected
    check: object = None  # check(job, rows) on the loaded rows


def failed(*patterns):
    return Failed(patterns)


def loaded(count, *errors, total=None, check=None):
    return Loaded(count, tuple(errors), total, check)


@dataclass(frozen=True)
class Case:
    file: object  # a corpus file name, or a function(tmp_path) -> Path that builds a big one
    outcome: object
    kind: str = "risk"
    profile: dict = field(default_factory=dict)
    name: str = ""

    @property
    def id(self):
        return self.name or self.file


# --- files built at run time (too big to commit) -------------------------------------------


def ten_mb_data_line(tmp_path):
    path = tmp_path / "ten_mb_data_line.csv"
    with path.open("w", newline="") as handle:
        handle.write(f"{header_line()}\r\n{risk_line(1)}\r\nB0999ABC2026,{'A' * TEN_MB}\r\n{risk_line(3)}\r\n")
    return path


def ten_mb_file_of_one_line(tmp_path):
    path = tmp_path / "ten_mb_one_line.csv"
    path.write_bytes(b"x" * TEN_MB)
    return path


def ten_mb_header_line(tmp_path):
    path = tmp_path / "ten_mb_header_line.csv"
    with path.open("w", newline="") as handle:
        handle.write(f"{header_line()},{'z' * TEN_MB}\r\n{risk_line(1)}\r\n")
    return path


def ten_mb_line_of_tiny_cells(tmp_path):
    path = tmp_path / "ten_mb_line_of_tiny_cells.csv"
    with path.open("w", newline="") as handle:
        handle.write(f"{header_line()}\r\n{risk_line(1)}\r\n{risk_line(2)}{',x' * (TEN_MB // 2)}\r\n{risk_line(3)}\r\n")
    return path


def _long_file(tmp_path, name, bad_line, bad_bytes, encoding):
    """~3,000 rows (well past the 256 KB the layout is detected from) with one bad line."""
    lines = [header_line(), *(risk_line(number) for number in range(1, 3001))]
    data = bytearray()
    for line_number, line in enumerate(lines, start=1):
        encoded = line.encode(encoding)
        if line_number == bad_line:
            encoded = encoded.replace(b"Insured", bad_bytes, 1)
        data += encoded + b"\r\n"
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def cp1252_byte_after_the_sample(tmp_path):
    return _long_file(tmp_path, "cp1252_late.csv", 2501, "Café Müller".encode("cp1252"), "utf-8")


def mixed_encodings_after_the_sample(tmp_path):
    path = _long_file(tmp_path, "mixed_late.csv", 2501, "Café Müller".encode("cp1252"), "utf-8")
    data = path.read_bytes().replace(b"Insured 2 SAS", "Compañía 2 SAS".encode(), 1)
    path.write_bytes(data)
    return path


def nul_byte_after_the_sample(tmp_path):
    return _long_file(tmp_path, "nul_late.csv", 2501, b"Nul\x00byte", "utf-8")


def zip_bomb(tmp_path):
    """A 'workbook' whose sheet expands from ~50 KB to 50 MB (1000:1), built in well under a second."""
    path = tmp_path / "zip_bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b" " * (1 << 20)
            for _ in range(50):
                member.write(block)
    return path


def header_of_1700_cells(tmp_path):
    """The real columns, then 1,686 more named ones: more than a working table can have columns."""
    path = tmp_path / "header_of_1700_cells.csv"
    extra = ",".join(f"Extra {number}" for number in range(1, 1687))
    path.write_text(f"{header_line()},{extra}\r\n{risk_line(1)}\r\n", encoding="utf-8")
    return path


def sparse_workbook(tmp_path):
    """A 1.5 KB workbook whose only cells are A1 and XFD1048576: calamine would make a grid of
    17 billion cells of them."""
    sheet = sheet_row(1, text_cell("A1", "UMR")) + sheet_row(1048576, number_cell("XFD1048576", 1))
    return write_workbook(tmp_path / "sparse_a1_xfd1048576.xlsx", sheet)


def workbook_of_16384_columns(tmp_path):
    """A valid header and three rows, and a note in the last column Excel has (XFD) on the header row."""
    header, *data = risk_cells(3)
    sheet = sheet_row(1, *header, text_cell("XFD1", "checked")) + "".join(
        sheet_row(number, *cells) for number, cells in enumerate(data, start=2)
    )
    return write_workbook(tmp_path / "few_rows_16384_columns.xlsx", sheet)


ten_mb_data_line.__name__ = "ten_mb_single_line_in_the_data (built at run time)"
ten_mb_file_of_one_line.__name__ = "ten_mb_file_that_is_one_line (built at run time)"
ten_mb_header_line.__name__ = "ten_mb_header_line (built at run time)"
ten_mb_line_of_tiny_cells.__name__ = "ten_mb_line_of_five_million_cells (built at run time)"
cp1252_byte_after_the_sample.__name__ = "windows_1252_byte_at_line_2501_of_a_utf8_file (built at run time)"
nul_byte_after_the_sample.__name__ = "nul_byte_at_line_2501 (built at run time)"
mixed_encodings_after_the_sample.__name__ = "utf8_then_windows_1252_at_line_2501 (built at run time)"
zip_bomb.__name__ = "zip_bomb.xlsx (built at run time)"
header_of_1700_cells.__name__ = "header_of_1700_cells.csv (built at run time)"
sparse_workbook.__name__ = "sparse_a1_and_xfd1048576.xlsx (built by hand at run time)"
workbook_of_16384_columns.__name__ = "few_rows_16384_columns.xlsx (built by hand at run time)"


# --- checks on the loaded rows --------------------------------------------------------------


def names_are(*names):
    def check(job, rows):
        assert [row.insured_name for row in rows] == list(names)

    return check


def dates_are(*pairs):
    def check(job, rows):
        assert [(row.inception_date, row.expiry_date) for row in rows] == [
            (date.fromisoformat(start), date.fromisoformat(end)) for start, end in pairs
        ]

    return check


def all_of(*checks):
    def check(job, rows):
        for one in checks:
            one(job, rows)

    return check


def layout_note(text):
    def check(job, rows):
        assert any(text in note for note in job.layout["notes"]), job.layout["notes"]

    return check


def field_values(name, *values):
    def check(job, rows):
        assert [getattr(row, name) for row in rows] == list(values)

    return check


OP, AP, RP = "Original Premium", "Additional Premium", "Return Premium"
OCTOBER_FIRST = date(2026, 10, 1)
# crs_standard_words.csv: line -> transaction type, type of business, effective date, gross, taxes, net as stored.
CRS_MOVEMENTS = {
    2: (OP, "New", OCTOBER_FIRST, "1000.00", "50.00", "750.00"),
    3: (OP, "Renewal", OCTOBER_FIRST, "1000.00", "50.00", "750.00"),
    4: (AP, "", date(2026, 11, 1), "400.00", "20.00", "300.00"),
    5: (RP, "", date(2026, 11, 15), "-200.00", "-10.00", "-150.00"),  # sent positive in a return row
    6: (RP, "", date(2026, 11, 1), "-200.00", "-10.00", "-150.00"),  # sent negative
    7: (AP, "", date(2026, 11, 1), "400.00", "20.00", "300.00"),  # an AP beside an RP of the same certificate
    8: (AP, "", date(2026, 11, 20), "100.00", "0.00", "80.00"),  # a second AP, later in the month
    9: (AP, "Renewal", date(2026, 11, 2), "100.00", "0.00", "80.00"),  # "Prima adicional", "Renovación"
    10: (RP, "", date(2026, 11, 3), "-100.00", "0.00", "-80.00"),  # "Devolución de prima"
    11: (RP, "", date(2026, 11, 4), "-1000.00", "-50.00", "-750.00"),  # the earlier word Cancellation
    12: (RP, "", date(2026, 11, 5), "-100.00", "0.00", "-80.00"),  # Endorsement with a negative premium
}


def crs_movements(job, rows):
    stored = {
        row.row_number: (
            row.transaction_type,
            row.business_type,
            row.transaction_date,
            str(row.gross_premium),
            str(row.total_taxes),
            str(row.net_premium),
        )
        for row in rows
    }
    assert stored == CRS_MOVEMENTS
    assert {row.sum_insured for row in rows} == {Decimal("1000000.00")}


def name_on_line(line, name):
    def check(job, rows):
        assert [row.insured_name for row in rows if row.row_number == line] == [name]

    return check


def sql_text_stored_verbatim(job, rows):
    assert "Robert'); DROP TABLE ingestion_riskrow;--" in [row.insured_name for row in rows]
    assert RiskRow.objects.count() == len(rows)


# --- the corpus -----------------------------------------------------------------------------

CASES = [
    # Encodings
    Case(
        "encoding_cp1252.csv",
        loaded(3, check=names_are("José Núñez Peña", "Zoë Ltd — Ñandú €", "Insured 3 SAS")),
    ),
    Case(
        "encoding_cp1252_declared_utf8.csv",
        failed(r"not valid utf-8", r"\bline 4\b"),
        profile={"encoding": "utf-8"},
    ),
    Case(
        "encoding_utf8_accents.csv",
        loaded(2, check=names_are("Añejo & Cía — São Paulo", "Ærø Ltd \u2018quoted\u2019")),
    ),
    Case(
        "encoding_utf8_bom.csv",
        loaded(
            2, check=all_of(names_are("Compañía Andina", "Insured 2 SAS"), field_values("umr", *["B0999ABC2026"] * 2))
        ),
    ),
    Case(
        "encoding_utf16_tab.csv",
        loaded(1, (3, "Gross Premium", "Not a number"), check=names_are("Über Straße GmbH")),
    ),
    Case("encoding_utf16_no_bom.csv", failed(r"binary data")),
    Case("nul_byte_after_bom.csv", failed(r"binary")),
    # Plain ASCII up to a Windows-1252 accent far down: the whole file is Windows-1252.
    Case(
        cp1252_byte_after_the_sample,
        loaded(3000, check=all_of(layout_note("Windows-1252"), name_on_line(2501, "Café Müller 2500 SAS"))),
    ),
    # UTF-8 accents in the sample and a Windows-1252 byte later: two encodings, refused.
    Case(mixed_encodings_after_the_sample, failed(r"not valid utf-8", r"\bline 2501\b")),
    Case(nul_byte_after_the_sample, failed(r"binary")),
    # Headers
    Case("no_header.csv", failed(r"No header row found")),
    Case("duplicate_columns.csv", failed(r"Two columns are both Gross Premium \(columns 9 and 15\)")),
    Case("missing_required_columns.csv", failed(r"Missing required columns: Net Premium, Transaction Type")),
    Case(
        "title_rows_above_header.csv",
        loaded(3, (7, "Location of Risk Country", "Not an ISO 3166 country code")),
    ),
    Case("header_only.csv", loaded(0, total=0)),
    Case(
        "synonym_headers_with_errors.csv",
        loaded(1, (3, Contains("GWP"), "Not a number"), (4, Contains("Period From"), NOT_A_DATE)),
    ),
    # Not a bordereau at all
    Case("empty.csv", Refused("The file is empty")),
    Case("whitespace_only.csv", failed(r"The file is empty")),
    Case("binary_junk.csv", failed(r"binary data")),
    Case("binary_junk_high_bytes.csv", failed(r"neither UTF-8 nor Windows-1252")),
    Case("png_renamed.csv", failed(r"binary data")),
    Case("old_xls_renamed.xlsx", failed(r"old binary Excel file \(\.xls\)")),
    Case("old_xls_renamed.csv", failed(r"old binary Excel file \(\.xls\)")),
    Case("truncated.xlsx", failed(r"damaged or truncated")),
    Case("zip_not_a_workbook.xlsx", failed(r"not an Excel workbook")),
    Case("csv_named_xlsx.xlsx", failed(r"named \.xlsx but is not an Excel workbook")),
    Case("empty_sheet.xlsx", failed(r"first sheet is empty")),
    Case(zip_bomb, failed(r"unreasonable size")),
    Case(sparse_workbook, failed(r"reaches column XFD \(16,384 columns\)", r"at most 200 columns", r"CSV")),
    Case(workbook_of_16384_columns, failed(r"reaches column XFD \(16,384 columns\)", r"at most 200 columns")),
    # Formulas and injection
    Case(
        "formulas.csv",
        loaded(
            1,
            (3, "Gross Premium", "Not a number"),
            (4, INSURED, Contains("formula")),
            (5, "Net Premium", "Not a number"),
        ),
    ),
    Case(
        "formulas.xlsx",
        loaded(
            2,
            (3, "Net Premium", "Required"),
            check=all_of(
                names_are("Hyper Ltd", "Insured 3 SAS"),
                field_values("gross_premium", Decimal("1000.00"), Decimal("1000.00")),
            ),
        ),
    ),
    Case(
        "csv_injection.csv",
        loaded(
            3,
            (3, INSURED, Contains("formula")),
            (4, INSURED, Contains("formula")),
            (5, "Class of Business", Contains("formula")),
            (6, INSURED, Contains("formula")),
            check=all_of(
                names_are("Insured 1 SAS", "Robert'); DROP TABLE ingestion_riskrow;--", "Smith - Jones & Co"),
                sql_text_stored_verbatim,
            ),
        ),
    ),
    Case(
        "csv_injection.xlsx",
        loaded(1, (3, INSURED, Contains("formula")), (4, "Class of Business", Contains("formula"))),
    ),
    # Long lines
    Case(ten_mb_data_line, failed(r"\bline 3\b")),
    Case(ten_mb_file_of_one_line, failed(r"\bline 1\b|no header row")),
    Case(ten_mb_header_line, failed(r"\bline 1\b")),
    Case(ten_mb_line_of_tiny_cells, loaded(2, (3, "", TOO_MANY_CELLS))),
    Case(header_of_1700_cells, failed(r"header row \(line 1\) has 1,700 cells; at most 1,000 columns")),
    # Dates
    Case(
        "dates_mixed_iso_and_ddmm.csv",
        loaded(
            4,
            check=dates_are(
                ("2026-10-01", "2027-09-30"),
                ("2026-10-15", "2027-10-14"),
                ("2026-10-20", "2027-10-19"),
                ("2026-11-01", "2027-10-31"),
            ),
        ),
    ),
    Case(
        "dates_ambiguous.csv",
        loaded(
            2,
            check=all_of(
                dates_are(("2026-04-03", "2027-04-02"), ("2026-06-05", "2027-06-04")), layout_note("ambiguous")
            ),
        ),
    ),
    Case(
        "dates_month_first.csv",
        loaded(
            2,
            check=all_of(
                dates_are(("2026-10-25", "2027-10-24"), ("2026-11-01", "2027-10-31")), layout_note("month/day/year")
            ),
        ),
    ),
    Case(
        "dates_conflicting_day_month.csv",
        loaded(1, (3, "Risk Inception Date", NOT_A_DATE), (3, "Risk Expiry Date", NOT_A_DATE)),
    ),
    Case(
        "dates_impossible.csv",
        loaded(
            1,
            (3, "Risk Inception Date", NOT_A_DATE),
            (4, "Risk Expiry Date", NOT_A_DATE),
            (5, "Risk Inception Date", NOT_A_DATE),
            (6, "Risk Inception Date", NOT_A_DATE),
        ),
    ),
    Case(
        "dates_excel_serial.csv",
        loaded(1, (3, "Risk Inception Date", NOT_A_DATE), (3, "Risk Expiry Date", NOT_A_DATE)),
    ),
    Case(
        "dates_excel_serial.xlsx",
        loaded(
            1,
            (3, "Risk Inception Date", NOT_A_DATE),
            (3, "Risk Expiry Date", NOT_A_DATE),
            check=dates_are(("2026-10-01", "2027-09-30")),
        ),
    ),
    Case(
        "expiry_before_inception.csv",
        loaded(
            1,
            (3, "Risk Expiry Date", "Must be after the inception date"),
            (4, "Risk Expiry Date", "Must be after the inception date"),
        ),
    ),
    # Numbers and codes
    Case(
        "numbers_mixed_styles.csv",
        loaded(
            3,
            (5, "Sum Insured", "Not a number"),
            (6, "Gross Premium", Contains("Not a number")),
            check=field_values("sum_insured", Decimal("1000000.00"), Decimal("2500000.00"), Decimal("1000000.00")),
        ),
    ),
    Case(
        "numbers_too_big_or_scientific.csv",
        loaded(1, (3, "Gross Premium", "Too large"), (4, "Sum Insured", "Not a number")),
    ),
    Case(
        "negative_amounts.csv",
        loaded(
            1,
            (3, "Gross Premium", "Must not be negative"),
            (3, "Net Premium", "Must not be negative"),
            (4, "Sum Insured", "Not a number"),
            (5, "Total Taxes", "Must not be negative"),
        ),
    ),
    Case(
        "amounts_with_currency_symbols.csv",
        loaded(
            1,
            (3, "Sum Insured", "Not a number"),
            (4, "Gross Premium", "Not a number"),
            (5, "Total Taxes", "Not a number"),
        ),
    ),
    Case(
        "percent_above_100.csv",
        loaded(
            1,
            (3, "Commission %", "Must be between 0 and 100"),
            (4, "Commission %", "Must be between 0 and 100"),
            (5, "Commission %", "Must be between 0 and 100"),
            check=field_values("commission_pct", Decimal("20")),
        ),
    ),
    Case(
        "unknown_currency.csv",
        loaded(
            1,
            (3, "Original Currency", "Not an ISO 4217 currency code"),
            (4, "Original Currency", "Not an ISO 4217 currency code"),
            (5, "Original Currency", "Not an ISO 4217 currency code"),
            check=field_values("currency", "USD"),
        ),
    ),
    Case(
        "unknown_country.csv",
        loaded(
            1,
            (3, "Location of Risk Country", "Not an ISO 3166 country code"),
            (4, "Location of Risk Country", "Not an ISO 3166 country code"),
            (5, "Location of Risk Country", "Not an ISO 3166 country code"),
            check=field_values("country", "CO"),
        ),
    ),
    Case(
        "unknown_transaction_type.csv",
        loaded(
            2,
            (3, "Transaction Type", TXN_CHOICES),
            (5, "Transaction Type", "Required"),
            check=field_values("transaction_type", "Original Premium", "Additional Premium"),
        ),
    ),
    Case(
        "net_premium_mismatch.csv",
        loaded(
            3,
            (3, "Net Premium", "Should be gross - commission - taxes = 750.00"),
            (6, "Net Premium", "Should be gross - commission - taxes = 750.00"),
            check=field_values("total_taxes", Decimal("50.00"), Decimal("50.00"), Decimal("0.00")),
        ),
    ),
    Case(
        "duplicate_natural_keys.csv",
        loaded(
            4,
            (4, "UMR + Certificate Ref + Transaction Type", "Same key as row 2"),
            (6, "UMR + Certificate Ref + Transaction Type", "Same key as row 2"),
            check=names_are("Insured 1 SAS", "Insured 2 SAS", "Insured 3 SAS", "Insured 1 SAS"),
        ),
    ),
    Case(
        "text_too_long.csv",
        loaded(
            1,
            (2, INSURED, "Longer than 255 characters"),
            (3, "UMR", "Longer than 200 characters"),
        ),
    ),
    # Layout and structure
    Case(
        "ragged_rows.csv",
        loaded(
            3,
            (3, "", TOO_MANY_CELLS),
            (4, "Commission %", "Required"),
            (4, "Net Premium", "Required"),
            (4, "Class of Business", "Required"),
            (4, "Transaction Type", "Required"),
        ),
    ),
    Case("unterminated_quote.csv", failed(r"quote", r"\b(line|row) 3\b")),
    Case("blank_lines_and_totals_row.csv", loaded(3, total=3)),
    Case(
        "semicolon_comma_decimals.csv",
        loaded(
            3,
            (5, "Location of Risk Country", "Not an ISO 3166 country code"),
            check=all_of(
                field_values("commission_pct", Decimal("20"), Decimal("20.5"), Decimal("20")),
                field_values("net_premium", Decimal("750.00"), Decimal("745.00"), Decimal("750.00")),
                field_values("sum_insured", *[Decimal("1000000.00")] * 3),
            ),
        ),
    ),
    Case(
        "crs_standard_words.csv",
        loaded(
            11,
            (13, "Gross Written Premium (GWP)", "Must not be negative"),
            (14, "Sum Insured Amount", "Must not be negative"),
            (15, "Transaction Type - Original Premium etc", TXN_CHOICES),
            (16, "Type of Business (New/Renewal)", "Not one of: New, Renewal"),
            (17, CRS_KEY_COLUMNS, "Same key as row 2"),
            (18, "Final Net Premium", "Should be gross - commission - taxes = -150.00"),
            check=all_of(crs_movements, name_on_line(3, "Zoë Ltd — Ñandú €")),
        ),
    ),
    Case(
        "tab_delimited.csv",
        loaded(2, (4, "Gross Premium", "Required"), check=names_are("Tab, Comma & Co", "Insured 2 SAS")),
    ),
    Case("pipe_delimited.csv", loaded(2)),
    Case(
        "title_rows_and_totals.xlsx",
        loaded(2, (9, "Original Currency", "Not an ISO 4217 currency code"), total=3),
    ),
    # Claims
    Case(
        "claims_total_incurred_mismatch.csv",
        loaded(2, (3, "Total Incurred", "Should be paid + previously paid + reserves = 3800.00")),
        kind="claims",
    ),
    Case(
        "claims_first_advised_before_loss.csv",
        loaded(2, (3, "Date Claim First Advised", "Is before the date of loss")),
        kind="claims",
    ),
    Case("claims_loss_in_future.csv", loaded(1, (3, "Date of Loss", "Is in the future")), kind="claims"),
    Case(
        "claims_unknown_status.csv",
        loaded(
            2,
            (3, "Claim Status", "Not one of: Closed, Denied, Open, Reopened"),
            (5, "Claim Status", "Required"),
            check=field_values("claim_status", "Reopened", "Denied"),
        ),
        kind="claims",
    ),
    Case("claims_duplicate_reference.csv", loaded(2, (4, "Claim Reference", "Same key as row 2")), kind="claims"),
]


def _case_id(case):
    return case.file if isinstance(case.file, str) else case.file.__name__.split(" ")[0]


def run_case(case, tmp_path, source_name="Corpus cedant"):
    """Upload and run one corpus file; returns the job, or the ValidationError when refused at upload."""
    path = CORPUS / case.file if isinstance(case.file, str) else case.file(tmp_path)
    source = source_create(actor=None, name=source_name)
    if case.profile:
        profile_save(actor=None, source=source, kind=case.kind, **case.profile)
    with path.open("rb") as upload:
        try:
            job = import_job_create(
                actor=None,
                source=source,
                kind=case.kind,
                period=PERIOD,
                upload=upload,
                original_name=path.name,
                enqueue=False,
            )
        except ValidationError as refusal:
            return refusal
    import_job_run(job_id=job.pk)  # must not raise, whatever the file holds
    job.refresh_from_db()
    return job


def _rows(case, job):
    model = RiskRow if case.kind == "risk" else ClaimRow
    return list(model.objects.filter(job=job).order_by("row_number"))


def test_the_corpus_holds_at_least_thirty_small_committed_files():
    files = [path for path in CORPUS.iterdir() if path.name != "README.md"]
    assert len(files) >= 30
    assert all(path.stat().st_size < 50 * 1024 for path in files)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    listed = {case.file for case in CASES if isinstance(case.file, str)}
    assert listed == {path.name for path in files}, "every committed file has a case here, and every case a file"
    for name in listed:
        assert f"`{name}`" in readme, f"{name} is not described in the corpus README"


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_each_malformed_file_is_refused_or_loaded_partially_with_the_right_messages_and_nothing_else(case, tmp_path):
    outcome = case.outcome
    result = run_case(case, tmp_path)

    if isinstance(outcome, Refused):
        assert isinstance(result, ValidationError), "the upload should have been refused"
        assert outcome.phrase in " ".join(result.messages)
        assert not ImportJob.objects.exists()
        assert not RiskRow.objects.exists() and not ClaimRow.objects.exists()
        return

    job = result
    assert not isinstance(job, ValidationError), f"refused at upload: {job}"
    assert job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED)

    if isinstance(outcome, Failed):
        assert job.status == ImportJob.Status.FAILED, f"expected a failure, got {job.status}: {job.error}"
        for pattern in outcome.patterns:
            assert re.search(pattern, job.error, re.IGNORECASE), f"{pattern!r} not in {job.error!r}"
        assert "unexpected error" not in job.error, "the person is told what is wrong with the file"
        assert job.rows_loaded == 0
        assert not RiskRow.objects.exists() and not ClaimRow.objects.exists(), "nothing is written for a refused file"
        assert not RowError.objects.filter(job=job).exists()
        return

    assert job.status == ImportJob.Status.SUCCEEDED, f"expected a partial load, got {job.status}: {job.error}"
    actual = list(job.row_errors.order_by("row_number", "id").values_list("row_number", "column", "message"))
    assert len(actual) == len(outcome.errors), f"row errors: {actual}"
    for (row, column, message), got in zip(outcome.errors, actual, strict=True):
        assert got[0] == row and _matches(column, got[1]) and _matches(message, got[2]), (
            f"expected {(row, column, message)}, got {got}; all: {actual}"
        )
    rejected_rows = {row for row, _column, _message in outcome.errors}
    rows = _rows(case, job)
    assert job.rows_loaded == outcome.loaded == len(rows)
    assert job.rows_rejected == len(rejected_rows)
    expected_total = outcome.total if outcome.total is not None else outcome.loaded + len(rejected_rows)
    assert job.rows_total == expected_total
    # Nothing else: only this job's good rows exist, none of them a rejected one.
    other_model = ClaimRow if case.kind == "risk" else RiskRow
    assert not other_model.objects.exists()
    assert (RiskRow if case.kind == "risk" else ClaimRow).objects.count() == len(rows)
    assert not rejected_rows & {row.row_number for row in rows}
    if outcome.check:
        outcome.check(job, rows)


LOADED_CSV_CASES = [case for case in CASES if isinstance(case.outcome, Loaded) and case.outcome.errors]


@pytest.mark.django_db
@pytest.mark.parametrize("case", LOADED_CSV_CASES, ids=_case_id)
def test_row_errors_name_the_line_of_the_file_and_the_column_as_the_file_heads_it(case, tmp_path):
    """In the person's terms: the row is the line (spreadsheet row) of their file, counting the
    header and any title rows, and the column is named as their own header row names it."""
    job = run_case(case, tmp_path)
    headers = [header.strip() for header in job.layout["headers"]]
    header_row = job.layout["header_row"]
    for error in job.row_errors.all():
        assert error.row_number > header_row
        if error.column:  # "" is a whole-row error
            for part in error.column.split(" + "):
                assert any(header and header in part for header in headers), (
                    f"row {error.row_number}: column {error.column!r} is not a header of the file {headers}"
                )
        assert error.message and error.message[0].isupper()


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_before_any_of_it_is_expanded(tmp_path, zip_bytes_expanded):
    job = run_case(Case(zip_bomb, failed("unreasonable size")), tmp_path)
    assert job.status == ImportJob.Status.FAILED
    assert "unreasonable size" in job.error
    expanded = sum(zip_bytes_expanded)
    assert expanded < 1024 * 1024, f"{expanded:,} bytes were decompressed to look at a 50 KB upload"


@pytest.mark.django_db
def test_the_import_command_fails_with_the_reason_and_writes_nothing_for_a_refused_file():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises((CommandError, SystemExit)) as failure:
        call_command(
            "import_bordereau",
            str(CORPUS / "duplicate_columns.csv"),
            source="Command cedant",
            kind="risk",
            period="2026-10",
            stdout=stdout,
            stderr=stderr,
        )
    if isinstance(failure.value, SystemExit):
        assert failure.value.code == 1
        said = stderr.getvalue()
    else:
        said = str(failure.value)
    assert "Two columns are both Gross Premium" in said
    assert not RiskRow.objects.exists()


@pytest.mark.django_db
def test_the_import_command_exits_with_status_one_when_the_job_fails(tmp_path):
    from django.core.management import call_command

    source = source_create(actor=None, name="Strict cedant")
    profile_save(actor=None, source=source, kind="risk", all_or_nothing=True)
    path = tmp_path / "one_bad_row.csv"
    path.write_text(f"{header_line()}\r\n{risk_line(1)}\r\n{risk_line(2, currency='XYZ')}\r\n", encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "import_bordereau", str(path), source="Strict cedant", period="2026-10", stdout=stdout, stderr=stderr
        )
    assert exit_info.value.code == 1
    assert '"status": "FAILED"' in stdout.getvalue() and '"rows_loaded": 0' in stdout.getvalue()
    assert "all-or-nothing" in stderr.getvalue()
    assert not RiskRow.objects.exists()
