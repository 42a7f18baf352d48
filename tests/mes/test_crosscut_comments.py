"""``/comment/``: comments on a bureau's rows, by their author only (mes-api-reference.txt
``/comment/``), mentions of members, the text filters and their 400s."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import assert_problem
from tests.mes.conftest import Mes
from tests.mes.test_crosscut_events import counted
from threadline.mes.resources import REGISTRY

OWNER_ONLY = "Modification of the comment allowed only for comment owner."


ORDER: dict[str, str] = {}


@pytest.fixture(autouse=True)
async def order(mes: Mes) -> str:
    """An order of bureau ``acme``: what the comments here are on (its uuid)."""
    uri = await mes.create("order", {"name": "O-1"})
    ORDER["uuid"] = uri.rsplit("/", 2)[-2]
    return ORDER["uuid"]


def comment_body(text: str = "Please check the wall thickness", **extra: object) -> dict:
    return {"related_table_name": "order", "related_uuid": ORDER["uuid"], "text": text, **extra}


async def test_comment_fields(make_actor, mes: Mes) -> None:
    colleague = await make_actor("ann", workspace="acme", role="engineer")
    mention = f"http://testserver/mes/users/{colleague.user.id}/"
    body = comment_body(mentioned_users=[{"uri": mention}], comment_action={"status": "new"})
    uri = await mes.create("comment", body)
    comment = await mes.get(uri)
    assert comment["related_table_name"] == "order"
    assert comment["related_uuid"] == body["related_uuid"]
    assert comment["text"] == body["text"]
    assert comment["user"] == f"http://testserver/mes/users/{mes.actor.user.id}/"
    assert comment["username"] == mes.actor.user.email
    assert comment["author_name"] == mes.actor.user.name
    assert comment["mentioned_users"] == [
        {"uri": mention, "username": colleague.user.email, "name": colleague.user.name}
    ]
    assert comment["comment_action"] == {"status": "new"}
    # the mentioned user is told (a live event to them alone), which is no change: not an event
    audit = await mes.client.get("/v1/audit", params={"workspace": "acme"})
    notices = [e for e in audit.json()["items"] if e["action"] == "mention"]
    assert [n["after"] for n in notices] == [
        {"mentioned_user": mention.removeprefix("http://testserver")}
    ]
    keys = {e["key"] for e in (await mes.list("event", **{"filter[reference]": uri}))["resources"]}
    assert "mentioned_user" not in keys and "text" in keys
    # mentions are also accepted as plain URIs; a PUT replaces the list
    await mes.update(uri, {"mentioned_users": []})
    assert (await mes.get(uri))["mentioned_users"] == []
    await mes.update(uri, {"mentioned_users": [mention], "text": "Fixed?"})
    again = await mes.get(uri)
    assert [m["uri"] for m in again["mentioned_users"]] == [mention]
    assert again["text"] == "Fixed?"


async def test_only_the_owner_changes_a_comment(make_actor, mes: Mes) -> None:
    uri = await mes.create("comment", comment_body())
    viewer = Mes(await make_actor("vic", workspace="acme", role="viewer"))
    # any member may comment, a viewer too
    theirs = await viewer.create("comment", comment_body("Looks good"))
    for response in (
        await viewer.client.put(uri, json={"text": "edited"}),
        await viewer.client.delete(uri),
        await mes.client.put(theirs, json={"text": "edited"}),  # even a manager
    ):
        assert assert_problem(response, 403, "COMMENT_OWNER_ONLY")["detail"] == OWNER_ONLY
    await viewer.update(theirs, {"text": "Looks great"})
    await viewer.delete(theirs)
    assert (await mes.list("comment"))["meta"]["count"] == 1


async def test_bad_comments(mes: Mes, other_mes: Mes) -> None:
    post = mes.client.post
    assert_problem(await post("/mes/comment/", json={"text": "x"}), 400, "FIELD_REQUIRED")
    wrong_table = comment_body(related_table_name="printer")
    assert_problem(await post("/mes/comment/", json=wrong_table), 400, "INVALID_FIELD")
    not_uuid = comment_body(related_uuid="42")
    assert_problem(await post("/mes/comment/", json=not_uuid), 400, "INVALID_FIELD")
    assert_problem(await post("/mes/comment/", json=comment_body(text=None)), 400, "INVALID_FIELD")
    bad_action = comment_body(comment_action={"status": "done"})
    assert_problem(await post("/mes/comment/", json=bad_action), 400, "INVALID_FIELD")
    outsider = f"/mes/users/{other_mes.actor.user.id}/"
    response = await post("/mes/comment/", json=comment_body(mentioned_users=[{"uri": outsider}]))
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    response = await post("/mes/comment/", json=comment_body(mentioned_users=["/mes/label/1/"]))
    assert_problem(response, 400, "INVALID_FIELD")
    assert (await mes.list("comment"))["meta"]["count"] == 0


async def test_related_row_must_be_in_the_bureau(mes: Mes, other_mes: Mes) -> None:
    theirs = await other_mes.create("order", {"name": "Rival order"})
    body = comment_body(related_uuid=theirs.rsplit("/", 2)[-2])
    response = await mes.client.post("/mes/comment/", json=body)
    detail = assert_problem(response, 404, "RESOURCE_NOT_FOUND")["detail"]
    assert detail == "The requested order cannot be found."
    body["related_uuid"] = str(uuid.uuid4())
    assert_problem(await mes.client.post("/mes/comment/", json=body), 404, "RESOURCE_NOT_FOUND")
    site = await mes.create("location", {"name": "Here", "address": "x"})
    body = comment_body(related_table_name="line_item", related_uuid=site.rsplit("/", 2)[-2])
    assert_problem(await mes.client.post("/mes/comment/", json=body), 404, "RESOURCE_NOT_FOUND")
    if "run" not in REGISTRY:  # a table this server does not serve yet is taken on trust
        await mes.create("comment", comment_body(related_table_name="run"))


async def test_another_bureaus_comments_are_404(mes: Mes, other_mes: Mes) -> None:
    their_order = await other_mes.create("order", {"name": "Rival order"})
    body = comment_body(related_uuid=their_order.rsplit("/", 2)[-2])
    theirs = await other_mes.create("comment", body)
    assert_problem(await mes.client.get(theirs), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.put(theirs, json={"text": "x"}), 404)
    assert_problem(await mes.client.delete(theirs), 404)
    assert (await mes.list("comment"))["meta"]["count"] == 0


async def test_filters_and_text_ilike(mes: Mes) -> None:
    first = comment_body("Wall thickness too LOW")
    await mes.create("comment", first)
    second = await mes.create("order", {"name": "O-2"})
    await mes.create(
        "comment", comment_body("Colour is fine", related_uuid=second.rsplit("/", 2)[-2])
    )
    by_row = await mes.list("comment", **{"filter[related_uuid]": first["related_uuid"]})
    assert [c["text"] for c in by_row["resources"]] == [first["text"]]
    exact = await mes.list("comment", **{"filter[text]": "Colour is fine"})
    assert exact["meta"]["count"] == 1
    assert (await mes.list("comment", **{"filter[text]": "colour"}))["meta"]["count"] == 0
    ilike = await mes.list(
        "comment",
        **{"filter[text]": "too low", "filter[related_table_name]": "order", "text_ilike": "true"},
    )
    assert [c["text"] for c in ilike["resources"]] == [first["text"]]
    get = mes.client.get
    response = await get("/mes/comment/?filter[text]=low&text_ilike=true")
    body = assert_problem(response, 400, "INVALID_FILTER")
    assert body["detail"] == "Filtering using text_ilike requires a related_table_name filter"
    response = await get("/mes/comment/?filter[related_table_name]=order&text_ilike=true")
    body = assert_problem(response, 400, "INVALID_FILTER")
    assert (
        body["detail"]
        == "Filtering using text_ilike is only valid if a text filter is also provided"
    )
    assert_problem(await get("/mes/comment/?filter[related_uuid]=x"), 400, "INVALID_FIELD")


async def test_comment_writes_show_in_events(mes: Mes) -> None:
    uri = await mes.create("comment", comment_body("First"))
    await mes.update(uri, {"text": "Second"})
    page = await mes.list("event", **{"filter[reference]": uri, "filter[key]": "text"})
    changes = [(e["previous_value"], e["current_value"]) for e in page["resources"]]
    assert changes == [(None, "First"), ("First", "Second")]


async def test_a_get_body_sent_back_is_accepted(make_actor, mes: Mes) -> None:
    colleague = await make_actor("ann", workspace="acme", role="engineer")
    mention = f"/mes/users/{colleague.user.id}/"
    uri = await mes.create("comment", comment_body(mentioned_users=[mention]))
    body = await mes.get(uri)
    await mes.update(uri, {**body, "text": "Edited"})
    after = await mes.get(uri)
    assert after["text"] == "Edited" and after["mentioned_users"] == body["mentioned_users"]


async def test_a_page_of_comments_is_a_fixed_number_of_statements(
    make_actor, mes: Mes, engine
) -> None:
    colleague = await make_actor("ann", workspace="acme", role="engineer")
    mention = f"/mes/users/{colleague.user.id}/"
    counts = []
    for size in (2, 10):
        for _ in range(size):
            await mes.create("comment", comment_body(mentioned_users=[mention]))
        with counted(engine) as statements:
            page = await mes.list("comment")
        assert all(c["mentioned_users"] and c["username"] for c in page["resources"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
