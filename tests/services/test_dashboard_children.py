"""The 机构 page's rows by child subtree are grouped in SQL (``metrics.child_key_sql``): the same
figures, to the unit, as the per-unit rows mapped to their child in Python, for head office and
for a 分行, by month and by week, answers and complaints (the live overdue and notice-pending
counts included), on both databases."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from app.services import dashboard_complaints as dc
from app.services import dashboard_filters, metrics
from app.services.complaints import IntakeData, create_complaint
from app.services.dashboard_filters import Filters
from surveys import MetricSums
from tests import factories

pytestmark = pytest.mark.usefixtures("app")


def _filters(branch: str | None, grain: str) -> Filters:
    today = dashboard_filters.today()
    args = {"from": (today - timedelta(days=400)).isoformat(), "to": today.isoformat()}
    if branch:
        args["branch"] = branch
    return dashboard_filters.parse(args | {"grain": grain})


def _by_unit(f: Filters, found: list, zero) -> dict:
    """The reference: each unit's (unit, day) row added into its child's (child, day)."""
    keys = metrics.child_keys(*metrics.children_of(f))
    acc: dict = defaultdict(zero)
    for (branch_id, day), value in found:
        key = (keys.get(branch_id, metrics.NO_BRANCH), day)
        acc[key] = acc[key] + value
    return dict(acc)


def _data() -> None:
    """Answers and complaints at units of three 分行, their own counters included, over days
    of the range; some complaints open past their deadline (the live counts)."""
    now = datetime.now(UTC)
    for n, code in enumerate(("HZ", "HZ01", "HZ02", "NJ01", "NJ02", "SZ01", "HO")):
        for days in (3, 40, 95):
            factories.scored_responses(
                code, now - timedelta(days=days + n), [5, 4, 2, 1][: n % 4 + 1]
            )
            create_complaint(
                IntakeData(
                    channel="hotline",
                    content="信用卡年费扣款有争议，要求退还年费，客服说无法处理。",
                    name="王芳",
                    phone="13900139000",
                    branch_code=code,
                    received_at=now - timedelta(days=days + n, hours=2),
                )
            )


@pytest.mark.parametrize("grain", ["month", "week"])
@pytest.mark.parametrize("branch", [None, "HZ"])
def test_rows_by_child_are_the_units_rows_added_up(db_session, branch, grain):
    _data()
    f = _filters(branch, grain)
    node, kids = metrics.children_of(f)
    assert kids  # (head office's 分行, or the 分行's 支行)
    answers = _by_unit(f, metrics.satisfaction_rows(f, "branch_id", "day"), MetricSums)
    assert sum(s.responses for s in answers.values()) >= 10
    assert dict(metrics.child_rows(f)) == answers

    def counted(found):
        return {
            k: dict(v.values)
            for k, v in _by_unit(f, [(k, _Sum(c)) for k, c in found], _Sum).items()
        }

    complaints = counted(dc.rows(f, "branch_id", "day"))
    assert sum(v["received"] for v in complaints.values()) >= 6
    assert any(v["overdue_open"] for v in complaints.values())  # (live counts mapped too)
    by_child = {k: dict(c.values) for k, c in dc.rows(f, "child", "day")}
    assert {k: v for k, v in by_child.items() if any(v.values())} == {
        k: v for k, v in complaints.items() if any(v.values())
    }
    # the page's two readers of them
    groups = {g.key: g.sums for g in metrics.child_groups(f)}
    for kid in kids:
        total = sum((s for (k, _), s in answers.items() if k == kid.code), MetricSums())
        assert groups[kid.code] == total
    received = {k: c.received for k, c in dc.by_child(f).items()}
    for kid in kids:
        expected = sum(v["received"] for (k, _), v in complaints.items() if k == kid.code)
        assert received[kid.code] == expected


class _Sum:
    """Counts' values, added as the reference adds them."""

    def __init__(self, counts=None) -> None:
        self.values = dict(counts.values) if counts is not None else defaultdict(int)

    def __add__(self, other: _Sum) -> _Sum:
        out = _Sum()
        for name in {*self.values, *other.values}:
            out.values[name] = self.values.get(name, 0) + other.values.get(name, 0)
        return out
