"""年度消费投诉情况披露: the year's counts against the year before, the distributions by JR/T 0169
category, region, cause and channel, the draft paragraph, and a year still running."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.services import annual_disclosure as ad
from app.services import dashboard_filters
from app.services.complaints import IntakeData, create_complaint
from app.services.errors import ValidationFailed

pytestmark = pytest.mark.usefixtures("app")

SH = ZoneInfo("Asia/Shanghai")
CARD_FEE = "信用卡年费扣款有争议，要求退还年费，客服说无法处理。"
MORTGAGE = "房贷提前还款被收取违约金，合同里没有写明，要求退还。"


def _complaint(
    day: date, content: str, branch: str, channel: str = "hotline", accept: bool = True, **kw
):
    """A complaint received on ``day`` (Beijing), accepted (受理) unless ``accept`` is False."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from app.services import complaint_handling as handling

    c, created = create_complaint(
        IntakeData(
            channel=channel,
            content=content,
            name="周敏",
            phone="13900139000",
            branch_code=branch,
            received_at=datetime(day.year, day.month, day.day, 10, tzinfo=SH).astimezone(UTC),
            **kw,
        )
    )
    if accept:
        handling.accept(c.id, actor=db.session.scalar(select(User).where(User.username == "hq")))
    return c, created


def test_a_finished_year_against_the_whole_year_before():
    for day, content, branch in [
        (date(2023, 1, 9), CARD_FEE, "NJ01"),
        (date(2023, 6, 30), CARD_FEE, "NJ02"),
        (date(2023, 12, 31), MORTGAGE, "HZ01"),
        (date(2022, 1, 20), CARD_FEE, "HZ01"),  # the records' first day: 上年 is covered
        (date(2022, 12, 31), MORTGAGE, "SZ01"),
        (date(2024, 1, 1), MORTGAGE, "SZ01"),  # the next year: not counted
    ]:
        _complaint(day, content, branch)
    _complaint(date(2023, 5, 5), CARD_FEE, "NJ01", channel="regulator", regulator_ref="JG-1")

    d = ad.build(2023)

    assert d.complete and (d.start, d.end) == (date(2023, 1, 1), date(2023, 12, 31))
    assert (d.received, d.previous, d.change, d.regulator) == (4, 2, 100.0, 1)
    business = [(r.label, r.count, r.share, r.level) for r in d.business]
    assert business == [
        ("银行卡", 3, 75.0, 0),
        ("信用卡", 3, 75.0, 1),
        ("贷款", 1, 25.0, 0),
        ("个人住房贷款", 1, 25.0, 1),
    ]
    assert sum(r.count for r in d.business if r.level == 0) == d.received
    regions = {r.label: (r.count, r.share) for r in d.regions}
    assert regions == {"南京分行": (3, 75.0), "杭州分行": (1, 25.0)}
    channels = {r.label: r.count for r in d.channels}
    assert channels[dashboard_filters.CHANNELS["regulator"]] == 1 and sum(channels.values()) == 4
    assert [(r.label, r.count, r.share) for r in d.causes] == [("定价收费", 4, 100.0)]

    text = ad.draft_text(d)
    assert text.startswith(
        "2023 年，本行共受理消费投诉 4 件，较上年（2 件）增长 100.0%；其中监管部门转办 1 件。"
    )
    assert "从业务类别看，投诉主要涉及银行卡（75.0%）和贷款（25.0%）。" in text
    assert "从地区分布看，投诉较多的是南京分行（75.0%）和杭州分行（25.0%）。" in text
    assert "全年对 0 件投诉作出处理决定" in text
    assert "截至" not in text


def test_declined_complaints_are_received_but_not_accepted():
    """A complaint declined (不予受理, Art. 18), or still waiting for 受理, was received, not
    accepted: the disclosure states 受理 without it, in the paragraph, the overview, the
    comparison with the year before and every distribution, and says how many were set apart."""
    from app.models import Role
    from app.services import complaint_handling as handling
    from tests import factories

    agent = factories.user(Role.AGENT, "NJ")
    for day, branch, channel, fate in [
        (date(2022, 1, 10), "NJ01", "hotline", "accept"),
        (date(2022, 3, 10), "NJ01", "hotline", "decline"),
        (date(2023, 2, 1), "NJ01", "hotline", "accept"),
        (date(2023, 4, 1), "HZ01", "hotline", "accept"),
        (date(2023, 8, 1), "NJ01", "regulator", "decline"),
        (date(2023, 9, 1), "HZ01", "branch", "pending"),
    ]:
        extra = {"regulator_ref": f"JG-{day}"} if channel == "regulator" else {}
        c, _ = _complaint(day, CARD_FEE, branch, channel=channel, accept=fate == "accept", **extra)
        if fate == "decline":
            handling.decline(c.id, actor=agent, ground="not_entitled", reason="来访人系客户同事")

    d = ad.build(2023)

    assert (d.received, d.declined, d.pending, d.accepted) == (4, 1, 1, 2)
    assert (d.previous_received, d.previous, d.change, d.regulator) == (2, 1, 100.0, 0)
    # every distribution is of the two accepted (the declined regulator case and the one
    # waiting at a counter taken off)
    assert sum(r.count for r in d.business if r.level == 0) == d.accepted == 2
    assert {r.label: (r.count, r.share) for r in d.regions} == {
        "南京分行": (1, 50.0),
        "杭州分行": (1, 50.0),
    }
    channels = dashboard_filters.CHANNELS
    assert {r.label: r.count for r in d.channels} == {channels["hotline"]: 2}
    assert [(r.label, r.count, r.share) for r in d.causes] == [("定价收费", 2, 100.0)]
    today = dashboard_filters.today()
    assert ad.draft_text(d).startswith(
        "2023 年，本行共受理消费投诉 2 件，较上年（1 件）增长 100.0%。"
        "另有 1 件因非消费者本人、其法定代理人或受托人提出，不予受理；"
        f"1 件截至 {today.month} 月 {today.day} 日尚待受理，均未计入。"
    )
    rows = dict(ad.overview_rows(d))
    counted = ("收到投诉（件）", "其中不予受理（件）", "其中尚待受理（件）", "受理投诉（件）")
    assert [rows[k] for k in counted] == [4, 1, 1, 2]
    assert rows["上年受理投诉（件）"] == 1


def test_a_year_that_accepted_none_and_one_after_it_say_so():
    """Every complaint of a year declined: the paragraph says they were received and none
    accepted, and the next year is not said to have nothing to compare with for want of
    records (the records are there; none was accepted)."""
    from app.models import Role
    from app.services import complaint_handling as handling
    from tests import factories

    agent = factories.user(Role.AGENT, "NJ")
    for day in (date(2022, 1, 5), date(2022, 6, 5)):
        c, _ = _complaint(day, CARD_FEE, "NJ01", accept=False)
        handling.decline(c.id, actor=agent, ground="not_entitled", reason="来访人系客户同事")
    _complaint(date(2023, 3, 3), CARD_FEE, "NJ01")

    assert ad.draft_text(ad.build(2022)).endswith(
        "本行收到消费投诉 2 件，均未受理：2 件因非消费者本人、其法定代理人或受托人提出，不予受理。"
    )
    assert ad.draft_text(ad.build(2023)).startswith(
        "2023 年，本行共受理消费投诉 1 件（上年未受理投诉，不作比较）。"
    )


def test_a_fall_and_a_year_with_no_complaints():
    _complaint(date(2021, 1, 15), CARD_FEE, "NJ01")
    _complaint(date(2021, 5, 1), CARD_FEE, "NJ01")
    _complaint(date(2022, 4, 1), CARD_FEE, "NJ01")
    assert ad.draft_text(ad.build(2022)).startswith(
        "2022 年，本行共受理消费投诉 1 件，较上年（2 件）下降 50.0%。"
    )
    assert ad.build(2022).comparable and not ad.build(2022).partial
    assert ad.records_note(ad.build(2022)) == ""
    # a year before the records begin: no draft (it said 本行未受理消费投诉, a false statement
    # for a bank that recorded its 2020 complaints elsewhere), and the note says why
    assert ad.draft_text(ad.build(2020)) == ""
    assert ad.records_note(ad.build(2020)) == (
        "系统中最早的投诉受理于 2021-01-15，2020 年的投诉未录入本系统，请按原有台账统计。"
    )


def test_no_records_at_all_make_no_draft():
    """A new installation: the draft said 「2026 年（截至 12 月 6 日），本行未受理消费投诉。」"""
    # (the test database holds the demo's complaints: the year as a new installation has it)
    year = dataclasses.replace(ad.build(2026), records_from=None, received=0, previous=0)
    assert ad.draft_text(year) == ""
    assert ad.records_note(year).startswith("系统中尚无投诉记录")
    assert ["记录说明", ad.records_note(year)] in ad.overview_rows(year)


def test_records_that_begin_inside_a_year_are_said_so_and_not_compared():
    """A bank that began recording complaints here in mid-2021 has no 2020 to compare with, and
    its 2021 figures leave out the months before: the note says from which day they count."""
    _complaint(date(2021, 6, 15), CARD_FEE, "NJ01")
    _complaint(date(2022, 3, 1), CARD_FEE, "NJ01")
    first = ad.build(2021)
    assert (first.previous, first.change, first.comparable, first.partial) == (0, None, False, True)
    assert "（上年记录不完整，不作比较）" in ad.draft_text(first)
    # the paragraph a bank copies says it too, not only the note beside it
    assert ad.draft_text(first).startswith(
        "2021 年（统计期间为 6 月 15 日至 12 月 31 日，此前受理的投诉未纳入统计），本行共受理"
    )
    assert "期内对 1 件投诉作出处理决定" in ad.draft_text(first) or "全年" not in ad.draft_text(
        first
    )
    assert "2021-06-15" in ad.records_note(first)
    assert ["记录说明", ad.records_note(first)] in ad.overview_rows(first)
    second = ad.build(2022)  # 上年 begins 2021-01-01, the records five months later
    assert not second.comparable and second.change is None and not second.partial
    assert "上年受理投诉（件）" in dict(ad.overview_rows(second))
    assert dict(ad.overview_rows(second))["上年受理投诉（件）"] == "记录不完整"


def test_a_running_year_is_compared_with_the_same_days_of_the_year_before():
    today = dashboard_filters.today()
    if (today.month, today.day) in {(1, 1), (12, 31), (2, 29)}:
        pytest.skip("needs a day with days of the year on both sides")
    last_year = today.year - 1
    _complaint(date(last_year, 1, 1), MORTGAGE, "HZ01")  # inside 上年同期
    _complaint(date(last_year, 12, 31), MORTGAGE, "HZ01")  # after it: not compared
    d = ad.build(today.year)
    assert not d.complete and d.end == today
    assert d.previous == 1 + _demo_received(date(last_year, 1, 2), _year_before(today))
    text = ad.draft_text(d)
    assert f"{today.year} 年（截至 {today.month} 月 {today.day} 日）" in text
    assert "上年同期" in text and "期内对" in text
    assert ad.previous_year_span(today.year) == (date(last_year, 1, 1), _year_before(today))


def _year_before(day: date) -> date:
    return day.replace(year=day.year - 1)


def _demo_received(start: date, end: date) -> int:
    """Complaints the seeded demo bank already holds in these days (besides the test's own)."""
    from app.services import dashboard_complaints as dc

    if start > end:
        return 0
    f = dashboard_filters.parse({"from": start.isoformat(), "to": end.isoformat()})
    return dc.total(f).received


def test_year_input_is_checked():
    this_year = dashboard_filters.today().year
    assert ad.parse_year(str(this_year)) == this_year
    for bad in ("20x6", "2026年", "99999", str(this_year + 1), "1999"):
        with pytest.raises(ValidationFailed):
            ad.parse_year(bad)
    assert ad.years()[0] == this_year and ad.years() == sorted(ad.years(), reverse=True)
    assert len(ad.years()) <= ad.YEARS_SHOWN
    assert ad.default_year() in (this_year, this_year - 1)


def test_same_days_before_handles_a_leap_day():
    assert ad._same_days_before(date(2024, 1, 1), date(2024, 2, 29)) == (
        date(2023, 1, 1),
        date(2023, 2, 28),
    )


def test_the_draft_names_no_vague_rows():
    """其他 and 未分类 stay in the tables but are not what the paragraph says complaints were
    about."""
    rows = [
        ad.Share("其他", 5, 50.0),
        ad.Share("贷款", 3, 30.0),
        ad.Share("个人住房贷款", 3, 30.0, level=1),
        ad.Share("未分类", 2, 20.0),
    ]
    assert ad._listing(rows) == "贷款（30.0%）"


def test_a_year_the_records_cover_only_in_part_says_so_in_the_paragraph_itself():
    """The draft said only 本系统自 6 月 15 日起记录: a reader of the bank's report neither knows
    what 本系统 is nor learns that the count leaves the months before out. It now says which days
    the figures cover and that complaints received before are not counted; a year the records
    cover whole says nothing of the kind."""
    _complaint(date(2021, 6, 15), CARD_FEE, "NJ01")
    _complaint(date(2021, 9, 1), MORTGAGE, "HZ01")
    _complaint(date(2022, 3, 1), CARD_FEE, "NJ01")
    first = ad.draft_text(ad.build(2021))
    assert first.startswith(
        "2021 年（统计期间为 6 月 15 日至 12 月 31 日，此前受理的投诉未纳入统计），"
        "本行共受理消费投诉 2 件"
    )
    assert "全年" not in first and "期内对" in first
    whole = ad.draft_text(ad.build(2022))  # (the records began the year before: all of 2022)
    assert whole.startswith("2022 年，本行共受理消费投诉 1 件")
    assert "统计期间" not in whole and "未纳入统计" not in whole and "本系统" not in whole


def test_the_records_begin_when_the_bank_began_recording_not_at_a_branch_first_complaint():
    """Nanjing's first complaint came in May 2019, the bank's records began in December 2018:
    Nanjing's 2019 figures cover the whole year (it had none before May), so its draft carries
    no caveat, which it did when the records' start was read in the viewer's scope."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User
    from app.services import scope

    _complaint(date(2018, 12, 20), MORTGAGE, "HZ01")
    _complaint(date(2019, 5, 10), CARD_FEE, "NJ01")
    manager_nj = db.session.scalar(select(User).where(User.username == "manager_nj"))
    scope.bind(db.session, scope.scope_for(manager_nj))  # as a web request does
    try:
        d = ad.build(2019)
        text = ad.draft_text(d)
    finally:
        scope.bind(db.session, scope.WHOLE_BANK)
    assert d.scope == "南京分行" and d.received == 1
    assert d.records_from == date(2018, 12, 20) and not d.partial
    assert text.startswith("2019 年，南京分行共受理消费投诉 1 件（上年记录不完整，不作比较）")
    assert ad.records_note(d) == "" and "未纳入统计" not in text


def test_one_case_entered_years_back_does_not_make_the_records_older():
    """One complaint registered with a receipt in 2019 made the records seem to begin then:
    the first year of real records read as a whole year and the next compared itself with
    three complaints (+28,733 %). Records begin after the last year-long gap."""
    this = dashboard_filters.today().year
    before = ad.build(this - 1), ad.build(this)  # (the demo's year of complaints)
    assert before[0].records_from > date(2019, 12, 31)
    _complaint(date(2019, 5, 1), CARD_FEE, "HZ01")
    after = ad.build(this - 1), ad.build(this)
    for was, now in zip(before, after, strict=True):
        assert (now.records_from, now.partial, now.comparable, now.change) == (
            was.records_from,
            was.partial,
            was.comparable,
            was.change,
        )
    assert ad.build(2019).records_from == date(2019, 5, 1)  # (its own year still reads it)
