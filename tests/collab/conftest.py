"""Collaboration fixtures: a workspace ``acme`` with one member of each role and a file."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Actor


@dataclass
class Part:
    """A file in alice's folder of ``acme``."""

    path: str
    version_id: str


async def upload(
    client: httpx.AsyncClient, name: str = "part.step", data: bytes = b"", replace: bool = False
) -> dict:
    """``POST /v1/upload?workspace=acme`` with one small STEP file (a new version: ``replace``)."""
    response = await client.post(
        "/v1/upload",
        params={"workspace": "acme"},
        files={"file": (name, data or b"ISO-10303-21;\nEND-ISO-10303-21;\n", "x")},
        data={"replace": "true"} if replace else {},
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
async def alice(make_actor) -> Actor:
    """Engineer; creates ``acme``."""
    return await make_actor("alice", workspace="acme", role="engineer")


@pytest.fixture
async def bob(make_actor, alice) -> Actor:
    """Another engineer in ``acme``."""
    return await make_actor("bob", workspace="acme", role="engineer")


@pytest.fixture
async def mike(make_actor, alice) -> Actor:
    """Manager in ``acme``."""
    return await make_actor("mike", workspace="acme", role="manager")


@pytest.fixture
async def vera(make_actor, alice) -> Actor:
    """Viewer in ``acme``."""
    return await make_actor("vera", workspace="acme", role="viewer")


@pytest.fixture
async def carol(make_actor) -> Actor:
    """Engineer in another workspace, ``other``: a stranger to ``acme``."""
    return await make_actor("carol", workspace="other", role="engineer")


@pytest.fixture
async def part(alice) -> Part:
    """``/v1/serve/acme/alice/part.step``."""
    body = await upload(alice.client)
    return Part(path=body["path"], version_id=body["versionId"])
