"""One page of a list: the lists of customers, call-backs, answers, cases, audit entries and
the dashboards' drill-downs page the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    pages: int
    total: int


def count(stmt: Any) -> int:
    """How many rows the statement selects."""
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def place(total: int, page: int, size: int) -> tuple[int, int]:
    """(page, pages): the page asked for, kept between the first and the last (an empty list
    has one, empty, page)."""
    pages = max(1, -(-total // size))
    return min(max(page, 1), pages), pages
