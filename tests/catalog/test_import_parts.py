"""Parts import from CSV/XLSX: dry run, atomic upsert, located errors
(productflo-sync-api: Parts Import (CSV/XLSX))."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from tests.catalog.test_parts_api import PARTS, create_part
from tests.conftest import assert_problem

IMPORT = f"{PARTS}/import"
MECHANICAL = {
    "type": "object",
    "required": ["material", "finish", "tolerance"],
    "properties": {"tolerance": {"type": "string"}},
}


@pytest.fixture
async def engineer(make_actor):
    return await make_actor("erin", workspace="acme", role="engineer")


@pytest.fixture
async def manager(make_actor, engineer):
    return await make_actor("mia", workspace="acme", role="manager")


async def upload(actor, data: bytes | str, *, dry_run: bool = False, filename: str = "parts.csv"):
    if isinstance(data, str):
        data = data.encode()
    return await actor.client.post(
        IMPORT,
        data={"workspace": "acme", "dryRun": "true" if dry_run else "false"},
        files={"file": (filename, data, "application/octet-stream")},
    )


async def imported(actor, data: bytes | str, **kwargs) -> dict:
    response = await upload(actor, data, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def catalog(actor) -> dict[str, dict]:
    """Every part of acme by part number."""
    response = await actor.client.get(PARTS, params={"workspace": "acme", "pageSize": 500})
    assert response.status_code == 200, response.text
    return {p["partNumber"]: p for p in response.json()["items"]}


def errors_by_cell(report: dict) -> dict[tuple[int, str | None], str]:
    return {(e["row"], e["column"]): e["message"] for e in report["errors"]}


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = (
    "part_number,name,domain,uom,tags,attributes,unit_cost,currency\n"
    'IM-1,Bolt,mechanical,each,"steel, fastener","{""len"": 10}",0.25,usd\n'
    "IM-2,Washer,,,steel|flat,,,\n"
)


# --- dry run and apply ------------------------------------------------------------------------


async def test_dry_run_reports_and_writes_nothing(engineer):
    await create_part(engineer.client, partNumber="IM-2", name="Old washer")
    report = await imported(engineer, GOOD, dry_run=True)
    changes = report.pop("changes")
    assert report == {
        "rows": 2,
        "valid": 2,
        "errors": [],
        "warnings": [],
        "dryRun": True,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "partsCreated": 0,
    }
    assert changes == [
        {
            "row": 2,
            "partNumber": "IM-1",
            "action": "create",
            "changes": {
                field: {"before": None, "after": after}
                for field, after in {
                    "name": "Bolt",
                    "domain": "mechanical",
                    "uom": "each",
                    "lifecycle": "prototype",
                    "attributes": {"len": 10},
                    "unit_cost": 0.25,
                    "currency": "USD",
                    "tags": ["fastener", "steel"],
                }.items()
            },
        },
        {
            "row": 3,
            "partNumber": "IM-2",
            "action": "update",
            "changes": {
                "name": {"before": "Old washer", "after": "Washer"},
                "tags": {"before": [], "after": ["flat", "steel"]},
            },
        },
    ]
    parts = await catalog(engineer)
    assert list(parts) == ["IM-2"]
    assert parts["IM-2"]["name"] == "Old washer"


async def test_apply_creates_parts_with_every_column(engineer):
    report = await imported(engineer, GOOD)
    assert (report["dryRun"], report["created"], report["updated"]) == (False, 2, 0)
    parts = await catalog(engineer)
    bolt, washer = parts["IM-1"], parts["IM-2"]
    assert (bolt["name"], bolt["domain"], bolt["uom"], bolt["lifecycle"]) == (
        "Bolt",
        "mechanical",
        "each",
        "prototype",
    )
    assert bolt["tags"] == ["fastener", "steel"]
    assert washer["tags"] == ["flat", "steel"]
    assert bolt["attributes"] == {"len": 10}
    assert (bolt["unitCost"], bolt["currency"]) == (0.25, "USD")
    assert (washer["domain"], washer["uom"], washer["attributes"]) == ("other", "each", {})
    by_tag = await engineer.client.get(PARTS, params={"workspace": "acme", "tag": "steel"})
    assert by_tag.json()["total"] == 2
    audit_rows = await _audit(engineer)  # the engineer cannot read the audit log
    assert audit_rows.status_code == 403


async def _audit(actor):
    return await actor.client.get("/v1/audit", params={"workspace": "acme", "entity": "import"})


async def test_apply_updates_existing_parts_by_part_number(engineer, manager):
    old = await create_part(
        engineer.client, partNumber="IM-2", name="Old washer", tags=["legacy"], unitCost=9
    )
    report = await imported(engineer, GOOD)
    assert (report["created"], report["updated"]) == (1, 1)
    washer = (await engineer.client.get(f"{PARTS}/{old['id']}")).json()
    assert washer["name"] == "Washer"
    assert washer["tags"] == ["flat", "legacy", "steel"]  # imported tags are added
    assert washer["updatedAt"] > old["updatedAt"]
    events = (await _audit(manager)).json()["items"]
    assert [e["after"] for e in events] == [{"rows": 2, "created": 1, "updated": 1, "unchanged": 0}]


async def test_header_names_are_case_insensitive_and_aliases_work(manager):
    data = (
        "PN;Name;Unit;Life_Cycle;ATTRS;Manufacturer;MPN\n"
        'AL-1;Resistor;pcs;released;{"r": "10k"};Yageo;RC0603\n'
    )
    report = await imported(manager, data)
    assert (report["created"], report["errors"]) == (1, [])
    part = (await catalog(manager))["AL-1"]
    assert (part["uom"], part["lifecycle"], part["attributes"]) == ("pcs", "released", {"r": "10k"})
    assert (part["manufacturerName"], part["manufacturerPartNumber"]) == ("Yageo", "RC0603")


async def test_utf8_bom_csv(engineer):
    data = "\ufeffpart_number,name\nBOM-1,Résistance 10 kΩ\n".encode()
    await imported(engineer, data)
    assert (await catalog(engineer))["BOM-1"]["name"] == "Résistance 10 kΩ"


async def test_xlsx_upload(engineer):
    data = xlsx(
        [
            ["Part_Number", "Name", "Domain", "Unit_Cost", "RoHS"],
            ["XL-1", "Spacer", "Mechanical", 1.5, True],
            ["XL-2", "Cap", "electronic", 3, "no"],
        ]
    )
    report = await imported(engineer, data, filename="parts.xlsx")
    assert (report["rows"], report["created"], report["errors"]) == (2, 2, [])
    parts = await catalog(engineer)
    assert (parts["XL-1"]["domain"], parts["XL-1"]["unitCost"]) == ("mechanical", 1.5)
    assert (parts["XL-1"]["rohsCompliant"], parts["XL-2"]["rohsCompliant"]) == (True, False)
    assert parts["XL-2"]["unitCost"] == 3


async def test_import_without_domain_column_keeps_the_domain_of_existing_parts(engineer):
    old = await create_part(
        engineer.client,
        partNumber="KP-1",
        domain="electronic",
        manufacturerPartNumber="RC0603",
        unitCost="0.02",
        attributes={"value": "10k"},
    )
    await imported(engineer, "part_number,name\nKP-1,Renamed\n")
    part = (await engineer.client.get(f"{PARTS}/{old['id']}")).json()
    assert part["name"] == "Renamed"
    assert (part["domain"], part["manufacturerPartNumber"]) == ("electronic", "RC0603")
    assert (part["unitCost"], part["attributes"]) == (0.02, {"value": "10k"})


async def test_updates_are_checked_against_the_template_of_the_existing_domain(engineer, manager):
    good = {"material": "Al", "finish": "raw", "tolerance": "0.1"}
    plate = await create_part(
        engineer.client, partNumber="TD-1", domain="mechanical", attributes=good
    )
    await manager.client.post(
        "/v1/workspaces/acme/bom-settings", json={"domain_templates": {"mechanical": MECHANICAL}}
    )
    # No domain or attributes column: the part stays mechanical with its valid attributes.
    assert (await imported(engineer, "part_number,name\nTD-1,Plate\n"))["updated"] == 1
    # An empty domain cell keeps the domain too, so the emptied attributes break its template.
    report = await imported(
        engineer, "part_number,name,domain,attributes\nTD-1,Plate,,{}\n", dry_run=True
    )
    assert {(e["row"], e["column"]) for e in report["errors"]} == {(2, "attributes")}
    assert all("mechanical template" in e["message"] for e in report["errors"])
    after = (await engineer.client.get(f"{PARTS}/{plate['id']}")).json()
    assert (after["domain"], after["attributes"]) == ("mechanical", good)


# --- partial sheets ---------------------------------------------------------------------------


async def _two_parts(engineer) -> tuple[dict, dict]:
    resistor = await create_part(
        engineer.client, partNumber="PS-1", name="Resistor", domain="electronic", uom="pcs",
        unitCost="0.10", currency="USD", manufacturerName="Yageo", tags=["smd"],
        attributes={"value": "10k"},
    )  # fmt: skip
    bracket = await create_part(engineer.client, partNumber="PS-2", name="Bracket", unitCost="2")
    return resistor, bracket


async def test_cost_sheet_updates_only_cost_and_currency(engineer):
    resistor, bracket = await _two_parts(engineer)
    data = "part_number,unit_cost,currency\nPS-1,0.12,eur\nPS-2,2,\n"
    dry = await imported(engineer, data, dry_run=True)
    assert (dry["created"], dry["updated"], dry["unchanged"], dry["errors"]) == (0, 1, 1, [])
    assert dry["changes"] == [
        {
            "row": 2,
            "partNumber": "PS-1",
            "action": "update",
            "changes": {
                "unit_cost": {"before": 0.1, "after": 0.12},
                "currency": {"before": "USD", "after": "EUR"},
            },
        },
        {"row": 3, "partNumber": "PS-2", "action": "unchanged", "changes": {}},
    ]
    assert (await catalog(engineer))["PS-1"]["unitCost"] == 0.1  # the dry run wrote nothing

    report = await imported(engineer, data)
    assert (report["updated"], report["unchanged"]) == (1, 1)
    after = await catalog(engineer)
    keep = ["name", "domain", "uom", "lifecycle", "manufacturerName", "tags", "attributes"]
    assert {k: after["PS-1"][k] for k in keep} == {k: resistor[k] for k in keep}
    assert (after["PS-1"]["unitCost"], after["PS-1"]["currency"]) == (0.12, "EUR")
    assert after["PS-1"]["version"] == resistor["version"] + 1
    # Nothing changed on PS-2, so it was not written: same version, same timestamp.
    assert (after["PS-2"]["version"], after["PS-2"]["updatedAt"]) == (
        bracket["version"],
        bracket["updatedAt"],
    )


async def test_lifecycle_sheet_follows_the_patch_role_rule(engineer, manager):
    await _two_parts(engineer)
    data = "part_number,lifecycle\nPS-1,released\nPS-2,prototype\n"
    report = await imported(engineer, data, dry_run=True)
    assert errors_by_cell(report) == {(2, "lifecycle"): "changing lifecycle needs the manager role"}
    assert_problem(await upload(engineer, data), 400, "IMPORT_INVALID")
    report = await imported(manager, data)
    assert (report["updated"], report["unchanged"]) == (1, 1)
    parts = await catalog(manager)
    assert (parts["PS-1"]["lifecycle"], parts["PS-1"]["name"]) == ("released", "Resistor")


async def test_name_is_required_only_for_rows_that_create_a_part(engineer):
    await _two_parts(engineer)
    data = "part_number,unit_cost\nPS-1,0.2\nNEW-1,1\n"
    report = await imported(engineer, data, dry_run=True)
    assert errors_by_cell(report) == {(3, "name"): "name is required for a new part"}
    assert (report["rows"], report["valid"]) == (2, 1)
    assert_problem(await upload(engineer, data), 400, "IMPORT_INVALID")
    assert (await catalog(engineer))["PS-1"]["unitCost"] == 0.1  # all or nothing

    named = "part_number,name,unit_cost\nPS-1,,0.2\nNEW-1,Spacer,1\n"
    report = await imported(engineer, named)
    assert (report["created"], report["updated"], report["errors"]) == (1, 1, [])
    parts = await catalog(engineer)
    assert parts["PS-1"]["name"] == "Resistor"  # a blank name keeps the part's name
    assert (parts["NEW-1"]["name"], parts["NEW-1"]["domain"], parts["NEW-1"]["uom"]) == (
        "Spacer",
        "other",
        "each",
    )


async def test_blank_cells_clear_optional_fields_and_keep_required_ones(engineer):
    await _two_parts(engineer)
    report = await imported(engineer, "part_number,uom,domain,unit_cost,manufacturer\nPS-1,,,,\n")
    assert report["changes"][0]["changes"] == {
        "manufacturer_name": {"before": "Yageo", "after": None},
        "unit_cost": {"before": 0.1, "after": None},
    }
    part = (await catalog(engineer))["PS-1"]
    assert (part["uom"], part["domain"], part["unitCost"], part["manufacturerName"]) == (
        "pcs",
        "electronic",
        None,
        None,
    )


async def test_unknown_columns_are_reported_not_dropped_silently(engineer):
    await _two_parts(engineer)
    data = "part_number,name,colour\nPS-1,Resistor,red\nPS-2,Bracket,\n"
    report = await imported(engineer, data, dry_run=True)
    assert [(w["row"], w["column"]) for w in report["warnings"]] == [(2, "colour")]
    assert "not imported (rows 2)" in report["warnings"][0]["message"]


# --- located errors ---------------------------------------------------------------------------


BAD = (
    "part_number,name,domain,lifecycle,attributes\n"
    "OK-1,Fine,,,\n"  # row 2
    "BD-1,Thing,quantum,,\n"  # row 3
    "BD-2,Thing,,retired,\n"  # row 4
    "BD-3,Thing,,,{not json}\n"  # row 5
    'BD-4,Thing,,,"[1, 2]"\n'  # row 6
    "OK-1,Again,,,\n"  # row 7
    "BD-5,,,,\n"  # row 8
    ",Nameless,,,\n"  # row 9
)


async def test_errors_name_row_and_column(engineer):
    report = await imported(engineer, BAD, dry_run=True)
    cells = errors_by_cell(report)
    assert set(cells) == {
        (3, "domain"),
        (4, "lifecycle"),
        (5, "attributes"),
        (6, "attributes"),
        (7, "part_number"),
        (8, "name"),
        (9, "part_number"),
    }
    assert "quantum" in cells[(3, "domain")] and "mechanical" in cells[(3, "domain")]
    assert "retired" in cells[(4, "lifecycle")]
    assert "not valid JSON" in cells[(5, "attributes")]
    assert "JSON object" in cells[(6, "attributes")]
    assert "row 2" in cells[(7, "part_number")]
    assert (report["rows"], report["valid"]) == (8, 1)


async def test_apply_with_any_error_writes_nothing(engineer):
    await create_part(engineer.client, partNumber="OK-1", name="Before")
    before = await catalog(engineer)
    response = await upload(engineer, BAD)
    problem = assert_problem(response, 400, "IMPORT_INVALID")
    assert len(problem["errors"]) == 7
    assert {"row": 3, "column": "domain"}.items() <= problem["errors"][0].items()
    assert (problem["rows"], problem["valid"], problem["dryRun"]) == (8, 1, False)
    assert "nothing was imported" in problem["detail"]
    after = await catalog(engineer)
    assert list(after) == list(before) == ["OK-1"]
    assert after["OK-1"]["name"] == "Before"


async def test_attributes_are_checked_against_the_domain_template(engineer, manager):
    saved = await manager.client.post(
        "/v1/workspaces/acme/bom-settings", json={"domain_templates": {"mechanical": MECHANICAL}}
    )
    assert saved.status_code == 200, saved.text
    data = (
        "part_number,domain,name,attributes\n"
        'TP-1,mechanical,Plate,"{""material"": ""Al"", ""finish"": ""raw"", '
        '""tolerance"": ""0.1""}"\n'
        'TP-2,mechanical,Plate,"{""material"": ""Al"", ""tolerance"": 0.1}"\n'
        "TP-3,electronic,Chip,\n"
    )
    report = await imported(engineer, data, dry_run=True)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (3, "attributes"),
        (3, "attributes"),
    ]
    messages = " ".join(e["message"] for e in report["errors"])
    assert "mechanical template" in messages
    assert "'finish' is a required property" in messages
    assert "is not of type 'string'" in messages
    assert_problem(await upload(engineer, data), 400, "IMPORT_INVALID")
    assert await catalog(engineer) == {}
    fixed = "\n".join(line for line in data.splitlines() if not line.startswith("TP-2"))
    assert (await imported(engineer, fixed))["created"] == 2


async def test_engineer_importing_a_lifecycle_change_gets_an_error_row(engineer, manager):
    await create_part(engineer.client, partNumber="LC-1")
    data = "part_number,name,lifecycle\nLC-1,Part,released\nLC-2,New,obsolete\nLC-3,New,prototype\n"
    report = await imported(engineer, data, dry_run=True)
    assert errors_by_cell(report) == {
        (2, "lifecycle"): "changing lifecycle needs the manager role",
        (3, "lifecycle"): "changing lifecycle needs the manager role",
    }
    assert_problem(await upload(engineer, data), 400, "IMPORT_INVALID")
    assert (await catalog(engineer))["LC-1"]["lifecycle"] == "prototype"
    report = await imported(manager, data)
    assert (report["created"], report["updated"]) == (2, 1)
    parts = await catalog(manager)
    assert [parts[pn]["lifecycle"] for pn in ("LC-1", "LC-2", "LC-3")] == [
        "released",
        "obsolete",
        "prototype",
    ]
    # Sending the lifecycle a part already has is no change, so an engineer may.
    again = await imported(engineer, data)
    assert (again["errors"], again["updated"], again["unchanged"]) == ([], 0, 3)


@pytest.mark.parametrize(
    ("column", "value"),
    [("unit_cost", "-1"), ("unit_cost", "cheap"), ("currency", "EURO"), ("rohs", "maybe")],
)
async def test_bad_cost_currency_and_flags_are_errors(engineer, column, value):
    data = f"part_number,name,{column}\nCC-1,Thing,{value}\n"
    report = await imported(engineer, data, dry_run=True)
    canonical = "rohs_compliant" if column == "rohs" else column
    assert list(errors_by_cell(report)) == [(2, canonical)]
    assert_problem(await upload(engineer, data), 400, "IMPORT_INVALID")


# --- unreadable files -------------------------------------------------------------------------


def ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (ods(), "parts.ods"),
        (bytes(range(256)) * 4, "parts.bin"),
        (b"%PDF-1.7\n%binary", "parts.pdf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "parts.xls"),
    ],
)
async def test_unsupported_formats_are_415(engineer, data, filename):
    response = await upload(engineer, data, filename=filename)
    assert_problem(response, 415, "UNSUPPORTED_FORMAT")
    assert await catalog(engineer) == {}


@pytest.mark.parametrize(
    "data",
    [
        "name,domain\nBolt,mechanical\n",  # no part_number
        "foo,bar\n1,2\n",
    ],
)
async def test_a_file_without_the_required_columns_is_400(engineer, data):
    body = assert_problem(await upload(engineer, data), 400, "HEADER_NOT_FOUND")
    assert "part_number" in body["detail"]


@pytest.mark.parametrize(
    ("case", "code"),
    [("truncated-xlsx", "UNREADABLE_FILE"), ("huge-cell", "UNREADABLE_FILE")],
)
async def test_broken_files_are_400_and_write_nothing(engineer, case, code):
    book = xlsx([["part_number", "name"], *[[f"TX-{n}", "Thing"] for n in range(200)]])
    data = {
        "truncated-xlsx": book[: len(book) // 2],
        "huge-cell": b'part_number,name\nHC-1,"' + b"n" * 200_000 + b'"\n',
    }[case]
    for dry_run in (True, False):
        assert_problem(await upload(engineer, data, dry_run=dry_run), 400, code)
    assert await catalog(engineer) == {}


async def test_a_split_row_is_an_error_with_row_and_columns(engineer):
    rows = "".join(f"SR-{n},Washer,steel\n" for n in range(1, 4))
    data = f"part_number,name,description\n{rows}SR-9,Washer,steel, zinc\n"
    report = await imported(engineer, data, dry_run=True)
    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (5, "part_number or name or description")
    ]
    assert_problem(await upload(engineer, data), 400, "IMPORT_INVALID")
    assert await catalog(engineer) == {}


async def test_an_empty_file_is_400(engineer):
    assert_problem(await upload(engineer, b""), 400, "EMPTY_FILE")


async def test_viewer_cannot_import(engineer, make_actor):
    viewer = await make_actor("vic", workspace="acme", role="viewer")
    assert_problem(await upload(viewer, GOOD, dry_run=True), 403, "INSUFFICIENT_ROLE")
    stranger = await make_actor("sam", workspace="globex", role="owner")
    assert_problem(await upload(stranger, GOOD), 404)
    assert await catalog(engineer) == {}


# --- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_export_edit_and_import_back(manager, fmt):
    c = manager.client
    bolt = await create_part(
        c, partNumber="RT-1", name="Bolt, M3", domain="mechanical", lifecycle="released",
        tags=["steel", "m3"], attributes={"len": 10, "finish": "zinc"}, unitCost="0.125",
        currency="EUR", rohsCompliant=True, manufacturerName="Würth",
    )  # fmt: skip
    nut = await create_part(c, partNumber="RT-2", name="Nut", reachCompliant=False)
    exported = await c.post(
        f"{PARTS}/export", json={"workspace": "acme", "partIds": [bolt["id"]], "format": fmt}
    )
    assert exported.status_code == 200, exported.text

    if fmt == "csv":
        text = exported.content.decode("utf-8-sig")
        edited = text.replace("Bolt, M3", "Bolt, M3 x 10").encode("utf-8-sig")
    else:
        book = openpyxl.load_workbook(io.BytesIO(exported.content))
        sheet = book.active
        assert sheet["B2"].value == "Bolt, M3"
        sheet["B2"] = "Bolt, M3 x 10"
        out = io.BytesIO()
        book.save(out)
        edited = out.getvalue()

    report = await imported(manager, edited, filename=f"parts.{fmt}")
    assert (report["rows"], report["created"], report["updated"], report["errors"]) == (
        1,
        0,
        1,
        [],
    )
    after = (await c.get(f"{PARTS}/{bolt['id']}")).json()
    assert after["name"] == "Bolt, M3 x 10"
    unchanged = [
        "domain", "lifecycle", "tags", "attributes", "unitCost", "currency", "rohsCompliant",
        "reachCompliant", "manufacturerName", "uom",
    ]  # fmt: skip
    assert {k: after[k] for k in unchanged} == {k: bolt[k] for k in unchanged}
    assert (await c.get(f"{PARTS}/{nut['id']}")).json()["name"] == "Nut"
