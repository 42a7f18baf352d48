"""Who is calling the MES face, and in which bureaus (DESIGN.md "MES face": Auth).

- ``Authorization: Bearer <token>``: a Threadline personal token.
- The session cookie. Cookie-auth writes need no CSRF header when the body is
  ``application/json``: a cross-site form cannot send that type without a CORS preflight, which
  is refused. Other bodies need the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service as auth
from threadline.auth.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, _bearer
from threadline.auth.models import Membership, User
from threadline.auth.security import csrf_matches
from threadline.db import SessionDep
from threadline.errors import Forbidden, Unauthorized
from threadline.mes.face import MesContext, base_url
from threadline.runtime import Runtime, get_runtime


def _is_json(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def mes_user(request: Request, session: AsyncSession, runtime: Runtime) -> User:
    """The signed-in caller; 401 when anonymous or when a token is unknown."""
    if (token := _bearer(request)) is not None:
        user = await auth.user_for_api_token(session, token)
        if user is None:
            raise Unauthorized(
                "The API token is unknown, revoked or expired.", code="INVALID_TOKEN"
            )
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    user = await auth.user_for_session_token(session, cookie) if cookie else None
    if user is None or cookie is None:
        raise Unauthorized("Log in (POST /mes/sessions/) or send a token.", code="UNAUTHENTICATED")
    needs_csrf = request.method not in SAFE_METHODS and not _is_json(request)
    if needs_csrf and not csrf_matches(
        runtime.secret_key, cookie, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden(
            f"Missing or wrong {CSRF_HEADER} header; GET /mes/csrf-token/ gives it.",
            code="CSRF_FAILED",
        )
    return user


async def mes_context(
    request: Request,
    session: AsyncSession = SessionDep,
    runtime: Runtime = Depends(get_runtime),
) -> MesContext:
    """Dependency of every MES route: the caller and their role in each of their bureaus."""
    user = await mes_user(request, session, runtime)
    rows = await session.execute(
        select(Membership.workspace_id, Membership.role).where(Membership.user_id == user.id)
    )
    return MesContext(
        session=session,
        user=user,
        runtime=runtime,
        base_url=base_url(request),
        roles={workspace_id: role for workspace_id, role in rows},
    )
