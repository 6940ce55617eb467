"""Survey services against a real database: import, channels, retries, triggers, follow-ups."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml
from flask import current_app
from openpyxl import Workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Branch,
    Campaign,
    CampaignSkip,
    Customer,
    FollowUp,
    FollowUpStatus,
    Intake,
    Invitation,
    OutboundMessage,
    Role,
)
from app.services import (
    campaigns,
    domain_events,
    followups,
    imports,
    invitations,
    survey_triggers,
    surveys,
)
from app.services.customers import CustomerData
from app.services.errors import Conflict, ValidationFailed
from tests import factories

pytestmark = pytest.mark.usefixtures("app")

NOON = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Beijing


def recent_noon() -> datetime:
    """12:00 Beijing time two days ago: trigger rules schedule nothing for an event whose
    survey link would already have expired, so their tests cannot use a fixed date."""
    today = (datetime.now(UTC) + timedelta(hours=8)).date()
    return datetime.combine(today - timedelta(days=2), datetime.min.time(), UTC) + timedelta(
        hours=4
    )


def invite(channel="sms", ext="S001", phone="13800001111", email=None, now=NOON, branch="HZ01"):
    return invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code="branch-service",
            customer=CustomerData(external_id=ext, name="吴十", phone=phone, email=email),
            channel=channel,
            branch_code=branch,
        ),
        now=now,
    )


# Customer import -------------------------------------------------------------------------------


def test_import_is_all_or_nothing_and_reports_every_bad_row():
    data = (
        "客户号,姓名,手机号,邮箱,机构代码,客户分层\n"
        "IM1,张三,13900001111,a@b.cn,HZ01,财富客户\n"
        "IM2,,123,,ZZ9,\n"
        "IM1,李四,,,,\n"
    ).encode()
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers("c.csv", data, actor=None)
    rows = dict(caught.value.report.errors)
    assert set(rows) == {3, 4}
    assert "姓名为空" in rows[3] and "手机号" in rows[3] and "ZZ9" in rows[3]
    assert "重复" in rows[4]
    assert (
        db.session.scalar(select(func.count(Customer.id)).where(Customer.external_id == "IM1")) == 0
    )


def test_import_reads_phone_numbers_as_people_write_them():
    data = (
        "客户号,姓名,手机号\n"
        "IMP1,王一,+86 138 1111 3333\n"
        "IMP2,王二,0086-139-2222-4444\n"
        "IMP3,王三,(137) 3333 5555\n"
    ).encode()
    assert imports.import_customers("p.csv", data, actor=None).created == 3
    phones = {
        c.external_id: c.phone
        for c in db.session.scalars(select(Customer).where(Customer.external_id.like("IMP%")))
    }
    assert phones == {"IMP1": "13811113333", "IMP2": "13922224444", "IMP3": "13733335555"}
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers(
            "q.csv", "客户号,姓名,手机号\nIMQ1,王四,+86 138 1111\n".encode(), actor=None
        )
    assert "手机号" in dict(caught.value.report.errors)[2]


def test_import_refuses_control_characters_in_a_cell():
    """A NUL or other control character (a damaged export) is a bad row, not a database error
    (PostgreSQL cannot store a NUL; the CLI printed a traceback)."""
    data = '客户号,姓名\nIMC1,"王\x00五"\nIMC2,赵\x01六\nIMC3,孙七\nIMC4,钱\x85八\n'.encode()
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers("c.csv", data, actor=None)
    rows = dict(caught.value.report.errors)
    # C1 too (U+0085 from a Latin-1 export read as UTF-8): what complaint intake strips
    assert set(rows) == {2, 3, 5} and "控制字符" in rows[2]
    assert (
        db.session.scalar(select(func.count(Customer.id)).where(Customer.external_id == "IMC3"))
        == 0
    )


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("客户号,姓名,客户编号", "“客户号”和“客户编号”都表示客户号"),
        ("客户号,姓名,客户号", "“客户号”出现了两次"),
    ],
)
def test_import_refuses_a_header_naming_one_column_twice(header, said):
    """客户号 and 客户编号 are the same column: the last one silently won (a file with both
    created customer ALIAS2 from a row meaning ALIAS1). Refused, nothing imported."""
    data = f"{header}\nALIAS1,张三,ALIAS2\n".encode()
    with pytest.raises(ValidationFailed, match=f"表头中{said}，请只保留一列"):
        imports.import_customers("dup.csv", data, actor=None)
    assert (
        db.session.scalar(
            select(func.count(Customer.id)).where(Customer.external_id.like("ALIAS%"))
        )
        == 0
    )


def test_import_xlsx_then_reimport_updates_by_external_id():
    def workbook(name: str) -> bytes:
        book = Workbook()
        sheet = book.active
        sheet.append(["external_id", "name", "phone", "branch", "segment"])
        sheet.append(["IMX1", name, "13900002222", "NJ01", "mass"])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    first = imports.import_customers("a.xlsx", workbook("郑一"), actor=None)
    assert (first.created, first.updated) == (1, 0)
    second = imports.import_customers("a.xlsx", workbook("郑一一"), actor=None)
    assert (second.created, second.updated) == (0, 1)
    customer = db.session.scalar(select(Customer).where(Customer.external_id == "IMX1"))
    assert customer.name == "郑一一" and customer.branch.code == "NJ01"
    with pytest.raises(ValidationFailed):
        imports.import_customers("a.txt", b"x", actor=None)


def test_import_names_the_first_row_of_a_duplicate_and_explains_excels_scientific_phones():
    """A duplicate customer number did not say where the first one was (the branch import
    did), and a phone Excel turned into 1.38E+10 was only 「格式不正确」."""
    text = "客户号,姓名,手机号\nIMD1,孙一,13900001111\nIMD2,孙二,1.38E+10\nIMD1,孙三,\n"
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers("d.csv", text.encode(), actor=None)
    errors = dict(caught.value.report.errors)
    assert errors[3].startswith("手机号“1.38E+10”是 Excel 的科学计数法显示")
    assert "设为“文本”格式" in errors[3]
    assert errors[4] == "客户号 IMD1 在文件中重复（第 2 行已有）"


def test_import_skips_blank_rows_and_numbers_rows_as_the_spreadsheet_does():
    """Blank rows (empty, spaces, or only the invisible characters some exports leave) are
    no errors; an error names the row the user sees, blank rows above it counted."""
    blank_csv = (
        "\n客户号,姓名,手机号\r\n"  # a blank first line: the header is row 2
        "IMB1,孙一,13900001111\r\n"
        ",,\r\n"
        " ,\u3000, \r\n"
        "\ufeff,\u200b,\r\n"
    ).encode()
    assert imports.import_customers("b.csv", blank_csv, actor=None).created == 1
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers(
            "b.csv", "客户号,姓名\nIMB2,孙二\n\n,,\nIMB3,\n\n".encode(), actor=None
        )
    assert caught.value.report.errors == [(5, "姓名为空")]

    book = Workbook()
    sheet = book.active
    sheet.append(["客户号", "姓名"])
    sheet.append(["IMB4", "孙四"])
    sheet.append([None, " "])
    sheet.append(["IMB5", None])
    sheet["B30"] = ""  # a formatted, empty trailing cell
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers("b.xlsx", out.getvalue(), actor=None)
    assert caught.value.report.errors == [(4, "姓名为空")]


def test_import_accepts_only_the_branch_codes_of_the_importers_scope():
    nanjing = factories.user(Role.HQ_MANAGER, "NJ")
    usable = [b.code for b in imports.usable_branches(nanjing)]
    assert usable == ["NJ", "NJ01", "NJ02", "NJ03", "NJ04"]
    data = "客户号,姓名,机构代码\nIMS1,钱一,nj01\nIMS2,钱二,HZ01\nIMS3,钱三,XX9\n".encode()
    with pytest.raises(imports.ImportRejected) as caught:
        imports.import_customers("s.csv", data, actor=nanjing)
    assert caught.value.report.errors == [
        (3, "机构代码 HZ01 不在您的管辖范围内"),
        (4, "机构代码 XX9 不存在"),
    ]
    head_office = factories.user(Role.HQ_MANAGER, "HO")
    assert len(imports.usable_branches(head_office)) == len(imports.usable_branches(None)) == 16


# Channels --------------------------------------------------------------------------------------


def test_email_goes_through_a_real_smtp_server():
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        current_app.config["SURVEY_CHANNEL_BACKENDS"] = {"email": "smtp"}
        current_app.config["SURVEY_SMTP_HOST"] = "127.0.0.1"
        current_app.config["SURVEY_SMTP_PORT"] = port
        issued = invite(channel="email", ext="SM1", email="kehu@example.cn")
    finally:
        for key in ("SURVEY_CHANNEL_BACKENDS", "SURVEY_SMTP_HOST", "SURVEY_SMTP_PORT"):
            current_app.config.pop(key, None)
        controller.stop()
    assert len(received) == 1 and received[0].rcpt_tos == ["kehu@example.cn"]
    mail = email.message_from_bytes(received[0].content, policy=email.policy.default)
    assert issued.url in mail.get_content() and mail["Subject"] == "网点服务满意度调查"
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.invitation_id == issued.invitation.id)
    )
    assert message.backend == "smtp" and message.status == "sent"
    assert issued.url.rsplit("/", 1)[1] not in message.body  # the live token is not stored


class Gateway(BaseHTTPRequestHandler):
    calls: list = []
    fail = False

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["_idempotency_key"] = self.headers.get("Idempotency-Key")
        Gateway.calls.append(body)
        self.send_response(503 if Gateway.fail else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(app):
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Gateway.calls, Gateway.fail = [], False
    current_app.config["SURVEY_CHANNEL_BACKENDS"] = {"sms": "gateway"}
    current_app.config["SURVEY_GATEWAY_URL"] = f"http://127.0.0.1:{server.server_port}/send"
    yield Gateway
    current_app.config.pop("SURVEY_CHANNEL_BACKENDS")
    server.shutdown()
    server.server_close()


def test_sms_through_http_gateway(gateway):
    issued = invite(ext="GW1", phone="13912340000")
    assert gateway.calls[0]["to"] == "13912340000" and gateway.calls[0]["channel"] == "sms"
    assert issued.url in gateway.calls[0]["text"]
    assert db.session.get(Invitation, issued.invitation.id).status == "sent"


def test_gateway_failures_are_retried_with_back_off_then_given_up(gateway):
    gateway.fail = True
    issued = invite(ext="GW2")
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.invitation_id == issued.invitation.id)
    )
    # (sent by the job after the commit, at the time it ran: retried a minute after that)
    assert message.status == "failed"
    wait = message.next_attempt_at - message.created_at
    assert timedelta(seconds=55) < wait < timedelta(seconds=65)
    assert "503" in message.last_error
    assert invitations.retry_failed(NOON) == 0  # not due yet
    at = NOON
    for _ in range(invitations.MAX_DELIVERY_ATTEMPTS - 1):
        at = message.next_attempt_at
        invitations.retry_failed(at)
    assert message.status == "dead" and message.attempts == invitations.MAX_DELIVERY_ATTEMPTS
    assert db.session.get(Invitation, issued.invitation.id).status == "failed"
    assert len(gateway.calls) == invitations.MAX_DELIVERY_ATTEMPTS
    # every attempt at the one message carries one key, for the gateway to send it once (a
    # retry after a timeout the gateway had in fact accepted sent the customer a second SMS)
    assert {c["id"] for c in gateway.calls} == {f"kesheng-survey-{message.id}"}
    assert {c["_idempotency_key"] for c in gateway.calls} == {f"kesheng-survey-{message.id}"}
    gateway.fail = False


def test_an_integrators_invitation_is_sent_after_the_commit_and_a_lost_job_by_the_dispatch(
    gateway, monkeypatch
):
    """The message went out inside the API request: a slow gateway held it (and a gunicorn
    worker) for up to 10 s. It is the send job's now; when that job is lost (a worker killed,
    the broker gone), the minute's dispatch sends it, once, with the link the integrator got."""
    from app.services import system_status

    lost: list[int] = []
    monkeypatch.setattr(invitations, "_enqueue_send", lost.append)  # (the job never runs)
    now = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)  # 12:00 Beijing
    issued = invite(ext="GW9", now=now)
    inv_id = issued.invitation.id
    assert lost == [inv_id]
    db.session.expire_all()
    row = db.session.get(Invitation, inv_id)
    assert row.status == "queued" and not [c for c in gateway.calls if issued.url in c["text"]]
    assert invitations.kept_token(row) in issued.url  # the link is kept for the message
    late = system_status.invitation_status(now + timedelta(minutes=11))
    assert late.late >= 1  # 运行状态 reports it as due and unsent

    def ours() -> list[dict]:  # (the dispatch may send other due invitations of the database)
        return [c for c in gateway.calls if issued.url in c["text"]]

    survey_triggers.dispatch_due(now + timedelta(minutes=1))
    assert ours() == []  # still its job's
    survey_triggers.dispatch_due(now + timedelta(minutes=3))
    assert len(ours()) == 1  # the very link the integrator was given
    assert db.session.get(Invitation, inv_id).status == "sent"
    # the job arriving late, and the dispatch again, send nothing more
    assert invitations.send_new(inv_id) is False
    survey_triggers.dispatch_due(now + timedelta(minutes=4))
    assert len(ours()) == 1


def test_without_a_broker_the_invitation_is_sent_before_the_answer(gateway):
    issued = invite(ext="GW10", now=datetime.now(UTC).replace(hour=4))
    assert len(gateway.calls) == 1 and issued.url in gateway.calls[0]["text"]
    assert db.session.get(Invitation, issued.invitation.id).status == "sent"


# Trigger rules and dispatch --------------------------------------------------------------------


def test_closing_a_complaint_schedules_the_resolution_survey_in_process():
    noon = recent_noon()
    customer = factories.customer("SZ02")
    domain_events.publish(
        domain_events.DomainEvent(
            type="complaint.closed", occurred_at=noon, customer_id=customer.id
        )
    )
    row = db.session.scalar(select(Invitation).where(Invitation.customer_id == customer.id))
    assert row.survey.code == "complaint-resolution"
    assert row.scheduled_at == noon + timedelta(days=1) and row.branch_id == customer.branch_id


def test_the_resolution_survey_is_scheduled_whoever_closes_the_case():
    """An agent of 杭州分行 closing a case whose customer is registered at 苏州: the customer was
    read through the agent's branch scope, not found, and no survey scheduled, silently."""
    from app.services import scope

    noon = recent_noon()
    customer_id = factories.customer("SZ02").id
    db.session.commit()
    db.session.expunge_all()  # (read afresh, as in the closing agent's request)
    scope.bind(db.session, scope.BranchScope("/HO/HZ/"))
    try:
        domain_events.publish(
            domain_events.DomainEvent(
                type="complaint.closed", occurred_at=noon, customer_id=customer_id
            )
        )
    finally:
        scope.bind(db.session, scope.WHOLE_BANK)
    row = db.session.scalar(select(Invitation).where(Invitation.customer_id == customer_id))
    assert row is not None and row.survey.code == "complaint-resolution"
    assert db.session.get(Branch, row.branch_id).code == "SZ02"


def test_no_invitation_for_a_customer_who_opted_out():
    customer = factories.customer("HZ02")
    customer.opted_out_channels = "sms"
    db.session.commit()  # (a refused use case rolls back whatever is uncommitted)
    with pytest.raises(Conflict, match="客户已退订短信调查"):
        invite(ext=customer.external_id)
    assert invite(channel="email", ext=customer.external_id, email="b@example.cn").url
    customer.opted_out = True
    db.session.commit()
    with pytest.raises(Conflict, match="客户已退订全部调查"):
        invite(channel="email", ext=customer.external_id, email="b@example.cn")
    count = select(func.count(Invitation.id)).where(Invitation.customer_id == customer.id)
    assert db.session.scalar(count) == 1


def test_dispatch_sends_scheduled_invitations_when_due_and_only_once():
    noon = recent_noon()
    customer = factories.customer("HZ02")
    survey_triggers.apply_rules(
        "account.opened", customer, noon, branch_id=customer.branch_id, product_id=None
    )
    row = db.session.scalar(select(Invitation).where(Invitation.customer_id == customer.id))
    assert survey_triggers.dispatch_due(noon + timedelta(hours=1)).sent == 0
    assert survey_triggers.dispatch_due(noon + timedelta(days=1, hours=1)).sent == 1
    assert row.status == "sent" and row.token_hash
    assert survey_triggers.dispatch_due(noon + timedelta(days=1, hours=2)).sent == 0
    night = noon + timedelta(days=1, hours=11)  # 23:00 in Beijing: quiet hours
    other = factories.customer("HZ02")
    survey_triggers.apply_rules(
        "account.opened",
        other,
        night - timedelta(days=1),
        branch_id=other.branch_id,
        product_id=None,
    )
    assert survey_triggers.dispatch_due(night).sent == 0


# Campaigns -------------------------------------------------------------------------------------


def make_campaign(**extra):
    survey = surveys.survey_by_code("mobile-banking")
    data = {
        "name": "手机银行调查",
        "survey_id": survey.id,
        "channel": "sms",
        "audience": "branch",
        "branch_id": factories.branch("NJ").id,
        "window_start": NOON - timedelta(days=1),
        "window_end": NOON + timedelta(days=10),
        "reminder_days": 3,
        **extra,
    }
    return campaigns.create_campaign(campaigns.CampaignInput(**data), actor=None, now=NOON)


def test_campaign_applies_contact_rules_quota_and_reminders():
    recent = factories.customer("NJ03", external_id="RECENT1")
    invite(ext="RECENT1", phone=recent.phone, now=NOON - timedelta(days=3), branch="NJ03")
    opted = factories.customer("NJ03", opted_out=True)
    for _ in range(6):  # eligible customers (demo customers may have open complaints)
        factories.customer("NJ02")
    campaign = make_campaign(quota=5)
    campaigns.run_campaign(campaign.id, now=NOON)
    skips = {
        s.customer_id: s.reason
        for s in db.session.scalars(
            select(CampaignSkip).where(CampaignSkip.campaign_id == campaign.id)
        )
    }
    assert "距上次调查不足 30 天" in skips[recent.id]
    assert skips[opted.id] == "客户已退订全部调查"
    assert campaign.sent_count == 5 and "已达到本次活动的发送配额" in skips.values()
    assert campaign.processed == campaign.total
    sent = db.session.scalars(select(Invitation).where(Invitation.campaign_id == campaign.id)).all()
    assert survey_triggers.dispatch_due(NOON + timedelta(days=2)).reminded == 0
    # one customer answered a moment ago; the response is not made yet: no reminder for them
    answered = sent[0]
    db.session.add(
        Intake(
            invitation_id=answered.id,
            version_id=answered.version_id,
            channel=answered.channel,
            submitted_at=NOON + timedelta(days=3),
            answers={},
        )
    )
    db.session.flush()
    reminded = survey_triggers.dispatch_due(NOON + timedelta(days=3, minutes=1)).reminded
    assert reminded == len(sent) - 1 and answered.reminded_at is None
    db.session.refresh(campaign)
    assert campaign.reminded_count == reminded
    assert survey_triggers.dispatch_due(NOON + timedelta(days=4)).reminded == 0


def test_campaign_waits_for_quiet_hours_and_its_window():
    campaign = make_campaign()
    night = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 22:00 in Beijing
    assert campaigns.run_campaign(campaign.id, now=night).sent_count == 0
    assert "免打扰" in campaign.note
    late = campaigns.run_campaign(campaign.id, now=NOON + timedelta(days=11))
    assert late.sent_count == 0 and "窗口" in late.note


NIGHT = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 22:00 in Beijing: quiet hours
MORNING = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)  # 08:30 in Beijing: they are over


def _invited(campaign) -> int:
    return db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.campaign_id == campaign.id)
    )


def _died_sending(campaign, at: datetime) -> None:
    """As a run killed after its claim leaves the campaign: 发送中, nothing written since ``at``."""
    campaign.status, campaign.started_at, campaign.updated_at = "sending", at, at
    db.session.commit()


def test_a_send_whose_run_died_is_resumed_by_the_dispatch_and_sends_nobody_twice():
    """A worker killed mid-send left the campaign 发送中 0% for good: the redelivered job found it
    claimed and did nothing, the dispatch only resumed held campaigns, the page hid the button."""
    for _ in range(3):
        factories.customer("NJ02")
    campaign = make_campaign()
    _died_sending(campaign, MORNING - timedelta(minutes=5))
    assert not campaigns.stalled(campaign, MORNING)  # (it may still be running)
    assert campaign.id not in campaigns.held_campaign_ids(MORNING)
    assert campaigns.run_campaign(campaign.id, now=MORNING).status == "sending"  # left to it
    assert _invited(campaign) == 0
    later = MORNING + timedelta(minutes=6)  # nothing written for 11 minutes: it died
    assert campaigns.stalled(campaign, later)
    assert campaign.id in campaigns.held_campaign_ids(later)
    assert campaigns.resume_held(later) == 1
    sent = _invited(campaign)
    assert campaign.status == "sent" and sent > 0 and campaign.sent_count == sent
    assert campaigns.resume_held(later + timedelta(minutes=30)) == 0
    assert _invited(campaign) == sent


def test_a_stalled_send_past_its_window_is_ended_and_says_why():
    campaign = make_campaign()
    end = campaign.window_end
    _died_sending(campaign, end - timedelta(hours=1))
    after = end + timedelta(minutes=1)
    assert campaign.id in campaigns.held_campaign_ids(after)
    campaigns.resume_held(after)
    assert campaign.status == "sent" and campaign.note == "发送中断后发送窗口已结束，其余客户未发送"
    assert campaign.id not in campaigns.held_campaign_ids(after + timedelta(hours=1))


def test_periodic_dispatch_resumes_a_campaign_the_quiet_hours_held_once_and_only_once():
    """开始发送 at night answered 将在时段结束后继续发送, but nothing ever sent it."""
    for _ in range(3):
        factories.customer("NJ02")
    campaign = make_campaign()
    assert campaigns.run_campaign(campaign.id, now=NIGHT).note == campaigns.QUIET_HOURS_NOTE
    assert campaigns.resume_held(NIGHT + timedelta(hours=2)) == 0  # still quiet hours
    assert (campaign.status, _invited(campaign)) == ("draft", 0)
    assert campaigns.resume_held(MORNING) == 1
    sent = _invited(campaign)
    assert campaign.status == "sent" and sent > 0 and campaign.sent_count == sent
    assert campaign.note == "" and campaign.started_at == MORNING
    # idempotent: the next runs find nothing held, and nobody is sent twice
    assert campaigns.resume_held(MORNING + timedelta(minutes=1)) == 0
    assert campaigns.held_campaign_ids(MORNING + timedelta(minutes=2)) == []
    assert _invited(campaign) == sent


def test_a_campaign_sent_before_its_window_opens_is_sent_by_the_dispatch_once_it_opens():
    """开始发送 pressed the day before the window answered 不在发送时间窗口内 and the campaign
    then waited for a second press nobody knew was needed."""
    for _ in range(2):
        factories.customer("NJ02")
    opens = NOON + timedelta(days=1)
    campaign = make_campaign(window_start=opens)
    early = campaigns.run_campaign(campaign.id, now=NOON)
    assert (early.status, early.note, _invited(campaign)) == ("draft", campaigns.EARLY_NOTE, 0)
    assert campaigns.resume_held(opens - timedelta(minutes=1)) == 0  # not open yet
    assert _invited(campaign) == 0
    assert campaigns.resume_held(opens) == 1
    assert campaign.status == "sent" and campaign.note == "" and _invited(campaign) > 0
    assert campaigns.held_campaign_ids(opens + timedelta(minutes=1)) == []
    # closed while it waits: it is not sent when the window opens
    waiting = make_campaign(name="又一次调查", window_start=opens)
    campaigns.run_campaign(waiting.id, now=NOON)
    campaigns.close_campaign(waiting.id)
    assert waiting.note == "" and campaigns.held_campaign_ids(opens) == []


def test_periodic_dispatch_job_sends_held_campaigns_and_never_a_closed_one(monkeypatch):
    from app.jobs.broker import bound
    from app.jobs.surveys import dispatch_due

    dispatch_job = bound(dispatch_due)  # this app's task, not Celery's default app's

    factories.customer("NJ02")
    held, closed = make_campaign(), make_campaign(name="已结束的活动")
    for campaign in (held, closed):
        campaigns.run_campaign(campaign.id, now=NIGHT)
    campaigns.close_campaign(closed.id)
    assert closed.note == ""  # (no longer 将在时段结束后继续发送)
    monkeypatch.setattr(campaigns, "utcnow", lambda: MORNING)
    dispatch_job.apply()
    db.session.expire_all()
    assert _invited(held) > 0 and held.status == "sent" and held.note == ""
    assert _invited(closed) == 0 and closed.status == "closed"


def test_a_closed_campaign_says_it_has_ended_rather_than_waiting_for_the_quiet_hours():
    campaign = make_campaign()
    campaigns.close_campaign(campaign.id)
    for now in (NIGHT, MORNING):
        done = campaigns.run_campaign(campaign.id, now=now)
        assert done.note == "活动已结束，不能发送" and done.status == "closed"
        assert _invited(campaign) == 0
    assert campaigns.held_campaign_ids(MORNING) == []


def test_anonymous_campaign_has_a_derived_public_link(client):
    campaign = make_campaign(audience="anonymous")
    link = campaigns.public_link(campaign)
    assert link.startswith(current_app.config["PUBLIC_BASE_URL"] + "/s/a")
    assert campaign.public_token_hash and link.rsplit("/", 1)[1] != campaign.public_token_hash
    assert db.session.get(Campaign, campaign.id).public_nonce


# Follow-ups ------------------------------------------------------------------------------------


def task_for(customer):
    version = surveys.published_version("loan-followup")
    task = FollowUp(
        customer_id=customer.id,
        survey_id=version.survey_id,
        version_id=version.id,
        branch_id=customer.branch_id,
        reason="manual",
        due_at=NOON,
    )
    db.session.add(task)
    db.session.flush()
    return task


def test_finished_follow_ups_are_listed_by_the_time_the_list_shows_latest_first():
    """The 已完成 and 全部 tabs show 应回访时间 but were sorted by last change: a day's calls
    saved in another order, or a seeded batch changed at one moment, read shuffled."""
    tasks = [task_for(factories.customer("HZ03")) for _ in range(3)]
    for days, changed, task in zip((3, 1, 2), (1, 3, 2), tasks, strict=True):
        task.status, task.due_at = FollowUpStatus.DONE, NOON - timedelta(days=days)
        task.updated_at = NOON + timedelta(hours=changed)
    db.session.flush()
    for tab in ("done", "all"):
        listed = [t.id for t in followups.queue(status=tab, page=1).items if t in tasks]
        assert listed == [tasks[1].id, tasks[2].id, tasks[0].id], tab


def test_follow_up_outcomes():
    agent = factories.user(Role.AGENT, "HZ")
    task = task_for(factories.customer("HZ03"))
    followups.record_attempt(task.id, "busy", agent=agent, now=NOON)
    assert task.status == "open" and task.due_at == NOON + timedelta(hours=2)
    with pytest.raises(ValidationFailed):
        followups.record_attempt(task.id, "callback", agent=agent, now=NOON)
    for night in (NOON + timedelta(hours=11, minutes=30), NOON + timedelta(hours=20)):
        # 23:30 and 08:00 Beijing time: outside the hours the page promises calls in
        with pytest.raises(ValidationFailed, match="9:00–20:00"):
            followups.record_attempt(task.id, "callback", agent=agent, callback_at=night, now=NOON)
    later = NOON + timedelta(days=1)
    followups.record_attempt(task.id, "callback", agent=agent, callback_at=later, now=NOON)
    assert task.status == "scheduled" and task.due_at == later
    followups.record_attempt(task.id, "refused", agent=agent, now=later)
    assert task.status == "refused" and len(task.call_attempts) == 3
    wrong = task_for(factories.customer("HZ03"))
    followups.record_attempt(wrong.id, "invalid_number", agent=agent, now=NOON)
    assert wrong.status == "unreachable"


def test_unanswered_calls_are_spaced_out_in_calling_hours():
    """Three presses of 无人接听 within a minute made a task unreachable; the next-day retry
    of a call made at 04:06 was set for 00:06."""
    agent = factories.user(Role.AGENT, "HZ")
    task = task_for(factories.customer("HZ03"))
    followups.record_attempt(task.id, "no_answer", agent=agent, now=NOON)
    assert task.due_at == NOON + timedelta(hours=2)
    with pytest.raises(ValidationFailed, match="11-20 14:00 之后再拨"):
        followups.record_attempt(task.id, "busy", agent=agent, now=NOON + timedelta(minutes=1))
    assert task.attempts == 1 and len(task.call_attempts) == 1
    followups.record_attempt(task.id, "reached", agent=agent, now=NOON + timedelta(minutes=2))
    assert task.status == "open"  # (a call that got through is recorded at any time)
    late = task_for(factories.customer("HZ03"))
    evening = NOON + timedelta(hours=7)  # 19:00 in Beijing: the retry at 21:00 waits
    followups.record_attempt(late.id, "busy", agent=agent, now=evening)
    assert late.due_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 09:00 the next day
    assert followups.in_calling_hours(datetime(2026, 11, 19, 20, 6, tzinfo=UTC)) == datetime(
        2026, 11, 20, 1, 0, tzinfo=UTC
    )  # 04:06 → 09:00 the same day


def test_an_unanswered_call_outside_calling_hours_is_refused_and_counts_nothing():
    """Three unanswered calls at night made a customer 无法联系 and closed the task; calls that
    got through, wrong numbers and refusals are recorded at any time."""
    agent = factories.user(Role.AGENT, "HZ")
    task = task_for(factories.customer("HZ03"))
    db.session.commit()  # (a refused record rolls back what is not)
    for night in (NOON + timedelta(hours=8), NOON + timedelta(hours=20, minutes=59)):
        # 20:00 and 08:59 Beijing time
        with pytest.raises(ValidationFailed, match="不在回访时段.*11-21 09:00 之后再拨"):
            followups.record_attempt(task.id, "no_answer", agent=agent, now=night)
    assert task.attempts == 0 and not task.call_attempts and task.status == "open"
    followups.record_attempt(task.id, "busy", agent=agent, now=NOON + timedelta(hours=21))
    assert task.attempts == 1  # 09:00: in hours again
    followups.record_attempt(task.id, "reached", agent=agent, now=NOON + timedelta(hours=10))
    assert len(task.call_attempts) == 2


def test_campaign_skips_customers_with_an_open_complaint():
    from app.services import complaints

    customer = factories.customer("NJ04")
    complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            content="信用卡年费被重复扣收，要求退还。",
            name=customer.name,
            external_id=customer.external_id,
            branch_code="NJ04",
        )
    )
    campaign = make_campaign()
    campaigns.run_campaign(campaign.id, now=NOON)
    skip = db.session.scalar(
        select(CampaignSkip).where(
            CampaignSkip.campaign_id == campaign.id, CampaignSkip.customer_id == customer.id
        )
    )
    assert skip.reason == "客户有未办结的投诉，暂不发送调查"


# Survey drafts: one title, readable errors ---------------------------------------------------


def test_a_drafts_title_and_description_are_the_forms_alone():
    survey = surveys.create_from_template("credit-card", code="cc-title", actor=None)
    # (the demo bank has a survey of this template: a second one is told apart by its code)
    assert survey.title == "信用卡服务满意度调查（cc-title）"
    text = surveys.editable_text(survey)
    assert text == survey.draft_text and text.startswith("code: cc-title\n")
    assert "\ntitle:" not in "\n" + text and "\ndescription:" not in "\n" + text
    assert "  - id: " in text and "    title: " in text  # the questions keep theirs
    surveys.update_draft(survey.id, title="2027 信用卡调查", description="", text=text)
    assert surveys.draft_definition(survey).title == "2027 信用卡调查"
    with pytest.raises(ValidationFailed) as refused:
        surveys.update_draft(
            survey.id, title="2027 信用卡调查", description="", text="title: 旧标题\n" + text
        )
    assert refused.value.fields == {
        "definition": "问卷定义中不要写 title：问卷标题只在上方的“问卷标题”栏填写，请删除这一行"
    }
    assert refused.value.line == 1
    version = surveys.publish(survey.id, actor=None)
    assert version.definition["title"] == "2027 信用卡调查"
    assert "description" not in version.definition


def test_a_survey_from_a_template_already_used_is_told_apart_by_its_code(db_session):
    """A second survey from the 网点服务 template was listed under the same title as the first."""
    from app.models import Survey

    titles = set(db_session.scalars(select(Survey.title)))
    assert "网点服务满意度调查" in titles  # (the demo bank's)
    again = surveys.create_from_template("branch-service", code="bs-2027", actor=None)
    assert again.title == "网点服务满意度调查（bs-2027）"


def test_a_draft_saved_with_its_own_title_shows_and_publishes_the_forms():
    survey = surveys.create_from_template("loan-followup", code="loan-old", actor=None)
    body = survey.draft_text.split("\n", 1)[1]
    survey.draft_text = (
        f"code: loan-old\ntitle: >\n  模板里的\n  旧标题\ndescription: 旧说明\n{body}"
    )
    survey.title, survey.description = "表单上的标题", "表单上的说明"
    db.session.commit()
    assert surveys.editable_text(survey) == f"code: loan-old\n{body}"
    version = surveys.publish(survey.id, actor=None)
    assert version.definition["title"] == "表单上的标题"
    assert version.definition["description"] == "表单上的说明"
    questions = [{"id": "q", "type": "nps", "title": "推荐吗"}]
    as_json = {"code": "loan-old", "title": "旧", "questions": questions}
    survey.draft_text = json.dumps(as_json, ensure_ascii=False)  # one line: written out again
    assert yaml.safe_load(surveys.editable_text(survey)) == {
        "code": "loan-old",
        "questions": questions,
    }


def test_draft_errors_name_the_question_and_the_line():
    survey = surveys.create_from_template("branch-service", code="bs-errors", actor=None)
    text = surveys.editable_text(survey)
    lines = text.splitlines()
    at = lines.index("    options:")  # the first: question 3's; keep one of its options
    end = next(i for i in range(at + 1, len(lines)) if not lines[i].startswith("      - "))
    broken = "\n".join([*lines[: at + 2], *lines[end:]])
    with pytest.raises(ValidationFailed) as info:
        surveys.update_draft(survey.id, title=survey.title, description="", text=broken)
    assert info.value.fields["definition"] == (
        "第 3 题（wait_time 本次办理业务，您大约等候了多长时…）：选项（options）至少需要 2 项"
    )
    assert info.value.line == at + 1
    with pytest.raises(ValidationFailed) as info:
        surveys.update_draft(survey.id, title=survey.title, description="", text="code: [\n")
    assert info.value.fields["definition"].startswith("YAML 格式错误（第 2 行附近）")


def test_a_retry_carries_the_link_the_api_gave(gateway):
    gateway.fail = True
    issued = invite(ext="GW3")
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.invitation_id == issued.invitation.id)
    )
    gateway.fail = False
    assert invitations.retry_failed(message.next_attempt_at) == 1
    assert message.status == "sent" and issued.url in gateway.calls[-1]["text"]
    token = issued.url.rsplit("/", 1)[1]
    assert issued.invitation.token_hash == invitations.hash_token(token)
    assert token not in (issued.invitation.token_sealed or "")  # kept sealed, not in clear


def test_a_reminder_carries_the_link_of_the_first_message():
    for _ in range(3):
        factories.customer("NJ02")
    campaign = make_campaign()
    campaigns.run_campaign(campaign.id, now=NOON)
    assert survey_triggers.dispatch_due(NOON + timedelta(days=3, minutes=1)).reminded > 0
    reminded = db.session.scalars(
        select(Invitation).where(
            Invitation.campaign_id == campaign.id, Invitation.reminded_at.is_not(None)
        )
    ).all()
    for invitation in reminded:
        bodies = db.session.scalars(
            select(OutboundMessage.body)
            .where(OutboundMessage.invitation_id == invitation.id)
            .order_by(OutboundMessage.id)
        ).all()
        links = [re.search(r"https?://\S+/s/[\w-]+", body).group(0) for body in bodies]
        assert len(links) == 2 and links[0] == links[1]
        assert invitation.token_hash == invitations.hash_token(links[0].rsplit("/", 1)[1])


def test_a_token_sealed_under_a_replaced_key_gives_a_new_link(app):
    issued = invite(ext="KEY1")
    invitation = issued.invitation
    assert invitations.kept_token(invitation) == issued.url.rsplit("/", 1)[1]
    invitation.token_sealed = "v1:" + invitation.token_sealed[3:][::-1]  # not this key's
    assert invitations.kept_token(invitation) is None
    invitations.deliver(invitation, now=NOON, reminder=True)
    assert invitation.token_hash != invitations.hash_token(issued.url.rsplit("/", 1)[1])
    assert invitations.kept_token(invitation) is not None


# Revising a published survey -------------------------------------------------------------------


def _published(code: str, template: str = "branch-service"):
    survey = surveys.create_from_template(template, code=code, actor=None)
    surveys.publish(survey.id, actor=None)
    return survey


def test_revising_a_closed_survey_does_not_reopen_it_before_a_new_version_is_published():
    """修订 on a closed survey served new invitations again at once (an audit saw the API
    answer 201 after 关闭 then 修订)."""
    survey = _published("closed-then-revised")
    surveys.close(survey.id)
    surveys.reopen_draft(survey.id)
    assert survey.status == "draft" and not survey.serving
    with pytest.raises(Conflict):
        surveys.published_version("closed-then-revised")
    surveys.publish(survey.id, actor=None)  # unchanged: the same version back in service
    assert survey.serving and survey.closed_at is None
    assert surveys.published_version("closed-then-revised") is survey.latest_version
    # a published survey under revision keeps serving its last version meanwhile
    surveys.reopen_draft(survey.id)
    assert survey.serving
    assert surveys.published_version("closed-then-revised").number == 1


def test_publishing_an_unchanged_draft_keeps_the_version_number():
    survey = _published("unchanged-republish")
    surveys.reopen_draft(survey.id)
    again = surveys.publish(survey.id, actor=None)
    assert (again.number, len(survey.versions), survey.status) == (1, 1, "published")
    surveys.reopen_draft(survey.id)
    text = surveys.editable_text(survey).replace(
        "总体而言，您对本次网点服务是否满意？", "总体而言，您对这次网点服务满意吗？"
    )
    surveys.update_draft(survey.id, title=survey.title, description="", text=text)
    assert surveys.publish(survey.id, actor=None).number == 2


def test_a_question_id_keeps_its_type_from_version_to_version():
    """A 1–5 rating turned into a 0–10 recommendation under the same id: the survey dashboard
    and the export summed the old ratings as NPS points (1, 2, 3 as detractors)."""
    survey = _published("kept-types")
    surveys.reopen_draft(survey.id)
    text = surveys.editable_text(survey)
    retyped = text.replace("    type: rating\n    metric: csat\n", "    type: nps\n", 1)
    assert retyped != text
    with pytest.raises(surveys.DefinitionInvalid) as refused:
        surveys.update_draft(survey.id, title=survey.title, description="", text=retyped)
    message = refused.value.problems[0].message
    assert message.startswith("第 1 题（overall）在第 1 版是评分题（1–5 分），不能改为推荐度题")
    assert "overall_2" in message
    assert refused.value.line == retyped.splitlines().index("    type: nps") + 1
    # a matrix keeps its scale too
    rescaled = text.replace(
        "    type: matrix\n    scale: rating\n", "    type: matrix\n    scale: ces\n"
    )
    with pytest.raises(surveys.DefinitionInvalid, match="矩阵题，按评分题（1–5 分）"):
        surveys.update_draft(survey.id, title=survey.title, description="", text=rescaled)
    # the same question under a new id is a new question: allowed
    renamed = retyped.replace("  - id: overall\n", "  - id: overall_2\n", 1)
    renamed = renamed.replace("question: overall,", "question: overall_2,")
    surveys.update_draft(survey.id, title=survey.title, description="", text=renamed)
    assert surveys.publish(survey.id, actor=None).number == 2


def test_yaml_aliases_and_deep_nesting_are_refused_with_a_message():
    survey = surveys.create_from_template("branch-service", code="yaml-bombs", actor=None)
    text = surveys.editable_text(survey)
    deep = "code: yaml-bombs\nquestions: " + "[" * 3000 + "]" * 3000
    with pytest.raises(surveys.DefinitionInvalid, match="嵌套层级过深"):
        surveys.update_draft(survey.id, title=survey.title, description="", text=deep)
    aliased = text + "extra: &a [1, 2]\nmore: [*a, *a]\n"
    with pytest.raises(surveys.DefinitionInvalid, match="不支持 YAML 别名") as refused:
        surveys.update_draft(survey.id, title=survey.title, description="", text=aliased)
    assert refused.value.line == len(text.splitlines()) + 2


@pytest.mark.parametrize("code", ["x #c", "'q'", "&a x", "0X1F", "x\nquestions: []", "Branch"])
def test_a_survey_code_is_refused_unless_it_is_one_the_definition_may_carry(code):
    """A code was pasted into the YAML unquoted: "x #c" was stored while the definition read
    "x", a newline added keys. Codes take the definition's own pattern."""
    with pytest.raises(ValidationFailed, match="问卷代码只能用小写字母"):
        surveys.create_from_template("branch-service", code=code, actor=None)


@pytest.mark.parametrize("code", ["2026-02-30", "0x1f", "123"])
def test_a_code_yaml_would_read_as_another_type_is_quoted(code):
    survey = surveys.create_from_template("branch-service", code=code, actor=None)
    assert survey.code == code and surveys.draft_definition(survey).code == code
