"""What the complaint desk tells a handler at a glance: each case's last day (Beijing date), a
paused clock, a decision against its deadline, and only the extension the signed-in user may
grant."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Role, utcnow
from app.services import complaint_clock, complaint_handling
from app.services.errors import Conflict
from tests import factories
from tests.support import csrf_token

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
            "调取了赎回流水", "依据产品说明书第七条", "资金已于次日到账", ("review",), "callback"
        ),
    )
    return c


def _queue_row(client, c) -> str:
    page = client.get("/staff/complaints?queue=all&q=" + c.reference).get_data(as_text=True)
    return page.split(f">{c.reference}</a>", 1)[1].split("</tr>", 1)[0]


def _case(client, c) -> str:
    return client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)


def _level_options(page: str) -> list[str]:
    panel = page.split('id="act-extend"', 1)[1].split("</details>", 1)[0]
    return re.findall(r'<option[^>]*value="(\d)"', panel)


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


def test_paused_case_says_since_when_and_the_days_left_when_it_resumes(client, auth):
    c = _accepted(days_ago=5)
    on = _today() - timedelta(days=2)  # three days of fifteen used before the pause
    complaint_handling.pause(
        c.id, actor=factories.user(branch_code="HZ"), kind="appraisal", reason="送第三方鉴定", on=on
    )
    auth.login("agent")
    clock_box = _case(client, c).split('class="cp-clock', 1)[1].split("</div>\n</div>", 1)[0]
    assert "中止计时" in clock_box and f"自 {on:%Y-%m-%d} 起" in clock_box
    assert "恢复计时后剩 12 天" in clock_box


def test_decided_case_says_when_it_was_decided_and_whether_the_customer_was_told(client, auth):
    c = _decided(days_ago=4)
    auth.login("agent")
    page = _case(client, c)
    assert f"{_today():%Y-%m-%d} 作出决定 · 在办理时限内" in page
    assert "尚未告知客户，须在办理时限内告知" in page  # Art. 18: made *and* communicated
    complaint_handling.record_notice(
        c.id, actor=factories.user(branch_code="HZ"), method="phone", purpose="decision",
        outcome="reached",
    )  # fmt: skip
    page = _case(client, c)
    assert "作出决定 · 在办理时限内" in page and "尚未告知客户" not in page


def test_extension_is_offered_only_at_the_level_the_user_may_grant(client, auth):
    c = _accepted(days_ago=2)  # at 西湖支行, under 杭州分行
    auth.login("agent")
    assert _level_options(_case(client, c)) == ["1"]  # 60 days is not a first step
    complaint_handling.extend(
        c.id, actor=factories.user(branch_code="HZ"), level=1, reason="需调取第三方交易记录"
    )
    page = _case(client, c)
    assert 'id="act-extend"' not in page  # an agent may not approve the second extension
    assert "再延长 30 日须经上级机构负责人或总行管理人员审批" in page
    auth.logout()
    auth.login("manager")  # 杭州分行's manager: a unit above the case's
    assert _level_options(_case(client, c)) == ["2"]
    complaint_handling.extend(
        c.id, actor=factories.user(Role.HQ_MANAGER, "HO"), level=2, reason="需司法鉴定"
    )
    page = _case(client, c)
    assert 'id="act-extend"' not in page and "再延长 30 日须经" not in page  # 60 days: the end


def _extend(client, c, page: str, reason: str, **kw):
    """The case page's extension form sent for 30 days."""
    data = {"csrf_token": csrf_token(page), "version": c.version, "level": "1", "reason": reason}
    return client.post(
        f"/staff/complaints/{c.id}/extend", data={f"extend-{k}": v for k, v in data.items()}, **kw
    )


def test_a_review_is_not_extended(client, auth, db_session):
    c = _decided(days_ago=6)
    complaint_handling.request_review(
        c.id, actor=factories.user(branch_code="HZ"), requested_on=_today(), reason="客户不服"
    )
    auth.login("agent")
    page = _case(client, c)
    assert 'id="act-extend"' not in page
    due = c.due_at
    with pytest.raises(Conflict) as refused:
        complaint_handling.extend(
            c.id, actor=factories.user(Role.HQ_MANAGER, "HO"), level=1, reason="情况复杂"
        )
    assert "核查决定须在收到核查申请之日起 30 日内作出" in refused.value.message
    db_session.refresh(c)
    assert c.extension_level == 0 and c.due_at == due
    posted = _extend(client, c, page, "情况复杂需要延期")
    assert posted.status_code == 409 and "核查期间不能延期" in posted.get_data(as_text=True)


def test_extension_flash_says_what_was_done(client, auth):
    c = _accepted(days_ago=1)
    auth.login("agent")
    db.session.refresh(c)
    page = _case(client, c)
    done = _extend(client, c, page, "需调取第三方交易记录", follow_redirects=True)
    done = done.get_data(as_text=True)
    db.session.refresh(c)
    assert (
        f"{c.reference}：已延长办理时限，办理时限至 "
        f"{complaint_clock.local_date(c.due_at):%Y年%m月%d日}（含当日）" in done
    )
