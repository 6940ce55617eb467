"""Decisions, their notices and declines as the rules want them (REGULATION.md; audit DEV-4,
DEV-5, DEV-7, DEV-10, DEV-13): a review (核查) keeps the original decision on record, a decision
notice always carries the decision, a notice that cannot go out says so, a complaint is
declined only on Art. 18's ground, and the ledger does not mix two decisions (both databases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, utcnow
from app.models.complaint import ComplaintEvent, Status
from app.models.outbox import OutboxMessage
from app.services import complaint_clock as clock
from app.services import complaint_decisions as decisions
from app.services import complaint_handling as handling
from app.services import complaint_ledger as ledger
from app.services import complaint_queue as queue
from app.services import complaints
from app.services.complaints import IntakeData, record_event
from app.services.errors import ValidationFailed
from app.web.api.complaints import complaint_out
from tests import factories
from tests.services.test_complaints import TEXT, new

FIRST = handling.Decision(
    "经调取交易流水核实年费系系统误收，客户电话13812345678已核对",
    "依据信用卡领用合约第八条：首年免年费",
    "退还年费200元并致歉",
    ("review", "mediation", "arbitration", "litigation"),
    identity_check="callback",
)
REVIEW = handling.Decision(
    "总行复核：交易流水无误",
    "依据总行收费管理办法",
    "维持原处理决定",
    ("mediation", "litigation"),
)


def _events(c, kind: str | None = None) -> list[ComplaintEvent]:
    stmt = select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
    if kind:
        stmt = stmt.where(ComplaintEvent.kind == kind)
    return list(db.session.scalars(stmt.order_by(ComplaintEvent.id)))


def _messages(c) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).where(
        OutboxMessage.related_type == "complaint", OutboxMessage.related_id == c.id
    )
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id)))


def _decided(agent, **kw):
    c = new(**kw)
    handling.accept(c.id, actor=agent)
    handling.decide(c.id, actor=agent, decision=FIRST)
    return c


def _reviewed(c, agent, reviewer) -> None:
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    handling.request_review(
        c.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    handling.decide(c.id, actor=reviewer, decision=REVIEW)


def _uncontactable(**kw):
    c, _ = complaints.create_complaint(
        IntakeData(channel="branch", content=TEXT, name="王五", branch_code="HZ01", **kw)
    )
    return c


# DEV-4 ---------------------------------------------------------------------------------------


def test_every_decision_is_kept_in_full_and_a_review_does_not_erase_the_original(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    reviewer = factories.user(Role.AGENT, "HZ")  # (the superior unit's)
    c = _decided(agent)
    first_entry = [e for e in _events(c, "status") if e.to_status == Status.DECIDED][-1]
    assert first_entry.detail == {
        "action": "decide",
        "decision": {
            "round": "first",
            "verified": FIRST.verified,
            "basis": FIRST.basis,
            "text": FIRST.text,
            "remedies": list(FIRST.remedies),
        },
    }
    assert complaint_out(c).original_decision is None  # (no review: `decision` is the one)
    _reviewed(c, agent, reviewer)
    review_entry = [e for e in _events(c, "status") if e.to_status == Status.REVIEW_DECIDED][-1]
    assert review_entry.detail["action"] == "decide_review"
    assert review_entry.detail["decision"] == {
        "round": "review",
        "verified": REVIEW.verified,
        "basis": REVIEW.basis,
        "text": REVIEW.text,
        "remedies": list(REVIEW.remedies),
    }
    assert "replaces" not in review_entry.detail  # (the first is in its own entry)
    # the case row holds the review's; the history still holds the original in full
    assert c.decision_verified == REVIEW.verified
    original = decisions.original_if_reviewed(complaints.history(c))
    assert (original.round, original.verified, original.basis, original.text) == (
        "first",
        FIRST.verified,
        FIRST.basis,
        FIRST.text,
    )
    assert original.remedies == FIRST.remedies
    out = complaint_out(c)
    assert out.decision.verified == REVIEW.verified and out.decision.text == REVIEW.text
    # personal data masked as in `decision`
    masked = "经调取交易流水核实年费系系统误收，客户电话138****5678已核对"
    assert out.original_decision.verified == masked
    assert out.original_decision.basis == FIRST.basis
    assert out.original_decision.text == FIRST.text
    assert out.original_decision.remedies == list(FIRST.remedies)


def test_a_review_of_a_decision_recorded_before_entries_kept_it_keeps_what_it_replaces(db_session):
    """A case decided before the history kept decisions (its entry holds the text only), under
    review when this came in: the review's entry keeps the decision it replaces."""
    agent = factories.user(Role.AGENT, "HZ01")
    c = new()
    handling.accept(c.id, actor=agent, identity_check="id_document")
    before, after = c.transition("decide")
    record_event(c, agent, "status", FIRST.text, from_status=before, to_status=after,
                 detail={"action": "decide"})  # fmt: skip
    c.decision_verified, c.decision_basis = FIRST.verified, FIRST.basis
    c.decision_text, c.remedies, c.decided_at = FIRST.text, list(FIRST.remedies), utcnow()
    db.session.commit()
    _reviewed(c, agent, factories.user(Role.AGENT, "HZ"))
    review_entry = [e for e in _events(c, "status") if e.to_status == Status.REVIEW_DECIDED][-1]
    assert review_entry.detail["replaces"]["verified"] == FIRST.verified
    original = decisions.original_if_reviewed(complaints.history(c))
    assert (original.verified, original.basis, original.text) == (
        FIRST.verified,
        FIRST.basis,
        FIRST.text,
    )
    assert complaint_out(c).original_decision.basis == FIRST.basis


# DEV-5 ---------------------------------------------------------------------------------------


def test_the_decision_sms_tells_what_was_verified_the_basis_the_decision_and_the_remedies(
    db_session,
):
    agent = factories.user(Role.AGENT, "HZ01")
    c = _decided(agent)
    handling.record_notice(c.id, actor=agent, method="sms", purpose="decision")
    (body,) = [m.body for m in _messages(c) if m.purpose == "decision"]
    assert body.endswith(
        "核实情况：经调取交易流水核实年费系系统误收，客户电话13812345678已核对。"
        "处理依据和理由：依据信用卡领用合约第八条：首年免年费。"
        "处理决定：退还年费200元并致歉。"
        "如有异议，您可向上级机构申请核查、申请调解、申请仲裁、提起诉讼。"
    )
    assert c.decision_notified_at is not None


def test_a_typed_note_is_added_to_the_decision_never_instead_of_it(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = _decided(agent)
    handling.record_notice(
        c.id, actor=agent, method="sms", purpose="decision", note="您好，您的投诉已处理完毕。"
    )
    (body,) = [m.body for m in _messages(c) if m.purpose == "decision"]
    assert "处理决定：退还年费200元并致歉。" in body and "处理依据和理由：" in body
    assert "如有异议，您可向上级机构申请核查" in body
    assert body.endswith("补充说明：您好，您的投诉已处理完毕。")
    notice = _events(c, "notice")[-1]
    assert notice.text == body  # (the history keeps what was sent)


def test_a_note_repeating_the_decision_is_not_sent_twice(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = _decided(agent)
    handling.record_notice(c.id, actor=agent, method="sms", purpose="decision",
                           note="退还年费200元并致歉")  # fmt: skip
    (body,) = [m.body for m in _messages(c) if m.purpose == "decision"]
    assert body.count("退还年费200元并致歉") == 1 and "补充说明" not in body
    assert "处理依据和理由：依据信用卡领用合约第八条" in body


def test_the_review_decision_notice_carries_the_review_decision(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = _decided(agent)
    _reviewed(c, agent, factories.user(Role.AGENT, "HZ"))
    handling.record_notice(c.id, actor=agent, method="sms", purpose="review_decision")
    (body,) = [m.body for m in _messages(c) if m.purpose == "review_decision"]
    assert body.endswith(
        "核实情况：总行复核：交易流水无误。处理依据和理由：依据总行收费管理办法。"
        "核查决定：维持原处理决定。如有异议，您可申请调解、提起诉讼。"
    )


# DEV-7 ---------------------------------------------------------------------------------------


def _untold(c) -> list[tuple[str, str]]:
    return [
        (e.detail["purpose"], e.text)
        for e in _events(c, "notice")
        if e.detail.get("outcome") == "none" and e.detail.get("purpose") != "acknowledgement"
    ]


def test_extensions_without_contact_data_are_recorded_as_not_told(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    hq = factories.user(Role.HQ_MANAGER, None)
    c = _uncontactable()
    handling.accept(c.id, actor=agent)
    handling.extend(c.id, actor=agent, level=1, reason="需调取多方交易记录")
    handling.extend(c.id, actor=hq, level=2, reason="需外部机构配合核查")
    untold = _untold(c)
    assert [p for p, _ in untold] == ["extension", "extension"]
    due = f"{clock.local_date(c.due_at):%Y年%m月%d日}"
    assert untold[-1][1] == (
        "无可用的联系方式，未能自动发送延期告知，须以电话、书面或当面方式告知客户，"
        "并在“记录告知”中留存告知凭证。"
        "应告知内容：因情况特别复杂，经总行批准，处理期限再延长 30 日，"
        f"我们最迟于 {due}（含当日）告知您处理结果。原因：需外部机构配合核查"
    )
    assert not _messages(c)


def test_a_pause_and_a_decline_without_contact_data_are_recorded_as_not_told(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    paused = _uncontactable()
    handling.accept(paused.id, actor=agent)
    handling.pause(paused.id, actor=agent, kind="mediation", reason="客户申请调解")
    ((purpose, text),) = _untold(paused)
    assert purpose == "pause" and text.startswith("无可用的联系方式，未能自动发送中止计时告知")
    declined = _uncontactable()
    handling.decline(declined.id, actor=agent, ground="not_entitled",
                     reason="来访人系客户同事，未提供授权委托书")  # fmt: skip
    ((purpose, text),) = _untold(declined)
    assert purpose == "decline"
    assert text.startswith(
        "无可用的联系方式，未能自动发送不予受理告知，须以电话、书面或当面方式告知投诉提出人"
    )
    assert "理由：投诉非消费者本人、其法定代理人或受托人提出" in text


def test_with_contact_data_the_notice_goes_out_and_nothing_says_otherwise(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = new()
    handling.accept(c.id, actor=agent)
    handling.extend(c.id, actor=agent, level=1, reason="需调取多方交易记录")
    assert not _untold(c)
    assert [m.purpose for m in _messages(c)] == ["acknowledgement", "extension"]


# DEV-10 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ground", [None, "", "too_small", "other"])
def test_a_complaint_is_declined_only_on_the_ground_of_art_18(db_session, ground):
    agent = factories.user(Role.AGENT, "HZ01")
    c = new()
    with pytest.raises(ValidationFailed) as refused:
        handling.decline(c.id, actor=agent, ground=ground, reason="投诉金额太小，不予处理")
    assert refused.value.fields == {"ground": refused.value.message}
    assert refused.value.message == (
        "请选择不予受理的理由。不予受理仅限于投诉非由消费者本人、其法定代理人或受托人提出的情形"
        "（第十八条）；持授权委托书的受托人和继承人提出的投诉应当受理（第十四条）"
    )
    assert db.session.get(type(c), c.id).status == Status.RECEIVED


def test_a_decline_records_its_ground_and_who_raised_it_and_tells_the_ground(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = new()
    with pytest.raises(ValidationFailed, match="请填写提出人及情况说明"):
        handling.decline(c.id, actor=agent, ground="not_entitled", reason=" ")
    handling.decline(c.id, actor=agent, ground="not_entitled", reason="来访人系客户同事")
    entry = [e for e in _events(c, "status") if e.to_status == Status.DECLINED][-1]
    assert entry.text == "非消费者本人、其法定代理人或受托人提出：来访人系客户同事"
    assert entry.detail == {
        "action": "decline",
        "ground": "not_entitled",
        "explanation": "来访人系客户同事",
    }
    (sms,) = [m.body for m in _messages(c) if m.purpose == "decline"]
    assert sms.endswith(
        "经核实，您提出的投诉不予受理，理由：投诉非消费者本人、其法定代理人或受托人提出"
        "（来访人系客户同事）。"
    )
    # a decline notice sent by hand says the same, with a note after it
    handling.record_notice(c.id, actor=agent, method="sms", purpose="decline", note="请来电")
    last = [m.body for m in _messages(c) if m.purpose == "decline"][-1]
    assert "理由：投诉非消费者本人、其法定代理人或受托人提出（来访人系客户同事）。" in last
    assert last.endswith("补充说明：请来电")


def test_accepting_may_record_who_raised_the_complaint(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = new()
    with pytest.raises(ValidationFailed, match="请选择投诉人身份"):
        handling.accept(c.id, actor=agent, capacity="colleague")
    handling.accept(c.id, actor=agent, capacity="heir")
    entry = [e for e in _events(c, "status") if e.to_status == Status.ACCEPTED][-1]
    assert entry.text == "受理（投诉人身份：继承人）" and entry.detail["capacity"] == "heir"
    plain = new()
    handling.accept(plain.id, actor=agent)  # (not stated: nothing recorded, as before)
    entry = [e for e in _events(plain, "status") if e.to_status == Status.ACCEPTED][-1]
    assert entry.text == "受理" and "capacity" not in entry.detail


def test_no_decision_before_the_complainants_identity_is_checked(db_session):
    """Art. 22: an identity check stated on accepting stands; "暂未核验" is no check, so the
    decision must state one, kept in the history before the decision; refused, nothing moves."""
    agent = factories.user(Role.AGENT, "HZ01")
    c = new()
    handling.accept(c.id, actor=agent, identity_check="not_verified")
    assert c.identity_check is None
    unchecked = replace(FIRST, identity_check=None)
    for method in (None, "not_verified", "guess"):
        with pytest.raises(ValidationFailed, match="作出处理决定前须核验投诉人身份") as refused:
            handling.decide(c.id, actor=agent, decision=replace(unchecked, identity_check=method))
        assert refused.value.fields == {"identity_check": refused.value.message}
        db.session.rollback()
    assert (c.status, c.identity_check, c.decided_at) == (Status.ACCEPTED, None, None)
    assert not _events(c, "identity")
    handling.decide(c.id, actor=agent, decision=replace(unchecked, identity_check="callback"))
    assert (c.status, c.identity_check) == (Status.DECIDED, "callback")
    checked, decided = _events(c)[-2:]
    assert (checked.kind, checked.text) == ("identity", "身份核验：回拨预留手机号核实")
    assert decided.to_status == Status.DECIDED
    # checked on accepting: the decision needs no method, and one given does not replace it
    verified = new()
    handling.accept(verified.id, actor=agent, identity_check="id_document")
    assert verified.identity_check == "id_document"
    handling.decide(
        verified.id, actor=agent, decision=replace(unchecked, identity_check="callback")
    )
    assert verified.identity_check == "id_document" and not _events(verified, "identity")


# DEV-13 --------------------------------------------------------------------------------------


def _row(c) -> dict[str, str]:
    manager = factories.user(Role.HQ_MANAGER, None)
    (row,) = ledger.rows(queue.Filters(queue="all", q=c.reference), manager)
    return dict(zip(ledger.COLUMNS, row, strict=True))


def test_the_ledger_shows_the_original_decision_and_the_review_in_its_own_columns(db_session):
    agent = factories.user(Role.AGENT, "HZ01")
    c = _decided(agent, received_at=utcnow() - timedelta(days=5))
    unreviewed = _row(c)
    assert unreviewed["核查申请日期"] == unreviewed["核查期限"] == unreviewed["核查决定时间"] == ""
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    first_due, first_at, told = c.due_at, c.decided_at, c.decision_notified_at
    today = clock.local_date(utcnow())
    handling.request_review(c.id, actor=agent, requested_on=today, reason="客户书面申请核查")
    pending = _row(c)
    when = ledger._when
    assert (pending["办理时限"], pending["处理决定时间"], pending["告知客户时间"]) == (
        when(first_due),
        when(first_at),
        when(told),
    )
    review_due = f"{today + timedelta(days=30):%Y-%m-%d} 23:59"
    assert (pending["核查申请日期"], pending["核查期限"], pending["核查决定时间"]) == (
        today.isoformat(),
        review_due,
        "",
    )
    handling.decide(c.id, actor=factories.user(Role.AGENT, "HZ"), decision=REVIEW)
    row = _row(c)
    assert c.decided_at > first_at and c.due_at != first_due
    # the original decision's deadline, time and notice, judged together
    assert (row["办理时限"], row["处理决定时间"], row["告知客户时间"], row["按时办结"]) == (
        when(first_due),
        when(first_at),
        when(told),
        "是",
    )
    assert row["告知客户时间"] >= row["处理决定时间"]
    assert (row["核查申请日期"], row["核查期限"], row["核查决定时间"]) == (
        today.isoformat(),
        review_due,
        when(c.decided_at),
    )
    assert list(ledger.COLUMNS[:19]) == [
        "投诉编号", "受理渠道", "接收时间", "被投诉机构", "产品", "投诉人", "联系电话",
        "业务类别", "投诉原因", "状态", "处理人", "办理时限", "处理决定时间", "告知客户时间",
        "按时办结", "重大投诉", "优先级", "监管转办编号", "投诉摘要",
    ]  # fmt: skip
    assert len(ledger.WIDTHS) == len(ledger.COLUMNS)
