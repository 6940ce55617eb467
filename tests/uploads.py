"""Files for the upload tests: the smallest file of each kind the complaint forms take, and the
marks of a test module that posts large files."""

from __future__ import annotations

import io

import pytest

MB = 1024 * 1024
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 2000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x02" * 2000
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


def xlsx(rows: list[list[str]]) -> bytes:
    """A workbook whose first sheet holds ``rows`` (an import file as Excel saves it)."""
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# Werkzeug spools large uploads to temporary files and leaves some of them to the garbage
# collector; they are collected after each test (conftest's ``collect_spooled_uploads``),
# where those warnings are expected.
LARGE_UPLOADS = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.usefixtures("collect_spooled_uploads"),
]


def stored_rows() -> tuple[int, int, int]:
    """How many complaints, complaint files and customers there are (a refusal adds none)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Complaint, ComplaintAttachment, Customer

    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return count(Complaint), count(ComplaintAttachment), count(Customer)
