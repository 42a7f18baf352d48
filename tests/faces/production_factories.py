"""Small builders for the production-BOM face tests: jobs, serial moves and BOMs, all through
the face's own API."""

from __future__ import annotations

from typing import Any

import httpx

# production-bom-api.md's own examples of part types.
PART_TYPES = ("Steel Plate", "Bolt M8", "PCB Assembly")


async def make_job(
    client: httpx.AsyncClient, name: str = "Frame weld", quantity: int = 3, **fields: Any
) -> dict[str, Any]:
    """POST /api/jobs (201 asserted); ``fields`` are camelCase extras (partType, ...)."""
    response = await client.post("/api/jobs", json={"name": name, "quantity": quantity, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def serials_of(client: httpx.AsyncClient, job_id: str, **params: Any) -> list[dict]:
    response = await client.get("/api/serials", params={"jobId": job_id, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def set_status(client: httpx.AsyncClient, serial_id: str, status: str) -> dict[str, Any]:
    response = await client.patch(f"/api/serials/{serial_id}", json={"status": status})
    assert response.status_code == 200, response.text
    return response.json()


def entry(part_type: str, required: float, *job_ids: str) -> dict[str, Any]:
    return {
        "partType": part_type,
        "requiredQuantityPerBuild": required,
        "contributingJobIds": list(job_ids),
    }


async def make_bom(
    client: httpx.AsyncClient, name: str = "Chassis build", entries: list | None = None, **kw: Any
) -> dict[str, Any]:
    """POST /api/bom (201 asserted)."""
    body = {"name": name, "entries": entries or [], **kw}
    response = await client.post("/api/bom", json=body)
    assert response.status_code == 201, response.text
    return response.json()
