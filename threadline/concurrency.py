"""Optimistic concurrency for parts and BOM lines: ETags, ``If-Match`` and ``version`` fields.

Each row carries a ``version`` bumped by every write. A client shows the version it edited,
either as ``If-Match`` (RFC 9110 §13.1.1; a stale one is 412) or as a ``version`` body field
(a stale one is 409 ``VERSION_CONFLICT``, as the vault answers a stale ``baseVersion``). The
check runs on a row the writer has locked, so it and the bump are one atomic step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from threadline.errors import Conflict, Invalid, PreconditionFailed

# One entity-tag of an If-Match list: optionally weak, then a quoted opaque tag.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def etag(version: int) -> str:
    """The strong ETag of a row at ``version``: ``"3"``."""
    return f'"{version}"'


def parse_if_match(header: str | None) -> frozenset[int] | None:
    """The versions an ``If-Match`` header accepts; None when absent or ``*`` (any version).

    Weak tags never match (RFC 9110: If-Match compares strongly), nor do tags that are not a
    version number; a bare number is taken as its quoted form. Anything else is 400.
    """
    if header is None or header.strip() == "*":
        return None
    versions: set[int] = set()
    for item in header.split(","):
        if item.strip().isdigit():
            versions.add(int(item))
            continue
        match = _ENTITY_TAG.fullmatch(item)
        if match is None:
            raise Invalid(
                f"If-Match {header!r} is not a list of entity tags; send the ETag as given, "
                'e.g. "3".',
                code="INVALID_IF_MATCH",
            )
        weak, tag = match.groups()
        if not weak and tag.isdigit():
            versions.add(int(tag))
    return frozenset(versions)


@dataclass(frozen=True)
class Expected:
    """The version a client says it edited: from ``If-Match`` and/or a ``version`` body field."""

    if_match: frozenset[int] | None = None
    version: int | None = None

    @classmethod
    def of(cls, if_match: str | None, version: int | None) -> Expected:
        return cls(if_match=parse_if_match(if_match), version=version)

    def check(self, current: int, what: str) -> None:
        """412 when ``If-Match`` names no current version; 409 when the body's ``version`` is
        stale. Run it on a locked row, so that no write can come between check and bump."""
        extra = {"currentVersion": current, "currentEtag": etag(current)}
        headers = {"ETag": etag(current)}
        if self.if_match is not None and current not in self.if_match:
            raise PreconditionFailed(
                f"{what} is at version {current}, not the one If-Match names; nothing was "
                "saved. Reload it and apply your change again.",
                code="VERSION_CONFLICT",
                headers=headers,
                **extra,
            )
        if self.version is not None and current != self.version:
            raise Conflict(
                f"{what} is at version {current}, not {self.version}; nothing was saved. "
                "Reload it and apply your change again.",
                code="VERSION_CONFLICT",
                headers=headers,
                **extra,
            )
