"""Reading bordereau files as rows of text, streaming, with the limits that keep a hostile file
(a zip bomb, binary junk, a 10 MB line) from taking the worker down."""

import codecs
import csv
import io
import os
import zipfile
from functools import lru_cache

from django.utils.translation import gettext as _

MAX_FIELD_CHARS = 100_000
MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024
MAX_XLSX_RATIO = 200
SAMPLE_BYTES = 256 * 1024

csv.field_size_limit(MAX_FIELD_CHARS)


class UnreadableFile(Exception):
    """The file cannot be read at all; the message says why, for the person who uploaded it."""


def file_format(path, original_name=""):
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            _("This is an old binary Excel file (.xls). Save it as .xlsx or .csv and upload it again.")
        )
    if original_name.lower().endswith((".xlsx", ".xlsm")):
        raise UnreadableFile(_("The file is named .xlsx but is not an Excel workbook."))
    return "csv"


def read_sample(path):
    with open(path, "rb") as handle:
        return handle.read(SAMPLE_BYTES)


def detect_encoding(sample):
    if not sample.strip():
        raise UnreadableFile(_("The file is empty."))
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise UnreadableFile(_("This does not look like a text (CSV) file: it contains binary data."))
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(_("The file's text encoding is neither UTF-8 nor Windows-1252.")) from exc


class CountingReader(io.RawIOBase):
    """A binary file that tells how many bytes have been read, for the progress bar."""

    def __init__(self, handle):
        self.handle = handle
        self.bytes_read = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self.handle.readinto(buffer)
        self.bytes_read += count or 0
        return count


class CsvRows:
    """Rows of a CSV file as lists of strings; `position` is the fraction of the file read."""

    def __init__(self, path, *, encoding, delimiter, size):
        self.path, self.encoding, self.delimiter, self.size = path, encoding, delimiter, max(size, 1)
        self._counter = None

    @property
    def position(self):
        return min(1.0, self._counter.bytes_read / self.size) if self._counter else 0.0

    def __iter__(self):
        with open(self.path, "rb") as raw:
            self._counter = CountingReader(raw)
            text = io.TextIOWrapper(io.BufferedReader(self._counter, 1 << 20), encoding=self.encoding, newline="")
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            record_start = 1
            try:
                for row in reader:
                    yield row
                    record_start = reader.line_num + 1
            except UnicodeDecodeError as exc:
                raise UnreadableFile(
                    _("The file is not valid %(encoding)s at line %(line)d. Check the encoding in the profile.")
                    % {"encoding": self.encoding, "line": first_undecodable_line(self.path, self.encoding)}
                ) from exc
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    message = _("Line %(line)d opens a quote that is never closed.") % {"line": record_start}
                else:
                    message = _("Line %(line)d cannot be read as CSV: %(error)s") % {
                        "line": reader.line_num,
                        "error": exc,
                    }
                raise UnreadableFile(message) from exc


def first_undecodable_line(path, encoding):
    """The decoder reads ahead of the CSV parser, so find the offending line in the bytes."""
    decoder = codecs.getincrementaldecoder(encoding.replace("-sig", ""))()
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError:
                return number
    return 1


def binary_data_error(line):
    return UnreadableFile(
        _("This does not look like a text (CSV) file: it contains binary data at line %(line)d.") % {"line": line}
    )


def check_xlsx_is_safe(path):
    """Refuse truncated workbooks and zip bombs before a reader expands anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "[Content_Types].xml" not in names or not any(name.startswith("xl/worksheets/") for name in names):
                raise UnreadableFile(_("This zip file is not an Excel workbook."))
            # Sizes from the directory first: nothing is expanded before they look sane.
            expanded = sum(member.file_size for member in members)
            packed = max(1, sum(member.compress_size for member in members))
            if expanded > MAX_XLSX_UNCOMPRESSED or expanded / packed > MAX_XLSX_RATIO:
                raise UnreadableFile(_("The Excel file expands to an unreasonable size and was refused as unsafe."))
            if archive.testzip() is not None:
                raise UnreadableFile(_("The Excel file is damaged (a part of it fails its checksum)."))
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(_("The Excel file is damaged or truncated; save it again and re-upload.")) from exc


@lru_cache(maxsize=1)
def first_sheet(path, mtime_ns, size):
    """The workbook's first sheet, checked and loaded once for detection and reading alike (the
    file's time and size are part of the key, so a changed file is loaded again). The engine
    clears it when an import ends: a worker should not hold a whole sheet in memory between jobs."""
    from python_calamine import CalamineWorkbook

    check_xlsx_is_safe(path)
    try:
        return CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    except Exception as exc:
        raise UnreadableFile(_("The Excel file cannot be opened: %(error)s") % {"error": exc}) from exc


class XlsxRows:
    """Rows of the first worksheet, as text, read with calamine (much faster than openpyxl)."""

    def __init__(self, path):
        self.path = path
        self._done = 0
        self._height = 1

    @property
    def position(self):
        return min(1.0, self._done / self._height)

    def __iter__(self):
        stat = os.stat(self.path)
        sheet = first_sheet(str(self.path), stat.st_mtime_ns, stat.st_size)
        self._height = max(1, sheet.height)
        for cells in sheet.iter_rows():
            self._done += 1
            yield [_cell_text(cell) for cell in cells]


def _cell_text(cell):
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 1e15:
        return str(int(cell))
    if hasattr(cell, "isoformat"):
        return cell.isoformat()[:10]
    return str(cell)
