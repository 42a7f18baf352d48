"""What only the local directory store promises: its layout, durability and flat memory."""

from __future__ import annotations

import hashlib
import os
import stat
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from tests.blobs.test_store import DATA, read_all, sha
from threadline.blobs import CHUNK_SIZE, BlobInfo, LocalBlobStore, S3BlobStore, create_blob_store
from threadline.config import Settings

BIG = 64 << 20


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


async def test_layout_is_two_shard_levels(store: LocalBlobStore) -> None:
    info = await store.put_bytes(DATA)

    digest = info.sha256
    path = store.root / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == DATA
    assert store.path(digest) == path


async def test_duplicate_leaves_the_existing_file_alone(store: LocalBlobStore) -> None:
    info = await store.put_bytes(DATA)
    before = store.path(info.sha256).stat()

    await store.put_bytes(DATA)

    after = store.path(info.sha256).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert list(store.temp_dir.iterdir()) == []


async def test_file_and_directory_are_fsynced_around_the_rename(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)

    await store.put_bytes(DATA)

    rename = events.index("rename")
    assert "fsync file" in events[:rename]
    assert events[rename + 1 :] == ["fsync dir"]


async def test_crash_before_rename_leaves_no_blob(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: str, dst: str) -> None:
        raise OSError("disk vanished")

    monkeypatch.setattr(os, "replace", crash)

    with pytest.raises(OSError, match="disk vanished"):
        await store.put_bytes(DATA)

    assert not store.path(sha(DATA)).exists()
    assert list(store.temp_dir.iterdir()) == []


async def test_process_crash_leftovers_are_invisible_and_cleaned(store: LocalBlobStore) -> None:
    # What a killed process leaves: a partial temporary file, never a file at a blob's name.
    store.temp_dir.mkdir(parents=True)
    (store.temp_dir / "blob-killed.part").write_bytes(DATA[:100])

    assert not await store.exists(sha(DATA))
    assert [s async for s in store.list_all()] == []
    assert await store.cleanup_temporary(older_than_s=0) == 1
    assert list(store.temp_dir.iterdir()) == []


async def test_list_all_skips_files_that_are_not_blobs(store: LocalBlobStore) -> None:
    info = await store.put_bytes(DATA)
    shard = store.path(info.sha256).parent
    (shard / "notes.txt").write_text("stray")
    (shard / ("0" * 64)).write_bytes(b"")  # a digest in the wrong shard
    (store.root / "zz").mkdir()

    assert [s async for s in store.list_all()] == [info.sha256]


async def generated(total: int, chunk: int) -> AsyncIterator[bytes]:
    """``total`` bytes made on the fly, so the test itself never holds the whole file."""
    block = bytes(range(256)) * (chunk // 256)
    for index in range(total // chunk):
        yield index.to_bytes(8, "big") + block[8:]


@pytest.mark.parametrize("chunk", [CHUNK_SIZE, 64 << 10])
async def test_streaming_64_mib_keeps_memory_flat(store: LocalBlobStore, chunk: int) -> None:
    expected = hashlib.sha256()
    async for piece in generated(BIG, chunk):
        expected.update(piece)

    tracemalloc.start()
    try:
        info = await store.put_stream(generated(BIG, chunk))
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        async for piece in store.read(info.sha256):
            digest.update(piece)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (info.sha256, info.size) == (expected.hexdigest(), BIG)
    assert digest.hexdigest() == info.sha256
    assert upload_peak < 8 << 20, f"upload peaked at {upload_peak} bytes"
    assert download_peak < 8 << 20, f"download peaked at {download_peak} bytes"


async def test_range_read_of_a_large_blob_reads_only_the_range(store: LocalBlobStore) -> None:
    info = await store.put_stream(generated(8 << 20, CHUNK_SIZE))
    whole = store.path(info.sha256).read_bytes()

    part = await read_all(store, info.sha256, start=(3 << 20) + 7, end=(5 << 20) - 3)

    assert part == whole[(3 << 20) + 7 : (5 << 20) - 3]


async def test_concurrent_uploads_use_separate_temp_files(store: LocalBlobStore) -> None:
    both_in_flight = anyio.Event()
    temp_files_in_flight: list[int] = []

    async def body(data: bytes) -> AsyncIterator[bytes]:
        yield data
        if temp_files_in_flight:
            both_in_flight.set()
        temp_files_in_flight.append(len(list(store.temp_dir.iterdir())))
        await both_in_flight.wait()
        yield data

    results: list[BlobInfo] = []

    async def upload(data: bytes) -> None:
        results.append(await store.put_stream(body(data)))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(upload, b"first")
        tasks.start_soon(upload, b"second")

    assert temp_files_in_flight[-1] == 2
    assert sorted(r.sha256 for r in results) == sorted([sha(b"first" * 2), sha(b"second" * 2)])


def test_default_store_is_home_blobs(tmp_path: Path) -> None:
    store = create_blob_store(Settings(home=tmp_path))

    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "blobs"


def test_file_url(tmp_path: Path) -> None:
    store = create_blob_store(Settings(home=tmp_path, blob_url=f"file://{tmp_path}/vault%20blobs"))

    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "vault blobs"


def test_s3_url_builds_an_s3_store(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, blob_url="s3://bucket/some/prefix/", s3_endpoint_url="http://127.0.0.1:9"
    )

    store = create_blob_store(settings)

    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("bucket", "some/prefix")
    assert store.key(sha(DATA)) == f"some/prefix/{sha(DATA)[:2]}/{sha(DATA)[2:4]}/{sha(DATA)}"


@pytest.mark.parametrize(
    "url", ["/var/blobs", "ftp://host/blobs", "file://otherhost/blobs", "s3:///prefix"]
)
def test_unusable_blob_url_says_how_to_write_it(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValueError, match="THREADLINE_BLOB_URL"):
        create_blob_store(Settings(home=tmp_path, blob_url=url))
