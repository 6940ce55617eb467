"""Contact rules: opt-out, open complaints, frequency cap, quiet hours."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from surveys.contact import (
    ContactRules,
    CustomerContactState,
    check_contact,
    frequency_cap_until,
    in_quiet_hours,
    next_send_time,
)

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SH)


def at(hour: int, minute: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def test_fresh_customer_is_allowed():
    decision = check_contact(CustomerContactState(), "branch-service", "sms", NOON)
    assert decision.allowed
    assert decision.reason_code is None and decision.not_before is None


def test_frequency_cap_boundary_at_exactly_thirty_days():
    state = CustomerContactState(last_surveyed_at=NOON - timedelta(days=30))
    assert check_contact(state, "branch-service", "email", NOON).allowed
    state = CustomerContactState(last_surveyed_at=NOON - timedelta(days=30) + timedelta(seconds=1))
    decision = check_contact(state, "branch-service", "email", NOON)
    assert not decision.allowed
    assert decision.reason_code == "frequency_cap"
    assert decision.reason == "距上次调查不足 30 天"
    assert decision.not_before == NOON + timedelta(seconds=1)


def test_frequency_cap_uses_the_latest_of_several_sends():
    sends = (NOON - timedelta(days=100), NOON - timedelta(days=3), NOON - timedelta(days=40))
    decision = check_contact(CustomerContactState(last_surveyed_at=sends), "x", "email", NOON)
    assert decision.not_before == NOON + timedelta(days=27)


def test_frequency_cap_with_more_than_one_survey_per_window():
    rules = ContactRules(max_surveys_in_window=2)
    one = [NOON - timedelta(days=5)]
    assert frequency_cap_until(one, NOON, rules) is None
    two = [NOON - timedelta(days=5), NOON - timedelta(days=10)]
    assert frequency_cap_until(two, NOON, rules) == NOON + timedelta(days=20)


def test_frequency_cap_exemption_is_opt_in():
    state = CustomerContactState(last_surveyed_at=NOON - timedelta(days=2))
    assert not check_contact(state, "complaint-resolution", "email", NOON).allowed
    rules = ContactRules(cap_exempt_surveys=frozenset({"complaint-resolution"}))
    assert check_contact(state, "complaint-resolution", "email", NOON, rules).allowed


def test_frequency_cap_not_before_is_moved_out_of_quiet_hours():
    state = CustomerContactState(last_surveyed_at=at(22, day=1))
    decision = check_contact(state, "branch-service", "sms", at(12, day=20))
    assert decision.reason_code == "frequency_cap"
    assert decision.not_before == datetime(2026, 12, 2, 8, 0, tzinfo=SH)


def test_open_complaint_blocks_other_surveys():
    state = CustomerContactState(has_open_complaint=True)
    decision = check_contact(state, "branch-service", "sms", NOON)
    assert (decision.allowed, decision.reason_code) == (False, "open_complaint")
    assert decision.reason == "客户有未办结的投诉，暂不发送调查"
    assert decision.not_before is None


def test_open_complaint_does_not_block_complaint_resolution_survey():
    state = CustomerContactState(has_open_complaint=True)
    assert check_contact(state, "complaint-resolution", "sms", NOON).allowed


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(21, 0), at(8, 0, day=21)),
        (at(23, 30), at(8, 0, day=21)),
        (at(0, 0, day=21), at(8, 0, day=21)),
        (at(7, 59, day=21), at(8, 0, day=21)),
    ],
)
def test_quiet_hours_across_midnight(now, expected):
    decision = check_contact(CustomerContactState(), "branch-service", "wechat", now)
    assert (decision.allowed, decision.reason_code) == (False, "quiet_hours")
    assert decision.not_before == expected
    assert "21:00–08:00" in decision.reason


@pytest.mark.parametrize("now", [at(8, 0), at(20, 59), NOON])
def test_outside_quiet_hours(now):
    assert check_contact(CustomerContactState(), "branch-service", "app", now).allowed


def test_quiet_hours_use_beijing_time_whatever_the_input_zone():
    utc_evening = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    decision = check_contact(CustomerContactState(), "branch-service", "sms", utc_evening)
    assert decision.not_before == at(8, 0, day=21)
    utc_morning = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert check_contact(CustomerContactState(), "branch-service", "sms", utc_morning).allowed


def test_email_is_exempt_from_quiet_hours():
    assert check_contact(CustomerContactState(), "branch-service", "email", at(23)).allowed
    assert not in_quiet_hours(at(3), "email")


def test_quiet_window_within_one_day():
    rules = ContactRules(quiet_start=time(12, 0), quiet_end=time(14, 0))
    assert in_quiet_hours(at(13), "sms", rules)
    assert not in_quiet_hours(at(22), "sms", rules)
    assert next_send_time(at(13), "sms", rules) == at(14)
    assert not in_quiet_hours(at(3), "sms", ContactRules(quiet_start=time(0), quiet_end=time(0)))


def test_global_opt_out():
    decision = check_contact(
        CustomerContactState(opted_out=True), "complaint-resolution", "email", NOON
    )
    assert (decision.allowed, decision.reason_code) == (False, "opted_out")
    assert decision.reason == "客户已退订全部调查"


def test_per_channel_opt_out():
    state = CustomerContactState(opted_out_channels={"sms"})
    decision = check_contact(state, "branch-service", "sms", NOON)
    assert (decision.allowed, decision.reason_code) == (False, "channel_opted_out")
    assert decision.reason == "客户已退订短信调查"
    assert check_contact(state, "branch-service", "email", NOON).allowed


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        check_contact(CustomerContactState(), "branch-service", "sms", datetime(2026, 11, 20, 12))
    with pytest.raises(ValueError):
        CustomerContactState(last_surveyed_at=datetime(2026, 11, 1))


def test_unknown_channel_is_refused():
    with pytest.raises(ValueError):
        check_contact(CustomerContactState(), "branch-service", "fax", NOON)
