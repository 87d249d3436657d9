"""Reading bordereau files as rows of text, streaming, with the limits that keep a hostile file
(a zip bomb, binary junk, a 10 MB line, a sheet of two cells a million rows apart) from taking
the worker down."""

import codecs
import csv
import io
import os
import re
import zipfile
import zlib
from functools import lru_cache
from itertools import islice

from django.utils.formats import number_format
from django.utils.translation import gettext as _

MAX_FIELD_CHARS = 100_000
MAX_XLSX_UNCOMPRESSED = 500 * 1024 * 1024
MAX_XLSX_RATIO = 200
# calamine holds a sheet as a dense grid of 32-byte cells from its first used cell to its last:
# two cells, A1 and XFD1048576, make 17 billion. A sheet may span this many columns, and this many
# cells counted from A1 (320 MB of grid at most; 500,000 rows of 20 columns fit).
MAX_XLSX_COLUMNS = 200
MAX_XLSX_CELLS = 10_000_000
XML_CHUNK_BYTES = 1 << 20
# No cell of a real workbook comes near this (Excel stops at 32,767 characters); a longer stretch
# without a tag would have to be held whole to be checked.
MAX_XML_STRETCH_BYTES = 1 << 20
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
    """Refuse truncated workbooks, zip bombs and sheets that calamine would expand into a huge
    grid, before a reader expands anything."""
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
            for member in members:
                _check_member(archive, member)
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(_("The Excel file is damaged or truncated; save it again and re-upload.")) from exc


def _check_member(archive, member):
    """Read one part of the workbook to its end, which checks its checksum as the zip's own test
    does; a worksheet (whichever calamine takes for the first) is measured on the way."""
    is_sheet = member.filename.replace("\\", "/").lower().startswith("xl/worksheets/")
    try:
        if is_sheet:
            check_sheet_extent(lambda: archive.open(member))
        else:
            with archive.open(member) as stream:
                while stream.read(XML_CHUNK_BYTES):
                    pass
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UnreadableFile(_("The Excel file is damaged (a part of it fails its checksum).")) from exc


def check_sheet_extent(open_sheet):
    """Refuse a worksheet whose cells reach past MAX_XLSX_COLUMNS columns or MAX_XLSX_CELLS cells
    counted from A1. `open_sheet()` opens its XML, which is read a megabyte at a time; a sheet
    whose widest row comes after its first megabyte is read twice (see SheetExtent)."""
    extent = _measured(open_sheet, SheetExtent())
    if extent.widened:
        extent = _measured(open_sheet, SheetExtent(columns=extent.columns))
    return extent


def _measured(open_sheet, extent):
    with open_sheet() as stream:
        rest = b""  # from the last "<" read: a tag that may be cut short
        while block := stream.read(XML_CHUNK_BYTES):
            first, last = block.find(b"<"), block.rfind(b"<")
            if first < 0:
                rest += block
            else:
                # The tag cut short before, with the text after it; then the block up to its last tag
                # (not copied): every tag is read whole.
                extent.read(rest + block[:first], 0, None)
                extent.read(block, first, last)
                rest = block[last:]
            if len(rest) > MAX_XML_STRETCH_BYTES:
                raise UnreadableFile(
                    _("The Excel file holds a cell or an element longer than 1 MB and cannot be read safely.")
                )
        extent.read(rest, 0, None)
    return extent


# calamine (quick-xml) takes any XML white space, or none after a quoted value, before an attribute,
# white space around its "=" and either quote. With white space read as spaces, "'" as '"' and the
# spaces around "=" dropped, every attribute named r reads ' r="' or '"r="'.
XML_NORMAL = bytes.maketrans(b"\t\n\r'", b'   "')
UNNORMAL_MARKS = (b"\t", b"\n", b"\r", b"'")
SPACED_EQUALS = re.compile(rb" *= *")
REFERENCE = re.compile(rb'[ "]r="([A-Za-z]*)0*([0-9]*)')
DIMENSION = re.compile(rb'<(?:[^ <>/]*:)?dimension ref="([^"]*)"')
# A <c> or <row> (of any namespace prefix) whose first attribute is not r: calamine places it after
# the one before, so such a stretch is walked tag by tag (see SheetExtent.walk).
UNPLACED_TAGS = (
    re.compile(rb'<c(?! r=")[ />]'),
    re.compile(rb'<row(?! r=")[ />]'),
    re.compile(rb':(?:c|row)(?! r=")[ />]'),
)
# A tag's attributes stop at the next "<" as well as at its ">": one pass over the text, whatever it holds.
ROW_OR_CELL_TAG = re.compile(rb'<(/?)(?:[^ <>/]*:)?(row|c)(?=[ />])((?:[^>"<]|"[^"<]*")*)(>?)')
LONGEST_NUMBER = 9  # digits; a longer row number counts as 10^10, and so does a column of five letters


def normalised(text):
    text = text.translate(XML_NORMAL)
    if b" =" in text or b"= " in text:
        text = SPACED_EQUALS.sub(b"=", text)
    return text


class SheetExtent:
    """The rows and columns a worksheet's cells reach, as calamine places them: by a cell's r="B7",
    else after the cell before it in its row and the row before it. Everything that might be a
    reference counts, even outside a cell: an over-estimate is safe, an under-estimate is not.

    The first stretch of a sheet holds its header, hence (nearly always) its widest row; after it,
    one search per megabyte looks for a reference to a column past the widest so far or to a row
    past what the cell limit leaves at that width (or an "=" with spaces around it), and only a
    stretch where it finds one has all its references read. Should the sheet widen after rows were
    held to the limit at a narrower width, `widened` asks for a second reading that knows the width."""

    def __init__(self, *, columns=0):
        self.rows, self.columns = 0, columns
        self.next_row = self.next_column = 1  # where calamine puts a cell without a reference
        self.before_cells = True  # until <sheetData>, where the sheet may state its size
        self.rows_held_to_width = False  # rows of some stretch were only held to the limit at the width then
        self.widened = False

    def read(self, text, start, end):
        """Take in `text[start:end]` (end None: to its end); refuse the sheet once it is too large."""
        end = len(text) if end is None else end
        if start >= end:
            return
        if any(text.find(mark, start, end) >= 0 for mark in UNNORMAL_MARKS):
            text, start, end = self._normalised(text, start, end)
        if self.before_cells:
            self._read_dimension(text, start, end)
        if beyond(MAX_XLSX_CELLS // max(1, self.columns), self.columns).search(text, start, end):
            text, start, end = self._normalised(text, start, end)
            for letters, digits in REFERENCE.findall(text, start, end):
                self.note(*reference_place(letters, digits))
        elif (last := text.rfind(b' r="', start, end)) >= 0:
            # Rows come in order: the last reference names the largest row (for the message only).
            self.rows = max(self.rows, reference_place(*REFERENCE.match(text, last, end).groups())[0])
            self.rows_held_to_width = True
        if any(pattern.search(text, start, end) for pattern in UNPLACED_TAGS):
            self.walk(*self._normalised(text, start, end))
        else:
            self.next_row = self.next_column = None
        self.check()

    def _read_dimension(self, text, start, end):
        """The sheet's own word on its size: a sheet that says it is too big is refused at once."""
        cells = text.find(b"sheetData", start, end)
        self.before_cells = cells < 0
        dimension = DIMENSION.search(normalised(text[start : end if self.before_cells else cells]))
        if dimension:
            for corner in dimension.group(1).split(b":"):
                self.note(*reference_place(*REFERENCE.match(b' r="' + corner).groups()))
            self.check()

    @staticmethod
    def _normalised(text, start, end):
        text = normalised(text[start:end])
        return text, 0, len(text)

    def walk(self, text, start, end):
        """Follow calamine through the tags of `text`, for the cells and rows without a reference."""
        if self.next_row is None:  # after a stretch where every place was written out: at most here
            self.next_row, self.next_column = self.rows + 1, self.columns + 1
        for tag in ROW_OR_CELL_TAG.finditer(text, start, end):
            closing, name, attributes, ended = tag.groups()
            if closing:
                if name == b"row":
                    self.next_row, self.next_column = self.next_row + 1, 1
                continue
            places = [reference_place(*found) for found in REFERENCE.findall(attributes)]
            if name == b"row":
                self.next_row = max([self.next_row, *(row for row, _column in places)])
                if attributes.endswith(b"/") or not ended:
                    self.next_row, self.next_column = self.next_row + 1, 1
            elif places:
                self.next_column = max([self.next_column, *(column for _row, column in places)]) + 1
            else:
                self.note(self.next_row, self.next_column)
                self.next_column += 1

    def note(self, row, column):
        if column > self.columns and self.rows_held_to_width:
            self.widened = True
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)

    def check(self):
        if self.columns > MAX_XLSX_COLUMNS:
            raise UnreadableFile(
                _(
                    "The sheet reaches column %(column)s (%(count)s columns); at most %(limit)s columns can be "
                    "read. Delete the columns beyond the data, or save the bordereau as CSV."
                )
                % {
                    "column": column_letters(self.columns),
                    "count": number_format(self.columns, force_grouping=True),
                    "limit": number_format(MAX_XLSX_COLUMNS, force_grouping=True),
                }
            )
        if self.rows * self.columns > MAX_XLSX_CELLS:
            raise UnreadableFile(
                _(
                    "The sheet spans %(rows)s rows by %(columns)s columns (%(cells)s cells from A1 to its last "
                    "cell); at most %(limit)s cells can be read. Delete the rows and columns beyond the data, "
                    "or save the bordereau as CSV."
                )
                % {
                    "rows": number_format(self.rows, force_grouping=True),
                    "columns": number_format(self.columns, force_grouping=True),
                    "cells": number_format(self.rows * self.columns, force_grouping=True),
                    "limit": number_format(MAX_XLSX_CELLS, force_grouping=True),
                }
            )


def reference_place(letters, digits):
    """(row, column), 1-based, of a reference such as b"XFD", b"1048576" (or b"", b"7" for a row)."""
    digits = digits.lstrip(b"0")
    row = int(digits or b"0") if len(digits) <= LONGEST_NUMBER else 10**10
    if len(letters) > LONGEST_NUMBER // 2:
        return row, 10**10
    column = 0
    for letter in letters.upper():
        column = column * 26 + letter - 64
    return row, column


def column_letters(number):
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@lru_cache(maxsize=64)
def beyond(rows, columns):
    """A pattern for a reference to a row past `rows` or a column past `columns`, or for an "="
    with a space beside it (which a reference could hide behind). It may find something that is no
    reference (another attribute ending in r, text): it only decides which stretches are read whole."""
    digits, letters = str(rows), column_letters(columns)
    row_after = "|".join(filter(None, (f"[1-9][0-9]{{{len(digits)},}}", _after(digits, DIGITS))))
    column_after = "|".join(filter(None, (f"[A-Za-z]{{{len(letters) + 1},}}", _after(letters, LETTERS))))
    # The look-ahead turns the many shorter row numbers away before any alternative is tried.
    shorter_turned_away = f"(?=[1-9][0-9]{{{len(digits) - 1}}})"
    return re.compile(
        f'r(?:="(?:{column_after}|[A-Za-z]{{0,3}}+0*+{shorter_turned_away}(?:{row_after}))| +=|= )'.encode()
    )


DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _after(text, alphabet):
    """A regular expression for the strings as long as `text` that come after it in `alphabet`'s
    order (letters in either case): nested, so that each character is looked at once."""
    if not text:
        return ""
    head, rest = text[0], text[1:]
    options = []
    later = alphabet[alphabet.index(head) + 1 :]
    if later:
        options.append(f"{_class(later)}{_class(alphabet)}{{{len(rest)}}}")
    inner = _after(rest, alphabet)
    if inner:
        options.append(f"{_class(head)}(?:{inner})")
    return "|".join(options)


def _class(characters):
    """A character class for a run of consecutive characters, letters in either case."""
    first, last = characters[0], characters[-1]
    run = first if first == last else f"{first}-{last}"
    return f"[{run}{run.lower() if first.isalpha() else ''}]"


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
