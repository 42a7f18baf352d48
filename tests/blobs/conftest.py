"""Fixtures that run the same behavioural tests against both blob stores.

The S3 store talks to moto's server mode: moto stands in for a real S3 service, which cannot run
here. The server is a real HTTP endpoint on a free local port, so boto3 goes through its whole
network path (signing, multipart uploads, ranged GETs, pagination).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from threadline.blobs import BlobStore, LocalBlobStore, S3BlobStore


@dataclass
class Harness:
    """A store plus the back doors a test needs to look behind it."""

    store: BlobStore
    temp_dir: Path  # where uploads are spooled before they become blobs
    overwrite: Callable[[str, bytes], object]  # replace a stored blob's bytes behind the store
    stored_count: Callable[[], int]  # blobs as the backend holds them, not as list_all says

    def temp_files(self) -> list[Path]:
        return sorted(self.temp_dir.glob("*")) if self.temp_dir.exists() else []


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on a free port, with throw-away AWS credentials in the environment."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        # A developer's own ~/.aws files must not leak into the tests.
        env.setenv("AWS_CONFIG_FILE", os.devnull)
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A fresh, empty bucket for one test."""
    bucket = f"blobs-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def local_harness(tmp_path: Path) -> Harness:
    store = LocalBlobStore(tmp_path / "blobs")
    return Harness(
        store=store,
        temp_dir=store.temp_dir,
        overwrite=lambda sha, data: store.path(sha).write_bytes(data),
        stored_count=lambda: sum(
            1 for p in store.root.rglob("*") if p.is_file() and p.parent != store.temp_dir
        ),
    )


@pytest.fixture
def s3_harness(s3_endpoint: str, s3_bucket: str, tmp_path: Path) -> Harness:
    store = S3BlobStore.connect(
        bucket=s3_bucket, prefix="vault", endpoint_url=s3_endpoint, spool_dir=tmp_path / "spool"
    )
    client = store.client
    return Harness(
        store=store,
        temp_dir=store.spool_dir,
        overwrite=lambda sha, data: client.put_object(
            Bucket=s3_bucket, Key=store.key(sha), Body=data
        ),
        stored_count=lambda: client.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0),
    )


@pytest.fixture(params=["local", "s3"])
def harness(request: pytest.FixtureRequest) -> Harness:
    """Each behavioural test runs once per store."""
    result: Harness = request.getfixturevalue(f"{request.param}_harness")
    return result


@pytest.fixture
def store(harness: Harness) -> BlobStore:
    return harness.store
