"""Dashboard tables as CSV or XLSX: spreadsheet formulas neutralised, every export audited.

Dashboard tables hold aggregates only; drill-down exports carry masked personal data (the
masking happens where the rows are built), so nothing here ever unmasks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill

from app.services import audit
from app.services.tx import transactional

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MUTED_FILL = PatternFill("solid", fgColor="EEEEEE")


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
    """One sheet per (title, columns, rows, muted rows); muted rows are greyed."""
    book = Workbook()
    book.remove(book.active)
    for title, columns, rows, muted in sheets:
        sheet = book.create_sheet(_sheet_title(title))
        sheet.append([safe(c) for c in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for i, row in enumerate(rows):
            sheet.append([safe(v) for v in row])
            if i < len(muted) and muted[i]:
                for cell in sheet[sheet.max_row]:
                    cell.fill = MUTED_FILL
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(10, width * 2), 60)
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
