"""The MES face's conventions (DESIGN.md "MES face"), in one place every MES resource uses.

- Paths as mes-api-reference.txt gives them under ``/mes``, trailing slash canonical; the form
  without the slash answers the same.
- Every resource has ``uuid`` and ``uri``; ``uri`` is absolute, built from the request's base
  URL. Relations are URIs; input accepts absolute or relative URIs.
- LIST → ``{"resources": [...], "meta": {"count", "limit", "offset"}}``; ``?page[limit]=``
  (default 100, max 1000), ``?page[offset]=``; ``?filter[field]=a,b`` (any of), ranges
  ``filter[field]>v`` / ``<v``; ``?sort=field,-other``. Unknown filter or sort fields → 400.
- POST → 204 + ``Location``; PUT (partial) → 204; DELETE → 204; errors are problem+json.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote_plus, urlsplit

import orjson
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.auth.models import Role, User
from threadline.errors import Forbidden, Invalid, NotFound
from threadline.runtime import Runtime

PREFIX = "/mes"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000
# A filter may name this many values at most (``filter[uuid]=a,b,...``): enough for any page a
# client holds, small enough for one IN list.
MAX_FILTER_VALUES = 1000

_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
# ``/mes/printer-type/<uuid>/`` (the ``/mes`` prefix and the trailing slash optional).
_URI_PATH = re.compile(rf"^(?:.*?{PREFIX})?/(?P<kind>[a-z0-9_-]+)/(?P<id>{_UUID})/?$")


# --- who is calling ---------------------------------------------------------------------------


@dataclass
class MesContext:
    """One MES request: its transaction, the caller, the caller's bureaus and the base URL."""

    session: AsyncSession
    user: User
    runtime: Runtime
    base_url: str  # scheme://host[:port][root_path], no trailing slash
    roles: dict[uuid.UUID, Role] = field(default_factory=dict)  # workspace id → role

    def uri(self, kind: str, id: uuid.UUID | str) -> str:
        """The absolute URI of resource ``kind`` (``"order"``) with ``id``."""
        return f"{self.base_url}{PREFIX}/{kind}/{id}/"

    @property
    def bureau_ids(self) -> list[uuid.UUID]:
        return list(self.roles)

    def require(self, workspace_id: uuid.UUID, minimum: Role) -> None:
        """404 when the caller is not in the bureau (as if it did not exist), 403 if too junior."""
        role = self.roles.get(workspace_id)
        if role is None:
            raise NotFound("The requested resource cannot be found.", code="RESOURCE_NOT_FOUND")
        if not role.at_least(minimum):
            raise Forbidden(
                "You are not authorized to complete the request.",
                code="INSUFFICIENT_ROLE",
                needed=minimum.value,
            )

    def default_bureau(self) -> uuid.UUID:
        """The bureau a write goes to when its body names none: the caller's only bureau."""
        if len(self.roles) == 1:
            return next(iter(self.roles))
        if not self.roles:
            raise Invalid("You are not a member of any bureau.", code="NO_BUREAU")
        raise Invalid(
            "You belong to several bureaus: name one in the bureau field.",
            code="BUREAU_REQUIRED",
        )


def base_url(request: Request) -> str:
    """The request's base URL without a trailing slash (honours a mount's root_path)."""
    return str(request.base_url).rstrip("/")


# --- URIs -------------------------------------------------------------------------------------


def parse_uri(value: Any, *, kinds: tuple[str, ...], field_name: str) -> uuid.UUID:
    """The id named by an absolute or relative URI of one of ``kinds`` (or a bare uuid).

    A URI of another resource type is a 400 naming the field; whether the id exists in the
    caller's bureaus is for the caller of this function to check (404 when it does not).
    """
    if not isinstance(value, str):
        raise invalid_value(field_name, "must be a URI string")
    text = value.strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    path = urlsplit(text).path if "://" in text else text
    match = _URI_PATH.match(path)
    if match is None or match.group("kind") not in kinds:
        expected = " or ".join(f"{PREFIX}/{kind}/{{uuid}}/" for kind in kinds)
        raise invalid_value(field_name, f"must be a URI of the form {expected}")
    return uuid.UUID(match.group("id"))


def invalid_value(field_name: str, what: str) -> Invalid:
    return Invalid(f"The value of {field_name} {what}.", code="INVALID_FIELD", field=field_name)


# --- responses --------------------------------------------------------------------------------


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def created(uri: str, headers: dict[str, str] | None = None) -> Response:
    """POST answers 204 with the new resource's URI in ``Location`` (mes-digest 1: Writes)."""
    return Response(status_code=204, headers={"Location": uri, **(headers or {})})


def no_content() -> Response:
    return Response(status_code=204)


def _meta(count: int, page: Page) -> dict[str, int]:
    return {"count": count, "limit": page.limit, "offset": page.offset}


def list_response(resources: list[dict[str, Any]], count: int, page: Page) -> Response:
    return json_response({"resources": resources, "meta": _meta(count, page)})


def list_response_of_texts(resources: list[str], count: int, page: Page) -> Response:
    """:func:`list_response` of resources the database rendered to JSON texts already."""
    meta = orjson.dumps(_meta(count, page))
    body = b'{"resources":[' + ",".join(resources).encode() + b'],"meta":' + meta + b"}"
    return Response(body, media_type="application/json")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; malformed JSON or a non-object is a 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"The body is not valid JSON: {exc}.", code="MALFORMED_JSON") from None
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object.", code="INVALID_PAYLOAD")
    return body


# --- LIST queries: paging, filters, sort --------------------------------------------------------

Op = Literal["=", ">", "<"]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


@dataclass(frozen=True)
class Filter:
    """``filter[name]=a,b`` (op ``=``, any of the values) or ``filter[name]>v`` / ``<v``."""

    name: str
    op: Op
    values: tuple[str, ...]


@dataclass(frozen=True)
class ListQuery:
    page: Page
    filters: tuple[Filter, ...]
    sort: tuple[tuple[str, bool], ...]  # (field, descending)
    params: dict[str, str]  # every other query parameter, last value wins


_FILTER = re.compile(r"^filter\[(?P<name>[A-Za-z0-9_.-]+)\](?P<op>[=<>])(?P<value>.*)$", re.S)


def _int_param(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.pop(name, None)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer.", code="INVALID_PAGE") from None
    if value < 0 or value > maximum:
        raise Invalid(f"{name} must be between 0 and {maximum}.", code="INVALID_PAGE")
    return value


def parse_list_query(request: Request) -> ListQuery:
    """Read the LIST parameters from the raw query string (``filter[x]>v`` has no ``=``)."""
    filters: list[Filter] = []
    params: dict[str, str] = {}
    for part in request.url.query.split("&"):
        if not part:
            continue
        text = unquote_plus(part)
        if match := _FILTER.match(text):
            values = (
                tuple(v for v in match.group("value").split(","))
                if match["op"] == "="
                else (match.group("value"),)
            )
            if len(values) > MAX_FILTER_VALUES:
                raise Invalid(
                    f"filter[{match['name']}] names more than {MAX_FILTER_VALUES} values.",
                    code="INVALID_FILTER",
                )
            filters.append(Filter(match.group("name"), match.group("op"), values))  # type: ignore[arg-type]
            continue
        name, _, value = text.partition("=")
        params[name] = value
    limit = _int_param(params, "page[limit]", DEFAULT_LIMIT, MAX_LIMIT)
    if limit == 0:
        raise Invalid("page[limit] must be at least 1.", code="INVALID_PAGE")
    offset = _int_param(params, "page[offset]", 0, MAX_OFFSET)
    sort: list[tuple[str, bool]] = []
    for item in (params.pop("sort", "") or "").split(","):
        item = item.strip()
        if item:
            sort.append((item.lstrip("-"), item.startswith("-")))
    return ListQuery(Page(limit, offset), tuple(filters), tuple(sort), params)
