"""Response shape of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from threadline.schemas import ApiModel


class AuditEventRead(ApiModel):
    id: uuid.UUID
    created_at: datetime
    actor_id: uuid.UUID | None
    actor: str
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    # The workspace's event number: the ``id`` of this change's live event (docs/events.md).
    seq: int | None
