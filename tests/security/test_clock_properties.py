"""Property-based tests of the complaint clock (hypothesis): whatever instant, time zone of the
caller, pauses or extension, the deadline obeys the rules of REGULATION.md."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.complaint_clock import (
    PERIOD_DAYS,
    TZ,
    ClockFacts,
    Pause,
    band,
    days_left,
    due_at,
    due_date,
    local_date,
)

ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati"])
INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
LEVELS = st.sampled_from(sorted(PERIOD_DAYS))


@st.composite
def pauses(draw, start: date):
    out, cursor = [], start
    for _ in range(draw(st.integers(0, 3))):
        begin = cursor + timedelta(days=draw(st.integers(0, 20)))
        end = begin + timedelta(days=draw(st.integers(0, 30)))
        out.append(Pause(begin, end))
        cursor = end
    return tuple(out)


@settings(max_examples=300, deadline=None)
@given(INSTANTS, ZONES, LEVELS)
def test_due_date_is_the_period_after_the_beijing_receipt_day(instant, zone, level):
    received = instant.astimezone(ZoneInfo(zone))
    facts = ClockFacts(received, extension_level=level)
    assert due_date(facts) == instant.astimezone(TZ).date() + timedelta(days=PERIOD_DAYS[level])
    # The same instant seen from any time zone gives the same deadline.
    assert due_at(facts) == due_at(ClockFacts(instant, extension_level=level))


@settings(max_examples=300, deadline=None)
@given(INSTANTS, LEVELS, st.data())
def test_pauses_only_ever_add_their_days(instant, level, data):
    start = local_date(instant)
    stops = data.draw(pauses(start))
    plain = due_date(ClockFacts(instant, extension_level=level))
    paused = due_date(ClockFacts(instant, extension_level=level, pauses=stops))
    assert paused == plain + timedelta(days=sum(p.days for p in stops))
    assert paused >= plain


@settings(max_examples=200, deadline=None)
@given(INSTANTS, LEVELS)
def test_extensions_never_shorten_the_deadline(instant, level):
    shorter = due_date(ClockFacts(instant, extension_level=0))
    assert due_date(ClockFacts(instant, extension_level=level)) >= shorter


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.integers(-100, 100))
def test_deadline_is_end_of_the_local_day_and_bands_are_consistent(instant, offset_days):
    due = due_at(ClockFacts(instant))
    local = due.astimezone(TZ)
    assert (local.hour, local.minute, local.second) == (23, 59, 59)
    now = due - timedelta(days=offset_days)
    left = days_left(due, now)
    expected = "overdue" if left < 0 else "due_soon" if left <= 3 else "ok"
    assert band(due, now) == expected
    assert days_left(due, due) == 0  # the last day itself still counts as in time


@settings(max_examples=200, deadline=None)
@given(INSTANTS)
def test_an_open_pause_stops_the_clock(instant):
    facts = ClockFacts(instant, pauses=(Pause(local_date(instant), None),))
    assert due_date(facts) is None and band(due_at(facts), instant) == "paused"
