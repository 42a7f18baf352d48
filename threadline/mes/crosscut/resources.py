"""The cross-cutting resources as the reference names their fields (mes-api-reference.txt
``/comment/``, ``/label/``, ``/label-relationship/``, ``/custom_field/``; ``/event/`` is read
from the audit log by :mod:`threadline.mes.crosscut.events`)."""

from __future__ import annotations

from threadline.auth.models import Role
from threadline.mes.crosscut import custom_fields, definitions, models, service
from threadline.mes.resources import Field, Resource, common_fields

comment = Resource(
    "comment",
    models.Comment,
    (
        *common_fields(),
        Field(
            "related_table_name",
            required=True,
            create_only=True,
            choices=service.COMMENT_TABLES,
        ),
        # Filtered by the rules: a uuid column, and ``text`` with its ``text_ilike``.
        Field("related_uuid", required=True, create_only=True, max_length=64, filter=False),
        Field("text", required=True, nullable=False, filter=False),
        Field("mentioned_users", "array", default=list),
        Field("comment_action", "object"),
        Field("user", "uri", to=("users",), read_only=True),
        Field("username", read_only=True, filter=False),
        Field("author_name", read_only=True, filter=False),
    ),
    rules=service.CommentRules(),
    # Any member may comment (a restricted customer on their order); only the author edits.
    write_role=Role.viewer,
)

label = Resource(
    "label",
    models.Label,
    (
        *common_fields(),
        Field("name", required=True, nullable=False, max_length=20, sort=True),
        Field("color", required=True, nullable=False, max_length=7),
        Field("description", default="", nullable=False),
        Field("editable", "boolean", default=True, nullable=False),
        Field("items", "uris", to=("label-relationship",), read_only=True, filter=False),
    ),
    rules=service.LabelRules(),
)

label_relationship = Resource(
    "label-relationship",
    models.LabelRelationship,
    (
        *common_fields(),
        Field("label", "uri", to=("label",), required=True, create_only=True, nullable=False),
        Field("target_uri", required=True, create_only=True, nullable=False, filter=False),
    ),
    rules=service.LabelRelationshipRules(),
    methods=frozenset({"LIST", "GET", "POST", "DELETE"}),
    label="label-relationship",
)

custom_field = Resource(
    "custom_field",
    models.CustomField,
    (
        *common_fields(),
        Field("field_id", required=True, create_only=True, nullable=False, max_length=255),
        Field("field_name", required=True, nullable=False, max_length=255, sort=True),
        Field("description", default=custom_fields.DEFAULT_DESCRIPTION),
        Field(
            "related_table_name",
            required=True,
            create_only=True,
            nullable=False,
            choices=custom_fields.RELATED_TABLES,
        ),
        Field(
            "type",
            required=True,
            create_only=True,
            nullable=False,
            choices=custom_fields.TYPES,
        ),
        Field("format", choices=("currency",), default=None),
        Field("required", "boolean", default=False, nullable=False),
        Field("enabled", "boolean", default=True, nullable=False),
        Field("is_smart", "boolean", default=False, nullable=False),
        Field("is_visible_for_restricted", "boolean", default=True, nullable=False),
        Field("options", "array", default=list),
        Field("default_value", default=None),
        Field("position", "integer", sort=True),
        Field("meta", "object", default=dict),
        Field("edited_by", "uri", to=("users",), read_only=True),
        Field("rights", "array", read_only=True, filter=False),
        Field("use_count", "integer", read_only=True, filter=False),
    ),
    rules=definitions.CustomFieldRules(),
    # Reads are open to members; writes are checked by the rules, with the reference's 403.
    write_role=Role.viewer,
    label="custom_field",
)
