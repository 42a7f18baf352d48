"""Behaviour every blob store shares, run against the local directory and S3 (see conftest)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator

import anyio
import pytest

from tests.blobs.conftest import Harness
from threadline.blobs import BlobInfo, BlobStore, BlobTooLarge

DATA = bytes(range(256)) * 40  # 10 240 bytes


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def read_all(
    store: BlobStore, digest: str, *, start: int = 0, end: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in store.read(digest, start=start, end=end)])


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_round_trip(store: BlobStore) -> None:
    info = await store.put_bytes(DATA)

    assert info == BlobInfo(sha256=sha(DATA), size=len(DATA), created=True)
    assert await store.exists(info.sha256)
    assert await store.size(info.sha256) == len(DATA)
    assert await read_all(store, info.sha256) == DATA
    assert await store.verify(info.sha256)


async def test_stream_of_uneven_chunks_round_trips(store: BlobStore) -> None:
    # 64 KiB pieces (as a web server delivers a body) plus odd sizes cross the 1 MiB batches.
    chunks = [os.urandom(65_536) for _ in range(40)] + [b"", os.urandom(1), os.urandom(1 << 20)]
    data = b"".join(chunks)

    info = await store.put_stream(stream(*chunks))

    assert (info.sha256, info.size) == (sha(data), len(data))
    assert await read_all(store, info.sha256) == data


async def test_empty_blob(store: BlobStore) -> None:
    info = await store.put_bytes(b"")

    assert (info.sha256, info.size) == (sha(b""), 0)
    assert await read_all(store, info.sha256) == b""
    assert await store.verify(info.sha256)


async def test_identical_content_is_stored_once(harness: Harness) -> None:
    first = await harness.store.put_bytes(DATA)
    second = await harness.store.put_stream(stream(DATA[:100], DATA[100:]))

    assert first.created and not second.created
    assert second.sha256 == first.sha256
    assert harness.stored_count() == 1
    assert harness.temp_files() == []


async def test_max_bytes_exceeded_leaves_nothing(harness: Harness) -> None:
    with pytest.raises(BlobTooLarge) as raised:
        await harness.store.put_stream(stream(DATA, DATA), max_bytes=len(DATA) + 1)

    assert raised.value.max_bytes == len(DATA) + 1
    assert not await harness.store.exists(sha(DATA * 2))
    assert harness.stored_count() == 0
    assert harness.temp_files() == []


async def test_max_bytes_is_inclusive(store: BlobStore) -> None:
    info = await store.put_stream(stream(DATA), max_bytes=len(DATA))

    assert info.size == len(DATA)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, DATA),
        (10, None, DATA[10:]),
        (0, 10, DATA[:10]),
        (100, 5000, DATA[100:5000]),
        (len(DATA) - 5, len(DATA) + 1000, DATA[-5:]),  # end beyond the size
        (50, 50, b""),  # empty range
        (50, 40, b""),  # end before start
        (len(DATA), None, b""),  # start at the end
        (len(DATA) + 10, None, b""),  # start beyond the size
    ],
)
async def test_range_reads(store: BlobStore, start: int, end: int | None, expected: bytes) -> None:
    info = await store.put_bytes(DATA)

    assert await read_all(store, info.sha256, start=start, end=end) == expected


async def test_read_streams_in_chunks_of_the_asked_size(store: BlobStore) -> None:
    info = await store.put_bytes(DATA)

    chunks = [c async for c in store.read(info.sha256, start=1, end=3001, chunk_size=1000)]

    assert [len(c) for c in chunks] == [1000, 1000, 1000]
    assert b"".join(chunks) == DATA[1:3001]


async def test_read_rejects_negative_range(store: BlobStore) -> None:
    info = await store.put_bytes(DATA)

    with pytest.raises(ValueError, match="negative"):
        store.read(info.sha256, start=-1)
    with pytest.raises(ValueError, match="chunk_size"):
        store.read(info.sha256, chunk_size=0)


async def test_missing_blob(store: BlobStore) -> None:
    missing = sha(b"never stored")

    assert not await store.exists(missing)
    with pytest.raises(KeyError):
        await store.size(missing)
    with pytest.raises(KeyError):
        await read_all(store, missing)
    with pytest.raises(KeyError):
        await read_all(store, missing, start=5, end=5)
    with pytest.raises(KeyError):
        await store.verify(missing)


async def test_verify_detects_corruption(harness: Harness) -> None:
    info = await harness.store.put_bytes(DATA)
    assert await harness.store.verify(info.sha256)

    harness.overwrite(info.sha256, DATA[:-1] + b"\x00")

    assert not await harness.store.verify(info.sha256)


async def test_list_all(store: BlobStore) -> None:
    assert [s async for s in store.list_all()] == []
    digests = {(await store.put_bytes(bytes([n]) * n)).sha256 for n in range(1, 6)}

    listed = [s async for s in store.list_all()]

    assert sorted(listed) == sorted(digests)


async def test_delete_is_idempotent(store: BlobStore) -> None:
    info = await store.put_bytes(DATA)

    await store.delete(info.sha256)
    await store.delete(info.sha256)

    assert not await store.exists(info.sha256)
    assert [s async for s in store.list_all()] == []


@pytest.mark.parametrize(
    "bad",
    ["../x", "ABC", "a" * 63, "a" * 65, "A" * 64, "../" + "a" * 61, "a" * 63 + "/", "", "g" * 64],
)
async def test_invalid_digests_are_rejected(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        await store.exists(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        await store.size(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        store.read(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        await store.delete(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        await store.verify(bad)


async def test_failing_stream_leaves_nothing(harness: Harness) -> None:
    async def crashes_midway() -> AsyncIterator[bytes]:
        yield os.urandom(3 << 20)  # some of it already written to the temporary file
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await harness.store.put_stream(crashes_midway())

    assert harness.stored_count() == 0
    assert harness.temp_files() == []


async def test_cancelled_upload_leaves_nothing(harness: Harness) -> None:
    async def stalls() -> AsyncIterator[bytes]:
        yield DATA
        await anyio.sleep(3600)
        yield DATA

    with anyio.move_on_after(0.2) as scope:
        await harness.store.put_stream(stalls())

    assert scope.cancelled_caught
    assert harness.stored_count() == 0
    assert harness.temp_files() == []


async def test_cleanup_temporary_removes_only_old_temp_files(harness: Harness) -> None:
    kept = await harness.store.put_bytes(DATA)
    harness.temp_dir.mkdir(parents=True, exist_ok=True)
    old = harness.temp_dir / "blob-crashed.part"
    fresh = harness.temp_dir / "blob-uploading.part"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))

    assert await harness.store.cleanup_temporary(older_than_s=3600) == 1

    assert not old.exists()
    assert fresh.exists()
    assert await read_all(harness.store, kept.sha256) == DATA
