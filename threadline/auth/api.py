"""Routes for sign-up, sign-in, sessions, API tokens and invitations (``/api/*``)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service
from threadline.auth.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Ctx,
    CurrentUser,
    Principal,
    optional_principal,
    require_principal,
)
from threadline.auth.models import Invitation, User
from threadline.auth.schemas import (
    AuthConfigRead,
    InvitationCodeIn,
    InvitationFilter,
    InvitationRead,
    InvitationSend,
    InvitationSent,
    InvitationValidation,
    LoginIn,
    RegisterIn,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserRead,
)
from threadline.auth.security import csrf_token
from threadline.db import SessionDep
from threadline.errors import Forbidden
from threadline.mail import send_invitation_mail
from threadline.ratelimit import rate_limit
from threadline.runtime import Runtime, get_runtime

router = APIRouter(prefix="/api", tags=["auth"])


def _set_session_cookies(response: Response, runtime: Runtime, token: str) -> str:
    """Session cookie (HttpOnly) plus the CSRF cookie the browser's script echoes in a header."""
    max_age = runtime.settings.session_days * 86400
    secure = runtime.settings.cookie_secure
    csrf = csrf_token(runtime.secret_key, token)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure
    )
    return csrf


async def _sign_in(
    session: AsyncSession, runtime: Runtime, request: Request, response: Response, user: User
) -> SessionRead:
    """Open a browser session for ``user``: cookies set, the CSRF token in the body."""
    token = await service.start_session(
        session,
        user=user,
        days=runtime.settings.session_days,
        user_agent=request.headers.get("user-agent"),
    )
    csrf = _set_session_cookies(response, runtime, token)
    return SessionRead(user=UserRead.model_validate(user), csrf_token=csrf)


def same_origin(request: Request, runtime: Runtime = Depends(get_runtime)) -> None:
    """Refuse sign-in and sign-up posted from another site's page (login CSRF).

    Browsers name the page's origin; it must be this server (or an origin listed in
    CORS_ORIGINS). Requests without an Origin header — scripts, curl — are not from a page.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = {o for o in runtime.settings.cors_origin_list if o != "*"}
    if urlsplit(origin).netloc == request.headers.get("host") or origin in allowed:
        return
    raise Forbidden(f"Sign-in from {origin} is not allowed.", code="ORIGIN_REJECTED")


@router.get("/auth/config", response_model=AuthConfigRead)
async def auth_config(runtime: Runtime = Depends(get_runtime)) -> AuthConfigRead:
    """Whether registration needs an invitation."""
    return AuthConfigRead(requires_invitation=runtime.settings.require_invitation)


@router.post(
    "/auth/register",
    status_code=201,
    response_model=SessionRead,
    dependencies=[Depends(same_origin), Depends(rate_limit("register", "10/minute"))],
)
async def register(
    body: RegisterIn,
    request: Request,
    response: Response,
    session: AsyncSession = SessionDep,
    runtime: Runtime = Depends(get_runtime),
) -> SessionRead:
    """Create an account (with an invitation when required) and sign it in."""
    user = await service.register(
        session,
        passwords=runtime.passwords,
        email=body.email,
        password=body.password,
        name=body.name,
        username=body.username,
        invitation_code=body.invitation_code,
        require_invitation=runtime.settings.require_invitation,
    )
    return await _sign_in(session, runtime, request, response, user)


@router.post(
    "/auth/login",
    response_model=SessionRead,
    dependencies=[Depends(same_origin), Depends(rate_limit("login", "20/minute"))],
)
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    session: AsyncSession = SessionDep,
    runtime: Runtime = Depends(get_runtime),
) -> SessionRead:
    """Sign in with e-mail and password; sets the session and CSRF cookies."""
    user = await service.authenticate(
        session, passwords=runtime.passwords, email=body.email, password=body.password
    )
    return await _sign_in(session, runtime, request, response, user)


@router.post("/auth/logout", status_code=204)
async def logout(
    response: Response,
    principal: Principal = Depends(require_principal),
    session: AsyncSession = SessionDep,
) -> Response:
    """End the browser session and clear its cookies."""
    if principal.session_token:
        await service.end_session(session, user=principal.user, token=principal.session_token)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/session", response_model=SessionRead)
async def current_session(
    principal: Principal | None = Depends(optional_principal),
    runtime: Runtime = Depends(get_runtime),
) -> SessionRead:
    """The signed-in user and the CSRF token for unsafe requests, or ``{"user": null}``."""
    if principal is None:
        return SessionRead(user=None)
    csrf = (
        csrf_token(runtime.secret_key, principal.session_token) if principal.session_token else None
    )
    return SessionRead(user=UserRead.model_validate(principal.user), csrf_token=csrf)


# --- personal API tokens --------------------------------------------------------------------


@router.post("/tokens", status_code=201, response_model=TokenCreated)
async def create_token(body: TokenCreate, ctx: Ctx) -> TokenCreated:
    """Mint a personal API token; the secret is in this response only."""
    row, secret = await service.create_token(
        ctx.session, user=ctx.user, name=body.name, expires_in_days=body.expires_in_days
    )
    return TokenCreated(**TokenRead.model_validate(row).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenRead])
async def list_tokens(ctx: Ctx) -> list[TokenRead]:
    """The caller's tokens (never their secrets)."""
    return [
        TokenRead.model_validate(t) for t in await service.list_tokens(ctx.session, user=ctx.user)
    ]


@router.delete("/tokens/{token_id}", status_code=204)
async def delete_token(token_id: uuid.UUID, ctx: Ctx) -> Response:
    """Revoke one of the caller's tokens."""
    await service.delete_token(ctx.session, user=ctx.user, token_id=token_id)
    return Response(status_code=204)


# --- invitations (productflo-sync-api: Invitations) -----------------------------------------


def _invitation_read(invitation: Invitation) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        workspace=invitation.workspace.name,
        role=invitation.role,
        status=invitation.status,
        invited_by=invitation.invited_by_label,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at,
    )


@router.post(
    "/invitations/send",
    status_code=201,
    response_model=InvitationSent,
    dependencies=[Depends(rate_limit("invitations", "5/minute"))],
)
async def send_invitation(body: InvitationSend, ctx: Ctx) -> InvitationSent:
    """Invite someone into a workspace (manager+; 5/min per IP)."""
    access = await ctx.require_role(body.workspace, "manager")
    invitation, code = await service.send_invitation(
        ctx.session,
        access=access,
        email=body.email,
        role=body.role,
        invited_by=body.invited_by,
        days=ctx.runtime.settings.invitation_days,
    )
    send_invitation_mail(invitation=invitation, code=code, sender=ctx.user)
    return InvitationSent(invitation_code=code, invitation=_invitation_read(invitation))


@router.get("/invitations", response_model=list[InvitationRead])
async def list_invitations(
    ctx: Ctx,
    status: InvitationFilter = Query("all"),
    workspace: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=500),
) -> list[InvitationRead]:
    """Invitations to or from me; with ``workspace``, all of that workspace's (manager+)."""
    scoped = (await ctx.require_role(workspace, "manager")).workspace if workspace else None
    rows = await service.list_invitations(
        ctx.session, user=ctx.user, status=status, workspace=scoped, limit=limit
    )
    return [_invitation_read(i) for i in rows]


@router.post(
    "/invitations/validate",
    response_model=InvitationValidation,
    dependencies=[Depends(rate_limit("invitation-validate", "30/minute"))],
)
async def validate_invitation(
    body: InvitationCodeIn, session: AsyncSession = SessionDep
) -> InvitationValidation:
    """Check an invitation code before signing up (no sign-in needed)."""
    invitation = await service.find_invitation(session, body.invitation_code)
    return InvitationValidation(
        valid=True,
        email=invitation.email,
        workspace=invitation.workspace.name,
        role=invitation.role,
        expires_at=invitation.expires_at,
    )


@router.post("/invitations/accept", response_model=InvitationRead)
async def accept_invitation(body: InvitationCodeIn, ctx: Ctx) -> InvitationRead:
    """Accept an invitation addressed to the caller and join its workspace."""
    invitation = await service.accept_invitation(
        ctx.session, user=ctx.user, code=body.invitation_code
    )
    return _invitation_read(invitation)


__all__ = ["CurrentUser", "router"]
