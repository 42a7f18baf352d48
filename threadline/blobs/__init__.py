"""Content-addressed (SHA-256) blob storage: a local directory by default, S3-compatible storage
when ``THREADLINE_BLOB_URL=s3://bucket/prefix``."""

from threadline.blobs.local import LocalBlobStore
from threadline.blobs.s3 import S3BlobStore
from threadline.blobs.store import (
    CHUNK_SIZE,
    BlobInfo,
    BlobStore,
    BlobTooLarge,
    create_blob_store,
    validate_sha256,
)

__all__ = [
    "CHUNK_SIZE",
    "BlobInfo",
    "BlobStore",
    "BlobTooLarge",
    "LocalBlobStore",
    "S3BlobStore",
    "create_blob_store",
    "validate_sha256",
]
