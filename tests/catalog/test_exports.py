"""Parts export (POST /v1/parts/export): any text a part holds exports, in XLSX too."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.catalog.test_parts_api import PARTS, create_part


@pytest.fixture
async def engineer(make_actor):
    return await make_actor("erin", workspace="acme", role="engineer")


async def test_xlsx_export_of_text_with_control_characters(engineer):
    part = await create_part(
        engineer.client,
        partNumber="CTL-1",
        name="Bolt\x01 M3\x1f",
        description="line one\nline two\x0b",
        attributes={"note": "x\x02y"},
    )
    response = await engineer.client.post(
        f"{PARTS}/export", json={"workspace": "acme", "partIds": [part["id"]], "format": "xlsx"}
    )
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:O2")
    header, row = list(sheet.iter_rows(values_only=True))
    values = dict(zip(header, row, strict=True))
    assert values["name"] == "Bolt M3"
    assert values["description"] == "line one\nline two"
    assert values["attributes"] == '{"note":"x\\u0002y"}'  # JSON escapes it: nothing lost
