"""Secrets: argon2id password hashes, tokens stored as SHA-256, CSRF tokens, the server key."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from threadline.config import Settings


class Passwords:
    """argon2id hashing, run off the event loop because it is deliberately slow."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the e-mail is unknown, so timing does not reveal which users exist.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    async def hash(self, password: str) -> str:
        return await to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; always spends the same work, even without a hash."""

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                    password_hash is not None
                )
            except (VerificationError, InvalidHashError):
                return False

        return await to_thread.run_sync(check)


def new_token(prefix: str) -> str:
    """A URL-safe random secret with a readable prefix (``tl_``, ``ts_``, ``inv_``)."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a high-entropy token. SHA-256 suffices: such tokens are not guessable."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: bytes, session_token: str) -> str:
    """The CSRF token of a browser session: an HMAC of the session token, so nothing is stored."""
    return hmac.new(secret_key, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: bytes, session_token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_token(secret_key, session_token), presented
    )


def load_secret_key(settings: Settings) -> bytes:
    """``THREADLINE_SECRET_KEY``, or a random key created once in ``THREADLINE_HOME/secret.key``."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path: Path = settings.home / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".secret.key.{secrets.token_hex(4)}")
        temporary.write_text(secrets.token_hex(32))
        temporary.chmod(0o600)
        # link() fails if the key exists: two processes starting together agree on one key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        temporary.unlink()
    return path.read_text().strip().encode()
