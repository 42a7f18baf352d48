"""The people room's resources served by the declarative engine, with the reference's fields
(mes-api-reference.txt ``/role/``); ``/users/``, ``/bureau/``, ``/sessions/`` and
``/api_tokens/`` are not rows of one bureau-owned table and have their own routes."""

from __future__ import annotations

from threadline.auth.models import Role
from threadline.mes.people import models
from threadline.mes.people.roles import MES_ROLES, RoleRules
from threadline.mes.resources import Field, Resource, common_fields

role = Resource(
    "role",
    models.MesRole,
    (
        *common_fields(),
        Field("user", "uri", to=("users",), required=True),
        Field("role", required=True, choices=MES_ROLES, nullable=False, sort=True),
        Field("location", "uri", to=("location",)),
        Field("hide_info", choices=("financial",)),
        Field("name", read_only=True, filter=False),
        Field("username", read_only=True, filter=False),
        Field("emails", "array", read_only=True, filter=False),
        # Sent with writes by cookie sessions (checked by the route), never stored.
        Field("csrf_token", read_only=True, filter=False),
    ),
    rules=RoleRules(),
    read_role=Role.viewer,
    write_role=Role.manager,
)
