"""Dashboard figures equal figures computed independently from raw rows (both databases).

Responses and complaints are saved through the real saving paths; the rollups are kept current
by the after-commit refresh job (inline), and every figure is checked against plain arithmetic
over the raw rows for a branch subtree and a date range.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Branch, Complaint, ComplaintRollup, Response, SatisfactionRollup, Survey
from app.services import dashboard_complaints as dc
from app.services import dashboard_filters, metrics, rollups
from app.services.complaints import IntakeData, create_complaint
from app.services.responses import store_response
from app.services.tx import transactional
from surveys import QuestionType

SH = ZoneInfo("Asia/Shanghai")


def _version():
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    return survey.latest_version


def _answers(rng: random.Random, defn, csat: int, nps: int) -> dict:
    out = {}
    for q in defn.questions:
        if q.type is QuestionType.RATING:
            out[q.id] = csat
        elif q.type is QuestionType.NPS:
            out[q.id] = nps
        elif q.type is QuestionType.CES:
            out[q.id] = rng.randint(1, 7)
        elif q.type is QuestionType.MATRIX and q.items:
            out[q.id] = {item.id: rng.randint(1, 5) for item in q.items}
    return out


@transactional
def _save_responses(plan: list[tuple[str, datetime, int, int]]) -> list[int]:
    from app.services.surveys import definition_of

    version = _version()
    defn = definition_of(version)
    rng = random.Random(5)
    branches = {b.code: b.id for b in db.session.scalars(select(Branch))}
    ids = []
    for code, at, csat, nps in plan:
        response = store_response(
            version,
            _answers(rng, defn, csat, nps),
            channel="sms",
            now=at,
            branch_id=branches[code],
            call_back_on_problems=False,
        )
        ids.append(response.id)
    return ids


def _local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(UTC)


@pytest.fixture
def answers(app):
    """HZ01: 12 answers in January, HZ02: 3 (too few), NJ01: 8; plus the day-boundary pair."""
    rng = random.Random(11)
    plan = []
    for code, n in (("HZ01", 12), ("HZ02", 3), ("NJ01", 8)):
        for i in range(n):
            plan.append(
                (code, _local(2026, 1, 2 + i, 9 + i % 8), rng.randint(1, 5), rng.randint(0, 10))
            )
    plan.append(("HZ01", _local(2026, 1, 31, 23, 30), 5, 10))  # 15:30 UTC: still January
    plan.append(("HZ01", _local(2026, 2, 1, 0, 10), 1, 0))  # 16:10 UTC on 31 Jan: February
    app.config["MIN_SAMPLE_SIZE"] = 5
    yield _save_responses(plan)
    app.config["MIN_SAMPLE_SIZE"] = 30


def _raw(prefix: str, start: date, end: date) -> dict:
    """CSAT share and NPS straight from the response rows (no rollup, no surveys package)."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=SH)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=SH)
    stmt = (
        select(Response.csat, Response.nps)
        .join(Branch, Branch.id == Response.branch_id)
        .where(Branch.path.startswith(prefix), Response.submitted_at >= lo)
        .where(Response.submitted_at < hi)
    )
    rows = list(db.session.execute(stmt))
    csat = [r.csat for r in rows if r.csat is not None]
    nps = [r.nps for r in rows if r.nps is not None]
    return {
        "responses": len(rows),
        "csat": sum(v >= 4 for v in csat) / len(csat) if csat else None,
        "nps": 100 * (sum(v >= 9 for v in nps) - sum(v <= 6 for v in nps)) / len(nps)
        if nps
        else None,
    }


def _filters(**args):
    return dashboard_filters.parse({"from": "2026-01-01", "to": "2026-01-31", **args})


def test_branch_groups_equal_raw_rows_for_a_subtree_and_range(answers):
    f = _filters(branch="HZ")
    groups = {g.key: g for g in metrics.satisfaction_by(f, "child")}
    for code in ("HZ01", "HZ02"):
        raw = _raw(f"/HO/HZ/{code}/", date(2026, 1, 1), date(2026, 1, 31))
        report = groups[code].report()
        assert groups[code].sums.responses == raw["responses"]
        assert report.csat.value == pytest.approx(raw["csat"])
        assert report.nps.value == pytest.approx(raw["nps"])
    assert groups["HZ01"].sums.responses == 13  # the 23:30 answer on 31 January counts
    assert groups["HZ02"].report().index.too_small  # 3 answers < MIN_SAMPLE_SIZE 5
    assert not groups["HZ01"].report().index.too_small
    total = metrics.satisfaction_total(f)
    assert total.responses == _raw("/HO/HZ/", date(2026, 1, 1), date(2026, 1, 31))["responses"]


def test_months_are_shanghai_months(answers):
    f = dashboard_filters.parse({"from": "2026-01-01", "to": "2026-02-28", "branch": "HZ01"})
    months = {g.key[:7]: g.sums.responses for g in metrics.satisfaction_by(f, "month")}
    assert months == {"2026-01": 13, "2026-02": 1}
    days = set(
        db.session.scalars(
            select(SatisfactionRollup.day).where(
                SatisfactionRollup.day.in_([date(2026, 1, 31), date(2026, 2, 1)])
            )
        )
    )
    assert days == {date(2026, 1, 31), date(2026, 2, 1)}


def test_refresh_twice_and_rebuild_give_the_same_rows(answers):
    f = _filters()
    before = metrics.satisfaction_total(f)
    dirty = rollups.DirtyCells()
    for response in db.session.scalars(select(Response)):
        dirty.add("satisfaction", response.submitted_at, response.branch_id)
    rollups.refresh(dirty)
    rollups.refresh(dirty)
    assert metrics.satisfaction_total(f) == before
    rollups.rebuild()
    assert metrics.satisfaction_total(f) == before


def test_complaint_rollup_equals_raw_counts_by_code(app):
    received = _local(2024, 3, 10, 11)  # (before the demo's year of complaints)
    for i in range(4):
        create_complaint(
            IntakeData(
                channel="regulator" if i == 0 else "hotline",
                content=f"信用卡年费扣款有争议，第{i}次来电要求退还年费，客服说无法处理。",
                name="王芳",
                phone="13800138000",
                branch_code="NJ01",
                received_at=received + timedelta(hours=i),
                regulator_ref="JG-2024-001" if i == 0 else None,
            )
        )
    f = dashboard_filters.parse({"from": "2024-03-01", "to": "2024-03-31", "branch": "NJ"})
    raw = db.session.execute(
        select(Complaint.code_business, func.count())
        .join(Branch, Branch.id == Complaint.branch_id)
        .where(Branch.path.startswith("/HO/NJ/"))
        .where(
            Complaint.received_at >= _local(2024, 3, 1, 0),
            Complaint.received_at < _local(2024, 4, 1, 0),
        )
        .group_by(Complaint.code_business)
    ).all()
    expected = {code or "": n for code, n in raw}
    found = {code: counts.received for code, _, counts in dc.by_dimension(f, "code_business")}
    assert found == expected
    assert dc.total(f, regulator=True).received == 1
    assert dc.total(f).received == sum(expected.values()) == 4
    assert db.session.scalar(select(func.sum(ComplaintRollup.received))) >= 4


def test_partial_months_mix_day_and_month_rows_exactly(answers):
    for start, end in (("2026-01-15", "2026-02-10"), ("2025-12-20", "2026-03-31")):
        f = dashboard_filters.parse({"from": start, "to": end, "branch": "HZ"})
        raw = _raw("/HO/HZ/", date.fromisoformat(start), date.fromisoformat(end))
        report = metrics.satisfaction_total(f).report()
        assert report.responses == raw["responses"]
        assert report.csat.value == pytest.approx(raw["csat"])
        assert report.nps.value == pytest.approx(raw["nps"])


def test_a_period_the_range_cuts_says_so_in_its_label(answers):
    """The month still running is not read as a drop: its label says how far it goes."""
    f = dashboard_filters.parse({"from": "2026-01-15", "to": "2026-03-04", "branch": "HZ01"})
    labels = [g.label for g in metrics.satisfaction_trend(f)]
    assert labels == ["2026-01（自15日）", "2026-02", "2026-03（至4日）"]
    weekly = dashboard_filters.parse({"from": "2026-02-02", "to": "2026-02-11", "grain": "week"})
    assert [g.label for g in metrics.satisfaction_trend(weekly)] == [
        "2026-02-02周",
        "2026-02-09周（至2月11日）",
    ]
    whole = dashboard_filters.parse({"from": "2026-01-01", "to": "2026-02-28"})
    assert [g.label for g in metrics.satisfaction_trend(whole)] == ["2026-01", "2026-02"]


def test_a_period_cut_at_both_ends_names_both_days():
    """15–20 September was labelled 2026-09（至20日）: read as the month up to the 20th, its
    count looked like a drop."""
    f = dashboard_filters.Filters(start=date(2026, 9, 15), end=date(2026, 9, 20))
    assert metrics.period_label(date(2026, 9, 1), "month", f) == "2026-09（15日至20日）"
    week = dashboard_filters.Filters(start=date(2026, 9, 30), end=date(2026, 10, 1), grain="week")
    label = metrics.period_label(date(2026, 9, 28), "week", week)
    assert label == "2026-09-28周（9月30日至10月1日）"
    quarter = dashboard_filters.Filters(start=date(2026, 8, 2), end=date(2026, 8, 9))
    assert metrics.period_label(date(2026, 7, 1), "quarter", quarter) == (
        "2026年第3季度（8月2日至8月9日）"
    )


def test_the_overview_shows_the_csat_mean_and_ces_from_the_answers(answers):
    """DESIGN.md lists CSAT's mean and CES beside the shares; they were stored in the rollup and
    shown nowhere as a figure."""
    from statistics import fmean

    from app.services import dashboard_pages

    f = _filters(branch="HZ01")
    lo = datetime.combine(date(2026, 1, 1), datetime.min.time(), tzinfo=SH)
    hi = datetime.combine(date(2026, 2, 1), datetime.min.time(), tzinfo=SH)
    rows = list(
        db.session.execute(
            select(Response.csat, Response.ces)
            .join(Branch, Branch.id == Response.branch_id)
            .where(Branch.code == "HZ01", Response.submitted_at >= lo, Response.submitted_at < hi)
        )
    )
    cards = {c.label: c for c in dashboard_pages.overview(f).cards}
    csat = [r.csat for r in rows if r.csat is not None]
    ces = [r.ces for r in rows if r.ces is not None]
    mean = dashboard_pages.num(fmean(csat), 2)
    assert cards["CSAT 满意占比"].sub == f"均分 {mean}（1–5 分），样本 {len(csat)}"
    expected = dashboard_pages.num(fmean(ces), 2) if ces else "—"
    assert (
        cards["CES 平均省力度"].value == expected and str(len(ces)) in cards["CES 平均省力度"].sub
    )
    assert "越高越省力" in cards["CES 平均省力度"].sub  # (7 = 非常同意 "办理很轻松")
