"""What a piece's trace (:mod:`threadline.mes.floor.trace`) reads from the rooms around the
floor: the native BOM revision the piece was built to, with its lines (the BOM room's set-based
tree reader), and the work instruction reports operators recorded on its prints (the quality
room). Each is a fixed number of statements whatever the BOM's size or the reports' number.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import User
from threadline.boms import tree
from threadline.boms.models import Bom, BomType
from threadline.catalog.models import ApprovalStatus
from threadline.db import iso
from threadline.mes.quality.models import WorkChecklist, WorkInstruction, WorkInstructionReport


def _first(condition: Any) -> Any:
    """An ORDER BY term putting the rows where ``condition`` holds first."""
    return case((condition, 0), else_=1)


async def bom_built_to(
    session: AsyncSession, workspace_id: uuid.UUID, part_id: uuid.UUID, version_id: uuid.UUID
) -> dict[str, Any] | None:
    """The native BOM a build of the part revision ``version_id`` follows, with every line of
    its tree: among the part's BOMs, those for that very revision (``assembly_version_id``)
    first, then approved before not (the rule sub-assemblies expand by,
    :mod:`threadline.boms.graph`), then a manufacturing BOM before an engineering one, then the
    newest. None when the part has no BOM. One statement, then the BOM tree reader's fixed few
    (:func:`threadline.boms.tree.load_structure`)."""
    bom = await session.scalar(
        select(Bom)
        .where(Bom.workspace_id == workspace_id, Bom.assembly_part_id == part_id)
        .order_by(
            _first(Bom.assembly_version_id == version_id),
            _first(Bom.status == ApprovalStatus.approved),
            _first(Bom.type == BomType.mbom),
            Bom.created_at.desc(),
            Bom.id.desc(),
        )
        .limit(1)
    )
    if bom is None:
        return None
    # The tree as GET /v1/boms/{id} shows it (sub-BOMs expanded, approved else latest), every
    # line of every BOM it reaches at once, without alternates (a trace does not show them).
    structure = await tree.load_structure(session, bom, with_alternates=False)
    return {
        "id": str(bom.id),
        "type": bom.type.value,
        "revision": bom.revision,
        "status": str(bom.status),
        "assemblyVersionId": str(bom.assembly_version_id) if bom.assembly_version_id else None,
        "forThisRevision": bom.assembly_version_id == version_id,
        "lines": [
            {
                "id": tree.uuid_text(line.id),
                "level": line.level,
                "bomId": tree.uuid_text(line.bom_id),
                "partId": tree.uuid_text(line.child_part_id),
                "partNumber": line.part_number,
                "name": line.name,
                "versionId": tree.uuid_text(line.child_version_id),
                "qty": float(line.qty),
                "uom": line.uom,
                "refdes": line.refdes,
                "dnp": line.dnp,
            }
            for line in structure.walk()
        ],
    }


async def reports_by_print(
    session: AsyncSession, print_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The work instruction reports recorded on each print, oldest first, with the instruction
    the operator answered and who reported: one statement. A report followed by a newer one for
    the same instruction is ``superseded`` (the newest counts, as for run completion)."""
    rows = await session.execute(
        select(WorkInstructionReport, WorkInstruction, WorkChecklist.name, User.email)
        .join(WorkInstruction, WorkInstruction.id == WorkInstructionReport.work_instruction_id)
        .outerjoin(WorkChecklist, WorkChecklist.id == WorkInstruction.work_checklist_id)
        .outerjoin(User, User.id == WorkInstructionReport.user_id)
        .where(WorkInstructionReport.print_id.in_(print_ids))
        .order_by(WorkInstructionReport.created_at, WorkInstructionReport.id)
    )
    out: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    newest: dict[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = {}
    for report, wi, checklist_name, email in rows:
        entry = {
            "id": str(report.id),
            "instruction": {
                "id": str(wi.id),
                "position": wi.position,
                "description": wi.description,
                "reportType": str(wi.report_type),
                "reportUnits": str(wi.report_units) if wi.report_units else None,
                "required": wi.required,
                "thresholdType": str(wi.threshold_type) if wi.threshold_type else None,
                "threshold": wi.threshold,
                "thresholdAction": str(wi.threshold_action) if wi.threshold_action else None,
                "checklist": {
                    "id": str(wi.work_checklist_id),
                    "name": checklist_name,
                    "version": wi.checklist_version,
                }
                if wi.work_checklist_id
                else None,
            },
            "value": report.report,
            "file": report.report_file,
            "outsideThreshold": report.outside_threshold,
            "user": email,
            "completed": iso(report.completed),
            "recorded": iso(report.created_at),
            "superseded": False,
        }
        earlier = newest.get((report.print_id, wi.id))
        if earlier is not None:
            earlier["superseded"] = True
        newest[(report.print_id, wi.id)] = entry
        out[report.print_id].append(entry)
    return out
