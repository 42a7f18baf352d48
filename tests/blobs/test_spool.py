"""The spool under both stores: a stream hashed and written to a temporary file by two threads."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from threadline.blobs import BlobTooLarge, spool
from threadline.blobs.spool import Spooled, spool_to_temp
from threadline.blobs.store import Chunk

HAND_OVER = spool.HAND_OVER  # the real constants, read before any test shrinks them
MiB = 1 << 20
SOURCE = os.urandom(4 * MiB)  # every test's bytes are a slice of this
OFFSET = 7  # memoryview chunks are slices of SOURCE, a larger object than the data


@dataclass(frozen=True)
class Small:
    """Constants small enough for a test to fill the pipeline with a few hundred KiB."""

    in_flight: int = 64 << 10
    slot: int = 4 << 10
    coalesce_below: int = 2 << 10
    hand_over: int = 8 << 10
    writeback_every: int = 32 << 10


SMALL = Small()


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> Small:
    monkeypatch.setattr(spool, "IN_FLIGHT", SMALL.in_flight)
    monkeypatch.setattr(spool, "SLOT", SMALL.slot)
    monkeypatch.setattr(spool, "COALESCE_BELOW", SMALL.coalesce_below)
    monkeypatch.setattr(spool, "HAND_OVER", SMALL.hand_over)
    monkeypatch.setattr(spool, "WRITEBACK_EVERY", SMALL.writeback_every)
    return SMALL


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "spool"  # not created: the spool makes it


@pytest.fixture(autouse=True)
def no_pipeline_thread_outlives_a_test() -> Iterator[None]:
    assert pipeline_threads() == []
    yield
    assert pipeline_threads() == []


def pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name in ("blob-hash", "blob-write")]


def files_in(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


def data(size: int) -> bytes:
    return SOURCE[OFFSET : OFFSET + size]


def spans(size: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, step):
        yield OFFSET + start, OFFSET + min(start + step, size)


def mixed(size: int) -> list[Chunk]:
    """Chunks of every type and of sizes on both sides of the coalescing and hand-over limits."""
    steps = [1, 0, 70_001, MiB, 5_000, 300_000, 65_536, 3]
    makers: list[Callable[[int, int], Chunk]] = [
        lambda a, b: SOURCE[a:b],
        lambda a, b: bytearray(SOURCE[a:b]),
        lambda a, b: memoryview(SOURCE)[a:b],
    ]
    chunks: list[Chunk] = []
    start = OFFSET
    while start < OFFSET + size:
        end = min(start + steps[len(chunks) % len(steps)], OFFSET + size)
        chunks.append(makers[len(chunks) % len(makers)](start, end))
        start = end
    return chunks


PATTERNS: dict[str, Callable[[int], list[Chunk]]] = {
    "odd bytes": lambda size: [SOURCE[a:b] for a, b in spans(size, 100_003)],
    "1 MiB bytes": lambda size: [SOURCE[a:b] for a, b in spans(size, MiB)],
    "memoryview slices": lambda size: [memoryview(SOURCE)[a:b] for a, b in spans(size, 65_537)],
    "bytearrays": lambda size: [bytearray(SOURCE[a:b]) for a, b in spans(size, 4_099)],
    "mixed": mixed,
}


async def source(chunks: Iterable[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


def assert_exact(spooled: Spooled, expected: bytes, directory: Path) -> None:
    assert spooled.size == len(expected)
    assert spooled.sha256 == hashlib.sha256(expected).hexdigest()
    assert spooled.path.read_bytes() == expected
    assert spooled.path.suffix == spool.TEMP_SUFFIX
    assert files_in(directory) == [spooled.path]
    assert pipeline_threads() == []


def record_starts(monkeypatch: pytest.MonkeyPatch) -> list[spool._Pipeline]:
    started: list[spool._Pipeline] = []
    real_start = spool._Pipeline._start

    def start(self: spool._Pipeline) -> None:
        started.append(self)
        real_start(self)

    monkeypatch.setattr(spool._Pipeline, "_start", start)
    return started


class Disk:
    """``_write_all`` as the spool calls it, counting bytes, optionally slow or full."""

    def __init__(self, *, delay_s: float = 0.0, full_after: int | None = None) -> None:
        self.delay_s = delay_s
        self.full_after = full_after
        self.written = 0
        self._real = spool._write_all

    def __call__(self, fd: int, chunk: Chunk) -> int:
        time.sleep(self.delay_s)
        if self.full_after is not None and self.written + len(chunk) > self.full_after:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        count = self._real(fd, chunk)
        self.written += count
        return count

    def install(self, monkeypatch: pytest.MonkeyPatch) -> Disk:
        monkeypatch.setattr(spool, "_write_all", self)
        return self


class Producer:
    """An endless (or ``total``-byte) stream that notes how far ahead of the disk it got."""

    def __init__(self, disk: Disk, chunk: int, total: int | None = None) -> None:
        self.disk = disk
        self.chunk = chunk
        self.total = total
        self.yielded = 0
        self.most_ahead = 0

    async def __call__(self) -> AsyncIterator[Chunk]:
        while self.total is None or self.yielded < self.total:
            self.most_ahead = max(self.most_ahead, self.yielded - self.disk.written)
            if self.total is None:
                piece = data(self.chunk)
            else:  # consecutive slices of SOURCE, so the file can be checked
                start = OFFSET + self.yielded
                piece = SOURCE[start : start + min(self.chunk, self.total - self.yielded)]
            self.yielded += len(piece)
            yield piece


async def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while True:
        if condition():
            return
        assert time.monotonic() < deadline, "timed out"
        await anyio.sleep(0.001)


# -- content -------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize(
    "size", [0, 1, HAND_OVER - 1, HAND_OVER, HAND_OVER + 1, 3 * MiB + 12_345], ids=str
)
async def test_copy_digest_and_size_are_exact(directory: Path, pattern: str, size: int) -> None:
    spooled = await spool_to_temp(
        source(PATTERNS[pattern](size)), directory, max_bytes=None, fsync=False
    )

    assert_exact(spooled, data(size), directory)


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        SMALL.hand_over - 1,
        SMALL.hand_over,
        SMALL.hand_over + 1,
        2 * SMALL.in_flight + 3,
    ],
    ids=str,
)
async def test_one_byte_chunks_are_copied_exactly(small: Small, directory: Path, size: int) -> None:
    chunks = [SOURCE[i : i + 1] for i in range(OFFSET, OFFSET + size)]

    spooled = await spool_to_temp(source(chunks), directory, max_bytes=None, fsync=True)

    assert_exact(spooled, data(size), directory)


async def test_empty_chunks_are_harmless(small: Small, directory: Path) -> None:
    chunks: list[Chunk] = [
        b"",
        data(10_000),
        b"",
        bytearray(),
        memoryview(b""),
        data(20_000)[10_000:],
        b"",
    ]

    spooled = await spool_to_temp(source(chunks), directory, max_bytes=None, fsync=False)

    assert_exact(spooled, data(20_000), directory)


async def test_concurrent_spools_do_not_mix(small: Small, directory: Path) -> None:
    results: dict[int, Spooled] = {}

    async def one(index: int) -> None:
        chunks = [bytes([index]) * 3_000] * 100
        results[index] = await spool_to_temp(source(chunks), directory, max_bytes=None, fsync=False)

    async with anyio.create_task_group() as tasks:
        for index in range(4):
            tasks.start_soon(one, index)

    for index, spooled in results.items():
        assert spooled.path.read_bytes() == bytes([index]) * 300_000
    assert len(files_in(directory)) == 4


# -- threads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "chunk"),
    [(0, 1), (1, 1), (SMALL.hand_over - 1, 1), (SMALL.hand_over - 1, 1_000)],
    ids=["empty", "one byte", "hand-over - 1 in bytes", "hand-over - 1 in 1000s"],
)
async def test_a_stream_shorter_than_a_hand_over_starts_no_threads(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, size: int, chunk: int
) -> None:
    started = record_starts(monkeypatch)
    seen: list[list[threading.Thread]] = []

    async def chunks() -> AsyncIterator[Chunk]:
        for a, b in spans(size, chunk):
            yield SOURCE[a:b]
            seen.append(pipeline_threads())

    spooled = await spool_to_temp(chunks(), directory, max_bytes=None, fsync=True)

    assert_exact(spooled, data(size), directory)
    assert started == []
    assert all(threads == [] for threads in seen)


@pytest.mark.parametrize("chunk", [SMALL.hand_over, 1_000], ids=["one chunk", "1000s"])
async def test_a_stream_of_exactly_one_hand_over_starts_no_threads(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    started = record_starts(monkeypatch)
    size = small.hand_over

    spooled = await spool_to_temp(
        source(SOURCE[a:b] for a, b in spans(size, chunk)), directory, max_bytes=None, fsync=True
    )

    assert_exact(spooled, data(size), directory)
    assert started == []


@pytest.mark.parametrize("size", [SMALL.hand_over + 1, 5 * SMALL.in_flight + 1], ids=str)
@pytest.mark.parametrize("chunk", [1_000, 5_000, 100_003])
async def test_a_longer_stream_runs_both_threads_and_ends_them(
    small: Small,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    chunk: int,
) -> None:
    started = record_starts(monkeypatch)
    seen: list[set[str]] = []

    async def chunks() -> AsyncIterator[Chunk]:
        for a, b in spans(size, chunk):
            yield SOURCE[a:b]
            seen.append({t.name for t in pipeline_threads() if t.is_alive()})

    spooled = await spool_to_temp(chunks(), directory, max_bytes=None, fsync=True)

    assert_exact(spooled, data(size), directory)
    assert len(started) == 1
    assert {"blob-hash", "blob-write"} in seen
    assert all(not thread.is_alive() for thread in started[0]._threads)


# -- backpressure --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1_000, 3_000, 8 << 10, 100_003])
async def test_a_slow_disk_holds_the_producer_back(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    disk = Disk(delay_s=0.001).install(monkeypatch)
    producer = Producer(disk, chunk, total=512 << 10)

    with anyio.fail_after(5):
        spooled = await spool_to_temp(producer(), directory, max_bytes=None, fsync=False)

    assert_exact(spooled, data(512 << 10), directory)
    # In flight: at most IN_FLIGHT bytes of whole slots, plus one chunk (one too large for the
    # slots) or the small chunks being gathered into the next hand-over.
    assert producer.most_ahead <= small.in_flight + max(chunk, small.hand_over)
    # ... and the pipeline did buffer: the test would pass trivially with a lock-step spool.
    assert producer.most_ahead >= min(small.in_flight // 2, chunk)


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "full_after"),
    [
        (SMALL.hand_over - 1, 0),  # the single blocking write
        (MiB, 0),  # the first hand-over
        (MiB, 100 << 10),  # mid-stream
        (MiB, MiB - 1),  # the last chunk
    ],
    ids=["whole write", "first hand-over", "mid-stream", "last chunk"],
)
async def test_a_full_disk_raises_and_leaves_nothing(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, size: int, full_after: int
) -> None:
    chunk = 8 << 10
    disk = Disk(full_after=full_after).install(monkeypatch)
    producer = Producer(disk, chunk, total=size)

    with anyio.fail_after(5), pytest.raises(OSError) as raised:
        await spool_to_temp(producer(), directory, max_bytes=None, fsync=True)

    assert raised.value.errno == errno.ENOSPC
    assert files_in(directory) == []
    assert pipeline_threads() == []
    # The error reaches the loop on its next hand-over: the rest of the stream is not read.
    assert producer.yielded <= full_after + small.in_flight + 2 * max(chunk, small.hand_over)


@pytest.mark.parametrize("fails_after", [1_000, SMALL.hand_over, 200 << 10], ids=str)
async def test_a_failing_source_raises_and_leaves_nothing(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, fails_after: int
) -> None:
    Disk(delay_s=0.001).install(monkeypatch)  # chunks are still queued when the source fails

    async def chunks() -> AsyncIterator[Chunk]:
        for a, b in spans(fails_after, 1_000):
            yield SOURCE[a:b]
        raise ConnectionResetError("client went away")

    with anyio.fail_after(5), pytest.raises(ConnectionResetError, match="client went away"):
        await spool_to_temp(chunks(), directory, max_bytes=None, fsync=True)

    assert files_in(directory) == []
    assert pipeline_threads() == []


async def test_cancelling_while_the_disk_is_slow_removes_the_file(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = Disk(delay_s=0.005).install(monkeypatch)
    started = time.monotonic()

    with anyio.move_on_after(0.1) as scope:
        await spool_to_temp(Producer(disk, 8 << 10)(), directory, max_bytes=None, fsync=True)

    assert scope.cancelled_caught
    assert time.monotonic() - started < 1
    assert disk.written > 0
    assert files_in(directory) == []
    assert pipeline_threads() == []


async def test_cancelling_while_the_source_waits_removes_the_file(
    small: Small, directory: Path
) -> None:
    never = anyio.Event()

    async def chunks() -> AsyncIterator[Chunk]:
        yield data(100 << 10)  # enough to start the threads
        await never.wait()

    with anyio.move_on_after(0.05) as scope:
        await spool_to_temp(chunks(), directory, max_bytes=None, fsync=True)

    assert scope.cancelled_caught
    assert files_in(directory) == []
    assert pipeline_threads() == []


async def test_cancelling_the_task_while_the_disk_is_slow_removes_the_file(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How the multipart reader abandons a part's writer: Task.cancel(), not a cancel scope.
    disk = Disk(delay_s=0.005).install(monkeypatch)
    task = asyncio.create_task(
        spool_to_temp(Producer(disk, 8 << 10)(), directory, max_bytes=None, fsync=True)
    )
    await wait_until(lambda: disk.written >= 32 << 10)

    task.cancel()
    with anyio.fail_after(5), pytest.raises(asyncio.CancelledError):
        await task

    assert files_in(directory) == []
    assert pipeline_threads() == []


@pytest.mark.parametrize(
    ("chunk", "count", "max_bytes"),
    [(1_000, 3, 2_500), (8 << 10, 128, 500 << 10)],
    ids=["before the threads", "threads running"],
)
async def test_max_bytes_exceeded_leaves_nothing(
    small: Small, directory: Path, chunk: int, count: int, max_bytes: int
) -> None:
    with pytest.raises(BlobTooLarge) as raised:
        await spool_to_temp(
            source(data(chunk) for _ in range(count)), directory, max_bytes=max_bytes, fsync=True
        )

    assert raised.value.max_bytes == max_bytes
    assert files_in(directory) == []
    assert pipeline_threads() == []


@pytest.mark.parametrize("size", [2_500, 500 << 10], ids=str)
async def test_max_bytes_is_inclusive(small: Small, directory: Path, size: int) -> None:
    spooled = await spool_to_temp(
        source(PATTERNS["odd bytes"](size)), directory, max_bytes=size, fsync=False
    )

    assert_exact(spooled, data(size), directory)


def close_and_remove(fd: int, name: str) -> None:
    """Close what the bug leaks, if the descriptor still is that file, and remove the file."""
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_ino == os.stat(name).st_ino:
            os.close(fd)
    Path(name).unlink(missing_ok=True)


async def test_cancelling_the_task_while_the_file_is_created_leaves_no_file(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[tuple[int, str]] = []
    entered, release, returned = threading.Event(), threading.Event(), threading.Event()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*, dir: Path, prefix: str, suffix: str) -> tuple[int, str]:
        try:
            created.append(real_mkstemp(dir=dir, prefix=prefix, suffix=suffix))
            entered.set()
            release.wait(5)
            return created[-1]
        finally:
            returned.set()

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    task = asyncio.create_task(
        spool_to_temp(source([b"x"]), directory, max_bytes=None, fsync=False)
    )
    try:
        await wait_until(entered.is_set)
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
        release.set()
        with anyio.fail_after(5), pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(returned.is_set)
        await anyio.sleep(0.05)  # the worker hands its result back

        assert files_in(directory) == []
    finally:
        release.set()
        for fd, name in created:
            close_and_remove(fd, name)


async def test_cancelling_the_task_during_a_small_write_never_touches_another_file(
    directory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fds: list[int] = []
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()
    real_write_all = spool._write_all

    def write_all(fd: int, chunk: Chunk) -> int:
        fds.append(fd)
        entered.set()
        release.wait(5)
        try:
            return real_write_all(fd, chunk)
        finally:
            finished.set()

    monkeypatch.setattr(spool, "_write_all", write_all)
    task = asyncio.create_task(
        spool_to_temp(source([b"secret" * 10]), directory, max_bytes=None, fsync=False)
    )
    victim = tmp_path / "victim"
    reused: int | None = None
    try:
        await wait_until(entered.is_set)
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
        try:
            os.fstat(fds[0])
        except OSError:  # closed under the write: let another file take the number, as it may
            opened = os.open(victim, os.O_WRONLY | os.O_CREAT)
            if opened != fds[0]:
                os.dup2(opened, fds[0])
                os.close(opened)
            reused = fds[0]
        release.set()
        with anyio.fail_after(5), pytest.raises(asyncio.CancelledError):
            await task
        await wait_until(finished.is_set)

        assert not victim.exists() or victim.read_bytes() == b""
        assert files_in(directory) == []
    finally:
        release.set()
        if reused is not None:
            with contextlib.suppress(OSError):
                os.close(reused)


# -- durability ----------------------------------------------------------------------------------


def record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The inode of every file fsynced."""
    inodes: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        inodes.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return inodes


@pytest.mark.parametrize("fsync", [True, False], ids=["fsync", "no fsync"])
@pytest.mark.parametrize("size", [100, 300 << 10], ids=["whole write", "threads"])
async def test_the_file_is_fsynced_once_exactly_when_asked(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, size: int, fsync: bool
) -> None:
    inodes = record_fsyncs(monkeypatch)

    spooled = await spool_to_temp(
        source(PATTERNS["mixed"](size)), directory, max_bytes=None, fsync=fsync
    )

    assert_exact(spooled, data(size), directory)
    assert inodes == ([spooled.path.stat().st_ino] if fsync else [])


def record_writeback(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """(inode, offset, length) of every writeback hint."""
    hints: list[tuple[int, int, int]] = []

    def start_writeback(fd: int, offset: int, length: int) -> None:
        hints.append((os.fstat(fd).st_ino, offset, length))

    monkeypatch.setattr(spool, "_start_writeback", start_writeback)
    return hints


@pytest.mark.parametrize("chunk", [8 << 10, 5_000, 1_000], ids=["slots", "odd", "coalesced"])
async def test_writeback_is_started_over_contiguous_ranges(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    hints = record_writeback(monkeypatch)
    size = 200_003

    spooled = await spool_to_temp(
        source(SOURCE[a:b] for a, b in spans(size, chunk)), directory, max_bytes=None, fsync=True
    )

    assert_exact(spooled, data(size), directory)
    longest_write = small.hand_over + chunk  # gathered chunks pass HAND_OVER by < one chunk
    assert {inode for inode, _, _ in hints} == {spooled.path.stat().st_ino}
    offsets = [offset for _, offset, _ in hints]
    ends = [offset + length for _, offset, length in hints]
    assert offsets == [0, *ends[:-1]]
    assert all(
        small.writeback_every <= length < small.writeback_every + longest_write
        for _, _, length in hints
    )
    if chunk == 8 << 10:  # hand-overs divide WRITEBACK_EVERY: steps are exact
        assert [length for _, _, length in hints] == [small.writeback_every] * len(hints)
    assert 0 <= size - ends[-1] < small.writeback_every  # the tail is left to the fsync


@pytest.mark.parametrize("size", [100, 200_003], ids=["whole write", "threads"])
async def test_writeback_is_never_started_without_fsync(
    small: Small, directory: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    hints = record_writeback(monkeypatch)

    spooled = await spool_to_temp(
        source(PATTERNS["odd bytes"](size)), directory, max_bytes=None, fsync=False
    )

    assert_exact(spooled, data(size), directory)
    assert hints == []
