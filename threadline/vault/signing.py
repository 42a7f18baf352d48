"""Signed URLs for cross-origin or time-limited sharing (productflo-sync-api: Signed URLs)."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from threadline.errors import Forbidden, Gone, Invalid
from threadline.vault.paths import ServePath

MIN_TTL_MS = 1_000
MAX_TTL_MS = 7 * 24 * 3600 * 1000


def _signature(key: bytes, path: ServePath, expires_ms: int) -> str:
    message = f"{path.workspace}\n{path.username}\n{path.filename}\n{expires_ms}".encode()
    return hmac.new(key, b"signed-url:" + message, hashlib.sha256).hexdigest()


def sign(key: bytes, path: ServePath, ttl_ms: int, *, now_ms: int | None = None) -> tuple[str, int]:
    """``(url, expiresAt in epoch ms)`` for ``/v1/serve-signed/...``."""
    if not MIN_TTL_MS <= ttl_ms <= MAX_TTL_MS:
        raise Invalid(f"ttlMs must be between {MIN_TTL_MS} and {MAX_TTL_MS}.", code="INVALID_TTL")
    expires = (now_ms if now_ms is not None else int(time.time() * 1000)) + ttl_ms
    quoted = "/".join(quote(p, safe="") for p in (path.workspace, path.username, path.filename))
    url = f"/v1/serve-signed/{quoted}?expires={expires}&sig={_signature(key, path, expires)}"
    return url, expires


def verify(key: bytes, path: ServePath, expires: str, sig: str) -> None:
    """403 SIGNATURE_INVALID for anything tampered with; 410 SIGNED_URL_EXPIRED after expiry."""
    if not expires.isdigit() or not hmac.compare_digest(_signature(key, path, int(expires)), sig):
        raise Forbidden("The signature does not match this URL.", code="SIGNATURE_INVALID")
    if int(expires) <= int(time.time() * 1000):
        raise Gone("This signed URL has expired; ask for a new one.", code="SIGNED_URL_EXPIRED")
