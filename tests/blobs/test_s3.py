"""What only the S3 store promises: its key layout, multipart uploads, foreign keys and cleanup.

moto's server mode stands in for a real S3 service, which cannot run here; boto3 still speaks
real HTTP to it (see conftest).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.blobs.test_store import DATA, read_all, sha
from threadline.blobs import CHUNK_SIZE, S3BlobStore, create_blob_store
from threadline.config import Settings


@pytest.fixture
def store(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> S3BlobStore:
    return S3BlobStore.connect(
        bucket=s3_bucket, prefix="vault", endpoint_url=s3_endpoint, spool_dir=tmp_path / "spool"
    )


async def test_key_layout_below_the_prefix(store: S3BlobStore) -> None:
    info = await store.put_bytes(DATA)

    digest = info.sha256
    key = f"vault/{digest[:2]}/{digest[2:4]}/{digest}"
    assert store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read() == DATA


async def test_empty_prefix_keys_start_at_the_shard(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    store = S3BlobStore.connect(
        bucket=s3_bucket, prefix="", endpoint_url=s3_endpoint, spool_dir=tmp_path
    )
    info = await store.put_bytes(DATA)

    assert store.key(info.sha256) == f"{info.sha256[:2]}/{info.sha256[2:4]}/{info.sha256}"
    assert [s async for s in store.list_all()] == [info.sha256]


async def test_create_blob_store_from_settings(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_BLOB_URL", f"s3://{s3_bucket}/team/blobs")
    monkeypatch.setenv("THREADLINE_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))

    store = create_blob_store(Settings())
    info = await store.put_bytes(DATA)

    assert isinstance(store, S3BlobStore)
    assert store.key(info.sha256).startswith("team/blobs/")
    assert await read_all(store, info.sha256) == DATA


async def test_large_stream_goes_up_in_parts(store: S3BlobStore) -> None:
    # 20 MiB passes boto3's 8 MiB multipart threshold.
    total = 20 << 20
    block = bytes(range(256)) * (CHUNK_SIZE // 256)

    async def body() -> AsyncIterator[bytes]:
        for index in range(total // CHUNK_SIZE):
            yield index.to_bytes(8, "big") + block[8:]

    expected = hashlib.sha256()
    async for piece in body():
        expected.update(piece)

    info = await store.put_stream(body())

    assert (info.sha256, info.size) == (expected.hexdigest(), total)
    assert await store.verify(info.sha256)
    tail = await read_all(store, info.sha256, start=total - 10)
    assert tail == block[-10:]
    assert list(store.spool_dir.iterdir()) == []


async def test_list_all_skips_objects_that_are_not_blobs(store: S3BlobStore) -> None:
    info = await store.put_bytes(DATA)
    digest = sha(b"elsewhere")
    for key in (
        f"other/{digest[:2]}/{digest[2:4]}/{digest}",  # outside the prefix
        f"vault/{digest[:2]}/{digest}",  # wrong depth
        f"vault/00/00/{digest}",  # wrong shard
        "vault/readme.txt",
    ):
        store.client.put_object(Bucket=store.bucket, Key=key, Body=b"x")

    assert [s async for s in store.list_all()] == [info.sha256]


async def test_list_all_pages_through_more_than_one_listing(store: S3BlobStore) -> None:
    digests = [sha(str(n).encode()) for n in range(1005)]  # list_objects_v2 pages hold 1000
    for digest in digests:
        store.client.put_object(Bucket=store.bucket, Key=store.key(digest), Body=b"")

    assert sorted([s async for s in store.list_all()]) == sorted(digests)


async def test_cleanup_aborts_abandoned_multipart_uploads(store: S3BlobStore) -> None:
    # moto dates every multipart upload 2010-11-10, so only the "old" side of the cutoff can be
    # seen here; the fresh side is the same comparison the spool-file test covers.
    ours = store.key(sha(DATA))
    theirs = f"other/{sha(DATA)}"
    for key in (ours, theirs):
        store.client.create_multipart_upload(Bucket=store.bucket, Key=key)

    assert await store.cleanup_temporary(older_than_s=3600) == 1

    remaining = store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
    assert [upload.get("Key") for upload in remaining] == [theirs]
