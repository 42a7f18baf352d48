"""Moving uploaded bytes into the blob store: streamed, size-capped, typed by extension."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.datastructures import UploadFile

from threadline.blobs import CHUNK_SIZE, BlobStore, BlobTooLarge
from threadline.errors import PayloadTooLarge
from threadline.vault.paths import content_type_for, safe_filename
from threadline.vault.service import StoredBlob


def checked_name(upload: UploadFile) -> tuple[str, str]:
    """The upload's safe file name and content type (400 / 415 before any byte is stored)."""
    name = safe_filename(upload.filename or "")
    return name, content_type_for(name)


async def store(blobs: BlobStore, upload: UploadFile, *, max_mb: int) -> StoredBlob:
    """Stream ``upload`` into the blob store; 413 past ``MAX_UPLOAD_MB`` (nothing kept)."""
    name, content_type = checked_name(upload)

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(CHUNK_SIZE):
            yield chunk

    try:
        info = await blobs.put_stream(chunks(), max_bytes=max_mb * 1024 * 1024)
    except BlobTooLarge:
        raise PayloadTooLarge(f"{name} is larger than MAX_UPLOAD_MB={max_mb}.") from None
    return StoredBlob(
        sha256=info.sha256, size=info.size, content_type=content_type, original_name=name
    )
