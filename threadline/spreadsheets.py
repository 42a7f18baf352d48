"""Writing tables as CSV or XLSX downloads (exports of parts and BOMs share this)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from starlette.responses import Response

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    # Excel forbids []:*?/\ in sheet titles; names come from user data (part numbers).
    worksheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "Sheet")
    worksheet.append(list(header))
    for row in rows:
        worksheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


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
