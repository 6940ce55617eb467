"""投诉进度查询: what a complainant may learn about their own case without signing in.

The complainant proves it is theirs with the reference of the receipt and the mobile number
they gave (matched through its blind index, never decrypted here). What they get back is the
stage in their own words, the dates that matter to them (received, the latest day for the
decision, when it was made and told) and what they may still do (ask for a review within 30
days of the decision, Art. 23). Nothing a staff member wrote, nobody's name, no contact data:
the decision itself reaches them through the notice they were sent. Failed lookups are limited
per address, so references cannot be tried against numbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.models.complaint import Complaint, Status
from app.security import pii
from app.services import complaint_clock as clock
from app.services import ratelimit
from app.services.errors import TooManyAttempts
from app.services.imports import mobile_number

FAILED_LIMIT = 10  # failed lookups per address per hour
WINDOW = 3600
REFERENCE_RE = re.compile(r"^TS\d{8}-\d{6,}$")  # (a millionth case has seven digits)

# The stages a complainant follows, and where each status stands on them.
STAGES = ("已收到", "已受理", "处理中", "已答复", "已办结")
_STAGE = {
    Status.RECEIVED: 0,
    Status.ACCEPTED: 1,
    Status.IN_PROGRESS: 2,
    Status.PAUSED: 2,
    Status.REVIEW_REQUESTED: 3,
    Status.DECIDED: 3,
    Status.REVIEW_DECIDED: 4,
    Status.CLOSED: 4,
    Status.DECLINED: 1,
    Status.WITHDRAWN: 1,
}
# A case that ended without being handled reads as such: the usual steps showed 已受理, 处理中
# and 已答复 done and 已办结 reached above "未予受理" / "已撤回".
_ENDED = {Status.DECLINED: ("已收到", "不予受理"), Status.WITHDRAWN: ("已收到", "已撤回")}
# A review reads after the decision it reviews (it showed 处理中 as the step reached, though the
# decision had been given): 核查中, then 已核查 (labels of three characters fit a phone).
_REVIEW = ("已收到", "已受理", "已答复", "核查中", "已核查")
_REVIEWING = {Status.REVIEW_REQUESTED: _REVIEW, Status.REVIEW_DECIDED: _REVIEW}
_SAYS = {
    Status.RECEIVED: "我们已收到您的投诉，正在登记受理。",
    Status.ACCEPTED: "您的投诉已受理，正在安排专人处理。",
    Status.IN_PROGRESS: "您的投诉正在处理中，处理人员可能会与您联系核实情况。",
    Status.PAUSED: (
        "您的投诉正在处理中。因需第三方鉴定、检测或调解，处理期限暂停计算，"
        "暂停与恢复时我们都会告知您。"
    ),
    Status.DECIDED: "我们已对您的投诉作出处理决定。",
    Status.REVIEW_REQUESTED: "您申请的核查正在进行中，核查由上级机构负责。",
    Status.REVIEW_DECIDED: "您申请的核查已作出决定。",
    Status.CLOSED: "您的投诉已办结。",
    Status.DECLINED: "您的投诉未予受理，原因已另行告知您。",
    Status.WITHDRAWN: "您已撤回本次投诉，处理已终止。",
}
# The page's last word, by what the case came to. The customer's words for it, as on the form,
# the receipt and the SMS: we tell them the 处理结果 (the outcome, by a date); the 处理决定 is the
# decision itself, once made (its content, its date, a review of it). A declined or withdrawn
# case has no decision: it was told "以告知您的处理意见为准" all the same.
_TOLD = "我们通过短信、电话或书面方式告知您的为准"
_NOTES = {
    Status.RECEIVED: "处理结果将通过短信、电话或书面方式告知您。",
    Status.ACCEPTED: "处理结果将通过短信、电话或书面方式告知您。",
    Status.IN_PROGRESS: "处理结果将通过短信、电话或书面方式告知您。",
    Status.PAUSED: "处理结果将通过短信、电话或书面方式告知您。",
    Status.DECIDED: f"处理决定的具体内容以{_TOLD}。",
    Status.CLOSED: f"处理决定的具体内容以{_TOLD}。",
    Status.REVIEW_REQUESTED: "核查结果将通过短信、电话或书面方式告知您。",
    Status.REVIEW_DECIDED: f"核查决定的具体内容以{_TOLD}。",
    Status.DECLINED: f"不予受理的理由以{_TOLD}。",
    Status.WITHDRAWN: "本次投诉不再作出处理决定。如仍有问题需要反映，可以重新提交投诉。",
}


# (a case withdrawn after its decision was told "不再作出处理决定" of a decision made)
WITHDRAWN_AFTER_DECISION = (
    "您已撤回本次投诉，此前作出的处理决定不变。如仍有问题需要反映，可以重新提交投诉。"
)


@dataclass(frozen=True)
class Progress:
    """One complaint as its complainant sees it."""

    reference: str
    received_on: date
    status: str  # the case's status code
    says: str
    note: str  # what is told how, or what is left to do (the page's last line)
    stage: int  # index into STAGES
    due_on: date | None  # the latest day for the (review) decision, while one is awaited
    decided_on: date | None
    told_on: date | None
    review_until: date | None  # the last day to ask for a review, while one may be asked
    merged_from: str | None = None  # the reference the complainant typed, if merged into this

    @property
    def stages(self) -> tuple[str, ...]:
        return _ENDED.get(self.status) or _REVIEWING.get(self.status, STAGES)


def clean_reference(raw: str) -> str:
    """A reference as people type it: full-width, lower-case, spaces ("ts 20261201-000123")."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or "")).upper()


def lookup(reference: str, phone: str, *, ip: str) -> Progress | None:
    """The complainant's view of the case, or None when the reference and the number do not
    belong together (the same answer for a reference that does not exist: nothing to learn from
    it). TooManyAttempts once this address has failed FAILED_LIMIT times in the hour."""
    key = f"complaint-progress:{ip}"
    if ratelimit.exceeded(key, FAILED_LIMIT, window_seconds=WINDOW):
        # (the hotline by its number, or none: "拨打客服热线" alone gives nothing to dial)
        hotline = current_app.config.get("BANK_HOTLINE")
        other = f"拨打客服热线 {hotline} " if hotline else "联系我行客服"
        raise TooManyAttempts(f"查询次数过多，请一小时后再试，或{other}查询。")
    reference, number = clean_reference(reference), mobile_number(phone or "")
    complaint = (
        db.session.scalar(select(Complaint).where(Complaint.reference == reference))
        if REFERENCE_RE.match(reference)
        else None
    )
    if complaint is None or complaint.phone_index != pii.blind_index("phone", number):
        ratelimit.hit(key, window_seconds=WINDOW)
        return None
    if complaint.merged_into_id is not None:
        kept = db.session.get(Complaint, complaint.merged_into_id)
        if kept is not None:
            return _progress(kept, merged_from=complaint.reference)
    return _progress(complaint)


def _progress(c: Complaint, *, merged_from: str | None = None) -> Progress:
    status = Status(c.status)
    running = status in (Status.RECEIVED, Status.ACCEPTED, Status.IN_PROGRESS)
    awaited = running or status == Status.REVIEW_REQUESTED  # (paused: the clock stands still)
    has_decision = status in (Status.DECIDED, Status.REVIEW_DECIDED, Status.CLOSED)
    decided = c.decided_at if has_decision else None
    told = c.decision_notified_at if decided else None
    if told is not None and told < decided:
        told = None  # (the notice of an earlier decision, since replaced by a review's)
    review_until = None
    if status in (Status.DECIDED, Status.CLOSED) and decided and c.review_requested_on is None:
        # as the desk counts it (complaint_handling.request_review): 30 days from the day the
        # decision reached the customer; not proven yet, the page itself tells them today
        opened = clock.review_window_opens(decided, told) or clock.local_date(utcnow())
        last = opened + timedelta(days=clock.REVIEW_REQUEST_WINDOW_DAYS)
        review_until = last if last >= clock.local_date(utcnow()) else None
    return Progress(
        reference=c.reference,
        received_on=clock.local_date(c.received_at),
        status=status.value,
        says=_SAYS[status],
        note=(
            WITHDRAWN_AFTER_DECISION
            if status == Status.WITHDRAWN and c.decided_at is not None
            else _NOTES[status]
        ),
        stage=_STAGE[status],
        due_on=clock.local_date(c.due_at) if awaited and c.due_at else None,
        decided_on=clock.local_date(decided) if decided else None,
        told_on=clock.local_date(told) if told else None,
        review_until=review_until,
        merged_from=merged_from,
    )
