"""Contact rules: who may be sent which survey, on which channel, and when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

COMPLAINT_SURVEY_CODE = "complaint-resolution"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    APP = "app"


@dataclass(frozen=True, slots=True)
class CustomerContactState:
    """What the contact rules need to know about one customer (times must be timezone-aware)."""

    last_surveyed_at: tuple[datetime, ...] = ()
    has_open_complaint: bool = False
    opted_out: bool = False
    opted_out_channels: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        sent = self.last_surveyed_at
        if sent is None or isinstance(sent, datetime):
            sent = () if sent is None else (sent,)
        object.__setattr__(self, "last_surveyed_at", tuple(sent))
        object.__setattr__(self, "opted_out_channels", frozenset(self.opted_out_channels))
        for when in self.last_surveyed_at:
            _require_aware(when, "last_surveyed_at")


@dataclass(frozen=True, slots=True)
class ContactRules:
    """Defaults: at most one survey per 30 days, quiet 21:00-08:00 Beijing time except e-mail."""

    frequency_cap_days: int = 30
    max_surveys_in_window: int = 1
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_channels: frozenset[str] = frozenset({Channel.SMS, Channel.WECHAT, Channel.APP})
    timezone: str = "Asia/Shanghai"
    complaint_exempt_surveys: frozenset[str] = field(
        default_factory=lambda: frozenset({COMPLAINT_SURVEY_CODE})
    )
    # Surveys a bank chooses to send regardless of the cap (none by default).
    cap_exempt_surveys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ContactDecision:
    allowed: bool
    reason_code: str | None = None
    reason: str | None = None
    not_before: datetime | None = None


ALLOWED = ContactDecision(allowed=True)
CHANNEL_NAMES = {
    Channel.SMS: "短信",
    Channel.EMAIL: "电子邮件",
    Channel.WECHAT: "微信",
    Channel.APP: "手机银行推送",
}


def check_contact(
    customer_state: CustomerContactState,
    survey_code: str,
    channel: Channel | str,
    now: datetime,
    rules: ContactRules | None = None,
) -> ContactDecision:
    """May this survey go to this customer on this channel now?

    Checks, in order: global opt-out, channel opt-out, open complaint (the complaint-resolution
    survey is exempt), frequency cap, quiet hours. Refusals carry a reason code and a Chinese
    reason; the cap and quiet hours also give `not_before`, the earliest time allowed by both.
    Raises ValueError for a naive `now` or an unknown channel.
    """
    rules = rules or ContactRules()
    _require_aware(now, "now")
    channel = Channel(channel)
    refused = opt_out(customer_state, channel)
    if refused is not None:
        return refused
    if customer_state.has_open_complaint and survey_code not in rules.complaint_exempt_surveys:
        return ContactDecision(False, "open_complaint", "客户有未办结的投诉，暂不发送调查")
    capped_until = None
    if survey_code not in rules.cap_exempt_surveys:
        capped_until = frequency_cap_until(customer_state.last_surveyed_at, now, rules)
    if capped_until is not None:
        when = next_send_time(capped_until, channel, rules)
        reason = f"距上次调查不足 {rules.frequency_cap_days} 天"
        return ContactDecision(False, "frequency_cap", reason, when)
    if in_quiet_hours(now, channel, rules):
        start, end = rules.quiet_start, rules.quiet_end
        reason = f"当前为免打扰时段（{start:%H:%M}–{end:%H:%M}），请在此后发送"
        return ContactDecision(False, "quiet_hours", reason, next_send_time(now, channel, rules))
    return ALLOWED


def opt_out(customer_state: CustomerContactState, channel: Channel | str) -> ContactDecision | None:
    """The customer's own refusal of surveys, all of them or on this channel, or None. Unlike
    the bank's rules (cap, quiet hours, open complaints) nothing overrules it."""
    channel = Channel(channel)
    if customer_state.opted_out:
        return ContactDecision(False, "opted_out", "客户已退订全部调查")
    if channel in customer_state.opted_out_channels:
        return ContactDecision(
            False, "channel_opted_out", f"客户已退订{CHANNEL_NAMES[channel]}调查"
        )
    return None


def frequency_cap_until(
    sent_times: Iterable[datetime], now: datetime, rules: ContactRules | None = None
) -> datetime | None:
    """When the cap lifts, or None if a survey may be sent now.

    A survey sent exactly `frequency_cap_days` ago no longer counts (the window is half-open).
    """
    rules = rules or ContactRules()
    window = timedelta(days=rules.frequency_cap_days)
    recent = sorted(t for t in sent_times if t > now - window)
    excess = len(recent) - rules.max_surveys_in_window
    if excess < 0:
        return None
    return recent[excess] + window


def in_quiet_hours(
    when: datetime, channel: Channel | str, rules: ContactRules | None = None
) -> bool:
    rules = rules or ContactRules()
    _require_aware(when, "when")
    if Channel(channel) not in rules.quiet_channels:
        return False
    local = when.astimezone(ZoneInfo(rules.timezone)).time().replace(tzinfo=None)
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_send_time(
    when: datetime, channel: Channel | str, rules: ContactRules | None = None
) -> datetime:
    """`when` itself if allowed, else the end of the quiet period (in the rules' timezone)."""
    rules = rules or ContactRules()
    if not in_quiet_hours(when, channel, rules):
        return when
    zone = ZoneInfo(rules.timezone)
    local = when.astimezone(zone)
    end_today = datetime.combine(local.date(), rules.quiet_end, tzinfo=zone)
    return end_today if local < end_today else end_today + timedelta(days=1)


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
