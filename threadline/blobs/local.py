"""Blobs as files in a local directory: ``<root>/<sha[:2]>/<sha[2:4]>/<sha>``.

Each upload streams into ``<root>/tmp/``, is fsynced, then renamed into place and the directory
fsynced, so after a crash a blob's final name holds either nothing or its complete content; what
a crash leaves in ``tmp/`` is removed by :meth:`LocalBlobStore.cleanup_temporary`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread

from threadline.blobs.spool import (
    Spooled,
    discard,
    remove_quietly,
    remove_stale_temp_files,
    spool_to_temp,
)
from threadline.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    Chunk,
    blob_key,
    check_range,
    is_sha256,
    single_chunk,
)

_SHARD = re.compile(r"[0-9a-f]{2}")


class LocalBlobStore:
    """A :class:`~threadline.blobs.store.BlobStore` in a directory; blocking I/O runs in worker
    threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.temp_dir = root / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the blob lives (validated, so always inside ``root``)."""
        return self.root / blob_key(sha256)

    async def put_stream(
        self, chunks: AsyncIterable[Chunk], *, max_bytes: int | None = None
    ) -> BlobInfo:
        """Stream to a temporary file, then move it into place unless the blob already exists."""
        spooled = await spool_to_temp(chunks, self.temp_dir, max_bytes=max_bytes, fsync=True)
        try:
            created = await anyio.to_thread.run_sync(self._commit, spooled)
        except BaseException:
            await discard(spooled.path)
            raise
        return BlobInfo(sha256=spooled.sha256, size=spooled.size, created=created)

    async def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data`` (already in memory)."""
        return await self.put_stream(single_chunk(data))

    async def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return await anyio.to_thread.run_sync(self.path(sha256).is_file)

    async def size(self, sha256: str) -> int:
        """The blob's length; ``KeyError`` if missing."""
        path = self.path(sha256)
        try:
            stat = await anyio.to_thread.run_sync(path.stat)
        except FileNotFoundError:
            raise KeyError(sha256) from None
        return stat.st_size

    def read(
        self, sha256: str, *, start: int = 0, end: int | None = None, chunk_size: int = CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, min(end, size))``; bad arguments raise here, a missing blob
        raises ``KeyError`` on first iteration."""
        path = self.path(sha256)
        check_range(start, end, chunk_size)
        return self._read(path, sha256, start, end, chunk_size)

    async def _read(
        self, path: Path, sha256: str, start: int, end: int | None, chunk_size: int
    ) -> AsyncIterator[bytes]:
        try:
            fd, size = await anyio.to_thread.run_sync(_open_for_read, path)
        except FileNotFoundError:
            raise KeyError(sha256) from None
        try:
            stop = size if end is None else min(end, size)
            position = start
            while position < stop:
                data = await anyio.to_thread.run_sync(
                    os.pread, fd, min(chunk_size, stop - position), position
                )
                if not data:
                    break  # shorter than its size said: fsync will flag it
                position += len(data)
                yield data
        finally:
            os.close(fd)

    async def delete(self, sha256: str) -> None:
        """Remove the blob; already gone is fine."""
        await anyio.to_thread.run_sync(remove_quietly, self.path(sha256))

    async def list_all(self) -> AsyncIterator[str]:
        """Every stored digest, in order, listed one top-level shard at a time."""
        shards = await anyio.to_thread.run_sync(_subdirectories, self.root, _SHARD)
        for shard in shards:
            for sha256 in await anyio.to_thread.run_sync(_digests_in_shard, self.root / shard):
                yield sha256

    async def verify(self, sha256: str) -> bool:
        """Re-hash the file: True when it still matches its name; ``KeyError`` if missing."""
        path = self.path(sha256)
        try:
            digest = await anyio.to_thread.run_sync(_hash_file, path)
        except FileNotFoundError:
            raise KeyError(sha256) from None
        return digest == sha256

    async def cleanup_temporary(self, older_than_s: float = 3600) -> int:
        """Remove temporary files in ``tmp/`` untouched for ``older_than_s`` seconds."""
        return await anyio.to_thread.run_sync(remove_stale_temp_files, self.temp_dir, older_than_s)

    def _commit(self, spooled: Spooled) -> bool:
        """Move the complete temporary file into place; False (and drop it) on a duplicate."""
        final = self.path(spooled.sha256)
        if final.exists():
            remove_quietly(spooled.path)
            return False
        _make_directories_durably(self.root, final.parent)
        # Two identical uploads racing both reach here; replacing equal content is harmless.
        os.replace(spooled.path, final)
        _fsync_directory(final.parent)
        return True


def _open_for_read(path: Path) -> tuple[int, int]:
    fd = os.open(path, os.O_RDONLY)
    return fd, os.fstat(fd).st_size


def _hash_file(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_directories_durably(root: Path, directory: Path) -> None:
    """Create ``directory`` (below ``root``) and fsync the parent of each new level."""
    missing: list[Path] = []
    current = directory
    while current != root and not current.is_dir():
        missing.append(current)
        current = current.parent
    for level in reversed(missing):
        level.mkdir(exist_ok=True)
        _fsync_directory(level.parent)


def _subdirectories(directory: Path, pattern: re.Pattern[str]) -> list[str]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if pattern.fullmatch(n) and (directory / n).is_dir())


def _digests_in_shard(shard: Path) -> list[str]:
    """Digests stored below one top-level shard; stray files that do not belong are skipped."""
    found: list[str] = []
    for sub in _subdirectories(shard, _SHARD):
        prefix = shard.name + sub
        for name in os.listdir(shard / sub):
            if is_sha256(name) and name.startswith(prefix):
                found.append(name)
    return sorted(found)
