"""BOM import: the real KiCad/Excel BOMs in shared/data/real-boms exactly as users hand them
over, and synthetic files for the reference's columns, errors and modes."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from tests.boms.factories import (
    get_tree,
    import_file,
    line,
    make_bom,
    make_part,
    make_parts,
    new_id,
    shape,
    walk,
    write_items,
)
from tests.conftest import assert_problem

REAL_BOMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-boms"


def real_file(name: str) -> Path:
    path = REAL_BOMS / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
async def alice(make_actor):
    return await make_actor("alice", workspace="acme", role="engineer")


@pytest.fixture
async def empty_bom(alice):
    top = await make_part(alice.client, "TOP-1")
    return await make_bom(alice.client, top["id"])


def _is_dnp(cells: list[str]) -> bool:
    return any(_is_mark(cell) for cell in cells)


def _is_mark(cell: str) -> bool:
    return cell.strip().upper() in {"DNP", "DNF"}


def _one_row_per_designator(path: Path) -> tuple[int, int, int, int, int, int]:
    """(data rows, fitted placements, fitted parts, DNP placements kept, DNP parts, DNP rows
    naming no part) of a legacy ``ref;value;Field1(manufacturer);Field2(MPN);...`` export: a
    part is its MPN, else its value, ignoring DNP marks."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in list(csv.reader(f, delimiter=";"))[1:] if any(r)]

    def part(r: list[str]) -> str:
        cells = ["" if _is_mark(c) else c.strip() for c in r]
        return (cells[3] if len(cells) > 3 else "") or cells[1]

    fitted = [r for r in rows if not _is_dnp(r)]
    dnp = [r for r in rows if _is_dnp(r) and part(r)]
    return (
        len(rows),
        len(fitted),
        len({part(r) for r in fitted}),
        len(dnp),
        len({part(r) for r in dnp}),
        sum(1 for r in rows if _is_dnp(r) and not part(r)),
    )


def _kicad_plugin_counts(path: Path) -> tuple[int, int, int, int, int]:
    """(data rows, fitted placements, fitted parts, DNP rows, DNP placements) of
    hackrf-one.bom.csv: header on line 15, values shifted one column right (Qty is column 4,
    Part Number column 10)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in list(csv.reader(f))[15:] if any(r)]
    fitted = [r for r in rows if not _is_dnp(r)]
    dnp = [r for r in rows if _is_dnp(r)]
    parts = {r[9].strip() or (r[1].strip(), r[2].strip()) for r in fitted}
    return (
        len(rows),
        sum(int(r[3]) for r in fitted),
        len(parts),
        len(dnp),
        sum(int(r[3]) for r in dnp),
    )


# (file, data rows, lines, total quantity, DNP lines, DNP quantity)
REAL = [
    # 167 lines, 417 placements: 92 fitted rows name 71 parts (308 placements); the 75 DNP rows
    # (109 placements) stay lines of their own, none merged
    ("hackrf/hackrf-one.bom.csv", 167, 71 + 75, 417, 75, 109),
    # grouped by value: 65 lines, 300 refs, Qty equals the ref count
    ("hackrf/hackrf-one-bom_2016_grouped.csv", 65, 65, 300, 0, 0),
    # one row per designator: 414 rows, 114 DNP; the 300 fitted ones are the 65 parts above;
    # 105 DNP rows name 74 parts, 9 name none ("C155;DNP;DNP") and are reported, not imported
    ("hackrf/hackrf-one-bom_2014_semicolon.csv", 414, 65 + 74, 300 + 105, 74, 105),
    ("hackrf/hackrf-one-bom.tsv", 65, 65, 300, 0, 0),
    # ragged one-row-per-designator: 367 rows, 90 marked DNP (in Value, Field1 or Field4), of
    # which 77 name 46 parts and 13 name none
    ("hackrf/jawbreaker-bom.csv", 367, 60 + 46, 277 + 77, 46, 77),
    ("bitaxe/bitaxeUltra BOM.csv", 39, 39, 85, 0, 0),
    ("bitaxe/bitaxeSupra BOM.csv", 41, 41, 88, 0, 0),
    # first sheet: 46 lines; the second sheet is an order list and is ignored
    ("bitaxe/bitaxeUltra BOM.xlsx", 46, 46, 87, 0, 0),
]


@pytest.mark.parametrize(
    ("name", "rows", "lines", "total", "dnp_lines", "dnp_total"), REAL, ids=[r[0] for r in REAL]
)
async def test_real_boms_import_without_errors(
    alice, empty_bom, name, rows, lines, total, dnp_lines, dnp_total
):
    path = real_file(name)
    content = path.read_bytes()
    bom_id = empty_bom["id"]

    dry = await import_file(alice.client, bom_id, path.name, content, dry_run=True)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["errors"] == []
    assert (report["rows"], report["valid"], report["dryRun"]) == (rows, rows, True)
    assert report["created"] == lines
    assert (await get_tree(alice.client, bom_id))["lineCount"] == 0  # a dry run writes nothing

    applied = await import_file(alice.client, bom_id, path.name, content)
    assert applied.status_code == 200, applied.text
    assert applied.json()["errors"] == []
    assert applied.json()["dryRun"] is False
    tree = await get_tree(alice.client, bom_id)
    assert tree["lineCount"] == lines
    assert sum(Decimal(str(n["qty"])) for n in walk(tree["items"])) == total
    assert all(n["level"] == 1 and n["qty"] > 0 for n in tree["items"])
    dnp = [n for n in tree["items"] if n["dnp"]]
    assert (len(dnp), sum(Decimal(str(n["qty"])) for n in dnp)) == (dnp_lines, dnp_total)
    assert not {"DNP", "DNF"} & {n["partNumber"].upper() for n in tree["items"]}


def test_expected_numbers_follow_from_the_files():
    """The table above is derived from the files, not from the importer."""
    kicad = _kicad_plugin_counts(real_file("hackrf/hackrf-one.bom.csv"))
    assert kicad == (167, 308, 71, 75, 109)
    semicolon = real_file("hackrf/hackrf-one-bom_2014_semicolon.csv")
    assert _one_row_per_designator(semicolon) == (414, 300, 65, 105, 74, 9)
    jawbreaker = real_file("hackrf/jawbreaker-bom.csv")
    assert _one_row_per_designator(jawbreaker) == (367, 277, 60, 77, 46, 13)
    with real_file("bitaxe/bitaxeSupra BOM.csv").open(encoding="utf-8", newline="") as f:
        supra = list(csv.DictReader(f))
    assert (len(supra), sum(int(r["Qty"]) for r in supra)) == (41, 88)


async def test_real_refdes_survive_the_merge(alice, empty_bom):
    content = real_file("hackrf/hackrf-one-bom_2014_semicolon.csv").read_bytes()
    response = await import_file(alice.client, empty_bom["id"], "bom.csv", content)
    assert response.status_code == 200, response.text
    tree = await get_tree(alice.client, empty_bom["id"])

    def refdes(fitted: bool) -> list[str]:
        return [r for n in tree["items"] if n["dnp"] != fitted for r in n["refdes"].split(", ")]

    assert len(refdes(True)) == len(set(refdes(True))) == 300
    assert len(refdes(False)) == len(set(refdes(False))) == 105
    assert "C68" in refdes(False)  # DNP: kept, flagged
    assert "REFDES_QTY_MISMATCH" not in {w["code"] for w in tree["warnings"]}
    skipped = [w for w in response.json()["warnings"] if "name no part" in w["message"]]
    assert [(w["row"], w["column"]) for w in skipped] == [(155, "child_part_number")]
    assert "9 DNP row(s)" in skipped[0]["message"]
    assert "155 (C155)" in skipped[0]["message"] and "335 (R35)" in skipped[0]["message"]


async def test_kicad_export_keeps_every_placement_and_dnp_line(alice, empty_bom):
    content = real_file("hackrf/hackrf-one.bom.csv").read_bytes()
    response = await import_file(alice.client, empty_bom["id"], "hackrf-one.bom.csv", content)
    assert response.status_code == 200, response.text
    tree = await get_tree(alice.client, empty_bom["id"])
    placements = [r for n in tree["items"] for r in n["refdes"].split(", ")]
    assert len(placements) == len(set(placements)) == 417  # "Total Parts,417"
    lines = {n["refdes"]: n for n in tree["items"]}
    assert lines["C68, C69, C159, C165, C168"]["dnp"] is True
    assert lines["C68, C69, C159, C165, C168"]["partNumber"] == "GRM1555C1H101JA01D"
    # A DNP row with nothing but a footprint is that footprint, unfitted.
    unfitted = lines["L1, L4, L6, L8, L9"]
    assert (unfitted["partNumber"], unfitted["qty"], unfitted["dnp"]) == ("GSG-0402", 5, True)
    # The DNP flag is not a note.
    assert "DNP" not in {n["notes"] for n in tree["items"]}


async def test_opendocument_is_refused_clearly(alice, empty_bom):
    content = real_file("hackrf/jellybean_BOM.ods").read_bytes()
    for dry_run in (True, False):
        response = await import_file(
            alice.client, empty_bom["id"], "jellybean_BOM.ods", content, dry_run=dry_run
        )
        body = assert_problem(response, 415, "UNSUPPORTED_FORMAT")
        assert "XLSX or CSV" in body["detail"]


# --- synthetic files --------------------------------------------------------------------------


async def test_reference_columns_aliases_and_case(alice, empty_bom):
    c = alice.client
    await make_part(c, "KNOWN-1", domain="mechanical")
    content = (
        b"PN,Quantity,Unit_Of_Measure,Designators,Comment\r\n"
        b"KNOWN-1,2,pcs,,existing part\r\n"
        b"NEW-1,3,,R1 R2 R3,\r\n"
    )
    response = await import_file(c, empty_bom["id"], "bom.csv", content)
    assert response.status_code == 200, response.text
    assert response.json()["partsCreated"] == 1
    tree = await get_tree(c, empty_bom["id"])
    rows = {n["partNumber"]: n for n in tree["items"]}
    assert (rows["KNOWN-1"]["qty"], rows["KNOWN-1"]["uom"]) == (2, "pcs")
    assert rows["KNOWN-1"]["notes"] == "existing part"
    assert (rows["NEW-1"]["qty"], rows["NEW-1"]["uom"]) == (3, "each")
    assert rows["NEW-1"]["refdes"] == "R1, R2, R3"
    new_part = (await c.get(f"/v1/parts/{rows['NEW-1']['childPartId']}")).json()
    assert new_part["domain"] == "other"
    known = (await c.get(f"/v1/parts/{rows['KNOWN-1']['childPartId']}")).json()
    assert known["domain"] == "mechanical"

    canonical = b"CHILD_PART_NUMBER;QTY;UOM;REFDES;NOTES\nKNOWN-1;1;each;;\n"
    second = await make_bom(c, (await make_part(c, "TOP-2"))["id"])
    response = await import_file(c, second["id"], "bom.csv", canonical)
    assert response.status_code == 200, response.text
    assert shape((await get_tree(c, second["id"]))["items"]) == [("KNOWN-1", 1, "each", [])]


async def test_refdes_ranges_count_as_quantity(alice, empty_bom):
    content = b'part_number,refdes\nRES-10K,R1-R4\nCAP-1U,"C1, C3-C5"\n'
    response = await import_file(alice.client, empty_bom["id"], "bom.csv", content)
    assert response.status_code == 200, response.text
    rows = {n["partNumber"]: n for n in (await get_tree(alice.client, empty_bom["id"]))["items"]}
    assert (rows["RES-10K"]["qty"], rows["RES-10K"]["refdes"]) == (4, "R1, R2, R3, R4")
    assert (rows["CAP-1U"]["qty"], rows["CAP-1U"]["refdes"]) == (4, "C1, C3, C4, C5")


async def test_bad_rows_are_named_and_refused_atomically(alice, empty_bom):
    c = alice.client
    content = b"pn,qty\nGOOD-1,1\nZERO-1,0\nNEG-1,-2\n,1\nWORD-1,many\n"
    dry = await import_file(c, empty_bom["id"], "bom.csv", content, dry_run=True)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["rows"], report["valid"]) == (5, 1)
    located = [(e["row"], e["column"]) for e in report["errors"]]
    assert located == [(3, "qty"), (4, "qty"), (5, "child_part_number"), (6, "qty")]
    assert all(e["message"] for e in report["errors"])

    applied = await import_file(c, empty_bom["id"], "bom.csv", content)
    body = assert_problem(applied, 400, "IMPORT_INVALID")
    assert "row 3" in body["detail"]
    assert [(e["row"], e["column"]) for e in body["errors"]] == located
    assert (await get_tree(c, empty_bom["id"]))["lineCount"] == 0
    listed = (await c.get("/v1/parts", params={"workspace": "acme", "q": "GOOD"})).json()
    assert listed["total"] == 0  # no part was created either


async def test_file_without_usable_columns_is_refused(alice, empty_bom):
    response = await import_file(alice.client, empty_bom["id"], "x.csv", b"colour,size\nred,3\n")
    assert_problem(response, 400, "HEADER_NOT_FOUND")
    response = await import_file(alice.client, empty_bom["id"], "x.csv", b"")
    assert_problem(response, 400)


async def test_level_column_rebuilds_nesting_from_an_export(alice, make_actor):
    c = alice.client
    parts = await make_parts(c, "TOP-1", "SUB-1", "SUB-2", "BOLT-1", "NUT-1", "ALT-1")
    rev_a = await make_bom(c, parts["TOP-1"]["id"], revision="A")
    sub1, sub2, bolt = new_id(), new_id(), new_id()
    await write_items(
        c,
        rev_a["id"],
        [
            line(parts["SUB-1"], 2, id=sub1),
            line(parts["BOLT-1"], 4, id=bolt, parentItemId=sub1, refdes="B1, B2, B3, B4"),
            line(parts["SUB-2"], 1, id=sub2, parentItemId=sub1, notes="inner"),
            line(parts["NUT-1"], 3, parentItemId=sub2, uom="pcs"),
            line(parts["BOLT-1"], 1, sortIndex=5),
        ],
    )
    alternates = {"alternates": [{"partId": parts["ALT-1"]["id"]}]}
    await c.post(f"/v1/boms/{rev_a['id']}/items/{bolt}/alternates", json=alternates)
    exported = (await c.get(f"/v1/boms/{rev_a['id']}/export.csv")).content

    rev_b = await make_bom(c, parts["TOP-1"]["id"], revision="B")
    response = await import_file(c, rev_b["id"], "TOP-1.csv", exported)
    assert response.status_code == 200, response.text
    assert response.json()["partsCreated"] == 0
    before, after = await get_tree(c, rev_a["id"]), await get_tree(c, rev_b["id"])
    assert shape(after["items"]) == shape(before["items"])

    def details(tree):
        return [
            (
                n["level"],
                n["partNumber"],
                n["refdes"],
                n["notes"],
                [a["partNumber"] for a in n["alternates"]],
            )
            for n in walk(tree["items"])
        ]

    assert details(after) == details(before)
    diff = (await c.get(f"/v1/boms/{rev_a['id']}/diff", params={"rightRev": "B"})).json()
    assert (diff["added"], diff["removed"]) == ([], [])

    bad = b"level,pn,qty\n1,SUB-1,1\n3,BOLT-1,1\n"
    rev_c = await make_bom(c, parts["TOP-1"]["id"], revision="C")
    report = (await import_file(c, rev_c["id"], "b.csv", bad, dry_run=True)).json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "level")]


async def test_alternates_column_creates_pending_alternates(alice, empty_bom):
    content = b"pn,qty,alternates\nRES-1,2,RES-1A|RES-1B\nRES-2,1,\n"
    response = await import_file(alice.client, empty_bom["id"], "bom.csv", content)
    assert response.status_code == 200, response.text
    assert response.json()["partsCreated"] == 4
    rows = {n["partNumber"]: n for n in (await get_tree(alice.client, empty_bom["id"]))["items"]}
    alternates = [(a["partNumber"], a["approval"]) for a in rows["RES-1"]["alternates"]]
    assert alternates == [("RES-1A", "pending"), ("RES-1B", "pending")]
    assert rows["RES-2"]["alternates"] == []


async def test_replace_and_append_modes(alice, empty_bom):
    c = alice.client
    bom_id = empty_bom["id"]
    first = b"pn,qty\nA-1,1\nB-1,2\n"
    second = b"pn,qty\nC-1,3\n"
    assert (await import_file(c, bom_id, "1.csv", first)).status_code == 200
    assert (await import_file(c, bom_id, "2.csv", second, mode="append")).status_code == 200
    assert sorted(shape((await get_tree(c, bom_id))["items"])) == [
        ("A-1", 1, "each", []),
        ("B-1", 2, "each", []),
        ("C-1", 3, "each", []),
    ]
    assert (await import_file(c, bom_id, "2.csv", second, mode="replace")).status_code == 200
    assert shape((await get_tree(c, bom_id))["items"]) == [("C-1", 3, "each", [])]
    assert (await import_file(c, bom_id, "1.csv", first)).status_code == 200  # default: replace
    assert [n["partNumber"] for n in (await get_tree(c, bom_id))["items"]] == ["A-1", "B-1"]
    response = await import_file(c, bom_id, "1.csv", first, mode="merge")
    assert_problem(response, 400)


async def test_import_respects_status_and_role(alice, make_actor, empty_bom):
    vera = await make_actor("vera", workspace="acme", role="viewer")
    mia = await make_actor("mia", workspace="acme", role="manager")
    stranger = await make_actor("mallory", workspace="other", role="owner")
    content = b"pn,qty\nA-1,1\n"
    bom_id = empty_bom["id"]
    assert_problem(await import_file(vera.client, bom_id, "b.csv", content), 403)
    assert_problem(
        await import_file(stranger.client, bom_id, "b.csv", content), 404, "BOM_NOT_FOUND"
    )
    assert (await import_file(alice.client, bom_id, "b.csv", content)).status_code == 200
    await alice.client.post(f"/v1/boms/{bom_id}/submit")
    response = await import_file(alice.client, bom_id, "b.csv", content, mode="append")
    assert_problem(response, 409, "BOM_NOT_EDITABLE")
    await mia.client.post(f"/v1/boms/{bom_id}/approve")
    for dry_run in (True, False):
        response = await import_file(alice.client, bom_id, "b.csv", content, dry_run=dry_run)
        assert_problem(response, 409, "BOM_FROZEN")
    assert (await get_tree(alice.client, bom_id))["lineCount"] == 1


# --- what the importer keeps ------------------------------------------------------------------


async def _part_of(client, node) -> dict:
    response = await client.get(f"/v1/parts/{node['childPartId']}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_kicad_jlc_row_keeps_manufacturer_mpn_and_attributes(alice, empty_bom):
    c = alice.client
    content = (
        b"Reference,Value,Footprint,Datasheet,Manufacturer,MPN,LCSC Part #,Digi-Key_PN,Mouser\n"
        b"R1 R2,10k,Resistor_SMD:R_0402_1005Metric,~,Yageo,RC0402FR-0710KL,C25744,"
        b"311-10.0KLRCT-ND,603-RC0402FR-0710KL\n"
        b"U1,STM32F103C8T6,Package_QFP:LQFP-48_7x7mm_P0.5mm,https://st.com/ds.pdf,ST,"
        b"STM32F103C8T6,C8734,,\n"
    )
    response = await import_file(c, empty_bom["id"], "jlc.csv", content)
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == []
    lines = {n["refdes"]: n for n in (await get_tree(c, empty_bom["id"]))["items"]}
    resistor = await _part_of(c, lines["R1, R2"])
    assert (resistor["partNumber"], resistor["manufacturerName"]) == ("RC0402FR-0710KL", "Yageo")
    assert resistor["manufacturerPartNumber"] == "RC0402FR-0710KL"
    assert resistor["attributes"] == {
        "value": "10k",
        "footprint": "Resistor_SMD:R_0402_1005Metric",  # "~" is KiCad's "no datasheet"
        "lcsc": "C25744",
        "digikey": "311-10.0KLRCT-ND",
        "mouser": "603-RC0402FR-0710KL",
    }
    mcu = await _part_of(c, lines["U1"])
    assert mcu["attributes"]["datasheet"] == "https://st.com/ds.pdf"
    assert (mcu["manufacturerName"], mcu["manufacturerPartNumber"]) == ("ST", "STM32F103C8T6")


async def test_part_number_next_to_a_manufacturer_is_the_mpn(alice, empty_bom):
    c = alice.client
    content = real_file("hackrf/hackrf-one-bom_2016_grouped.csv").read_bytes()
    assert (await import_file(c, empty_bom["id"], "g.csv", content)).status_code == 200
    lines = {n["partNumber"]: n for n in (await get_tree(c, empty_bom["id"]))["items"]}
    cap = await _part_of(c, lines["GRM1555C1H330JA01D"])
    assert (cap["manufacturerName"], cap["manufacturerPartNumber"]) == (
        "Murata",
        "GRM1555C1H330JA01D",
    )
    assert cap["attributes"] == {"value": "33pF"}
    assert cap["name"] == "CAP CER 33PF 50V 5% NP0 0402"


async def test_an_internal_part_number_column_stays_the_part_number(alice, empty_bom):
    c = alice.client
    content = b"child_part_number,Part Number,Manufacturer,qty\nINT-7,GRM1,Murata,2\n"
    assert (await import_file(c, empty_bom["id"], "b.csv", content)).status_code == 200
    [node] = (await get_tree(c, empty_bom["id"]))["items"]
    part = await _part_of(c, node)
    assert (part["partNumber"], part["manufacturerPartNumber"]) == ("INT-7", "GRM1")


async def test_a_row_with_only_an_mpn_uses_the_catalog_part_carrying_it(alice, empty_bom):
    c = alice.client
    known = await make_part(c, "R-10K", manufacturerPartNumber="RC0402FR-0710KL")
    content = b"Ref,Value,MPN\nR1 R2,10k,RC0402FR-0710KL\n"
    response = await import_file(c, empty_bom["id"], "b.csv", content)
    assert response.status_code == 200, response.text
    assert response.json()["partsCreated"] == 0
    [node] = (await get_tree(c, empty_bom["id"]))["items"]
    assert (node["childPartId"], node["partNumber"], node["qty"]) == (known["id"], "R-10K", 2)


# --- DNP lines ----------------------------------------------------------------------------------


async def test_dnp_and_fitted_placements_of_one_part_are_separate_lines(alice, empty_bom):
    c = alice.client
    content = (
        b"ref;value;Field1;Field2;Field3;Field4\n"
        b"C1;100nF;Murata;GRM155;CAP;\n"
        b"C2;100nF;Murata;GRM155;CAP;DNP\n"
        b"C3;100nF;Murata;GRM155;CAP;\n"
        b"C4;100nF;Murata;GRM155;CAP;DNF\n"
    )
    response = await import_file(c, empty_bom["id"], "b.csv", content)
    assert response.status_code == 200, response.text
    tree = await get_tree(c, empty_bom["id"])
    assert [(n["partNumber"], n["refdes"], n["qty"], n["dnp"]) for n in tree["items"]] == [
        ("GRM155", "C1, C3", 2, False),
        ("GRM155", "C2, C4", 2, True),
    ]
    [merged] = [w for w in response.json()["warnings"] if "merged" in w["message"]]
    assert merged["row"] == 4
    assert "row 2 + 4; row 3 + 5" in merged["message"]


@pytest.mark.parametrize("mark", ["DNP", "true", "TRUE", "yes", "x", "1", "DNF"])
async def test_a_dnp_column_reads_back(alice, empty_bom, mark):
    content = f"pn,qty,refdes,dnp\nA-1,1,R1,{mark}\nA-1,1,R2,false\nB-1,1,R3,\n".encode()
    response = await import_file(alice.client, empty_bom["id"], "b.csv", content)
    assert response.status_code == 200, response.text
    tree = await get_tree(alice.client, empty_bom["id"])
    assert [(n["partNumber"], n["refdes"], n["dnp"]) for n in tree["items"]] == [
        ("A-1", "R1", True),
        ("A-1", "R2", False),
        ("B-1", "R3", False),
    ]


async def test_an_unreadable_dnp_cell_is_an_error(alice, empty_bom):
    content = b"pn,qty,dnp\nA-1,1,maybe\n"
    report = (
        await import_file(alice.client, empty_bom["id"], "b.csv", content, dry_run=True)
    ).json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(2, "dnp")]


async def test_export_then_import_keeps_dnp_and_attributes(alice, empty_bom, make_actor):
    """A KiCad file imported, exported, and imported into another workspace (where every part
    is created from the export's columns) gives the same lines, flags and parts."""
    content = (
        b"Reference,Value,Footprint,Manufacturer,MPN,LCSC,DNP\n"
        b"C1 C2,100nF,Capacitor_SMD:C_0402_1005Metric,Murata,GRM155,C1525,\n"
        b"C3,100nF,Capacitor_SMD:C_0402_1005Metric,Murata,GRM155,C1525,DNP\n"
    )
    assert (await import_file(alice.client, empty_bom["id"], "k.csv", content)).status_code == 200
    exported = await alice.client.get(f"/v1/boms/{empty_bom['id']}/export.csv")
    assert exported.status_code == 200, exported.text

    bob = await make_actor("bob", workspace="elsewhere", role="engineer")
    top = await make_part(bob.client, "TOP-1", workspace="elsewhere")
    copy = await make_bom(bob.client, top["id"], workspace="elsewhere")
    response = await import_file(bob.client, copy["id"], "TOP-1.csv", exported.content)
    assert response.status_code == 200, response.text
    assert response.json()["partsCreated"] == 1

    def lines(tree):
        return [(n["partNumber"], n["refdes"], n["qty"], n["dnp"]) for n in tree["items"]]

    before = await get_tree(alice.client, empty_bom["id"])
    after = await get_tree(bob.client, copy["id"])
    assert (
        lines(after)
        == lines(before)
        == [
            ("GRM155", "C1, C2", 2, False),
            ("GRM155", "C3", 1, True),
        ]
    )
    original = await _part_of(alice.client, before["items"][0])
    created = await _part_of(bob.client, after["items"][0])
    kept = ["partNumber", "manufacturerName", "manufacturerPartNumber", "attributes"]
    assert {k: created[k] for k in kept} == {k: original[k] for k in kept}
    assert created["attributes"] == {
        "value": "100nF",
        "footprint": "Capacitor_SMD:C_0402_1005Metric",
        "lcsc": "C1525",
    }


# --- the report accounts for every row --------------------------------------------------------


async def test_blank_rows_and_unknown_columns_are_reported(alice, empty_bom):
    content = b"pn,qty,colour\nA-1,1,red\n\n,\nB-1,2,\n"
    report = (
        await import_file(alice.client, empty_bom["id"], "b.csv", content, dry_run=True)
    ).json()
    assert report["errors"] == []
    warnings = {(w["row"], w["column"]): w["message"] for w in report["warnings"]}
    assert warnings[(3, None)] == "2 blank row(s) skipped: rows 3-4"
    assert "'colour'" in warnings[(2, "colour")] and "(rows 2)" in warnings[(2, "colour")]


async def test_a_row_split_by_an_unquoted_comma_is_refused_with_row_and_columns(alice, empty_bom):
    c = alice.client
    rows = "".join(f"R{n},10k,thick film,1\n" for n in range(1, 4))
    content = f"Ref,Value,Description,Qty\n{rows}R9,10k,thick, film,1\n".encode()
    report = (await import_file(c, empty_bom["id"], "b.csv", content, dry_run=True)).json()
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(5, "Value or Description")]
    assert_problem(await import_file(c, empty_bom["id"], "b.csv", content), 400, "IMPORT_INVALID")
    assert (await get_tree(c, empty_bom["id"]))["lineCount"] == 0


# --- broken files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("truncated-xlsx", 400, "UNREADABLE_FILE"),
        ("binary", 415, "UNSUPPORTED_FORMAT"),
        ("huge-csv-cell", 400, "UNREADABLE_FILE"),
        ("no-header", 400, "HEADER_NOT_FOUND"),
    ],
)
async def test_broken_files_answer_a_stable_4xx_and_write_nothing(
    alice, empty_bom, case, status, code
):
    xlsx = real_file("bitaxe/bitaxeUltra BOM.xlsx").read_bytes()
    content = {
        "truncated-xlsx": xlsx[: len(xlsx) // 2],
        "binary": bytes(range(256)) * 8,
        "huge-csv-cell": b'pn,qty,notes\nA-1,1,"' + b"x" * 300_000 + b'"\n',
        "no-header": b"\x89PNG-ish text without a header\n1,2\n",
    }[case]
    for dry_run in (True, False):
        response = await import_file(alice.client, empty_bom["id"], "f", content, dry_run=dry_run)
        assert_problem(response, status, code)
    assert (await get_tree(alice.client, empty_bom["id"]))["lineCount"] == 0
    listed = await alice.client.get("/v1/parts", params={"workspace": "acme"})
    assert [p["partNumber"] for p in listed.json()["items"]] == ["TOP-1"]


async def test_a_large_xlsx_cell_imports(alice, empty_bom):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["pn", "qty", "notes", "description"])
    book.active.append(["BIG-1", 1, "n" * 30_000, "d" * 30_000])
    out = io.BytesIO()
    book.save(out)
    response = await import_file(alice.client, empty_bom["id"], "b.xlsx", out.getvalue())
    assert response.status_code == 200, response.text
    [node] = (await get_tree(alice.client, empty_bom["id"]))["items"]
    assert len(node["notes"]) == 30_000
    part = await _part_of(alice.client, node)
    assert (len(part["name"]), len(part["description"])) == (300, 30_000)
