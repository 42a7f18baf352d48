"""The ``/mes`` router: every room's routes under the face's prefix."""

from __future__ import annotations

from fastapi import APIRouter

from threadline.mes.crosscut import api as crosscut
from threadline.mes.demand import api as demand
from threadline.mes.face import PREFIX
from threadline.mes.files import api as files
from threadline.mes.floor import api as floor
from threadline.mes.material import api as material
from threadline.mes.people import api as people
from threadline.mes.process import api as process
from threadline.mes.quality import api as quality
from threadline.mes.shop import api as shop

router = APIRouter(prefix=PREFIX)
for room in (people, shop, process, files, demand, material, floor, quality, crosscut):
    router.include_router(room.router)
