"""The file ↔ part link over HTTP: attach vault file versions to part revisions, list them on the
revision and on the part, detach; frozen with a released revision; tenancy; audit; and the
"current revision" rule shared with the BOM tree."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Actor, MakeActor
from tests.vault.helpers import step_like, upload
from threadline.catalog import attachments

WORKSPACE = "acme"


@pytest.fixture
async def erin(make_actor: MakeActor) -> Actor:
    """Engineer; creates ``acme``."""
    return await make_actor("erin", workspace=WORKSPACE, role="engineer")


@pytest.fixture
async def ed(make_actor: MakeActor, erin: Actor) -> Actor:
    """Another engineer of ``acme``."""
    return await make_actor("ed", workspace=WORKSPACE, role="engineer")


@pytest.fixture
async def mia(make_actor: MakeActor, erin: Actor) -> Actor:
    """Manager of ``acme`` (approves revisions)."""
    return await make_actor("mia", workspace=WORKSPACE, role="manager")


@pytest.fixture
async def vic(make_actor: MakeActor, erin: Actor) -> Actor:
    """Viewer of ``acme``."""
    return await make_actor("vic", workspace=WORKSPACE, role="viewer")


@pytest.fixture
async def olga(make_actor: MakeActor) -> Actor:
    """Owner of another workspace, ``globex``."""
    return await make_actor("olga", workspace="globex", role="owner")


async def make_part(actor: Actor, number: str, *, workspace: str = WORKSPACE) -> dict:
    body = {"workspace": workspace, "partNumber": number, "name": number}
    response = await actor.client.post("/v1/parts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def make_revision(actor: Actor, part: dict, revision: str) -> dict:
    response = await actor.client.post(
        f"/v1/parts/{part['id']}/versions", json={"revision": revision}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def release(manager: Actor, part: dict, version: dict) -> None:
    """Submit and approve a revision."""
    base = f"/v1/parts/{part['id']}/versions/{version['id']}"
    for action in ("submit", "approve"):
        response = await manager.client.post(f"{base}/{action}")
        assert response.status_code == 200, response.text


async def make_file(actor: Actor, name: str = "housing.step", **form) -> dict:
    response = await upload(actor.client, name, step_like(name), **form)
    assert response.status_code in (200, 201), response.text
    return response.json()


# --- the current-revision rule ------------------------------------------------------------------


async def test_current_revision_is_newest_approved_else_newest(erin, mia, sessionmaker):
    none = await make_part(erin, "P-NONE")
    drafts = await make_part(erin, "P-DRAFTS")
    await make_revision(erin, drafts, "A")
    newest_draft = await make_revision(erin, drafts, "B")
    mixed = await make_part(erin, "P-MIXED")
    approved = await make_revision(erin, mixed, "A")
    await release(mia, mixed, approved)
    await make_revision(erin, mixed, "B")
    both = await make_part(erin, "P-BOTH")
    first = await make_revision(erin, both, "A")
    second = await make_revision(erin, both, "B")
    await release(mia, both, first)
    await release(mia, both, second)

    ids = [uuid.UUID(p["id"]) for p in (none, drafts, mixed, both)]
    async with sessionmaker() as session:
        current = await attachments.current_revisions(session, part_ids=ids)
    assert {str(k): str(v) for k, v in current.items()} == {
        drafts["id"]: newest_draft["id"],
        mixed["id"]: approved["id"],
        both["id"]: second["id"],
    }
    assert attachments.line_revision(None, ids[1]) == ids[1]
    assert attachments.line_revision(ids[0], ids[1]) == ids[0]
