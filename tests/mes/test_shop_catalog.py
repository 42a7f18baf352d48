"""Materials, printer types and post-processor types: defaults, enums, rules, templates, clone."""

from __future__ import annotations

from tests.conftest import MakeActor, assert_problem
from tests.mes.conftest import Mes

PA12 = {"name": "PA12", "type": "base", "cost": 60.0}


async def test_material_crud_and_defaults(mes: Mes) -> None:
    uri = await mes.create("material", PA12)
    material = await mes.get(uri)
    assert material["units"] == "cm3" and material["units_measurement_core"] == "volume"
    assert material["color_opacity"] == 1.0 and material["post_processing_seconds"] == 0
    assert material["is_template"] is False and material["base_template"] is None
    assert material["identifiers"] == [] and material["stock_locations"] == []
    assert material["third_party_fulfillment"] is False
    await mes.update(uri, {"units": "kg", "density": 1.01, "color": "#FFFFFF"})
    material = await mes.get(uri)
    assert material["units_measurement_core"] == "weight" and material["density"] == 1.01
    # units_measurement_core "Can't be change by users": sent back, it is ignored
    await mes.update(uri, {"units_measurement_core": "area"})
    assert (await mes.get(uri))["units_measurement_core"] == "weight"
    listed = await mes.list("material", **{"filter[type]": "base"})
    assert [r["uri"] for r in listed["resources"]] == [uri]
    await mes.delete(uri)
    assert (await mes.client.get(uri)).status_code == 404


async def test_material_rules_and_messages(mes: Mes) -> None:
    await mes.create("material", PA12)
    post = mes.client.post
    body = assert_problem(await post("/mes/material/", json=PA12 | {"name": "pa12"}), 400)
    assert body["code"] == "NAME_EXISTS"
    assert body["detail"] == "The requested material name already exists."
    response = await post("/mes/material/", json={"name": "Ti64", "type": "base", "units": "kg"})
    assert_problem(response, 400, "DENSITY_REQUIRED")
    for bad in (
        {"type": "metal"},
        {"units": "litre"},
        {"material_family": "Plastic"},
        {"manufacturing_process": "sls"},
        {"color": "red"},
        {"color_opacity": 1.5},
        {"post_processing_seconds": -1},
    ):
        response = await post("/mes/material/", json={"name": "X", "type": "base"} | bad)
        assert_problem(response, 400, "INVALID_FIELD")
    assert_problem(await post("/mes/material/", json={"name": "X"}), 400, "FIELD_REQUIRED")


async def test_material_manufacturer_of_another_bureau_is_404(mes: Mes, other_mes: Mes) -> None:
    theirs = await other_mes.create("manufacturer", {"name": "EOS"})
    response = await mes.client.post("/mes/material/", json=PA12 | {"manufacturer": theirs})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    mine = await mes.create("manufacturer", {"name": "EOS"})
    uri = await mes.create("material", PA12 | {"manufacturer": mine})
    assert (await mes.get(uri))["manufacturer"] == mine


async def test_material_templates_hidden_read_only_and_cloned(mes: Mes) -> None:
    maker = await mes.create("manufacturer", {"name": "Evonik"})
    template = await mes.create(
        "material", PA12 | {"is_template": True, "manufacturer": maker, "color": "#EEEEEE"}
    )
    assert (await mes.list("material"))["meta"]["count"] == 0
    templates = await mes.list("material", is_template="True")
    assert [r["uri"] for r in templates["resources"]] == [template]
    response = await mes.client.put(template, json={"cost": 1})
    body = assert_problem(response, 403, "TEMPLATE_READ_ONLY")
    assert body["detail"] == "Modification of template material not allowed via API."
    assert_problem(await mes.client.delete(template), 403, "TEMPLATE_READ_ONLY")

    response = await mes.client.post(template + "clone/")
    assert response.status_code == 204, response.text
    clone = await mes.get(response.headers["location"])
    assert clone["base_template"] == template and clone["is_template"] is False
    assert clone["name"] == "PA12" and clone["color"] == "#EEEEEE" and clone["cost"] == 60.0
    assert clone["manufacturer"] == maker
    assert [r["uri"] for r in (await mes.list("material"))["resources"]] == [clone["uri"]]
    # the clone is the bureau's own: it may be changed
    await mes.update(clone["uri"], {"cost": 55.0})
    # only templates clone, and another bureau's template is not found
    response = await mes.client.post(clone["uri"] + "clone/")
    assert_problem(response, 400, "NOT_A_TEMPLATE")


async def test_clone_of_another_bureau_is_404(mes: Mes, other_mes: Mes) -> None:
    template = await other_mes.create("material", PA12 | {"is_template": True})
    body = assert_problem(await mes.client.post(template + "clone/"), 404, "RESOURCE_NOT_FOUND")
    assert body["detail"] == "The requested material type cannot be found."


async def test_printer_type_defaults_materials_and_build_volume(mes: Mes) -> None:
    pa12 = await mes.create("material", PA12)
    pa11 = await mes.create("material", PA12 | {"name": "PA11"})
    uri = await mes.create(
        "printer-type",
        {
            "name": "EOS P 396",
            "materials": [pa11, pa12, pa11],
            "build_volume": {"x": 340, "y": 340, "z": 600},
            "manufacturing_process": "SLS",
        },
    )
    kind = await mes.get(uri)
    assert kind["materials"] == [pa11, pa12]  # in order, each once
    assert kind["min_packing_distance"] == 5 and kind["build_packer_type"] == "pack2d"
    assert kind["build_plate_shape"] == "rectangular"
    assert kind["material_mode"] == "single_material"
    assert kind["time_before_print"] == 0 and kind["time_after_print"] == 0
    assert kind["material_cost_scale_factor"] == 1 and kind["print_cost_scale_factor"] == 1
    assert kind["in_progress_max"] == 0 and kind["active_printers"] == []
    await mes.update(uri, {"materials": [pa12]})
    assert (await mes.get(uri))["materials"] == [pa12]
    picked = await mes.list("printer-type", **{"filter[materials]": pa11})
    assert picked["meta"]["count"] == 0
    for bad in (
        {"build_volume": {"x": 1, "y": 2}},
        {"build_volume": {"x": 1, "y": 2, "z": -3}},
        {"build_volume": {"x": 1, "y": 2, "z": "big"}},
        {"build_plate_shape": "square"},
        {"build_packer_type": "pack4d"},
        {"material_mode": "mixed"},
        {"min_packing_distance": -1},
    ):
        assert_problem(await mes.client.put(uri, json=bad), 400, "INVALID_FIELD")


async def test_printer_type_rules(mes: Mes, other_mes: Mes) -> None:
    uri = await mes.create("printer-type", {"name": "Fortus 450"})
    response = await mes.client.post("/mes/printer-type/", json={"name": "FORTUS 450"})
    body = assert_problem(response, 400, "NAME_EXISTS")
    assert body["detail"] == "The requested printer type name already exists."
    theirs = await other_mes.create("material", PA12)
    response = await mes.client.put(uri, json={"materials": [theirs]})
    assert_problem(response, 404, "RESOURCE_NOT_FOUND")
    location = await mes.create("location", {"name": "HQ", "address": "x"})
    printer = await mes.create("printer", {"name": "F1", "printer_type": uri, "location": location})
    body = assert_problem(await mes.client.delete(uri), 400, "PRINTER_TYPE_IN_USE")
    assert body["detail"] == (
        "You cannot delete this printer_type because there are printers associated with it. "
        "Delete all printers of this type first."
    )
    kind = await mes.get(uri)
    assert kind["active_printers"] == [printer] and kind["in_progress_max"] == 1
    await mes.delete(printer)
    await mes.delete(uri)


async def test_printer_type_templates_hidden_and_cloned(mes: Mes) -> None:
    pa12 = await mes.create("material", PA12)
    template = await mes.create(
        "printer-type",
        {"name": "EOS P 396", "is_template": True, "materials": [pa12], "time_after_print": 60},
    )
    assert (await mes.list("printer-type"))["meta"]["count"] == 0
    listed = await mes.list("printer-type", **{"filter[is_template]": "true"})
    assert [r["uri"] for r in listed["resources"]] == [template]
    response = await mes.client.put(template, json={"name": "x"})
    body = assert_problem(response, 403, "TEMPLATE_READ_ONLY")
    assert body["detail"] == "Modification of template printer type not allowed via API."
    response = await mes.client.post(template + "clone/")
    assert response.status_code == 204, response.text
    clone = await mes.get(response.headers["location"])
    assert clone["materials"] == [pa12] and clone["time_after_print"] == 60
    assert clone["base_template"] == template and clone["name"] == "EOS P 396"
    missing = template.rsplit("/", 2)[0] + "/00000000-0000-0000-0000-000000000000/clone/"
    body = assert_problem(await mes.client.post(missing), 404)
    assert body["detail"] == "The requested printer type cannot be found."


async def test_post_processor_type_defaults_and_rules(mes: Mes) -> None:
    uri = await mes.create("post-processor-type", {"name": "Bead blast", "duration": 1800})
    kind = await mes.get(uri)
    assert kind["batching_strategy"] == "match_previous" and kind["in_progress_max"] == 10
    assert kind["overhead_cost_per_run"] == 0 and kind["overhead_cost_per_piece_in_run"] == 0
    assert kind["special_type"] is None and kind["materials"] == []
    response = await mes.client.post("/mes/post-processor-type/", json={"name": "bead blast"})
    body = assert_problem(response, 400, "NAME_EXISTS")
    assert body["detail"] == "The requested post processor type name already exists."
    for bad in ({"batching_strategy": "by_colour"}, {"special_type": "review"}):
        assert_problem(await mes.client.put(uri, json=bad), 400, "INVALID_FIELD")
    review = {"name": "NCR review", "special_type": "non_conformance_review"}
    await mes.create("post-processor-type", review)
    response = await mes.client.post(
        "/mes/post-processor-type/", json=review | {"name": "Second review"}
    )
    assert_problem(response, 400, "SPECIAL_TYPE_EXISTS")
    location = await mes.create("location", {"name": "HQ", "address": "x"})
    machine = await mes.create(
        "post-processor", {"name": "Blaster", "post_processor_type": uri, "location": location}
    )
    body = assert_problem(await mes.client.delete(uri), 400, "POST_PROCESSOR_TYPE_IN_USE")
    assert body["detail"].startswith("You cannot delete this post_processor_type because")
    assert (await mes.get(uri))["active_post_processors"] == [machine]
    await mes.update(machine, {"archived": "2026-12-01T00:00:00Z"})
    kind = await mes.get(uri)
    assert kind["active_post_processors"] == [] and kind["archived_post_processors"] == [machine]


async def test_engineer_cannot_write_the_catalog(make_actor: MakeActor, mes: Mes) -> None:
    engineer = Mes(await make_actor("eve", workspace="acme", role="engineer"))
    response = await engineer.client.post("/mes/material/", json=PA12)
    assert_problem(response, 403, "INSUFFICIENT_ROLE")
    uri = await mes.create("material", PA12)
    assert (await engineer.get(uri))["name"] == "PA12"
