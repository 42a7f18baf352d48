"""Locations, sub-locations and manufacturers, and the face conventions they share."""

from __future__ import annotations

from tests.conftest import assert_problem
from tests.mes.conftest import Mes


async def test_location_gets_its_default_sub_location(mes: Mes) -> None:
    uri = await mes.create("location", {"name": "Berlin", "address": "Hauptstr. 1"})
    assert uri.startswith("http://testserver/mes/location/") and uri.endswith("/")
    location = await mes.get(uri)
    assert location["name"] == "Berlin" and location["uri"] == uri
    assert location["bureau"].startswith("http://testserver/mes/bureau/")
    assert location["order_completion_note"] == ""
    subs = await mes.list("sub-location", **{"filter[location]": uri})
    assert subs["meta"] == {"count": 1, "limit": 100, "offset": 0}
    (default,) = subs["resources"]
    assert default["is_default"] is True and default["location"] == uri
    # the default sub-location was written like any other: its creation is on /event/
    events = await mes.list("event", **{"filter[reference]": default["uri"]})
    assert {e["key"] for e in events["resources"]} >= {"name", "is_default", "location"}


async def test_one_default_sub_location_per_location(mes: Mes) -> None:
    location = await mes.create("location", {"name": "Lyon", "address": "Rue 2"})
    hall = await mes.create("sub-location", {"name": "Hall B", "location": location})
    await mes.update(hall, {"is_default": True})
    subs = (await mes.list("sub-location", **{"filter[location]": location}))["resources"]
    assert [s["name"] for s in subs if s["is_default"]] == ["Hall B"]
    response = await mes.client.put(hall, json={"is_default": False})
    assert_problem(response, 400, "DEFAULT_SUB_LOCATION_REQUIRED")
    assert_problem(await mes.client.delete(hall), 400, "DEFAULT_SUB_LOCATION_REQUIRED")
    response = await mes.client.post(
        "/mes/sub-location/", json={"name": "hall b", "location": location}
    )
    assert_problem(response, 400, "NAME_EXISTS")


async def test_names_unique_and_messages_verbatim(mes: Mes) -> None:
    await mes.create("location", {"name": "Austin", "address": "1 Main"})
    response = await mes.client.post("/mes/location/", json={"name": "Austin", "address": "x"})
    body = assert_problem(response, 400, "NAME_EXISTS")
    assert body["detail"] == "The requested location name already exists."


async def test_bad_input_is_400_with_a_code(mes: Mes) -> None:
    post = mes.client.post
    assert_problem(await post("/mes/location/", json={"name": "A"}), 400, "FIELD_REQUIRED")
    body = assert_problem(
        await post("/mes/location/", json={"name": "A", "address": "x", "colour": 1}),
        400,
        "UNKNOWN_FIELD",
    )
    assert body["fields"] == ["colour"]
    assert_problem(
        await post("/mes/location/", json={"name": 5, "address": "x"}), 400, "INVALID_FIELD"
    )
    assert_problem(
        await post(
            "/mes/location/",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        400,
        "MALFORMED_JSON",
    )
    assert_problem(await post("/mes/location/", json=[1, 2]), 400, "INVALID_PAYLOAD")
    response = await post(
        "/mes/sub-location/", json={"name": "x", "location": "/mes/manufacturer/" + "0" * 32 + "/"}
    )
    assert_problem(response, 400, "INVALID_FIELD")
    assert_problem(await mes.client.get("/mes/location/?filter[colour]=red"), 400, "UNKNOWN_FILTER")
    assert_problem(await mes.client.get("/mes/location/?sort=colour"), 400, "UNKNOWN_SORT")
    assert_problem(await mes.client.get("/mes/location/?page[limit]=5000"), 400, "INVALID_PAGE")
    assert (await mes.client.get("/mes/location/not-a-uuid/")).status_code == 404


async def test_another_bureau_is_404_everywhere(mes: Mes, other_mes: Mes) -> None:
    theirs = await other_mes.create("location", {"name": "Rival HQ", "address": "x"})
    assert_problem(await mes.client.get(theirs), 404, "RESOURCE_NOT_FOUND")
    assert_problem(await mes.client.put(theirs, json={"name": "mine"}), 404)
    assert_problem(await mes.client.delete(theirs), 404)
    # inside a POST body, too
    response = await mes.client.post("/mes/sub-location/", json={"name": "x", "location": theirs})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    assert (await mes.list("location"))["meta"]["count"] == 0


async def test_paths_without_slash_filters_sort_and_paging(mes: Mes) -> None:
    for name in ("Cairo", "Accra", "Boston"):
        await mes.create("location", {"name": name, "address": "x"})
    response = await mes.client.get("/mes/location")
    assert response.status_code == 200 and response.json()["meta"]["count"] == 3
    names = [r["name"] for r in (await mes.list("location", sort="-name"))["resources"]]
    assert names == ["Cairo", "Boston", "Accra"]
    page = await mes.list("location", sort="name", **{"page[limit]": 2, "page[offset]": 1})
    assert [r["name"] for r in page["resources"]] == ["Boston", "Cairo"]
    assert page["meta"] == {"count": 3, "limit": 2, "offset": 1}
    picked = await mes.list("location", **{"filter[name]": "Accra,Cairo"})
    assert picked["meta"]["count"] == 2
    first = picked["resources"][0]
    later = await mes.client.get(f"/mes/location/?filter[created]>{first['created']}")
    assert all(r["created"] > first["created"] for r in later.json()["resources"])


async def test_relative_uris_accepted_and_put_is_partial(mes: Mes) -> None:
    location = await mes.create("location", {"name": "Oslo", "address": "x"})
    relative = "/mes/location/" + location.rsplit("/", 2)[-2] + "/"
    sub = await mes.create("sub-location", {"name": "Cage", "location": relative})
    assert (await mes.get(sub))["location"] == location
    # a GET body sent back as it was is accepted: read-only fields are ignored
    body = await mes.get(location)
    body["phone"] = "+47 1234"
    await mes.update(location, body)
    updated = await mes.get(location)
    assert updated["phone"] == "+47 1234" and updated["address"] == "x"


async def test_manufacturer_templates_hidden_and_read_only(mes: Mes) -> None:
    template = await mes.create("manufacturer", {"name": "EOS", "is_template": True})
    mine = await mes.create("manufacturer", {"name": "EOS GmbH", "base_template": template})
    listed = await mes.list("manufacturer")
    assert [r["uri"] for r in listed["resources"]] == [mine]
    templates = await mes.list("manufacturer", is_template="True")
    assert [r["uri"] for r in templates["resources"]] == [template]
    response = await mes.client.put(template, json={"notes": "x"})
    body = assert_problem(response, 403, "TEMPLATE_READ_ONLY")
    assert body["detail"] == "Modification of template manufacturer not allowed via API."


async def test_writes_are_audited_with_before_and_after(mes: Mes) -> None:
    location = await mes.create("location", {"name": "Turin", "address": "x"})
    await mes.update(location, {"phone": "123"})
    response = await mes.client.get("/v1/audit", params={"workspace": "acme"})
    assert response.status_code == 200, response.text
    changes = [e for e in response.json()["items"] if e["entityType"] == "mes.location"]
    update = next(e for e in changes if e["action"] == "update")
    assert update["before"] == {"phone": None} and update["after"] == {"phone": "123"}


async def test_viewer_reads_but_cannot_write(make_actor, mes: Mes) -> None:
    await mes.create("location", {"name": "Kyiv", "address": "x"})
    viewer = Mes(await make_actor("vic", workspace="acme", role="viewer"))
    assert (await viewer.list("location"))["meta"]["count"] == 1
    response = await viewer.client.post("/mes/location/", json={"name": "B", "address": "x"})
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
