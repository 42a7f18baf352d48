"""Native list paging (``page``/``pageSize``) and whitelisted sorting (``sort``/``dir``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from fastapi import Query
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from threadline.errors import Invalid
from threadline.schemas import Page

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Deep enough for any real catalog, small enough that page*pageSize never overflows an OFFSET.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class PageParams:
    """Which page a client asked for."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: int = Query(1, ge=1, le=MAX_PAGE, description="1-based page number"),
    page_size: int = Query(
        DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, alias="pageSize", description="Rows per page"
    ),
) -> PageParams:
    """Dependency: ``?page=&pageSize=`` (default 50, max 500)."""
    return PageParams(page=page, page_size=page_size)


def page_of(items: Sequence[T], total: int, params: PageParams) -> Page[T]:
    """``{"items", "total", "page", "pageSize"}`` for one page of results."""
    return Page(items=list(items), total=total, page=params.page, page_size=params.page_size)


async def paginate(
    session: AsyncSession, stmt: Select[*tuple[Any, ...]], params: PageParams
) -> tuple[Sequence[Any], int]:
    """Run ``stmt`` for one page and count all of its rows: ``(rows, total)``."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.execute(stmt.limit(params.page_size).offset(params.offset))).all()
    return rows, int(total or 0)


SortDir = Literal["asc", "desc"]
# A mapped attribute (Part.name) or any SQL expression.
Sortable = ColumnElement[Any] | QueryableAttribute[Any]


def sorting(
    allowed: Mapping[str, Sortable], *, default: str, default_dir: SortDir = "asc"
) -> Callable[..., list[ColumnElement[Any]]]:
    """Dependency factory for ``?sort=&dir=`` restricted to ``allowed`` (name -> column).

    Returns ORDER BY clauses; an unknown field is a 400 naming the fields that are allowed.
    """
    if default not in allowed:
        raise ValueError(f"default sort {default!r} is not in the whitelist")

    def dependency(
        sort: str = Query(default, description="Sort field: " + ", ".join(sorted(allowed))),
        dir: SortDir = Query(default_dir, description="asc or desc"),
    ) -> list[ColumnElement[Any]]:
        column = allowed.get(sort)
        if column is None:
            raise Invalid(
                f"Cannot sort by {sort!r}; use one of: {', '.join(sorted(allowed))}.",
                code="INVALID_SORT",
            )
        ordered = column.desc() if dir == "desc" else column.asc()
        # A unique tie-breaker keeps paging stable when the sort column has duplicates.
        tie = allowed[default]
        return [ordered] if column is tie else [ordered, tie.asc()]

    return dependency
