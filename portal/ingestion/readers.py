"""Reading bordereau files as rows of text, streaming, with the limits that keep a hostile file
(a zip bomb, binary junk, a 10 MB line) from taking the worker down."""

import codecs
import csv
import io
import os
import zipfile
from functools import lru_cache
from itertools import islice

from django.utils.translation import gettext as _

MAX_FIELD_CHARS = 100_000
MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024
MAX_XLSX_RATIO = 200
SAMPLE_BYTES = 256 * 1024
# PostgreSQL's COPY reads these encodings itself; anything else (UTF-16) goes through Python.
COPY_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252"}
COPY_CHUNK_BYTES = 1 << 20
TOTALS_WORDS = frozenset({"total", "totals", "grand total", "sub total", "subtotal", "total general", "totales"})
TOTALS_INITIALS = frozenset(word[0] for word in TOTALS_WORDS) | frozenset(word[0].upper() for word in TOTALS_WORDS)
# Byte classes for checking quotes: D a cell or line boundary, Q a quoted stretch, x anything else.
QUOTE_CLASSES = {
    delimiter: bytes(
        ord("D") if byte in (ord(delimiter), ord("\n"), ord("\r")) else ord("Q") if byte == 0 else ord("x")
        for byte in range(256)
    )
    for delimiter in (",", ";", "\t", "|")
}

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


class NotStreamable(Exception):
    """Part of the file is not plain enough to hand to PostgreSQL as it is: read it all in Python."""


def is_totals(cells):
    for cell in cells[:3]:
        text = cell.lstrip()
        if text and text[0] in TOTALS_INITIALS and " ".join(text.lower().rstrip(": ").split()) in TOTALS_WORDS:
            return True
    return False


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

    @property
    def copy_encoding(self):
        return COPY_ENCODINGS.get(self.encoding)

    def data_start(self, header_row):
        """Where the first record after the header starts (a byte offset) and how many cells the
        header has. Raises NotStreamable if the lines up to there do not split plainly."""
        decoder = codecs.getincrementaldecoder(self.encoding)()
        offset = 0
        with open(self.path, "rb") as raw:

            def lines():
                nonlocal offset
                for line in raw:
                    # Python's reader also ends lines at a lone carriage return; PostgreSQL does not.
                    if line.count(b"\r") > line.endswith(b"\r\n"):
                        raise NotStreamable
                    try:
                        text = decoder.decode(line)
                    except UnicodeDecodeError as exc:
                        raise NotStreamable from exc
                    offset += len(line)
                    yield text

            reader = csv.reader(lines(), delimiter=self.delimiter, strict=True)
            try:
                header = next(islice(reader, header_row - 1, None))
            except (csv.Error, StopIteration) as exc:
                raise NotStreamable from exc
        return offset, len(header)

    def copy_chunks(self, start, *, cells):
        """The records from byte `start` on, as CSV for PostgreSQL's COPY: one line per record with
        `cells` cells each, in chunks of about a megabyte. Yields (data, records, ragged), where
        ragged lists the records (counted within the chunk) that had non-blank cells beyond those.
        Most chunks go as they are; one that PostgreSQL might read differently from Python is
        parsed here and written out again; one that Python cannot read raises NotStreamable."""
        with open(self.path, "rb") as raw:
            raw.seek(start)
            self._counter = CountingReader(raw)
            self._counter.bytes_read = start
            handle = io.BufferedReader(self._counter, COPY_CHUNK_BYTES)
            while chunk := handle.read(COPY_CHUNK_BYTES):
                rest = handle.readline(COPY_CHUNK_BYTES)
                if len(rest) == COPY_CHUNK_BYTES and not rest.endswith(b"\n"):
                    raise NotStreamable  # chunks stay near a megabyte: a longer line goes to the Python reader
                chunk += rest
                if not chunk.endswith(b"\n"):
                    chunk += b"\n"
                plain = plain_chunk(chunk, self.delimiter, cells)
                if plain is not None:
                    yield plain, plain.count(b"\n"), ()
                else:
                    yield self._rewritten(chunk, cells)

    def _rewritten(self, chunk, cells):
        try:
            text = chunk.decode(self.encoding.replace("-sig", ""))  # a mark mid-file is a character
        except UnicodeDecodeError as exc:
            raise NotStreamable from exc
        output = io.StringIO()
        # COPY expects the line ending of the first line throughout; every cell quoted reads back as it is.
        ending = "\r\n" if b"\r\n" in chunk else "\n"
        writer = csv.writer(output, delimiter=self.delimiter, lineterminator=ending, quoting=csv.QUOTE_ALL)
        records, ragged = 0, []
        try:
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter, strict=True):
                # Binary data gets its message, with its line, from the Python reader.
                if "\x00" in "".join(row):
                    raise NotStreamable
                if len(row) > cells and not is_totals(row) and "".join(row[cells:]).strip():
                    ragged.append(records)
                writer.writerow(row[:cells] + [""] * (cells - len(row)))
                records += 1
        except csv.Error as exc:
            raise NotStreamable from exc
        return output.getvalue().encode(self.encoding.replace("-sig", "")), records, ragged


def plain_chunk(chunk, delimiter, cells):
    """The chunk, with empty lines filled in with delimiters, if PostgreSQL's CSV reader splits it
    exactly as Python's strict one does: one record per line, `cells` cells each. None if not."""
    if b"\x00" in chunk or b"\\" in chunk:  # NUL bytes, and COPY's end-of-data marker
        return None
    if b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n"):
        return None
    # A line longer than the field limit would span a whole window without a line break.
    window = MAX_FIELD_CHARS // 2
    if any(chunk.find(b"\n", at, at + window) < 0 for at in range(0, len(chunk) - window, window)):
        return None
    filler = delimiter.encode() * (cells - 1)
    if filler:  # COPY refuses an empty line where it expects several cells; blank rows are dropped later
        if chunk.startswith((b"\n", b"\r\n")):
            chunk = filler + chunk
        for empty in (b"\n\n", b"\n\r\n"):
            while empty in chunk:
                chunk = chunk.replace(empty, b"\n" + filler + empty[1:])
    lines = chunk.count(b"\n")
    outside = chunk
    if b'"' in chunk:
        # PostgreSQL lets quotes open or close anywhere in a cell; Python's strict reader does not.
        # Paired quotes become one marker each; every marker must touch a cell boundary on both
        # sides (or another marker: a doubled quote) and no pair may hold a line break.
        pieces = chunk.split(b'"')
        if len(pieces) % 2 == 0:
            return None
        outside = b"\x00".join(pieces[::2])
        if outside.count(b"\n") != lines:
            return None
        classes = outside.translate(QUOTE_CLASSES[delimiter])
        if b"xQ" in classes or b"Qx" in classes:
            return None
    if outside.count(delimiter.encode()) != lines * (cells - 1):
        return None
    return chunk


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
