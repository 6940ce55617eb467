"""投诉台账: the complaints a queue's filters select, one row each, as a spreadsheet.

Branch and head-office managers keep this ledger for their own checks and for the regulator's
questions: each case's channel, unit, product, JR/T 0169 codes, status, handler, deadline,
when the decision was made and told and whether that was in time (Art. 18): all four of the
first decision, as the regulator report counts it, so a reviewed case's row does not mix two
decisions; a review (核查) has columns of its own (requested on, due, decided; Art. 23), after
the others so that the earlier columns keep their places. The complainant's name and number
are masked and the summary redacted, as on the queue; the branch scope applies as on every
list. Every export is written to the audit log with its filters and row count.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import aliased, defer

import nlp
from app.extensions import db
from app.models import Branch, Product, User, utcnow
from app.models.complaint import (
    PRIORITY_LABELS,
    Complaint,
    Status,
    ended_late_undecided,
    first_decision,
)
from app.services import audit, exports
from app.services import complaint_clock as clock
from app.services import complaint_queue as queue
from app.services.errors import ValidationFailed
from app.services.tx import transactional

MAX_ROWS = 50_000
COLUMNS = (
    "投诉编号",
    "受理渠道",
    "接收时间",
    "被投诉机构",
    "产品",
    "投诉人",
    "联系电话",
    "业务类别",
    "投诉原因",
    "状态",
    "处理人",
    "办理时限",
    "处理决定时间",
    "告知客户时间",
    "按时办结",
    "重大投诉",
    "优先级",
    "监管转办编号",
    "投诉摘要",
    "核查申请日期",
    "核查期限",
    "核查决定时间",
)
# the Excel columns' widths (fixed: the rows are written as they are read)
WIDTHS = (22, 12, 18, 22, 20, 10, 14, 26, 30, 24, 12, 18, 18, 18, 20, 10, 10, 20, 60, 14, 18, 18)


def _when(moment: datetime | None) -> str:
    return moment.astimezone(clock.TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _in_time(c: Complaint, now: datetime) -> str:
    """是 / 否 for the first decision; 未到期 while its deadline is ahead, 超时未决 past it; a
    decision not yet told with the deadline ahead is 未到期（待告知）, as the regulator report
    and the dashboards count it (not yet due)."""
    due, decided, notified = first_decision(c)
    if decided is None:
        if ended_late_undecided(c):
            return (
                "超时未决（超期后撤回）"
                if c.status == "withdrawn"
                else "超时未决（超期后不予受理）"
            )
        if c.merged_into_id or c.status in ("declined", "withdrawn"):
            return "不适用"
        return "超时未决" if due is not None and due < now else "未到期"
    if clock.notice_pending(due, decided, notified, excused=c.notice_excused, now=now):
        return "未到期（待告知）"
    return "是" if clock.decided_in_time(due, decided, notified, excused=c.notice_excused) else "否"


def _review(c: Complaint) -> list[str]:
    """核查申请日期, 核查期限 and 核查决定时间 of the latest review (Art. 23: due 30 days after
    the request); blank for a case never reviewed, and the decision blank while it is pending."""
    asked = c.review_requested_on
    if asked is None:
        return ["", "", ""]
    due = clock.end_of_day(asked + timedelta(days=clock.REVIEW_DAYS))
    decided = c.decided_at
    reviewed = (
        c.status != Status.REVIEW_REQUESTED
        and decided is not None
        and decided != c.first_decided_at
        and clock.local_date(decided) >= asked
    )
    return [asked.isoformat(), _when(due), _when(decided) if reviewed else ""]


def rows(filters: queue.Filters, user: User) -> Iterator[list[str]]:
    """The ledger's rows, oldest receipt first (read in batches)."""
    taxonomy = nlp.load_taxonomy()
    name = {e.code: e.name for dim in taxonomy.dimensions for e in dim.entries}

    def coded(code: str | None) -> str:
        return f"{code} {name.get(code, '')}".strip() if code else ""

    # names by id, read once: loading each batch's units, products and handlers as objects was
    # a third of the export's time
    units = dict(db.session.execute(select(Branch.id, Branch.name)).tuples().all())
    products = dict(db.session.execute(select(Product.id, Product.name)).tuples().all())
    staff = dict(db.session.execute(select(User.id, User.display_name)).tuples().all())
    now = utcnow()
    kept = aliased(Complaint)
    kept_reference = (
        select(kept.reference).where(kept.id == Complaint.merged_into_id).scalar_subquery()
    )
    stmt = (
        queue.filtered(select(Complaint, kept_reference), filters, user)
        .options(
            # (JSON the ledger does not show: decoding it took a third of the rows' time)
            defer(Complaint.suggestion),
            defer(Complaint.urgency_reasons),
            defer(Complaint.named_staff_ids),
            defer(Complaint.pauses),
            defer(Complaint.remedies),
        )
        .order_by(Complaint.received_at, Complaint.id)
        .execution_options(yield_per=1000)
    )
    for c, merged_into in db.session.execute(stmt):
        first = first_decision(c)  # (a reviewed case's review is in its own columns)
        yield [
            c.reference,
            c.channel_label,
            _when(c.received_at),
            units.get(c.branch_id, ""),
            products.get(c.product_id, ""),
            c.masked_name,
            c.masked_phone if c.complainant_phone else "",
            coded(c.code_business),
            coded(c.code_cause),
            c.status_label + (f"（已并入 {merged_into}）" if merged_into else ""),
            staff.get(c.assignee_id, ""),
            _when(first.due),
            _when(first.decided),
            _when(first.notified),
            _in_time(c, now),
            "是" if c.is_major else "",
            PRIORITY_LABELS.get(c.priority, c.priority),
            c.regulator_ref or "",
            queue.summary(c.content or ""),
            *_review(c),
        ]


@transactional
def export(filters: queue.Filters, user: User, fmt: str) -> bytes:
    """The ledger as a file, ``fmt`` csv or xlsx (ValidationFailed over MAX_ROWS, naming the
    count). The rows go into the file as they are read (Excel in write-only mode, fixed column
    widths): a normal workbook of ~48,000 rows outlasted the worker timeout. The export is
    audited with its filters and the rows written, only once the file is built: an export that
    failed is not recorded as delivered."""
    total = queue.count(filters, user)
    if total > MAX_ROWS:
        raise ValidationFailed(
            f"符合条件的投诉共 {total} 条，超过单次导出上限 {MAX_ROWS} 条，"
            "请缩小收到日期范围后再导出"
        )
    found = rows(filters, user)
    body, written = (
        exports.stream_csv(COLUMNS, found)
        if fmt == "csv"
        else exports.stream_xlsx("投诉台账", COLUMNS, found, WIDTHS)
    )
    used = {k: str(v) for k, v in vars(filters).items() if v}
    audit.record(
        "complaints.export",
        actor=user,
        object_type="complaint",
        detail={"format": fmt, "rows": written, "filters": used},
    )
    return body
