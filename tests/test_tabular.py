"""threadline.tabular: real open-hardware BOMs as users hand them over, and synthetic edge cases."""

from __future__ import annotations

import contextlib
import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]  # openpyxl ships no type information
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.errors import Invalid, UnsupportedMediaType
from threadline.tabular import Table, expand_refdes, normalise_header, read_table

REAL_BOMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-boms"

BOM_ALIASES = {
    "child_part_number": [
        "child_part_number",
        "part_number",
        "pn",
        "child_pn",
        "part number",
        "partno",
        "mpn",
    ],
    "qty": ["qty", "quantity"],
    "refdes": [
        "refdes",
        "reference_designators",
        "reference",
        "references",
        "designators",
        "ref",
        "ref des",
        "reference(s)",
    ],
    "value": ["value"],
    "footprint": ["footprint"],
    "manufacturer_name": ["manufacturer", "manufacturer_name", "field1"],
    "description": ["description"],
    "notes": ["notes", "note", "comment", "comments"],
    "dnp": ["dnp"],
}


def real(name: str) -> bytes:
    path = REAL_BOMS / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def read(data: bytes | str, required: tuple[str, ...] = ("refdes",), **kwargs) -> Table:
    raw = data.encode() if isinstance(data, str) else data
    return read_table(raw, aliases=BOM_ALIASES, required=required, **kwargs)


def placements(table: Table) -> int:
    return sum(len(expand_refdes(row.values["refdes"])) for row in table.rows)


def total_qty(table: Table) -> int:
    return sum(int(row.values["qty"]) for row in table.rows)


def xlsx(*sheets: tuple[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- real files ------------------------------------------------------------------------------


def test_kicad_plugin_bom_with_preamble_and_shifted_values():
    table = read(real("hackrf/hackrf-one.bom.csv"))
    assert (table.format, table.delimiter, table.header_row) == ("csv", ",", 15)
    assert len(table.rows) == 167
    assert total_qty(table) == 417
    assert placements(table) == 417
    assert all(len(expand_refdes(r.values["refdes"])) == int(r.values["qty"]) for r in table.rows)
    first = table.rows[0]
    assert first.number == 16
    assert first.values["refdes"].startswith("C1 C3 C5")
    assert first.values["description"] == "CAP CER 33PF 50V 5% NP0 0402"
    assert first.values["manufacturer_name"] == "Murata"
    assert first.values["child_part_number"] == "GRM1555C1H330JA01D"
    assert first.extra == {}
    assert any("skipped 14 line(s)" in note for note in table.notes)
    assert any("shifted one column right" in note for note in table.notes)


def test_kicad_plugin_bom_keeps_unicode_and_dnp_notes():
    rows = {r.values["refdes"]: r.values for r in read(real("hackrf/hackrf-one.bom.csv")).rows}
    assert rows["L13"]["description"] == "INDUCTOR 560nH ±5% 70mA 8.1Ω 0603"
    assert rows["P26"]["notes"] == "DNP"
    assert rows["P26"]["child_part_number"] == "GRPB052VWVN-RC"
    assert rows["X3"]["child_part_number"] == "AB26TRQ-32.768KHZ-T"


def test_kicad_grouped_bom_has_qty_equal_to_ref_count():
    table = read(real("hackrf/hackrf-one-bom_2016_grouped.csv"), required=("refdes", "qty"))
    assert len(table.rows) == 65
    assert placements(table) == 300
    for row in table.rows:
        assert int(row.values["qty"]) == len(expand_refdes(row.values["refdes"])), row.number
    assert table.unmapped == ["Item", "LibPart", "Datasheet"]
    assert not any("shifted" in note for note in table.notes)


def test_semicolon_bom_with_generic_field_headers():
    aliases = {**BOM_ALIASES, "child_part_number": ["mpn", "field2"]}
    data = real("hackrf/hackrf-one-bom_2014_semicolon.csv")
    table = read_table(data, aliases=aliases, required=["refdes"])
    assert (table.delimiter, table.header_row, len(table.rows)) == (";", 1, 414)
    first = table.rows[0].values
    assert first["manufacturer_name"] == "Murata"
    assert first["child_part_number"] == "GRM1555C1H330JA01D"
    assert table.rows[0].extra == {"Field3": "CAP CER 33PF 50V 5% NP0 0402"}
    assert placements(table) == 414


def test_semicolon_bom_with_ragged_rows():
    table = read(real("hackrf/jawbreaker-bom.csv"))
    assert (table.delimiter, len(table.rows)) == (";", 367)
    u26 = next(r for r in table.rows if r.values["refdes"] == "U26")
    assert u26.values == {"refdes": "U26", "value": "RF LDO", "manufacturer_name": "DNP"}
    assert u26.extra == {}


def test_tsv_with_repeated_columns_takes_first_non_empty():
    table = read(real("hackrf/hackrf-one-bom.tsv"))
    assert (table.delimiter, len(table.rows)) == ("\t", 65)
    assert placements(table) == 300
    assert total_qty(table) == 300
    row = next(r for r in table.rows if r.values["refdes"].startswith("C72,"))
    assert row.values["manufacturer_name"] == "Taiyo Yuden"
    assert row.values["child_part_number"] == "LMK105BJ225MV-F"
    assert row.extra["Manufacturer (column 6)"] == "Würth Elektronik"
    assert row.extra["MPN (column 7)"] == "885012105013"
    assert row.extra["Digikey"] == "587-3153-1-ND"
    assert sum("columns are headed" in note for note in table.notes) == 2


def test_bitaxe_csv_row_split_by_an_unquoted_comma_is_rejoined_in_the_footprint():
    table = read(real("bitaxe/bitaxeUltra BOM.csv"), required=("qty",))
    assert len(table.rows) == 39
    assert total_qty(table) == placements(table) == 85
    u7 = next(r for r in table.rows if r.values["refdes"] == "U7")
    assert u7.number == 37
    assert u7.values["footprint"] == "bitaxe:O 25,0-JO32-B-1V3-1-T1-LF"
    assert u7.values["child_part_number"] == "SX3M25.000E20F30THN"
    assert (u7.values["dnp"], u7.extra) == ("", {})
    [note] = table.row_notes
    assert (note.row, note.column, note.error) == (37, "Footprint", False)
    assert "8 fields for the header's 7" in note.message


def test_bitaxe_supra_csv():
    table = read(real("bitaxe/bitaxeSupra BOM.csv"), required=("qty",))
    assert len(table.rows) == 41
    assert total_qty(table) == placements(table) == 88
    assert table.columns == ["qty", "refdes", "value", "child_part_number"]
    assert table.unmapped == ["DK"]


def test_bitaxe_xlsx_reads_first_sheet_with_a_header():
    table = read(real("bitaxe/bitaxeUltra BOM.xlsx"), required=("qty",))
    assert (table.format, table.sheet, table.delimiter, table.header_row) == (
        "xlsx",
        "BOM",
        None,
        1,
    )
    assert len(table.rows) == 46
    assert all(r.values["qty"].isdigit() for r in table.rows)
    assert total_qty(table) == placements(table) == 87
    assert table.rows[0].values["refdes"] == "C1, C7, C9, C19, C20, C29, C33, C42, C52"
    assert any("'DK Order'" in note for note in table.notes)


def test_ods_is_refused_with_what_is_supported():
    with pytest.raises(UnsupportedMediaType) as caught:
        read(real("hackrf/jellybean_BOM.ods"))
    assert caught.value.code == "UNSUPPORTED_FORMAT"
    assert caught.value.status == 415
    assert "CSV (comma, semicolon or tab separated, UTF-8) or XLSX" in caught.value.detail


# --- text, delimiters and rows ---------------------------------------------------------------


def test_utf8_byte_order_mark_is_not_part_of_the_first_header():
    table = read(b"\xef\xbb\xbfRef,Qty\nR1,1\n")
    assert table.columns == ["refdes", "qty"]
    assert table.notes == []


def test_cp1252_falls_back_and_keeps_symbols():
    table = read("Ref,Qty,Description\nR1,1,10k ±1% 5µA\n".encode("cp1252"))
    assert table.rows[0].values["description"] == "10k ±1% 5µA"
    assert any("Windows-1252" in note for note in table.notes)


def test_latin1_is_the_last_resort():
    table = read(b"Ref,Qty,Description\nR1,1,odd \x81 byte\n")
    assert table.rows[0].values["description"] == "odd \x81 byte"
    assert any("Latin-1" in note for note in table.notes)


def test_utf16_unicode_text_from_excel():
    table = read("Ref\tQty\r\nR1\t2\r\n".encode("utf-16"))
    assert table.delimiter == "\t"
    assert table.rows[0].values == {"refdes": "R1", "qty": "2"}


def test_quoted_multiline_cell_and_row_numbers():
    table = read('Ref,Qty,Notes\nR1,1,"two\nlines"\n\nR2,1,x\n')
    assert [r.number for r in table.rows] == [2, 5]
    assert table.rows[0].values["notes"] == "two\nlines"


def test_blank_whitespace_and_trailing_rows_are_dropped():
    table = read("Ref,Qty\r\nR1,1\r\n , \r\n,,,\r\nR2,2\r\n\r\n\r\n,\r\n")
    assert [r.values["refdes"] for r in table.rows] == ["R1", "R2"]


def test_ragged_short_rows_get_empty_cells_and_unprovable_long_rows_are_errors():
    table = read("Ref,Qty,Value\nR1\nR2,1,10k,surplus,\n")
    assert table.rows[0].values == {"refdes": "R1", "qty": "", "value": ""}
    assert table.rows[1].extra == {"_col4": "surplus"}  # left as it is, and refused:
    [note] = table.row_notes
    assert (note.row, note.column, note.error) == (3, "Ref or Qty", True)
    assert "5 fields for the header's 3" in note.message and "quote that cell" in note.message


KICAD_ROWS = (
    "Ref,Value,Footprint,Qty\n"
    "R1,10k,Resistor_SMD:R_0402_1005Metric,1\n"
    "C1,100nF,Capacitor_SMD:C_0402_1005Metric,1\n"
    "C2 C3,1uF,Capacitor_SMD:C_0603_1608Metric,2\n"
)


def test_a_comma_in_a_value_is_rejoined_when_the_footprint_column_proves_it():
    table = read(KICAD_ROWS + "Y1,25MHz, 10ppm,Crystal:Crystal_SMD_3225-4Pin_3.2x2.5mm,1\n")
    y1 = table.rows[-1]
    assert y1.values == {
        "refdes": "Y1",
        "value": "25MHz, 10ppm",  # the text as written, space included
        "footprint": "Crystal:Crystal_SMD_3225-4Pin_3.2x2.5mm",
        "qty": "1",
    }
    assert [(n.row, n.column, n.error) for n in table.row_notes] == [(5, "Value", False)]


def test_a_comma_in_a_footprint_is_rejoined():
    table = read(KICAD_ROWS + "U7,25MHz,bitaxe:O 25,0-JO32,1\n")
    assert table.rows[-1].values["footprint"] == "bitaxe:O 25,0-JO32"
    assert [(n.row, n.column) for n in table.row_notes] == [(5, "Footprint")]


def test_a_split_no_column_can_place_is_an_error_naming_the_candidates():
    data = "Ref,Value,Description,Qty\n" + "".join(f"R{n},10k,thick film,1\n" for n in (1, 2, 3))
    table = read(data + "R4,10k,thick, film,1\n")
    [note] = table.row_notes
    assert (note.row, note.column, note.error) == (5, "Value or Description", True)
    assert "perhaps in Value, Description" in note.message


def test_a_stray_trailing_delimiter_is_not_a_split():
    table = read(KICAD_ROWS + "R5,1k,Resistor_SMD:R_0402_1005Metric,1,\n")
    assert table.rows[-1].values["qty"] == "1"
    assert (table.rows[-1].extra, table.row_notes) == ({}, [])


def test_blank_rows_between_data_rows_are_counted():
    table = read("Ref,Qty\nR1,1\n\n,\nR2,1\n\n\n")
    assert table.blank_rows == [3, 4]


def test_delimiter_is_chosen_by_the_header_not_by_comma_count():
    table = read("Ref;Qty;Description\nR1;1;RES 10K, 1%, 0402, thick film\n")
    assert table.delimiter == ";"
    assert table.rows[0].values["description"] == "RES 10K, 1%, 0402, thick film"


def test_preamble_lines_are_skipped():
    table = read("Project,Widget\nRevision,B\n\nRef Des,Quantity\nR1,4\n")
    assert table.header_row == 4
    assert table.rows[0].number == 5
    assert table.rows[0].values == {"refdes": "R1", "qty": "4"}
    assert table.notes == ["skipped 3 line(s) above the header on line 4"]


def test_single_known_column_is_a_header_when_it_is_all_there_is():
    table = read("Part Number\nABC-1\n", required=("child_part_number",))
    assert table.rows[0].values == {"child_part_number": "ABC-1"}


def test_second_spelling_of_a_column_is_kept_aside():
    table = read("Ref,Part Number,MPN,Qty\nR1,,X-2,1\n")
    assert table.rows[0].values["child_part_number"] == ""
    assert table.rows[0].extra == {"MPN": "X-2"}
    assert table.unmapped == []


def test_shift_repair_is_not_applied_to_trailing_commas():
    table = read("Ref,Qty,Description,\nR1,1,,\nR2,2,,\n")
    assert not any("shifted" in note for note in table.notes)


def test_shift_repair_is_not_applied_to_sparse_unnamed_column():
    body = "".join(f"R{n},1,,part-{n},{'x' if n == 1 else ''}\n" for n in range(1, 11))
    table = read("Ref,Qty,Description,Part Number\n" + body)
    assert not any("shifted" in note for note in table.notes)
    assert table.rows[0].extra == {"_col5": "x"}


def test_shift_repair_realigns_from_the_empty_column():
    table = read("Ref,Qty,Description,Part Number,\nR1,1,,RES 10K,RC0402\nR2,1,,CAP,GRM1\n")
    assert table.rows[0].values == {
        "refdes": "R1",
        "qty": "1",
        "description": "RES 10K",
        "child_part_number": "RC0402",
    }


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_cells_become_text_as_a_person_sees_them():
    data = xlsx(
        ("Notes", [["just a cover sheet"]]),
        (
            "Parts",
            [
                ["Exported by CAD"],
                [],
                ["Ref", "Qty", "Value", "Notes", "DNP"],
                ["R1", 3.0, 2.5, datetime(2024, 1, 2), True],
                ["R2", 4, None, datetime(2024, 1, 2, 13, 30), None],
                ["R3", "5", date(2023, 5, 6)],
            ],
        ),
    )
    table = read(data)
    assert (table.sheet, table.header_row) == ("Parts", 3)
    assert [r.number for r in table.rows] == [4, 5, 6]
    assert table.rows[0].values == {
        "refdes": "R1",
        "qty": "3",
        "value": "2.5",
        "notes": "2024-01-02",
        "dnp": "TRUE",
    }
    assert table.rows[1].values["value"] == ""
    assert table.rows[1].values["notes"] == "2024-01-02T13:30:00"
    assert table.rows[2].values["value"] == "2023-05-06"


def test_xlsx_without_any_header_names_the_required_columns():
    with pytest.raises(Invalid) as caught:
        read(xlsx(("A", [["x", "y"]]), ("B", [["1", "2"]])))
    assert caught.value.code == "HEADER_NOT_FOUND"


def test_empty_workbook_is_empty():
    with pytest.raises(Invalid) as caught:
        read(xlsx(("A", [])))
    assert caught.value.code == "EMPTY_FILE"


# --- refusals --------------------------------------------------------------------------------


def test_missing_header_names_required_columns_and_aliases():
    with pytest.raises(Invalid) as caught:
        read("just,some\nwords,here\n")
    assert caught.value.code == "HEADER_NOT_FOUND"
    assert "refdes (any of: refdes, reference_designators" in caught.value.detail


@pytest.mark.parametrize("data", [b"", b"   \r\n\n\t", b"\xef\xbb\xbf"])
def test_empty_files(data):
    with pytest.raises(Invalid) as caught:
        read(data)
    assert caught.value.code == "EMPTY_FILE"


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"Ref,Qty\nR1,\x00\x01\x02\n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
        zipped({"readme.txt": b"hello"}),
        zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
    ],
    ids=["binary", "pdf", "xls", "zip", "ods"],
)
def test_unsupported_formats(data):
    with pytest.raises(UnsupportedMediaType) as caught:
        read(data)
    assert caught.value.code == "UNSUPPORTED_FORMAT"
    assert "or XLSX" in caught.value.detail


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"garbage" * 20,
        zipped({"xl/workbook.xml": b"<not a workbook"}),
    ],
    ids=["corrupt-zip", "corrupt-xlsx"],
)
def test_damaged_workbooks_are_unreadable(data):
    with pytest.raises(Invalid) as caught:
        read(data)
    assert caught.value.code == "UNREADABLE_FILE"
    assert caught.value.status == 400


def test_truncated_workbook_is_unreadable():
    data = real("bitaxe/bitaxeUltra BOM.xlsx")
    with pytest.raises(Invalid) as caught:
        read(data[: len(data) // 2])
    assert caught.value.code == "UNREADABLE_FILE"


def test_a_cell_larger_than_the_csv_field_limit_is_unreadable_with_its_line():
    with pytest.raises(Invalid) as caught:
        read('Ref,Qty,Notes\nR1,1,"' + "x" * 200_000 + '"\n')
    assert caught.value.code == "UNREADABLE_FILE"
    assert "Line 2" in caught.value.detail


def test_a_large_xlsx_cell_is_read_whole():
    table = read(xlsx(("BOM", [["Ref", "Qty", "Notes"], ["R1", 1, "y" * 32_000]])))
    assert len(table.rows[0].values["notes"]) == 32_000


def test_too_many_rows():
    data = "Ref,Qty\n" + "R1,1\n" * 3
    assert len(read(data, max_rows=3).rows) == 3
    with pytest.raises(Invalid) as caught:
        read(data, max_rows=2)
    assert caught.value.code == "TOO_MANY_ROWS"


def test_required_column_without_aliases_is_a_programming_error():
    with pytest.raises(ValueError, match="no aliases"):
        read("Ref\nR1\n", required=("nonexistent",))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=500).map(str.encode),
        st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b),
        st.text(alphabet=st.sampled_from('Ref,Qty;\t"\n\r x1'), max_size=300).map(str.encode),
    )
)
def test_arbitrary_bytes_raise_only_domain_errors(data):
    with contextlib.suppress(Invalid, UnsupportedMediaType):
        read(data)


# --- names and designators -------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["Ref Des", "ref_des", "REF-DES", " RefDes: ", "\uff52\uff45\uff46 des"]
)
def test_normalise_header(spelling):
    assert normalise_header(spelling) == "refdes"


def test_normalise_header_keeps_digits_and_letters_only():
    assert normalise_header("Reference(s)") == "references"
    assert normalise_header("Comment 1") == "comment1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C1, C2, C5", ["C1", "C2", "C5"]),
        ("C1 C2 C5 ", ["C1", "C2", "C5"]),
        ("C1;C2\tC5", ["C1", "C2", "C5"]),
        ("R1-R4", ["R1", "R2", "R3", "R4"]),
        ("R1 - R3, R7", ["R1", "R2", "R3", "R7"]),
        ("R1-3", ["R1", "R2", "R3"]),
        ("R08-R10", ["R08", "R09", "R10"]),
        ("C1, C1, C2, C1", ["C1", "C2"]),
        ("J1-A, U1", ["J1-A", "U1"]),
        ("", []),
        (" , ;", []),
    ],
)
def test_expand_refdes(text, expected):
    assert expand_refdes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("R4-R1", "runs backwards"), ("R1-C4", "mixes prefixes"), ("R1-R20", "more than 10")],
)
def test_expand_refdes_rejects_bad_ranges(text, message):
    with pytest.raises(ValueError, match=message):
        expand_refdes(text, limit=10)


def test_expand_refdes_limit_counts_all_designators():
    assert len(expand_refdes("R1-R5 C1-C5", limit=10)) == 10
    with pytest.raises(ValueError, match="more than 10"):
        expand_refdes("R1-R5 C1-C6", limit=10)


@given(st.text(max_size=200))
def test_expand_refdes_raises_only_value_error(text):
    with contextlib.suppress(ValueError):
        expand_refdes(text, limit=100)
