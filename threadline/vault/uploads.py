"""Uploads: checking names and types before any byte is stored, and reading the multipart body
straight into the blob store."""

from __future__ import annotations

import uuid

from starlette.requests import Request

from threadline.errors import Invalid
from threadline.runtime import Runtime
from threadline.vault.multipart import StreamedForm, read_form
from threadline.vault.paths import content_type_for, safe_filename
from threadline.vault.service import StoredBlob


def checked_name(filename: str) -> tuple[str, str]:
    """A safe file name and its content type (400 / 415 before any byte is stored)."""
    name = safe_filename(filename)
    return name, content_type_for(name)


def _check(_field: str, filename: str) -> None:
    checked_name(filename)


async def receive(request: Request, runtime: Runtime, *, max_files: int) -> StreamedForm:
    """The request's form, its files already in the blob store (413 past ``MAX_UPLOAD_MB``)."""
    return await read_form(
        request,
        blobs=runtime.blobs,
        max_file_bytes=runtime.settings.max_upload_mb * 1024 * 1024,
        max_files=max_files,
        check_file=_check,
    )


def stored(filename: str, sha256: str, size: int) -> StoredBlob:
    name, content_type = checked_name(filename)
    return StoredBlob(sha256=sha256, size=size, content_type=content_type, original_name=name)


def flag(form: StreamedForm, name: str) -> bool:
    """A boolean form field: true/false, 1/0, yes/no, on/off (absent is false)."""
    value = (form.value(name) or "").strip().lower()
    if value in ("", "false", "0", "no", "off"):
        return False
    if value in ("true", "1", "yes", "on"):
        return True
    raise Invalid(f"{name} must be true or false, not {value!r}.", code="INVALID_FIELD")


def uuid_field(form: StreamedForm, name: str) -> uuid.UUID | None:
    """An optional id form field (400 when it is not a UUID)."""
    value = (form.value(name) or "").strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Invalid(f"{name} must be a UUID, not {value[:50]!r}.", code="INVALID_FIELD") from None


def text(form: StreamedForm, name: str, *, max_length: int) -> str | None:
    value = form.value(name)
    if value is not None and len(value) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters.", code="INVALID_FIELD")
    return value or None
