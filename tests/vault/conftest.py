"""Vault fixtures: a workspace ``acme`` with one member of each role."""

from __future__ import annotations

import pytest

from tests.conftest import Actor


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
