"""ORM models of the vault.

A file lives in a member's folder of a workspace (``/v1/serve/<workspace>/<username>/<name>``)
on a branch (``main`` unless named), optionally attached to a catalog part (a Cascadia "item").
Its content is a chain of versions, each pointing at a content-addressed blob (SHA-256).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from threadline.db import Base, enum_column

MAIN = "main"


class LockKind(enum.StrEnum):
    """``lock``: ProductFlo soft checkout with a TTL; ``checkout``: Cascadia file checkout."""

    lock = "lock"
    checkout = "checkout"


class Branch(Base):
    """A named line of work in a workspace (``[a-z0-9_-]+``); ``main`` is implicit."""

    __tablename__ = "vault_branches"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class VaultFile(Base):
    __tablename__ = "vault_files"
    __table_args__ = (
        # One live file per folder, name and branch; trashed copies may pile up.
        Index(
            "uq_vault_files_live_path",
            "workspace_id",
            "owner_id",
            "name",
            "branch",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_vault_files_workspace_name", "workspace_id", "name"),
        Index("ix_vault_files_item_id", "item_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    branch: Mapped[str] = mapped_column(String(64), default=MAIN)
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    # A conflict copy names the file it lost against (ProductFlo: _conflict_ files).
    conflict_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vault_files.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    versions: Mapped[list[FileVersion]] = relationship(
        back_populates="file", order_by="FileVersion.number", cascade="all, delete-orphan"
    )

    @property
    def etag(self) -> str:
        """Changes with every version, even when the bytes are the same."""
        return f"{self.current_version}-{self.sha256[:16]}"


class FileVersion(Base):
    __tablename__ = "vault_file_versions"
    __table_args__ = (
        UniqueConstraint("file_id", "number"),
        Index("ix_vault_versions_sha", "sha256"),
    )

    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vault_files.id", ondelete="CASCADE"))
    number: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload|revert|merge|resolve

    file: Mapped[VaultFile] = relationship(back_populates="versions")


class FileLock(Base):
    """Who may change a file: a TTL lock (ProductFlo) or an open-ended checkout (Cascadia)."""

    __tablename__ = "vault_file_locks"

    file_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_files.id", ondelete="CASCADE"), unique=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[LockKind] = mapped_column(enum_column(LockKind, "lock_kind"))
    expires_at: Mapped[datetime | None]


class ItemLock(Base):
    """Cascadia item lock: exclusive rights on a part across all branches (highest precedence)."""

    __tablename__ = "vault_item_locks"

    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("parts.id", ondelete="CASCADE"), unique=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class ItemCheckout(Base):
    """Cascadia checkout: a part checked out to one user on one branch."""

    __tablename__ = "vault_item_checkouts"
    __table_args__ = (UniqueConstraint("item_id", "branch_id"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    branch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_branches.id", ondelete="CASCADE")
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
