"""Writing tables as CSV or XLSX downloads (exports of parts and BOMs share this)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from starlette.responses import Response

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_CELL_LIMIT = 32_767  # characters Excel keeps in one cell
# Control characters XML 1.0 cannot carry (tab, newline and carriage return it can); openpyxl
# raises IllegalCharacterError on them, so they are removed.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _cell(value: Any) -> Any:
    """Cells as a person writes them: 2 not 2.000000, 0.25 not 0.250000, blank for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value.normalize())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM so Excel opens ± and Ω correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def xlsx_text(text: str) -> str:
    """``text`` as an XLSX cell can hold it: without XML-illegal control characters, and cut
    to Excel's cell limit."""
    return _ILLEGAL.sub("", text)[:XLSX_CELL_LIMIT]


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """One sheet: the header row frozen and filterable, then ``rows``."""
    workbook = Workbook(write_only=True)
    # Excel forbids []:*?/\ in sheet titles; names come from user data (part numbers).
    title = re.sub(r"[\[\]:*?/\\]", "_", xlsx_text(sheet))[:31].strip("'") or "Sheet"
    worksheet = workbook.create_sheet(title)
    worksheet.freeze_panes = "A2"  # written with the sheet's first row, so set before it
    worksheet.append([_xlsx_cell(worksheet, name) for name in header])
    count = 1
    for row in rows:
        worksheet.append([_xlsx_cell(worksheet, _cell(v)) for v in row])
        count += 1
    worksheet.auto_filter.ref = f"A1:{get_column_letter(max(len(header), 1))}{count}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_cell(worksheet: Any, value: Any) -> Any:
    """Text stays text: cleaned, and never read as a formula (a part named ``=1+1``)."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(worksheet, xlsx_text(value))
    cell.data_type = "s"
    return cell


def download(data: bytes, filename: str, media_type: str) -> Response:
    """An attachment response; the file name is reduced to safe characters."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:150] or "export"
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def table_response(
    fmt: str, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Response:
    """``fmt`` is csv or xlsx."""
    if fmt == "xlsx":
        return download(xlsx_bytes(name, header, rows), f"{name}.xlsx", XLSX_TYPE)
    return download(csv_bytes(header, rows), f"{name}.csv", "text/csv; charset=utf-8")
