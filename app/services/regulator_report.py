"""Quarterly complaint statistics in the shape a regulator asks for, as XLSX.

Counts per branch by the three JR/T 0169-2018 dimensions (A channel, B business category,
C cause), timeliness of handling, and regulator-forwarded cases (监管转办) on their own sheet.
Figures come from the complaint rollup, so they equal the dashboards' for the same quarter.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, utcnow
from app.models.complaint import FINAL, ended_late_undecided, first_decision
from app.services import complaint_clock as clock
from app.services import dashboard_complaints as dc
from app.services import dashboard_filters, exports, metrics
from app.services.dashboard_drill import local_text
from app.services.dashboard_filters import Filters
from app.services.errors import ValidationFailed
from app.services.rollups import day_start
from surveys.scoring import half_up

# ASCII digits only (``\d`` took full-width ２０２６), the whole value (``$`` let a trailing
# newline through)
QUARTER_RE = re.compile(r"([0-9]{4})Q([1-4])", re.ASCII)
FIRST_YEAR, LAST_YEAR = 2000, 2099  # (the years a date filter accepts)


def current_quarter() -> str:
    today = dashboard_filters.today()
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def recent_quarters(n: int = 8) -> list[str]:
    year, q = (int(x) for x in current_quarter().split("Q"))
    out = []
    for _ in range(n):
        out.append(f"{year}Q{q}")
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return out


def quarter_range(quarter: str) -> tuple[date, date]:
    """(first day, last day) of a quarter written ``YYYYQn`` (ASCII, nothing around it, a year
    from 2000 to 2099), else ValidationFailed in Chinese."""
    match = QUARTER_RE.fullmatch(quarter or "")
    if not match:
        raise ValidationFailed("季度格式应为 2026Q3 这样的形式", field="quarter")
    year, q = int(match.group(1)), int(match.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(f"季度须在 {FIRST_YEAR}Q1 至 {LAST_YEAR}Q4 之间", field="quarter")
    start = date(year, 3 * q - 2, 1)
    end = (date(year + (q == 4), (3 * q) % 12 + 1, 1)) - timedelta(days=1)
    return start, end


def _filters(quarter: str) -> Filters:
    start, end = quarter_range(quarter)
    return dashboard_filters.parse({"from": start.isoformat(), "to": end.isoformat()})


def _branch_names() -> dict[int | None, tuple[str, str]]:
    """(code, name) of each unit's row. The rows count a unit's own cases, so a unit with
    sub-branches reads "杭州分行（本级）": without it the row was read as the branch's total."""
    units = metrics.branch_map().values()
    parents = {b.parent_id for b in units}
    names: dict[int | None, tuple[str, str]] = {
        b.id: (b.code, f"{b.name}（{metrics.DIRECT}）" if b.id in parents else b.name)
        for b in units
    }
    names[None] = ("—", "未关联机构")
    return names


def code_heading(code: str, labels: dict[str, str]) -> str:
    """A code's column heading, the code once (``A01 营业现场``): the taxonomy's labels
    already start with their code. A code the taxonomy does not know: ``X99 未分类``."""
    if not code:
        return "未分类"
    return labels.get(code) or f"{code} 未分类"


def _dimension_sheet(f: Filters, dim: str, names: dict) -> tuple:
    labels = dc.code_labels(dc.DIMENSIONS[dim])
    table: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    codes: set[str] = set()
    for (branch_id, code), counts in dc.rows(f, "branch_id", dim):
        if counts.received:
            table[branch_id][code] += counts.received
            codes.add(code)
    ordered = sorted(codes)
    columns = [
        "机构代码",
        "机构名称",
        *[code_heading(c, labels) for c in ordered],
        "合计",
    ]
    rows = []
    for branch_id in sorted(table, key=lambda b: names.get(b, ("", ""))[0]):
        counts = [table[branch_id].get(c, 0) for c in ordered]
        rows.append([*names.get(branch_id, ("?", "?")), *counts, sum(counts)])
    totals = [sum(row[2 + i] for row in rows) for i in range(len(ordered))]
    rows.append(["合计", "", *totals, sum(totals)])
    return dc.DIMENSION_LABELS[dim][:31], columns, rows, []


BUCKET_COLUMNS = [f"决定用时 {label}（件）" for label in dc.BUCKET_LABELS.values()]
TIMELINESS_COLUMNS = [
    "机构代码",
    "机构名称",
    "收到（件）",
    "办结（件）",
    "作出决定（件）",
    "法定时限内决定并告知（件）",
    "超期未决（件）",
    "已决定待告知（未到期）（件）",
    "时限内占比（%）",
    "平均处理天数",
    "重大投诉（件）",
    "申请核查（件）",
    *BUCKET_COLUMNS,
]
OVERDUE_NOTE = (
    "超期未决：法定处理期限在本期内且已届满（截至期末，本期未结束时截至当前）、至今仍未作出决定的"
    "投诉，与看板口径相同；已决定待告知（未到期）：已作出决定、尚未告知客户且法定期限未届满的投诉，"
    "尚未到期，不计入时限内占比（届满仍未告知的计为超时）；时限内占比 = 法定时限内决定并告知客户 ÷"
    "（作出决定 − 已决定待告知（未到期） + 超期未决）"
)


def _timeliness_row(label: tuple[str, str], c: dc.Counts) -> list:
    return [
        *label,
        c.received,
        c.closed,
        c.decided,
        c.decided_in_time,
        c.overdue_open,
        c.notice_pending,
        _pct(c.in_time_share),
        _days(c.mean_days),
        c.major,
        c.reviewed,
        *[c.values[k] for k in dc.BUCKET_LABELS],
    ]


def _timeliness_sheet(f: Filters, names: dict) -> tuple:
    """Per branch: handling counts, timeliness (open cases past deadline counted as late, the
    dashboards' ``overdue_open``) and days to decision; the total row last."""
    by_branch = sorted(dc.rows(f, "branch_id"), key=lambda x: names.get(x[0][0], ("",))[0])
    rows = [_timeliness_row(names.get(b, ("?", "?")), c) for (b,), c in by_branch]
    rows.append(_timeliness_row(("合计", ""), dc.total(f)))
    return "处理时效", TIMELINESS_COLUMNS, rows, []


def timeliness(quarter: str) -> tuple[list[str], list[list]]:
    """The report's 处理时效 sheet for the viewer's scope (shown on the report page)."""
    _, columns, rows, _ = _timeliness_sheet(_filters(quarter), _branch_names())
    return columns, rows


def _regulator_sheet(f: Filters, names: dict) -> tuple:
    columns = [
        "投诉编号",
        "监管转办编号",
        "监管转办日期",
        "收到时间",
        "机构",
        "状态",
        "B 业务类别",
        "C 投诉原因",
        "作出决定时间",
        "是否在法定时限内",
    ]
    stmt = (
        select(Complaint)
        .where(
            Complaint.channel == "regulator",
            Complaint.received_at >= day_start(f.start),
            Complaint.received_at < day_start(f.end + timedelta(days=1)),
        )
        .order_by(Complaint.received_at)
    )
    if f.branch_ids is not None:
        stmt = stmt.where(Complaint.branch_id.in_(f.branch_ids))
    rows = []
    now = utcnow()
    for c in db.session.scalars(stmt):
        # a forwarded complaint merged into the customer's earlier one is handled there: its
        # row says which case and carries that case's decision (it read 不适用 with no link,
        # while the regulator counts the forwarded number)
        handled = _kept_case(c) if c.merged_into_id else c
        rows.append(
            [
                c.reference,
                c.regulator_ref or "",
                str(c.regulator_received_on or ""),
                local_text(c.received_at),
                names.get(c.branch_id, ("", ""))[1],
                f"已并入 {handled.reference}（{handled.status_label}）"
                if handled is not c
                else c.status_label,
                handled.code_business or "",
                handled.code_cause or "",
                local_text(first_decision(handled).decided),
                _in_time(handled, now),
            ]
        )
    return "监管转办", columns, rows, []


def _kept_case(c: Complaint) -> Complaint:
    """The case a merged repeat went into (followed to the end of a chain), whatever the
    viewer's scope: the repeat's row is in scope."""
    seen = {c.id}
    while c.merged_into_id and c.merged_into_id not in seen:
        kept = db.session.scalars(
            select(Complaint)
            .where(Complaint.id == c.merged_into_id)
            .execution_options(include_all_branches=True)
        ).first()
        if kept is None:
            break
        seen.add(kept.id)
        c = kept
    return c


def _in_time(c: Complaint, now: datetime) -> str:
    """Whether a case was decided inside its legal deadline; an undecided one says why not.
    A case a review reopened is judged on its first decision (the review has its own clock); a
    decision not yet told with its deadline ahead is not due yet (``clock.notice_pending``, as
    the 处理时效 sheet, the ledger and the dashboards count it)."""
    first = first_decision(c)
    if first.decided is not None:
        if clock.notice_pending(*first, excused=c.notice_excused, now=now):
            return "已作出决定，待告知客户（未到期）"
        if clock.decided_in_time(*first, excused=c.notice_excused):
            return "是"
        if c.first_decided_at is None and c.awaiting_notice and not c.notice_excused:
            return "否（处理决定未在时限内告知客户）"  # (the deadline passed untold)
        return "否"
    if c.status in FINAL:
        if ended_late_undecided(c):
            return "否（超期未决，其后终结）"
        return "不适用（未作决定即终结）"
    if not c.clock_running:
        return "暂停计时"
    return "超期未决" if c.due_at is not None and c.due_at < now else "办理中（未到期）"


def _pct(value: float | None) -> float | None:
    return None if value is None else half_up(100 * value, 1)


def _days(value: float | None) -> float | None:
    return half_up(value, 1)


def build(quarter: str) -> bytes:
    """The quarter's report for the viewer's scope; the export is audited."""
    f = _filters(quarter)
    names = _branch_names()
    start, end = quarter_range(quarter)
    cover = (
        "说明",
        ["项目", "内容"],
        [
            ["报表", "消费投诉统计季报（JR/T 0169-2018 分类）"],
            ["统计期间", f"{start} 至 {end}（北京时间自然日）"],
            [
                "统计口径",
                "收到的投诉（含不予受理和尚待受理的）按收到日统计；作出决定、办结按其发生日统计；时限按《银行业保险业消费投诉处理管理办法》",
            ],
            ["超期未决", OVERDUE_NOTE],
            ["机构范围", f.branch.name if f.branch else "全行"],
        ],
        [],
    )
    sheets = [cover, _timeliness_sheet(f, names)]
    sheets += [_dimension_sheet(f, dim, names) for dim in dc.DIMENSIONS]
    sheets.append(_regulator_sheet(f, names))
    body = exports.to_xlsx(sheets)
    exports.record_export(
        "regulator_report",
        title=f"消费投诉统计季报 {quarter}",
        filters={"quarter": quarter},
        rows=sum(len(s[2]) for s in sheets),
        fmt="xlsx",
    )
    return body
