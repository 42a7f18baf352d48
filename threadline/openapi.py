"""The OpenAPI document and the pages that show it.

``/docs`` (Swagger UI) and ``/redoc`` load their scripts from this server, taken from the
``fastapi-offline`` package, so an offline site sees them too. The document declares every
response a route can give: besides what a route declares itself (``responses=`` on the
decorator, which always wins), :func:`declare_responses` adds the problem+json answers that
follow from the route's shape — its parameters and body, its dependencies (database, sign-in,
rate limit) and its tags — so a generated client knows every status it may meet.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

from threadline.auth import deps as auth_deps
from threadline.db import get_session
from threadline.errors import PROBLEM_JSON

ASSETS = "/docs/assets"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOAD_TYPES = ("multipart/form-data", "application/octet-stream")

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with Threadline's stable machine-readable `code`.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Not Found"},
        "status": {"type": "integer", "example": 404},
        "detail": {"type": "string", "example": "No part 0190e8d2-... in workspace acme."},
        "code": {"type": "string", "example": "RESOURCE_NOT_FOUND"},
        "errors": {
            "type": "array",
            "description": "Field-level detail of a 400 (where, what, and the error type).",
            "items": {"type": "object"},
        },
    },
    "additionalProperties": True,
}

# What each status means for a client; the words appear in /docs next to the code.
MEANINGS = {
    400: "Bad input: a parameter or body field is missing or wrong (`errors` names each field).",
    401: "Not signed in, or the API token is unknown, revoked or expired.",
    403: "Signed in, but the role is too junior, or a cookie-authenticated write lacks "
    "X-CSRF-Token.",
    404: "No such resource, or it belongs to a workspace the caller is not a member of.",
    409: "Conflicts with the current state (a name taken, a stale version, a released revision).",
    410: "Expired (a signed URL or an invitation).",
    412: "The If-Match precondition does not hold: the record changed since it was read.",
    413: "The request body is larger than the server accepts.",
    415: "The uploaded file's type or format is not supported here.",
    416: "The requested byte range lies outside the file.",
    423: "Locked by another user (FILE_LOCKED, ITEM_LOCKED, RESOURCE_LOCKED).",
    429: "Too many requests; retry after the Retry-After header's seconds.",
    503: "The database is not answering; retry shortly.",
    507: "The server has no room left to store the upload; nothing was saved.",
}

# Answers no route shape reveals, by (method, path). Success bodies that are not JSON, and
# statuses a route raises from its own logic.
CSV = {"text/csv": {"schema": {"type": "string"}}}
XLSX = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    }
}
FILE_BYTES = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
SERVED: dict[int, dict[str, Any]] = {
    200: {"description": "The file's bytes, with its own content type.", "content": FILE_BYTES},
    206: {"description": "The requested byte range.", "content": FILE_BYTES},
    304: {"description": "Not modified (If-None-Match matched the ETag)."},
    416: {},
}
CASCADIA_BATCH: dict[int, dict[str, Any]] = {
    207: {"description": "Some succeeded; `errors` lists the others."},
    400: {"content": {"application/json": {"schema": {"type": "object"}}}},
}
EXTRA_RESPONSES: dict[tuple[str, str], dict[int, dict[str, Any]]] = {
    ("GET", "/v1/boms/{bom_id}/export.csv"): {200: {"content": CSV}},
    ("GET", "/v1/boms/{bom_id}/export.erp.csv"): {200: {"content": CSV}},
    ("GET", "/v1/boms/{bom_id}/export.flat.csv"): {200: {"content": CSV}},
    ("GET", "/v1/boms/{bom_id}/export.xlsx"): {200: {"content": XLSX}},
    ("POST", "/v1/parts/export"): {200: {"content": CSV | XLSX}},
    ("GET", "/v1/events"): {
        200: {
            "description": "A Server-Sent Events stream (see docs/events.md).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
    ("GET", "/v1/serve/{workspace}/{username}/{filename}"): SERVED,
    ("HEAD", "/v1/serve/{workspace}/{username}/{filename}"): SERVED,
    ("GET", "/v1/serve-signed/{workspace}/{username}/{filename}"): SERVED | {403: {}, 410: {}},
    ("HEAD", "/v1/serve-signed/{workspace}/{username}/{filename}"): SERVED | {403: {}, 410: {}},
    ("GET", "/api/files/{file_id}/download"): SERVED,
    ("POST", "/api/auth/register"): {403: {}, 404: {}, 409: {}},
    ("POST", "/api/auth/login"): {401: {}, 403: {}},
    ("POST", "/api/invitations/validate"): {404: {}, 409: {}, 410: {}},
    ("POST", "/api/invitations/accept"): {410: {}},
    ("POST", "/v1/comments"): {429: {}},
    ("POST", "/v1/upload"): {201: {"description": "A new file (version 1)."}},
    # Cascadia reads these multipart bodies itself (the reference documents no form schema).
    ("POST", "/api/items/{item_id}/files/upload"): {413: {}, 415: {}, 507: {}},
    ("POST", "/api/files/{file_id}/checkin"): {400: {}, 413: {}, 415: {}, 507: {}},
    ("POST", "/v1/parts/{part_id}/versions/{version_id}/files"): {
        200: {"description": "Already attached: the existing attachment."}
    },
    # cascadia-files-api: Batch Operations answer 201/200 all, 207 some, 400 none, in its own
    # {"data": ...} envelope.
    ("POST", "/api/files/batch-checkout"): CASCADIA_BATCH | {201: {"description": "All done."}},
    ("POST", "/api/files/batch-checkin"): CASCADIA_BATCH,
    ("POST", "/api/items/batch-checkout"): CASCADIA_BATCH | {201: {"description": "All done."}},
    ("POST", "/api/items/batch-checkin"): CASCADIA_BATCH,
}

# Tags whose writes can meet another user's lock (productflo-sync-api: Locks; cascadia-files-api:
# Lock Error Codes).
LOCKING_TAGS = frozenset({"files", "cascadia"})


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc from packaged assets and publish the completed document.

    Create the app with ``docs_url=None, redoc_url=None``; call this after every router is
    included.
    """
    static = resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return HTMLResponse(_swagger_page(request.scope.get("root_path", ""), app))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            declare_responses(spec, api_routes(app.routes))
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def _swagger_page(root: str, app: FastAPI) -> str:
    """Swagger UI on local assets; a signed-in browser's writes carry its CSRF token.

    A personal token entered under Authorize needs no CSRF header; a session cookie does, and
    the page reads it from the ``tl_csrf`` cookie as the web client would.
    """
    spec_url = html.escape(f"{root}{app.openapi_url}", quote=True)
    assets = html.escape(f"{root}{ASSETS}", quote=True)
    title = html.escape(f"{app.title} API")
    csrf_cookie, csrf_header = auth_deps.CSRF_COOKIE, auth_deps.CSRF_HEADER
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>
function csrfToken() {{
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("{csrf_cookie}="));
  return cookie ? decodeURIComponent(cookie.slice({len(csrf_cookie) + 1})) : null;
}}
window.ui = SwaggerUIBundle({{
  url: "{spec_url}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  requestInterceptor: (request) => {{
    const token = csrfToken();
    if (token) request.headers["{csrf_header}"] = token;
    return request;
  }},
}});
</script>
</body>
</html>
"""


# --- response declarations -------------------------------------------------------------------


def api_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every API route with its full path, also inside included routers that newer FastAPI
    keeps whole (a nested router's own paths then lack the prefixes it is included under)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield (route.path_format if route.path_format.startswith(prefix) else
                   prefix + route.path_format), route  # fmt: skip
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes, prefix + (inner.prefix or ""))


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every callable in a route's dependency tree."""
    found: set[Callable[..., Any]] = set()
    stack = [dependant]
    while stack:
        node = stack.pop()
        if node.call is not None:
            found.add(node.call)
        stack.extend(node.dependencies)
    return found


def _statuses(method: str, route: APIRoute, operation: dict[str, Any]) -> set[int]:
    """The problem+json statuses that follow from a route's parameters, dependencies and tags."""
    calls = _calls(route.dependant)
    names = {getattr(call, "__qualname__", "") for call in calls}
    parameters = operation.get("parameters", [])
    body_types = set(operation.get("requestBody", {}).get("content", {}))
    signed_in = auth_deps.optional_principal in calls
    must_sign_in = auth_deps.require_principal in calls
    unsafe = method in UNSAFE_METHODS
    statuses: set[int] = set()
    if body_types or any(_can_be_invalid(p) for p in parameters):
        statuses.add(400)  # validation, on every face (DESIGN's status list; no 422)
    if signed_in:
        statuses.add(401)  # anonymous, or a bad bearer token
    if must_sign_in and (unsafe or parameters):
        statuses |= {403, 404}  # role too junior / CSRF; not a member of that workspace
    if get_session in calls and any(p.get("in") == "path" for p in parameters):
        statuses.add(404)  # the path names a row that may not exist
    if must_sign_in and unsafe:
        statuses.add(409)
        if LOCKING_TAGS & set(route.tags or ()):
            statuses.add(423)
    if any(p.get("in") == "header" and p["name"].lower() == "if-match" for p in parameters):
        statuses.add(412)
    if body_types:
        statuses.add(413)
    if body_types & set(UPLOAD_TYPES):
        statuses |= {415, 507}
    if any(name.startswith("rate_limit.") for name in names):
        statuses.add(429)
    if get_session in calls:
        statuses.add(503)
    return statuses


def _can_be_invalid(parameter: dict[str, Any]) -> bool:
    """Whether some value of ``parameter`` fails validation (a bare path string never does)."""
    schema = {k: v for k, v in parameter.get("schema", {}).items() if k != "title"}
    return not (parameter.get("in") == "path" and schema == {"type": "string"})


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": MEANINGS.get(status, "An error; see `code` and `detail`."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _merge(responses: dict[str, Any], status: int, extra: dict[str, Any]) -> None:
    """Add ``extra`` to the response for ``status``; what the route declared stays."""
    key = str(status)
    if not extra and key not in responses:
        responses[key] = _problem(status)
        return
    if 200 <= status < 300 and "content" not in extra and key not in responses:
        # Another success status of the same route: the same body as its declared one.
        same: dict[str, Any] = next(
            (r for k, r in responses.items() if k.startswith("2") and "content" in r), {}
        )
        extra = extra | ({"content": same["content"]} if same else {})
    current = responses.setdefault(key, {"description": MEANINGS.get(status, "")})
    for field, value in extra.items():
        if field == "content":
            # Declared content types replace FastAPI's default JSON guess for this status.
            guessed = current.get("content", {})
            current["content"] = value | {
                kind: schema for kind, schema in guessed.items() if kind != "application/json"
            }
        else:
            current.setdefault(field, value)
    if not current.get("description"):
        current["description"] = MEANINGS.get(status, "")


# The MES face signs callers in through its own dependency (threadline/mes/auth.py: sessions,
# HTTP Basic API tokens) and answers problem+json for each of these: bad input, not signed in,
# too junior or CSRF, another bureau's or no such resource, a rule's conflict, an expired
# signed link, a body or upload too large, a refused upload type, the database away.
MES_STATUSES = frozenset({400, 401, 403, 404, 409, 410, 413, 415, 429, 503})


def declare_responses(spec: dict[str, Any], routes: Iterator[tuple[str, APIRoute]]) -> None:
    """Add to ``spec`` every problem+json response each route can give, with one shared schema.

    FastAPI's 422 goes: bad input is 400 here, rendered as problem+json like every error.
    """
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, route in routes:
        for method in sorted(route.methods or ()):
            operation = spec["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            statuses = _statuses(method, route, operation)
            if path.startswith("/mes/"):
                statuses |= MES_STATUSES
                if method in UNSAFE_METHODS:  # DESIGN: POST, PUT and DELETE answer 204
                    responses.setdefault("204", {"description": "Done (POST: see Location)."})
            for status in sorted(statuses):
                _merge(responses, status, {})
            for declared, extra in EXTRA_RESPONSES.get((method, path), {}).items():
                _merge(responses, declared, extra)
    schemas = spec["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 bodies, if now unused
        rest = {key: value for key, value in schemas.items() if key != name}
        if f'"#/components/schemas/{name}"' not in json.dumps([spec["paths"], rest]):
            schemas.pop(name, None)
