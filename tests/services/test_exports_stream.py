"""The large exports' writers (exports.stream_xlsx, stream_csv): the rows as they come, cells
as to_xlsx and to_csv make them (formulas neutralised, control characters dropped, numbers as
numbers), a workbook that openpyxl reads back cell for cell (no database needed)."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from app.services import exports

COLUMNS = ("编号", "金额", "说明", "空")
ROWS = [
    ["TS1", 12.5, '=HYPERLINK("http://x") & <b>"引号"', None],
    ["TS2", -3, "  前后空格  ", ""],
    ["TS3", 0, "+86 138\x01 1234 @home", True],
    ["TS4", 7, "\t制表符开头 -5", "第四列"],
]


def test_stream_xlsx_reads_back_as_to_xlsx_writes():
    streamed, count = exports.stream_xlsx("台账[测试]", COLUMNS, iter(ROWS), (12, 10, 40, 8))
    assert count == len(ROWS)
    reference = exports.to_xlsx([("台账[测试]", COLUMNS, ROWS, [])])
    a = load_workbook(io.BytesIO(streamed)).worksheets[0]
    b = load_workbook(io.BytesIO(reference)).worksheets[0]
    assert a.title == b.title == "台账 测试 "
    assert list(a.iter_rows(values_only=True)) == list(b.iter_rows(values_only=True))
    values = list(a.iter_rows(values_only=True))
    assert values[0] == COLUMNS and all(cell.font.b for cell in a[1])
    assert values[1][1] == 12.5 and values[2][1] == -3  # numbers stay numbers
    assert values[1][2].startswith("'=HYPERLINK") and values[3][2] == "'+86 138 1234 @home"
    assert values[2][2] == "  前后空格  " and values[4][2].startswith("'\t")
    assert a.column_dimensions["C"].width == 40


def test_stream_csv_is_to_csv():
    body, count = exports.stream_csv(COLUMNS, iter(ROWS))
    assert count == len(ROWS) and body == exports.to_csv(COLUMNS, ROWS)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][2].startswith("'=") and rows[3][2].startswith("'+86")
