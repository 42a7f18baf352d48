"""The explosion and the cost rollup as the database renders them (threadline.boms.explode):
escaping, numbers, attributes, effectivity, alternates, sibling order, warnings and rollup
arithmetic through ``GET /v1/boms/:id`` and ``GET /v1/boms/:id/cost-rollup``, compared with what
was written and with :mod:`threadline.boms.tree`, the model of record, on either database."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.boms.factories import line, make_bom, make_part, new_id, walk, write_items
from tests.conftest import Actor, MakeActor
from threadline.boms import tree
from threadline.boms.graph import TreeOptions
from threadline.boms.models import Bom
from threadline.boms.tree import Line, Structure, convert_cost, uuid_text
from threadline.boms.warnings import item_warnings

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Quantities and costs are stored with 6 decimal places: half a unit of the last place.
SIX_PLACES = Decimal("0.0000005")
EFFECTIVITY_KEYS = {"dateFrom", "dateTo", "serialFrom", "serialTo", "lotFrom", "lotTo"}
NODE_KEYS = {
    "id",
    "parentItemId",
    "childPartId",
    "childVersionId",
    "partNumber",
    "name",
    "level",
    "qty",
    "uom",
    "refdes",
    "notes",
    "sortIndex",
    "attributes",
    "effectivity",
    "alternates",
    "unitCost",
    "currency",
    "children",
    "bomId",
    "via",
    "subBom",
    "dnp",
    "version",
    "files",
}
ROLLUP_KEYS = {
    "itemId",
    "partNumber",
    "level",
    "qty",
    "extendedQty",
    "unitCost",
    "currency",
    "extendedCost",
    "bomId",
    "via",
    "dnp",
}

Json = dict[str, Any]
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def mia(make_actor: MakeActor) -> Actor:
    return await make_actor("mia", workspace="acme", role="manager")


# --- reading responses strictly ---------------------------------------------------------------


def _unique_keys(pairs: list[tuple[str, Any]]) -> Json:
    """An object whose keys are all different: a key written twice is a rendering bug that a
    plain ``json.loads`` would hide by keeping the last value."""
    keys = [key for key, _value in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in {keys}"
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


def parse(content: bytes) -> Any:
    """Strict JSON (no raw control characters in strings, no NaN, no duplicate keys), every
    fraction as a Decimal so nothing is rounded on the way in."""
    value = json.loads(
        content,
        parse_float=Decimal,
        parse_constant=_no_constants,
        object_pairs_hook=_unique_keys,
    )
    orjson.loads(content)  # a second, independent parser agrees that it is JSON
    return value


async def get_json(client: httpx.AsyncClient, url: str) -> Json:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: Json = parse(response.content)
    return body


async def explosion(client: httpx.AsyncClient, bom_id: str) -> Json:
    return await get_json(client, f"/v1/boms/{bom_id}")


async def rollup(client: httpx.AsyncClient, bom_id: str) -> Json:
    return await get_json(client, f"/v1/boms/{bom_id}/cost-rollup")


async def set_rates(client: httpx.AsyncClient, currency: str, rates: dict[str, str]) -> None:
    body = {"currency": currency, "exchange_rates": rates}
    response = await client.post("/v1/workspaces/acme/bom-settings", json=body)
    assert response.status_code == 200, response.text


# --- comparing values -------------------------------------------------------------------------


def assert_number(got: Any, expected: Any, where: str, tolerance: Decimal = SIX_PLACES) -> None:
    """``got`` is a JSON number (not a string, not a boolean) within ``tolerance`` of
    ``expected``; both None is fine too."""
    if expected is None:
        assert got is None, f"{where}: {got!r} should be null"
        return
    assert isinstance(got, int | Decimal) and not isinstance(got, bool), (
        f"{where}: {got!r} is not a JSON number"
    )
    assert abs(Decimal(got) - Decimal(str(expected))) <= tolerance, f"{where}: {got} != {expected}"


def assert_matches(
    got: Any, expected: Any, where: str = "$", tolerance: Decimal = SIX_PLACES
) -> None:
    """``got`` (parsed JSON) has the shape and values of ``expected``: the same keys, list
    lengths, strings and integers; fractional numbers within ``tolerance``."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{where}: {got!r} is not an object"
        assert got.keys() == expected.keys(), f"{where}: keys {sorted(got)} != {sorted(expected)}"
        for key, value in expected.items():
            assert_matches(got[key], value, f"{where}.{key}", tolerance)
    elif isinstance(expected, list):
        assert isinstance(got, list), f"{where}: {got!r} is not an array"
        assert len(got) == len(expected), f"{where}: {len(got)} items, expected {len(expected)}"
        for index, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_matches(a, b, f"{where}[{index}]", tolerance)
    elif isinstance(expected, Decimal | float):
        assert_number(got, expected, where, tolerance)
    else:
        assert type(got) is type(expected) and got == expected, f"{where}: {got!r} != {expected!r}"


def exact_json(value: Any) -> Any:
    """``value`` as it reads back from JSON text (fractions as Decimal, like :func:`parse`)."""
    return json.loads(orjson.dumps(value), parse_float=Decimal)


# --- the model of record: tree.load_structure -------------------------------------------------


async def structure_of(
    sessionmaker: Sessions, bom_id: str, options: TreeOptions = TreeOptions()
) -> Structure:
    async with sessionmaker() as session:
        bom = await session.get(Bom, uuid.UUID(bom_id))
        assert bom is not None
        return await tree.load_structure(session, bom, options)


def _attributes(value: Any) -> Any:
    return json.loads(value, parse_float=Decimal) if isinstance(value, str | bytes) else value


def reference_node(line: Line, via: tuple[str, ...] = ()) -> Json:
    """One line and everything under it as the explosion documents it, from ``tree.Line``s;
    ``via``: the lines whose sub-BOMs lead to it."""
    below = (*via, uuid_text(line.id)) if line.expanded else via
    sub_bom = None
    if line.expanded:
        sub_bom = {
            "id": uuid_text(line.sub_bom_id),
            "revision": line.sub_bom_revision,
            "status": str(line.sub_bom_status),
        }
    return {
        "bomId": uuid_text(line.bom_id),
        "via": list(via),
        "subBom": sub_bom,
        "dnp": line.dnp,
        "version": line.version,
        "files": line.files,
        "id": uuid_text(line.id),
        "parentItemId": uuid_text(line.parent_item_id),
        "childPartId": uuid_text(line.child_part_id),
        "childVersionId": uuid_text(line.child_version_id),
        "partNumber": line.part_number,
        "name": line.name,
        "level": line.level,
        "qty": line.qty,
        "uom": line.uom,
        "refdes": line.refdes,
        "notes": line.notes,
        "sortIndex": line.sort_index,
        "attributes": _attributes(line.attributes),
        "effectivity": line.effectivity(),
        "alternates": line.alternates,
        "unitCost": line.unit_cost,
        "currency": line.currency,
        "children": [reference_node(child, below) for child in line.children],
    }


def reference_warnings(structure: Structure) -> list[Json]:
    """Every warning of every line in tree order (parents before children), a line shown twice
    (a sub-BOM used twice) warned about once."""
    seen: set[Any] = set()
    return [
        warning
        for line in structure.walk()
        if not (line.id in seen or seen.add(line.id))
        for warning in item_warnings(
            item_id=uuid_text(line.id),
            part_number=line.part_number,
            rohs_compliant=line.rohs_compliant,
            reach_compliant=line.reach_compliant,
            conflict_minerals=line.conflict_minerals,
            refdes=line.refdes,
            qty=line.qty,
        )
    ]


def reference_rollup(structure: Structure, base: str, rates: dict[str, Decimal]) -> Json:
    """The rollup computed from the model of record: depth first, leaves costed, DNP lines (and
    what is under them) neither costed nor missing."""
    lines: list[Json] = []
    missing: list[Json] = []
    total = Decimal(0)
    stack: list[tuple[Line, Decimal, tuple[str, ...], bool]] = [
        (root, Decimal(1), (), False) for root in reversed(structure.roots)
    ]
    while stack:
        line, multiplier, via, dnp_above = stack.pop()
        dnp = dnp_above or line.dnp
        extended = line.qty * multiplier
        cost: Decimal | None = None
        if not line.children and not dnp:
            unit = convert_cost(line.unit_cost, line.currency, base, rates)
            if unit is not None:
                cost = unit * extended
                total += cost
        row = {
            "itemId": uuid_text(line.id),
            "partNumber": line.part_number,
            "level": line.level,
            "qty": line.qty,
            "extendedQty": extended,
            "unitCost": line.unit_cost,
            "currency": line.currency,
            "extendedCost": cost,
            "bomId": uuid_text(line.bom_id),
            "via": list(via),
            "dnp": dnp,
        }
        lines.append(row)
        if not line.children and cost is None and not dnp:
            missing.append(row)
        below = (*via, uuid_text(line.id)) if line.expanded else via
        stack.extend((child, extended, below, dnp) for child in reversed(line.children))
    return {"lines": lines, "missingCost": missing, "totalCost": total, "complete": not missing}


async def assert_as_model_of_record(
    sessionmaker: Sessions,
    bom_id: str,
    body: Json,
    *,
    tolerance: Decimal = SIX_PLACES,
    options: TreeOptions = TreeOptions(),
) -> Structure:
    """The explosion's items, line count and warnings equal what ``tree`` makes of the BOM."""
    structure = await structure_of(sessionmaker, bom_id, options)
    assert body["lineCount"] == sum(1 for _line in structure.walk())
    reference = [reference_node(root) for root in structure.roots]
    assert_matches(body["items"], reference, "$.items", tolerance)
    assert body["warnings"] == reference_warnings(structure)
    for node in walk(body["items"]):
        assert node.keys() == NODE_KEYS
        assert CANONICAL_UUID.fullmatch(node["id"]), node["id"]
        assert CANONICAL_UUID.fullmatch(node["childPartId"]), node["childPartId"]
        for child in node["children"]:
            if node["subBom"] is None:
                assert child["parentItemId"] == node["id"]
                assert child["bomId"] == node["bomId"]
            else:  # a sub-BOM's top line, shown under the line that expands into it
                assert child["parentItemId"] is None
                assert child["bomId"] == node["subBom"]["id"]
            assert child["level"] == node["level"] + 1
    assert all(node["parentItemId"] is None and node["level"] == 1 for node in body["items"])
    return structure


def order(nodes: list[Json]) -> list[tuple[str, int]]:
    """(part number, level) of every line, depth first."""
    return [(node["partNumber"], node["level"]) for node in walk(nodes)]


def by_part_number(nodes: list[Json]) -> dict[str, Json]:
    return {node["partNumber"]: node for node in walk(nodes)}


def item(part: Json, qty: str | int, **fields: Any) -> Json:
    """A new line of ``part``; a quantity given as a decimal string is sent exactly."""
    return {"childPartId": part["id"], "qty": qty, **fields}


def number_of(parts: dict[str, Json], row: Json) -> str:
    """The part number of a line's part."""
    return next(number for number, part in parts.items() if part["id"] == row["childPartId"])


# --- 1. escaping ------------------------------------------------------------------------------

# Strings the database must escape: quotes, backslashes, line breaks and tabs, other control
# characters (part numbers refuse C0 controls), non-ASCII, emoji, JSON look-alikes and braces.
# Leading and trailing whitespace is stripped by the API, so it sits inside the values.
NASTY: list[Json] = [
    {
        "partNumber": 'PN "quoted" \\back\\slash\\',
        "name": 'Name "with" quotes \\ and a \\" pair',
        "notes": 'line 1\nline 2\r\nline 3\ttabbed "q" \\n not a newline',
        "refdes": 'R"1"',
        "uom": '"each"\\',
    },
    {
        "partNumber": "Écrou M3 — ø3",
        "name": "Écrou hexagonal — ø3 mm · 🔩 ✓ \U0001d518",
        "notes": "Ünïcödé ✓ 🔩 \u2028 separators \u2029 and \ufeff BOM, \u00a0nbsp",
        "refdes": "Ω1 Ω2",
        "uom": "µm² ☃",
    },
    {
        "partNumber": "🔩-EMOJI-😀}",
        "name": 'ends with a brace {"a": 1}',
        "notes": '{"not": "an object"}, [1, 2] } ] "',
        "refdes": "X1,X2",
        "uom": "}",
    },
    {
        "partNumber": "{BRACE\x7fDEL}",
        "name": '"},{"injected":"x"}',
        "notes": "controls \x01\x02\x07\x08\x0b\x0c\x1b\x1f\x7f\x80\x9f end",
        "refdes": "\\R1\tR2\nR3",
        "uom": "in\x1f\x08s",
    },
]
NASTY_ATTRIBUTES: Json = {
    'key "quoted" \\ \n\t\x01': 'value "quoted" \\ \n\t\x01\x1f',
    "é🔩": ["}", "{", "]", "[", '"', "\\", "\u2028"],
    "}": {"{": "}"},
}
NASTY_LOTS = {"lotFrom": 'LOT "A" \\1 é', "lotTo": 'LOT "A" \\2 é'}


async def test_strings_are_escaped_and_round_trip(mia: Actor, sessionmaker: Sessions) -> None:
    c = mia.client
    top = await make_part(c, "TOP-ESC")
    parts = [
        await make_part(c, case["partNumber"], name=case["name"], unitCost="1.5", currency="USD")
        for case in NASTY
    ]
    alternate = await make_part(c, 'ALT "1" \\ é🔩')
    holder_part = await make_part(c, 'HOLDER "}" \\', name='{"holder": "}"}')
    for part, case in zip(parts, NASTY, strict=True):
        assert (part["partNumber"], part["name"]) == (case["partNumber"], case["name"])
    bom = await make_bom(c, top["id"])
    holder = new_id()
    top_ids = [new_id() for _ in NASTY]
    nested_ids = [new_id() for _ in NASTY]
    rows = [line(holder_part, 1, id=holder, sortIndex=-1)]
    rows += [
        item(
            part,
            index + 1,
            id=item_id,
            sortIndex=index,
            notes=case["notes"],
            refdes=case["refdes"],
            uom=case["uom"],
            attributes=NASTY_ATTRIBUTES,
            effectivity=NASTY_LOTS,
        )
        for index, (part, case, item_id) in enumerate(zip(parts, NASTY, top_ids, strict=True))
    ]
    # the same strings one level down
    rows += [
        line(part, 1, id=item_id, parentItemId=holder, notes=case["notes"], uom=case["uom"])
        for part, case, item_id in zip(parts, NASTY, nested_ids, strict=True)
    ]
    await write_items(c, bom["id"], rows)
    rationale = 'because "it fits" \\ \n ✓'
    response = await c.post(
        f"/v1/boms/{bom['id']}/items/{holder}/alternates",
        json={"alternates": [{"partId": alternate["id"], "rationale": rationale}]},
    )
    assert response.status_code == 200, response.text

    body = await explosion(c, bom["id"])
    await assert_as_model_of_record(sessionmaker, bom["id"], body)
    assert body["lineCount"] == 1 + 2 * len(NASTY)
    holder_node, *top_level = body["items"]
    assert (holder_node["id"], holder_node["name"]) == (holder, '{"holder": "}"}')
    assert [n["id"] for n in top_level] == top_ids
    for node, part, case in zip(top_level, parts, NASTY, strict=True):
        assert node["partNumber"] == case["partNumber"]
        assert node["name"] == case["name"]
        assert node["childPartId"] == part["id"]
        assert (node["notes"], node["refdes"], node["uom"]) == (
            case["notes"],
            case["refdes"],
            case["uom"],
        )
        assert node["attributes"] == NASTY_ATTRIBUTES
        assert {k: v for k, v in node["effectivity"].items() if v is not None} == NASTY_LOTS
        assert (node["unitCost"], node["currency"]) == (Decimal("1.5"), "USD")
        assert node["alternates"] == []
    # one sort index: by part number, code point by code point ("P" < "{" < "É" < "🔩")
    nested = holder_node["children"]
    by_code_point = sorted(range(len(NASTY)), key=lambda i: NASTY[i]["partNumber"])
    assert by_code_point == [0, 3, 1, 2]
    assert [n["id"] for n in nested] == [nested_ids[i] for i in by_code_point]
    assert [(n["partNumber"], n["name"], n["notes"], n["uom"], n["level"]) for n in nested] == [
        (case["partNumber"], case["name"], case["notes"], case["uom"], 2)
        for case in (NASTY[i] for i in by_code_point)
    ]
    assert holder_node["alternates"] == [
        {
            "partId": alternate["id"],
            "partNumber": 'ALT "1" \\ é🔩',
            "approval": "pending",
            "rationale": rationale,
        }
    ]
    # refdes that disagree with the quantity: the warnings quote the part numbers back
    assert [(w["itemId"], w["partNumber"]) for w in body["warnings"]] == [
        (top_ids[2], NASTY[2]["partNumber"]),
        (top_ids[3], NASTY[3]["partNumber"]),
    ]

    costs = await rollup(c, bom["id"])
    assert [(r["itemId"], r["partNumber"], r["currency"]) for r in costs["lines"]] == [
        (n["id"], n["partNumber"], n["currency"]) for n in walk(body["items"])
    ]
    assert costs["complete"] is True
    assert_number(costs["totalCost"], Decimal("1.5") * (1 + 2 + 3 + 4 + len(NASTY)), "totalCost")


# --- 2. numbers -------------------------------------------------------------------------------

# (part number, qty, unit cost, currency, sort index)
NUMBERS: list[tuple[str, str, str | None, str | None, int]] = [
    ("NUM-A", "0.125", None, None, 2**31 - 1),
    ("NUM-B", "2.5", "0", None, -(2**31)),
    ("NUM-C", "0.000001", "0.125", None, 0),
    ("NUM-D", "999999999", "0.000001", None, -1),
    ("NUM-E", "1000000000", "1234567.891234", "USD", 1),
    ("NUM-F", "123456.654321", "12.5", "EUR", 1),
    ("NUM-G", "0.333333", "999999.999999", "USD", 3),
    ("NUM-H", "1", "0.1", "USD", 3),
]
NUMBERS_ORDER = ["NUM-B", "NUM-D", "NUM-C", "NUM-E", "NUM-F", "NUM-G", "NUM-H", "NUM-A"]


async def test_numbers_are_json_numbers_equal_to_the_stored_values(
    mia: Actor, sessionmaker: Sessions
) -> None:
    c = mia.client
    top = await make_part(c, "TOP-NUM")
    bom = await make_bom(c, top["id"])
    rows = []
    for number, qty, cost, currency, sort_index in NUMBERS:
        fields = {"unitCost": cost, "currency": currency}
        part = await make_part(c, number, **{k: v for k, v in fields.items() if v is not None})
        rows.append(item(part, qty, sortIndex=sort_index))
    await write_items(c, bom["id"], rows)
    await set_rates(c, "USD", {"EUR": "1.1"})

    body = await explosion(c, bom["id"])
    await assert_as_model_of_record(sessionmaker, bom["id"], body)
    assert [n["partNumber"] for n in body["items"]] == NUMBERS_ORDER
    nodes = by_part_number(body["items"])
    for number, qty, cost, currency, sort_index in NUMBERS:
        node = nodes[number]
        assert_number(node["qty"], qty, f"{number}.qty")
        assert_number(node["unitCost"], cost, f"{number}.unitCost")
        assert node["sortIndex"] == sort_index and type(node["sortIndex"]) is int
        assert node["currency"] == currency
    assert nodes["NUM-B"]["unitCost"] == 0 and nodes["NUM-B"]["unitCost"] is not None
    assert nodes["NUM-A"]["unitCost"] is None

    costs = await rollup(c, bom["id"])
    assert [r["partNumber"] for r in costs["lines"]] == NUMBERS_ORDER
    total = Decimal(0)
    for row, (number, qty, cost, currency, _sort) in zip(
        costs["lines"], sorted(NUMBERS, key=lambda n: NUMBERS_ORDER.index(n[0])), strict=True
    ):
        assert row.keys() == ROLLUP_KEYS and row["partNumber"] == number
        assert row["level"] == 1 and row["itemId"] == nodes[number]["id"]
        assert_number(row["qty"], qty, f"{number}.qty")
        assert_number(row["extendedQty"], qty, f"{number}.extendedQty")
        assert_number(row["unitCost"], cost, f"{number}.unitCost")
        assert row["currency"] == currency
        if cost is None:
            assert row["extendedCost"] is None
            continue
        expected = Decimal(qty) * Decimal(cost) * (Decimal("1.1") if currency == "EUR" else 1)
        total += expected
        assert isinstance(row["extendedCost"], int | Decimal)
        assert float(row["extendedCost"]) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)
    assert nodes["NUM-B"]["id"] not in {m["itemId"] for m in costs["missingCost"]}  # 0 is a cost
    assert [m["partNumber"] for m in costs["missingCost"]] == ["NUM-A"]
    assert costs["complete"] is False
    assert float(costs["totalCost"]) == pytest.approx(float(total), rel=1e-12)


# --- 3-5. attributes, effectivity, alternates -------------------------------------------------

ATTRIBUTES: Json = {
    "material": {"grade": "A2-70", "finish": ["zinc", "passivated"], "rohs": True},
    "dims": [{"d": 3, "l": 12.5}, {"d": 4, "l": 0.1}, []],
    "unicode": "Écrou — ø3 🔩",
    "none": None,
    "flags": [True, False, None],
    "big": 2**62,
    "negative": -(2**63),
    "tiny": 1e-7,
    "avogadro": 6.02e23,
    "empty": {},
    "nothing": [],
    "deep": {"a": {"b": {"c": {"d": {"e": ["f"]}}}}},
}
ALL_EFFECTIVITY = {
    "dateFrom": "2025-01-31",
    "dateTo": "2026-02-28",
    "serialFrom": 0,
    "serialTo": 2**62,
    "lotFrom": "L0009",
    "lotTo": "L0100",
}


async def test_attributes_effectivity_and_alternates(mia: Actor, sessionmaker: Sessions) -> None:
    c = mia.client
    top = await make_part(c, "TOP-FIELDS")
    numbers = ("EFF-ALL", "EFF-DATE", "EFF-NONE", "ATTR-EMPTY", "CHILD-1")
    parts = {number: await make_part(c, number) for number in numbers}
    alt1, alt2 = await make_part(c, "ALT-1"), await make_part(c, "ALT-2")
    bom = await make_bom(c, top["id"])
    holder = new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(
                parts["EFF-ALL"],
                1,
                id=holder,
                attributes=ATTRIBUTES,
                effectivity=ALL_EFFECTIVITY,
                sortIndex=1,
            ),
            line(parts["EFF-DATE"], 1, effectivity={"dateTo": "2024-02-29"}, sortIndex=2),
            line(parts["EFF-NONE"], 1, sortIndex=3),
            line(parts["ATTR-EMPTY"], 1, attributes={}, effectivity={}, sortIndex=4),
            line(parts["CHILD-1"], 2, parentItemId=holder, attributes={"list": [1, [2, [3]]]}),
        ],
    )
    alternates = [
        {"partId": alt2["id"], "approval": "conditional", "rationale": "below 85 °C"},
        {"partId": alt1["id"], "approval": "approved"},
    ]
    response = await c.post(
        f"/v1/boms/{bom['id']}/items/{holder}/alternates", json={"alternates": alternates}
    )
    assert response.status_code == 200, response.text

    body = await explosion(c, bom["id"])
    # exact numbers inside attributes: they are JSON, not quantities
    await assert_as_model_of_record(sessionmaker, bom["id"], body, tolerance=Decimal(0))
    nodes = by_part_number(body["items"])

    assert_matches(nodes["EFF-ALL"]["attributes"], exact_json(ATTRIBUTES), tolerance=Decimal(0))
    assert nodes["CHILD-1"]["attributes"] == {"list": [1, [2, [3]]]}
    assert nodes["EFF-NONE"]["attributes"] == {}
    assert nodes["ATTR-EMPTY"]["attributes"] == {}

    assert nodes["EFF-ALL"]["effectivity"] == ALL_EFFECTIVITY
    assert type(nodes["EFF-ALL"]["effectivity"]["serialTo"]) is int
    assert nodes["EFF-DATE"]["effectivity"] == {
        **dict.fromkeys(EFFECTIVITY_KEYS),
        "dateTo": "2024-02-29",
    }
    for number in ("EFF-NONE", "ATTR-EMPTY", "CHILD-1"):
        assert nodes[number]["effectivity"] == dict.fromkeys(EFFECTIVITY_KEYS), number

    assert nodes["EFF-ALL"]["alternates"] == [
        {"partId": alt1["id"], "partNumber": "ALT-1", "approval": "approved", "rationale": None},
        {
            "partId": alt2["id"],
            "partNumber": "ALT-2",
            "approval": "conditional",
            "rationale": "below 85 °C",
        },
    ]
    for number in ("EFF-DATE", "EFF-NONE", "ATTR-EMPTY", "CHILD-1"):
        assert nodes[number]["alternates"] == [], number


# --- 6. structure and order -------------------------------------------------------------------


async def test_four_levels_in_sibling_order_as_the_model_of_record(
    mia: Actor, sessionmaker: Sessions
) -> None:
    c = mia.client
    top = await make_part(c, "TOP-TREE")
    numbers = [
        "R-LATE", "SUB-A", "R-MID", "É-5", "a-5", "B-5", "DUP",
        "SUB-B", "L2-x", "L2-y",
        "b-3", "C-3", "é-3", "f-3", "SUB-C",
        "LEAF-4a", "LEAF-4b",
    ]  # fmt: skip
    p = {number: await make_part(c, number) for number in numbers}
    bom = await make_bom(c, top["id"])
    sub_a, sub_b, sub_c = new_id(), new_id(), new_id()
    dup_low, dup_high = sorted([new_id(), new_id()])
    # Lines the client names, in one batch: one written before its parent, one id in upper case.
    named = [
        item(p["LEAF-4b"], 3, parentItemId=sub_c, sortIndex=9),  # the batch's only unnamed line
        item(p["SUB-A"], 2, id=sub_a.upper(), sortIndex=10),
        item(p["DUP"], 4, id=dup_high, sortIndex=40),
        item(p["DUP"], 5, id=dup_low, sortIndex=40),
        item(p["SUB-B"], "1.5", id=sub_b, parentItemId=sub_a, sortIndex=2),
        item(p["SUB-C"], 3, id=sub_c, parentItemId=sub_b, sortIndex=1),
    ]
    ids = (await write_items(c, bom["id"], named))["ids"]
    chosen = {sub_a, sub_b, sub_c, dup_low, dup_high}  # returned as canonical lower-case text
    assert len(ids) == len(named) and chosen < set(ids)
    (leaf_4b,) = set(ids) - chosen
    written = {"LEAF-4b": leaf_4b, "SUB-A": sub_a, "SUB-B": sub_b, "SUB-C": sub_c}
    # Lines whose ids the server picks, one a batch, so each id returned is known to be its line.
    unnamed = [
        item(p["R-LATE"], 1, sortIndex=30),
        item(p["R-MID"], 1, sortIndex=20),
        item(p["É-5"], 1, sortIndex=5),
        item(p["a-5"], 1, sortIndex=5),
        item(p["B-5"], 1, sortIndex=5),
        item(p["L2-x"], 1, parentItemId=sub_a, sortIndex=1),
        item(p["L2-y"], 1, parentItemId=sub_a, sortIndex=-1),
        item(p["é-3"], 1, parentItemId=sub_b),
        item(p["f-3"], 1, parentItemId=sub_b),
        item(p["b-3"], 1, parentItemId=sub_b),
        item(p["C-3"], 1, parentItemId=sub_b),
        item(p["LEAF-4a"], "0.5", parentItemId=sub_c, sortIndex=9),
    ]
    for row in unnamed:
        (written[number_of(p, row)],) = (await write_items(c, bom["id"], [row]))["ids"]
    assert all(CANONICAL_UUID.fullmatch(i) for i in written.values())

    body = await explosion(c, bom["id"])
    structure = await assert_as_model_of_record(sessionmaker, bom["id"], body)
    expected = [
        ("B-5", 1), ("a-5", 1), ("É-5", 1),
        ("SUB-A", 1),
        ("L2-y", 2), ("L2-x", 2),
        ("SUB-B", 2),
        ("C-3", 3), ("b-3", 3), ("f-3", 3), ("é-3", 3),
        ("SUB-C", 3),
        ("LEAF-4a", 4), ("LEAF-4b", 4),
        ("R-MID", 1), ("R-LATE", 1),
        ("DUP", 1), ("DUP", 1),
    ]  # fmt: skip
    assert order(body["items"]) == expected
    assert order(body["items"]) == [(line.part_number, line.level) for line in structure.walk()]
    assert body["lineCount"] == len(named) + len(unnamed)
    nodes = list(walk(body["items"]))
    assert [n["id"] for n in nodes] == [uuid_text(line.id) for line in structure.walk()]
    for node in nodes:
        if node["partNumber"] != "DUP":
            assert node["id"] == written[node["partNumber"]], node["partNumber"]
    dups = [n for n in nodes if n["partNumber"] == "DUP"]
    assert [(n["id"], n["qty"]) for n in dups] == [(dup_low, 5), (dup_high, 4)]  # by id
    by_number = by_part_number(body["items"])
    assert by_number["SUB-A"]["id"] == sub_a  # canonical, lower case
    assert by_number["SUB-B"]["parentItemId"] == sub_a
    assert [n["parentItemId"] for n in by_number["SUB-C"]["children"]] == [sub_c, sub_c]
    assert_number(by_number["LEAF-4a"]["qty"], "0.5", "LEAF-4a.qty")

    # the rollup walks the same tree: depth first, levels, quantities multiplied down
    costs = await rollup(c, bom["id"])
    assert [(r["itemId"], r["partNumber"], r["level"]) for r in costs["lines"]] == [
        (n["id"], n["partNumber"], n["level"]) for n in nodes
    ]
    extended = {r["itemId"]: r["extendedQty"] for r in costs["lines"]}
    assert_number(
        extended[by_number["LEAF-4a"]["id"]],
        Decimal("2") * Decimal("1.5") * 3 * Decimal("0.5"),
        "4a",
    )
    assert_number(extended[by_number["LEAF-4b"]["id"]], Decimal("2") * Decimal("1.5") * 3 * 3, "4b")
    assert_number(extended[by_number["f-3"]["id"]], Decimal("3"), "f-3")
    reference = reference_rollup(structure, "USD", {})
    assert_matches(costs["lines"], reference["lines"], "$.lines")
    assert_matches(costs["missingCost"], reference["missingCost"], "$.missingCost")


# --- 7. warnings ------------------------------------------------------------------------------


async def _warning_parts(c: httpx.AsyncClient) -> dict[str, Json]:
    return {
        "ROHS-1": await make_part(c, "ROHS-1", rohsCompliant=False, reachCompliant=True),
        "REACH-1": await make_part(c, "REACH-1", reachCompliant=False),
        "TIN-1": await make_part(c, "TIN-1", conflictMinerals='Sn from "DRC" smelters'),
        "FREE-1": await make_part(c, "FREE-1", conflictMinerals="DRC Conflict-Free"),
        "RES-1": await make_part(c, "RES-1"),
        "CAP-1": await make_part(c, "CAP-1"),
        "IC-1": await make_part(c, "IC-1"),
        "GOOD-1": await make_part(c, "GOOD-1", rohsCompliant=True, reachCompliant=True),
        "BAD-1": await make_part(
            c, "BAD-1", rohsCompliant=False, reachCompliant=False, conflictMinerals="3TG"
        ),
        "SUB-1": await make_part(c, "SUB-1"),
        "SUB-2": await make_part(c, "SUB-2"),
    }


def _warning(item_id: str, part_number: str, code: str, message: str) -> Json:
    return {"itemId": item_id, "partNumber": part_number, "code": code, "message": message}


async def test_warnings_in_tree_order(mia: Actor, sessionmaker: Sessions) -> None:
    """Warnings on lines whose ancestors have none: every kind, at several levels."""
    c = mia.client
    top = await make_part(c, "TOP-WARN")
    p = await _warning_parts(c)
    bom = await make_bom(c, top["id"])
    sub1, sub2 = new_id(), new_id()
    ids = {name: new_id() for name in p}
    await write_items(
        c,
        bom["id"],
        [
            line(p["TIN-1"], 1, id=ids["TIN-1"], sortIndex=9),
            line(p["SUB-1"], 1, id=sub1, sortIndex=2),
            line(p["FREE-1"], 1, id=ids["FREE-1"], sortIndex=1),
            line(p["ROHS-1"], 1, id=ids["ROHS-1"], sortIndex=1),
            line(p["RES-1"], 3, id=ids["RES-1"], parentItemId=sub1, refdes="R1-R4", sortIndex=5),
            line(p["SUB-2"], 1, id=sub2, parentItemId=sub1, sortIndex=1),
            item(p["CAP-1"], "2.5", id=ids["CAP-1"], parentItemId=sub2, refdes="C1, C2"),
            line(p["IC-1"], 3, id=ids["IC-1"], parentItemId=sub2, refdes="U3-U1"),
            line(p["GOOD-1"], 3, id=ids["GOOD-1"], parentItemId=sub2, refdes="R5-R7"),
            line(p["REACH-1"], 1, id=ids["REACH-1"], parentItemId=sub1, sortIndex=7),
            line(p["BAD-1"], 2, id=ids["BAD-1"], sortIndex=3, refdes="Q1-D2"),
        ],
    )
    body = await explosion(c, bom["id"])
    await assert_as_model_of_record(sessionmaker, bom["id"], body)
    assert body["warnings"] == [
        _warning(ids["ROHS-1"], "ROHS-1", "ROHS_NONCOMPLIANT", "ROHS-1 is not RoHS compliant."),
        _warning(
            ids["CAP-1"],
            "CAP-1",
            "REFDES_QTY_MISMATCH",
            "CAP-1: 2 reference designators but quantity 2.5.",
        ),
        _warning(
            ids["IC-1"],
            "IC-1",
            "REFDES_INVALID",
            "IC-1: range 'U3-U1' runs backwards; write it as U1-U3",
        ),
        _warning(
            ids["RES-1"],
            "RES-1",
            "REFDES_QTY_MISMATCH",
            "RES-1: 4 reference designators but quantity 3.",
        ),
        _warning(
            ids["REACH-1"], "REACH-1", "REACH_NONCOMPLIANT", "REACH-1 is not REACH compliant."
        ),
        _warning(ids["BAD-1"], "BAD-1", "ROHS_NONCOMPLIANT", "BAD-1 is not RoHS compliant."),
        _warning(ids["BAD-1"], "BAD-1", "REACH_NONCOMPLIANT", "BAD-1 is not REACH compliant."),
        _warning(ids["BAD-1"], "BAD-1", "CONFLICT_MINERALS", "BAD-1 conflict minerals: 3TG."),
        _warning(
            ids["BAD-1"],
            "BAD-1",
            "REFDES_INVALID",
            "BAD-1: range 'Q1-D2' mixes prefixes 'Q' and 'D'; "
            "a range must stay within one prefix, like Q1-Q4",
        ),
        _warning(
            ids["TIN-1"],
            "TIN-1",
            "CONFLICT_MINERALS",
            'TIN-1 conflict minerals: Sn from "DRC" smelters.',
        ),
    ]


async def test_warnings_of_an_assembly_come_before_those_of_its_lines(
    mia: Actor, sessionmaker: Sessions
) -> None:
    c = mia.client
    top = await make_part(c, "TOP-WARN2")
    p = await _warning_parts(c)
    bom = await make_bom(c, top["id"])
    rohs, reach, tin = new_id(), new_id(), new_id()
    await write_items(
        c,
        bom["id"],
        [
            line(p["ROHS-1"], 1, id=rohs, sortIndex=1),  # an assembly with a warning...
            line(p["REACH-1"], 1, id=reach, parentItemId=rohs),  # ...over a line with one
            line(p["TIN-1"], 1, id=tin, sortIndex=2),
        ],
    )
    body = await explosion(c, bom["id"])
    assert [(w["itemId"], w["code"]) for w in body["warnings"]] == [
        (rohs, "ROHS_NONCOMPLIANT"),
        (reach, "REACH_NONCOMPLIANT"),
        (tin, "CONFLICT_MINERALS"),
    ]
    await assert_as_model_of_record(sessionmaker, bom["id"], body)


# --- 8. cost rollup ---------------------------------------------------------------------------


async def test_rollup_extends_converts_and_lists_missing_costs(
    mia: Actor, sessionmaker: Sessions
) -> None:
    c = mia.client
    top = await make_part(c, "TOP-COST")
    sub_a = await make_part(c, "SUB-A", unitCost="100")  # has lines: its own cost never counts
    sub_b = await make_part(c, "SUB-B", unitCost="7", currency="JPY")
    eur = await make_part(c, "LEAF-EUR", unitCost="4", currency="EUR")
    nocost = await make_part(c, "LEAF-NOCOST")
    usd = await make_part(c, "LEAF-USD", unitCost="0.8", currency="USD")
    jpy = await make_part(c, "LEAF-JPY", unitCost="1.5", currency="JPY")
    zero = await make_part(c, "LEAF-ZERO", unitCost="0", currency="EUR")
    base = await make_part(c, "LEAF-BASE", unitCost="2.5")  # no currency: the workspace's
    bom = await make_bom(c, top["id"])
    a, b, zero_id, usd_id, nocost_id, eur_id, jpy_id, base_id = (new_id() for _ in range(8))
    await write_items(
        c,
        bom["id"],
        [
            item(zero, 7, id=zero_id, sortIndex=3),
            item(sub_a, 2, id=a, sortIndex=1),
            item(usd, "1.25", id=usd_id, parentItemId=a, sortIndex=2),
            item(sub_b, 3, id=b, parentItemId=a, sortIndex=1),
            item(nocost, 4, id=nocost_id, parentItemId=b, sortIndex=2),
            item(eur, "0.5", id=eur_id, parentItemId=b, sortIndex=1),
            item(jpy, 1000, id=jpy_id, sortIndex=2),
            item(base, 2, id=base_id, sortIndex=4),
        ],
    )
    await set_rates(c, "USD", {"EUR": "1.1"})

    costs = await rollup(c, bom["id"])
    assert (costs["bomId"], costs["currency"], costs["complete"]) == (bom["id"], "USD", False)
    # (item, part number, level, qty, extended qty, unit cost, currency, extended cost)
    expected = [
        (a, "SUB-A", 1, 2, 2, 100, None, None),
        (b, "SUB-B", 2, 3, 6, 7, "JPY", None),
        (eur_id, "LEAF-EUR", 3, "0.5", 3, 4, "EUR", Decimal("13.2")),  # 3 x 4 EUR x 1.1
        (nocost_id, "LEAF-NOCOST", 3, 4, 24, None, None, None),
        (usd_id, "LEAF-USD", 2, "1.25", "2.5", "0.8", "USD", 2),
        (jpy_id, "LEAF-JPY", 1, 1000, 1000, "1.5", "JPY", None),  # no JPY rate
        (zero_id, "LEAF-ZERO", 1, 7, 7, 0, "EUR", 0),
        (base_id, "LEAF-BASE", 1, 2, 2, "2.5", None, 5),
    ]
    assert len(costs["lines"]) == len(expected)
    for row, want in zip(costs["lines"], expected, strict=True):
        item_id, number, level, qty, extended, unit, currency, cost = want
        assert row.keys() == ROLLUP_KEYS
        assert (row["itemId"], row["partNumber"], row["level"], row["currency"]) == (
            item_id,
            number,
            level,
            currency,
        )
        assert_number(row["qty"], qty, f"{number}.qty")
        assert_number(row["extendedQty"], extended, f"{number}.extendedQty")
        assert_number(row["unitCost"], unit, f"{number}.unitCost")
        assert_number(row["extendedCost"], cost, f"{number}.extendedCost", Decimal("1e-9"))
    assert [m["partNumber"] for m in costs["missingCost"]] == ["LEAF-NOCOST", "LEAF-JPY"]
    assert costs["missingCost"] == [r for r in costs["lines"] if r["itemId"] in {nocost_id, jpy_id}]
    assert_number(costs["totalCost"], Decimal("13.2") + 2 + 0 + 5, "totalCost", Decimal("1e-9"))
    structure = await structure_of(sessionmaker, bom["id"])
    reference = reference_rollup(structure, "USD", {"EUR": Decimal("1.1")})
    assert_matches(costs["lines"], reference["lines"], "$.lines", Decimal("1e-9"))

    # a rate for JPY and a cost for the last leaf: complete, every leaf counted once
    await set_rates(c, "USD", {"EUR": "1.1", "JPY": "0.0065"})
    response = await c.patch(f"/v1/parts/{nocost['id']}", json={"unitCost": "0.25"})
    assert response.status_code == 200, response.text
    costs = await rollup(c, bom["id"])
    assert (costs["complete"], costs["missingCost"]) == (True, [])
    total = (
        Decimal("13.2") + 24 * Decimal("0.25") + 2 + 1000 * Decimal("1.5") * Decimal("0.0065") + 5
    )
    assert_number(costs["totalCost"], total, "totalCost", Decimal("1e-9"))
    jpy_row = next(r for r in costs["lines"] if r["itemId"] == jpy_id)
    assert_number(jpy_row["extendedCost"], Decimal("9.75"), "LEAF-JPY", Decimal("1e-9"))
    b_row = next(r for r in costs["lines"] if r["itemId"] == b)
    assert b_row["extendedCost"] is None  # SUB-B's JPY cost now converts, but it has lines


# --- 9. an empty BOM --------------------------------------------------------------------------


async def test_an_empty_bom(mia: Actor, sessionmaker: Sessions) -> None:
    c = mia.client
    top = await make_part(c, "TOP-EMPTY")
    bom = await make_bom(c, top["id"])
    body = await explosion(c, bom["id"])
    assert (body["id"], body["assemblyPartNumber"]) == (bom["id"], "TOP-EMPTY")
    assert (body["items"], body["lineCount"], body["warnings"]) == ([], 0, [])
    await assert_as_model_of_record(sessionmaker, bom["id"], body)
    costs = await rollup(c, bom["id"])
    assert (costs["lines"], costs["missingCost"], costs["complete"]) == ([], [], True)
    assert costs["totalCost"] == 0


@pytest.mark.parametrize(
    ("qty", "shown"), [("10.000000", "10"), ("100", "100"), ("2.500000", "2.5"), ("1E+3", "1000")]
)
def test_refdes_mismatch_shows_the_quantity_without_exponent(qty: str, shown: str) -> None:
    [warning] = item_warnings(
        item_id="i",
        part_number="R-1",
        rohs_compliant=None,
        reach_compliant=None,
        conflict_minerals=None,
        refdes="R1-R3",
        qty=Decimal(qty),
    )
    assert warning["message"] == f"R-1: 3 reference designators but quantity {shown}."
