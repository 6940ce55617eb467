"""Drill-down from a dashboard chart to the responses or complaints behind it (raw, paginated).

Each page counts the rows behind it (one COUNT of the filtered rows, as the other lists do) to
say how many there are and how many pages; names stand in for codes; personal data is masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

import nlp
from app.extensions import db
from app.models import Complaint, Response, User
from app.models.base import utcnow
from app.models.complaint import (
    deadline_running_clause,
    ended_late_undecided_clause,
    first_decision,
    undecided_clause,
)
from app.services import dashboard_complaints, paging
from app.services.dashboard_filters import Filters
from app.services.paging import Page
from app.services.rollups import TZ, within_days
from surveys.scoring import half_up

PAGE_SIZE = 50
CODE_ARGS = tuple(dashboard_complaints.DIMENSIONS)  # code_channel, code_business, code_cause
UNCODED = "未分类"
# 看板 · 处理人员's figures, case by case: the decisions a staff member first made in the range
# (``decider``), and the cases they hold now, undecided, whatever the dates (``holder``)
PERSON_ARGS = ("decider", "holder")


def _range(column: Any, f: Filters) -> list[Any]:
    return within_days(column, f.start, f.end)


def responses(f: Filters, *, page: int = 1, limit: int = PAGE_SIZE) -> Page:
    stmt = select(Response).where(*_range(Response.submitted_at, f))
    stmt = dashboard_complaints.narrowed(stmt, f, Response)
    if f.survey is not None:
        stmt = stmt.where(Response.survey_id == f.survey.id)
    return _page(
        stmt,
        (Response.survey, Response.branch, Response.product),
        (Response.submitted_at.desc(), Response.id.desc()),
        page,
        limit,
    )


def complaints(
    f: Filters, extra: Mapping[str, str], *, page: int = 1, limit: int = PAGE_SIZE
) -> Page:
    """Complaints received in the range (or, with ``overdue=1``, open and past their deadline;
    with ``decider=ID``, first decided in the range by that staff member; with ``holder=ID``,
    held by them now and not yet decided, as 看板 · 处理人员 counts them)."""
    overdue = extra.get("overdue") == "1"
    if extra.get("decider"):
        overdue = False  # (decisions are listed by when they were made)
        stmt = select(Complaint).where(
            *dashboard_complaints.first_decided_in(f),
            Complaint.decided_by_id == int(extra["decider"]),
        )
    elif extra.get("holder"):
        holder = Complaint.assignee_id == int(extra["holder"])
        stmt = select(Complaint).where(undecided_clause(), holder)
    elif overdue:  # (those ended undecided after the deadline too, as the figure counts them)
        stmt = select(Complaint).where(
            or_(deadline_running_clause(), ended_late_undecided_clause())
        )
    else:  # (a merged repeat is the complaint it joined: not counted again)
        stmt = select(Complaint).where(
            *_range(Complaint.received_at, f), Complaint.merged_into_id.is_(None)
        )
    if overdue:
        stmt = stmt.where(Complaint.due_at < utcnow())
    stmt = dashboard_complaints.narrowed(stmt, f)
    for name in CODE_ARGS:
        if extra.get(name):
            stmt = stmt.where(getattr(Complaint, name) == extra[name][:20])
    if extra.get("regulator") == "1":
        stmt = stmt.where(Complaint.channel == "regulator")
    return _page(
        stmt,
        (Complaint.branch, Complaint.product),
        (Complaint.received_at.desc(), Complaint.id.desc()),
        page,
        limit,
    )


def _page(stmt: Any, joined: Iterable[Any], order: Iterable[Any], page: int, limit: int) -> Page:
    total = paging.count(stmt)
    page, pages = paging.place(total, page, limit)
    rows = db.session.scalars(
        stmt.options(*(joinedload(r) for r in joined))
        .order_by(*order)
        .limit(limit)
        .offset((page - 1) * limit)
    ).unique()
    return Page(list(rows), page, pages, total)


def extra_text(extra: Mapping[str, str]) -> list[str]:
    """The drill-only filters in words (a JR/T 0169 code by its name, the regulator channel)."""
    taxonomy = nlp.load_taxonomy()
    out = []
    for name in CODE_ARGS:
        if extra.get(name):
            label = _coded(taxonomy, extra[name][:20])
            out.append(f"{dashboard_complaints.DIMENSION_LABELS[name]}：{label}")
    if extra.get("regulator") == "1":
        out.append("仅监管转办")
    if extra.get("decider"):
        out.append(f"{person_name(int(extra['decider']))}期内首次作出处理决定的投诉")
    if extra.get("holder"):
        late = "、已超过处理时限" if extra.get("overdue") == "1" else ""
        name = person_name(int(extra["holder"]))
        out.append(f"{name}当前在办、尚未作出决定{late}的投诉（不限收到日期）")
    return out


def person_name(user_id: int) -> str:
    """A staff member's name, if a complaint the viewer may see was decided or is held by them
    (as 看板 · 处理人员 names them); otherwise only 该员工, so an id does not reveal a name."""
    involved = select(Complaint.id).where(
        (Complaint.decided_by_id == user_id) | (Complaint.assignee_id == user_id)
    )
    if db.session.scalar(involved.limit(1)) is None:
        return "该员工"
    user = db.session.get(User, user_id)
    return user.display_name if user is not None else "该员工"


def _coded(taxonomy: nlp.Taxonomy, code: str | None) -> str:
    """A JR/T 0169 code as its label (``C01 服务态度及服务质量``); an unknown code as it is."""
    if not code:
        return UNCODED
    entry = taxonomy.get(code)
    return entry.label if entry else code


def local_text(moment: Any) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def response_rows(items: list[Response]) -> tuple[list[str], list[list[Any]]]:
    columns = [
        "编号",
        "提交时间",
        "问卷",
        "机构",
        "产品",
        "渠道",
        # the answers' own scores, named as on 答卷 (elsewhere on the dashboards "CSAT" is a
        # share of satisfied customers and "NPS" a net score from -100 to 100)
        "满意度（1–5）",
        "推荐度（0–10）",
        "满意度指数",
        "意见（已脱敏）",
    ]
    rows = [
        [
            r.id,
            local_text(r.submitted_at),
            r.survey.title if r.survey else "",
            r.branch.name if r.branch else "",
            r.product.name if r.product else "",
            r.channel_label,
            r.csat,
            r.nps,
            half_up(r.index_score, 1),
            (r.comment_redacted or "")[:200],
        ]
        for r in items
    ]
    return columns, rows


def complaint_rows(items: list[Complaint]) -> tuple[list[str], list[list[Any]]]:
    columns = [
        "投诉编号",
        "收到时间",
        "机构",
        "产品",
        "渠道",
        "状态",
        "投诉人（脱敏）",
        "问题发生渠道",
        "业务类别",
        "投诉原因",
        "处理时限",
        "作出决定时间",
    ]
    taxonomy = nlp.load_taxonomy()
    rows = [
        [
            c.reference,
            local_text(c.received_at),
            c.branch.name if c.branch else "",
            c.product.name if c.product else "",
            c.channel_label,
            c.status_label,
            c.masked_name,
            *(_coded(taxonomy, getattr(c, name)) for name in CODE_ARGS),
            local_text(c.due_at),
            local_text(first_decision(c).decided),
        ]
        for c in items
    ]
    return columns, rows
