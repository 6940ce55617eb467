"""The complaint desk's queues, filters and search, and possible duplicates (Art. 18)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, text

import nlp
from app.extensions import db
from app.models import Branch, Customer, User, utcnow
from app.models.complaint import (
    OPEN_VALUES,
    PRIORITY_RANK_SQL,
    STATUS_LABELS,
    Complaint,
    deadline_running_clause,
    urgent_label,
)
from app.security import pii
from app.services import complaint_clock as clock
from app.services import names, paging
from app.services.complaint_progress import REFERENCE_RE
from app.services.local_copies import LocalCopy
from app.services.paging import Page

PAGE_SIZE = 30
QUEUES = {
    "open": "全部在办",
    "mine": "我的",
    "branch": "本机构",
    "unassigned": "待分派",
    # (the workbench's card says the same: "即将到期" there read as another figure)
    "due_soon": f"{clock.DUE_SOON_DAYS} 天内到期",
    "overdue": "已超期",
    "major": "重大投诉",
    "all": "全部（含已办结）",
}
DUPLICATE_WINDOW_DAYS = 30
SIMILARITY_THRESHOLD = 0.2


@dataclass(frozen=True)
class Filters:
    queue: str = "open"
    q: str = ""
    status: str = ""
    channel: str = ""
    code_business: str = ""
    received_from: date | None = None  # Beijing days, both included
    received_to: date | None = None

    @property
    def narrowed(self) -> bool:
        """True when something beyond the queue itself narrows the list."""
        return bool(
            self.q.strip()
            or self.status
            or self.channel
            or self.code_business
            or self.received_from
            or self.received_to
        )

    @property
    def finished_status(self) -> bool:
        """True when the status filter asks for cases no longer in work (已办结, 已撤回,
        不予受理), which only the queue "all" holds."""
        return bool(self.status) and self.status not in OPEN_VALUES


def reconcile(filters: Filters) -> Filters:
    """The filters as the list applies them: an unknown status is dropped, and a finished
    status moves the search to "all" (every other queue holds only cases in work, so 全部在办
    with 已办结 was always an empty list, however many closed cases there were)."""
    if filters.status and filters.status not in STATUS_LABELS:
        filters = replace(filters, status="")
    if filters.finished_status and filters.queue != "all":
        filters = replace(filters, queue="all")
    return filters


def in_work_condition() -> ColumnElement[bool]:
    """Open and not merged, written as the partial index ``ix_complaint_queue_order`` states
    it: the statuses as literals in its order (bound parameters would keep the database from
    proving that the index covers the query)."""
    statuses = bindparam("in_work", OPEN_VALUES, expanding=True, literal_execute=True, unique=True)
    return and_(Complaint.merged_into_id.is_(None), Complaint.status.in_(statuses))


def _condition(queue: str, user: User) -> ColumnElement[bool] | None:
    """Which complaints a queue holds (None: every complaint)."""
    if queue == "all":
        return None
    in_work = in_work_condition()
    if queue == "mine":
        return and_(in_work, Complaint.assignee_id == user.id)
    if queue == "branch" and user.branch is not None:
        subtree = select(Branch.id).where(Branch.path.startswith(user.branch.path))
        return and_(in_work, Complaint.branch_id.in_(subtree))
    if queue == "unassigned":
        return and_(in_work, Complaint.assignee_id.is_(None))
    if queue in ("due_soon", "overdue"):
        now = utcnow()
        running = deadline_running_clause()  # (decided, not yet communicated: still due)
        if queue == "overdue":
            return and_(in_work, running, Complaint.due_at < now)
        soon = clock.end_of_day(clock.local_date(now) + timedelta(days=clock.DUE_SOON_DAYS))
        return and_(in_work, running, Complaint.due_at.between(now, soon))
    if queue == "major":
        return and_(in_work, Complaint.is_major.is_(True))
    return in_work


def _queue(stmt, queue: str, user: User):
    condition = _condition(queue, user)
    return stmt if condition is None else stmt.where(condition)


def _search(stmt, q: str):
    q = q.strip()[:100]
    if not q:
        return stmt
    if REFERENCE_RE.match(q.upper()):  # a case number: its index alone (OR-ed with the text
        # search it read every complaint, 0.75–1.6 s at 200,000 cases)
        return stmt.where(Complaint.reference == q.upper())
    conditions = [
        Complaint.reference == q.upper(),
        Complaint.content.contains(q, autoescape=True),
        Complaint.complainant_name.contains(q, autoescape=True),
        Complaint.regulator_ref == q,
        Complaint.external_ref == q,  # (the hotline's or app's own number for the case)
        Complaint.customer_id.in_(select(Customer.id).where(Customer.external_id == q)),
    ]
    if len(pii.normalise_phone(q)) >= 11:
        conditions.append(Complaint.phone_index == pii.blind_index("phone", q))
    return stmt.where(or_(*conditions))


class ListedCase(NamedTuple):
    """One case as a queue page lists it: only the columns the list shows (the texts of a
    decision, JSON histories etc. stay in the database), read as a plain row instead of an ORM
    object (thirty objects, with their identity map and instrumented attributes, cost a page
    ~0.5 ms of CPU on PostgreSQL). The display properties are the model's own, shared."""

    id: int
    reference: str
    status: str
    channel: str
    received_at: datetime
    due_at: datetime | None
    decided_at: datetime | None  # (with the next: a decision not yet told still has its deadline)
    decision_notified_at: datetime | None
    complainant_name: str
    complainant_phone: str | None
    content: str
    branch_id: int | None
    assignee_id: int | None
    is_major: bool
    major_reason: str | None
    priority: str

    clock_running = Complaint.clock_running
    awaiting_notice = Complaint.awaiting_notice
    deadline_running = Complaint.deadline_running
    is_open = Complaint.is_open
    handler_text = Complaint.handler_text
    status_label = Complaint.status_label
    channel_label = Complaint.channel_label
    major_reason_label = Complaint.major_reason_label
    masked_name = Complaint.masked_name
    masked_phone = Complaint.masked_phone


LIST_COLUMNS = tuple(getattr(Complaint, name) for name in ListedCase._fields)


def queue_order(queue: str) -> list:
    """A queue's order: the newest first for "all"; else major cases, then by deadline (none
    last), the urgent first among those due the same day (every deadline ends at 23:59:59), as
    ``ix_complaint_queue_order`` stores the cases in work."""
    if queue == "all":
        return [Complaint.received_at.desc(), Complaint.id.desc()]
    return [
        Complaint.is_major.desc(),
        Complaint.due_at.is_(None),
        Complaint.due_at,
        _PRIORITY_RANK,
        Complaint.id.desc(),
    ]


# (the index's expression, qualified: the lists join other tables)
_PRIORITY_RANK = text(PRIORITY_RANK_SQL.replace("CASE priority", "CASE complaint.priority"))


def search(filters: Filters, user: User, *, page: int = 1, known_total: int | None = None) -> Page:
    """One page of a queue, most urgent first (``ListedCase`` rows); the branch scope applies
    automatically.

    ``known_total``: the queue's size when the caller has just counted it (the tab counts), so
    an un-narrowed list does not count the same rows again."""
    if known_total is not None and not filters.narrowed:
        total = known_total
    else:
        total = count(filters, user)
    page, pages = paging.place(total, page, PAGE_SIZE)
    rows = db.session.execute(_list_statement(filters, user, page))
    return Page([ListedCase._make(row) for row in rows], page, pages, total)


def count(filters: Filters, user: User) -> int:
    """How many cases the filters select (in the viewer's scope)."""
    counted = filtered(select(Complaint.id), filters, user).subquery()
    return db.session.scalar(select(func.count()).select_from(counted)) or 0


def filtered(stmt: Select, filters: Filters, user: User) -> Select:
    stmt = _search(_queue(stmt, filters.queue, user), filters.q)
    if filters.status:
        stmt = stmt.where(Complaint.status == filters.status)
    if filters.channel:
        stmt = stmt.where(Complaint.channel == filters.channel)
    if filters.code_business:
        stmt = stmt.where(  # (a typed % or _ is a character, not a wildcard)
            Complaint.code_business.startswith(filters.code_business, autoescape=True)
        )
    if filters.received_from:
        stmt = stmt.where(Complaint.received_at >= _day_start(filters.received_from))
    if filters.received_to:
        stmt = stmt.where(Complaint.received_at < _day_start(filters.received_to, 1))
    return stmt


def _day_start(day: date, later: int = 0) -> datetime:
    """00:00 Beijing time ``later`` days after ``day``."""
    return datetime.combine(day + timedelta(days=later), time.min, tzinfo=clock.TZ)


# The statements of un-narrowed lists, built once per process: a statement used again keeps
# its cache key, which SQLAlchemy otherwise works out anew for every page view (with building
# the statement, about a tenth of the page's CPU). Keyed by everything the statement holds.
_LISTS: dict[tuple, Select] = {}
_MAX_LISTS = 1_000


def _list_statement(filters: Filters, user: User, page: int) -> Select:
    key = None
    if not filters.narrowed and filters.queue not in ("due_soon", "overdue"):  # (not by time)
        mine = user.id if filters.queue == "mine" else None
        subtree = user.branch.path if filters.queue == "branch" and user.branch else None
        key = (filters.queue, mine, subtree, page)
        found = _LISTS.get(key)
        if found is not None:
            return found
    stmt = (
        filtered(select(*LIST_COLUMNS), filters, user)
        .order_by(*queue_order(filters.queue))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    if key is not None:
        if len(_LISTS) >= _MAX_LISTS:
            _LISTS.clear()
        _LISTS[key] = stmt
    return stmt


SUMMARY_CHARS = 60
# Redaction reads a little past the summary's end, so that a number or address that the cut
# would split is still recognised and masked whole (the longest, a card number, is 19 digits).
_REDACT_WINDOW = 120


@dataclass(frozen=True, slots=True)
class QueueRow:
    """What the queue shows of one case, worked out once in Python; the template only prints.

    A page of thirty cases rendered from the ORM objects cost the template some 750 attribute
    look-ups and sixty clock computations; here each value is computed once."""

    id: int
    reference: str
    is_major: bool
    major_label: str
    urgent: str  # 特急 / 紧急, or empty
    name: str  # masked
    phone: str  # masked
    summary: str  # personal data masked, cut to SUMMARY_CHARS
    channel: str
    branch: str
    status: str
    status_label: str
    assignee: str
    band: str  # overdue, due_soon, ok, paused, or none (the clock does not run)
    deadline: str  # 超期 3 天, 今日到期, 剩 5 天, 中止计时, 已告知，待办结 or —
    due_on: str = ""  # the last day, Beijing date ("核查时限 2026-12-07" for a review), or ""

    @property
    def deadline_class(self) -> str:
        return _DEADLINE_CLASSES.get(self.band, "muted")


def summary(content: str) -> str:
    """The first SUMMARY_CHARS characters of a complaint with its personal data masked."""
    masked = nlp.redact(content[:_REDACT_WINDOW]).text
    longer = len(masked) > SUMMARY_CHARS or len(content) > _REDACT_WINDOW
    return masked[:SUMMARY_CHARS] + ("…" if longer else "")


_DEADLINE_CLASSES = {
    "overdue": "cp-days cp-days-overdue",
    "due_soon": "cp-days cp-days-soon",
    "ok": "cp-days",
    "paused": "cp-days muted",
}


def _deadline(band: str, left: int | None) -> str:
    if band == "overdue":
        return f"超期 {-(left or 0)} 天"
    if band == "due_soon":
        return "今日到期" if left == 0 else f"剩 {left} 天"
    if band == "ok":
        return f"剩 {left} 天"
    return "中止计时" if band == "paused" else "—"


def _due_on(status: str, day: date) -> str:
    """The day the decision is due, as the handler reads it: a Beijing date (the clock's unit),
    named for what it is due for."""
    named = "核查时限" if status == "review_requested" else "时限"
    return f"{named} {day.isoformat()}"


def queue_rows(cases: Iterable[Complaint | ListedCase], now: datetime) -> list[QueueRow]:
    """The display rows of a page of cases (names from the per-process copy)."""
    today = clock.local_date(now)
    out = []
    for c in cases:
        running = c.deadline_running
        due = clock.local_date(c.due_at) if running and c.due_at else None  # the last day
        left = (due - today).days if due else None
        if running:
            band = clock.band_of(left)
        else:  # a paused case has no due date while paused, yet it is not finished either
            band = "paused" if c.status == "paused" else "none"
        out.append(
            QueueRow(
                id=c.id,
                reference=c.reference,
                is_major=c.is_major,
                major_label=c.major_reason_label,
                urgent=urgent_label(c.priority),
                name=c.masked_name,
                phone=c.masked_phone,
                summary=summary(c.content or ""),
                channel=c.channel_label,
                branch=names.branch(c.branch_id) or "—",
                status=c.status,
                status_label=c.status_label,
                # (a decided or finished case nobody was assigned to is not waiting for anyone)
                assignee=names.user(c.assignee_id) or c.handler_text,
                band=band,
                # (decided and told: no clock left, only closing; said so instead of "—")
                deadline="已告知，待办结"
                if band == "none" and c.is_open
                else _deadline(band, left),
                due_on=_due_on(c.status, due) if due else "",
            )
        )
    return out


COUNTS_TTL_SECONDS = 5.0
_counts: LocalCopy[dict[str, int]] = LocalCopy(COUNTS_TTL_SECONDS, Complaint)


def forget_counts() -> None:
    """Drop the kept tab counts (a test rolling back its data; a bulk change)."""
    _counts.forget()


def counts(user: User) -> dict[str, int]:
    """How many cases each queue holds, for the tabs.

    Kept per user for ``COUNTS_TTL_SECONDS`` in this process (the busiest staff page counts
    every tab on every view): a change made through this process shows at once, one made
    through another worker within seconds. The list itself is always read live."""
    return _counts.get(user.id, lambda: _count_tabs(user))


def _count_tabs(user: User) -> dict[str, int]:
    columns = []
    for name in QUEUES:
        condition = _condition(name, user)
        total = func.count(Complaint.id)
        columns.append((total if condition is None else total.filter(condition)).label(name))
    found = db.session.execute(select(*columns)).one()  # one scan for every tab
    return {name: found._mapping[name] or 0 for name in QUEUES}


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text if not ch.isspace())
    return {text[i : i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (robust for Chinese without segmentation)."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


def possible_duplicates(complaint: Complaint) -> list[tuple[Complaint, float]]:
    """Other cases of the same customer or phone within 30 days, with their text similarity.

    Only cases at or above the similarity threshold are listed, most similar first.
    """
    keys = []
    if complaint.customer_id:
        keys.append(Complaint.customer_id == complaint.customer_id)
    if complaint.phone_index:
        keys.append(Complaint.phone_index == complaint.phone_index)
    if not keys:
        return []
    window = timedelta(days=DUPLICATE_WINDOW_DAYS)
    stmt = select(Complaint).where(
        or_(*keys),
        Complaint.id != complaint.id,
        Complaint.merged_into_id.is_(None),
        Complaint.received_at >= complaint.received_at - window,
        Complaint.received_at <= complaint.received_at + window,
    )
    scored = [
        (c, round(similarity(complaint.content, c.content), 2)) for c in db.session.scalars(stmt)
    ]
    return sorted((p for p in scored if p[1] >= SIMILARITY_THRESHOLD), key=lambda p: -p[1])
