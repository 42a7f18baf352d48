"""Pydantic building blocks shared by every domain's schemas."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ApiModel(BaseModel):
    """Base of every request/response schema: camelCase on the wire, snake_case in Python.

    Unknown request fields are rejected so a typo in a field name is an error, not a silent no-op.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        extra="forbid",
        str_strip_whitespace=True,
    )


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    """One page of a native list: ``{"items", "total", "page", "pageSize"}``."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1)
