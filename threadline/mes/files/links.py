"""Signed upload and download links of MES files (mes-api-reference.txt ``/design-file/``:
"Link is valid for 5 minutes by default").

The vault's signer (:mod:`threadline.vault.signing`) signs vault serve paths; these links name a
MES row instead, under their own purpose prefix so a signature of one kind never validates as
another. A download link also signs the digest: it serves exactly the bytes it was made for.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from threadline.errors import Forbidden, Gone
from threadline.mes.face import PREFIX

TTL_MS = 5 * 60 * 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def _signature(
    key: bytes, purpose: str, kind: str, row_id: uuid.UUID, sha256: str, exp: int
) -> str:
    message = f"mes-file:{purpose}\n{kind}\n{row_id}\n{sha256}\n{exp}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def link(
    key: bytes, base_url: str, purpose: str, kind: str, row_id: uuid.UUID, sha256: str = ""
) -> str:
    """``{base}/mes/{kind}/{uuid}/{purpose}/?expires=..&sig=..`` (purpose ``upload|content``)."""
    expires = now_ms() + TTL_MS
    sig = _signature(key, purpose, kind, row_id, sha256, expires)
    return f"{base_url}{PREFIX}/{kind}/{row_id}/{purpose}/?expires={expires}&sig={sig}"


def verify(
    key: bytes, purpose: str, kind: str, row_id: uuid.UUID, sha256: str, expires: str, sig: str
) -> None:
    """403 SIGNATURE_INVALID when tampered with (or for other bytes); 410 once expired."""
    good = expires.isdigit() and hmac.compare_digest(
        _signature(key, purpose, kind, row_id, sha256, int(expires)), sig
    )
    if not good:
        raise Forbidden("The signature does not match this link.", code="SIGNATURE_INVALID")
    if int(expires) <= now_ms():
        raise Gone(
            "This link has expired; GET the resource again for a fresh one.",
            code="SIGNED_URL_EXPIRED",
        )
