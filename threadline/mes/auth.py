"""Who is calling the MES face, and in which bureaus (DESIGN.md "MES face": Auth).

- ``Authorization: Bearer <token>``: the ``token`` that ``POST /mes/sessions/`` answered (a
  session, ``ts_...``) or a Threadline personal token (``tl_...``).
- ``Authorization: Basic <uuid:secret>``: an API token from ``POST /mes/api_tokens/``.
- The session cookie. Cookie-auth writes need no CSRF header when the body is
  ``application/json``: a cross-site form cannot send that type without a CORS preflight, which
  is refused. Other bodies need the ``X-CSRF-Token`` header (the ``/mes/csrf-token/`` value).

Header credentials are never sent by a browser on its own, so they need no CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Literal

from fastapi import Depends, Request
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service as auth
from threadline.auth.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, _bearer
from threadline.auth.models import ApiToken, Membership, User
from threadline.auth.security import csrf_matches, token_hash
from threadline.db import SessionDep, utcnow
from threadline.errors import Forbidden, Unauthorized
from threadline.mes.face import MesContext, base_url
from threadline.mes.people.models import MesBureauUser
from threadline.runtime import Runtime, get_runtime

SESSION_TOKEN_PREFIX = "ts_"  # noqa: S105 - a prefix, what auth.service.start_session hands out

Via = Literal["cookie", "session", "token", "basic"]


@dataclass(frozen=True)
class Caller:
    """The signed-in caller and how they proved it; ``session_token`` for cookie/session."""

    user: User
    via: Via
    session_token: str | None = None
    token_id: uuid.UUID | None = None


def _is_json(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _invalid_token() -> Unauthorized:
    return Unauthorized(
        "The API token is unknown, revoked or expired.",
        code="INVALID_TOKEN",
        headers={"WWW-Authenticate": 'Basic realm="mes"'},
    )


def _basic(request: Request) -> tuple[str, str] | None:
    """``(uuid, secret)`` from ``Authorization: Basic``; a malformed header is a 401."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_token() from None
    token_id, sep, secret = decoded.partition(":")
    if not sep or not secret:
        raise _invalid_token()
    return token_id, secret


async def user_for_basic(session: AsyncSession, token_id: str, secret: str) -> User | None:
    """The active user whose API token has this uuid and secret (the secret stored hashed)."""
    try:
        ident = uuid.UUID(token_id)
    except ValueError:
        return None
    return await session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.id == ident,
            ApiToken.token_hash == token_hash(secret),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
            User.is_active.is_(True),
        )
    )


def cookie_session(request: Request) -> str | None:
    """The session cookie when it is what authenticates this request (no Authorization)."""
    if request.headers.get("authorization"):
        return None
    return request.cookies.get(SESSION_COOKIE) or None


async def mes_caller(
    request: Request, session: AsyncSession, runtime: Runtime, *, csrf: bool = True
) -> Caller:
    """The signed-in caller; 401 when anonymous or when a credential is unknown.

    ``csrf=False`` skips the cookie's CSRF check, for writes that cannot harm (logging out).
    """
    if (basic := _basic(request)) is not None:
        user = await user_for_basic(session, *basic)
        if user is None:
            raise _invalid_token()
        return Caller(user, "basic", token_id=uuid.UUID(basic[0]))
    if (token := _bearer(request)) is not None:
        if token.startswith(SESSION_TOKEN_PREFIX):
            user = await auth.user_for_session_token(session, token)
            if user is None:
                raise Unauthorized(
                    "The session has ended or expired; log in again (POST /mes/sessions/).",
                    code="INVALID_TOKEN",
                )
            return Caller(user, "session", session_token=token)
        user = await auth.user_for_api_token(session, token)
        if user is None:
            raise _invalid_token()
        return Caller(user, "token")
    cookie = request.cookies.get(SESSION_COOKIE)
    user = await auth.user_for_session_token(session, cookie) if cookie else None
    if user is None or cookie is None:
        raise Unauthorized("Log in (POST /mes/sessions/) or send a token.", code="UNAUTHENTICATED")
    needs_csrf = csrf and request.method not in SAFE_METHODS and not _is_json(request)
    if needs_csrf and not csrf_matches(
        runtime.secret_key, cookie, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(
            f"Missing or wrong {CSRF_HEADER} header; GET /mes/csrf-token/ gives it.",
            code="CSRF_FAILED",
        )
    return Caller(user, "cookie", session_token=cookie)


async def mes_user(request: Request, session: AsyncSession, runtime: Runtime) -> User:
    """The signed-in caller's account (see :func:`mes_caller`)."""
    return (await mes_caller(request, session, runtime)).user


async def load_context(
    request: Request, session: AsyncSession, runtime: Runtime, user: User
) -> MesContext:
    """The caller's role in each of their bureaus.

    A bureau that archived the caller, or blocks them until a later time (``/users/``), is not
    one of theirs on this face.
    """
    rows = await session.execute(
        select(Membership.workspace_id, Membership.role)
        .outerjoin(
            MesBureauUser,
            and_(
                MesBureauUser.workspace_id == Membership.workspace_id,
                MesBureauUser.user_id == Membership.user_id,
            ),
        )
        .where(
            Membership.user_id == user.id,
            or_(MesBureauUser.id.is_(None), MesBureauUser.archived.is_(False)),
            or_(MesBureauUser.blocked_until.is_(None), MesBureauUser.blocked_until <= utcnow()),
        )
    )
    return MesContext(
        session=session,
        user=user,
        runtime=runtime,
        base_url=base_url(request),
        roles={workspace_id: role for workspace_id, role in rows},
    )


async def mes_context(
    request: Request,
    session: AsyncSession = SessionDep,
    runtime: Runtime = Depends(get_runtime),
) -> MesContext:
    """Dependency of every MES route: the caller and their role in each of their bureaus."""
    user = await mes_user(request, session, runtime)
    return await load_context(request, session, runtime, user)


@dataclass(frozen=True)
class CallerContext:
    """A MES request's context together with how its caller signed in."""

    caller: Caller
    ctx: MesContext


async def caller_context(
    request: Request,
    session: AsyncSession = SessionDep,
    runtime: Runtime = Depends(get_runtime),
) -> CallerContext:
    """Dependency of routes whose rules depend on the credential (``/role/``, sessions)."""
    caller = await mes_caller(request, session, runtime)
    ctx = await load_context(request, session, runtime, caller.user)
    return CallerContext(caller, ctx)
