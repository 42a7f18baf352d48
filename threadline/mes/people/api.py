"""Routes of the MES people room, mounted under /mes by threadline/mes/api.py: ``/about/``,
``/sessions/``, ``/csrf-token/``, ``/api_tokens/``, ``/users/``, ``/role/``, ``/bureau/``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth import service as auth
from threadline.auth.api import _set_session_cookies, same_origin
from threadline.auth.deps import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from threadline.auth.security import csrf_matches
from threadline.db import SessionDep
from threadline.errors import Forbidden
from threadline.mes.auth import CallerContext, caller_context, load_context, mes_caller, mes_context
from threadline.mes.face import (
    MesContext,
    created,
    json_body,
    json_response,
    list_response,
    no_content,
    parse_list_query,
)
from threadline.mes.people import bureaus, roles, sessions, users
from threadline.mes.people.resources import role
from threadline.mes.resources import (
    add_route,
    create_resource,
    delete_resource,
    list_resources,
    render,
    update_resource,
)
from threadline.ratelimit import rate_limit
from threadline.runtime import Runtime, get_runtime

router = APIRouter()
Ctx = Depends(mes_context)


def _route(path: str, handler: Any, method: str, summary: str, tag: str, **kw: Any) -> None:
    add_route(router, path, handler, [method], tags=[f"mes: {tag}"], summary=summary, **kw)


# --- /about/ ----------------------------------------------------------------------------------


async def get_about() -> Response:
    """Service metadata; answers without credentials (a liveness check)."""
    return json_response(sessions.about())


_route("/about/", get_about, "GET", "Service name, version and deployment date", "about")


# --- /sessions/ -------------------------------------------------------------------------------


async def log_in(
    request: Request, session: AsyncSession = SessionDep, runtime: Runtime = Depends(get_runtime)
) -> Response:
    """Log in with e-mail (``username``) and password: the session cookie, and a bearer token."""
    email, password = sessions.parse_login(await json_body(request))
    user = await auth.authenticate(
        session, passwords=runtime.passwords, email=email, password=password
    )
    token = await auth.start_session(
        session,
        user=user,
        days=runtime.settings.session_days,
        user_agent=request.headers.get("user-agent"),
    )
    ctx = await load_context(request, session, runtime, user)
    response = json_response(sessions.session_body(ctx, user, token))
    _set_session_cookies(response, runtime, token)
    return response


async def who_am_i(ctx: MesContext = Ctx) -> Response:
    """The signed-in user."""
    return json_response(sessions.session_body(ctx, ctx.user))


async def log_out(
    request: Request, session: AsyncSession = SessionDep, runtime: Runtime = Depends(get_runtime)
) -> Response:
    """End the session (cookie or session bearer token); API tokens stay valid."""
    caller = await mes_caller(request, session, runtime, csrf=False)  # logging out harms no one
    if caller.session_token is not None:
        await auth.end_session(session, user=caller.user, token=caller.session_token)
    response = no_content()
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


_route(
    "/sessions/",
    log_in,
    "POST",
    "Log in",
    "sessions",
    dependencies=[Depends(same_origin), Depends(rate_limit("login", "20/minute"))],
)
_route("/sessions/", who_am_i, "GET", "Who am I", "sessions")
_route("/sessions/", log_out, "DELETE", "Log out", "sessions")


async def get_csrf_token(cc: CallerContext = Depends(caller_context)) -> Response:
    """The CSRF token of the caller's session (``/role/`` writes carry it as ``csrf_token``)."""
    return json_response({"token": sessions.csrf_for(cc.ctx, cc.caller)})


_route("/csrf-token/", get_csrf_token, "GET", "The CSRF token of the session", "csrf-token")


# --- /api_tokens/ -----------------------------------------------------------------------------


async def create_api_token(request: Request, ctx: MesContext = Ctx) -> Response:
    """A new API token for HTTP Basic (``uuid:secret``); the secret is in this response only."""
    name = sessions.parse_token_body(await json_body(request))
    row, secret = await auth.create_token(ctx.session, user=ctx.user, name=name)
    body = sessions.token_body(ctx, row, secret)
    response = json_response(body, status_code=201)
    response.headers["Location"] = body["uri"]
    return response


async def list_api_tokens(request: Request, ctx: MesContext = Ctx) -> Response:
    """The caller's tokens, never their secrets."""
    query = parse_list_query(request)
    rows, count = await sessions.token_page(ctx, query)
    return list_response([sessions.token_body(ctx, r) for r in rows], count, query.page)


async def get_api_token(uuid: str, ctx: MesContext = Ctx) -> Response:
    """One of the caller's tokens (without its secret)."""
    return json_response(sessions.token_body(ctx, await sessions.own_token(ctx, uuid)))


async def delete_api_token(uuid: str, ctx: MesContext = Ctx) -> Response:
    """Revoke one of the caller's tokens."""
    row = await sessions.own_token(ctx, uuid)
    await auth.delete_token(ctx.session, user=ctx.user, token_id=row.id)
    return no_content()


_route("/api_tokens/", create_api_token, "POST", "Create an API token", "api_tokens")
_route("/api_tokens/", list_api_tokens, "GET", "List the caller's API tokens", "api_tokens")
_route("/api_tokens/{uuid}/", get_api_token, "GET", "Get one API token", "api_tokens")
_route("/api_tokens/{uuid}/", delete_api_token, "DELETE", "Revoke an API token", "api_tokens")


# --- /users/ ----------------------------------------------------------------------------------


async def list_users(request: Request, ctx: MesContext = Ctx) -> Response:
    """Users of the caller's bureaus."""
    query = parse_list_query(request)
    rows, count = await users.page(ctx, query)
    return list_response([users.render(ctx, r) for r in rows], count, query.page)


async def create_user(request: Request, ctx: MesContext = Ctx) -> Response:
    """Add a user to a bureau (manager): a new account, or an existing one by e-mail."""
    user_id = await users.create(ctx, await json_body(request))
    return created(ctx.uri("users", user_id))


async def get_user(uuid: str, ctx: MesContext = Ctx) -> Response:
    """One user of the caller's bureaus."""
    return json_response(users.render(ctx, await users.get(ctx, uuid)))


async def update_user(uuid: str, request: Request, ctx: MesContext = Ctx) -> Response:
    """Partial update: the user themself, or a manager of the bureau."""
    await users.update(ctx, await users.get(ctx, uuid), await json_body(request))
    return no_content()


_route("/users/", list_users, "GET", "List users of the caller's bureaus", "users")
_route("/users/", create_user, "POST", "Add a user to a bureau", "users")
_route("/users/{uuid}/", get_user, "GET", "Get one user", "users")
_route("/users/{uuid}/", update_user, "PUT", "Update a user (partial)", "users")


# --- /role/ -----------------------------------------------------------------------------------


def _check_role_csrf(request: Request, cc: CallerContext, body: dict[str, Any]) -> None:
    """Cookie sessions send ``csrf_token`` (from ``/csrf-token/``) with every ``/role/`` write,
    as the reference says; a DELETE without a body may send it in the header instead."""
    cookie = cc.caller.session_token if cc.caller.via == "cookie" else None
    if cookie is None:
        return
    presented = body.get("csrf_token") or request.headers.get(CSRF_HEADER)
    if not csrf_matches(cc.ctx.runtime.secret_key, cookie, presented):
        raise Forbidden(
            "Missing or wrong csrf_token; GET /mes/csrf-token/ gives it.", code="CSRF_FAILED"
        )


async def _role_body(request: Request, cc: CallerContext) -> dict[str, Any]:
    body = await json_body(request)
    _check_role_csrf(request, cc, body)
    body.pop("highest_only", None)  # a filter the reference lists among the fields
    return body


async def list_roles(request: Request, ctx: MesContext = Ctx) -> Response:
    """Managers: every role of their bureaus (members without one read as their workspace
    role's); everyone else: their own roles."""
    await roles.ensure_roles(ctx, ctx.bureau_ids)
    return await list_resources(ctx, role, parse_list_query(request))


async def create_role(request: Request, cc: CallerContext = Depends(caller_context)) -> Response:
    """Give a user of the bureau a role (manager)."""
    row = await create_resource(cc.ctx, role, await _role_body(request, cc))
    return created(cc.ctx.uri("role", row.id))


async def get_role(uuid: str, ctx: MesContext = Ctx) -> Response:
    """One role: the caller's own, or any of a bureau they manage."""
    row = await roles.role_row(ctx, uuid)
    return json_response((await render(ctx, role, [row]))[0])


async def update_role(
    uuid: str, request: Request, cc: CallerContext = Depends(caller_context)
) -> Response:
    """Change a role (manager); the membership follows the user's highest role."""
    body = await _role_body(request, cc)
    row = await roles.role_row(cc.ctx, uuid)
    await update_resource(cc.ctx, role, row, body)
    return no_content()


async def delete_role(
    uuid: str, request: Request, cc: CallerContext = Depends(caller_context)
) -> Response:
    """Take a role away (manager); the membership follows the roles left."""
    _check_role_csrf(request, cc, await json_body(request))
    row = await roles.role_row(cc.ctx, uuid)
    workspace_id, user_id = row.workspace_id, row.user_id
    await delete_resource(cc.ctx, role, row)
    await roles.sync_memberships(cc.ctx, workspace_id, [user_id])
    return no_content()


_route("/role/", list_roles, "GET", "List roles", "role")
_route("/role/", create_role, "POST", "Create a role", "role")
_route("/role/{uuid}/", get_role, "GET", "Get one role", "role")
_route("/role/{uuid}/", update_role, "PUT", "Update a role", "role")
_route("/role/{uuid}/", delete_role, "DELETE", "Delete a role", "role")


# --- /bureau/ ---------------------------------------------------------------------------------


async def list_bureaus(request: Request, ctx: MesContext = Ctx) -> Response:
    """The caller's bureaus."""
    query = parse_list_query(request)
    stmt = bureaus.list_statement(ctx, query)
    count = await ctx.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    rows = await ctx.session.execute(stmt.limit(query.page.limit).offset(query.page.offset))
    items = [bureaus.render(ctx, ws, settings) for ws, settings in rows]
    return list_response(items, int(count or 0), query.page)


async def create_bureau(request: Request, ctx: MesContext = Ctx) -> Response:
    """A new bureau (workspace); the caller becomes its owner."""
    workspace_id = await bureaus.create(ctx, await json_body(request))
    return created(ctx.uri("bureau", workspace_id))


async def get_bureau(uuid: str, ctx: MesContext = Ctx) -> Response:
    """One of the caller's bureaus."""
    return json_response(bureaus.render(ctx, *await bureaus.get(ctx, uuid)))


async def update_bureau(uuid: str, request: Request, ctx: MesContext = Ctx) -> Response:
    """Partial update of a bureau's name and settings (manager)."""
    workspace, settings = await bureaus.get(ctx, uuid)
    await bureaus.update(ctx, workspace, settings, await json_body(request))
    return no_content()


_route("/bureau/", list_bureaus, "GET", "List the caller's bureaus", "bureau")
_route("/bureau/", create_bureau, "POST", "Create a bureau", "bureau")
_route("/bureau/{uuid}/", get_bureau, "GET", "Get one bureau", "bureau")
_route("/bureau/{uuid}/", update_bureau, "PUT", "Update a bureau (partial)", "bureau")
