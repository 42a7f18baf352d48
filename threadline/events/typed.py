"""What the audit log's records look like as live events (productflo-sync-api: SSE example).

Every change is audited once; the same row, once its transaction has committed, becomes a typed
event: ``update``, ``version``, ``presence``, ``comment``, ``lock``, ``unlock``, ``task``,
``review``, ``part``, ``bom``, ``import``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from threadline.audit.models import AuditEvent
from threadline.db import iso

if TYPE_CHECKING:
    from threadline.audit.service import Entry

_BY_ENTITY = {
    "part": "part",
    "part_version": "part",
    "bom": "bom",
    "bom_item": "bom",
    "bom_settings": "bom",
    "import": "import",
    "comment": "comment",
    "task": "task",
    "review": "review",
    "review_task": "review",
}
_FILE_ACTIONS = {
    "lock": "lock",
    "checkout": "lock",
    "lock_request": "lock",
    "unlock": "unlock",
    "force_unlock": "unlock",
    "checkin": "unlock",
    "create": "version",
    "version": "version",
    "revert": "version",
    "merge": "version",
    "resolve": "version",
    "backfill": "version",
    "branch": "version",
}


def event_type(entity_type: str, action: str) -> str:
    if entity_type == "file":
        return _FILE_ACTIONS.get(action, "update")
    if entity_type == "item" and action in ("lock", "checkout"):
        return "lock"
    if entity_type == "item" and action in ("unlock", "checkin", "cancel_checkout"):
        return "unlock"
    return _BY_ENTITY.get(entity_type, "update")


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields both snapshots hold whose values differ, each with ``before`` and ``after``."""
    return {
        field: {"before": before[field], "after": value}
        for field, value in after.items()
        if field in before and before[field] != value
    }


def from_audit(row: AuditEvent | Entry, *, workspace: str, actor: str | None) -> dict[str, Any]:
    """The event a committed audit row publishes; its ``id`` is the row's ``seq``.

    ``data`` is the record as the change left it (``after``), or as it was for a delete
    (``before``); when the row holds both snapshots, ``data.changes`` lists the fields that
    changed. ``to``: only that username receives it.
    """
    data = dict(row.after if row.after is not None else row.before or {})
    if row.before is not None and row.after is not None:
        data["changes"] = changes(row.before, row.after)
    event: dict[str, Any] = {
        "id": str(row.seq),
        "type": event_type(row.entity_type, row.action),
        "action": row.action,
        "workspace": workspace,
        "entity": {"type": row.entity_type, "id": row.entity_id},
        "actor": actor,
        "at": iso(row.created_at),
        "data": data,
    }
    if row.notify:
        event["to"] = row.notify
    return event
