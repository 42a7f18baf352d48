"""Request and response shapes for identity, tokens, workspaces and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field, StringConstraints

from threadline.auth.models import InvitationStatus, Role
from threadline.schemas import ApiModel

Password = Annotated[str, Field(min_length=8, max_length=256)]
# pydantic checks the pattern before lowering the case, so the pattern admits capitals.
WorkspaceName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$"
    ),
]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$")
]


# --- users and sessions ---------------------------------------------------------------------


class UserRead(ApiModel):
    id: uuid.UUID
    email: str
    username: str
    name: str
    is_admin: bool
    created_at: datetime


class RegisterIn(ApiModel):
    email: EmailStr
    password: Password
    name: Annotated[str, Field(min_length=1, max_length=200)]
    username: Username | None = None
    invitation_code: Annotated[str, Field(max_length=200)] | None = None


class LoginIn(ApiModel):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class SessionRead(ApiModel):
    """``GET /api/session``: the signed-in user, or ``{"user": null}``."""

    user: UserRead | None
    csrf_token: str | None = None


class AuthConfigRead(ApiModel):
    requires_invitation: bool


class ServerConfigRead(ApiModel):
    branch_suffix_writes: bool


# --- API tokens -----------------------------------------------------------------------------


class TokenCreate(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenRead(ApiModel):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None


class TokenCreated(TokenRead):
    """Returned once, at creation: the only time the secret is shown."""

    token: str


# --- workspaces and members -----------------------------------------------------------------


class WorkspaceCreate(ApiModel):
    name: WorkspaceName


class WorkspaceRead(ApiModel):
    id: uuid.UUID
    name: str
    role: Role
    created_at: datetime


class MemberRead(ApiModel):
    """A workspace member as ``GET /v1/users?workspace=`` lists them."""

    id: uuid.UUID
    username: str
    name: str
    email: str
    role: Role
    online: bool


class MemberUpdate(ApiModel):
    role: Role


class UserInitIn(ApiModel):
    workspace: WorkspaceName | None = None
    username: Username | None = None


class UserInitRead(ApiModel):
    workspace: str
    username: str
    created: bool
    path: str
    backfilled: int = 0


# --- invitations ----------------------------------------------------------------------------


class InvitationSend(ApiModel):
    email: EmailStr
    workspace: WorkspaceName
    role: Role = Role.engineer
    invited_by: Annotated[str, Field(max_length=200)] | None = None


class InvitationRead(ApiModel):
    id: uuid.UUID
    email: str
    workspace: str
    role: Role
    status: InvitationStatus
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None


class InvitationSent(ApiModel):
    invitation_code: str
    invitation: InvitationRead


class InvitationCodeIn(ApiModel):
    invitation_code: Annotated[str, Field(min_length=1, max_length=200)]


class InvitationValidation(ApiModel):
    valid: bool
    email: str
    workspace: str
    role: Role
    expires_at: datetime


InvitationFilter = Literal["all", "pending", "accepted"]
