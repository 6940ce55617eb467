"""What the complaint desk tells a handler at a glance: each case's last day (Beijing date) and a
paused clock."""

from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.services import complaint_clock, complaint_handling
from tests import factories

TEXT = "理财产品赎回资金迟迟未到账，客服说再等等，已经过了十天，要求说明原因并尽快到账。"


def _today():
    return complaint_clock.local_date(utcnow())


def _accepted(days_ago: int):
    """A case at 西湖支行 (HZ01) received ``days_ago`` Beijing days ago, accepted."""
    return factories.accepted_complaint(days_ago, TEXT)


def _decided(days_ago: int):
    c = _accepted(days_ago)
    complaint_handling.decide(
        c.id,
        actor=factories.user(branch_code="HZ"),
        decision=complaint_handling.Decision(
            "调取了赎回流水", "依据产品说明书第七条", "资金已于次日到账", ("review",)
        ),
    )
    return c


def _queue_row(client, c) -> str:
    page = client.get("/staff/complaints?queue=all&q=" + c.reference).get_data(as_text=True)
    return page.split(f">{c.reference}</a>", 1)[1].split("</tr>", 1)[0]


def test_queue_shows_the_last_day_and_a_paused_case_as_paused(client, auth):
    running = _accepted(days_ago=3)
    paused = _accepted(days_ago=5)
    complaint_handling.pause(
        paused.id, actor=factories.user(branch_code="HZ"), kind="mediation", reason="进入调解"
    )
    auth.login("agent")
    row = _queue_row(client, running)
    last_day = complaint_clock.local_date(running.due_at)
    assert "剩 12 天" in row and f"时限 {last_day:%Y-%m-%d}" in row
    row = _queue_row(client, paused)
    assert "中止计时" in row and "时限 " not in row  # no last day while paused


def test_queue_names_a_reviews_deadline_as_the_reviews(client, auth):
    c = _decided(days_ago=6)
    complaint_handling.request_review(
        c.id, actor=factories.user(branch_code="HZ"), requested_on=_today(), reason="客户不服"
    )
    auth.login("agent")
    due = _today() + timedelta(days=complaint_clock.REVIEW_DAYS)
    assert f"核查时限 {due:%Y-%m-%d}" in _queue_row(client, c)
