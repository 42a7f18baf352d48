"""What parts and BOM imports share: reading the upload and the dry-run report shape."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import UploadFile

from threadline.errors import PayloadTooLarge, Unprocessable
from threadline.schemas import ApiModel

CHUNK = 1 << 20


class ImportProblem(ApiModel):
    """One problem, located so a person can fix the file: row number, column, message."""

    row: int
    column: str | None
    message: str


class ImportReport(ApiModel):
    """``{rows, valid, errors[]}`` (productflo-sync-api: BOM Import / Parts Import)."""

    rows: int
    valid: int
    errors: list[ImportProblem]
    warnings: list[ImportProblem] = []
    dry_run: bool
    created: int = 0
    updated: int = 0
    parts_created: int = 0


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

    def report(self, *, rows: int, valid: int, dry_run: bool, **counts: int) -> ImportReport:
        return ImportReport(
            rows=rows,
            valid=valid,
            errors=self.errors,
            warnings=self.warnings,
            dry_run=dry_run,
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
