"""Week rows and complaint slices (both databases): kept current incrementally exactly as a full
rebuild writes them, and the figures read from them equal the raw rows and the wide rollup."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import and_, delete, or_, select

from app.extensions import db
from app.models import (
    AnswerValueRollup,
    Branch,
    Complaint,
    ComplaintRollup,
    FollowUpRollup,
    QuestionRollup,
    SatisfactionRollup,
    VoiceRollup,
)
from app.models.rollup import ComplaintSliceRollup
from app.services import dashboard_complaints as dc
from app.services import dashboard_filters, metrics, rollups
from app.services.complaints import IntakeData, create_complaint
from app.services.tx import transactional
from tests.services.test_dashboard_figures import _local, _raw, answers  # noqa: F401

TABLES = (SatisfactionRollup, QuestionRollup, ComplaintRollup, ComplaintSliceRollup, VoiceRollup)


def _snapshot(model) -> list[tuple]:
    """Every row but its id, sorted: the table's content."""
    columns = [c for c in model.__table__.columns if c.name != "id"]
    found = db.session.execute(select(*columns).execution_options(include_all_branches=True))
    return sorted((tuple(row) for row in found), key=repr)


@transactional
def _decide(references: dict[int, tuple]) -> None:
    """Decide (and close) complaints, each decision told to the customer at once: their
    decision and closing days become dirty cells."""
    for complaint_id, (decided, closed) in references.items():
        complaint = db.session.get(Complaint, complaint_id)
        complaint.decided_at = complaint.decision_notified_at = decided
        complaint.closed_at = closed


# The complaints' year: before the demo's year of complaints, with the calendar of 2026 (the
# same weekdays), so the figures below are these cases' alone.
Y = 2015


@pytest.fixture
def complaints(app):
    """Complaints over two months in two subtrees and channels, some decided late or closed."""
    ids = []
    plan = [
        ("NJ01", "regulator", 0),
        ("NJ01", "hotline", 3),
        ("NJ02", "hotline", 9),
        ("HZ01", "web", 17),
        ("HZ01", "regulator", 30),
        ("HZ02", "hotline", 41),
    ]
    for i, (branch, channel, offset) in enumerate(plan):
        complaint, _ = create_complaint(
            IntakeData(
                channel=channel,
                content=f"信用卡年费扣款有争议，第{i}次来电要求退还年费，客服说无法处理。",
                name="王芳",
                phone="13800138000",
                branch_code=branch,
                received_at=_local(Y, 1, 5, 23, 40) + timedelta(days=offset),
                regulator_ref=f"JG-{Y}-{i:03d}" if channel == "regulator" else None,
            )
        )
        ids.append(complaint.id)
    _decide(
        {
            ids[0]: (_local(Y, 1, 12, 9), _local(Y, 1, 13, 9)),
            ids[2]: (_local(Y, 2, 9, 23, 50), None),  # 26 days: past the deadline
            ids[3]: (_local(Y, 1, 25, 8), _local(Y, 2, 2, 8)),
        }
    )
    return ids


def test_incremental_refresh_equals_a_full_rebuild(answers, complaints):  # noqa: F811
    incremental = {m.__tablename__: _snapshot(m) for m in TABLES}
    assert any(row[0] == "w" for row in incremental["rollup_satisfaction"])
    assert any(row[0] == "w" for row in incremental["rollup_complaint_slice"])
    assert any(row[0] == "m" for row in incremental["rollup_complaint_slice"])
    rollups.rebuild()
    assert {m.__tablename__: _snapshot(m) for m in TABLES} == incremental
    # refreshing cells again (a retried job) changes nothing either
    dirty = rollups.DirtyCells()
    for d in (date(Y, 1, 5), date(Y, 1, 12), date(Y, 2, 9)):
        for branch_id in db.session.scalars(select(Complaint.branch_id).distinct()):
            dirty.cells["complaint"].add((d, branch_id))
    rollups.refresh(dirty)
    assert {m.__tablename__: _snapshot(m) for m in TABLES} == incremental


@pytest.mark.parametrize(
    "start,end",
    [("2025-12-29", "2026-02-08"), ("2026-01-03", "2026-02-05"), ("2026-01-13", "2026-01-20")],
)
def test_weekly_figures_from_week_rows_equal_raw_rows(answers, start, end):  # noqa: F811
    f = dashboard_filters.parse({"from": start, "to": end, "branch": "HZ", "grain": "week"})
    for group in metrics.satisfaction_trend(f):
        monday = date.fromisoformat(group.key)
        first, last = max(monday, f.start), min(monday + timedelta(days=6), f.end)
        raw = _raw("/HO/HZ/", first, last)
        report = group.report()
        assert group.sums.responses == raw["responses"], group.label
        assert report.csat.value == pytest.approx(raw["csat"])
        assert report.nps.value == pytest.approx(raw["nps"])
    monthly = dashboard_filters.parse({"from": start, "to": end, "branch": "HZ"})
    assert metrics.satisfaction_total(monthly) == sum(
        (g.sums for g in metrics.satisfaction_trend(f)), metrics.MetricSums()
    )


FILTERS = [
    {},
    {"branch": "NJ"},
    {"channel": "regulator"},
    {"channel": "hotline", "branch": "HZ"},
    {"grain": "week"},
]


@pytest.mark.parametrize("args", FILTERS)
def test_complaint_slices_give_the_wide_rollups_figures(complaints, args):
    for start, end in ((f"{Y}-01-01", f"{Y}-02-28"), (f"{Y}-01-06", f"{Y}-02-10")):
        f = dashboard_filters.parse({"from": start, "to": end, **args})
        queries = [
            (("day",), None),
            (("day",), True),
            (("branch_id", "day"), None),
            (("channel",), None),
            (("product_id",), None),
            *(((code,), None) for code in dc.DIMENSIONS),
        ]
        for dims, regulator in queries:
            sliced = dc._rows(f, dims, regulator)
            wide = dc._wide_rows(f, dims, regulator)
            assert _by_key(sliced, f, dims) == _by_key(wide, f, dims), (args, dims, regulator)
        assert dc.total(f).received == sum(c.received for _, c in dc.trend(f))


def _by_key(found, f, dims) -> dict:
    """Counts per key (days folded into the figure's periods: week/month rows differ in day)."""
    out: dict = {}
    for values, counts in found:
        key = tuple(
            metrics.period_of(v, f.grain) if d == "day" else v
            for d, v in zip(dims, values, strict=True)
        )
        target = out.setdefault(key, dc.Counts())
        target.add(counts.values)
    return {k: v.values for k, v in out.items() if any(v.values.values())}


def test_complaint_page_figures_equal_raw_complaints(complaints):
    f = dashboard_filters.parse({"from": f"{Y}-01-01", "to": f"{Y}-02-28", "branch": "NJ"})
    raw = db.session.scalars(select(Complaint).where(Complaint.id.in_(complaints))).all()
    nj = [c for c in raw if c.branch.path.startswith("/HO/NJ/")]
    assert dc.total(f).received == len(nj) == 3
    assert dc.total(f, regulator=True).received == 1
    assert dc.sum_counts(c for _, c in dc.trend(f)).decided == 2
    late = dc.sum_counts(c for _, c in dc.trend(f))
    assert late.decided_in_time == 1  # the NJ02 case took 26 days
    by_channel = {code: c.received for code, c in dc.by_channel(f)}
    assert by_channel == {"regulator": 1, "hotline": 2}


ALL_TABLES = (*TABLES, AnswerValueRollup, FollowUpRollup)


@pytest.mark.parametrize(
    "first, now",
    [
        (date(2026, 1, 31), _local(2026, 2, 1, 12)),  # answers; across a month's end
        (date(Y, 1, 12), _local(Y, 1, 13, 18)),  # complaints decided and closed
    ],
)
def test_the_periodic_refresh_restores_the_last_two_days(answers, complaints, first, now):  # noqa: F811
    """Rows of the last two days lost (jobs that never ran) or wrong: the periodic refresh
    puts back exactly what the incremental refresh had written, week and month rows included,
    and leaves the other days alone."""
    kept = {m.__tablename__: _snapshot(m) for m in ALL_TABLES}
    days = (first, first + timedelta(days=1))
    lost = 0
    for model in ALL_TABLES:
        # the window's day rows, and the week and month rows that hold them
        if hasattr(model, "period"):
            starts = {(p, rollups.period_start(p, d)) for p in ("w", "m") for d in days}
            window = or_(
                and_(model.period == "d", model.day.in_(days)),
                *(and_(model.period == p, model.day == start) for p, start in starts),
            )
        else:
            window = model.day.in_(days)
        lost += db.session.execute(delete(model).where(window)).rowcount
    hz01 = db.session.scalar(select(Branch.id).where(Branch.code == "HZ01"))
    db.session.add(
        VoiceRollup(day=first, branch_id=hz01, source_type="response", kind="kw", key="旧", texts=9)
    )
    db.session.commit()
    assert lost  # the window held rows

    stored = rollups.refresh_recent(days=2, now=now)

    assert stored > 0
    assert {m.__tablename__: _snapshot(m) for m in ALL_TABLES} == kept
