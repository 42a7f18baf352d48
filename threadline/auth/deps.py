"""Who is calling: session cookie (with CSRF on unsafe methods) or ``Authorization: Bearer``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service
from threadline.auth.models import Role, User
from threadline.auth.security import csrf_matches
from threadline.db import SessionDep
from threadline.errors import Forbidden, Unauthorized
from threadline.runtime import Runtime, get_runtime

SESSION_COOKIE = "tl_session"
CSRF_COOKIE = "tl_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declares personal tokens in the OpenAPI document, so /docs has an Authorize button and clients
# know every signed-in route takes ``Authorization: Bearer tl_...``. The header itself is read by
# ``_bearer`` below (auto_error=False: anonymous callers and cookies are decided there).
BEARER_SCHEME = HTTPBearer(
    scheme_name="personalToken",
    bearerFormat="tl_...",
    description="A personal API token (POST /api/tokens or `threadline token create`). "
    "Bearer-authenticated writes need no CSRF header.",
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    user: User
    via: Literal["session", "token"]
    session_token: str | None = None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def optional_principal(
    request: Request,
    session: AsyncSession = SessionDep,
    runtime: Runtime = Depends(get_runtime),
    _declared: HTTPAuthorizationCredentials | None = Security(BEARER_SCHEME),
) -> Principal | None:
    """The caller, or None when anonymous. A bad bearer token is 401, never anonymous."""
    if (token := _bearer(request)) is not None:
        user = await service.user_for_api_token(session, token)
        if user is None:
            raise Unauthorized(
                "The API token is unknown, revoked or expired.", code="INVALID_TOKEN"
            )
        return Principal(user=user, via="token")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    user = await service.user_for_session_token(session, cookie)
    if user is None:
        return None
    if request.method not in SAFE_METHODS and not csrf_matches(
        runtime.secret_key, cookie, request.headers.get(CSRF_HEADER)
    ):
        # Cookies ride along on cross-site requests; the CSRF header cannot (double submit).
        raise Forbidden(
            f"Missing or wrong {CSRF_HEADER} header; read csrfToken from GET /api/session.",
            code="CSRF_FAILED",
        )
    return Principal(user=user, via="session", session_token=cookie)


async def require_principal(
    principal: Principal | None = Depends(optional_principal),
) -> Principal:
    if principal is None:
        raise Unauthorized("Sign in or send an API token.", code="UNAUTHENTICATED")
    return principal


async def require_user(principal: Principal = Depends(require_principal)) -> User:
    """Dependency: the signed-in user; 401 when anonymous."""
    return principal.user


@dataclass(frozen=True)
class RequestContext:
    """A signed-in request: its transaction, its user and the process runtime."""

    session: AsyncSession
    user: User
    runtime: Runtime

    async def require_role(self, workspace: str | uuid.UUID, minimum: Role | str) -> service.Access:
        """``ctx.require_role(workspace, "engineer")``: 404 for non-members, 403 if too junior."""
        return await service.require_role(
            self.session, user=self.user, workspace=workspace, minimum=minimum
        )


async def request_context(
    session: AsyncSession = SessionDep,
    user: User = Depends(require_user),
    runtime: Runtime = Depends(get_runtime),
) -> RequestContext:
    return RequestContext(session=session, user=user, runtime=runtime)


Ctx = Annotated[RequestContext, Depends(request_context)]
CurrentUser = Annotated[User, Depends(require_user)]
