"""The role matrix: every workspace-scoped privileged endpoint against every kind of caller.

productflo-sync-api: Permissions & Roles — viewer < engineer < manager < owner; invitation
sending and admin-like actions need manager+. A non-member gets 404, never 403 (DESIGN: Tenancy).
"""

from dataclasses import dataclass

import pytest

from tests.conftest import assert_problem

ROLES = ["viewer", "engineer", "manager", "owner"]
NON_MEMBER = "non-member"


@dataclass
class Endpoint:
    method: str
    path: str  # formatted with the target member's id
    body: dict | None
    minimum: str
    success: int

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/invitations/send",
        {"email": "new@example.com", "workspace": "acme", "role": "viewer"},
        "manager",
        201,
    ),
    Endpoint("PATCH", "/v1/workspaces/acme/members/{target}", {"role": "viewer"}, "manager", 200),
    Endpoint("DELETE", "/v1/workspaces/acme/members/{target}", None, "manager", 204),
    Endpoint("POST", "/v1/users/init", {"workspace": "acme", "username": "tom"}, "manager", 200),
    Endpoint("GET", "/v1/audit?workspace=acme", None, "manager", 200),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("caller_role", [*ROLES, NON_MEMBER])
async def test_role_matrix(make_actor, endpoint, caller_role):
    await make_actor("olivia", workspace="acme", role="owner")
    target = await make_actor("tom", workspace="acme", role="engineer")
    if caller_role == NON_MEMBER:
        caller = await make_actor("carl", workspace="elsewhere", role="owner")
    else:
        caller = await make_actor("carl", workspace="acme", role=caller_role)

    response = await caller.client.request(
        endpoint.method, endpoint.path.format(target=target.user.id), json=endpoint.body
    )

    if caller_role == NON_MEMBER:
        assert_problem(response, 404, "WORKSPACE_NOT_FOUND")
    elif ROLES.index(caller_role) < ROLES.index(endpoint.minimum):
        body = assert_problem(response, 403, "INSUFFICIENT_ROLE")
        assert endpoint.minimum in body["detail"]
    else:
        assert response.status_code == endpoint.success, response.text

    # Whatever was refused left the target member as it was.
    members = (await target.client.get("/v1/users", params={"workspace": "acme"})).json()
    tom_role = {m["username"]: m["role"] for m in members.get("items", [])}.get("tom")
    changed = response.is_success and endpoint.method in ("PATCH", "DELETE")
    assert (tom_role != "engineer") == changed
