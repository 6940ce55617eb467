"""看板 · 处理人员: complaint handling per staff member, for performance reviews (the 办法's
Art. 27 counts complaint handling in them).

A decision is credited to whoever made it (``Complaint.decided_by_id``, set by 作出处理决定); a
review's decision has a clock of its own and is not counted, but a review asked for is counted
against the decision reviewed, since it is the complainant's verdict on it. Decided, on time
and days follow the complaint rollup's definitions (``complaint_contributions``, in SQL), so a
person's figures add up to the complaints page's for the same filters. The cases each person
holds now (assigned, not yet decided) and those of them past their deadline are a live count,
whatever the dates. Satisfaction is the share of 4–5 ratings in the surveys sent after the
person's decisions (complaint-resolution follow-ups), shown only from the minimum sample.

Read live from the complaints, one grouped scan of the period's decisions (not a rollup: there
is no staff dimension in it); the page is opened for a review, not kept open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from app.extensions import db
from app.models import Complaint, Invitation, Response, User, utcnow
from app.models.complaint import (
    first_decided_in_time_clause,
    first_decision_clause,
    first_decision_pending_clause,
    undecided_clause,
)
from app.services import dashboard_complaints as dc
from app.services import metrics
from app.services.dashboard_filters import Filters
from app.services.dashboard_pages import (
    COMPLAINTS_NOT_BY_SURVEY,
    Card,
    Chart,
    PageData,
    Series,
    Table,
    num,
    pct,
    r,
)
from app.services.rollups import TZ

NO_ACTOR = "（未记录处理人）"
COLUMNS = [
    "处理人",
    "所属机构",
    "作出决定（件）",
    "法定时限内（件）",
    "时限内占比（%）",
    "平均处理天数",
    "申请核查（件）",
    "核查率（%）",
    "回访答卷（份）",
    "处理满意度（%）",
    "当前在办（件）",
    "其中已超期（件）",
]


@dataclass
class _Person:
    name: str
    unit: str = ""
    decided: int = 0
    in_time: int = 0
    pending: int = 0  # decided, not yet told, the deadline still ahead: outside the share
    days: int = 0
    reviewed: int = 0
    rated: int = 0
    satisfied: int = 0
    open_now: int = 0
    overdue_now: int = 0


def _decided_in(f: Filters, *columns: Any) -> Select:
    """``columns`` of the complaints (in the filters' scope) whose first decision falls in the
    period."""
    stmt = select(*columns).select_from(Complaint).where(*dc.first_decided_in(f))
    return dc.narrowed(stmt, f)


def _local_date(column: Any) -> Any:
    """A UTC timestamp's Beijing day, as a number of days (China has kept UTC+8 since 1991)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(TZ.key, column))
    return func.julianday(func.date(column, "+8 hours"))


def _decision_days() -> Any:
    """Beijing days from receipt to the first decision, never below 0 (the rollup's)."""
    _, decided, _ = first_decision_clause()
    days = _local_date(decided) - _local_date(Complaint.received_at)
    return case((days < 0, 0), else_=days)


def _by_decider(f: Filters, *columns: Any) -> Select:
    """``columns`` over the period's decided complaints, grouped by who made the decision."""
    return _decided_in(f, Complaint.decided_by_id, *columns).group_by(Complaint.decided_by_id)


def _people(f: Filters) -> dict[int | None, _Person]:
    """Per staff id (None: decisions nobody is recorded for); names and units from _units."""
    people: dict[int | None, _Person] = {}

    def person(user_id: int | None) -> _Person:
        return people.setdefault(user_id, _Person(NO_ACTOR))

    decisions = _by_decider(
        f,
        func.count(Complaint.id),
        func.sum(first_decided_in_time_clause()),
        func.sum(_decision_days()),
        func.sum(case((Complaint.review_requested_on.is_not(None), 1), else_=0)),
        func.sum(case((first_decision_pending_clause(utcnow()), 1), else_=0)),
    )
    for actor_id, *figures in db.session.execute(decisions):
        decided, in_time, days, reviewed, pending = (int(x or 0) for x in figures)
        p = person(actor_id)
        p.decided += decided
        p.in_time += in_time
        p.pending += pending
        p.days += days
        p.reviewed += reviewed
    # Joined from the period's decided complaints (not the other way round): only their
    # follow-up answers are read, not every complaint-resolution answer ever given.
    ratings = (
        _by_decider(
            f,
            func.count(Response.id),
            func.sum(case((Response.csat >= 4, 1), else_=0)),
        )
        .join(Invitation, Invitation.complaint_id == Complaint.id)
        .join(Response, Response.invitation_id == Invitation.id)
        .where(Response.csat.is_not(None))
    )
    for actor_id, rated, satisfied in db.session.execute(ratings):
        p = person(actor_id)
        p.rated += int(rated or 0)
        p.satisfied += int(satisfied or 0)
    now = utcnow()
    open_cases = dc.narrowed(
        select(Complaint.assignee_id, Complaint.due_at).where(
            Complaint.assignee_id.is_not(None), undecided_clause()
        ),
        f,
    )
    for user_id, due_at in db.session.execute(open_cases):
        p = person(user_id)
        p.open_now += 1
        p.overdue_now += int(due_at is not None and due_at < now)
    _units(people)
    return people


def _overdue_sub(f: Filters, assigned: int) -> str:
    """The card's "其中已超期", with the overdue cases no handler holds undecided (unassigned,
    or decided and waiting for the notice or a review), which the overview's 当前超期未决 counts
    as well: the two live figures then add up on screen."""
    parts = dc.overdue_now_parts(f)
    rest = [
        f"{label} {n} 件"
        for n, label in ((parts.unassigned, "未分派"), (parts.decided, "已决定待告知或核查中"))
        if n
    ]
    return f"其中已超期 {assigned} 件" + (f"；另有{'、'.join(rest)}已超期" if rest else "")


def _units(people: dict[int | None, _Person]) -> None:
    ids = [user_id for user_id in people if user_id is not None]
    if not ids:
        return
    branches = metrics.branch_map()
    found = db.session.execute(
        select(User.id, User.display_name, User.branch_id).where(User.id.in_(ids))
    ).all()
    for user_id, name, branch_id in found:
        p = people[user_id]
        p.name = name or p.name
        branch = branches.get(branch_id) if branch_id is not None else None
        p.unit = branch.name if branch is not None else "总行"


def _share(in_time: int, due: int) -> float | None:
    """时限内占比 (%) of the decisions due (a decision not yet told, whose deadline is still
    ahead, is not due yet: ``complaint_clock.notice_pending``)."""
    return r(in_time / due, 1, 100) if due > 0 else None


def handlers(f: Filters) -> PageData:
    page = PageData()
    minimum = metrics.min_sample_size()
    ranked = sorted(  # (staff id, figures), most decisions first
        _people(f).items(), key=lambda kv: (-kv[1].decided, -kv[1].open_now, kv[1].name)
    )
    people = [p for _, p in ranked]
    t = page.table(
        Table("handlers", "处理人员考核", COLUMNS, empty="所选范围内没有作出决定或在办的投诉")
    )
    decided_column, open_column = COLUMNS.index("作出决定（件）"), COLUMNS.index("当前在办（件）")
    late_column = COLUMNS.index("其中已超期（件）")
    for user_id, p in ranked:
        if user_id is not None:  # the cases behind the counts, one click away
            row = len(t.rows)
            if p.decided:
                t.drills[(row, decided_column)] = {"decider": str(user_id)}
            if p.open_now:
                t.drills[(row, open_column)] = {"holder": str(user_id)}
            if p.overdue_now:
                t.drills[(row, late_column)] = {"holder": str(user_id), "overdue": "1"}
        t.add(
            [
                p.name,
                p.unit,
                p.decided,
                p.in_time,
                _share(p.in_time, p.decided - p.pending),
                r(p.days / p.decided, 1) if p.decided else None,
                p.reviewed,
                r(p.reviewed / p.decided, 1, 100) if p.decided else None,
                p.rated,
                r(p.satisfied / p.rated, 1, 100) if p.rated >= minimum else None,
                p.open_now,
                p.overdue_now,
            ]
        )
    decided = sum(p.decided for p in people)
    in_time = sum(p.in_time for p in people)
    due = decided - sum(p.pending for p in people)
    staff = [p for p in people if p.name != NO_ACTOR]
    page.cards = [
        Card("处理人员", str(len(staff)), "期内作出决定或此刻在办的人员"),
        Card("作出处理决定", str(decided), f"时限内 {pct(in_time / due if due > 0 else None)}"),
        Card(
            "平均处理天数",
            num(sum(p.days for p in people) / decided if decided else None),
            "自然日，收到至首次作出决定",
        ),
        Card(
            "当前在办",
            str(sum(p.open_now for p in people)),
            _overdue_sub(f, sum(p.overdue_now for p in people)),
        ),
    ]
    shown = [p for p in people if p.decided][:20]
    if shown:
        page.charts.append(
            Chart(
                "chart-handlers",
                "各处理人员作出决定件数与时限内占比",
                "件（柱）；%（点，右轴）",
                t.name,
                x=[p.name for p in shown],
                series=[
                    Series("作出决定", [p.decided for p in shown], "bar"),
                    Series(
                        "时限内占比",
                        [_share(p.in_time, p.decided - p.pending) for p in shown],
                        "dot",
                        axis="y2",
                    ),
                ],
                note=f"按作出决定件数排序，显示前 {len(shown)} 人",
                y_title="件",
                y2_title="时限内占比（%）",
                y2_range=(0, 105),  # (100 % is the top tick; the room above is for the dots)
                table_below=True,
                drill="",  # (each count in the table links to its own cases)
            )
        )
    page.notes = [
        "作出决定按投诉首次作出处理决定的人员统计（核查决定另有时限，不计入）；申请核查计在首次"
        "决定的作出人名下。时限、天数口径与“投诉”页相同；但本页的时限内比例只算已作出的决定，"
        "“投诉”页的法定时限内比例还把期内超期未决的投诉计为超时（它们没有作出决定的人员），"
        "故两处比例可以不同。",
        f"处理满意度：该人员作出决定的投诉回访中 4–5 分的占比；回访答卷少于 {minimum} 份的不显示"
        "比例（样本不足）。当前在办：分派给该人员、时限计时中且尚未作出处理决定的投诉（已作决定、"
        "待告知或待办结的不计入，故可少于其工作台的“我的在办投诉”）。“当前在办”与“其中已超期”"
        "为实时数字，不受日期范围影响；未分派或已作决定的超期投诉不在其中，计入总览的“当前超期未决”。",
    ]
    if f.survey is not None:
        page.notes.insert(0, COMPLAINTS_NOT_BY_SURVEY)
    return page


__all__ = ["handlers"]
