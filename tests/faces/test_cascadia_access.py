"""Tenancy and authentication on every Cascadia endpoint: another workspace's file or item
answers 404 RESOURCE_NOT_FOUND (never 403, never its data); anonymous callers get 401."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import assert_problem
from tests.faces.factories import make_branch, make_item, step, upload_one


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {file}, {item}
    json: dict[str, Any] | None = None
    params: dict[str, str] | None = None
    upload: bool = False


FILE_CALLS = [
    Call("DELETE", "/api/files/{file}"),
    Call("GET", "/api/files/{file}/download"),
    Call("GET", "/api/files/{file}/metadata"),
    Call("GET", "/api/files/{file}/versions"),
    Call("POST", "/api/files/{file}/checkout"),
    Call("POST", "/api/files/{file}/checkin"),
    Call("POST", "/api/files/{file}/checkin", upload=True),
    Call("GET", "/api/files/{file}/lock-status"),
]
ITEM_CALLS = [
    Call("GET", "/api/items/{item}/files"),
    Call("GET", "/api/items/{item}/files", params={"branchId": "{branch}"}),
    Call("POST", "/api/items/{item}/files/upload", upload=True),
    Call("POST", "/api/items/{item}/lock", json={"force": True}),
    Call("POST", "/api/items/{item}/unlock", json={"force": True}),
    Call("GET", "/api/items/{item}/lock-status"),
    Call("POST", "/api/items/{item}/checkout", json={"branchId": "{branch}"}),
    Call("GET", "/api/items/{item}/checkout", params={"branchId": "{branch}"}),
    Call("DELETE", "/api/items/{item}/checkout", params={"branchId": "{branch}"}),
    Call("POST", "/api/items/{item}/checkin", json={"branchId": "{branch}"}),
]
BATCHES = [
    Call("POST", "/api/files/batch-checkout", json={"fileIds": ["{file}"]}),
    Call("POST", "/api/files/batch-checkin", json={"fileIds": ["{file}"]}),
    Call("POST", "/api/items/batch-checkout", json={"itemIds": ["{item}"], "branchId": "{branch}"}),
    Call("POST", "/api/items/batch-checkin", json={"itemIds": ["{item}"], "branchId": "{branch}"}),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def _send(client, call: Call, ids: dict[str, str]):
    kwargs: dict[str, Any] = {}
    if call.json is not None:
        kwargs["json"] = _fill(call.json, ids)
    if call.params is not None:
        kwargs["params"] = _fill(call.params, ids)
    if call.upload:
        kwargs["files"] = {"file": ("secret.step", step(), "application/octet-stream")}
    return await client.request(call.method, _fill(call.path, ids), **kwargs)


@pytest.fixture
async def acme(alice, sessionmaker) -> dict[str, str]:
    """An item with a checked-out, item-locked file and an item checkout, all alice's."""
    item = await make_item(alice.client, "SECRET-1")
    branch = await make_branch(sessionmaker, alice, "fix")
    file_id = (await upload_one(alice.client, item, "secret.step"))["id"]
    assert (await alice.client.post(f"/api/files/{file_id}/checkout")).status_code == 200
    checkout = await alice.client.post(f"/api/items/{item}/checkout", json={"branchId": branch})
    assert checkout.status_code == 200
    assert (await alice.client.post(f"/api/items/{item}/lock")).status_code == 200
    return {"file": file_id, "item": item, "branch": branch}


@pytest.mark.parametrize("call", FILE_CALLS + ITEM_CALLS, ids=lambda c: f"{c.method} {c.path}")
async def test_another_workspaces_ids_answer_404(call, acme, alice, mallory, sessionmaker):
    ids = {**acme, "branch": await make_branch(sessionmaker, mallory, "fix", workspace="globex")}
    response = await _send(mallory.client, call, ids)
    body = assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert "secret.step" not in response.text and "SECRET-1" not in response.text
    assert "Alice" not in body["detail"]
    # nothing changed for alice
    status = (await alice.client.get(f"/api/items/{acme['item']}/lock-status")).json()["data"]
    assert status["lockStatus"]["lockedBy"]["id"] == str(alice.user.id)
    files = (await alice.client.get(f"/api/items/{acme['item']}/files")).json()["data"]
    assert [(f["id"], f["version"]) for f in files["files"]] == [(acme["file"], 1)]


@pytest.mark.parametrize("call", BATCHES, ids=lambda c: c.path)
async def test_batches_report_another_workspaces_ids_as_missing(call, acme, mallory, sessionmaker):
    ids = {**acme, "branch": await make_branch(sessionmaker, mallory, "fix", workspace="globex")}
    response = await _send(mallory.client, call, ids)
    assert response.status_code == 400, response.text
    data = response.json()["data"]
    assert not (data.get("checkedOut") or data.get("checkedIn"))
    (error,) = data["errors"]
    assert error["code"] == "RESOURCE_NOT_FOUND"
    assert "secret.step" not in response.text and "Alice" not in response.text


async def test_another_workspaces_files_are_not_listed(acme, mallory):
    listed = (await mallory.client.get("/api/files")).json()
    assert listed == {"data": {"files": [], "count": 0}}


@pytest.mark.parametrize(
    "call",
    [Call("GET", "/api/files"), *FILE_CALLS, *ITEM_CALLS, *BATCHES],
    ids=lambda c: f"{c.method} {c.path}",
)
async def test_anonymous_is_401(call, acme, client):
    response = await _send(client, call, acme)
    assert_problem(response, 401, "UNAUTHENTICATED")
    assert "secret.step" not in response.text
