"""消息发件箱: the survey invitations and reminders handed to a channel, filtered and paged.

Head office looks a message up by channel, status, kind and the days it was queued, or by its
recipient: the masked address as the list shows it (``5678`` of ``138****5678``), the customer's
number, or a full mobile number (matched through the customers' blind index: the address itself
is never stored in clear). Bad filter values are refused together, in Chinese, and nothing is
queried; the page order and size are the other lists' (``paging``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from app.config import MESSAGE_CHANNELS
from app.extensions import db
from app.models import Customer, OutboundMessage
from app.models.survey import CHANNEL_LABELS
from app.security import pii
from app.services import paging
from app.services.dashboard_filters import parse_date
from app.services.errors import ValidationFailed
from app.services.paging import Page
from app.services.rollups import within_days

PAGE_SIZE = 50
MAX_QUERY = 100
CHANNELS = {c: CHANNEL_LABELS.get(c, c) for c in MESSAGE_CHANNELS}
STATUS_LABELS = {
    "pending": "待发送",
    "sent": "已发送",
    "failed": "待重试",
    "dead": "失败",
    "cancelled": "已取消",
}
KIND_LABELS = {"invitation": "邀请", "reminder": "提醒"}
BACKEND_LABELS = {"outbox": "发件箱", "smtp": "SMTP", "gateway": "网关"}
FILTER_ARGS = ("q", "channel", "status", "kind", "from", "to")


@dataclass(frozen=True)
class OutboxFilter:
    q: str | None = None
    channel: str | None = None
    status: str | None = None
    kind: str | None = None
    start: date | None = None  # Asia/Shanghai calendar days, both inclusive
    end: date | None = None

    def args(self) -> dict[str, str]:
        """The filter as URL arguments (for the pager), the empty ones left out."""
        out = {
            "q": self.q or "",
            "channel": self.channel or "",
            "status": self.status or "",
            "kind": self.kind or "",
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
        }
        return {k: v for k, v in out.items() if v}

    @property
    def narrowed(self) -> bool:
        return bool(self.args())


def _choice(args: Mapping[str, str], name: str, allowed: Mapping[str, str], label: str, problems):
    value = (args.get(name) or "").strip()
    if value and value not in allowed:
        problems[name] = f"{label}取值无效，请从列表中选择"
        return None
    return value or None


def parse_filter(args: Mapping[str, str]) -> OutboxFilter:
    """The filter from URL arguments; every bad value at once in one ValidationFailed."""
    problems: dict[str, str] = {}
    channel = _choice(args, "channel", CHANNELS, "渠道", problems)
    status = _choice(args, "status", STATUS_LABELS, "状态", problems)
    kind = _choice(args, "kind", KIND_LABELS, "类型", problems)
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        problems["q"] = f"搜索内容不能超过 {MAX_QUERY} 个字"
    dates: dict[str, date | None] = {}
    for name, label in (("from", "开始日期"), ("to", "结束日期")):
        text = (args.get(name) or "").strip()
        try:
            dates[name] = parse_date(text, label, name) if text else None
        except ValidationFailed as err:
            problems.update(err.fields)
            dates[name] = None
    if dates["from"] and dates["to"] and dates["from"] > dates["to"]:
        problems["from"] = "开始日期不能晚于结束日期"
    if problems:
        raise ValidationFailed("；".join(problems.values()), fields=problems)
    return OutboxFilter(
        q=q or None, channel=channel, status=status, kind=kind, start=dates["from"], end=dates["to"]
    )


def _search(q: str):
    """The recipient: a piece of the masked address (LIKE wildcards typed are matched as
    themselves), the customer's number, or a full mobile number."""
    customers = select(Customer.id).where(Customer.external_id == q)
    if len(pii.normalise_phone(q)) >= 11:
        customers = select(Customer.id).where(
            or_(Customer.external_id == q, Customer.phone_index == pii.blind_index("phone", q))
        )
    return or_(
        OutboundMessage.recipient_masked.contains(q, autoescape=True),
        OutboundMessage.customer_id.in_(customers),
    )


def _filtered(f: OutboxFilter):
    m = OutboundMessage
    stmt = select(m)
    if f.channel:
        stmt = stmt.where(m.channel == f.channel)
    if f.status:
        stmt = stmt.where(m.status == f.status)
    if f.kind:
        stmt = stmt.where(m.kind == f.kind)
    stmt = stmt.where(*within_days(m.created_at, f.start, f.end))
    if f.q:
        stmt = stmt.where(_search(f.q))
    return stmt


def list_messages(f: OutboxFilter, *, page: int = 1) -> Page:
    """A page of the messages matching the filter, the newest first."""
    stmt = _filtered(f)
    page, pages, total, more = paging.window(stmt, page, PAGE_SIZE)
    chosen = (
        stmt.order_by(OutboundMessage.created_at.desc(), OutboundMessage.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Page(list(db.session.scalars(chosen)), page, pages, total, more)
