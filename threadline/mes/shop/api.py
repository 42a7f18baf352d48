"""Routes of the MES shop room, mounted under /mes by threadline/mes/api.py."""

from __future__ import annotations

from fastapi import APIRouter

from threadline.mes.resources import mount
from threadline.mes.shop import resources

router = APIRouter()
for resource in (resources.location, resources.sub_location, resources.manufacturer):
    mount(router, resource)
