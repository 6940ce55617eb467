"""Dashboard tables as CSV or XLSX: spreadsheet formulas neutralised, every export audited.

Dashboard tables hold aggregates only; drill-down exports carry masked personal data (the
masking happens where the rows are built), so nothing here ever unmasks.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from app.services import audit
from app.services.tx import transactional

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MUTED_FILL = PatternFill("solid", fgColor="EEEEEE")
BOLD = Font(bold=True)


def safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not run: text starting with = + - @ gets a quote.
    Control characters (which an integrator's or an e-mail's text may carry) are dropped: a
    worksheet cannot hold them, and one such cell made the whole XLSX export fail."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe(c) for c in columns])
    for row in rows:
        writer.writerow(["" if v is None else safe(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese


def to_xlsx(
    sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]], Sequence[bool]]],
) -> bytes:
    """One sheet per (title, columns, rows, muted rows); muted rows are greyed; each column as
    wide as its longest text. Written in openpyxl's write-only mode (rows streamed to the file,
    no cell objects kept: a normal workbook of ~50,000 rows took over ten seconds)."""
    book = Workbook(write_only=True)
    for title, columns, rows, muted in sheets:
        safe_rows = [[safe(v) for v in row] for row in rows]
        widths = [len(str(safe(c) or "")) for c in columns]
        for row in safe_rows:
            for i, value in enumerate(row):
                if i < len(widths):
                    widths[i] = max(widths[i], len(str(value or "")))
                else:
                    widths.append(len(str(value or "")))
        _write_sheet(book, title, columns, safe_rows, muted, [_width(w) for w in widths])
    return _saved(book)


def stream_xlsx(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], widths: Sequence[float]
) -> tuple[bytes, int]:
    """One sheet from rows read as they come, bold heading and fixed column ``widths``; (the
    file, the number of rows written). Cells as in to_xlsx (formulas neutralised, control
    characters dropped, text as text, numbers as numbers).

    For the large exports (the complaint ledger's ~50,000 rows): the sheet's XML is written
    straight into the package, inline strings, a few hundred rows at a time. openpyxl, even
    write-only, spends ~8 µs on every cell: 7.6 s for 48,000 rows x 19 columns, where this
    takes 1.6 s. The package holds only the standard minimal parts (content types, relations,
    workbook, one worksheet, a style sheet); openpyxl reads it back cell for cell as to_xlsx
    writes it (tests/services/test_exports_stream.py)."""
    letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]
    out = io.BytesIO()
    count = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in _PARTS.items():
            package.writestr(name, text)
        name = _sheet_title(title).translate(_XML_ESCAPES)
        package.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>'
            f'<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            cols = "".join(
                f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                for i, w in enumerate(widths, start=1)
            )
            sheet.write(f'{_XML}<worksheet xmlns="{_MAIN_NS}"><cols>{cols}</cols>'.encode())
            sheet.write(b"<sheetData>" + _xml_row(1, columns, letters, ' s="1"').encode())
            chunk: list[str] = []
            for n, row in enumerate(rows, start=2):
                chunk.append(_xml_row(n, row, letters))
                count += 1
                if len(chunk) == 500:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            sheet.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return out.getvalue(), count


def _xml_row(n: int, values: Sequence[Any], letters: Sequence[str], style: str = "") -> str:
    """Row ``n`` of a worksheet: its values made safe, blank ones left out (as openpyxl does);
    a value beyond the heading's columns is dropped."""
    cells = []
    for letter, raw in zip(letters, values, strict=False):
        value = safe(raw)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            cells.append(f'<c r="{letter}{n}" t="b"{style}><v>{int(value)}</v></c>')
        elif isinstance(value, int | float) and math.isfinite(value):
            cells.append(f'<c r="{letter}{n}"{style}><v>{value!r}</v></c>')
        else:
            text = str(value).translate(_XML_ESCAPES)
            cells.append(
                f'<c r="{letter}{n}" t="inlineStr"{style}>'
                f'<is><t xml:space="preserve">{text}</t></is></c>'
            )
    return f'<row r="{n}">{"".join(cells)}</row>'


# The fixed parts of a one-sheet package for stream_xlsx (style 1: the bold heading).
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_NS = "http://schemas.openxmlformats.org/package/2006"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_PARTS = {
    "[Content_Types].xml": (
        f'{_XML}<Types xmlns="{_PKG_NS}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_SHEET_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_TYPE}.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'{_XML}<Relationships xmlns="{_PKG_NS}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/_rels/workbook.xml.rels": (
        f'{_XML}<Relationships xmlns="{_PKG_NS}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        f'{_XML}<styleSheet xmlns="{_MAIN_NS}">'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def stream_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> tuple[bytes, int]:
    """to_csv of rows read as they come; (the file, the number of rows written)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else safe(v) for v in row])
        count += 1
    return ("\ufeff" + buffer.getvalue()).encode("utf-8"), count


def _width(longest: int) -> float:
    return min(max(10, longest * 2), 60)


def _write_sheet(
    book: Workbook,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    muted: Sequence[bool],
    widths: Sequence[float],
) -> int:
    """Append a sheet of already-safe ``rows`` to a write-only ``book``; the rows written."""
    sheet = book.create_sheet(_sheet_title(title))
    for i, width in enumerate(widths, start=1):  # (set before the first row, as write-only needs)
        sheet.column_dimensions[get_column_letter(i)].width = width
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=safe(name))
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    count = 0
    for i, row in enumerate(rows):
        if i < len(muted) and muted[i]:
            row = [_muted(sheet, v) for v in row]
        sheet.append(row)
        count += 1
    return count


def _muted(sheet: Any, value: Any) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.fill = MUTED_FILL
    return cell


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    for ch in "[]:*?/\\":
        title = title.replace(ch, " ")
    return title[:31] or "Sheet"


@transactional
def record_export(kind: str, *, title: str, filters: dict[str, str], rows: int, fmt: str) -> None:
    """Write the audit entry of one export (who, what, which filters, how many rows); ``title``
    is what the audit log shows for ``kind`` (its Chinese name, e.g. 总览 · 文本情感分布)."""
    audit.record(
        "dashboard.export",
        object_type="dashboard_table",
        object_id=kind,
        detail={"title": title, "filters": filters, "rows": rows, "format": fmt},
    )
