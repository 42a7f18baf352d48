"""BOM exports (productflo-sync-api: BOM Export Formats): hierarchical CSV and XLSX, the ERP
parent/child CSV and the consolidated flat CSV."""

import csv
import io

import openpyxl
import pytest

from tests.boms.factories import line, make_bom, make_part, new_id, write_items
from tests.conftest import assert_problem


def rows_of(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
async def mia(make_actor):
    return await make_actor("mia", workspace="acme", role="manager")


@pytest.fixture
async def bike(mia):
    """BIKE-1: two sub-assemblies each holding bolts; costs in USD and EUR (rate 1.1)."""
    c = mia.client
    settings = {"currency": "USD", "exchange_rates": {"EUR": 1.1}}
    assert (await c.post("/v1/workspaces/acme/bom-settings", json=settings)).status_code == 200
    top = await make_part(c, "BIKE-1")
    frame = await make_part(c, "FRAME-1", unitCost="50")
    wheel = await make_part(c, "WHEEL-1")
    bolt = await make_part(c, "BOLT-1", unitCost="0.10", currency="EUR")
    alt1 = await make_part(c, "BOLT-ALT1")
    alt2 = await make_part(c, "BOLT-ALT2")
    grease = await make_part(c, "GREASE-1", unitCost="2", uom="g")
    bom = await make_bom(c, top["id"])
    f, w, b = new_id(), new_id(), new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(frame, 1, id=f),
            line(
                bolt,
                4,
                id=b,
                parentItemId=f,
                uom="pcs",
                refdes="B1-B4",
                notes="M5, 8 Nm",
                effectivity={"dateFrom": "2025-01-01", "dateTo": "2025-12-31", "lotFrom": "L9"},
            ),
            line(wheel, 2, id=w),
            line(bolt, 6, parentItemId=w),
            line(grease, 1.5, parentItemId=w, uom="g"),
        ],
    )
    alternates = [{"partId": alt1["id"]}, {"partId": alt2["id"], "approval": "approved"}]
    url = f"/v1/boms/{bom['id']}/items/{b}/alternates"
    assert (await c.post(url, json={"alternates": alternates})).status_code == 200
    return bom


async def test_hierarchical_csv(mia, bike):
    response = await mia.client.get(f"/v1/boms/{bike['id']}/export.csv")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="BIKE-1-ebom-A.csv"'
    rows = rows_of(response)
    assert list(rows[0])[:4] == ["level", "part_number", "name", "qty"]
    assert {"alternates", "date_from", "date_to", "unit_cost", "currency", "extended_cost"} <= set(
        rows[0]
    )
    assert [(r["level"], r["part_number"], float(r["qty"])) for r in rows] == [
        ("1", "FRAME-1", 1),
        ("2", "BOLT-1", 4),
        ("1", "WHEEL-1", 2),
        ("2", "BOLT-1", 6),
        ("2", "GREASE-1", 1.5),
    ]
    bolt = rows[1]
    assert bolt["alternates"] == "BOLT-ALT1, BOLT-ALT2"
    assert (bolt["date_from"], bolt["date_to"], bolt["lot_from"]) == (
        "2025-01-01",
        "2025-12-31",
        "L9",
    )
    assert (bolt["refdes"], bolt["notes"], bolt["uom"]) == ("B1-B4", "M5, 8 Nm", "pcs")
    assert (bolt["currency"], float(bolt["unit_cost"])) == ("EUR", 0.1)
    assert float(bolt["extended_cost"]) == pytest.approx(4 * 0.10 * 1.1)
    wheel_bolt = rows[3]
    assert float(wheel_bolt["extended_qty"]) == 12
    assert float(wheel_bolt["extended_cost"]) == pytest.approx(12 * 0.10 * 1.1)
    assert rows[0]["extended_cost"] == ""  # an assembly is costed by its children
    assert rows[2]["unit_cost"] == "" and rows[2]["extended_cost"] == ""


async def test_xlsx_has_the_same_rows(mia, bike):
    c = mia.client
    csv_rows = rows_of(await c.get(f"/v1/boms/{bike['id']}/export.csv"))
    response = await c.get(f"/v1/boms/{bike['id']}/export.xlsx", params={"workspace": "acme"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"] == 'attachment; filename="BIKE-1-ebom-A.xlsx"'
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    header, *body = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(header) == list(csv_rows[0])

    def text(value):
        return "" if value is None else str(value)

    def numeric(value):
        try:
            return float(value)
        except ValueError:
            return value

    sheet_rows = [{h: numeric(text(v)) for h, v in zip(header, row, strict=True)} for row in body]
    assert sheet_rows == [{k: numeric(v) for k, v in r.items()} for r in csv_rows]


async def test_erp_csv_pairs_parents_and_children(mia, bike):
    response = await mia.client.get(f"/v1/boms/{bike['id']}/export.erp.csv")
    assert response.headers["content-disposition"] == 'attachment; filename="BIKE-1-ebom-A-erp.csv"'
    rows = rows_of(response)
    assert list(rows[0])[:2] == ["parent_part_number", "child_part_number"]
    pairs = [(r["parent_part_number"], r["child_part_number"], r["uom"]) for r in rows]
    assert pairs == [
        ("BIKE-1", "FRAME-1", "EA"),
        ("FRAME-1", "BOLT-1", "EA"),
        ("BIKE-1", "WHEEL-1", "EA"),
        ("WHEEL-1", "BOLT-1", "EA"),
        ("WHEEL-1", "GREASE-1", "G"),
    ]
    wheel_bolt = rows[3]
    assert (float(wheel_bolt["qty_per"]), float(wheel_bolt["extended_qty"])) == (6, 12)
    assert float(wheel_bolt["extended_cost"]) == pytest.approx(12 * 0.11)
    assert float(rows[4]["extended_cost"]) == pytest.approx(2 * 1.5 * 2)


async def test_flat_csv_sums_each_part_across_levels(mia, bike):
    response = await mia.client.get(f"/v1/boms/{bike['id']}/export.flat.csv")
    assert (
        response.headers["content-disposition"] == 'attachment; filename="BIKE-1-ebom-A-flat.csv"'
    )
    rows = {r["part_number"]: r for r in rows_of(response)}
    assert set(rows) == {"FRAME-1", "WHEEL-1", "BOLT-1", "GREASE-1"}
    assert float(rows["BOLT-1"]["total_qty"]) == 4 + 2 * 6
    assert rows["BOLT-1"]["uom"] == "EA"
    assert float(rows["BOLT-1"]["extended_cost"]) == pytest.approx(16 * 0.11)
    assert (float(rows["WHEEL-1"]["total_qty"]), rows["WHEEL-1"]["kind"]) == (2, "assembly")
    assert rows["GREASE-1"]["kind"] == "component"


async def test_filename_is_safe_for_any_part_number(mia):
    c = mia.client
    top = await make_part(c, 'TOP/1 "x";y')
    leaf = await make_part(c, "LEAF-1")
    bom = await make_bom(c, top["id"], revision="A/1")
    await write_items(c, bom["id"], [line(leaf, 1)])
    for kind in ("export.csv", "export.xlsx", "export.erp.csv", "export.flat.csv"):
        response = await c.get(f"/v1/boms/{bom['id']}/{kind}")
        assert response.status_code == 200, (kind, response.text)
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="')
        filename = disposition.removeprefix('attachment; filename="').removesuffix('"')
        assert filename.startswith("TOP_1")
        assert all(ch.isalnum() or ch in "._-" for ch in filename), filename
    erp = rows_of(await c.get(f"/v1/boms/{bom['id']}/export.erp.csv"))
    assert erp[0]["parent_part_number"] == 'TOP/1 "x";y'


async def test_exports_are_scoped(mia, make_actor, bike):
    vera = await make_actor("vera", workspace="acme", role="viewer")
    stranger = await make_actor("mallory", workspace="other", role="owner")
    assert (await vera.client.get(f"/v1/boms/{bike['id']}/export.csv")).status_code == 200
    response = await stranger.client.get(f"/v1/boms/{bike['id']}/export.csv")
    assert_problem(response, 404, "BOM_NOT_FOUND")
    response = await mia.client.get(
        f"/v1/boms/{bike['id']}/export.erp.csv", params={"workspace": "other"}
    )
    assert_problem(response, 404, "BOM_NOT_FOUND")


async def test_catalog_columns_and_dnp_round_trip_through_the_import(mia):
    """The hierarchical export writes the part's manufacturer, MPN and KiCad/JLC attributes and
    the DNP flag under the names the BOM import reads, so an export imports back as it was."""
    c = mia.client
    attributes = {
        "value": "100nF",
        "footprint": "Capacitor_SMD:C_0402_1005Metric",
        "datasheet": "https://example.com/grm155.pdf",
        "lcsc": "C1525",
        "digikey": "490-1318-1-ND",
        "mouser": "81-GRM155R61A104KA1D",
    }
    cap = await make_part(
        c,
        "GRM155R61A104KA01D",
        manufacturerName="Murata",
        manufacturerPartNumber="GRM155R61A104KA01D",
        attributes=attributes,
    )
    top = await make_part(c, "BOARD-1")
    bom = await make_bom(c, top["id"])
    await write_items(
        c,
        bom["id"],
        [line(cap, 2, refdes="C1, C2", dnp=False), line(cap, 1, refdes="C3", dnp=True)],
    )
    exported = await c.get(f"/v1/boms/{bom['id']}/export.csv")
    rows = rows_of(exported)
    fitted, spare = rows
    assert (fitted["dnp"], spare["dnp"]) == ("false", "true")
    assert (fitted["manufacturer_name"], fitted["manufacturer_part_number"]) == (
        "Murata",
        "GRM155R61A104KA01D",
    )
    assert {key: fitted[key] for key in attributes} == attributes
    copy = await make_bom(c, top["id"], revision="B")
    response = await c.post(
        "/v1/boms/import",
        data={"bomId": copy["id"]},
        files={"file": ("board.csv", exported.content, "text/csv")},
    )
    assert response.status_code == 200, response.text
    again = rows_of(await c.get(f"/v1/boms/{copy['id']}/export.csv"))
    assert again == rows
