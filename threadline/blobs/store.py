"""The blob store interface: content-addressed (SHA-256), deduplicated, streamed bytes.

The vault keeps file contents here by digest; ``threadline fsck`` walks
:meth:`BlobStore.list_all` and calls :meth:`BlobStore.verify`. Two implementations:
:class:`~threadline.blobs.local.LocalBlobStore` (a directory, the default) and
:class:`~threadline.blobs.s3.S3BlobStore` (S3-compatible storage).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from threadline.config import Settings

CHUNK_SIZE = 1 << 20
"""Bytes per read, per write batch and per streamed chunk: memory per transfer stays near this."""

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class BlobInfo:
    """What :meth:`BlobStore.put_stream` stored."""

    sha256: str  # lowercase hex
    size: int
    created: bool  # False when an identical blob already existed (deduplicated)


class BlobTooLarge(Exception):
    """The stream passed ``max_bytes``; nothing was stored and no temporary file is left."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"blob is larger than the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


Chunk = bytes | bytearray | memoryview  # what a stream of blob bytes may yield


class BlobStore(Protocol):
    """Content-addressed storage. Every ``sha256`` argument must be 64 lowercase hex digits."""

    async def put_stream(
        self, chunks: AsyncIterable[Chunk], *, max_bytes: int | None = None
    ) -> BlobInfo:
        """Store the stream's bytes under their SHA-256; atomic, and deduplicated."""
        ...

    async def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data`` (already in memory) under its SHA-256."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    async def size(self, sha256: str) -> int:
        """The blob's length in bytes; ``KeyError`` if it is not stored."""
        ...

    def read(
        self, sha256: str, *, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, min(end, size))``; ``KeyError`` on first iteration if missing."""
        ...

    async def delete(self, sha256: str) -> None:
        """Remove the blob; deleting a missing blob is not an error."""
        ...

    def list_all(self) -> AsyncIterator[str]:
        """Every stored digest (for fsck)."""
        ...

    async def verify(self, sha256: str) -> bool:
        """Re-hash the stored bytes: True when they match the name; ``KeyError`` if missing."""
        ...

    async def cleanup_temporary(self, older_than_s: float = 3600) -> int:
        """Remove temporary files a crash left behind; returns how many were removed."""
        ...


def is_sha256(name: object) -> bool:
    """Whether ``name`` is 64 lowercase hex digits."""
    return isinstance(name, str) and _SHA256.fullmatch(name) is not None


def validate_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex digits, else raise ``ValueError``.

    Every path and object key is built from a validated digest, so no input can reach outside
    the store ("../x", absolute paths, separators).
    """
    if not is_sha256(sha256):
        raise ValueError(f"not a SHA-256 digest (64 lowercase hex digits): {sha256!r}")
    return sha256


def blob_key(sha256: str) -> str:
    """The blob's relative name, ``ab/cd/abcd...``: two shard levels keep directories small."""
    validate_sha256(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def check_range(start: int, end: int | None, chunk_size: int) -> None:
    """Reject negative offsets and non-positive chunk sizes (``ValueError``)."""
    if start < 0 or (end is not None and end < 0):
        raise ValueError(f"byte range must not be negative: start={start}, end={end}")
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive: {chunk_size}")


async def single_chunk(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as a one-chunk stream, so ``put_bytes`` shares ``put_stream``'s path."""
    yield data


def create_blob_store(settings: Settings) -> BlobStore:
    """The store ``THREADLINE_BLOB_URL`` names: ``file:///path``, ``s3://bucket/prefix``, or by
    default the directory ``home/blobs``."""
    # Imported here: local and s3 import this module, and boto3 loads only when S3 is configured.
    from threadline.blobs.local import LocalBlobStore
    from threadline.blobs.s3 import S3BlobStore

    url = settings.blob_url
    if not url:
        return LocalBlobStore(settings.home / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ValueError(
                f"THREADLINE_BLOB_URL={url!r}: write a local directory as file:///absolute/path"
            )
        return LocalBlobStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"THREADLINE_BLOB_URL={url!r}: write S3 storage as s3://bucket/prefix")
        return S3BlobStore.connect(
            bucket=parts.netloc,
            prefix=unquote(parts.path).strip("/"),
            endpoint_url=settings.s3_endpoint_url,
            spool_dir=settings.home / "blob-spool",
        )
    raise ValueError(
        f"THREADLINE_BLOB_URL={url!r}: use file:///absolute/path or s3://bucket/prefix"
    )
