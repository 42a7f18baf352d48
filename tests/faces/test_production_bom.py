"""Production BOMs (production-bom-api.md): CRUD, the per-entry summary, versioned edits and
their audit entries, derivation from an approved MBOM, bad input, tenancy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import event, func, select

from tests.boms.factories import line, make_part, write_items
from tests.boms.factories import make_bom as make_native_bom
from tests.conftest import assert_problem
from tests.faces.production_factories import (
    PART_TYPES,
    entry,
    make_bom,
    make_job,
    serials_of,
    set_status,
)
from threadline.auth.models import Membership, Role, Workspace
from threadline.mes.production.models import BomVersion, ProductionBom, ProductionBomEntry


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


async def _rows(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- create, read, list ---------------------------------------------------------------------------


async def test_create_read_and_list_a_bom(alice, vic):
    plate, bolt = await make_job(alice.client, "Plates"), await make_job(alice.client, "Bolts")
    body = await make_bom(
        alice.client,
        "Chassis build",
        [entry(PART_TYPES[0], 2, plate["id"]), entry(PART_TYPES[1], 8, bolt["id"], plate["id"])],
    )
    assert body["name"] == "Chassis build" and body["latestVersionNumber"] == 0
    assert [e["partType"] for e in body["entries"]] == ["Steel Plate", "Bolt M8"]
    assert body["entries"][1]["contributingJobIds"] == [bolt["id"], plate["id"]]
    assert body["entries"][0]["requiredQuantityPerBuild"] == 2

    got = await vic.client.get(f"/api/bom/{body['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["entries"] == body["entries"]
    listed = await vic.client.get("/api/bom", params={"workspaceId": "acme"})
    assert listed.status_code == 200
    page = listed.json()
    assert set(page) == {"items", "total", "page", "pageSize"}
    assert page["total"] == 1 and page["items"][0]["id"] == body["id"]
    assert page["items"][0]["summary"] is None  # summaries are for GET one


async def test_summary_counts_serials_of_the_contributing_jobs(alice):
    first = await make_job(alice.client, "Plates A", quantity=3)
    second = await make_job(alice.client, "Plates B", quantity=2)
    other = await make_job(alice.client, "Bolts", quantity=4)
    bom = await make_bom(
        alice.client,
        entries=[
            entry("Steel Plate", 4, first["id"], second["id"]),
            entry("Bolt M8", 2, other["id"]),
        ],
    )
    a, b = await serials_of(alice.client, first["id"]), await serials_of(alice.client, second["id"])
    await set_status(alice.client, a[0]["id"], "completed")
    await set_status(alice.client, b[0]["id"], "completed")
    await set_status(alice.client, a[1]["id"], "in_progress")
    await set_status(alice.client, b[1]["id"], "scrapped")
    body = (await alice.client.get(f"/api/bom/{bom['id']}")).json()
    plate, bolt = body["entries"]
    assert plate["summary"] == {"totalCompleted": 2, "totalInProgress": 1, "totalOutstanding": 2}
    assert bolt["summary"] == {"totalCompleted": 0, "totalInProgress": 0, "totalOutstanding": 2}
    assert [s["entryId"] for s in body["summary"]] == [plate["id"], bolt["id"]]
    assert body["summary"][0]["totalCompleted"] == 2
    # more completed than required: nothing outstanding, never negative
    for serial in (await serials_of(alice.client, other["id"]))[:3]:
        await set_status(alice.client, serial["id"], "completed")
    bolt = (await alice.client.get(f"/api/bom/{bom['id']}")).json()["entries"][1]
    assert bolt["summary"] == {"totalCompleted": 3, "totalInProgress": 0, "totalOutstanding": 0}


async def test_get_bom_reads_a_fixed_number_of_statements(alice, engine):
    jobs = [await make_job(alice.client, f"Job {i}", quantity=2) for i in range(6)]
    small = await make_bom(alice.client, "small", [entry("Plate", 1, jobs[0]["id"])])
    big = await make_bom(
        alice.client,
        "big",
        [entry(f"Part {i}", i + 1, *(j["id"] for j in jobs)) for i in range(40)],
    )
    counts = []
    for bom in (small, big):
        with counted(engine) as statements:
            response = await alice.client.get(f"/api/bom/{bom['id']}")
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    grouped = [s for s in statements if "GROUP BY" in s.upper() and "mes_pieces" in s]
    assert len(grouped) == 1  # the summary: one aggregate, not a count per entry


# --- simple updates and versioned edits --------------------------------------------------------


async def test_put_updates_without_a_version(alice, sessionmaker):
    job = await make_job(alice.client)
    bom = await make_bom(alice.client, entries=[entry("Steel Plate", 2)])
    response = await alice.client.put(
        f"/api/bom/{bom['id']}",
        json={"name": "Chassis v2", "entries": [entry("Steel Plate", 3, job["id"])]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Chassis v2" and body["latestVersionNumber"] == 0
    assert body["entries"][0]["requiredQuantityPerBuild"] == 3
    assert body["entries"][0]["contributingJobIds"] == [job["id"]]
    assert (await alice.client.get(f"/api/bom/{bom['id']}/versions")).json()["total"] == 0
    assert await _rows(sessionmaker, BomVersion) == 0


async def test_edit_keeps_the_old_entries_as_a_version_and_audits_it(alice, mia):
    job = await make_job(alice.client)
    bom = await make_bom(alice.client, entries=[entry("Steel Plate", 2)])
    first = await alice.client.post(
        f"/api/bom/{bom['id']}/edit",
        json={
            "entries": [entry("Steel Plate", 4, job["id"]), entry("Bolt M8", 16)],
            "changeDescription": "Doubled plates for the heavy variant",
        },
    )
    assert first.status_code == 201, first.text
    assert first.json()["versionNumber"] == 1
    assert [e["partType"] for e in first.json()["bom"]["entries"]] == ["Steel Plate", "Bolt M8"]
    second = await alice.client.post(
        f"/api/bom/{bom['id']}/edit",
        json={"entries": [entry("Bolt M8", 12)], "changeDescription": "Plates bought in"},
    )
    assert second.json()["versionNumber"] == 2
    assert second.json()["bom"]["latestVersionNumber"] == 2

    versions = (await alice.client.get(f"/api/bom/{bom['id']}/versions")).json()
    assert versions["total"] == 2
    newest, oldest = versions["items"]
    assert (newest["versionNumber"], oldest["versionNumber"]) == (2, 1)
    # each version is the entries as they were before its edit
    assert [(e["partType"], e["requiredQuantityPerBuild"]) for e in oldest["entries"]] == [
        ("Steel Plate", 2)
    ]
    assert [e["partType"] for e in newest["entries"]] == ["Steel Plate", "Bolt M8"]
    assert newest["entries"][0]["contributingJobIds"] == [job["id"]]
    assert oldest["changeDescription"] == "Doubled plates for the heavy variant"
    assert oldest["userId"] == str(alice.user.id) and oldest["user"] == "alice@example.com"

    # versions survive later simple updates
    await alice.client.put(f"/api/bom/{bom['id']}", json={"entries": []})
    again = (await alice.client.get(f"/api/bom/{bom['id']}/versions")).json()
    assert again["items"] == versions["items"]

    audit = (
        await mia.client.get("/api/audit", params={"action": "bom_edited", "entityId": bom["id"]})
    ).json()
    assert audit["total"] == 2
    assert audit["items"][0]["after"] == {
        "versionNumber": 2,
        "changeDescription": "Plates bought in",
    }
    assert audit["items"][0]["entityType"] == "production_bom"
    assert audit["items"][1]["userId"] == str(alice.user.id)


# --- derive from a native MBOM ---------------------------------------------------------------


async def _approved_mbom(alice, mia) -> tuple[dict, dict]:
    c = alice.client
    top, sub = await make_part(c, "TOP-1"), await make_part(c, "SUB-1")
    bolt, plate = await make_part(c, "BOLT-M8"), await make_part(c, "PLATE-1")
    mbom = await make_native_bom(c, top["id"], type="mbom")
    sub_line = "7f1f0e3c-59a4-4d55-9b2b-0d4a43b4d2a1"
    await write_items(
        c,
        mbom["id"],
        [
            line(sub, 2, id=sub_line),
            line(bolt, 3, parentItemId=sub_line),
            line(plate, 1),
            line(bolt, 4),
        ],
    )
    return mbom, {"bolt": bolt, "plate": plate}


async def test_derive_from_an_approved_mbom(alice, mia):
    mbom, parts = await _approved_mbom(alice, mia)
    draft = await alice.client.post("/api/bom", json={"fromBomId": mbom["id"]})
    assert_problem(draft, 409, "BOM_NOT_APPROVED")
    assert (await alice.client.post(f"/v1/boms/{mbom['id']}/submit")).status_code == 200
    assert (await mia.client.post(f"/v1/boms/{mbom['id']}/approve")).status_code == 200

    response = await alice.client.post("/api/bom", json={"fromBomId": mbom["id"]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "TOP-1 rev A"
    assert body["sourceBomId"] == mbom["id"] and body["sourcePartId"] == mbom["assemblyPartId"]
    derived = {e["partType"]: e for e in body["entries"]}
    assert set(derived) == {"BOLT-M8", "PLATE-1"}  # leaves only: SUB-1 is an assembly here
    assert derived["BOLT-M8"]["requiredQuantityPerBuild"] == 2 * 3 + 4
    assert derived["BOLT-M8"]["partId"] == parts["bolt"]["id"]
    assert derived["PLATE-1"]["requiredQuantityPerBuild"] == 1
    assert all(e["contributingJobIds"] == [] for e in body["entries"])

    named = await alice.client.post("/api/bom", json={"fromBomId": mbom["id"], "name": "Line 2"})
    assert named.json()["name"] == "Line 2"
    both = await alice.client.post(
        "/api/bom", json={"fromBomId": mbom["id"], "entries": [entry("x", 1)]}
    )
    assert_problem(both, 400, "ENTRIES_WITH_SOURCE")


async def test_derive_refuses_an_ebom_and_another_workspaces_bom(alice, mallory):
    top = await make_part(alice.client, "TOP-E")
    ebom = await make_native_bom(alice.client, top["id"])
    assert_problem(
        await alice.client.post("/api/bom", json={"fromBomId": ebom["id"]}), 400, "NOT_AN_MBOM"
    )
    assert_problem(
        await mallory.client.post("/api/bom", json={"fromBomId": ebom["id"]}), 404, "BOM_NOT_FOUND"
    )


# --- bad input, roles, tenancy ---------------------------------------------------------------


async def test_bad_input_is_a_clean_400_and_writes_nothing(alice, mallory, sessionmaker):
    job = await make_job(alice.client)
    theirs = await make_job(mallory.client, "Globex job")
    bom = await make_bom(alice.client, entries=[entry("Steel Plate", 2, job["id"])])
    before = (
        await _rows(sessionmaker, ProductionBom),
        await _rows(sessionmaker, ProductionBomEntry),
    )
    unknown = "0190c0de-0000-7000-8000-000000000000"
    cases = [
        ({"name": "x", "entries": [entry("Plate", 1, unknown)]}, "UNKNOWN_JOB"),
        ({"name": "x", "entries": [entry("Plate", 1, theirs["id"])]}, "UNKNOWN_JOB"),
        ({"name": "x", "entries": [entry("Plate", 1, job["id"], job["id"])]}, "DUPLICATE_JOB"),
        ({"name": "x", "entries": [entry("Plate", 0)]}, "VALIDATION_ERROR"),
        ({"name": "x", "entries": [entry("Plate", -2)]}, "VALIDATION_ERROR"),
        ({"name": "x", "entries": [entry("", 1)]}, "VALIDATION_ERROR"),
        ({"name": "x", "entries": [{"partType": "Plate"}]}, "VALIDATION_ERROR"),
        ({"name": "x", "entries": [entry("Plate", 1, "not-a-uuid")]}, "VALIDATION_ERROR"),
        ({"entries": []}, "FIELD_REQUIRED"),
        ({"name": "x", "colour": "red"}, "VALIDATION_ERROR"),
    ]
    for body, code in cases:
        assert_problem(await alice.client.post("/api/bom", json=body), 400, code)
    edit = await alice.client.post(
        f"/api/bom/{bom['id']}/edit",
        json={"entries": [entry("Plate", 1, theirs["id"])], "changeDescription": "bad"},
    )
    assert_problem(edit, 400, "UNKNOWN_JOB")
    no_reason = await alice.client.post(f"/api/bom/{bom['id']}/edit", json={"entries": []})
    assert_problem(no_reason, 400, "VALIDATION_ERROR")
    put = await alice.client.put(
        f"/api/bom/{bom['id']}", json={"entries": [entry("Plate", 1, unknown)]}
    )
    assert_problem(put, 400, "UNKNOWN_JOB")
    malformed = await alice.client.post(
        "/api/bom", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    after = (
        await _rows(sessionmaker, ProductionBom),
        await _rows(sessionmaker, ProductionBomEntry),
    )
    assert after == before
    assert await _rows(sessionmaker, BomVersion) == 0
    got = (await alice.client.get(f"/api/bom/{bom['id']}")).json()
    assert got["entries"][0]["contributingJobIds"] == [job["id"]]


async def test_another_workspaces_bom_is_404(alice, mallory):
    bom = await make_bom(alice.client, entries=[entry("Steel Plate", 2)])
    url = f"/api/bom/{bom['id']}"
    assert_problem(await mallory.client.get(url), 404, "BOM_NOT_FOUND")
    assert_problem(await mallory.client.put(url, json={"name": "mine"}), 404, "BOM_NOT_FOUND")
    edit = await mallory.client.post(f"{url}/edit", json={"entries": [], "changeDescription": "x"})
    assert_problem(edit, 404, "BOM_NOT_FOUND")
    assert_problem(await mallory.client.get(f"{url}/versions"), 404, "BOM_NOT_FOUND")
    assert (await mallory.client.get("/api/bom")).json()["total"] == 0
    listed = await mallory.client.get("/api/bom", params={"workspaceId": "acme"})
    assert_problem(listed, 404, "WORKSPACE_NOT_FOUND")


async def test_viewers_read_and_engineers_write(alice, vic):
    bom = await make_bom(alice.client, entries=[entry("Steel Plate", 2)])
    assert (await vic.client.get(f"/api/bom/{bom['id']}")).status_code == 200
    assert_problem(await vic.client.post("/api/bom", json={"name": "x"}), 403)
    assert_problem(await vic.client.put(f"/api/bom/{bom['id']}", json={"name": "y"}), 403)


async def test_workspace_by_id_or_name_and_required_with_several(alice, mallory, sessionmaker):
    bom = await make_bom(alice.client, "by name", workspaceId="acme")
    by_id = await alice.client.get("/api/bom", params={"workspaceId": bom["workspaceId"]})
    assert by_id.json()["total"] == 1
    # alice joins globex too: now every call names its workspace
    async with sessionmaker() as session:
        globex = await session.scalar(select(Workspace).where(Workspace.name == "globex"))
        assert globex is not None
        session.add(Membership(workspace_id=globex.id, user_id=alice.user.id, role=Role.engineer))
        await session.commit()
    assert_problem(await alice.client.get("/api/bom"), 400, "WORKSPACE_REQUIRED")
    assert_problem(
        await alice.client.post("/api/bom", json={"name": "x"}), 400, "WORKSPACE_REQUIRED"
    )
    made = await make_bom(alice.client, "in globex", workspaceId="globex")
    assert made["workspaceId"] == str(globex.id)
    query = await alice.client.post(
        "/api/bom", params={"workspaceId": "globex"}, json={"name": "q"}
    )
    assert query.status_code == 201 and query.json()["workspaceId"] == str(globex.id)
    assert (await alice.client.get("/api/bom", params={"workspaceId": "acme"})).json()["total"] == 1
    assert_problem(
        await alice.client.get("/api/bom", params={"workspaceId": "nowhere"}),
        404,
        "WORKSPACE_NOT_FOUND",
    )


async def test_anonymous_is_401_and_cookie_writes_need_csrf(client, alice):
    from tests.conftest import PASSWORD

    assert_problem(await client.get("/api/bom"), 401)
    login = await client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200
    assert (await client.get("/api/bom")).status_code == 200
    assert_problem(await client.post("/api/bom", json={"name": "x"}), 403, "CSRF_FAILED")
    ok = await client.post(
        "/api/bom", json={"name": "x"}, headers={"X-CSRF-Token": login.json()["csrfToken"]}
    )
    assert ok.status_code == 201, ok.text
