"""Request and response shapes of part-revision file attachments."""

from __future__ import annotations

import uuid
from datetime import datetime

from threadline.schemas import ApiModel


class AttachmentCreate(ApiModel):
    """``POST /v1/parts/:id/versions/:vid/files``: a vault file, and which of its versions to
    pin (default: its current one)."""

    file_id: uuid.UUID
    version_id: uuid.UUID | None = None


class AttachmentRead(ApiModel):
    """One vault file version pinned to a part revision."""

    id: uuid.UUID  # the attachment's id (DELETE .../files/:id)
    part_id: uuid.UUID
    part_version_id: uuid.UUID
    revision: str
    file_id: uuid.UUID
    version_id: uuid.UUID  # the pinned vault file version
    version: int
    latest_version: int  # the file's current version: newer than ``version`` when it moved on
    name: str
    # /v1/serve/<workspace>/<owner>/<name>; ?version=<version> (+ ?branch=) serves the pinned bytes
    path: str
    username: str  # whose folder holds the file
    branch: str
    size: int
    sha256: str
    content_type: str
    trashed: bool  # the file went to the trash; the pinned version stays attached
    attached_by: str | None
    attached_at: datetime
