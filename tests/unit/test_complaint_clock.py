"""The legal clock, rule by rule (REGULATION.md, Art. 18/20/23): one table, one assertion each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.services.complaint_clock import (
    TZ,
    ClockFacts,
    Pause,
    band,
    days_left,
    days_left_on_resume,
    due_at,
    due_date,
    review_request_in_time,
    review_window_opens,
)

NOV22 = datetime(2026, 11, 22, 9, 30, tzinfo=TZ)

CASES = [
    # (rule, facts, expected due date)
    ("simple case: due on day 15, receipt day is day 0", ClockFacts(NOV22), date(2026, 12, 7)),
    (
        "received at 00:01 counts the same day",
        ClockFacts(NOV22.replace(hour=0, minute=1)),
        date(2026, 12, 7),
    ),
    ("extension to 30 days (complex)", ClockFacts(NOV22, extension_level=1), date(2026, 12, 22)),
    (
        "approved further extension to 60 days",
        ClockFacts(NOV22, extension_level=2),
        date(2027, 1, 21),
    ),
    (
        "a 10-day pause moves the due date by 10",
        ClockFacts(NOV22, pauses=(Pause(date(2026, 11, 25), date(2026, 12, 5)),)),
        date(2026, 12, 17),
    ),
    (
        "two pauses add up",
        ClockFacts(
            NOV22,
            pauses=(
                Pause(date(2026, 11, 23), date(2026, 11, 26)),
                Pause(date(2026, 12, 1), date(2026, 12, 3)),
            ),
        ),
        date(2026, 12, 12),
    ),
    (
        "a pause and an extension combine",
        ClockFacts(
            NOV22, extension_level=1, pauses=(Pause(date(2026, 11, 25), date(2026, 12, 5)),)
        ),
        date(2027, 1, 1),
    ),
    (
        "new facts restart the clock from the day they arrive",
        ClockFacts(NOV22, restarted_on=date(2026, 12, 1)),
        date(2026, 12, 16),
    ),
    (
        "pauses before a restart no longer count",
        ClockFacts(
            NOV22,
            pauses=(Pause(date(2026, 11, 23), date(2026, 11, 30)),),
            restarted_on=date(2026, 12, 1),
        ),
        date(2026, 12, 16),
    ),
    (
        "review due 30 days after the request",
        ClockFacts(NOV22, review_requested_on=date(2026, 12, 20)),
        date(2027, 1, 19),
    ),
    (
        "received 23:59 Beijing on the last day of a month counts from that day",
        ClockFacts(datetime(2026, 1, 31, 23, 59, tzinfo=TZ)),
        date(2026, 2, 15),
    ),
    (
        "23:59 UTC on 31 Jan is already 1 Feb in Beijing",
        ClockFacts(datetime(2026, 1, 31, 23, 59, tzinfo=UTC)),
        date(2026, 2, 16),
    ),
    (
        "last day of February in a non-leap year",
        ClockFacts(datetime(2027, 2, 28, 23, 59, tzinfo=TZ)),
        date(2027, 3, 15),
    ),
    (
        "last day of the year",
        ClockFacts(datetime(2026, 12, 31, 23, 59, tzinfo=TZ)),
        date(2027, 1, 15),
    ),
]


@pytest.mark.parametrize(("rule", "facts", "expected"), CASES, ids=[c[0] for c in CASES])
def test_due_date(rule, facts, expected):
    assert due_date(facts) == expected


def test_due_at_is_the_end_of_the_last_day_in_beijing():
    due = due_at(ClockFacts(NOV22))
    assert due.astimezone(TZ).isoformat() == "2026-12-07T23:59:59+08:00"
    assert due.astimezone(UTC).isoformat() == "2026-12-07T15:59:59+00:00"


def test_open_pause_has_no_due_date():
    facts = ClockFacts(NOV22, pauses=(Pause(date(2026, 11, 25)),))
    assert due_date(facts) is None and due_at(facts) is None
    assert band(None, NOV22) == "paused"


@pytest.mark.parametrize("resumed_on", [date(2026, 11, 25), date(2026, 12, 1), date(2027, 1, 9)])
def test_days_left_on_resume_are_what_the_due_date_leaves_whenever_the_clock_resumes(resumed_on):
    """Paused on 11-25 with an earlier 3-day pause: 15 + 3 - (25 - 22) = 15 days left, the same
    on every resume day (the paused days do not count)."""
    earlier = Pause(date(2026, 11, 22), date(2026, 11, 25))
    paused = ClockFacts(NOV22, pauses=(earlier, Pause(date(2026, 11, 25))))
    assert days_left_on_resume(paused) == 15
    resumed = ClockFacts(NOV22, pauses=(earlier, Pause(date(2026, 11, 25), resumed_on)))
    assert (due_date(resumed) - resumed_on).days == 15
    assert days_left_on_resume(resumed) is None  # running again: no pause to speak of
    late = ClockFacts(NOV22, pauses=(Pause(date(2026, 12, 10)),))
    assert days_left_on_resume(late) == -3  # paused three days after its last day


def test_unknown_extension_level_is_refused():
    with pytest.raises(ValueError):
        due_date(ClockFacts(NOV22, extension_level=3))


def test_naive_received_time_is_refused():
    with pytest.raises(ValueError):
        due_date(ClockFacts(datetime(2026, 11, 22, 9, 30)))


@pytest.mark.parametrize(
    ("now", "left", "expected_band"),
    [
        (datetime(2026, 11, 22, 10, 0, tzinfo=TZ), 15, "ok"),
        (datetime(2026, 12, 3, 23, 0, tzinfo=TZ), 4, "ok"),
        (datetime(2026, 12, 4, 0, 1, tzinfo=TZ), 3, "due_soon"),
        (datetime(2026, 12, 7, 23, 59, tzinfo=TZ), 0, "due_soon"),
        (datetime(2026, 12, 8, 0, 0, tzinfo=TZ), -1, "overdue"),
    ],
)
def test_days_left_and_band(now, left, expected_band):
    due = due_at(ClockFacts(NOV22))
    assert days_left(due, now) == left
    assert band(due, now) == expected_band


@pytest.mark.parametrize(
    ("requested", "ok"), [(date(2026, 12, 31), True), (date(2027, 1, 1), False)]
)
def test_review_must_be_requested_within_30_days_of_receiving_the_decision(requested, ok):
    assert review_request_in_time(date(2026, 12, 1), requested) is ok
    assert review_request_in_time(None, requested)  # (not proven told: not yet begun)


def test_the_review_window_opens_when_the_decision_reaches_the_customer():
    decided = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    told = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)  # 7 December 01:00 in Beijing
    assert review_window_opens(decided, told) == date(2026, 12, 7)
    assert review_window_opens(decided, None) is None
    assert review_window_opens(decided, decided - timedelta(days=3)) is None  # an older proof
