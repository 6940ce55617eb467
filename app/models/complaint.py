"""Complaints from every channel, their append-only history and attachments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    func,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import EncryptedText, TimestampMixin, append_only, db, utcnow
from app.models.org import BranchScoped, Customer, Product
from app.models.user import User
from app.services.complaint_clock import ClockFacts, Pause
from app.services.errors import InvalidTransition


class Channel(StrEnum):
    WEB = "web"
    HOTLINE = "hotline"
    BRANCH = "branch"
    EMAIL = "email"
    APP = "app"
    WECHAT = "wechat"
    REGULATOR = "regulator"
    SURVEY = "survey"


CHANNEL_LABELS = {
    Channel.WEB: "网站",
    Channel.HOTLINE: "客服热线",
    Channel.BRANCH: "营业网点",
    Channel.EMAIL: "电子邮件",
    Channel.APP: "手机银行",
    Channel.WECHAT: "微信",
    Channel.REGULATOR: "监管转办",
    Channel.SURVEY: "满意度调查转投诉",  # (as the dashboards and the annual disclosure say)
}


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    DECIDED = "decided"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    REVIEW_REQUESTED = "review_requested"
    REVIEW_DECIDED = "review_decided"


STATUS_LABELS = {
    Status.RECEIVED: "待受理",
    Status.ACCEPTED: "已受理",
    Status.DECLINED: "不予受理",
    Status.IN_PROGRESS: "处理中",
    Status.PAUSED: "已中止计时",
    Status.DECIDED: "已作出处理决定",
    Status.CLOSED: "已办结",
    Status.WITHDRAWN: "已撤回",
    Status.REVIEW_REQUESTED: "核查中",
    Status.REVIEW_DECIDED: "核查已决定",
}

# The one table of allowed transitions: action -> (from statuses, to status).
S = Status
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "accept": (frozenset({S.RECEIVED}), S.ACCEPTED),
    "decline": (frozenset({S.RECEIVED}), S.DECLINED),
    "start": (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    "pause": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.PAUSED),
    "resume": (frozenset({S.PAUSED}), S.IN_PROGRESS),
    "decide": (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.DECIDED),
    "close": (frozenset({S.DECIDED, S.REVIEW_DECIDED}), S.CLOSED),
    "withdraw": (
        frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.PAUSED, S.DECIDED, S.REVIEW_REQUESTED}),
        S.WITHDRAWN,
    ),
    "request_review": (frozenset({S.DECIDED, S.CLOSED}), S.REVIEW_REQUESTED),
    "decide_review": (frozenset({S.REVIEW_REQUESTED}), S.REVIEW_DECIDED),
}
ACTION_LABELS = {
    "accept": "受理",
    "decline": "不予受理",
    "start": "开始处理",
    "pause": "中止计时",
    "resume": "恢复计时",
    "decide": "作出处理决定",
    "close": "办结",
    "withdraw": "客户撤回",
    "request_review": "登记核查申请",
    "decide_review": "作出核查决定",
}
# Statuses in which the clock runs and the case can become overdue.
CLOCK_RUNNING = frozenset({S.RECEIVED, S.ACCEPTED, S.IN_PROGRESS, S.REVIEW_REQUESTED})
OPEN = CLOCK_RUNNING | {S.PAUSED, S.DECIDED, S.REVIEW_DECIDED}
# Decided and waiting to be closed: the deadline still counts until the decision is
# communicated (``Complaint.decision_notified_at``).
DECIDED_STATES = frozenset({S.DECIDED, S.REVIEW_DECIDED})
FINAL = frozenset({S.CLOSED, S.DECLINED, S.WITHDRAWN})
# The cases in work (open and not merged into another): the predicate of the partial index that
# serves the complaint desk's queues, written out in one fixed order. A query uses the index only
# when its WHERE repeats this predicate with these literal values (see complaint_queue.in_work).
OPEN_VALUES = tuple(sorted(s.value for s in OPEN))
IN_WORK_SQL = (
    "merged_into_id IS NULL AND status IN (" + ", ".join(f"'{v}'" for v in OPEN_VALUES) + ")"
)

MERGED_SQL = "merged_into_id IS NOT NULL"


class MajorReason(StrEnum):
    GROUP = "group"
    DISASTER = "disaster"
    REGULATOR = "regulator"


MAJOR_REASON_LABELS = {
    MajorReason.GROUP: "群体性投诉（20人及以上）",
    MajorReason.DISASTER: "自然灾害、事故灾难或公共卫生事件引发",
    MajorReason.REGULATOR: "监管部门认定",
}

# A case's priority (from the text's urgency cues, raised for a major case), as staff read it.
PRIORITY_LABELS = {"critical": "特急", "high": "紧急", "normal": "一般", "low": "较低"}
URGENT_PRIORITIES = ("critical", "high")
# The queues' order among cases due the same day (ix_complaint_queue_order): 特急, 紧急, the rest.
PRIORITY_RANK_SQL = "(CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 ELSE 2 END)"


def urgent_label(priority: str | None) -> str:
    """特急 / 紧急 for an urgent case, else empty (the lists flag only those)."""
    return PRIORITY_LABELS[priority] if priority in URGENT_PRIORITIES else ""


def raise_priority_for_major(complaint: Complaint) -> None:
    """A major case (Art. 29) is escalated at once: never behind ordinary cases."""
    if complaint.is_major and complaint.priority not in URGENT_PRIORITIES:
        complaint.priority = "high"


class Complaint(BranchScoped, TimestampMixin, db.Model):
    """A complaint from any channel; its handling state changes only through ``transition``."""

    __tablename__ = "complaint"
    __table_args__ = (
        UniqueConstraint("channel", "external_ref", name="uq_complaint_channel_ref"),
        # The queues' order over the cases in work only: a page of the queue reads its thirty
        # rows off this index instead of sorting every open case (8 ms and growing with the
        # backlog on PostgreSQL at 5,000 open cases; 0.2 ms with it).
        Index(
            "ix_complaint_queue_order",
            text("is_major DESC"),
            text("(due_at IS NULL)"),
            "due_at",
            text(PRIORITY_RANK_SQL),
            text("id DESC"),
            postgresql_where=text(IN_WORK_SQL),
            sqlite_where=text(IN_WORK_SQL),
            info={"hand_written": True},  # its migration writes it (see migrations/env.py)
        ),
        # The merged cases only (found by the case they went into), not the NULLs of every
        # other case: SQLite's statistics keep one average number of rows per value, so with
        # the NULLs indexed "merged_into_id IS NULL" looked selective and the queues were
        # sorted through this index instead of read off ix_complaint_queue_order.
        # When each case was first decided (first_decision_clause's "decided"), for the figures
        # of a period's decisions (看板 · 处理人员): the planner reads a month off the index, and
        # the statistics PostgreSQL keeps on the expression let it estimate a year of decisions
        # and hash them instead of sorting 90,000 rows on disk (125 ms → 45 ms in the bench).
        Index(
            "ix_complaint_first_decided",
            text("coalesce(first_decided_at, decided_at)"),
            info={"hand_written": True},  # its migration writes it (see migrations/env.py)
        ),
        Index(
            "ix_complaint_merged_into_id",
            "merged_into_id",
            postgresql_where=text(MERGED_SQL),
            sqlite_where=text(MERGED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[Channel] = mapped_column(String(20), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[Status] = mapped_column(String(20), default=Status.RECEIVED, index=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    complainant_name: Mapped[str] = mapped_column(String(100))
    complainant_phone: Mapped[str | None] = mapped_column(EncryptedText)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    complainant_email: Mapped[str | None] = mapped_column(EncryptedText)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    content: Mapped[str] = mapped_column(Text)
    demand: Mapped[str | None] = mapped_column(Text)
    regulator_ref: Mapped[str | None] = mapped_column(String(100))
    regulator_received_on: Mapped[date | None] = mapped_column(Date)
    code_channel: Mapped[str | None] = mapped_column(String(20))
    code_business: Mapped[str | None] = mapped_column(String(20))
    code_cause: Mapped[str | None] = mapped_column(String(20))
    suggestion: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    urgency_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_major: Mapped[bool] = mapped_column(default=False, index=True)
    major_reason: Mapped[str | None] = mapped_column(String(20))
    group_size: Mapped[int | None]
    named_staff_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    named_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    # who made the decision ``first_decision`` refers to (看板 · 处理人员): set by 作出处理决定,
    # kept by a review's decision
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    assigned_at: Mapped[datetime | None]
    clock_restarted_on: Mapped[date | None] = mapped_column(Date)
    extension_level: Mapped[int] = mapped_column(default=0)
    pauses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    review_requested_on: Mapped[date | None] = mapped_column(Date)
    # The latest decision: a review's once it is decided (the clock of the decision in work).
    decided_at: Mapped[datetime | None]
    # The first decision as it stood when the customer asked for a review (None until then):
    # its deadline, when it was made and when it was proven told. A review's decision has a
    # clock of its own; the figures (days to decision, decided in time, the day it counts on)
    # are the first decision's (``first_decision``).
    first_decided_at: Mapped[datetime | None]
    first_due_at: Mapped[datetime | None]
    first_decision_notified_at: Mapped[datetime | None]
    # When the latest decision (or review decision) was proven to have reached the customer (a
    # call answered, a letter posted or handed over, a message its gateway accepted): Art. 18
    # wants it made *and communicated* inside the deadline, so until then the clock runs on.
    # Earlier than ``decided_at``: it was the decision a review has since replaced.
    decision_notified_at: Mapped[datetime | None]
    decision_verified: Mapped[str | None] = mapped_column(Text)
    decision_basis: Mapped[str | None] = mapped_column(Text)
    decision_text: Mapped[str | None] = mapped_column(Text)
    remedies: Mapped[list[str]] = mapped_column(JSON, default=list)
    root_cause: Mapped[str | None] = mapped_column(Text)
    customer_unreachable: Mapped[bool] = mapped_column(default=False)
    # How the complainant's identity was checked (complaint_handling.IDENTITY_CHECKS), on
    # accepting or with the decision: Art. 22, no decision before it is recorded
    identity_check: Mapped[str | None] = mapped_column(String(20))
    closed_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    source_response_id: Mapped[int | None] = mapped_column(Integer, index=True)
    intake_ip: Mapped[str | None] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    customer: Mapped[Customer | None] = relationship()
    product: Mapped[Product | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    branch = relationship("Branch", foreign_keys="Complaint.branch_id")
    named_branch = relationship("Branch", foreign_keys=[named_branch_id])

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(Status(self.status), self.status)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(Channel(self.channel), self.channel)

    @property
    def urgent_label(self) -> str:
        return urgent_label(self.priority)

    @property
    def major_reason_label(self) -> str:
        return MAJOR_REASON_LABELS.get(self.major_reason, "") if self.major_reason else ""

    @property
    def masked_name(self) -> str:
        from app.models.org import mask_name

        return mask_name(self.complainant_name)

    @property
    def masked_phone(self) -> str:
        from nlp.redact import mask_phone

        return mask_phone(self.complainant_phone) if self.complainant_phone else "—"

    @property
    def masked_email(self) -> str:
        from nlp.redact import mask_email

        return mask_email(self.complainant_email) if self.complainant_email else "—"

    @property
    def clock_running(self) -> bool:
        return Status(self.status) in CLOCK_RUNNING

    @property
    def awaiting_notice(self) -> bool:
        """Decided, but the decision has not been proven to reach the customer yet (a proof
        from before it, of the decision a review reopened, does not count)."""
        notified, decided = self.decision_notified_at, self.decided_at
        return Status(self.status) in DECIDED_STATES and (
            notified is None or (decided is not None and notified < decided)
        )

    @property
    def notice_excused(self) -> bool:
        """``notice_excused(self)``: no notice of the first decision is owed."""
        return notice_excused(self)

    @property
    def deadline_running(self) -> bool:
        """The legal clock still counts: being handled, or decided and not yet communicated
        (Art. 18: decision made and communicated within the period). Extensions and the other
        actions of a running clock follow ``clock_running``."""
        return self.clock_running or self.awaiting_notice

    @property
    def is_open(self) -> bool:
        """Still being handled (the desk's 全部在办), as opposed to closed, withdrawn, declined."""
        return Status(self.status) in OPEN

    @property
    def handler_text(self) -> str:
        """What the queue and the case page show as 处理人 when nobody is assigned: a case in
        work is 待分派; a decided or finished one is not waiting for a handler ("—", not
        待分派 beside 已作出处理决定)."""
        return "待分派" if self.is_open and Status(self.status) not in DECIDED_STATES else "—"

    @property
    def decision_is_review(self) -> bool:
        """Whether the decision on the row is a review's (核查决定): it replaced the first one,
        which ``first_decided_at`` keeps."""
        first, latest = self.first_decided_at, self.decided_at
        return first is not None and latest is not None and latest != first

    def allowed_actions(self) -> list[str]:
        return [a for a, (sources, _) in TRANSITIONS.items() if Status(self.status) in sources]

    def transition(self, action: str) -> tuple[Status, Status]:
        """Move to the action's target status or raise InvalidTransition; returns (from, to)."""
        if action not in TRANSITIONS:
            raise InvalidTransition(f"未知操作：{action}")
        sources, target = TRANSITIONS[action]
        current = Status(self.status)
        if current not in sources:
            raise InvalidTransition(
                f"当前状态为“{self.status_label}”，不能执行“{ACTION_LABELS[action]}”"
            )
        self.status = target
        return current, target

    def clock_facts(self) -> ClockFacts:
        pauses = tuple(
            Pause(date.fromisoformat(p[0]), date.fromisoformat(p[1]) if p[1] else None)
            for p in self.pauses or []
        )
        review = self.review_requested_on if self.status == Status.REVIEW_REQUESTED else None
        return ClockFacts(
            received_at=self.received_at,
            extension_level=self.extension_level,
            pauses=pauses,
            restarted_on=self.clock_restarted_on,
            review_requested_on=review,
        )


class FirstDecision(NamedTuple):
    due: datetime | None
    decided: datetime | None
    notified: datetime | None


def first_decision(row: Any) -> FirstDecision:
    """The first decision's deadline, time and proof of notice, of a complaint or of a row
    with its columns: the one kept when a review was requested, else the decision itself."""
    if row.first_decided_at is not None:
        return FirstDecision(row.first_due_at, row.first_decided_at, row.first_decision_notified_at)
    return FirstDecision(row.due_at, row.decided_at, row.decision_notified_at)


def notice_excused(row: Any) -> bool:
    """No notice of the first decision is owed (of a complaint or a row with its columns): the
    case ended by its deadline withdrawn (Art. 15: it ends the day the withdrawal is received)
    or closed with the customer recorded as unreachable. Ended after the deadline, the
    deadline had already passed untold: the decision stays late (a withdrawal entered weeks
    later turned a late case into one decided in time)."""
    if not (row.customer_unreachable or row.status == Status.WITHDRAWN):
        return False
    due = first_decision(row).due
    return due is None or (row.closed_at is not None and row.closed_at <= due)


def _notice_excused_clause(due: Any) -> Any:
    """SQL for ``notice_excused``, given the first decision's deadline."""
    return and_(
        or_(Complaint.customer_unreachable.is_(True), Complaint.status == Status.WITHDRAWN),
        or_(due.is_(None), Complaint.closed_at <= due),
    )


def first_decision_clause() -> tuple[Any, Any, Any]:
    """SQL for ``first_decision``: (due, decided, notified) of the first decision."""
    kept = Complaint.first_decided_at.is_not(None)
    return (
        case((kept, Complaint.first_due_at), else_=Complaint.due_at),
        # the CASE written as the expression of ix_complaint_first_decided, so it is used
        func.coalesce(Complaint.first_decided_at, Complaint.decided_at),
        case((kept, Complaint.first_decision_notified_at), else_=Complaint.decision_notified_at),
    )


def first_decided_in_time_clause() -> Any:
    """SQL for ``complaint_clock.decided_in_time(*first_decision(c), excused=c.notice_excused)``
    (the rollup's 法定时限内), as 1 or 0: made, and communicated, by the deadline."""
    due, decided, told = first_decision_clause()
    excused = _notice_excused_clause(due)
    return case(
        (decided.is_(None), 0),
        (due.is_(None), 1),
        (decided > due, 0),
        (or_(told.is_(None), told < decided), case((excused, 1), else_=0)),
        (told <= due, 1),
        else_=0,
    )


def first_decision_pending_clause(now: datetime) -> Any:
    """SQL for ``complaint_clock.notice_pending(*first_decision(c), excused=c.notice_excused,
    now=now)``: the first decision made by a deadline still ahead and not yet proven told,
    neither in time nor late yet."""
    due, decided, told = first_decision_clause()
    excused = _notice_excused_clause(due)
    return and_(
        decided.is_not(None),
        due.is_not(None),
        decided <= due,
        due >= now,
        or_(told.is_(None), told < decided),
        ~excused,
    )


def ended_late_undecided(row: Any) -> bool:
    """``ended_late_undecided_clause`` for a complaint (or a row with its columns)."""
    return (
        row.status in (Status.WITHDRAWN, Status.DECLINED)
        and row.merged_into_id is None
        and row.decided_at is None
        and row.due_at is not None
        and row.closed_at is not None
        and row.closed_at > row.due_at
    )


def ended_late_undecided_clause() -> Any:
    """SQL: withdrawn or declined with no decision only after the deadline had passed (not a
    merged repeat, whose handling goes on in the case it joined): overdue undecided when it
    ended, and counted so."""
    return and_(
        Complaint.status.in_([Status.WITHDRAWN, Status.DECLINED]),
        Complaint.merged_into_id.is_(None),
        Complaint.decided_at.is_(None),
        Complaint.closed_at > Complaint.due_at,
    )


def deadline_running_clause() -> Any:
    """SQL for ``Complaint.deadline_running``: the clock runs, or the case is decided and the
    decision not yet communicated."""
    return or_(
        Complaint.status.in_([s.value for s in CLOCK_RUNNING]),
        and_(
            Complaint.status.in_([s.value for s in DECIDED_STATES]),
            or_(
                Complaint.decision_notified_at.is_(None),
                Complaint.decision_notified_at < Complaint.decided_at,
            ),
        ),
    )


def undecided_clause() -> Any:
    """SQL: the clock runs and no decision is made yet (a case still in its handler's hands:
    处理人员's 当前在办 and the drill-down listing them)."""
    return and_(deadline_running_clause(), Complaint.decided_at.is_(None))


class ComplaintEvent(db.Model):
    """One entry of a complaint's history: status change, assignment, note, contact, notice."""

    __tablename__ = "complaint_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ComplaintEventImmutable(RuntimeError):
    """Raised when code tries to change or delete a complaint history entry."""


append_only(
    ComplaintEvent,
    ComplaintEventImmutable,
    "complaint history entries cannot be changed or deleted",
)


class ComplaintAttachment(db.Model):
    """A file that came with a complaint or was added to it later, kept in the database; its
    content is loaded only when read (lists of a case's files leave it in the database)."""

    __tablename__ = "complaint_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
