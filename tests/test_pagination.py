"""Native list paging and whitelisted sorting (threadline.pagination)."""

from typing import Any

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import assert_problem
from threadline.auth import service as auth
from threadline.auth.models import User
from threadline.db import SessionDep
from threadline.errors import Invalid
from threadline.pagination import PageParams, page_params, paginate, sorting

USER_SORT = sorting(
    {"username": User.username, "name": User.name, "created": User.created_at},
    default="username",
)


@pytest.fixture
async def sorted_users(app, sessionmaker):
    """``GET /test-only/users``: users sorted by ``?sort=&dir=``, paged, as usernames.

    The users are inserted in an order that is neither the sort order nor the tie-break order,
    and display names repeat, so only the tie-breaker makes the order deterministic.
    """
    router = APIRouter()

    @router.get("/test-only/users")
    async def users(
        order: list[Any] = Depends(USER_SORT),
        params: PageParams = Depends(page_params),
        session: AsyncSession = SessionDep,
    ) -> dict:
        stmt = select(User.username).where(User.username.like("u-%")).order_by(*order)
        rows, total = await paginate(session, stmt, params)
        return {"usernames": [r[0] for r in rows], "total": total}

    app.include_router(router)
    async with sessionmaker() as session:
        for username, name in [("u-d", "Amy"), ("u-c", "Zed"), ("u-b", "Zed"), ("u-a", "Amy")]:
            await auth.create_user(
                session,
                email=f"{username}@example.com",
                password_hash="x",
                name=name,
                username=username,
            )
        await session.commit()
    return "/test-only/users"


async def _usernames(client, path, **params) -> list[str]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["usernames"]


# --- sorting() --------------------------------------------------------------------------------


async def test_default_sort(client, sorted_users):
    assert await _usernames(client, sorted_users) == ["u-a", "u-b", "u-c", "u-d"]


async def test_sort_desc_and_asc(client, sorted_users):
    assert await _usernames(client, sorted_users, sort="username", dir="desc") == [
        "u-d",
        "u-c",
        "u-b",
        "u-a",
    ]
    assert await _usernames(client, sorted_users, sort="username", dir="asc") == [
        "u-a",
        "u-b",
        "u-c",
        "u-d",
    ]


async def test_ties_are_broken_by_the_default_field_ascending(client, sorted_users):
    assert await _usernames(client, sorted_users, sort="name") == ["u-a", "u-d", "u-b", "u-c"]
    assert await _usernames(client, sorted_users, sort="name", dir="desc") == [
        "u-b",
        "u-c",
        "u-a",
        "u-d",
    ]
    # Paging through a sort with ties neither repeats nor skips a row.
    pages = [
        await _usernames(client, sorted_users, sort="name", page=p, pageSize=1)
        for p in (1, 2, 3, 4)
    ]
    assert [u for page in pages for u in page] == ["u-a", "u-d", "u-b", "u-c"]


async def test_unknown_sort_field_is_400_naming_the_allowed_ones(client, sorted_users):
    response = await client.get(sorted_users, params={"sort": "password_hash"})
    body = assert_problem(response, 400, "INVALID_SORT")
    assert "password_hash" in body["detail"]
    assert "created, name, username" in body["detail"]


async def test_unknown_sort_direction_is_400(client, sorted_users):
    response = await client.get(sorted_users, params={"sort": "name", "dir": "sideways"})
    assert_problem(response, 400, "VALIDATION_ERROR")


def test_sorting_clauses():
    dependency = sorting({"username": User.username, "name": User.name}, default="username")
    [only] = dependency(sort="username", dir="desc")
    assert str(only) == "users.username DESC"
    by_name = dependency(sort="name", dir="asc")
    assert [str(c) for c in by_name] == ["users.name ASC", "users.username ASC"]
    with pytest.raises(Invalid) as raised:
        dependency(sort="email", dir="asc")
    assert raised.value.code == "INVALID_SORT"


def test_sorting_default_must_be_whitelisted():
    with pytest.raises(ValueError, match="not in the whitelist"):
        sorting({"name": User.name}, default="id")


# --- page / pageSize --------------------------------------------------------------------------


async def test_page_size_bounds(client, sorted_users):
    for params in ({"pageSize": 0}, {"pageSize": 501}, {"page": 0}, {"page": -1}, {"page": "x"}):
        body = assert_problem(
            await client.get(sorted_users, params=params), 400, "VALIDATION_ERROR"
        )
        assert any(e["loc"][-1] in ("page", "pageSize") for e in body["errors"]), body
    assert (await client.get(sorted_users, params={"pageSize": 500})).status_code == 200
    assert (await client.get(sorted_users, params={"pageSize": 1})).status_code == 200


async def test_page_beyond_the_end_is_empty_with_the_right_total(client, sorted_users):
    response = await client.get(sorted_users, params={"page": 3, "pageSize": 2})
    assert response.json() == {"usernames": [], "total": 4}
    response = await client.get(sorted_users, params={"page": 2, "pageSize": 3})
    assert response.json() == {"usernames": ["u-d"], "total": 4}


async def test_workspaces_page_through(make_actor):
    alice = await make_actor("alice")
    for name in ("e", "d", "c", "b", "a"):
        assert (await alice.client.post("/v1/workspaces", json={"name": name})).status_code == 201

    async def page(**params) -> dict:
        response = await alice.client.get("/v1/workspaces", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    first = await page(page=1, pageSize=2)
    assert ([w["name"] for w in first["items"]], first["total"]) == (["a", "b"], 5)
    assert (first["page"], first["pageSize"]) == (1, 2)
    assert [w["name"] for w in (await page(page=3, pageSize=2))["items"]] == ["e"]
    beyond = await page(page=4, pageSize=2)
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 5, 4)
    for bad in (0, 501):
        response = await alice.client.get("/v1/workspaces", params={"pageSize": bad})
        assert_problem(response, 400, "VALIDATION_ERROR")


async def test_users_page_through(make_actor):
    owner = await make_actor("olivia", workspace="acme", role="owner")
    for name in ("amy", "bob", "cat"):
        await make_actor(name, workspace="acme", role="viewer")
    response = await owner.client.get(
        "/v1/users", params={"workspace": "acme", "page": 2, "pageSize": 3}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert ([m["username"] for m in body["items"]], body["total"]) == (["olivia"], 4)
    response = await owner.client.get(
        "/v1/users", params={"workspace": "acme", "page": 9, "pageSize": 3}
    )
    assert (response.json()["items"], response.json()["total"]) == ([], 4)
    response = await owner.client.get("/v1/users", params={"workspace": "acme", "pageSize": 501})
    assert_problem(response, 400, "VALIDATION_ERROR")
