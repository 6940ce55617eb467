"""Drill-down from a dashboard chart to the responses or complaints behind it (raw, paginated).

Pages are fetched with LIMIT n+1 (no COUNT over millions of rows); personal data is masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Complaint, Response
from app.models.base import utcnow
from app.models.complaint import CLOCK_RUNNING
from app.services import dashboard_complaints
from app.services.dashboard_filters import Filters
from app.services.rollups import TZ, day_start

PAGE_SIZE = 50
CODE_ARGS = ("code_channel", "code_business", "code_cause")


@dataclass
class DrillPage:
    items: list[Any]
    page: int
    has_next: bool


def _range(column: Any, f: Filters) -> list[Any]:
    return [column >= day_start(f.start), column < day_start(f.end + timedelta(days=1))]


def responses(f: Filters, *, page: int = 1, limit: int = PAGE_SIZE) -> DrillPage:
    stmt = select(Response).where(*_range(Response.submitted_at, f))
    if f.branch_ids is not None:
        stmt = stmt.where(Response.branch_id.in_(f.branch_ids))
    if f.product is not None:
        stmt = stmt.where(Response.product_id == f.product.id)
    if f.channel is not None:
        stmt = stmt.where(Response.channel == f.channel)
    if f.survey is not None:
        stmt = stmt.where(Response.survey_id == f.survey.id)
    return _page(
        stmt.options(joinedload(Response.survey), joinedload(Response.branch)).order_by(
            Response.submitted_at.desc(), Response.id.desc()
        ),
        page,
        limit,
    )


def complaints(
    f: Filters, extra: Mapping[str, str], *, page: int = 1, limit: int = PAGE_SIZE
) -> DrillPage:
    """Complaints received in the range (or, with ``overdue=1``, open and past their deadline)."""
    if extra.get("overdue") == "1":
        stmt = select(Complaint).where(
            Complaint.status.in_([str(s) for s in CLOCK_RUNNING]), Complaint.due_at < utcnow()
        )
    else:
        stmt = select(Complaint).where(*_range(Complaint.received_at, f))
    stmt = dashboard_complaints.narrowed(stmt, f)
    for name in CODE_ARGS:
        if extra.get(name):
            stmt = stmt.where(getattr(Complaint, name) == extra[name][:20])
    if extra.get("regulator") == "1":
        stmt = stmt.where(Complaint.channel == "regulator")
    stmt = stmt.options(joinedload(Complaint.branch)).order_by(
        Complaint.received_at.desc(), Complaint.id.desc()
    )
    return _page(stmt, page, limit)


def _page(stmt: Any, page: int, limit: int) -> DrillPage:
    page = max(1, min(page, 10_000))
    rows = list(db.session.scalars(stmt.limit(limit + 1).offset((page - 1) * limit)).unique())
    return DrillPage(rows[:limit], page, len(rows) > limit)


def local_text(moment: Any) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def response_rows(items: list[Response]) -> tuple[list[str], list[list[Any]]]:
    columns = [
        "编号",
        "提交时间",
        "问卷",
        "机构",
        "渠道",
        "CSAT",
        "NPS",
        "满意度指数",
        "意见（已脱敏）",
    ]
    rows = [
        [
            r.id,
            local_text(r.submitted_at),
            r.survey.title if r.survey else "",
            r.branch.name if r.branch else "",
            r.channel_label,
            r.csat,
            r.nps,
            None if r.index_score is None else round(r.index_score, 1),
            (r.comment_redacted or "")[:200],
        ]
        for r in items
    ]
    return columns, rows


def complaint_rows(items: list[Complaint]) -> tuple[list[str], list[list[Any]]]:
    columns = [
        "投诉编号",
        "受理时间",
        "机构",
        "渠道",
        "状态",
        "投诉人（脱敏）",
        "A 渠道",
        "B 业务",
        "C 原因",
        "处理时限",
        "作出决定时间",
    ]
    rows = [
        [
            c.reference,
            local_text(c.received_at),
            c.branch.name if c.branch else "",
            c.channel_label,
            c.status_label,
            c.masked_name,
            c.code_channel or "",
            c.code_business or "",
            c.code_cause or "",
            local_text(c.due_at),
            local_text(c.decided_at),
        ]
        for c in items
    ]
    return columns, rows
