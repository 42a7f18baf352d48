"""Read a user's BOM or parts spreadsheet (CSV or XLSX) into rows keyed by canonical column names.

Pure: bytes in, a :class:`Table` out; no database, no HTTP. Real exports are messy (see
shared/data/real-boms/README.md): metadata lines above the header, ``;`` or tab delimiters,
repeated or shifted columns, ragged rows. Every repair made is written to ``Table.notes`` so an
import can tell the user what was assumed.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from typing import Any, Literal

import openpyxl

from threadline.errors import Invalid, UnsupportedMediaType
from threadline.rejoin import Record, RowNote, rejoin_split_cells

__all__ = ["Row", "RowNote", "Table", "expand_refdes", "normalise_header", "read_table"]

ColumnAliases = Mapping[str, Sequence[str]]
"""Canonical column name -> header spellings accepted for it (compared by normalise_header)."""

SUPPORTED = "CSV (comma, semicolon or tab separated, UTF-8) or XLSX"
HEADER_SCAN_ROWS = 50
DELIMITERS = (",", ";", "\t")
# The shifted-values repair (see _realign_shifted): how empty "empty" is, how filled the unnamed
# trailing column must be, absolutely and relative to the columns it would realign.
SHIFT_EMPTY_AT_MOST = 0.1
SHIFT_MIN_FILLED = 0.25
SHIFT_FILL_RATIO = 0.9


@dataclass(frozen=True)
class Row:
    """One data row: mapped cells by canonical column, the rest by header as written."""

    number: int
    values: dict[str, str]
    extra: dict[str, str]


@dataclass(frozen=True)
class Table:
    """A spreadsheet read into canonical columns, with the repairs that were needed."""

    format: Literal["csv", "xlsx"]
    sheet: str | None
    delimiter: str | None
    header_row: int
    columns: list[str]
    unmapped: list[str]
    rows: list[Row]
    notes: list[str]
    row_notes: list[RowNote] = field(default_factory=list)
    blank_rows: list[int] = field(default_factory=list)  # blank rows between data rows


@dataclass(frozen=True)
class _HeaderMatch:
    position: int  # index of the header record in the record stream
    score: tuple[int, int]  # (canonical columns found, named cells): the better split wins


def read_table(
    data: bytes, *, aliases: ColumnAliases, required: Sequence[str], max_rows: int = 1_000_000
) -> Table:
    """Read CSV or XLSX ``data`` (format told by content) into rows with canonical columns.

    Raises UnsupportedMediaType (415) for other formats and Invalid (400) for an empty, damaged
    or header-less file or one with more than ``max_rows`` data rows.
    """
    unknown = [name for name in required if name not in aliases]
    if unknown:
        raise ValueError(f"required columns {unknown} have no aliases")
    if not data:
        raise _empty()
    lookup = _alias_lookup(aliases)
    if _detect_format(data) == "xlsx":
        return _read_xlsx(data, aliases, lookup, required, max_rows)
    return _read_csv(data, aliases, lookup, required, max_rows)


def normalise_header(text: str) -> str:
    """Header key ignoring case, spacing and punctuation: "Ref Des" == "ref_des" == "REF-DES"."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


_RANGE = re.compile(r"([^\W\d]+)(\d+)-([^\W\d]*)(\d+)")


def expand_refdes(text: str, *, limit: int = 10_000) -> list[str]:
    """Reference designators in ``text``: "C1, C2 C5;R1-R3" -> C1 C2 C5 R1 R2 R3, deduplicated.

    Separators are commas, semicolons and whitespace. Raises ValueError for a descending or
    mixed-prefix range and for more than ``limit`` designators.
    """
    seen: dict[str, None] = {}
    for token in re.split(r"[\s,;]+", re.sub(r"\s*[-\u2013]\s*", "-", text)):
        for designator in _expand_token(token, limit) if token else ():
            seen[designator] = None
            if len(seen) > limit:
                raise ValueError(f"more than {limit} reference designators in one cell")
    return list(seen)


def _expand_token(token: str, limit: int) -> Iterable[str]:
    match = _RANGE.fullmatch(token)
    if match is None:
        return (token,)
    prefix, first, end_prefix, last = match.groups()
    if end_prefix and end_prefix != prefix:
        raise ValueError(
            f"range {token!r} mixes prefixes {prefix!r} and {end_prefix!r}; "
            f"a range must stay within one prefix, like {prefix}1-{prefix}4"
        )
    start, stop = int(first), int(last)
    if stop < start:
        raise ValueError(
            f"range {token!r} runs backwards; write it as {prefix}{last}-{prefix}{first}"
        )
    if stop - start >= limit:
        raise ValueError(f"range {token!r} has more than {limit} reference designators")
    width = len(first) if first.startswith("0") else 0  # keep R01-R03 zero-padded
    return (f"{prefix}{n:0{width}d}" for n in range(start, stop + 1))


# --- format and text -------------------------------------------------------------------------


def _detect_format(data: bytes) -> Literal["csv", "xlsx"]:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _unsupported("This is a legacy Excel (.xls) file or a password-protected workbook")
    if data.startswith(b"%PDF"):
        raise _unsupported("This is a PDF document")
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "csv"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.open("mimetype").read(100) if "mimetype" in names else b""
    except Exception as exc:  # zipfile raises BadZipFile, zlib.error, EOFError... on damage
        raise _unreadable_workbook() from exc
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise _unsupported("This is an OpenDocument (.ods) file; save it as XLSX or CSV")
    if "xl/workbook.xml" not in names:
        raise _unsupported("This is a zip archive, not an XLSX workbook")
    return "xlsx"


def _decode(data: bytes, notes: list[str]) -> str:
    """UTF-8 (BOM optional); Excel's "Unicode text" UTF-16; else Windows-1252, then Latin-1."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _unsupported("This looks like damaged UTF-16 text") from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
                notes.append("the file is not valid UTF-8; read it as Windows-1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
                notes.append("the file is not valid UTF-8; read it as Latin-1")
    if "\x00" in text:
        raise _unsupported("This is a binary file, not a spreadsheet export")
    return text


# --- CSV -------------------------------------------------------------------------------------


def _read_csv(
    data: bytes,
    aliases: ColumnAliases,
    lookup: dict[str, str],
    required: Sequence[str],
    max_rows: int,
) -> Table:
    notes: list[str] = []
    text = _decode(data, notes)
    if not text.strip():
        raise _empty()
    best: tuple[str, _HeaderMatch] | None = None
    unreadable: list[Invalid] = []
    for delimiter in DELIMITERS:
        try:
            sample = list(islice(_csv_records(text, delimiter), HEADER_SCAN_ROWS))
        except Invalid as exc:
            unreadable.append(exc)
            continue  # a wrong delimiter can make a legal file look malformed
        match = _find_header(sample, lookup, required)
        if match and (best is None or match.score > best[1].score):
            best = (delimiter, match)
    if best is None:
        if len(unreadable) == len(DELIMITERS):
            raise unreadable[0]  # no delimiter reads it: say what is wrong with the text
        raise _header_not_found(aliases, required)
    delimiter, match = best
    (header_row, names), data_rows, blank = _collect(
        _csv_records(text, delimiter), match.position, max_rows
    )
    row_notes: list[RowNote] = []
    if any(len(cells) > len(names) for _, cells in data_rows):
        # A split cell is rejoined from the cells as written (spaces around the delimiter
        # included), so only then is the file read a second time without stripping.
        _, raw_rows, _ = _collect(
            _csv_records(text, delimiter, strip=False), match.position, max_rows
        )
        raw_rows = rejoin_split_cells(names, raw_rows, delimiter, row_notes)
        data_rows = [(number, [cell.strip() for cell in cells]) for number, cells in raw_rows]
    table = _tabulate(
        "csv", None, delimiter, (header_row, names), match.position, data_rows, lookup, notes
    )
    table.row_notes.extend(row_notes)
    table.blank_rows.extend(blank)
    return table


def _csv_records(text: str, delimiter: str, *, strip: bool = True) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, [cell.strip() for cell in cells] if strip else cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise Invalid(
            f"Line {start} cannot be read as CSV ({exc}); check its quotes and re-export the file.",
            code="UNREADABLE_FILE",
        ) from exc


# --- XLSX ------------------------------------------------------------------------------------


def _read_xlsx(
    data: bytes,
    aliases: ColumnAliases,
    lookup: dict[str, str],
    required: Sequence[str],
    max_rows: int,
) -> Table:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about extensions a user can't fix
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = list(book.worksheets)
        for sheet in sheets:
            sheet.reset_dimensions()  # trust the cells, not a stale A1:XFD1048576 claim
    except Exception as exc:  # openpyxl raises whatever its zip and XML layers raise
        raise _unreadable_workbook() from exc
    try:
        blank = True
        for sheet in sheets:
            sample = list(islice(_sheet_records(sheet), HEADER_SCAN_ROWS))
            blank = blank and not any(any(cells) for _, cells in sample)
            match = _find_header(sample, lookup, required)
            if match is None:
                continue
            notes: list[str] = []
            if len(sheets) > 1:
                others = ", ".join(repr(s.title) for s in sheets if s is not sheet)
                notes.append(f"read sheet {sheet.title!r}; other sheets ignored: {others}")
            header, rows, gaps = _collect(_sheet_records(sheet), match.position, max_rows)
            table = _tabulate(
                "xlsx", sheet.title, None, header, match.position, rows, lookup, notes
            )
            table.blank_rows.extend(gaps)
            return table
    finally:
        book.close()
    raise _empty() if blank else _header_not_found(aliases, required)


def _sheet_records(sheet: Any) -> Iterator[Record]:
    try:
        rows = sheet.iter_rows(values_only=True)  # read-only mode yields gaps as empty rows
        for number, values in enumerate(rows, start=1):
            cells = [_cell_text(value) for value in values]
            while cells and not cells[-1]:
                cells.pop()
            yield number, cells
    except Exception as exc:  # damaged sheet XML surfaces only while iterating
        raise _unreadable_workbook() from exc


def _cell_text(value: object) -> str:
    """Cell value as the text a person sees: 3 not 3.0, dates in ISO 8601, empty as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return (value.date() if value.time() == time() else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


# --- header, rows and repairs ----------------------------------------------------------------


def _alias_lookup(aliases: ColumnAliases) -> dict[str, str]:
    """Normalised spelling -> canonical column; the canonical name is itself a spelling."""
    lookup: dict[str, str] = {}
    for canonical, spellings in aliases.items():
        for spelling in (canonical, *spellings):
            if key := normalise_header(spelling):
                lookup.setdefault(key, canonical)
    return lookup


def _find_header(
    sample: list[Record], lookup: dict[str, str], required: Sequence[str]
) -> _HeaderMatch | None:
    """First row naming every required column and two known ones (or only known ones)."""
    for position, (_, cells) in enumerate(sample):
        named = [normalise_header(cell) for cell in cells if cell]
        found = {lookup[key] for key in named if key in lookup}
        if not found.issuperset(required):
            continue
        if len(found) >= 2 or (found and all(key in lookup for key in named)):
            return _HeaderMatch(position, (len(found), len(named)))
    return None


def _collect(
    records: Iterator[Record], position: int, max_rows: int
) -> tuple[Record, list[Record], list[int]]:
    """The header record at ``position``, every non-blank record after it, and the numbers of
    the blank rows between data rows (blank rows after the last one are not worth a word)."""
    header = next(islice(records, position, None))
    rows: list[Record] = []
    blank: list[int] = []
    pending: list[int] = []
    for number, cells in records:
        if not "".join(cells).strip():  # raw CSV cells may hold only spaces
            if rows:
                pending.append(number)
            continue
        blank += pending
        pending = []
        if len(rows) == max_rows:
            raise Invalid(
                f"The file has more than {max_rows} data rows; split it into smaller files.",
                code="TOO_MANY_ROWS",
            )
        rows.append((number, cells))
    return header, rows, blank


def _tabulate(
    kind: Literal["csv", "xlsx"],
    sheet: str | None,
    delimiter: str | None,
    header: Record,
    position: int,
    data: list[Record],
    lookup: dict[str, str],
    notes: list[str],
) -> Table:
    header_row, names = header
    if position:
        unit = "line" if kind == "csv" else "row"
        notes.append(f"skipped {position} {unit}(s) above the header on {unit} {header_row}")
    width = len(names)
    while names and not names[-1]:
        names = names[:-1]
    names = _realign_shifted(names, data, notes)
    sources, unmapped = _map_columns(names, lookup, notes)
    rows = [_row(number, cells, names, sources) for number, cells in data]
    wide = [number for number, cells in data if len(cells) > max(width, len(names))]
    if wide and kind == "xlsx":  # CSV rows wider than the header went through the rejoin
        shown = ", ".join(map(str, wide[:5])) + (", ..." if len(wide) > 5 else "")
        notes.append(
            f"{len(wide)} row(s) have cells past the last header column ({shown}); "
            "check those rows (values past the header are kept as _col<N>)"
        )
    return Table(kind, sheet, delimiter, header_row, list(sources), unmapped, rows, notes)


def _realign_shifted(names: list[str], data: list[Record], notes: list[str]) -> list[str]:
    """Undo values written one column right of their header (KiCad's BOM plugin does this).

    The tell: a named column is empty on nearly every row, while the unnamed column just past the
    last header cell is filled about as often as the best-filled column between the two. Names
    from the empty column on then move one to the right. Fill is compared with the neighbours,
    not with every row, because sparse BOMs are common: 72 of the 167 lines of
    hackrf-one.bom.csv have no description, manufacturer or part number at all.
    """
    if not data or not names:
        return names
    counts = [0] * (len(names) + 1)
    for _, cells in data:
        for column, cell in enumerate(cells[: len(counts)]):
            counts[column] += bool(cell)
    fill = [count / len(data) for count in counts]
    trailing = fill[-1]
    if trailing < SHIFT_MIN_FILLED:
        return names
    for column, name in enumerate(names):
        between = fill[column + 1 : -1]
        if (
            name
            and fill[column] <= SHIFT_EMPTY_AT_MOST
            and trailing >= SHIFT_FILL_RATIO * max(between, default=1.0)
        ):
            notes.append(
                f"values were shifted one column right of the header from {name!r} onward; "
                "realigned"
            )
            return [*names[:column], "", *names[column:]]
    return names


def _map_columns(
    names: list[str], lookup: dict[str, str], notes: list[str]
) -> tuple[dict[str, list[int]], list[str]]:
    """Canonical column -> source columns, and the header cells that matched no alias.

    The first spelling of a canonical column wins; the same spelling repeated (Manufacturer
    twice) joins it, and rows take the first non-empty value among those columns.
    """
    sources: dict[str, list[int]] = {}
    spelling: dict[str, str] = {}
    unmapped: list[str] = []
    for column, name in enumerate(names):
        key = normalise_header(name)
        canonical = lookup.get(key)
        if canonical is None:
            if name:
                unmapped.append(name)
        elif spelling.setdefault(canonical, key) == key:
            sources.setdefault(canonical, []).append(column)
        else:
            first = names[sources[canonical][0]]
            notes.append(f"{name!r} also means {canonical}; {first!r} is used, {name!r} kept aside")
    for canonical, columns in sources.items():
        if len(columns) > 1:
            notes.append(
                f"{len(columns)} columns are headed {names[columns[0]]!r}; each row takes the "
                f"first non-empty one as {canonical}"
            )
    return sources, unmapped


def _row(number: int, cells: list[str], names: list[str], sources: dict[str, list[int]]) -> Row:
    values: dict[str, str] = {}
    mapped: set[int] = set()
    leftovers: set[int] = set()  # filled cells of a repeated column that lost to an earlier one
    for canonical, columns in sources.items():
        filled = [c for c in columns if c < len(cells) and cells[c]]
        values[canonical] = cells[filled[0]] if filled else ""
        mapped.update(columns)
        leftovers.update(filled[1:])
    extra: dict[str, str] = {}
    for column, cell in enumerate(cells):
        if not cell or (column in mapped and column not in leftovers):
            continue
        name = names[column] if column < len(names) else ""
        if column in leftovers or name in extra:
            name = f"{name} (column {column + 1})"
        extra[name or f"_col{column + 1}"] = cell
    return Row(number, values, extra)


# --- errors ----------------------------------------------------------------------------------


def _unsupported(what: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(f"{what}. Upload {SUPPORTED}.", code="UNSUPPORTED_FORMAT")


def _unreadable_workbook() -> Invalid:
    return Invalid(
        "The file looks like an XLSX workbook but is damaged and cannot be opened; "
        "save it again from your spreadsheet program, or export it as CSV.",
        code="UNREADABLE_FILE",
    )


def _empty() -> Invalid:
    return Invalid("The file is empty; upload a BOM with a header row.", code="EMPTY_FILE")


def _header_not_found(aliases: ColumnAliases, required: Sequence[str]) -> Invalid:
    wanted = "; ".join(f"{name} (any of: {', '.join(aliases[name])})" for name in required)
    return Invalid(
        f"No header row found in the first {HEADER_SCAN_ROWS} rows. Add a header row naming at "
        f"least two known columns" + (f", including {wanted}." if wanted else "."),
        code="HEADER_NOT_FOUND",
    )
