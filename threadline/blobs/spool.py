"""Streaming a blob to a local temporary file while hashing it, shared by both stores.

The event loop only hands chunks over. Two threads do the work, each on its own core when there
is one: the *hasher* updates the SHA-256 and passes each chunk on to the *writer*, which appends
it to the file, asking the kernel to start writing back every few MiB so the closing ``fsync``
waits for the tail of the file rather than all of it. At most :data:`IN_FLIGHT` chunks are
between the loop and the disk: memory stays flat whatever the stream's length, and a slow disk
slows the sender (TCP backpressure) instead of filling memory.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from threadline.blobs.store import BlobTooLarge, Chunk

TEMP_SUFFIX = ".part"
IN_FLIGHT = 4 * 1024 * 1024  # bytes handed to the threads and not yet written
SLOT = 128 * 1024  # IN_FLIGHT is counted in slots of this size; a chunk takes one or more
COALESCE_BELOW = 64 * 1024  # smaller chunks are gathered into one hand-over
HAND_OVER = 256 * 1024  # and a stream no longer than this is written without the threads
WRITEBACK_EVERY = 8 * 1024 * 1024


@dataclass(frozen=True)
class Spooled:
    """A complete temporary copy of a stream, and its digest and length."""

    path: Path
    sha256: str
    size: int


_DONE = None


class _Pipeline:
    """A uniquely named temporary file fed by the event loop through a hasher and a writer
    thread. The first error a thread meets is kept and raised to the loop on its next call."""

    def __init__(self, directory: Path, *, fsync: bool) -> None:
        self.directory = directory
        self.path: Path | None = None  # set by open()
        self._fd = -1
        # Held while the file is opened, written in one call or closed: a discard from a
        # cancelled caller waits for a worker thread still using the descriptor, so the
        # descriptor is never closed under it (and reused by another file meanwhile).
        self._lock = threading.Lock()
        self._fsync = fsync
        self._hash = hashlib.sha256()
        self._slots = threading.Semaphore(IN_FLIGHT // SLOT)
        self._to_hash: queue.SimpleQueue[tuple[Chunk, int] | None] = queue.SimpleQueue()
        self._to_write: queue.SimpleQueue[tuple[Chunk, int] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closed = False
        self._threads: list[threading.Thread] = []  # started by the first put

    def open(self) -> None:
        """Create the temporary file (blocking)."""
        with self._lock:
            self._raise_error()
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.directory, prefix="blob-", suffix=TEMP_SUFFIX)
            self._fd, self.path = fd, Path(name)

    @property
    def running(self) -> bool:
        """Whether the threads have started (they do once a stream outgrows one hand-over)."""
        return bool(self._threads)

    def _start(self) -> None:
        self._threads = [
            threading.Thread(target=self._hash_loop, name="blob-hash", daemon=True),
            threading.Thread(target=self._write_loop, name="blob-write", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- the event loop's side ------------------------------------------------------------------

    async def put(self, chunk: Chunk) -> None:
        """Queue one chunk, waiting (off the loop) while :data:`IN_FLIGHT` bytes are queued."""
        self._raise_error()
        if not self._threads:
            self._start()
        slots = min(-(-len(chunk) // SLOT), IN_FLIGHT // SLOT) or 1
        for taken in range(slots):
            if not self._slots.acquire(blocking=False):
                await anyio.to_thread.run_sync(self._acquire, slots - taken)
                self._raise_error()
                break
        self._to_hash.put((chunk, slots))

    async def finish(self, tail: Chunk = b"") -> str:
        """Add ``tail``, wait for every chunk to be hashed and written (and fsynced, when
        asked); the digest. A stream that is all tail (a small file) is written in one blocking
        call instead, without starting the threads."""
        if not self._threads:
            return await anyio.to_thread.run_sync(self._write_whole, tail)
        if tail:
            await self.put(tail)
        self._to_hash.put(_DONE)
        await anyio.to_thread.run_sync(self._join)
        self._raise_error()
        return self._hash.hexdigest()

    def discard(self) -> None:
        """Stop the threads and remove the file (blocking; run in a worker thread)."""
        self._error = self._error or _Abandoned()
        self._to_hash.put(_DONE)
        self._slots.release(IN_FLIGHT // SLOT)  # a put still waiting for room goes on and out
        self._join()
        with self._lock:
            if self.path is not None:
                remove_quietly(self.path)

    def _acquire(self, slots: int) -> None:
        for _ in range(slots):
            self._slots.acquire()

    def _write_whole(self, data: Chunk) -> str:
        with self._lock:
            self._raise_error()
            self._hash.update(data)
            _write_all(self._fd, data)
            if self._fsync:
                os.fsync(self._fd)
            self._close_locked()
        return self._hash.hexdigest()

    def _join(self) -> None:
        for thread in self._threads:
            thread.join()
        self._close()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    # -- the threads ----------------------------------------------------------------------------

    def _hash_loop(self) -> None:
        while (item := self._to_hash.get()) is not _DONE:
            if self._error is None:
                try:
                    self._hash.update(item[0])
                except BaseException as exc:  # pragma: no cover - hashing bytes does not fail
                    self._error = exc
            self._to_write.put(item)
            del item  # hold no chunk while waiting for the next
        self._to_write.put(_DONE)

    def _write_loop(self) -> None:
        written = hinted = 0
        while (item := self._to_write.get()) is not _DONE:
            chunk, slots = item
            try:
                if self._error is None:
                    written += _write_all(self._fd, chunk)
                    if self._fsync and _start_writeback and written - hinted >= WRITEBACK_EVERY:
                        _start_writeback(self._fd, hinted, written - hinted)
                        hinted = written
            except BaseException as exc:  # a full disk, an I/O error: raised to the loop
                self._error = exc
            finally:
                self._slots.release(slots)  # always: the loop never waits on a failed pipeline
                del item, chunk  # hold no chunk while waiting for the next
        if self._error is None and self._fsync:
            try:
                os.fsync(self._fd)
            except BaseException as exc:
                self._error = exc

    def _close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if not self._closed and self._fd >= 0:
            self._closed = True
            os.close(self._fd)


class _Abandoned(Exception):
    """The spool was abandoned by its caller; nothing more is written."""


def _write_all(fd: int, chunk: Chunk) -> int:
    """``os.write`` until all of ``chunk`` is written; its length."""
    view = memoryview(chunk)
    total = len(view)
    while view:
        view = view[os.write(fd, view) :]
    return total


def _writeback_starter() -> Callable[[int, int, int], None] | None:
    """Linux's ``sync_file_range(SYNC_FILE_RANGE_WRITE)``: start writing a range of dirty cached
    pages back without waiting (Python's ``os`` has no binding); None elsewhere. Only a hint."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    sync_file_range_write = 2

    def start(fd: int, offset: int, length: int) -> None:
        function(fd, offset, length, sync_file_range_write)  # failing only loses the head start

    return start


_start_writeback = _writeback_starter()


async def spool_to_temp(
    chunks: AsyncIterable[Chunk],
    directory: Path,
    *,
    max_bytes: int | None,
    fsync: bool,
) -> Spooled:
    """Write ``chunks`` to a new file in ``directory``; on any failure (including
    :class:`BlobTooLarge` and cancellation) the file is removed before the error propagates."""
    pipeline = _Pipeline(directory, fsync=fsync)
    try:
        await anyio.to_thread.run_sync(pipeline.open)
        size = 0
        small = bytearray()
        async for chunk in chunks:
            if isinstance(chunk, memoryview) and chunk.itemsize != 1:
                chunk = chunk.cast("B")  # lengths below count bytes
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise BlobTooLarge(max_bytes)
            if len(chunk) >= COALESCE_BELOW and not small and pipeline.running:
                await pipeline.put(chunk)  # handed over as it is: no copy
                continue
            small += chunk
            if len(small) > HAND_OVER:
                await pipeline.put(small)
                small = bytearray()
        digest = await pipeline.finish(small)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(pipeline.discard)
        raise
    assert pipeline.path is not None
    return Spooled(path=pipeline.path, sha256=digest, size=size)


async def discard(path: Path) -> None:
    """Remove a temporary file, even when the caller is being cancelled."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(remove_quietly, path)


def remove_quietly(path: Path) -> None:
    """Unlink ``path``; already gone is fine."""
    path.unlink(missing_ok=True)


def remove_stale_temp_files(directory: Path, older_than_s: float) -> int:
    """Remove temporary files in ``directory`` not modified for ``older_than_s`` seconds (blocking).

    An upload in progress keeps its file's mtime fresh, so a threshold longer than the slowest
    upload never removes a live one.
    """
    cutoff = time.time() - older_than_s
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.name.endswith(TEMP_SUFFIX) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue  # removed by another process meanwhile
    return removed
