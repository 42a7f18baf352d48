"""The shop's sites and makers as the reference names their fields (mes-api-reference.txt
``/location/``, ``/sub-location/``, ``/manufacturer/``)."""

from __future__ import annotations

from threadline.auth.models import Role
from threadline.mes.resources import Field, Resource, common_fields
from threadline.mes.shop import models, service

location = Resource(
    "location",
    models.Location,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("address", required=True),
        Field("contact", "uri", to=("users",)),
        Field("phone", max_length=64),
        Field("countries_served", "array"),
        Field("admin_group", max_length=2000),
        Field("standard_group", max_length=2000),
        Field("order_completion_note", default=""),
    ),
    rules=service.LocationRules(),
    write_role=Role.manager,
)

sub_location = Resource(
    "sub-location",
    models.SubLocation,
    (
        *common_fields(),
        Field("location", "uri", to=("location",), required=True, create_only=True),
        Field("name", required=True, max_length=255, sort=True),
        Field("description"),
        Field("is_default", "boolean", default=False, nullable=False),
        Field("archived", "datetime"),
    ),
    rules=service.SubLocationRules(),
    write_role=Role.manager,
)

manufacturer = Resource(
    "manufacturer",
    models.Manufacturer,
    (
        *common_fields(),
        Field("name", required=True, max_length=255, sort=True),
        Field("address"),
        Field("contact", "object"),
        Field("support", "object"),
        Field("notes"),
        Field("is_template", "boolean", default=False, nullable=False, create_only=True),
        Field("base_template", "uri", to=("manufacturer",), create_only=True),
        Field("custom_field_values", "array", default=list),
    ),
    rules=service.ManufacturerRules(),
    write_role=Role.manager,
)
