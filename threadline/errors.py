"""Domain exceptions and the one place that renders every error as RFC 9457 problem+json.

Services raise these; they never raise HTTP exceptions. Each carries a stable machine-readable
``code`` a client can switch on. Codes named by a reference document are used verbatim.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ThreadlineError(Exception):
    """Base of every error a client may see; ``status`` and ``code`` are part of the API."""

    status = 400
    code = "BAD_REQUEST"
    title = "Bad Request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extra = extra


class Invalid(ThreadlineError):
    """The request is well-formed but asks for something impossible (400)."""


class Unauthorized(ThreadlineError):
    status, code, title = 401, "UNAUTHENTICATED", "Unauthorized"


class Forbidden(ThreadlineError):
    status, code, title = 403, "FORBIDDEN", "Forbidden"


class NotFound(ThreadlineError):
    status, code, title = 404, "RESOURCE_NOT_FOUND", "Not Found"


class Conflict(ThreadlineError):
    status, code, title = 409, "CONFLICT", "Conflict"


class PreconditionFailed(ThreadlineError):
    """A conditional request's precondition (``If-Match``) does not hold (412, RFC 9110)."""

    status, code, title = 412, "PRECONDITION_FAILED", "Precondition Failed"


class Gone(ThreadlineError):
    status, code, title = 410, "GONE", "Gone"


class PayloadTooLarge(ThreadlineError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Payload Too Large"


class UnsupportedMediaType(ThreadlineError):
    status, code, title = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type"


class Unprocessable(ThreadlineError):
    """Input that parses but breaks a rule. 400, as DESIGN's status list has it (no 422)."""

    status, code, title = 400, "VALIDATION_ERROR", "Bad Request"


class Locked(ThreadlineError):
    status, code, title = 423, "RESOURCE_LOCKED", "Locked"


class RateLimited(ThreadlineError):
    status, code, title = 429, "RATE_LIMITED", "Too Many Requests"


class Unavailable(ThreadlineError):
    status, code, title = 503, "DATABASE_UNAVAILABLE", "Service Unavailable"


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response (RFC 9457) with Threadline's extra ``code`` member."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code}
    body.update(extra)
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic errors trimmed to what a client can act on: where, what, and the error type."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": err.get("msg", ""), "type": err.get("type", "")})
    return out


_HTTP_CODES = {
    # FastAPI's own 400 for a body it cannot decode at all (bad UTF-8, nesting too deep).
    400: ("BAD_REQUEST", "Bad Request"),
    404: ("NOT_FOUND", "Not Found"),
    405: ("METHOD_NOT_ALLOWED", "Method Not Allowed"),
    413: ("PAYLOAD_TOO_LARGE", "Payload Too Large"),
}


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure, expected or not, through problem+json."""

    @app.exception_handler(ThreadlineError)
    async def _domain(_request: Request, exc: ThreadlineError) -> Response:
        return problem(
            exc.status, exc.title, exc.detail, exc.code, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(
                400,
                "Bad Request",
                "The request body is not valid JSON.",
                "MALFORMED_JSON",
                errors=errors,
            )
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        # 400, not FastAPI's 422: DESIGN.md's status list; ``errors`` keeps the field detail.
        return problem(400, "Bad Request", where, "VALIDATION_ERROR", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code, title = _HTTP_CODES.get(exc.status_code, ("HTTP_ERROR", "Error"))
        return problem(
            exc.status_code, title, str(exc.detail), code, headers=dict(exc.headers or {})
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(_request: Request, exc: DBAPIError) -> Response:
        log.error("database unavailable: %s", exc)
        return problem(
            503,
            "Service Unavailable",
            "The database is not answering; try again shortly.",
            "DATABASE_UNAVAILABLE",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(OSError)
    async def _os_error(_request: Request, exc: OSError) -> Response:
        if exc.errno in _STORAGE_FULL:  # the blob store's disk or quota, not the request
            log.error("storage full: %s", exc)
            return problem(
                507,
                "Insufficient Storage",
                "The server has no room left to store this; nothing was saved.",
                "STORAGE_FULL",
            )
        return _internal_error(exc)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> Response:
        return _internal_error(exc)


_STORAGE_FULL = {errno.ENOSPC, errno.EDQUOT}


def _internal_error(exc: BaseException) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem(
        500,
        "Internal Server Error",
        "Something went wrong on the server; it has been logged.",
        "INTERNAL_ERROR",
    )
