"""The printable decision letter (处理决定告知书) for a written notice (Art. 19, 21)."""

from __future__ import annotations

from html import unescape

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog
from app.services import complaint_handling as handling
from tests.web.test_complaint_rules_decision_web import FIRST, REVIEW, _case, _reviewed, _user


def _letter(client, c) -> tuple[int, str]:
    reply = client.get(f"/staff/complaints/{c.id}/letter")
    return reply.status_code, unescape(reply.get_data(as_text=True))


def _audited(c) -> int:
    return db.session.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.object_type == "complaint",
            AuditLog.object_id == str(c.id),
            AuditLog.action == "complaint.view_unmasked",
        )
    )


def test_the_letter_states_the_decision_in_full_and_its_printing_is_audited(client, auth):
    c = _case()
    agent = _user("agent")
    handling.accept(c.id, actor=agent)
    auth.login("agent")
    assert _letter(client, c)[0] == 409  # nothing decided yet: nothing to print
    handling.decide(c.id, actor=agent, decision=FIRST)
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert f'href="/staff/complaints/{c.id}/letter"' in page and "打印处理决定告知书" in page
    before = _audited(c)
    status, letter = _letter(client, c)
    assert status == 200
    assert "投诉处理决定告知书" in letter and c.reference in letter
    assert "尊敬的王五：" in letter  # (a letter is addressed in full: hence the audit)
    for text in (FIRST.verified, FIRST.basis, FIRST.text, "向上级机构申请核查、申请调解"):
        assert text in letter
    assert "30 日内以书面形式提出" in letter
    assert _audited(c) == before + 1


def test_a_reviewed_case_prints_the_review_decision(client, auth):
    c = _reviewed()
    auth.login("hq")
    status, letter = _letter(client, c)
    assert status == 200 and "核查决定告知书" in letter
    assert REVIEW.text in letter and FIRST.text not in letter
    assert "13812345678" not in letter  # (typed into the review's findings: masked as elsewhere)


def test_whom_the_case_names_cannot_print_it(client, auth):
    c = _case()
    agent = _user("agent")
    handling.accept(c.id, actor=agent)
    handling.decide(c.id, actor=agent, decision=FIRST)
    c.named_staff_ids = [agent.id]
    db.session.commit()
    auth.login("agent")
    assert _letter(client, c)[0] == 403


def test_a_forwarded_case_s_letter_says_the_regulator_forwarded_it(client, auth):
    from app.services import complaints
    from app.services.complaints import IntakeData

    c, _ = complaints.create_complaint(
        IntakeData(
            channel="regulator",
            content="监管转办：客户反映年费被多收。",
            name="王五",
            phone="13812345678",
            branch_code="HZ01",
            regulator_ref="JR-2026-000888",
        )
    )
    agent = _user("agent")
    handling.accept(c.id, actor=agent)
    handling.decide(c.id, actor=agent, decision=FIRST)
    auth.login("agent")
    status, letter = _letter(client, c)
    assert status == 200 and "经其转办我行" in letter and "通过监管转办" not in letter
