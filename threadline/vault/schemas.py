"""Request bodies and response shapes of the native file API."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from threadline.schemas import ApiModel

ServePathText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=600)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
WorkspaceRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Message = Annotated[str, StringConstraints(max_length=5000)]
Ttl = Annotated[int, Field(ge=1, le=2**40)]


class FileRead(ApiModel):
    id: uuid.UUID
    path: str
    name: str
    username: str
    branch: str
    size: int
    content_type: str
    etag: str
    sha256: str
    version: int
    item_id: uuid.UUID | None
    conflict_of: uuid.UUID | None
    created_at: str | None
    updated_at: str | None


class VersionRead(ApiModel):
    id: uuid.UUID
    version: int
    size: int
    sha256: str
    content_type: str
    original_name: str
    message: str | None
    author: str | None
    source: str
    created_at: str | None
    comment: str | None = None  # the nearest comment on the file (collaboration)


class RevertIn(ApiModel):
    path: ServePathText
    version_id: uuid.UUID
    message: Message | None = None
    author: Username | None = None


class LockIn(ApiModel):
    path: ServePathText
    owner: Username | None = None
    ttl_ms: Ttl | None = None


class UnlockIn(ApiModel):
    path: ServePathText
    lock_id: uuid.UUID | None = None


class ForceUnlockIn(ApiModel):
    path: ServePathText
    author: Username | None = None
    message: Message | None = None


class LockRequestIn(ApiModel):
    path: ServePathText
    from_: Username | None = Field(default=None, alias="from")


class LockAllIn(ApiModel):
    workspace: WorkspaceRef
    owner: Username | None = None
    ttl_ms: Ttl | None = None


class UnlockAllIn(ApiModel):
    workspace: WorkspaceRef


class RestoreIn(ApiModel):
    workspace: WorkspaceRef
    username: Username | None = None
    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class BranchIn(ApiModel):
    workspace: WorkspaceRef
    username: Username | None = None
    base: Name
    branch: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class MergeIn(ApiModel):
    workspace: WorkspaceRef
    username: Username | None = None
    filename: Name
    from_branch: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ]
    message: Message | None = None


class ResolveIn(ApiModel):
    base_name: Name
    accepted_path: ServePathText
    message: Message | None = None
    author: Username | None = None
