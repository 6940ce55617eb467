"""The legal clock of a complaint (Art. 18, 20, 23, 43): pure date arithmetic, no DB, no Flask.

How days are counted (one rule, used everywhere):

* Every day is a natural day in Asia/Shanghai; the received *time* only matters through the
  Shanghai calendar date it falls on (23:59 on 31 January is 31 January, 00:30 on 1 February
  Beijing time is 1 February even though it is still 31 January in UTC).
* The day of receipt is day 0; day 1 is the next calendar day (Civil Code Art. 201:
  按照日计算期间的，开始的当日不计入，自下一日开始计算). "15 日以内" includes day 15, so the case is
  due at the end of day 15 (23:59:59 Beijing time). Received 2026-11-22 → due 2026-12-07.
* Extension level 1 (complex case, reason + notice) gives 30 days; level 2 (a further 30 days,
  approved by an hq_manager or the manager of a unit above the case's) gives 60 days. Levels
  are counted from the same start.
* Paused days do not count (outside appraisal, mediation): a pause from date P to resume date R
  moves the due date by (R - P) days. While a pause is open there is no due date.
* New facts restart the clock: the start becomes the date the new material was received; pauses
  before that date no longer matter; an extension already granted still applies.
* A review (核查) requested on date Q is due at the end of Q + 30 days, counted the same way.
* The decision must be made *and communicated* by the due date: a decided case keeps its
  deadline until the first proof that the decision reached the customer
  (``Complaint.decision_notified_at``), and it is in time only if both happened by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
PERIOD_DAYS = {0: 15, 1: 30, 2: 60}
REVIEW_DAYS = 30
REVIEW_REQUEST_WINDOW_DAYS = 30
DUE_SOON_DAYS = 3


@dataclass(frozen=True, slots=True)
class Pause:
    """The clock stopped from ``start`` until ``end`` (the resume date); open while end is None."""

    start: date
    end: date | None = None

    @property
    def days(self) -> int:
        return 0 if self.end is None else max(0, (self.end - self.start).days)


@dataclass(frozen=True, slots=True)
class ClockFacts:
    """Everything the deadline depends on."""

    received_at: datetime
    extension_level: int = 0
    pauses: tuple[Pause, ...] = ()
    restarted_on: date | None = None
    review_requested_on: date | None = None


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware datetimes")
    return moment.astimezone(TZ).date()


def end_of_day(day: date) -> datetime:
    """23:59:59 Beijing time on ``day``, as an aware datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=TZ)


def start_date(facts: ClockFacts) -> date:
    return facts.restarted_on or local_date(facts.received_at)


def is_paused(facts: ClockFacts) -> bool:
    start = start_date(facts)
    return any(p.end is None and p.start >= start for p in facts.pauses)


def due_date(facts: ClockFacts) -> date | None:
    """The last day on which the decision must be made and communicated; None while paused."""
    if facts.review_requested_on is not None:
        return facts.review_requested_on + timedelta(days=REVIEW_DAYS)
    if facts.extension_level not in PERIOD_DAYS:
        raise ValueError(f"unknown extension level {facts.extension_level}")
    start = start_date(facts)
    if is_paused(facts):
        return None
    paused = sum(p.days for p in facts.pauses if p.start >= start)
    return start + timedelta(days=PERIOD_DAYS[facts.extension_level] + paused)


def open_pause(facts: ClockFacts) -> Pause | None:
    """The pause the clock is in now (None when it runs)."""
    start = start_date(facts)
    return next((p for p in facts.pauses if p.end is None and p.start >= start), None)


def days_left_on_resume(facts: ClockFacts) -> int | None:
    """While paused: the days the handler will have left on the day the clock resumes, whichever
    day that is (the paused days do not count); negative when the case was already late. None
    when the clock is not paused."""
    pause = open_pause(facts)
    if pause is None or facts.review_requested_on is not None:
        return None
    start = start_date(facts)
    resumed = sum(p.days for p in facts.pauses if p.start >= start and p.end is not None)
    return (start + timedelta(days=PERIOD_DAYS[facts.extension_level] + resumed) - pause.start).days


def due_at(facts: ClockFacts) -> datetime | None:
    """The deadline as an aware datetime (end of the due date, Beijing time); None while paused."""
    day = due_date(facts)
    return None if day is None else end_of_day(day)


def days_left(due: datetime | None, now: datetime) -> int | None:
    """Calendar days from today (Beijing) to the due date: 0 on the last day, negative if late."""
    if due is None:
        return None
    return (local_date(due) - local_date(now)).days


def band(due: datetime | None, now: datetime) -> str:
    """``paused``, ``overdue``, ``due_soon`` (within 3 days, the last day included) or ``ok``."""
    return band_of(days_left(due, now))


def band_of(left: int | None) -> str:
    """``band`` from the days left (``days_left``), for a list that works them out once."""
    if left is None:
        return "paused"
    if left < 0:
        return "overdue"
    if left <= DUE_SOON_DAYS:
        return "due_soon"
    return "ok"


def decided_in_time(
    due: datetime | None,
    decided: datetime | None,
    communicated: datetime | None,
    *,
    excused: bool = False,
) -> bool:
    """Whether the decision was made *and communicated* by the deadline (Art. 18). Without
    proof it reached the customer it is not (yet) in time, unless the notice was ``excused``
    (the case closed with the customer recorded as unreachable, or withdrawn after the
    decision): then the decision alone is judged."""
    if decided is None:
        return False
    if due is None:
        return True
    if decided > due:
        return False
    if communicated is None or communicated < decided:  # (that told an earlier decision)
        return excused
    return communicated <= due


def notice_pending(
    due: datetime | None,
    decided: datetime | None,
    communicated: datetime | None,
    *,
    excused: bool = False,
    now: datetime,
) -> bool:
    """Decided by the deadline, not yet proven communicated (nor excused), and the deadline is
    still ahead: the customer can still be told in time, so the case is neither in time nor
    late yet (未到期，待告知). ``decided_in_time`` is False for it; every timeliness figure
    leaves it out (it is still in progress) until the notice is recorded or the deadline
    passes, when ``decided_in_time`` decides. SQL twin: ``first_decision_pending_clause``."""
    if decided is None or due is None or excused or decided > due or due < now:
        return False
    return communicated is None or communicated < decided  # (that told an earlier decision)


def review_window_opens(decided: datetime, notified: datetime | None) -> date | None:
    """The Beijing day the customer's 30 days to ask for a review begin (Art. 23: from the day
    they receive the decision): the day it was proven to reach them; None while no proof of it
    is kept (their days have not begun). Counted from the decision's own day, a customer told
    a week late lost that week."""
    if notified is None or notified < decided:  # (a proof of an earlier decision)
        return None
    return local_date(notified)


def review_request_in_time(opened_on: date | None, requested_on: date) -> bool:
    """A review must be requested in writing within 30 days of receiving the decision (Art. 23);
    ``opened_on`` is ``review_window_opens`` (None: not yet begun, so in time)."""
    return opened_on is None or requested_on <= opened_on + timedelta(
        days=REVIEW_REQUEST_WINDOW_DAYS
    )
