"""``/material-genealogy/?target_batch=``: the batches a batch came from (``parents_tree``) and
went into (``children_tree``), with every batch and action of both trees
(mes-api-reference.txt ``/material-genealogy/``, "signature the same as
/material-batch-linking/").

A constant number of statements for any depth: one recursive query for the edges both ways
(:func:`service.genealogy_edges`), then one page of batches and one of actions rendered as
their resources render. A batch reached twice (a split whose parts are blended again) is
expanded the first time and appears again as a leaf with ``"seen": true``, so the trees stay
as large as the graph, never as large as its paths.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from threadline.errors import Invalid
from threadline.mes.face import MesContext, parse_uri
from threadline.mes.material import service
from threadline.mes.material.models import MaterialBatch, MaterialBatchAction
from threadline.mes.material.resources import material_batch, material_batch_action
from threadline.mes.resources import get_row, render

Edge = tuple[uuid.UUID, uuid.UUID, uuid.UUID, float]  # (source, destination, action, quantity)


def _tree(
    ctx: MesContext,
    start: uuid.UUID,
    nxt: dict[uuid.UUID, list[Edge]],
    types: dict[uuid.UUID, str],
    *,
    parents: bool,
) -> list[dict[str, Any]]:
    key = "parents" if parents else "children"
    seen: set[uuid.UUID] = {start}

    def nodes(batch_id: uuid.UUID) -> list[dict[str, Any]]:
        out = []
        for source, destination, action_id, quantity in nxt.get(batch_id, []):
            other = source if parents else destination
            node: dict[str, Any] = {
                "batch": ctx.uri("material-batch", other),
                "action": ctx.uri("material-batch-action", action_id),
                "action_type": types.get(action_id),
                "quantity": quantity,
            }
            if other in seen:
                node["seen"] = True
                node[key] = []
            else:
                seen.add(other)
                node[key] = nodes(other)
            out.append(node)
        return out

    return nodes(start)


async def genealogy(ctx: MesContext, params: dict[str, str]) -> dict[str, Any]:
    """The genealogy document of ``target_batch`` (or ``filter[target_batch]``)."""
    raw = params.get("target_batch") or params.get("filter[target_batch]")
    if not raw:
        raise Invalid(
            "target_batch is required: the URI of the batch whose genealogy you want.",
            code="FIELD_REQUIRED",
            field="target_batch",
        )
    target_id = parse_uri(raw, kinds=("material-batch",), field_name="target_batch")
    target = await get_row(ctx, material_batch, target_id)
    edges = await service.genealogy_edges(ctx.session, target.workspace_id, target.id)
    up: dict[uuid.UUID, list[Edge]] = defaultdict(list)
    down: dict[uuid.UUID, list[Edge]] = defaultdict(list)
    seen_edges: set[tuple[str, uuid.UUID]] = set()
    batch_ids: set[uuid.UUID] = {target.id}
    action_ids: set[uuid.UUID] = set()
    for direction, source, destination, action_id, quantity, _depth in sorted(
        edges, key=lambda e: (e[5], str(e[3]), str(e[1]))
    ):
        edge_key = (direction, action_id, source, destination)
        if edge_key in seen_edges:  # type: ignore[comparison-overlap]
            continue
        seen_edges.add(edge_key)  # type: ignore[arg-type]
        edge = (source, destination, action_id, quantity)
        (up[destination] if direction == "parent" else down[source]).append(edge)
        batch_ids.update((source, destination))
        action_ids.add(action_id)
    batches = list(
        await ctx.session.scalars(
            select(MaterialBatch)
            .where(MaterialBatch.id.in_(batch_ids))
            .order_by(MaterialBatch.created_at, MaterialBatch.id)
        )
    )
    action_rows = (
        list(
            await ctx.session.scalars(
                select(MaterialBatchAction)
                .where(MaterialBatchAction.id.in_(action_ids))
                .order_by(MaterialBatchAction.created_at, MaterialBatchAction.id)
            )
        )
        if action_ids
        else []
    )
    types = {a.id: a.action_type for a in action_rows}
    return {
        "target_batch": ctx.uri("material-batch", target.id),
        "parents_tree": _tree(ctx, target.id, up, types, parents=True),
        "children_tree": _tree(ctx, target.id, down, types, parents=False),
        "batches": await render(ctx, material_batch, batches),
        "actions": await render(ctx, material_batch_action, action_rows),
    }
