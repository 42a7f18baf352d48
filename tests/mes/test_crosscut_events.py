"""``/event/``: the audit log read as one event per changed key (mes-api-reference.txt
``/event/``), stable uuids, filters, paging, tenancy, and a page in a fixed number of queries."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event

from tests.conftest import assert_problem
from tests.mes.conftest import Mes


@contextlib.contextmanager
def counted(engine) -> Iterator[list[str]]:
    """SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _events(mes: Mes, **params: str) -> list[dict]:
    return (await mes.list("event", **params))["resources"]


async def test_create_update_delete_of_a_location_show_as_events(mes: Mes) -> None:
    location = await mes.create("location", {"name": "Turin", "address": "Via Roma 1"})
    await mes.update(location, {"phone": "+39 011", "address": "Via Po 2"})
    await mes.delete(location)
    events = await _events(mes, **{"filter[reference]": location})
    assert all(e["reference"] == location for e in events)

    def history(key: str) -> list[tuple[object, object]]:
        return [(e["previous_value"], e["current_value"]) for e in events if e["key"] == key]

    # a create shows every field from null, a change the changed fields, a delete every
    # field to null
    assert history("address") == [
        (None, "Via Roma 1"),
        ("Via Roma 1", "Via Po 2"),
        ("Via Po 2", None),
    ]
    assert history("phone") == [(None, None), (None, "+39 011"), ("+39 011", None)]
    assert history("name") == [(None, "Turin"), ("Turin", None)]
    ((_, bureau), _gone) = history("bureau")
    assert bureau.startswith("http://testserver/mes/bureau/")  # URIs are shown absolute
    first = events[0]
    assert first["user"] == f"http://testserver/mes/users/{mes.actor.user.id}/"
    assert first["bureau"].startswith("http://testserver/mes/bureau/")
    assert first["uri"] == f"http://testserver/mes/event/{first['uuid']}/"
    assert set(first) == {
        "uuid", "uri", "reference", "key", "previous_value", "current_value", "user", "bureau",
        "created",
    }  # fmt: skip


async def test_an_event_is_found_by_its_stable_uuid(mes: Mes) -> None:
    location = await mes.create("location", {"name": "Porto", "address": "x"})
    await mes.update(location, {"phone": "1", "admin_group": "ops"})
    listed = await _events(mes, **{"filter[reference]": location})
    assert len({e["uuid"] for e in listed}) == len(listed)  # one uuid per event
    for one in listed:
        assert await mes.get(one["uri"]) == one
    again = await _events(mes, **{"filter[reference]": location})
    assert [e["uuid"] for e in again] == [e["uuid"] for e in listed]
    unknown = listed[0]["uuid"][:-4] + "ffff"
    assert_problem(await mes.client.get(f"/mes/event/{unknown}/"), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.get("/mes/event/nope/"), 404, "RESOURCE_NOT_FOUND")


async def test_rows_made_in_one_millisecond_give_events_of_their_own(mes: Mes) -> None:
    # a location and its default sub-location are logged by one transaction, their audit ids
    # one counter step apart: their events must still not share a uuid
    location = await mes.create("location", {"name": "Lyon", "address": "x"})
    sub = (await mes.list("sub-location", **{"filter[location]": location}))["resources"][0]
    listed = await _events(mes, **{"filter[reference]": f"{location},{sub['uri']}"})
    assert {e["reference"] for e in listed} == {location, sub["uri"]}
    assert len({e["uuid"] for e in listed}) == len(listed)
    for one in listed:
        assert await mes.get(one["uri"]) == one


async def test_filters_by_key_created_user_and_paging(mes: Mes) -> None:
    first = await mes.create("location", {"name": "Bern", "address": "x"})
    second = await mes.create("location", {"name": "Basel", "address": "y"})
    await mes.update(second, {"name": "Basel Nord"})
    # (each location's default sub-location is named on /event/ too)
    names = await _events(mes, **{"filter[key]": "name", "filter[reference]": f"{first},{second}"})
    assert [(e["reference"], e["previous_value"], e["current_value"]) for e in names] == [
        (first, None, "Bern"),
        (second, None, "Basel"),
        (second, "Basel", "Basel Nord"),
    ]
    newest = await _events(
        mes, **{"filter[key]": "name", "filter[reference]": f"{first},{second}", "sort": "-created"}
    )
    assert [e["uuid"] for e in newest] == [e["uuid"] for e in reversed(names)]
    later = await mes.client.get(f"/mes/event/?filter[created]>{names[0]['created']}")
    assert all(e["created"] > names[0]["created"] for e in later.json()["resources"])
    mine = await mes.list("event", **{"filter[user]": names[0]["user"]})
    total = mine["meta"]["count"]
    assert total == (await mes.list("event"))["meta"]["count"] > 3
    page = await mes.list("event", **{"page[limit]": 2, "page[offset]": 1})
    assert page["meta"] == {"count": total, "limit": 2, "offset": 1}
    everything = (await mes.list("event"))["resources"]
    assert page["resources"] == everything[1:3]
    both = await mes.list("event", **{"filter[reference]": f"{first},{second}"})
    assert {e["reference"] for e in both["resources"]} == {first, second}


async def test_bad_filters_and_methods(mes: Mes) -> None:
    get = mes.client.get
    assert_problem(await get("/mes/event/?filter[colour]=red"), 400, "UNKNOWN_FILTER")
    assert_problem(await get("/mes/event/?sort=key"), 400, "UNKNOWN_SORT")
    assert_problem(await get("/mes/event/?filter[reference]=nope"), 400, "INVALID_FIELD")
    assert_problem(await get("/mes/event/?filter[created]>yesterday"), 400, "INVALID_FIELD")
    assert_problem(await get("/mes/event/?filter[key]>a"), 400, "INVALID_FILTER")
    assert_problem(await get("/mes/event/?page[limit]=5000"), 400, "INVALID_PAGE")
    assert (await mes.client.post("/mes/event/", json={})).status_code == 405
    listed = await mes.client.get("/mes/event")
    assert listed.status_code == 200
    location = await mes.create("location", {"name": "Riga", "address": "x"})
    one = (await _events(mes, **{"filter[reference]": location}))[0]
    assert (await mes.client.put(one["uri"], json={})).status_code == 405
    assert (await mes.client.delete(one["uri"])).status_code == 405


async def test_another_bureau_sees_none_of_it(mes: Mes, other_mes: Mes) -> None:
    location = await mes.create("location", {"name": "Oslo", "address": "x"})
    one = (await _events(mes, **{"filter[reference]": location}))[0]
    assert_problem(await other_mes.client.get(one["uri"]), 404, "RESOURCE_NOT_FOUND")
    assert (await other_mes.list("event"))["meta"]["count"] == 0
    theirs = await other_mes.list("event", **{"filter[reference]": location})
    assert theirs["meta"]["count"] == 0


async def test_viewer_reads_events(make_actor, mes: Mes) -> None:
    await mes.create("location", {"name": "Kyiv", "address": "x"})
    viewer = Mes(await make_actor("vic", workspace="acme", role="viewer"))
    assert (await viewer.list("event"))["meta"]["count"] > 0


async def test_a_page_is_a_fixed_number_of_statements(mes: Mes, engine) -> None:
    counts = []
    for size in (2, 12):
        for i in range(size):
            await mes.create("location", {"name": f"Site {size}-{i}", "address": "x"})
        with counted(engine) as statements:
            page = await mes.list("event", **{"page[limit]": 1000})
        assert len(page["resources"]) == page["meta"]["count"] > size * 2
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
