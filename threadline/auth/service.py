"""Identity and tenancy rules: accounts, sessions, tokens, workspaces, roles, invitations.

Every function takes the request's session and never commits. Every write is audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from threadline.audit import service as audit
from threadline.auth.models import (
    ApiToken,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
    UserFolder,
    UserSession,
    Workspace,
)
from threadline.auth.security import Passwords, new_token, token_hash
from threadline.db import utcnow
from threadline.errors import Conflict, Forbidden, Gone, Invalid, NotFound, Unauthorized
from threadline.pagination import PageParams, paginate

# --- users ----------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def _free_username(session: AsyncSession, wanted: str) -> str:
    """``wanted`` made URL-safe, with a numeric suffix if another account already has it."""
    base = re.sub(r"[^a-z0-9._-]+", "-", wanted.lower()).strip("-._")[:56] or "user"
    taken = set(
        (
            await session.scalars(
                select(User.username).where(
                    or_(User.username == base, User.username.like(f"{base}-%"))
                )
            )
        ).all()
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password_hash: str,
    name: str,
    username: str | None = None,
    is_admin: bool = False,
    actor: User | None = None,
) -> User:
    """A new account. E-mail is unique case-insensitively; a requested username must be free."""
    email = normalise_email(email)
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"An account with e-mail {email} already exists.", code="EMAIL_TAKEN")
    if username:
        if await session.scalar(select(User.id).where(User.username == username.lower())):
            raise Conflict(f"Username {username!r} is taken.", code="USERNAME_TAKEN")
        chosen = username.lower()
    else:
        chosen = await _free_username(session, email.split("@", 1)[0])
    user = User(
        email=email, username=chosen, name=name, password_hash=password_hash, is_admin=is_admin
    )
    session.add(user)
    await session.flush()  # the id is needed by the audit row and by any invitation acceptance
    audit.record(
        session,
        actor=actor or user,
        workspace=None,
        entity_type="user",
        entity_id=user.id,
        action="create",
        after={"email": user.email, "username": user.username, "isAdmin": is_admin},
    )
    return user


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def set_password(
    session: AsyncSession, *, user: User, password_hash: str, actor: User | None = None
) -> int:
    """Replace ``user``'s password and end every browser session they have open.

    A reset usually follows a lost or leaked password, so no session opened with the old one
    survives it. Personal API tokens are separate credentials and stay valid (revoke them with
    ``DELETE /api/tokens/{id}``). Returns how many sessions were ended.
    """
    user.password_hash = password_hash
    result = await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    ended = int(cast("CursorResult[Any]", result).rowcount or 0)
    audit.record(
        session,
        actor=actor or user,
        workspace=None,
        entity_type="user",
        entity_id=user.id,
        action="set_password",
        after={"sessionsEnded": ended},
    )
    return ended


# --- sessions and tokens ----------------------------------------------------------------------


async def start_session(
    session: AsyncSession, *, user: User, days: int, user_agent: str | None
) -> str:
    """Open a browser session for ``user``; returns the cookie value (stored only hashed)."""
    token = new_token("ts_")
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=utcnow() + timedelta(days=days),
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    audit.record(
        session, actor=user, workspace=None, entity_type="user", entity_id=user.id, action="login"
    )
    return token


async def end_session(session: AsyncSession, *, user: User, token: str) -> None:
    row = await session.scalar(
        select(UserSession).where(UserSession.token_hash == token_hash(token))
    )
    if row is not None:
        await session.delete(row)
        audit.record(
            session,
            actor=user,
            workspace=None,
            entity_type="user",
            entity_id=user.id,
            action="logout",
        )


async def user_for_session_token(session: AsyncSession, token: str) -> User | None:
    """The active user behind a session cookie, or None if it is unknown or expired."""
    return await session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == token_hash(token),
            UserSession.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    )


async def user_for_api_token(session: AsyncSession, token: str) -> User | None:
    """The active user behind a bearer token, or None if it is unknown or expired."""
    return await session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == token_hash(token),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
            User.is_active.is_(True),
        )
    )


async def create_token(
    session: AsyncSession, *, user: User, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A personal API token; the secret is returned here once and stored only hashed."""
    secret = new_token("tl_")
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_hash(secret),
        prefix=secret[:10],
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    await session.flush()  # the id goes into the audit row and the response
    audit.record(
        session,
        actor=user,
        workspace=None,
        entity_type="api_token",
        entity_id=row.id,
        action="create",
        after={"name": name, "prefix": row.prefix},
    )
    return row, secret


async def list_tokens(session: AsyncSession, *, user: User) -> Sequence[ApiToken]:
    return (
        await session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
    ).all()


async def delete_token(session: AsyncSession, *, user: User, token_id: uuid.UUID) -> None:
    """Revoke one of the caller's own tokens; someone else's token answers 404."""
    row = await session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if row is None:
        raise NotFound("No such API token.")
    await session.delete(row)
    audit.record(
        session,
        actor=user,
        workspace=None,
        entity_type="api_token",
        entity_id=token_id,
        action="delete",
        before={"name": row.name, "prefix": row.prefix},
    )


# --- workspaces, roles and members ------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What :func:`require_role` proves: ``user`` holds ``role`` in ``workspace``."""

    user: User
    workspace: Workspace
    role: Role


async def require_role(
    session: AsyncSession, *, user: User, workspace: str | uuid.UUID, minimum: Role | str
) -> Access:
    """The one permission check every router uses.

    A workspace the caller is not a member of answers 404, exactly as if it did not exist; a
    member below ``minimum`` gets 403 naming the role needed.
    """
    needed = Role(minimum)
    condition = (
        Workspace.id == workspace
        if isinstance(workspace, uuid.UUID)
        else Workspace.name == workspace
    )
    row = (
        await session.execute(
            select(Workspace, Membership.role)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(condition, Membership.user_id == user.id)
        )
    ).first()
    if row is None:
        raise NotFound(f"Workspace {workspace} not found.", code="WORKSPACE_NOT_FOUND")
    ws, role = row
    if not role.at_least(needed):
        raise Forbidden(
            f"This needs the {needed.value} role in {ws.name}; you are {role.value}.",
            code="INSUFFICIENT_ROLE",
        )
    return Access(user=user, workspace=ws, role=role)


async def create_workspace(session: AsyncSession, *, user: User, name: str) -> Workspace:
    """A new workspace; its creator becomes the owner."""
    if await session.scalar(select(Workspace.id).where(Workspace.name == name)):
        raise Conflict(f"Workspace {name!r} already exists.", code="WORKSPACE_EXISTS")
    workspace = Workspace(name=name, created_by_id=user.id)
    session.add(workspace)
    try:
        # Two concurrent creates of one name: the unique index decides, inside a savepoint.
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"Workspace {name!r} already exists.", code="WORKSPACE_EXISTS") from None
    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=Role.owner))
    audit.record(
        session,
        actor=user,
        workspace=workspace,
        entity_type="workspace",
        entity_id=workspace.id,
        action="create",
        after={"name": name, "owner": user.username},
    )
    return workspace


async def list_workspaces(
    session: AsyncSession, *, user: User, params: PageParams
) -> tuple[list[tuple[Workspace, Role]], int]:
    """The caller's workspaces with the caller's role in each, by name."""
    stmt = (
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id)
        .order_by(Workspace.name)
    )
    rows, total = await paginate(session, stmt, params)
    return [(ws, role) for ws, role in rows], total


async def list_members(
    session: AsyncSession, *, workspace: Workspace, params: PageParams
) -> tuple[list[tuple[User, Role]], int]:
    stmt = (
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace.id)
        .order_by(User.username)
    )
    rows, total = await paginate(session, stmt, params)
    return [(user, role) for user, role in rows], total


async def _membership(
    session: AsyncSession, workspace: Workspace, user_id: uuid.UUID
) -> Membership:
    row = await session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace.id, Membership.user_id == user_id
        )
    )
    if row is None:
        raise NotFound("No such member in this workspace.", code="MEMBER_NOT_FOUND")
    return row


async def _owner_count(session: AsyncSession, workspace: Workspace) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace.id, Membership.role == Role.owner)
        )
        or 0
    )


def _check_may_manage(access: Access, current: Role, wanted: Role | None) -> None:
    """Managers handle roles up to manager; only owners grant or take away ownership."""
    touches_owner = current == Role.owner or wanted == Role.owner
    if touches_owner and access.role != Role.owner:
        raise Forbidden("Only an owner can grant or remove the owner role.", code="OWNER_REQUIRED")


async def set_member_role(
    session: AsyncSession, *, access: Access, user_id: uuid.UUID, role: Role
) -> Membership:
    """Change a member's role (manager+); the last owner cannot be demoted."""
    member = await _membership(session, access.workspace, user_id)
    _check_may_manage(access, member.role, role)
    demoting_owner = member.role == Role.owner and role != Role.owner
    if demoting_owner and await _owner_count(session, access.workspace) <= 1:
        raise Conflict("A workspace needs at least one owner.", code="LAST_OWNER")
    before = member.role
    member.role = role
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="membership",
        entity_id=member.id,
        action="update",
        before={"userId": str(user_id), "role": before.value},
        after={"userId": str(user_id), "role": role.value},
    )
    return member


async def remove_member(session: AsyncSession, *, access: Access, user_id: uuid.UUID) -> None:
    """Remove a member (manager+, or anyone leaving); the last owner cannot leave."""
    member = await _membership(session, access.workspace, user_id)
    if user_id != access.user.id:
        if not access.role.at_least(Role.manager):
            raise Forbidden(
                "Removing other members needs the manager role.", code="INSUFFICIENT_ROLE"
            )
        _check_may_manage(access, member.role, None)
    if member.role == Role.owner and await _owner_count(session, access.workspace) <= 1:
        raise Conflict("A workspace needs at least one owner.", code="LAST_OWNER")
    await session.delete(member)
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="membership",
        entity_id=member.id,
        action="delete",
        before={"userId": str(user_id), "role": member.role.value},
    )


async def init_user_folder(
    session: AsyncSession, *, user: User, workspace: str | None, username: str | None
) -> tuple[Access, User, bool]:
    """Make sure a member has a personal folder in the workspace; returns whether it was new.

    Without ``workspace`` the caller's first workspace is used. Initialising another member's
    folder needs the manager role.
    """
    if workspace is None:
        workspace = await session.scalar(
            select(Workspace.name)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user.id)
            .order_by(Membership.created_at)
            .limit(1)
        )
        if workspace is None:
            raise Invalid(
                "You are not a member of any workspace yet; create one or accept an invitation.",
                code="NO_WORKSPACE",
            )
    access = await require_role(session, user=user, workspace=workspace, minimum=Role.viewer)
    target = user
    if username and username.lower() != user.username:
        access = await require_role(
            session, user=user, workspace=access.workspace.id, minimum=Role.manager
        )
        found = await session.scalar(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                User.username == username.lower(), Membership.workspace_id == access.workspace.id
            )
        )
        if found is None:
            raise NotFound(
                f"No member {username!r} in {access.workspace.name}.", code="MEMBER_NOT_FOUND"
            )
        target = found
    exists = await session.scalar(
        select(UserFolder.id).where(
            UserFolder.workspace_id == access.workspace.id, UserFolder.user_id == target.id
        )
    )
    if exists:
        return access, target, False
    folder = UserFolder(workspace_id=access.workspace.id, user_id=target.id)
    session.add(folder)
    await session.flush()  # the folder id goes into the audit row
    audit.record(
        session,
        actor=user,
        workspace=access.workspace,
        entity_type="user_folder",
        entity_id=folder.id,
        action="create",
        after={"username": target.username},
    )
    return access, target, True


# --- invitations ----------------------------------------------------------------------------


async def send_invitation(
    session: AsyncSession,
    *,
    access: Access,
    email: str,
    role: Role,
    invited_by: str | None,
    days: int,
) -> tuple[Invitation, str]:
    """Invite ``email`` into ``access.workspace`` (manager+); returns the invitation and its code.

    Nobody can invite into a role above their own.
    """
    if not access.role.at_least(role):
        raise Forbidden(
            f"You cannot invite someone as {role.value}: your role is {access.role.value}.",
            code="INSUFFICIENT_ROLE",
        )
    email = normalise_email(email)
    already = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == access.workspace.id, User.email == email)
    )
    if already:
        raise Conflict(
            f"{email} is already a member of {access.workspace.name}.", code="ALREADY_MEMBER"
        )
    code = new_token("inv_")
    invitation = Invitation(
        workspace_id=access.workspace.id,
        email=email,
        role=role,
        code_hash=token_hash(code),
        invited_by_id=access.user.id,
        invited_by_label=invited_by or access.user.name,
        expires_at=utcnow() + timedelta(days=days),
    )
    invitation.workspace = access.workspace
    session.add(invitation)
    await session.flush()  # the id goes into the audit row and the response
    audit.record(
        session,
        actor=access.user,
        workspace=access.workspace,
        entity_type="invitation",
        entity_id=invitation.id,
        action="create",
        after={"email": email, "role": role.value},
    )
    return invitation, code


async def list_invitations(
    session: AsyncSession,
    *,
    user: User,
    status: str,
    workspace: Workspace | None,
    limit: int,
) -> Sequence[Invitation]:
    """With ``workspace`` (already checked manager+): all of its invitations. Without: the ones
    addressed to the caller or sent by the caller."""
    # Loaded with the join: the response names each invitation's workspace, and an async
    # session cannot lazy-load it later.
    stmt = (
        select(Invitation)
        .join(Workspace, Workspace.id == Invitation.workspace_id)
        .options(contains_eager(Invitation.workspace))
    )
    if workspace is not None:
        stmt = stmt.where(Invitation.workspace_id == workspace.id)
    else:
        stmt = stmt.where(or_(Invitation.email == user.email, Invitation.invited_by_id == user.id))
    if status != "all":
        stmt = stmt.where(Invitation.status == InvitationStatus(status))
    stmt = stmt.order_by(Invitation.created_at.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def find_invitation(
    session: AsyncSession, code: str, *, now: datetime | None = None
) -> Invitation:
    """The pending, unexpired invitation behind ``code``; 404 / 409 / 410 otherwise."""
    invitation = await session.scalar(
        select(Invitation).where(Invitation.code_hash == token_hash(code.strip()))
    )
    if invitation is None or invitation.status == InvitationStatus.revoked:
        raise NotFound("This invitation code is not valid.", code="INVITATION_INVALID")
    if invitation.status == InvitationStatus.accepted:
        raise Conflict("This invitation has already been accepted.", code="INVITATION_USED")
    if invitation.expires_at <= (now or utcnow()):
        raise Gone("This invitation has expired; ask for a new one.", code="INVITATION_EXPIRED")
    await session.refresh(invitation, ["workspace"])
    return invitation


async def accept_invitation(session: AsyncSession, *, user: User, code: str) -> Invitation:
    """Join the invitation's workspace with its role (or keep a higher role already held)."""
    invitation = await find_invitation(session, code)
    if invitation.email != user.email:
        raise Forbidden(
            f"This invitation was sent to {invitation.email}; sign in with that address.",
            code="INVITATION_EMAIL_MISMATCH",
        )
    membership = await session.scalar(
        select(Membership).where(
            Membership.workspace_id == invitation.workspace_id, Membership.user_id == user.id
        )
    )
    if membership is None:
        session.add(
            Membership(workspace_id=invitation.workspace_id, user_id=user.id, role=invitation.role)
        )
    elif not membership.role.at_least(invitation.role):
        membership.role = invitation.role
    invitation.status = InvitationStatus.accepted
    invitation.accepted_by_id = user.id
    invitation.accepted_at = utcnow()
    audit.record(
        session,
        actor=user,
        workspace=invitation.workspace,
        entity_type="invitation",
        entity_id=invitation.id,
        action="accept",
        before={"status": "pending"},
        after={"status": "accepted", "role": invitation.role.value},
    )
    return invitation


async def authenticate(
    session: AsyncSession, *, passwords: Passwords, email: str, password: str
) -> User:
    """The active account matching ``email`` and ``password``; one vague 401 otherwise."""
    user = await user_by_email(session, email)
    ok = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthorized("E-mail or password is wrong.", code="INVALID_CREDENTIALS")
    return user


async def register(
    session: AsyncSession,
    *,
    passwords: Passwords,
    email: str,
    password: str,
    name: str,
    username: str | None,
    invitation_code: str | None,
    require_invitation: bool,
) -> User:
    """Self-service sign-up, joining the invited workspace when a code is given."""
    invitation = None
    if invitation_code:
        invitation = await find_invitation(session, invitation_code)
        if invitation.email != normalise_email(email):
            raise Forbidden(
                f"This invitation was sent to {invitation.email}; register with that address.",
                code="INVITATION_EMAIL_MISMATCH",
            )
    elif require_invitation:
        raise Forbidden(
            "Registration on this server needs an invitation code.", code="INVITATION_REQUIRED"
        )
    user = await create_user(
        session,
        email=email,
        password_hash=await passwords.hash(password),
        name=name,
        username=username,
    )
    if invitation_code:
        await accept_invitation(session, user=user, code=invitation_code)
    return user
