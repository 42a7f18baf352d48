"""What every MES table has: the bureau (workspace) it belongs to."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


class BureauOwned:
    """Mixin: ``workspace_id``, the bureau of the row (bureau = workspace, DESIGN.md)."""

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
