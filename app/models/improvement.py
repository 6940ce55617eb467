"""Root-cause tracing and rectification (溯源整改, Art. 26): problems, actions, links, history."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import TimestampMixin, append_only, db, utcnow
from app.models.org import Branch, BranchScoped, Product
from app.models.user import User
from app.services.errors import InvalidTransition

if TYPE_CHECKING:
    from app.models.survey import Survey


class RootCause(StrEnum):
    PEOPLE = "people"
    PROCESS = "process"
    PRODUCT = "product"
    SYSTEM = "system"
    POLICY = "policy"
    THIRD_PARTY = "third_party"


ROOT_CAUSE_LABELS = {
    RootCause.PEOPLE: "人员",
    RootCause.PROCESS: "流程",
    RootCause.PRODUCT: "产品",
    RootCause.SYSTEM: "系统",
    RootCause.POLICY: "制度",
    RootCause.THIRD_PARTY: "第三方",
}


class ProblemStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    CLOSED = "closed"


PROBLEM_STATUS_LABELS = {
    ProblemStatus.OPEN: "已立项",
    ProblemStatus.IN_PROGRESS: "整改中",
    ProblemStatus.VERIFYING: "待验证",
    ProblemStatus.CLOSED: "已闭环",
}


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    REOPENED = "reopened"
    CANCELLED = "cancelled"  # 撤销: withdrawn with a reason (a duplicate, a wrong plan)


ACTION_STATUS_LABELS = {
    ActionStatus.PLANNED: "计划中",
    ActionStatus.IN_PROGRESS: "进行中",
    ActionStatus.DONE: "已完成",
    ActionStatus.VERIFIED: "已验证",
    ActionStatus.REOPENED: "已重新打开",
    ActionStatus.CANCELLED: "已撤销",
}
A = ActionStatus
# The one table of allowed action transitions: verb -> (from statuses, to status).
ACTION_TRANSITIONS: dict[str, tuple[frozenset[ActionStatus], ActionStatus]] = {
    "start": (frozenset({A.PLANNED, A.REOPENED}), A.IN_PROGRESS),
    "complete": (frozenset({A.PLANNED, A.IN_PROGRESS, A.REOPENED}), A.DONE),
    "verify": (frozenset({A.DONE}), A.VERIFIED),
    "reopen": (frozenset({A.DONE, A.VERIFIED}), A.REOPENED),
    "cancel": (frozenset({A.PLANNED, A.IN_PROGRESS, A.REOPENED}), A.CANCELLED),
}
ACTION_VERB_LABELS = {
    "start": "开始整改",
    "complete": "完成",
    "verify": "验证",
    "reopen": "重新打开",
    "cancel": "撤销",
}
FINISHED_ACTIONS = frozenset({A.DONE, A.VERIFIED})
# Still to do: what blocks closing, is reminded, escalated and counted overdue (a cancelled
# action is none of these, and is not finished either: it never counts as done).
OPEN_ACTIONS = frozenset({A.PLANNED, A.IN_PROGRESS, A.REOPENED})

LINK_SOURCES = ("complaint", "response", "followup")
LINK_SOURCE_LABELS = {"complaint": "投诉", "response": "答卷", "followup": "回访记录"}
# What a linked case's own date (``ProblemLink.source_at``) is: received, submitted, created.
LINK_SOURCE_DATE_LABELS = {"complaint": "受理", "response": "提交", "followup": "创建"}


class Problem(BranchScoped, TimestampMixin, db.Model):
    """A root cause behind complaints and poor scores; ``branch_id`` is its scope's subtree root."""

    __tablename__ = "problem"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[RootCause] = mapped_column(String(20))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    code_business: Mapped[str | None] = mapped_column(String(20))
    code_cause: Mapped[str | None] = mapped_column(String(20))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    status: Mapped[ProblemStatus] = mapped_column(
        String(20), default=ProblemStatus.OPEN, index=True
    )
    window_days: Mapped[int] = mapped_column(default=60)
    first_case_at: Mapped[datetime | None]
    verification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    verified_at: Mapped[datetime | None] = mapped_column(index=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    override_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    branch: Mapped[Branch | None] = relationship(foreign_keys="Problem.branch_id")
    product: Mapped[Product | None] = relationship()
    survey: Mapped[Survey | None] = relationship("Survey")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])
    actions: Mapped[list[ImprovementAction]] = relationship(
        back_populates="problem", order_by="ImprovementAction.id"
    )

    @property
    def status_label(self) -> str:
        if self.closed_by_override:
            return "人工认定闭环"
        return PROBLEM_STATUS_LABELS.get(ProblemStatus(self.status), self.status)

    @property
    def root_cause_label(self) -> str:
        return ROOT_CAUSE_LABELS.get(RootCause(self.root_cause), self.root_cause)

    @property
    def overridden(self) -> bool:
        return bool(self.override_reason)

    @property
    def closed_by_override(self) -> bool:
        """Closed on a manager's written override (人工认定闭环), not on a passing verdict: it
        counts as closed, never as verified."""
        return self.status == ProblemStatus.CLOSED and self.overridden

    @property
    def live_actions(self) -> list[ImprovementAction]:
        """The actions that count: every one but the cancelled (撤销)."""
        return [a for a in self.actions if not a.cancelled]


class ImprovementAction(TimestampMixin, db.Model):
    """One rectification measure of a problem; its status changes only through ``transition``."""

    __tablename__ = "improvement_action"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ActionStatus] = mapped_column(
        String(20), default=ActionStatus.PLANNED, index=True
    )
    evidence: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]

    problem: Mapped[Problem] = relationship(back_populates="actions")
    owner: Mapped[User | None] = relationship()
    attachments: Mapped[list[ActionAttachment]] = relationship(order_by="ActionAttachment.id")

    @property
    def status_label(self) -> str:
        return ACTION_STATUS_LABELS.get(ActionStatus(self.status), self.status)

    @property
    def finished(self) -> bool:
        return ActionStatus(self.status) in FINISHED_ACTIONS

    @property
    def is_open(self) -> bool:
        """Still to do (neither finished nor cancelled)."""
        return ActionStatus(self.status) in OPEN_ACTIONS

    @property
    def cancelled(self) -> bool:
        return ActionStatus(self.status) == ActionStatus.CANCELLED

    def allowed(self) -> list[str]:
        now = ActionStatus(self.status)
        return [verb for verb, (sources, _) in ACTION_TRANSITIONS.items() if now in sources]

    def transition(self, verb: str, *, at: datetime) -> tuple[ActionStatus, ActionStatus]:
        """Move to the verb's target status or raise InvalidTransition; returns (from, to)."""
        if verb not in ACTION_TRANSITIONS:
            raise InvalidTransition(f"未知操作：{verb}")
        sources, target = ACTION_TRANSITIONS[verb]
        current = ActionStatus(self.status)
        if current not in sources:
            raise InvalidTransition(
                f"整改措施当前为“{self.status_label}”，不能“{ACTION_VERB_LABELS[verb]}”"
            )
        self.status = target
        if verb == "start":
            self.started_at = at
        elif verb == "complete":
            self.done_at = at
            self.started_at = self.started_at or at
        elif verb == "verify":
            self.verified_at = at
        elif verb == "reopen":
            self.done_at = self.verified_at = None
            self.reminded_at = self.escalated_at = None
        return current, target


class ActionAttachment(db.Model):
    """A file of evidence for an action (photo of a notice, new procedure, training record)."""

    __tablename__ = "improvement_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_action.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProblemLink(db.Model):
    """A complaint, survey response or follow-up linked to a problem as one of its cases."""

    __tablename__ = "problem_link"
    __table_args__ = (UniqueConstraint("problem_id", "source_type", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), index=True)
    source_type: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[int] = mapped_column(index=True)
    source_at: Mapped[datetime | None]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    summary: Mapped[str] = mapped_column(String(300), default="")
    via: Mapped[str] = mapped_column(String(20), default="manual")
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def source_label(self) -> str:
        return LINK_SOURCE_LABELS.get(self.source_type, self.source_type)

    @property
    def source_at_label(self) -> str:
        return LINK_SOURCE_DATE_LABELS.get(self.source_type, "")


class ProblemEvent(db.Model):
    """One entry of a problem's history: who linked, changed, verified or overrode what, when."""

    __tablename__ = "problem_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("improvement_action.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProblemEventImmutable(RuntimeError):
    """Raised when code tries to change or delete a problem history entry."""


append_only(
    ProblemEvent, ProblemEventImmutable, "problem history entries cannot be changed or deleted"
)
