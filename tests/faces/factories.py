"""Small builders for the Cascadia face tests: items (catalog parts), branches and item uploads,
all through the public API except branch rows, which the vault creates on first use."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Actor
from threadline.auth.models import Role
from threadline.auth.service import require_role
from threadline.vault.branches import ensure_branch
from threadline.vault.models import VaultFile

WORKSPACE = "acme"
CAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-boms" / "cad"


def step(tag: str = "") -> bytes:
    """A small STEP file whose bytes (and so whose blob) are unique to this call."""
    marker = f"{tag}-{uuid.uuid4().hex}"
    return (
        "ISO-10303-21;\nHEADER;\n"
        f"FILE_DESCRIPTION(('{marker}'),'2;1');\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n"
    ).encode()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def make_item(
    client: httpx.AsyncClient, part_number: str, *, workspace: str = WORKSPACE
) -> str:
    """A catalog part (a Cascadia item); returns its id."""
    body = {"workspace": workspace, "partNumber": part_number, "name": f"{part_number} housing"}
    response = await client.post("/v1/parts", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def make_branch(
    sessionmaker: async_sessionmaker[AsyncSession],
    actor: Actor,
    name: str,
    *,
    workspace: str = WORKSPACE,
) -> str:
    """The id of the workspace's branch ``name`` (a Cascadia branchId)."""
    async with sessionmaker() as session:
        access = await require_role(
            session, user=actor.user, workspace=workspace, minimum=Role.viewer
        )
        row = await ensure_branch(session, access, name, actor.user)
        await session.commit()
        return str(row.id)


async def upload(
    client: httpx.AsyncClient,
    item_id: str,
    files: dict[str, tuple[str, bytes]],
    *,
    descriptions: dict[str, str] | None = None,
    branch_id: str | None = None,
) -> httpx.Response:
    """POST /api/items/:id/files/upload with form keys ``file1``..., ``<key>_description`` and
    ``branchId``."""
    data: dict[str, str] = {
        f"{key}_description": text for key, text in (descriptions or {}).items()
    }
    if branch_id is not None:
        data["branchId"] = branch_id
    multipart = {
        key: (name, content, "application/octet-stream") for key, (name, content) in files.items()
    }
    return await client.post(f"/api/items/{item_id}/files/upload", files=multipart, data=data)


async def upload_one(
    client: httpx.AsyncClient,
    item_id: str,
    name: str = "motor_housing.step",
    content: bytes | None = None,
    *,
    branch_id: str | None = None,
) -> dict[str, Any]:
    """Upload one file to an item (201 asserted); returns its entry of ``files``."""
    response = await upload(
        client, item_id, {"file1": (name, content or step(name))}, branch_id=branch_id
    )
    assert response.status_code == 201, response.text
    return response.json()["files"][0]


async def vault_files(
    sessionmaker: async_sessionmaker[AsyncSession], item_id: str
) -> list[VaultFile]:
    """Every vault row attached to an item, live or trashed."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(VaultFile).where(VaultFile.item_id == uuid.UUID(item_id))
        )
        return list(rows.all())
