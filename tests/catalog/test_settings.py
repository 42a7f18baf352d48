"""Workspace BOM settings: numbering rules, domain templates and currency table
(productflo-sync-api: Parts & BOM bom-settings rows, Domain Templates & Validation)."""

from __future__ import annotations

import pytest

from tests.catalog.test_parts_api import PARTS, create_part
from tests.conftest import assert_problem

SETTINGS = "/v1/workspaces/acme/bom-settings"
MECHANICAL = {
    "type": "object",
    "required": ["material", "finish", "tolerance"],
    "properties": {
        "material": {"type": "string"},
        "finish": {"type": "string"},
        "tolerance": {"type": "string"},
    },
}
GOOD_ATTRIBUTES = {"material": "6061-T6", "finish": "anodised", "tolerance": "±0.05"}


@pytest.fixture
async def engineer(make_actor):
    return await make_actor("erin", workspace="acme", role="engineer")


@pytest.fixture
async def manager(make_actor, engineer):
    return await make_actor("mia", workspace="acme", role="manager")


@pytest.fixture
async def viewer(make_actor, engineer):
    return await make_actor("vic", workspace="acme", role="viewer")


async def save(manager, **body) -> dict:
    response = await manager.client.post(SETTINGS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


# --- reading and saving -----------------------------------------------------------------------


async def test_defaults_before_anything_is_saved(viewer):
    response = await viewer.client.get(SETTINGS)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "numbering_rules": {},
        "domain_templates": {},
        "currency": "USD",
        "exchange_rates": {},
    }


async def test_manager_saves_and_viewer_reads_back(manager, viewer):
    body = {
        "numbering_rules": {"mechanical": {"prefix": "ME-", "digits": 4}},
        "domain_templates": {"mechanical": MECHANICAL},
        "currency": "eur",
        "exchange_rates": {"usd": 0.9},
    }
    saved = await save(manager, **body)
    assert saved["currency"] == "EUR"
    read = (await viewer.client.get(SETTINGS)).json()
    assert read["numbering_rules"] == body["numbering_rules"]
    assert read["domain_templates"] == {"mechanical": MECHANICAL}
    assert read["currency"] == "EUR"
    assert {k: float(v) for k, v in read["exchange_rates"].items()} == {"USD": 0.9}
    # Saving again replaces the whole document.
    await save(manager, currency="USD")
    again = (await viewer.client.get(SETTINGS)).json()
    assert (again["numbering_rules"], again["domain_templates"]) == ({}, {})


async def test_saving_is_audited(manager):
    await save(manager, numbering_rules={"default": {"prefix": "X-", "digits": 3}})
    response = await manager.client.get(
        "/v1/audit", params={"workspace": "acme", "entity": "bom_settings"}
    )
    [event] = response.json()["items"]
    assert event["after"]["numbering_rules"] == {"default": {"prefix": "X-", "digits": 3}}


async def test_engineer_and_viewer_cannot_save(engineer, viewer):
    for actor in (engineer, viewer):
        response = await actor.client.post(SETTINGS, json={"currency": "EUR"})
        assert_problem(response, 403, "INSUFFICIENT_ROLE")
    assert (await viewer.client.get(SETTINGS)).json()["currency"] == "USD"


async def test_strangers_get_404(engineer, make_actor):
    stranger = await make_actor("sam", workspace="globex", role="owner")
    assert_problem(await stranger.client.get(SETTINGS), 404)
    assert_problem(await stranger.client.post(SETTINGS, json={"currency": "EUR"}), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"numberingRules": {}},  # the reference spells the body in snake_case
        {"colour": "red"},
        {"currency": "EURO"},
        {"exchange_rates": {"EUR": 0}},
        {"exchange_rates": {"EUR": -1.1}},
        {"domain_templates": []},
    ],
)
async def test_malformed_settings_bodies_are_400(manager, body):
    assert_problem(await manager.client.post(SETTINGS, json=body), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("templates", "mentions"),
    [
        ({"mechanical": {"type": "nope"}}, "domain_templates.mechanical"),
        ({"mechanical": {"required": "material"}}, "domain_templates.mechanical"),
        ({"mechanical": 5}, "domain_templates.mechanical"),
        ({"quantum": {"type": "object"}}, "domain_templates.quantum"),
    ],
)
async def test_invalid_templates_are_400(manager, templates, mentions):
    response = await manager.client.post(SETTINGS, json={"domain_templates": templates})
    body = assert_problem(response, 400, "INVALID_SETTINGS")
    assert mentions in body["detail"]
    assert (await manager.client.get(SETTINGS)).json()["domain_templates"] == {}


@pytest.mark.parametrize(
    ("rules", "mentions"),
    [
        ({"quantum": {"prefix": "Q-"}}, "numbering_rules.quantum"),
        ({"mechanical": "ME-"}, "numbering_rules.mechanical"),
        ({"mechanical": {"prefix": "ME-", "suffix": "-X"}}, "numbering_rules.mechanical"),
        ({"default": {"prefix": "has space"}}, "numbering_rules.default.prefix"),
        ({"default": {"prefix": "X" * 21}}, "numbering_rules.default.prefix"),
        ({"default": {"prefix": 7}}, "numbering_rules.default.prefix"),
        ({"default": {"digits": 0}}, "numbering_rules.default.digits"),
        ({"default": {"digits": 13}}, "numbering_rules.default.digits"),
        ({"default": {"digits": "4"}}, "numbering_rules.default.digits"),
        ({"default": {"digits": True}}, "numbering_rules.default.digits"),
    ],
)
async def test_invalid_numbering_rules_are_400(manager, rules, mentions):
    response = await manager.client.post(SETTINGS, json={"numbering_rules": rules})
    body = assert_problem(response, 400, "INVALID_SETTINGS")
    assert mentions in body["detail"]


async def test_valid_numbering_rule_edges_are_accepted(manager):
    rules = {
        "default": {"prefix": "", "digits": 1},
        "electronic": {"prefix": "EL.2024/x_-", "digits": 12},
        "chemical": {},
    }
    assert (await save(manager, numbering_rules=rules))["numbering_rules"] == rules


# --- domain templates -------------------------------------------------------------------------


async def test_template_rejects_a_mechanical_part_without_its_attributes(manager, engineer):
    await save(manager, domain_templates={"mechanical": MECHANICAL})
    body = {"workspace": "acme", "partNumber": "ME-1", "name": "Plate", "domain": "mechanical"}
    missing = await engineer.client.post(PARTS, json={**body, "attributes": {"material": "Al"}})
    problem = assert_problem(missing, 400, "ATTRIBUTES_INVALID")
    assert len(problem["problems"]) == 2
    assert any("finish" in p for p in problem["problems"])
    assert any("tolerance" in p for p in problem["problems"])
    assert "mechanical" in problem["detail"]
    wrong_type = await engineer.client.post(
        PARTS, json={**body, "attributes": {**GOOD_ATTRIBUTES, "tolerance": 0.05}}
    )
    problem = assert_problem(wrong_type, 400, "ATTRIBUTES_INVALID")
    assert problem["problems"] == ["tolerance: 0.05 is not of type 'string'"]
    listed = await engineer.client.get(PARTS, params={"workspace": "acme"})
    assert listed.json()["total"] == 0

    made = await engineer.client.post(PARTS, json={**body, "attributes": GOOD_ATTRIBUTES})
    assert made.status_code == 201, made.text
    assert made.json()["attributes"] == GOOD_ATTRIBUTES
    # Other domains have no template, so anything goes there.
    await create_part(engineer.client, partNumber="EL-1", domain="electronic")


async def test_patch_revalidates_attributes_and_domain_changes(manager, engineer):
    await save(manager, domain_templates={"mechanical": MECHANICAL})
    plate = await create_part(
        engineer.client, partNumber="ME-2", domain="mechanical", attributes=GOOD_ATTRIBUTES
    )
    url = f"{PARTS}/{plate['id']}"
    dropped = await engineer.client.patch(url, json={"attributes": {"material": "Al"}})
    problem = assert_problem(dropped, 400, "ATTRIBUTES_INVALID")
    assert len(problem["problems"]) == 2
    assert (await engineer.client.get(url)).json()["attributes"] == GOOD_ATTRIBUTES

    loose = await create_part(engineer.client, partNumber="OT-1", attributes={"colour": "red"})
    moved = await engineer.client.patch(f"{PARTS}/{loose['id']}", json={"domain": "mechanical"})
    assert_problem(moved, 400, "ATTRIBUTES_INVALID")
    assert (await engineer.client.get(f"{PARTS}/{loose['id']}")).json()["domain"] == "other"
    fixed = await engineer.client.patch(
        f"{PARTS}/{loose['id']}", json={"domain": "mechanical", "attributes": GOOD_ATTRIBUTES}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["warnings"] == []


async def test_parts_made_before_a_template_show_warnings(manager, engineer):
    old = await create_part(engineer.client, partNumber="ME-3", domain="mechanical")
    await save(manager, domain_templates={"mechanical": MECHANICAL})
    detail = (await engineer.client.get(f"{PARTS}/{old['id']}")).json()
    assert len(detail["warnings"]) == 3
    assert all("is a required property" in w for w in detail["warnings"])
    # An unrelated edit is not blocked by the template; the warnings stay visible.
    renamed = await engineer.client.patch(f"{PARTS}/{old['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    assert len(renamed.json()["warnings"]) == 3


# --- numbering --------------------------------------------------------------------------------


async def test_default_numbering_without_settings(engineer):
    first = await create_part(engineer.client, name="First")
    second = await create_part(engineer.client, name="Second", domain="chemical")
    assert (first["partNumber"], second["partNumber"]) == ("PN-000001", "PN-000002")


async def test_numbering_rule_per_domain(manager, engineer):
    await save(
        manager,
        numbering_rules={
            "mechanical": {"prefix": "ME-", "digits": 4},
            "default": {"prefix": "GEN", "digits": 3},
        },
    )
    numbers = [
        (await create_part(engineer.client, domain=domain))["partNumber"]
        for domain in ("mechanical", "mechanical", "electronic", "mechanical", "other")
    ]
    assert numbers == ["ME-0001", "ME-0002", "GEN001", "ME-0003", "GEN002"]


async def test_generator_skips_numbers_typed_in_by_hand(manager, engineer):
    await save(manager, numbering_rules={"mechanical": {"prefix": "ME-", "digits": 4}})
    await create_part(engineer.client, partNumber="ME-0002", domain="mechanical")
    await create_part(engineer.client, partNumber="ME-0003", domain="electronic")
    numbers = [
        (await create_part(engineer.client, domain="mechanical"))["partNumber"] for _ in range(3)
    ]
    assert numbers == ["ME-0001", "ME-0004", "ME-0005"]
    typed = await engineer.client.post(
        PARTS, json={"workspace": "acme", "partNumber": "ME-0005", "name": "Clash"}
    )
    assert_problem(typed, 409, "PART_NUMBER_TAKEN")


async def test_numbering_counters_are_per_workspace(engineer, make_actor):
    stranger = await make_actor("sam", workspace="globex", role="owner")
    assert (await create_part(engineer.client))["partNumber"] == "PN-000001"
    assert (await create_part(stranger.client, workspace="globex"))["partNumber"] == "PN-000001"
    assert (await create_part(engineer.client))["partNumber"] == "PN-000002"
