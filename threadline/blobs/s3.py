"""Blobs as objects in S3-compatible storage: key ``<prefix>/<sha[:2]>/<sha[2:4]>/<sha>``.

boto3 is synchronous, so every call runs in a worker thread. An upload is spooled to a local
temporary file while it is hashed (the key is the digest, known only at the end), then uploaded
with ``upload_file``, which streams the file in parts; a PUT becomes visible only when complete, so
a crash never leaves a partial object under a blob's key. Credentials and region come from the
usual ``AWS_*`` environment variables; ``THREADLINE_S3_ENDPOINT_URL`` points at S3-compatible
servers.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.to_thread
from botocore.exceptions import ClientError

from threadline.blobs.spool import Spooled, discard, remove_stale_temp_files, spool_to_temp
from threadline.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    Chunk,
    blob_key,
    check_range,
    is_sha256,
    single_chunk,
)

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
_T = TypeVar("_T")


class S3BlobStore:
    """A :class:`~threadline.blobs.store.BlobStore` in one bucket, below ``prefix``."""

    def __init__(self, *, client: S3Client, bucket: str, prefix: str, spool_dir: Path) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.spool_dir = spool_dir

    @classmethod
    def connect(
        cls, *, bucket: str, prefix: str, endpoint_url: str | None, spool_dir: Path
    ) -> S3BlobStore:
        """A store with its own boto3 client (clients are thread-safe; sessions are not)."""
        import boto3  # imported here: it takes ~0.2 s and only S3 deployments need it

        client = boto3.client("s3", endpoint_url=endpoint_url)
        return cls(client=client, bucket=bucket, prefix=prefix, spool_dir=spool_dir)

    def key(self, sha256: str) -> str:
        """The blob's object key (validated)."""
        key = blob_key(sha256)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put_stream(
        self, chunks: AsyncIterable[Chunk], *, max_bytes: int | None = None
    ) -> BlobInfo:
        """Spool and hash locally, then upload unless an object with that digest exists."""
        # No fsync: the spool file is only a staging copy; durability is the object store's.
        spooled = await spool_to_temp(chunks, self.spool_dir, max_bytes=max_bytes, fsync=False)
        try:
            created = await anyio.to_thread.run_sync(self._upload_if_absent, spooled)
        finally:
            await discard(spooled.path)
        return BlobInfo(sha256=spooled.sha256, size=spooled.size, created=created)

    async def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data`` (already in memory)."""
        return await self.put_stream(single_chunk(data))

    async def exists(self, sha256: str) -> bool:
        """Whether the object is stored."""
        return await anyio.to_thread.run_sync(self._head_size, self.key(sha256)) is not None

    async def size(self, sha256: str) -> int:
        """The blob's length; ``KeyError`` if missing."""
        size = await anyio.to_thread.run_sync(self._head_size, self.key(sha256))
        if size is None:
            raise KeyError(sha256)
        return size

    def read(
        self, sha256: str, *, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, min(end, size))`` with a ranged GET; bad arguments raise here,
        a missing blob raises ``KeyError`` on first iteration."""
        key = self.key(sha256)
        check_range(start, end, chunk_size)
        return self._read(key, sha256, start, end, chunk_size)

    async def _read(
        self, key: str, sha256: str, start: int, end: int | None, chunk_size: int
    ) -> AsyncIterator[bytes]:
        size = await anyio.to_thread.run_sync(self._head_size, key)
        if size is None:
            raise KeyError(sha256)
        stop = size if end is None else min(end, size)
        if start >= stop:
            return  # an empty range needs no GET (and S3 would answer 416 for it)
        body = await anyio.to_thread.run_sync(self._open_range, key, sha256, start, stop)
        try:
            while data := await anyio.to_thread.run_sync(body.read, chunk_size):
                yield data
        finally:
            body.close()

    async def delete(self, sha256: str) -> None:
        """Remove the object; S3 answers a delete of a missing key with success."""
        key = self.key(sha256)
        await anyio.to_thread.run_sync(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=key)
        )

    async def list_all(self) -> AsyncIterator[str]:
        """Every stored digest, one ``list_objects_v2`` page (up to 1000 keys) at a time."""
        pages = iter(
            self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
            )
        )
        while page := await anyio.to_thread.run_sync(_next_page, pages):
            for item in page.get("Contents", []):
                sha256 = self._digest_of(item.get("Key", ""))
                if sha256 is not None:
                    yield sha256

    async def verify(self, sha256: str) -> bool:
        """Download and re-hash the object; ``KeyError`` if missing."""
        key = self.key(sha256)
        return await anyio.to_thread.run_sync(self._hash_object, key, sha256) == sha256

    async def cleanup_temporary(self, older_than_s: float = 3600) -> int:
        """Remove stale local spool files and abort multipart uploads under the prefix that were
        started more than ``older_than_s`` seconds ago (what a crashed upload leaves)."""
        spooled = await anyio.to_thread.run_sync(
            remove_stale_temp_files, self.spool_dir, older_than_s
        )
        aborted = await anyio.to_thread.run_sync(self._abort_stale_uploads, older_than_s)
        return spooled + aborted

    def _digest_of(self, key: str) -> str | None:
        """The digest a key names, or None for an object that is not one of ours."""
        sha256 = key.rsplit("/", 1)[-1]
        if is_sha256(sha256) and key == self.key(sha256):
            return sha256
        return None

    def _head_size(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as error:
            if _error_code(error) in _MISSING_CODES:
                return None
            raise

    def _upload_if_absent(self, spooled: Spooled) -> bool:
        key = self.key(spooled.sha256)
        if self._head_size(key) is not None:
            return False
        self.client.upload_file(str(spooled.path), self.bucket, key)
        return True

    def _open_range(self, key: str, sha256: str, start: int, stop: int) -> StreamingBody:
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{stop - 1}"
            )
        except ClientError as error:
            if _error_code(error) in _MISSING_CODES:
                raise KeyError(sha256) from None  # deleted since the HEAD
            raise
        return response["Body"]

    def _hash_object(self, key: str, sha256: str) -> str:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as error:
            if _error_code(error) in _MISSING_CODES:
                raise KeyError(sha256) from None
            raise
        digest = hashlib.sha256()
        try:
            for chunk in body.iter_chunks(CHUNK_SIZE):
                digest.update(chunk)
        finally:
            body.close()
        return digest.hexdigest()

    def _abort_stale_uploads(self, older_than_s: float) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        aborted = 0
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"] <= cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        return aborted


def _next_page(pages: Iterator[_T]) -> _T | None:
    """The next listing page, or None at the end (``next`` blocks on the network)."""
    return next(pages, None)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
