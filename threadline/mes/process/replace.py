"""``POST /workflow/{uuid}/replace/`` (mes-api-reference.txt ``/workflow//replace/``).

The body (``name``, ``description``, ``process_steps``, ``line_item``, ``labels``,
``integrated``) makes a copy of the workflow with new steps; ``type``, ``materials`` and
``specimens`` are the source's, and ``source_workflow`` names it.

- Without ``line_item``: the source is renamed ("to avoid constraint error") and archived, and
  every line item still in planning (status <= pending) that followed it moves to the copy,
  which re-creates its prints. Line items already processing keep the archived source.
- With ``line_item``: the copy is pinned to that line item only, which moves to it (it must be
  in planning and follow the source); the source stays, unless it was pinned to that same line
  item (then nothing follows it any more and it is archived).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from threadline.db import utcnow
from threadline.errors import Conflict, Invalid, NotFound
from threadline.mes.face import PREFIX, MesContext, parse_uri
from threadline.mes.process.models import UsageState, Workflow, workflow_materials
from threadline.mes.process.service import WORKFLOW_PROCESSING, name_taken
from threadline.mes.resources import (
    create_resource,
    record,
    snapshot,
    workspace_of,
)

FIELDS = ("name", "description", "process_steps", "line_item", "labels", "integrated")
MAX_NAME = 255


async def free_name(ctx: MesContext, workspace_id: uuid.UUID, base: str, suffix: str) -> str:
    """``base`` + ``suffix`` (numbered when taken), cut to fit the name column."""
    for attempt in range(1, 100):
        tail = suffix if attempt == 1 else f"{suffix} {attempt}"
        candidate = base[: MAX_NAME - len(tail)] + tail
        if not await name_taken(ctx.session, workspace_id, candidate):
            return candidate
    raise Conflict("No free name for the workflow copy.", code="NAME_EXISTS")


def _check_body(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Invalid(
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
            code="UNKNOWN_FIELD",
            fields=unknown,
        )
    for name in ("name", "process_steps"):
        if body.get(name) is None:
            raise Invalid(f"The field {name} is required.", code="FIELD_REQUIRED", field=name)


async def _archive(ctx: MesContext, source: Workflow, *, rename: bool) -> None:
    """Archive the source (audited like a PUT), renamed first when its copy takes the name."""
    from threadline.mes.process.resources import workflow as resource
    from threadline.mes.process.service import usage_states

    source.usage_state = (await usage_states(ctx.session, [source.id]))[source.id]
    before = snapshot(ctx, resource, source)
    now = utcnow()
    if rename:
        source.name = await free_name(
            ctx, source.workspace_id, source.name, f" (archived {now:%Y-%m-%d %H:%M:%S})"
        )
    source.archived_at = now
    source.updated_by_id = ctx.user.id
    source.usage_state = UsageState.archived
    await ctx.session.flush()  # the copy may take the source's old name in the same transaction
    after = snapshot(ctx, resource, source)
    changed = sorted(k for k in after if before.get(k) != after[k])
    workspace = await workspace_of(ctx, source.workspace_id)
    record(
        ctx,
        resource,
        workspace,
        source.id,
        "update",
        {k: before.get(k) for k in changed},
        {k: after[k] for k in changed},
    )


async def _line_item(ctx: MesContext, source: Workflow, raw: Any) -> Any:
    from threadline.mes.demand import states
    from threadline.mes.demand.models import LineItem

    line_item_id = parse_uri(raw, kinds=("line-item",), field_name="line_item")
    item = await ctx.session.get(LineItem, line_item_id)
    if item is None or item.workspace_id != source.workspace_id:
        raise NotFound(
            f"The requested line-item cannot be found (line_item: {PREFIX}/line-item/"
            f"{line_item_id}/).",
            code="RESOURCE_NOT_FOUND",
            field="line_item",
        )
    if item.workflow_id != source.id:
        raise Invalid(
            "The line-item does not follow the requested workflow: replace the workflow it "
            "follows.",
            code="LINE_ITEM_NOT_ON_WORKFLOW",
            field="line_item",
        )
    if item.status not in states.LINE_ITEM_PLANNING:
        raise Conflict(WORKFLOW_PROCESSING, code="WORKFLOW_PROCESSING")
    return item


async def replace_workflow(ctx: MesContext, source: Workflow, body: dict[str, Any]) -> Workflow:
    """Copy ``source`` with the body's steps; archive it and move its planning line items, or
    pin the copy to one line item (see the module docstring). Returns the copy."""
    from threadline.mes.demand.service import repoint_workflow
    from threadline.mes.process.resources import workflow as resource

    ctx.require(source.workspace_id, resource.write_role)
    _check_body(body)
    if source.archived_at is not None:
        raise Invalid(
            "The requested workflow is archived: only a workflow in use can be replaced.",
            code="WORKFLOW_ARCHIVED",
        )
    name = body["name"]
    if not isinstance(name, str):
        raise Invalid("The value of name must be a string.", code="INVALID_FIELD", field="name")
    item = await _line_item(ctx, source, body["line_item"]) if body.get("line_item") else None
    if item is None:
        await _archive(ctx, source, rename=True)
    elif await name_taken(ctx.session, source.workspace_id, name):
        name = await free_name(ctx, source.workspace_id, name, f" ({str(item.id)[:8]})")
    materials = await ctx.session.scalars(
        select(workflow_materials.c.material_id)
        .where(workflow_materials.c.workflow_id == source.id)
        .order_by(workflow_materials.c.position)
    )
    copy_body: dict[str, Any] = {
        "bureau": f"{PREFIX}/bureau/{source.workspace_id}/",
        "name": name,
        "description": body.get("description", source.description),
        "type": str(source.type.value),
        "process_steps": body["process_steps"],
        "materials": [f"{PREFIX}/material/{m}/" for m in materials],
        "labels": body.get("labels", []),
        "integrated": body.get("integrated", False),
        "specimens": source.specimens,
        "source_workflow": f"{PREFIX}/workflow/{source.id}/",
    }
    if item is not None:
        copy_body["line_item"] = f"{PREFIX}/line-item/{item.id}/"
    copy: Workflow = await create_resource(ctx, resource, copy_body)
    await repoint_workflow(
        ctx, source_id=source.id, target_id=copy.id, line_item_id=item.id if item else None
    )
    if item is not None and source.line_item_id == item.id:
        await _archive(ctx, source, rename=False)
    return copy
