"""Small builders for BOM tests: parts, BOMs and lines created through the public API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx

WORKSPACE = "acme"


def new_id() -> str:
    """A client-chosen line id."""
    return str(uuid.uuid4())


async def make_part(
    client: httpx.AsyncClient, part_number: str, *, workspace: str = WORKSPACE, **fields: Any
) -> dict[str, Any]:
    """POST /v1/parts; ``fields`` are camelCase extras (unitCost, currency, rohsCompliant...)."""
    body = {"workspace": workspace, "partNumber": part_number, "name": part_number, **fields}
    response = await client.post("/v1/parts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def make_parts(client: httpx.AsyncClient, *numbers: str) -> dict[str, dict[str, Any]]:
    """Several plain parts, keyed by part number."""
    return {number: await make_part(client, number) for number in numbers}


async def create_bom(
    client: httpx.AsyncClient,
    assembly_part_id: str,
    *,
    revision: str = "A",
    type: str = "ebom",
    workspace: str = WORKSPACE,
    **fields: Any,
) -> httpx.Response:
    body = {
        "workspace": workspace,
        "assemblyPartId": assembly_part_id,
        "type": type,
        "revision": revision,
        **fields,
    }
    return await client.post("/v1/boms", json=body)


async def make_bom(
    client: httpx.AsyncClient, assembly_part_id: str, **kwargs: Any
) -> dict[str, Any]:
    """A new draft BOM (201 asserted)."""
    response = await create_bom(client, assembly_part_id, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


async def post_items(
    client: httpx.AsyncClient, bom_id: str, items: list[dict[str, Any]]
) -> httpx.Response:
    return await client.post(f"/v1/boms/{bom_id}/items", json={"items": items})


async def write_items(
    client: httpx.AsyncClient, bom_id: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Bulk write that must succeed."""
    response = await post_items(client, bom_id, items)
    assert response.status_code == 200, response.text
    return response.json()


def line(part: dict[str, Any], qty: float = 1, **fields: Any) -> dict[str, Any]:
    """One new line of ``part`` (an ``id`` and ``parentItemId`` may be passed in ``fields``)."""
    return {"childPartId": part["id"], "qty": qty, **fields}


async def get_tree(client: httpx.AsyncClient, bom_id: str, **params: str) -> dict[str, Any]:
    response = await client.get(f"/v1/boms/{bom_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def walk(nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every node of a tree, depth first, parents before children."""
    for node in nodes:
        yield node
        yield from walk(node["children"])


def shape(nodes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The tree without ids: (part number, qty, uom, children) all the way down."""
    return [(n["partNumber"], n["qty"], n["uom"], shape(n["children"])) for n in nodes]


async def import_file(
    client: httpx.AsyncClient,
    bom_id: str,
    name: str,
    content: bytes,
    *,
    dry_run: bool = False,
    mode: str | None = None,
) -> httpx.Response:
    """POST /v1/boms/import with a multipart file."""
    data = {"bomId": bom_id, "dryRun": "true" if dry_run else "false"}
    if mode is not None:
        data["mode"] = mode
    return await client.post("/v1/boms/import", data=data, files={"file": (name, content)})
