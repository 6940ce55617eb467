"""The desk and the API on decisions, notices and declines (audit DEV-4, DEV-5, DEV-7, DEV-10,
DEV-13): a reviewed case shows the original decision beside the review's, a decision SMS
carries the decision whatever is typed, an action whose notice cannot go out warns, a decline
takes Art. 18's ground only, and the ledger's file has the review's columns."""

from __future__ import annotations

import csv
import io
from html import unescape

from sqlalchemy import select

from app.extensions import db
from app.models import User, utcnow
from app.models.complaint import ComplaintEvent
from app.models.outbox import OutboxMessage
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import complaint_ledger as ledger
from app.services import complaints
from app.services.complaints import IntakeData
from tests import factories
from tests.support import csrf_token, post_case_action

TEXT = "信用卡年费被多收两百元，办卡时承诺首年免年费，要求退还并道歉。"
FIRST = handling.Decision(
    "经调取交易流水核实年费系系统误收",
    "依据信用卡领用合约第八条：首年免年费",
    "退还年费200元并致歉",
    ("review", "mediation"),
    identity_check="callback",
)
REVIEW = handling.Decision(
    "总行复核：交易流水无误，客户来电13812345678已核对",
    "依据总行收费管理办法",
    "维持原处理决定",
    ("mediation", "litigation"),
)
NO_CONTACT = (
    "投诉人未留手机号码或电子邮箱，未能自动发送{what}，请以电话、书面或当面方式告知{whom}，"
    "并在“记录告知”中留存告知凭证"
)


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _case(phone: str | None = "13812345678"):
    c, _ = complaints.create_complaint(
        IntakeData(channel="branch", content=TEXT, name="王五", phone=phone, branch_code="HZ01")
    )
    return c


_post = post_case_action  # (the page's own way of posting an action)


def _panel(page: str, name: str) -> str:
    return unescape(page.split(f'id="act-{name}"', 1)[1].split("</details>", 1)[0])


def _page(client, c) -> str:
    return unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))


def _reviewed():
    """Decided by 李坐席 (杭州分行), told, reviewed by 周总 (总行)."""
    c = _case()
    agent = _user("agent")
    handling.accept(c.id, actor=agent)
    handling.decide(c.id, actor=agent, decision=FIRST)
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    handling.request_review(
        c.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    handling.decide(c.id, actor=_user("hq"), decision=REVIEW)
    return c


# DEV-4 ---------------------------------------------------------------------------------------


def test_a_reviewed_case_page_shows_the_original_decision_beside_the_review(client, auth):
    c = _reviewed()
    auth.login("agent")
    page = _page(client, c)
    panel = page.split('class="panel cp-decision"', 1)[1].split("</section>", 1)[0]
    original, review = panel.split('class="cp-decision-review"', 1)
    assert "原处理决定" in original and "核查决定" in review
    for text in (FIRST.verified, FIRST.basis, FIRST.text, "向上级机构申请核查", "申请调解"):
        assert text in original
    for text in (REVIEW.basis, REVIEW.text, "提起诉讼"):
        assert text in review
    assert FIRST.verified not in review and REVIEW.text not in original
    # the proof of notice is the review decision's (not told yet), written as markup
    raw = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    proof = '<dt>告知凭证</dt><dd><span class="cp-warn">尚未留存处理决定的告知凭证</span></dd>'
    assert proof in raw


def test_the_api_keeps_decision_current_and_adds_the_original_once_reviewed(client):
    _, secret = factories.api_token("complaints:read")
    headers = {"Authorization": f"Bearer {secret}"}
    fresh = _case()
    handling.accept(fresh.id, actor=_user("agent"))
    handling.decide(fresh.id, actor=_user("agent"), decision=FIRST)
    data = client.get(f"/api/v1/complaints/{fresh.id}", headers=headers).get_json()
    assert data["original_decision"] is None and data["decision"]["text"] == FIRST.text
    c = _reviewed()
    data = client.get(f"/api/v1/complaints/{c.id}", headers=headers).get_json()
    assert data["decision"] == {
        "verified": "总行复核：交易流水无误，客户来电138****5678已核对",  # (masked)
        "basis": REVIEW.basis,
        "text": REVIEW.text,
        "remedies": ["mediation", "litigation"],
    }
    assert data["original_decision"] == {
        "verified": FIRST.verified,
        "basis": FIRST.basis,
        "text": FIRST.text,
        "remedies": ["review", "mediation"],
    }


# DEV-5 ---------------------------------------------------------------------------------------


def test_a_decision_sms_with_a_typed_note_still_carries_the_decision(client, auth):
    c = _case()
    handling.accept(c.id, actor=_user("agent"))
    handling.decide(c.id, actor=_user("agent"), decision=FIRST)
    auth.login("agent")
    notice = _panel(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True), "notice")
    assert "自动写明核实情况、处理依据和理由、处理决定及救济途径" in notice
    told = _post(client, c, "notice", purpose="decision", method="sms", outcome="",
                 note="您好，您的投诉已处理完毕。")  # fmt: skip
    assert told.status_code == 302
    (sms,) = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.related_id == c.id, OutboxMessage.purpose == "decision"
        )
    ).all()
    assert sms.body.endswith(
        "核实情况：经调取交易流水核实年费系系统误收。处理依据和理由：依据信用卡领用合约第八条："
        "首年免年费。处理决定：退还年费200元并致歉。如有异议，您可向上级机构申请核查、申请调解。"
        "补充说明：您好，您的投诉已处理完毕。"
    )


def test_a_long_decision_s_sms_cuts_the_findings_and_basis_but_never_the_decision(app):
    """A decision SMS of 2,356 characters counted as proof; a gateway may refuse or cut it."""
    c = _case()
    agent = _user("agent")
    handling.accept(c.id, actor=agent)
    long = handling.Decision(
        "核对流水" * 200, "依据合约" * 200, "退还年费200元并致歉", ("review",), "callback"
    )
    handling.decide(c.id, actor=agent, decision=long)
    handling.record_notice(c.id, actor=agent, method="sms", purpose="decision", outcome=None)
    bodies = {
        m.channel: m.body
        for m in db.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.related_id == c.id, OutboxMessage.purpose == "decision"
            )
        )
    }
    assert len(bodies["sms"]) < 500 and bodies["sms"].count("……") == 2
    assert "处理决定：退还年费200元并致歉。如有异议，您可向上级机构申请核查。" in bodies["sms"]
    assert set(bodies) == {"sms"}  # (the e-mail and the letter carry the texts whole)


# DEV-7 ---------------------------------------------------------------------------------------


def test_an_extension_without_contact_data_warns_and_the_form_says_so(client, auth):
    c = _case(phone=None)
    handling.accept(c.id, actor=_user("agent"))
    auth.login("agent")
    form = _panel(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True), "extend")
    assert "延期将自动告知客户" not in form
    assert (
        "投诉人未留手机号码或电子邮箱，延期不能自动告知客户：请以电话、书面或当面方式告知，"
        "并在“记录告知”中留存告知凭证。"
    ) in form
    done = _post(client, c, "extend", level="1", reason="需调取多方交易记录")
    assert done.status_code == 302
    page = _page(client, c)
    assert NO_CONTACT.format(what="延期告知", whom="客户") in page
    assert "无可用的联系方式，未能自动发送延期告知" in page  # (the history says it too)
    # with a phone the form still promises the SMS and no warning comes
    other = _case()
    handling.accept(other.id, actor=_user("agent"))
    assert "延期将自动告知客户" in _panel(
        client.get(f"/staff/complaints/{other.id}").get_data(as_text=True), "extend"
    )
    assert _post(client, other, "extend", level="1", reason="需调取多方交易记录").status_code == 302
    assert "未能自动发送" not in _page(client, other).split("处理记录", 1)[0]


def test_a_pause_without_contact_data_warns(client, auth):
    c = _case(phone=None)
    handling.accept(c.id, actor=_user("agent"))
    auth.login("agent")
    done = _post(client, c, "pause", kind="mediation", on="", reason="客户申请调解")
    assert done.status_code == 302
    assert NO_CONTACT.format(what="中止计时告知", whom="客户") in _page(client, c)


# DEV-10 --------------------------------------------------------------------------------------


def test_a_decline_takes_the_ground_of_art_18_only_and_warns_when_it_cannot_be_told(
    client, auth, db_session
):
    c = _case(phone=None)
    auth.login("agent")
    form = _panel(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True), "decline")
    assert '<option value="not_entitled">非消费者本人、其法定代理人或受托人提出</option>' in form
    for ground in ("", "too_small"):
        refused = _post(client, c, "decline", ground=ground, reason="投诉金额太小，不予处理")
        assert refused.status_code == 422
        panel = _panel(refused.get_data(as_text=True), "decline")
        only = "不予受理仅限于投诉非由消费者本人、其法定代理人或受托人提出的情形（第十八条）"
        assert only in panel
    empty = _post(client, c, "decline", ground="not_entitled", reason="")
    assert empty.status_code == 400
    assert "请填写提出人及情况说明" in _panel(empty.get_data(as_text=True), "decline")
    db_session.refresh(c)
    assert c.status == "received"
    done = _post(client, c, "decline", ground="not_entitled", reason="来访人系客户同事")
    assert done.status_code == 302
    page = _page(client, c)
    assert NO_CONTACT.format(what="不予受理告知", whom="投诉提出人") in page
    assert "非消费者本人、其法定代理人或受托人提出：来访人系客户同事" in page
    db_session.refresh(c)
    assert c.status == "declined"


def test_accepting_records_the_complainants_capacity_when_chosen(client, auth, db_session):
    c = _case()
    auth.login("agent")
    refused = _post(client, c, "accept", capacity="boss", identity_check="guess")
    assert refused.status_code == 422
    panel = _panel(refused.get_data(as_text=True), "accept")
    assert "请选择投诉人身份（本人、法定代理人、受托人或继承人）" in panel
    assert "请选择身份核验方式" in panel  # (both faults at once)
    assert "查验授权委托书及双方身份证件" in panel  # (the choices Art. 22's check offers)
    accept = _post(client, c, "accept", capacity="agent", identity_check="mandate")
    assert accept.status_code == 302
    accepted = db_session.scalars(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == c.id, ComplaintEvent.to_status == "accepted"
        )
    ).one()
    assert accepted.text == "受理（投诉人身份：受托人；身份核验：查验授权委托书及双方身份证件）"
    assert accepted.detail["identity_check"] == "mandate"


def test_the_decision_form_asks_for_the_identity_check_until_one_is_recorded(client, auth):
    """Art. 22 on the desk: a case accepted as 暂未核验 says so among the complainant's facts and
    its decision form asks how the identity was checked; without it the decision is refused
    in Chinese and nothing is saved; with it both are kept. A case checked on accepting is not
    asked again."""
    c = _case()
    auth.login("agent")
    assert _post(client, c, "accept", identity_check="not_verified").status_code == 302
    page = _page(client, c)
    assert "尚未核验</span>：作出处理决定前须核验（第二十二条）" in page
    decide = _panel(page, "decide")
    assert "身份核验方式" in decide and "回拨预留手机号核实" in decide
    assert "暂未核验" not in decide  # (no check is not offered as one)
    fields = dict(
        verified="调取了交易流水", basis="依据信用卡领用合约第八条", decision_text="退还年费"
    )
    refused = _post(client, c, "decide", remedies=["review"], **fields)
    assert refused.status_code == 422
    assert handling.IDENTITY_NEEDED in _panel(refused.get_data(as_text=True), "decide")
    db.session.refresh(c)
    assert (c.status, c.decided_at, c.identity_check) == ("accepted", None, None)
    decided = _post(client, c, "decide", remedies=["review"], identity_check="callback", **fields)
    assert decided.status_code == 302
    db.session.refresh(c)
    assert (c.status, c.identity_check) == ("decided", "callback")
    page = _page(client, c)
    assert "<dt>身份核验</dt><dd>回拨预留手机号核实</dd>" in page
    assert "身份核验：回拨预留手机号核实" in page  # (the history entry)
    checked = _case()
    assert _post(client, checked, "accept", identity_check="id_document").status_code == 302
    page = _page(client, checked)
    assert "<dt>身份核验</dt><dd>查验身份证件</dd>" in page
    assert "身份核验方式" not in _panel(page, "decide")


def test_the_identity_check_is_recorded_when_it_is_done(client, auth):
    """Art. 22: a check made after accepting (a call back) is recorded at once on its own form,
    in the history at that time; then the decision form no longer asks, and the form is gone
    (a second post is refused, nothing doubled)."""
    c = _case()
    auth.login("agent")
    assert _post(client, c, "accept").status_code == 302
    panel = _panel(_page(client, c), "identity")
    assert "身份核验方式" in panel and "暂未核验" not in panel
    data = {
        "identity-csrf_token": csrf_token(
            client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
        )
    }
    garbled = client.post(
        f"/staff/complaints/{c.id}/identity",
        data=data | {"identity-version": "abc", "identity-method": "callback"},
    )
    assert garbled.status_code in (400, 422)
    assert "页面已失效，请刷新后重新提交" in garbled.get_data(as_text=True)
    db.session.refresh(c)
    assert c.identity_check is None  # (a version that is none is not "no version")
    refused = _post(client, c, "identity", method="guess")
    assert refused.status_code == 422
    assert "请选择身份核验方式" in _panel(refused.get_data(as_text=True), "identity")
    assert _post(client, c, "identity", method="callback").status_code == 302
    db.session.refresh(c)
    assert c.identity_check == "callback"
    page = _page(client, c)
    assert "<dt>身份核验</dt><dd>回拨预留手机号核实</dd>" in page
    assert 'id="act-identity"' not in page and "身份核验方式" not in _panel(page, "decide")
    again = _post(client, c, "identity", method="id_document")
    said = "已记录身份核验（回拨预留手机号核实），无须重复记录"
    assert again.status_code == 409 and said in unescape(again.get_data(as_text=True))
    # a second handler's form, read before the first saved (its version is stale): told the
    # same, not to resubmit a form the page no longer has
    data = {"identity-csrf_token": csrf_token(page), "identity-version": c.version - 1}
    stale = client.post(
        f"/staff/complaints/{c.id}/identity", data=data | {"identity-method": "id_document"}
    )
    stale_page = unescape(stale.get_data(as_text=True))
    assert stale.status_code == 409 and said in stale_page and "重新提交" not in stale_page
    entries = db.session.scalars(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "identity"
        )
    ).all()
    assert [e.text for e in entries] == ["身份核验：回拨预留手机号核实"]


# DEV-13 --------------------------------------------------------------------------------------


def test_the_ledger_file_has_the_reviews_own_columns(client, auth):
    c = _reviewed()
    auth.login("hq")
    body = client.get(f"/staff/complaints/export.csv?queue=all&q={c.reference}")
    assert body.status_code == 200
    heading, row = list(csv.reader(io.StringIO(body.get_data().decode("utf-8-sig"))))
    assert tuple(heading) == ledger.COLUMNS
    assert heading[-3:] == ["核查申请日期", "核查期限", "核查决定时间"]
    cells = dict(zip(heading, row, strict=True))
    assert cells["核查申请日期"] == clock.local_date(utcnow()).isoformat()
    assert cells["核查决定时间"] and cells["处理决定时间"] <= cells["核查决定时间"]
    assert cells["告知客户时间"] >= cells["处理决定时间"] and cells["按时办结"] == "是"
