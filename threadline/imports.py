"""What parts and BOM imports share: reading the upload and the dry-run report shape."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fastapi import UploadFile

from threadline.errors import PayloadTooLarge, Unprocessable
from threadline.schemas import ApiModel
from threadline.tabular import Table

CHUNK = 1 << 20


class ImportProblem(ApiModel):
    """One problem, located so a person can fix the file: row number, column, message."""

    row: int
    column: str | None
    message: str


class FieldChange(ApiModel):
    """A field's value before and after the import (None: empty)."""

    before: Any
    after: Any


class ImportChange(ApiModel):
    """What one row does to the part it names: ``changes`` maps column → before/after."""

    row: int
    part_number: str
    action: Literal["create", "update", "unchanged"]
    changes: dict[str, FieldChange] = {}


class ImportReport(ApiModel):
    """``{rows, valid, errors[]}`` (productflo-sync-api: BOM Import / Parts Import)."""

    rows: int
    valid: int
    errors: list[ImportProblem]
    warnings: list[ImportProblem] = []
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    parts_created: int = 0
    changes: list[ImportChange] = []


async def read_upload(file: UploadFile, max_mb: int) -> bytes:
    """The uploaded file's bytes; 413 past ``max_mb`` (spreadsheets are parsed in memory)."""
    limit = max_mb * 1024 * 1024
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The file is larger than MAX_UPLOAD_MB={max_mb}.")
        chunks.append(chunk)
    return b"".join(chunks)


class Problems:
    """Collects located errors and warnings while an import is checked."""

    def __init__(self) -> None:
        self.errors: list[ImportProblem] = []
        self.warnings: list[ImportProblem] = []

    def error(self, row: int, column: str | None, message: str) -> None:
        self.errors.append(ImportProblem(row=row, column=column, message=message))

    def warn(self, row: int, column: str | None, message: str) -> None:
        self.warnings.append(ImportProblem(row=row, column=column, message=message))

    def read_from(self, table: Table, *, consumed: Callable[[str], bool] | None = None) -> None:
        """Report what reading ``table`` assumed or refused, and every cell that is not imported:
        the sheet's repairs (at the header row), located row repairs and refusals, blank rows,
        and per column the rows whose values no column of the import takes (``consumed`` tells
        which leftover values the importer does read, such as DNP marks)."""
        for note in table.notes:
            self.warn(table.header_row, None, note)
        for row_note in table.row_notes:
            (self.error if row_note.error else self.warn)(
                row_note.row, row_note.column, row_note.message
            )
        if table.blank_rows:
            self.warn(
                table.blank_rows[0],
                None,
                f"{len(table.blank_rows)} blank row(s) skipped: rows {row_list(table.blank_rows)}",
            )
        leftovers: dict[str, list[int]] = {}
        for row in table.rows:
            for column, value in row.extra.items():
                if consumed is None or not consumed(value):
                    leftovers.setdefault(column, []).append(row.number)
        for column, numbers in leftovers.items():
            self.warn(
                numbers[0],
                column,
                f"no column of this import takes {column!r}; its values were not imported "
                f"(rows {row_list(numbers)})",
            )

    def report(
        self,
        *,
        rows: int,
        valid: int,
        dry_run: bool,
        changes: list[ImportChange] | None = None,
        **counts: int,
    ) -> ImportReport:
        return ImportReport(
            rows=rows,
            valid=valid,
            errors=self.errors,
            warnings=self.warnings,
            dry_run=dry_run,
            changes=changes or [],
            **counts,
        )

    def refuse_if_any(self, rows: int, valid: int) -> None:
        """On apply, any error refuses the whole file: 400 with the full report, nothing written."""
        if self.errors:
            report = self.report(rows=rows, valid=valid, dry_run=False)
            raise Unprocessable(
                f"The file has {len(self.errors)} problem(s); nothing was imported. First: row "
                f"{self.errors[0].row}, {self.errors[0].column or 'row'}: {self.errors[0].message}",
                code="IMPORT_INVALID",
                **report.model_dump(mode="json", by_alias=True),
            )


def row_list(numbers: Iterable[int]) -> str:
    """Row numbers as a person reads them: ``2-4, 9, 12-13``."""
    ordered = sorted(set(numbers))
    spans: list[str] = []
    start = previous = None
    for number in [*ordered, None]:
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None and previous is not None:
            spans.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return ", ".join(spans)


_TRUE = {"1", "true", "yes", "y", "x", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def parse_bool(text: str) -> bool | None:
    """Spreadsheet booleans: yes/no, true/false, 1/0, x; empty → None; anything else raises."""
    value = text.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes/no, true/false or 1/0")


def parse_decimal(text: str, *, what: str = "number") -> Decimal:
    """``1.5``, ``1,5`` (decimal comma), ``1,000.5``, ``$ 12.00``; raises ValueError otherwise."""
    value = text.strip().lstrip("$€£¥").strip().replace("\u00a0", "").replace(" ", "")
    if "," in value and "." in value:
        value = value.replace(",", "")
    elif value.count(",") == 1:
        value = value.replace(",", ".")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a {what}") from None
    if not number.is_finite():
        raise ValueError(f"{text!r} is not a {what}")
    return number
