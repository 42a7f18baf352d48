"""What the audit log's records look like as live events (productflo-sync-api: SSE example).

Every change is audited once; the same record, once its transaction has committed, becomes a typed
event: ``update``, ``version``, ``presence``, ``comment``, ``lock``, ``unlock``, ``task``,
``review``, ``part``, ``bom``, ``import``.
"""

from __future__ import annotations

from typing import Any

from threadline.db import utcnow

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


def from_audit(
    *,
    workspace: str,
    actor: str | None,
    entity_type: str,
    entity_id: str,
    action: str,
    after: dict[str, Any] | None,
    to: str | None = None,
) -> dict[str, Any]:
    """The event a committed audit record publishes (``to``: only that user receives it)."""
    event = {
        "type": event_type(entity_type, action),
        "action": action,
        "workspace": workspace,
        "entity": {"type": entity_type, "id": entity_id},
        "actor": actor,
        "at": utcnow().isoformat(),
        "data": after or {},
    }
    if to:
        event["to"] = to
    return event
