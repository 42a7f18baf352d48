"""threadline.spreadsheets: every XLSX export has a frozen, filterable header and holds any text."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl  # type: ignore[import-untyped]  # openpyxl ships no type information

from threadline.spreadsheets import XLSX_CELL_LIMIT, csv_bytes, xlsx_bytes, xlsx_text


def _read(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_header_row_is_frozen_and_filtered_over_the_data():
    sheet = _read(xlsx_bytes("BOM", ["a", "b", "c"], [[1, "x", None], [2, "y", Decimal("0.50")]]))
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C3"
    assert list(sheet.iter_rows(values_only=True)) == [
        ("a", "b", "c"),
        (1, "x", None),
        (2, "y", 0.5),
    ]


def test_an_empty_export_still_has_its_header_frozen_and_filtered():
    sheet = _read(xlsx_bytes("Empty", ["part_number", "name"], []))
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:B1")


def test_characters_xlsx_cannot_store_are_removed_tab_newline_kept():
    name = "Bolt\x01 M3\x00\x1f\tzinc\r\nplated\x0b"
    sheet = _read(xlsx_bytes("Parts\x02", ["name\x07"], [[name]]))
    assert sheet.title == "Parts"
    assert sheet["A1"].value == "name"
    assert sheet["A2"].value == "Bolt M3\tzinc\nplated"  # XML reads CR LF back as LF


def test_text_is_never_a_formula_and_long_text_fits_a_cell():
    sheet = _read(xlsx_bytes("S", ["name", "notes"], [["=1+1", "z" * (XLSX_CELL_LIMIT + 10)]]))
    assert (sheet["A2"].value, sheet["A2"].data_type) == ("=1+1", "s")
    assert len(sheet["B2"].value) == XLSX_CELL_LIMIT


def test_sheet_titles_lose_what_excel_forbids():
    assert _read(xlsx_bytes("'A/B:C*D?[E]'", ["x"], [])).title == "A_B_C_D__E_"
    assert _read(xlsx_bytes("\x01", ["x"], [])).title == "Sheet"


def test_xlsx_text_keeps_ordinary_unicode():
    assert xlsx_text("Ω ±5% 10 kΩ — µF") == "Ω ±5% 10 kΩ — µF"


def test_csv_keeps_the_text_as_it_is():
    assert csv_bytes(["name"], [["a\x01b"]]).decode("utf-8-sig") == "name\r\na\x01b\r\n"
