"""Actors for the Cascadia face: two engineers, a manager and a viewer in ``acme``, and an owner
of another workspace, ``globex``."""

from __future__ import annotations

import pytest

from tests.conftest import Actor, MakeActor
from tests.faces.factories import WORKSPACE


@pytest.fixture
async def alice(make_actor: MakeActor) -> Actor:
    return await make_actor("alice", workspace=WORKSPACE, role="engineer")


@pytest.fixture
async def bob(make_actor: MakeActor, alice: Actor) -> Actor:
    return await make_actor("bob", workspace=WORKSPACE, role="engineer")


@pytest.fixture
async def mia(make_actor: MakeActor, alice: Actor) -> Actor:
    return await make_actor("mia", workspace=WORKSPACE, role="manager")


@pytest.fixture
async def vic(make_actor: MakeActor, alice: Actor) -> Actor:
    return await make_actor("vic", workspace=WORKSPACE, role="viewer")


@pytest.fixture
async def mallory(make_actor: MakeActor) -> Actor:
    """Owner of another workspace: every acme id must look missing to her."""
    return await make_actor("mallory", workspace="globex", role="owner")
