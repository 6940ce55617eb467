"""Survey pages: management, campaigns, follow-up calls, responses and exports, branch scope."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    AuditLog,
    Campaign,
    CampaignSkip,
    Customer,
    FollowUp,
    Invitation,
    OutboundMessage,
    Product,
    Response,
    Role,
    Survey,
    TriggerFiring,
    TriggerRule,
    utcnow,
)
from app.services import campaigns, followups, invitations, org_products, surveys
from app.services.customers import CustomerData
from tests import factories
from tests.support import csrf_token, selected_value

ANSWERS = {
    "q_overall": "1",
    "q_nps": "2",
    "q_wait_time": "gt30",
    **{f"q_aspects__{i}": "2" for i in ("attitude", "skill", "efficiency", "disclosure")},
    "q_aspects__environment": "3",
    "q_effort": "1",
    "q_improve": ["wait"],
    "q_comment": "=cmd|' /C calc'!A0 我的电话13812345678",
}


def answered(branch_code="HZ01", ext="WEB001"):
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code="branch-service",
            customer=CustomerData(external_id=ext, name="周九", phone="13811112222"),
            channel="sms",
            branch_code=branch_code,
        )
    )
    return issued


def submit(client, issued, data=ANSWERS):
    return client.post("/s/" + issued.url.rsplit("/", 1)[1], data=data)


def test_a_head_request_reads_the_link_and_never_answers_it(client):
    """Link previewers (chat apps, mail scanners) may send HEAD: it is answered as the GET it
    stands for, never as a submission (it was: an empty one got a 422, one carrying the form's
    fields was stored as the customer's answers and used the link up), and it does not mark
    the invitation opened (the gateways' link scanners inflated the open rate): a GET does."""
    issued = answered(ext="HEAD001")
    link = "/s/" + issued.url.rsplit("/", 1)[1]
    assert client.head(link).status_code == 200
    assert client.open(link, method="HEAD", data=ANSWERS).status_code == 200
    db.session.expire_all()
    invitation = db.session.get(Invitation, issued.invitation.id)
    assert invitation.status == "sent" and invitation.opened_at is None
    assert client.get(link).status_code == 200
    db.session.expire_all()
    assert db.session.get(Invitation, issued.invitation.id).status == "opened"
    reply = submit(client, issued)  # the customer's own answers are still taken
    assert reply.status_code == 200 and "提交成功" in reply.get_data(as_text=True)


def test_hq_manages_a_survey_from_template_to_publish(client, auth):
    auth.login("hq")
    page = client.get("/manager/surveys")
    assert page.status_code == 200 and "网点服务满意度调查" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    made = client.post(
        "/manager/surveys",
        data={"csrf_token": token, "template": "credit-card", "code": "cc-2027"},
    )
    assert made.status_code == 302
    edit_url = made.headers["Location"]
    html = client.get(edit_url).get_data(as_text=True)
    bad = client.post(
        edit_url,
        data={
            "csrf_token": token,
            "title": "信用卡",
            "description": "",
            "definition": "code: cc-2027\nquestions: 3",
        },
    )
    assert bad.status_code == 400 and "题目列表（questions）必须是列表" in bad.get_data(
        as_text=True
    )
    survey_id = int(edit_url.rstrip("/").rsplit("/", 1)[1])
    preview = client.get(f"/manager/surveys/{survey_id}/preview")
    assert preview.status_code == 200 and "预览模式" in preview.get_data(as_text=True)
    assert (
        client.post(f"/manager/surveys/{survey_id}/publish", data={"csrf_token": token}).status_code
        == 302
    )
    html = client.get(edit_url).get_data(as_text=True)
    assert "第 1 版" in html
    clone = client.post(
        f"/manager/surveys/{survey_id}/clone", data={"csrf_token": token, "code": "cc-copy"}
    )
    assert clone.status_code == 302
    # a copy published as made would show customers "…（副本）": it must be renamed first
    copy_page = client.get(clone.headers["Location"]).get_data(as_text=True)
    assert "标题仍带“（副本）”，客户会看到问卷标题" in copy_page
    copy = db.session.scalar(select(Survey).where(Survey.code == "cc-copy"))
    refused = client.post(f"/manager/surveys/{copy.id}/publish", data={"csrf_token": token})
    after = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "请先修改标题并保存，再发布" in after and copy.status == "draft" and not copy.versions
    surveys.update_draft(
        copy.id, title="2027 信用卡满意度调查", description="", text=surveys.editable_text(copy)
    )
    client.post(f"/manager/surveys/{copy.id}/publish", data={"csrf_token": token})
    db.session.refresh(copy)
    assert copy.status == "published" and len(copy.versions) == 1


def test_draft_errors_stand_by_the_definition_in_words_and_the_title_is_the_forms(client, auth):
    auth.login("hq")
    page = client.get("/manager/surveys").get_data(as_text=True)
    token = csrf_token(page)
    made = client.post(
        "/manager/surveys",
        data={"csrf_token": token, "template": "branch-service", "code": "bs-editor"},
    )
    edit_url = made.headers["Location"]
    html = client.get(edit_url).get_data(as_text=True)
    text = html.split('name="definition"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    text = unescape(text).lstrip("\r\n")  # (the newline WTForms puts after <textarea>)
    assert text.startswith("code: bs-editor\n") and "\ntitle:" not in text  # one title: the form's
    assert "客户在问卷页顶部看到的标题" in html
    broken = text.replace("      - {value: wait,", "      - {valu: wait,", 1)
    form = {
        "csrf_token": token,
        "title": "2027 网点服务调查",
        "description": "",
        "definition": broken,
    }
    bad = client.post(edit_url, data=form)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    # listed above both views of the definition (the form's and the YAML's)
    field = html.split('id="definition-error"', 1)[1].split('for="definition"', 1)[0]
    assert (
        "第 6 题（improve 您认为我们最需要在哪些方面改进？）："
        "第 1 个选项（排队等候时间过长）中有不支持的字段“valu”"
    ) in field
    line = broken.splitlines().index("      - {valu: wait, label: 排队等候时间过长}") + 1
    assert f'data-goto-line="{line}"' in field and f"定位到第 {line} 行" in field
    data = r'<script type="application/json" id="sb-data">.*?</script>'  # (the designer's)
    shown = re.sub(data, "", html, flags=re.S)
    assert "questions[" not in shown and "flash-error" not in html  # no path shown, no banner
    form["definition"] = text
    assert client.post(edit_url, data=form).status_code == 302
    survey_id = int(edit_url.rstrip("/").rsplit("/", 1)[1])
    preview = client.get(f"/manager/surveys/{survey_id}/preview").get_data(as_text=True)
    assert "2027 网点服务调查" in preview and "网点服务满意度调查" not in preview


def test_agents_cannot_manage_surveys(client, auth):
    auth.login("agent")
    assert client.get("/manager/surveys").status_code == 403
    assert client.get("/manager/campaigns").status_code == 403


def _campaign_form(client, **extra) -> dict:
    page = client.get("/manager/campaigns/new").get_data(as_text=True)
    now = datetime.now(UTC) + timedelta(hours=8)
    return {
        "csrf_token": csrf_token(page),
        "name": "测试活动",
        "survey_id": page.split('<option value="', 1)[1].split('"', 1)[0],
        "channel": "email",
        "audience": "branch",
        "branch_id": "1",
        "segment": "mass",
        "product_id": "1",
        "window_start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "window_end": (now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "expires_days": "14",
        "reminder_days": "3",
        **extra,
    }


def _field_value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    found = re.search(r'value="([^"]*)"', tag)
    return found.group(1) if found else ""


def test_new_campaign_form_opens_ready_to_send_in_daytime(client, auth):
    """Titles, not codes; a daytime send window filled in (09:00 to 20:00 a week later) and the
    link validity: typed a name only, the form creates a campaign."""
    auth.login("hq")
    page = client.get("/manager/campaigns/new").get_data(as_text=True)
    assert ">网点服务满意度调查</option>" in page and "（branch-service）" not in page
    now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    start, end = campaigns.default_window(now)
    assert _field_value(page, "window_start") == start.strftime("%Y-%m-%dT09:00")
    assert _field_value(page, "window_end") == end.strftime("%Y-%m-%dT20:00")
    assert _field_value(page, "expires_days") == "14"
    data = {
        "csrf_token": csrf_token(page),
        "name": "默认设置的活动",
        **{k: _field_value(page, k) for k in ("window_start", "window_end", "expires_days")},
        **{k: selected_value(page, k) for k in re.findall(r'<select[^>]*name="(\w+)"', page)},
    }
    reply = client.post("/manager/campaigns/new", data=data)
    assert reply.status_code == 302, reply.get_data(as_text=True)


def test_new_campaign_form_marks_each_audience_field_for_the_script(client, auth):
    """campaign_form.js shows the chosen audience's field only; without it every field is in
    sight (none is hidden in the page itself)."""
    auth.login("hq")
    page = client.get("/manager/campaigns/new").get_data(as_text=True)
    assert "/static/js/campaign_form.js" in page and "<script>" not in page
    for audience, name in (
        ("branch", "branch_id"), ("segment", "segment"), ("product", "product_id"),
        ("list", "list_text"),
    ):  # fmt: skip
        assert re.search(rf'<div data-audience="{audience}">\s*<div class="field[^"]*">\s*'
                         rf'<label[^>]*for="{name}"', page), audience  # fmt: skip
    assert " hidden" not in page


def test_default_campaign_window_is_daytime_a_week_long():
    at = datetime(2026, 12, 4, 15, 30)  # Beijing wall-clock times
    assert campaigns.default_window(at) == (datetime(2026, 12, 4, 9), datetime(2026, 12, 11, 20))
    early = datetime(2026, 12, 4, 6, 0)  # before 09:00: today, the send waits for 09:00
    assert campaigns.default_window(early)[0] == datetime(2026, 12, 4, 9)
    late = datetime(2026, 12, 4, 20, 0)  # today's daytime is over: tomorrow
    assert campaigns.default_window(late) == (datetime(2026, 12, 5, 9), datetime(2026, 12, 12, 20))


def test_campaign_list_audience_reports_unknown_customer_numbers(client, auth):
    auth.login("hq")
    customer = factories.customer("HZ02")
    customer.set_contact(email="k@example.cn")
    db.session.commit()
    known = customer.external_id
    none_known = client.post(
        "/manager/campaigns/new", data=_campaign_form(client, audience="list", list_text="NOPE1")
    )
    assert none_known.status_code == 400
    assert "名单中的客户号都未找到（如 NOPE1）" in none_known.get_data(as_text=True)
    data = _campaign_form(client, audience="list", list_text=f"{known}\nNOPE1\nNOPE2")
    made = client.post("/manager/campaigns/new", data=data, follow_redirects=True)
    assert "名单中有 2 个客户号未找到，已忽略：NOPE1、NOPE2" in made.get_data(as_text=True)
    url = made.request.path
    sent = client.post(
        url + "/send", data={"csrf_token": data["csrf_token"]}, follow_redirects=True
    )
    assert "已发送 1 人，跳过 0 人" in sent.get_data(as_text=True)
    # the creation's note on them is gone once sending writes its own: the page still names them
    page = client.get(url).get_data(as_text=True)
    assert "<td>名单中的客户号未找到（未发送）</td><td>2</td>" in page
    assert "未找到的客户号：NOPE1、NOPE2。" in page


def test_sending_a_campaign_whose_product_was_since_deactivated_says_why_and_sends_none(
    client, auth
):
    auth.login("hq")
    fund = db.session.scalar(select(Product).where(Product.code == "FUND"))
    data = _campaign_form(client, audience="product", product_id=str(fund.id))
    made = client.post("/manager/campaigns/new", data=data, follow_redirects=True)
    url = made.request.path
    org_products.set_product_active(fund.id, False, actor=None)
    sent = client.post(
        url + "/send", data={"csrf_token": data["csrf_token"]}, follow_redirects=True
    )
    page = unescape(sent.get_data(as_text=True))
    assert "本次未发送：目标产品 代销基金（FUND）已停用，不再发送" in page
    # and the page says so from then on, without a button that could only fail
    page = unescape(client.get(url).get_data(as_text=True))
    assert "目标产品 代销基金（FUND）已停用，不再发送：已发出的邀请仍然有效" in page
    assert "开始发送</button>" not in page
    db.session.expire_all()
    campaign = db.session.get(Campaign, int(url.rsplit("/", 1)[1]))
    assert (campaign.status, campaign.sent_count) == ("draft", 0)


def test_sending_a_closed_campaign_says_it_has_ended(client, auth):
    """It answered 当前为免打扰时段，将在时段结束后继续发送 at night (and sent nothing by day
    without a word), and its status line kept that note."""
    auth.login("hq")
    data = _campaign_form(client)
    made = client.post("/manager/campaigns/new", data=data, follow_redirects=True)
    url = made.request.path
    client.post(url + "/close", data={"csrf_token": data["csrf_token"]})
    sent = client.post(
        url + "/send", data={"csrf_token": data["csrf_token"]}, follow_redirects=True
    )
    page = unescape(sent.get_data(as_text=True))
    assert "本次未发送：活动已结束，不能发送" in page and "免打扰" not in page
    status = unescape(client.get(url).get_data(as_text=True)).split("<dt>状态</dt>")[1]
    assert "活动已结束，不能发送" in status.split("</dd>")[0]
    campaign_id = int(url.rsplit("/", 1)[1])
    db.session.expire_all()
    assert db.session.get(Campaign, campaign_id).status == "closed"
    assert not db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.campaign_id == campaign_id)
    )


def test_the_outbox_preview_masks_survey_link_tokens(client, auth):
    """The preview showed 28–30 of the 32 characters of each one-time link's token."""
    token = invitations.new_token()
    db.session.add(
        OutboundMessage(
            channel="sms", backend="outbox", kind="invitation", recipient_masked="138****1111",
            subject="", body=f"【银行】邀请您参加调查：{invitations.link_for(token)} 7天内有效",
            status="sent", attempts=1, created_at=datetime.now(UTC),
        )
    )  # fmt: skip
    db.session.flush()
    auth.login("hq")
    page = client.get("/manager/outbox").get_data(as_text=True)
    assert f"/s/{token[:4]}…" in page
    assert token[:8] not in page and token[4:] not in page


def test_campaign_whose_window_has_ended_is_refused_not_left_waiting(client, auth):
    auth.login("hq")
    before = db.session.scalar(select(func.count(Campaign.id)))
    past = datetime.now(UTC) + timedelta(hours=8) - timedelta(days=400)
    reply = client.post(
        "/manager/campaigns/new",
        data=_campaign_form(
            client,
            window_start=past.strftime("%Y-%m-%dT%H:%M"),
            window_end=(past + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        ),
    )
    assert reply.status_code == 400
    assert "发送截止时间已过，请填写今后的时间" in reply.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Campaign.id))) == before


def test_campaign_sends_once_and_records_skip_reasons(client, auth):
    auth.login("hq")
    data = _campaign_form(client)
    token = data["csrf_token"]
    reply = client.post("/manager/campaigns/new", data=data)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    campaign_url = reply.headers["Location"]
    campaign_id = int(campaign_url.rsplit("/", 1)[1])
    before = client.get(campaign_url).get_data(as_text=True)
    assert "尚未开始发送" in before and "（100%）" not in before  # not 100 % of nobody
    client.post(campaign_url + "/send", data={"csrf_token": token})
    sent = db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.campaign_id == campaign_id)
    )
    skipped = db.session.scalar(
        select(func.count(CampaignSkip.id)).where(CampaignSkip.campaign_id == campaign_id)
    )
    assert sent > 0 and sent + skipped >= 40
    reasons = set(
        db.session.scalars(
            select(CampaignSkip.reason).where(CampaignSkip.campaign_id == campaign_id)
        )
    )
    assert reasons <= {
        "缺少电子邮箱",
        "客户已退订全部调查",
        "客户有未办结的投诉，暂不发送调查",
    } and all(reasons)
    client.post(campaign_url + "/send", data={"csrf_token": token})
    again = db.session.scalar(
        select(func.count(Invitation.id)).where(Invitation.campaign_id == campaign_id)
    )
    assert again == sent
    assert "发送进度" in client.get(campaign_url).get_data(as_text=True)


def test_agent_records_attempts_until_unreachable(client, auth, monkeypatch):
    # the calls are made in calling hours (at night 无人接听 is refused: see the next test)
    monkeypatch.setattr(followups, "utcnow", lambda: followups.in_calling_hours(utcnow()))
    issued = answered()
    submit(client, issued)
    task = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    auth.login("agent")
    queue = client.get("/staff/followups")
    assert queue.status_code == 200 and "138****2222" in queue.get_data(as_text=True)
    html = client.get(f"/staff/followups/{task.id}").get_data(as_text=True)
    assert "无人接听" in html and "空号/错号" in html and "预约回拨" in html
    token = csrf_token(html)
    for n in range(3):
        client.post(
            f"/staff/followups/{task.id}/attempt",
            data={"csrf_token": token, "outcome": "no_answer"},
        )
        if n == 0:  # a second 无人接听 at once is refused: the rule spaces the tries out
            again = client.post(
                f"/staff/followups/{task.id}/attempt",
                data={"csrf_token": token, "outcome": "busy"},
                follow_redirects=True,
            )
            assert "上次未接通，按回访规则须间隔后再拨" in again.get_data(as_text=True)
            db.session.expire_all()
            assert db.session.get(FollowUp, task.id).attempts == 1
        db.session.expire_all()
        db.session.get(FollowUp, task.id).due_at = utcnow()  # (the retry time has come)
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(FollowUp, task.id).status == "unreachable"
    blocked = client.post(
        f"/staff/followups/{task.id}/attempt", data={"csrf_token": token, "outcome": "busy"}
    )
    assert blocked.status_code == 302


def _detractor_task(client, auth, ext: str) -> tuple[FollowUp, str]:
    """The call-back a detractor's answers created, and the agent's CSRF token on its page."""
    submit(client, answered(ext=ext))
    task = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    auth.login("agent")
    return task, csrf_token(client.get(f"/staff/followups/{task.id}").get_data(as_text=True))


def test_agent_enters_phone_answers(client, auth):
    task, token = _detractor_task(client, auth, "WEB002")
    bad = client.post(
        f"/staff/followups/{task.id}/answers", data={"csrf_token": token, "q_nps": "8"}
    )
    assert bad.status_code == 422
    good = client.post(
        f"/staff/followups/{task.id}/answers",
        data={
            "csrf_token": token,
            **{k: v for k, v in ANSWERS.items() if k != "q_comment"},
            "q_overall": "4",
            "q_nps": "8",
        },
    )
    assert good.status_code == 302
    db.session.expire_all()
    task = db.session.get(FollowUp, task.id)
    assert task.status == "done" and task.result_response.channel == "phone"
    assert [a.outcome for a in task.call_attempts] == ["reached"]  # the call that gave the answers


def test_answers_after_a_logged_call_do_not_add_a_second_call(client, auth):
    task, token = _detractor_task(client, auth, "WEB002B")
    client.post(
        f"/staff/followups/{task.id}/attempt", data={"csrf_token": token, "outcome": "reached"}
    )
    answers = {k: v for k, v in ANSWERS.items() if k != "q_comment"}
    saved = client.post(
        f"/staff/followups/{task.id}/answers",
        data={"csrf_token": token, **answers, "q_overall": "4", "q_nps": "8"},
    )
    assert saved.status_code == 302
    db.session.expire_all()
    task = db.session.get(FollowUp, task.id)
    assert task.status == "done" and [a.outcome for a in task.call_attempts] == ["reached"]


def test_saving_a_done_follow_up_again_says_so_and_stores_nothing(client, auth):
    task, token = _detractor_task(client, auth, "WEB002C")
    answers = {"csrf_token": token, **ANSWERS, "q_overall": "4", "q_nps": "8"}
    assert client.post(f"/staff/followups/{task.id}/answers", data=answers).status_code == 302
    again = client.post(f"/staff/followups/{task.id}/answers", data=answers, follow_redirects=True)
    page = again.get_data(as_text=True)
    assert "该回访任务状态为“已完成”，已结束，不能再记录" in page and "已已" not in page
    stored = db.session.scalar(
        select(func.count(Response.id)).where(
            Response.customer_id == task.customer_id, Response.channel == "phone"
        )
    )
    assert stored == 1


def test_responses_list_detail_scope_and_export(client, auth):
    issued = answered(ext="WEB003")
    submit(client, issued)
    response = db.session.scalar(
        select(Response).where(Response.invitation_id == issued.invitation.id)
    )
    auth.login("manager")
    detail = client.get(f"/staff/responses/{response.id}")
    text = detail.get_data(as_text=True)
    assert detail.status_code == 200 and "138****5678" in text and "13812345678" not in text
    assert "to-complaint" in text
    for query, told in (
        ("from=0001-01-01", "起始日期须在 2000-01-01 至 2099-12-31 之间（“0001-01-01”），已忽略"),
        ("to=9999-12-31", "截止日期须在 2000-01-01 至 2099-12-31 之间（“9999-12-31”），已忽略"),
        ("from=2026-02-30", "起始日期应为 2026-01-31 这样的“年-月-日”（“2026-02-30”），已忽略"),
        ("from=2026-12-01&to=2026-11-01", "截止日期早于起始日期，已忽略日期范围"),
    ):  # (was a 500 for the first two, silence for the others)
        listed = client.get(f"/staff/responses?{query}")
        assert listed.status_code == 200 and told in listed.get_data(as_text=True), query
    page = client.get("/staff/responses?detractors=1")
    token = csrf_token(page.get_data(as_text=True))
    csv_reply = client.post(
        "/staff/responses/export?detractors=1", data={"csrf_token": token, "format": "csv"}
    )
    body = csv_reply.get_data().decode("utf-8-sig")
    assert csv_reply.status_code == 200 and "'=cmd" in body and "13812345678" not in body
    assert csv_reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    xlsx = client.post("/staff/responses/export", data={"csrf_token": token, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    cells = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(v.startswith("'=cmd") for v in cells) and not any(v.startswith("=") for v in cells)
    assert (
        db.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "responses.export")
        )
        >= 2
    )
    auth.logout()
    auth.login("manager_nj")
    assert client.get(f"/staff/responses/{response.id}").status_code == 404


def test_customer_import_page_reports_bad_rows(client, auth):
    auth.login("hq")
    token = csrf_token(client.get("/manager/customer-import").get_data(as_text=True))
    bad = "客户号,姓名,手机号\nWI1,陈一,13900003333\nWI2,,12\n".encode()
    reply = client.post(
        "/manager/customer-import",
        data={"csrf_token": token, "file": (io.BytesIO(bad), "list.csv")},
        content_type="multipart/form-data",
    )
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400 and "第 3 行" in html and "姓名为空" in html
    good = "客户号,姓名,手机号\nWI1,陈一,13900003333\n".encode()
    reply = client.post(
        "/manager/customer-import",
        data={"csrf_token": token, "file": (io.BytesIO(good), "list.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200 and "新增 1 位客户" in reply.get_data(as_text=True)


def test_customer_import_page_lists_the_branch_codes_in_scope(client, auth):
    auth.login("hq")
    html = client.get("/manager/customer-import").get_data(as_text=True)
    assert "可填写的机构代码" in html
    for code, name in (
        ("HO", "总行"),
        ("HZ01", "西湖支行"),
        ("NJ", "南京分行"),
        ("SZ04", "昆山支行"),
    ):
        assert f'<span class="mono">{code}</span> {name}</li>' in html
    auth.logout()
    factories.user(Role.HQ_MANAGER, "NJ", username="hq_nj")
    auth.login("hq_nj")
    html = client.get("/manager/customer-import").get_data(as_text=True)
    assert '<span class="mono">NJ01</span> 鼓楼支行</li>' in html
    assert "HZ01" not in html and "西湖支行" not in html


def test_the_customer_template_is_a_header_and_an_example_that_imports_as_it_is(client, auth):
    factories.user(Role.HQ_MANAGER, "NJ", username="hq_nj")
    auth.login("hq_nj")
    page = client.get("/manager/customer-import").get_data(as_text=True)
    assert 'href="/manager/customer-import/template.csv"' in page
    reply = client.get("/manager/customer-import/template.csv")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    assert reply.data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert rows[0] == ["客户号", "姓名", "手机号", "邮箱", "机构代码", "客户分层"]
    assert len(rows) == 2 and rows[1][4].startswith("NJ")  # a unit this manager may use
    imported = client.post(
        "/manager/customer-import",
        data={"csrf_token": csrf_token(page), "file": (io.BytesIO(reply.data), "模板.csv")},
        content_type="multipart/form-data",
    )
    assert imported.status_code == 200 and "新增 1 位客户" in imported.get_data(as_text=True)
    added = db.session.scalar(select(Customer).where(Customer.external_id == rows[1][0]))
    assert (added.name, added.branch.code, added.segment) == ("张三", rows[1][4], "mass")


def test_response_becomes_a_complaint_once(client, auth):
    from app.models.complaint import Complaint

    issued = answered(ext="WEB009")
    submit(client, issued)
    response = db.session.scalar(
        select(Response).where(Response.invitation_id == issued.invitation.id)
    )
    auth.login("manager")
    page = client.get(f"/staff/responses/{response.id}").get_data(as_text=True)
    assert "转为投诉" in page
    token = csrf_token(page)
    path = f"/staff/responses/{response.id}/to-complaint"
    unstated = client.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert "请写明客户投诉的问题" in unstated.get_data(as_text=True)
    none = select(Complaint).where(Complaint.external_ref == f"response-{response.id}")
    assert db.session.scalars(none).all() == []  # nothing opened without the agent's words
    data = {"csrf_token": token, "content": "客户反映网点排队一小时，要求增开窗口"}
    first = client.post(path, data=data)
    assert first.status_code == 302 and "/staff/complaints/" in first.headers["Location"]
    client.post(path, data=data)
    made = db.session.scalars(
        select(Complaint).where(Complaint.external_ref == f"response-{response.id}")
    ).all()
    assert len(made) == 1 and made[0].channel == "survey"
    assert made[0].content.startswith("客户反映网点排队一小时")


def test_refused_answers_are_summed_up_at_the_top_with_links_to_each_question(client):
    issued = answered(ext="WEB-SUMMARY")
    data = {**ANSWERS, "q_overall": "", "q_effort": "", "q_improve": ["wait", "other"]}
    page = unescape(submit(client, issued, data).get_data(as_text=True))
    summary = page.split('id="sv-errors"')[1].split("</div>")[0]
    assert page.index('id="sv-errors"') < page.index('id="q-overall"')  # above the questions
    assert "有 3 道题未填写或填写有误" in summary
    for question in ("overall", "effort", "improve"):  # in the questionnaire's order
        assert f'href="#q-{question}"' in summary and f'id="q-{question}"' in page
    assert summary.index("#q-overall") < summary.index("#q-effort") < summary.index("#q-improve")
    assert "#q-nps" not in summary
    assert summary.count("未作答") == 2 and "此题为必答题" not in summary  # not said three times
    assert "请填写“其他”的具体内容" in summary.split("#q-improve")[1]  # its own reason stays


def _anonymous_link(once_per_device: bool, cap: int | None = None) -> tuple[Campaign, str]:
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    now = utcnow()
    data = campaigns.CampaignInput(
        name="网点二维码调查", survey_id=survey.id, channel="sms", audience="anonymous",
        window_start=now - timedelta(hours=1), window_end=now + timedelta(days=7),
        once_per_device=once_per_device, quota=cap,
    )  # fmt: skip
    campaign = campaigns.create_campaign(data, actor=None)
    return campaign, "/s/" + campaigns.public_link(campaign).rsplit("/", 1)[1]


def _answers_of(campaign: Campaign) -> int:
    return db.session.scalar(
        select(func.count(Response.id)).where(Response.campaign_id == campaign.id)
    )


def test_a_rotated_secret_key_leaves_the_shown_link_and_the_printed_one_alike(
    app, client, auth, monkeypatch
):
    """The page derived the link from SECRET_KEY: after a rotation it showed a link answering
    404 while the printed QR code still worked. It is derived from the personal-data key now;
    a campaign made under the old derivation says it cannot show its link again."""
    monkeypatch.setitem(app.config, "PII_KEY", "kept-apart-from-the-session-key")  # (README)
    campaign, path = _anonymous_link(once_per_device=False)
    assert client.get(path).status_code == 200
    monkeypatch.setitem(app.config, "SECRET_KEY", "rotated-" + app.config["SECRET_KEY"])
    assert campaigns.public_link(campaign).endswith(path)  # (the same link, from PII_KEY)
    assert client.get(path).status_code == 200
    # a campaign made before, under SECRET_KEY: shown while the key stands, then said lost
    older = campaigns._public_token(campaign, app.config["SECRET_KEY"])
    campaign.public_token_hash = invitations.hash_token(older)
    db.session.flush()
    assert campaigns.public_link(campaign).endswith(older)
    monkeypatch.setitem(app.config, "SECRET_KEY", "rotated-again")
    assert campaigns.public_link(campaign) == campaigns.LINK_LOST
    auth.login("hq")
    page = client.get(f"/manager/campaigns/{campaign.id}").get_data(as_text=True)
    assert "无法在页面上重新显示；已分享或印出的链接和二维码仍然有效" in page
    assert 'id="public-link"' not in page
    assert client.get(f"/manager/campaigns/{campaign.id}/qr.svg").status_code == 404
    assert client.get(f"/s/{older}").status_code == 200  # the printed one still works


def test_an_anonymous_link_takes_one_answer_per_browser_unless_a_shared_device_collects(client):
    """Refreshing the thank-you page (the browser posts the form again) or answering again
    stored another response on an anonymous link. By default it now takes one answer per
    browser, remembered in a cookie; another phone still answers. A campaign made for a
    branch's shared tablet (setting unticked) takes any number, and sets no cookie."""
    campaign, path = _anonymous_link(once_per_device=True)
    assert "q_overall" in client.get(path).text
    first = client.post(path, data=ANSWERS)
    assert "提交成功" in first.text and _answers_of(campaign) == 1
    cookie = first.headers["Set-Cookie"]
    assert "kesheng_answered=" in cookie and "Path=/s/" in cookie and "HttpOnly" in cookie
    for again in (client.post(path, data=ANSWERS), client.get(path)):
        assert again.status_code == 200 and "您已在本设备提交过本问卷" in again.text
    assert _answers_of(campaign) == 1
    other_phone = client.application.test_client()
    assert "提交成功" in other_phone.post(path, data=ANSWERS).text
    assert _answers_of(campaign) == 2
    # the mark is this link's only: the same browser answers another campaign's link
    shared, shared_path = _anonymous_link(once_per_device=False)
    for _ in range(2):
        taken = client.post(shared_path, data=ANSWERS)
        assert "提交成功" in taken.text and "Set-Cookie" not in taken.headers
    assert _answers_of(shared) == 2 and "q_overall" in client.get(shared_path).text


def test_one_network_address_gives_an_anonymous_link_only_so_many_answers_an_hour(
    app, client, monkeypatch
):
    """The per-browser cookie does not stop a script (it sends no cookie): an anonymous link
    took any number of answers from one address, into every dashboard. Past the hourly limit
    per address (generous: a branch's Wi-Fi puts many customers behind one) the answer is
    refused with 429 and nothing is stored; another address, and one-time links, still answer."""
    monkeypatch.setitem(app.config, "SURVEY_ANONYMOUS_PER_ADDRESS", 3)
    campaign, path = _anonymous_link(once_per_device=True)
    script = [app.test_client() for _ in range(4)]  # (no cookie kept between them)
    for fresh in script[:3]:  # (cookieless: the submission fast path takes them)
        assert "提交成功" in fresh.post(path, data=ANSWERS).text
    refused = script[3].post(path, data=ANSWERS)
    assert refused.status_code == 429 and "提交过于频繁" in refused.text
    assert refused.headers["Retry-After"] == "3600"
    assert _answers_of(campaign) == 3
    elsewhere = app.test_client().post(path, data=ANSWERS, environ_base={"REMOTE_ADDR": "10.8.0.2"})
    assert "提交成功" in elsewhere.text and _answers_of(campaign) == 4
    other, other_path = _anonymous_link(once_per_device=False)  # (each link counts its own)
    assert "提交成功" in app.test_client().post(other_path, data=ANSWERS).text


def _counted(campaign: Campaign) -> int:
    return db.session.scalar(select(Campaign.sent_count).where(Campaign.id == campaign.id))


def test_an_anonymous_link_with_an_answer_cap_stops_taking_answers_once_full(client, auth):
    """A public link may be capped (答卷上限): the answer that fills it is stored, the next
    phone is told the survey is full (410, nothing stored) and so is one opening the link; the
    campaign pages show the answers received against the cap."""
    campaign, path = _anonymous_link(once_per_device=True, cap=2)
    assert "提交成功" in client.application.test_client().post(path, data=ANSWERS).text
    assert "提交成功" in client.post(path, data=ANSWERS).text  # (the link's cap is now reached)
    # the phone that answered is told so, not that the survey is full
    assert "您已在本设备提交过本问卷" in client.get(path).text
    late = client.application.test_client()
    for refused in (late.post(path, data=ANSWERS), late.get(path)):
        assert refused.status_code == 410 and "本次调查的答卷已收满" in refused.text
    assert _answers_of(campaign) == 2 and _counted(campaign) == 2
    uncapped, free_path = _anonymous_link(once_per_device=False)
    for _ in range(3):
        assert "提交成功" in client.post(free_path, data=ANSWERS).text
    assert _counted(uncapped) == 0  # (an uncapped link never touches the campaign row)

    auth.login("hq")
    page = client.get(f"/manager/campaigns/{campaign.id}").text
    assert "已收答卷 <strong>2</strong> 份，上限 2 份" in page and "已收满" in page
    assert "有效期 / 提醒" not in page  # (an anonymous link sends nothing)
    listing = client.get("/manager/campaigns").text
    row = listing.split(f"/manager/campaigns/{campaign.id}")[1].split("</tr>")[0]
    assert "<td>2 / 2</td>" in row and "已收满" in row
    assert "收集中" in listing.split(f"/manager/campaigns/{uncapped.id}")[1].split("</tr>")[0]


def test_the_campaign_form_takes_an_answer_cap_for_an_anonymous_link(client, auth, db_session):
    auth.login("hq")
    page = client.get("/manager/campaigns/new").text
    assert 'name="answer_cap"' in page and "答卷上限" in page
    before = db_session.scalar(select(func.count(Campaign.id)))
    for bad in ("0", "-5", "很多"):
        form = _campaign_form(client, audience="anonymous", once_per_device="y", answer_cap=bad)
        refused = client.post("/manager/campaigns/new", data=form)
        assert refused.status_code == 400
        assert "答卷上限须为 1 以上的整数" in refused.text or "不是有效的整数" in refused.text
    assert db_session.scalar(select(func.count(Campaign.id))) == before
    form = _campaign_form(client, audience="anonymous", once_per_device="y", answer_cap="300")
    assert client.post("/manager/campaigns/new", data=form).status_code == 302
    campaign = db_session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))
    assert campaign.audience == "anonymous" and campaign.quota == 300


def test_with_no_published_survey_the_campaign_and_rule_forms_say_to_publish_one(
    client, auth, db_session
):
    """A new bank has no published survey yet: the forms showed an empty 问卷 list; they now
    say where to publish one instead of offering a form that cannot be sent."""
    auth.login("hq")
    assert 'name="survey_id"' in client.get("/manager/campaigns/new").text
    db_session.execute(update(Survey).values(status="closed"))
    db_session.commit()
    for path in ("/manager/campaigns/new", "/manager/triggers"):
        page = client.get(path).text
        assert "还没有可用的问卷" in page and 'href="/manager/surveys"' in page
        assert 'name="survey_id"' not in page


def test_the_campaign_form_offers_one_answer_per_device_ticked_for_an_anonymous_link(client, auth):
    auth.login("hq")
    page = client.get("/manager/campaigns/new").text
    assert 'name="once_per_device"' in page and "同一设备只能作答一次" in page
    box = (
        page.split('name="once_per_device"')[0].rsplit("<input", 1)[1]
        + page.split('name="once_per_device"')[1].split(">")[0]
    )
    assert "checked" in box


def test_the_please_specify_box_names_the_option_it_belongs_to(client):
    page = client.get("/s/" + answered(ext="WEB-OTHER").url.rsplit("/", 1)[1])
    html = page.get_data(as_text=True)
    assert 'data-other-for="other"' in html and 'class="sv-limit-msg"' in html


def _add_rule(client, **fields):
    token = csrf_token(client.get("/manager/triggers").get_data(as_text=True))
    survey = db.session.scalar(select(Survey.id).where(Survey.code == "branch-service"))
    data = {"csrf_token": token, "survey_id": survey, "action": "survey", "channel": "sms"}
    return client.post("/manager/triggers", data={**data, "delay_hours": "24", **fields})


def test_trigger_rules_offer_the_known_events_by_name_and_refuse_a_bad_custom_code(
    client, auth, db_session
):
    auth.login("hq")
    page = client.get("/manager/triggers").get_data(as_text=True)
    assert '<option value="account.opened">开户</option>' in page
    assert "其他（自定义事件代码）" in page
    before = db_session.scalar(select(func.count(TriggerRule.id)))
    for typed in ("开户啦", "Loan.Disbursed", "loan", "loan..repaid"):
        refused = _add_rule(client, event_type="_custom", custom_event=typed)
        assert refused.status_code == 400 and "事件代码须为小写英文单词加点" in refused.text
    assert _add_rule(client, event_type="开户啦").status_code == 400  # not one of the choices
    assert db_session.scalar(select(func.count(TriggerRule.id))) == before
    assert _add_rule(client, event_type="_custom", custom_event="loan.repaid").status_code == 302
    assert _add_rule(client, event_type="card.issued").status_code == 302
    page = client.get("/manager/triggers").get_data(as_text=True)
    assert "信用卡开卡" in page and "loan.repaid" in page and "（自定义事件）" in page


def test_the_rules_page_says_when_each_rule_acts(client, auth):
    """A rule without a delay acts as the event comes in (it read "事件发生 0 天后")."""
    auth.login("hq")
    delays = {"when.now": "0", "when.hours": "5", "when.later": "36", "when.days": "48"}
    for code, hours in delays.items():
        added = _add_rule(client, event_type="_custom", custom_event=code, delay_hours=hours)
        assert added.status_code == 302
    page = client.get("/manager/triggers").text

    def when(code: str) -> str:
        at = page.index(f'<span class="mono">{code}</span>')  # (a custom event: its code)
        row = page[at : page.index("</tr>", at)]
        return re.search(r'<td class="nowrap">(事件发生[^<]*)</td>', row).group(1)

    assert when("when.now") == "事件发生后立即"
    assert when("when.hours") == "事件发生 5 小时后"
    assert when("when.later") == "事件发生 36 小时后"
    assert when("when.days") == "事件发生 2 天后"


def test_only_a_rule_that_never_scheduled_anything_can_be_deleted(client, auth, db_session):
    auth.login("hq")
    _add_rule(client, event_type="_custom", custom_event="loan.repaid")
    fresh = db_session.scalar(select(TriggerRule).where(TriggerRule.event_type == "loan.repaid"))
    used = factories.survey_link("TRIG01")[1].invitation  # a triggered invitation of its survey
    db_session.execute(update(Invitation).where(Invitation.id == used.id).values(source="trigger"))
    page = client.get("/manager/triggers").get_data(as_text=True)
    assert f"/manager/triggers/{fresh.id}/delete" not in page and "仅可停用" in page
    token = csrf_token(page)
    refused = client.post(f"/manager/triggers/{fresh.id}/delete", data={"csrf_token": token})
    assert "只能停用" in client.get(refused.headers["Location"]).text
    assert db_session.get(TriggerRule, fresh.id) is not None
    db_session.execute(update(Invitation).where(Invitation.id == used.id).values(source="web"))
    # an event it took and skipped (the customer had opted out) is no reason to keep it
    skipped = TriggerFiring(
        rule_id=fresh.id, customer_id=used.customer_id, occurred_at=utcnow(), outcome="opted_out"
    )
    db_session.add(skipped)
    db_session.flush()
    assert f"/manager/triggers/{fresh.id}/delete" in client.get("/manager/triggers").text
    done = client.post(f"/manager/triggers/{fresh.id}/delete", data={"csrf_token": token})
    rule_id, firing_id = fresh.id, skipped.id
    db_session.expire_all()
    assert done.status_code == 302 and db_session.get(TriggerRule, rule_id) is None
    assert db_session.get(TriggerFiring, firing_id) is None


def test_the_rules_page_sums_up_what_each_rule_did_with_its_events(client, auth, db_session):
    """A rule taking events is otherwise invisible: the page counts, over 30 days, the events
    each rule took, what it scheduled and why it scheduled nothing; a retry is not counted."""
    from app.services import survey_triggers
    from app.services.customers import upsert_customer

    auth.login("hq")
    for code in ("act.checked", "act.visited"):  # events of their own: the demo's rules fired
        assert _add_rule(client, event_type="_custom", custom_event=code).status_code == 302
    rules = {r.event_type: r for r in db_session.scalars(select(TriggerRule))}
    refusing, _ = upsert_customer(CustomerData(external_id="ACT-OUT", name="退订客户"))
    refusing.opted_out = True
    db_session.flush()
    now = datetime.now(UTC).replace(microsecond=0)

    def event(external_id, hours_ago, event_type="act.checked"):
        who = CustomerData(external_id=external_id, name="活动客户", phone="13700000021")
        occurred = now - timedelta(hours=hours_ago)
        data = survey_triggers.EventData(type=event_type, customer=who, occurred_at=occurred)
        return [item["kind"] for item in survey_triggers.record_event(data)]

    assert event("ACT-1", 5) == ["survey"]
    assert event("ACT-1", 5) == ["skipped"]  # a retry of the same event
    assert event("ACT-1", 2) == ["skipped"]  # the same customer again: frequency cap
    assert event("ACT-OUT", 1) == ["skipped"]
    old = TriggerFiring(
        rule_id=rules["act.visited"].id,
        customer_id=refusing.id,
        occurred_at=now - timedelta(days=40),
        outcome="visit",
        created_at=now - timedelta(days=40),
    )
    db_session.add(old)
    db_session.flush()

    activity = survey_triggers.rule_activity(r.id for r in rules.values())
    opened = activity[rules["act.checked"].id]
    assert (opened.events, opened.scheduled) == (3, 1)
    assert opened.skipped == (("客户已退订", 1), ("频次上限", 1))
    card = activity[rules["act.visited"].id]
    assert card.events == 0 and card.last_at is not None
    page = unescape(client.get("/manager/triggers").get_data(as_text=True))
    rows = {code: page.split(code)[1].split("</tr>")[0] for code in ("act.checked", "act.visited")}
    assert "收到事件 3 · 已安排 1" in rows["act.checked"]
    assert "未安排 2：客户已退订 1、频次上限 1" in rows["act.checked"]
    assert "无事件" in rows["act.visited"] and "最近一次" in rows["act.visited"]
    assert "近 30 天" in page


def test_a_connected_call_counts_as_dialled_but_not_against_the_limit(client, auth, monkeypatch):
    """已拨打 stayed 0 after a 接通 call while the call log showed it: the counter is of the
    calls not answered (three of those make the task unreachable)."""
    monkeypatch.setattr(followups, "utcnow", lambda: followups.in_calling_hours(utcnow()))
    submit(client, answered(ext="WEB009"))
    task = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    auth.login("agent")
    url = f"/staff/followups/{task.id}"
    token = csrf_token(client.get(url).get_data(as_text=True))
    for outcome in ("busy", "reached"):
        client.post(url + "/attempt", data={"csrf_token": token, "outcome": outcome})
    html = client.get(url).get_data(as_text=True)
    assert "<dt>已拨打</dt><dd>2 次</dd>" in html
    assert "<dt>未接通</dt><dd>1 / 3 次" in html


def test_published_survey_page_shows_no_content_hash(client, auth):
    """Managers were shown a 内容指纹 hash column they have no use for."""
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    auth.login("hq")
    page = client.get(f"/manager/surveys/{survey.id}").get_data(as_text=True)
    assert "版本记录" in page and "内容指纹" not in page
    assert survey.versions[-1].definition_hash[:12] not in page


def test_a_refused_call_record_keeps_what_the_agent_typed(client, auth):
    """预约回拨 without a time (or one in the past) is refused: the agent's note was lost on the
    redirect. The message now shows under the time box, the note and time still in their boxes,
    and nothing is recorded."""
    submit(client, answered(ext="WEB-CALLNOTE"))
    task = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    auth.login("agent")
    page = client.get(f"/staff/followups/{task.id}").get_data(as_text=True)
    refused = client.post(
        f"/staff/followups/{task.id}/attempt",
        data={"csrf_token": csrf_token(page), "outcome": "callback", "note": "客户说晚上方便"},
    )
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and 'value="客户说晚上方便"' in html
    form = html.split("记录本次通话")[1].split("</form>")[0]
    # under the time box it is about, the box marked (it was a banner atop the form)
    assert 'class="flash flash-error"' not in form
    assert (
        '<p class="error" id="callback_at-error" role="alert">请填写晚于当前时间的预约回拨时间'
        in form
    )
    assert 'aria-invalid="true" aria-describedby="callback_at-error"' in form
    db.session.expire_all()
    assert db.session.get(FollowUp, task.id).call_attempts == []


def test_a_refused_oversized_text_is_not_echoed_back_in_full(client):
    """The page shown again after a refusal filled the box with all of a 1 MB posted comment (a
    tampering client's; the browser's maxlength stops a customer): it shows at most the limit."""
    token, _ = factories.survey_link("ECHO01")
    long = "长" * 200_000
    reply = client.post(f"/s/{token}", data={**ANSWERS, "q_comment": long})
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert "当前 200000 字" in page
    shown = page.split('name="q_comment"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert 0 < len(shown.strip()) <= 1000 and len(page) < 100_000


def test_the_campaign_page_shows_the_text_customers_will_receive_before_sending(client, auth):
    """No SMS preview: staff pressed 开始发送 without seeing the text, its length or how many
    billed messages a long title makes. The page shows the invitation and the reminder as
    composed for sending, with a sample link of the real one's length."""
    import html as html_lib

    from app.models import OutboundMessage
    from app.services import channels

    auth.login("hq")
    data = _campaign_form(client, channel="sms", reminder_days="3")
    campaign_url = client.post("/manager/campaigns/new", data=data).headers["Location"]
    page = html_lib.unescape(client.get(campaign_url).get_data(as_text=True))
    assert "客户将收到的消息（短信）" in page
    bodies = re.findall(r'<pre class="cg-message-body">(.*?)</pre>', page, re.S)
    assert len(bodies) == 2  # the invitation and the day-3 reminder
    invite, reminder = bodies
    assert "诚邀您参与" in invite and "14天内有效" in invite
    assert "温馨提醒" in reminder and "11天内有效" in reminder  # what is left of 14 on day 3
    assert (
        f"共 {len(invite)} 字，按 <strong>{channels.sms_parts(invite)}</strong> 条短信计费" in page
    )
    # 开始发送 asks first, naming how many customers the conditions now select
    asked = re.search(r"确定开始发送吗？\s*按所选条件目前共有 (\d+) 位客户，将通过短信", page)
    assert asked, "开始发送 has no confirmation naming the audience"
    client.post(campaign_url + "/send", data={"csrf_token": data["csrf_token"]})
    campaign_id = int(campaign_url.rsplit("/", 1)[1])
    # (pressed in the evening, the send waits for the morning's end of the quiet hours: run it
    # at 11:00 Beijing time today, inside the window that opened a day ago)
    morning = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
    campaigns.run_campaign(campaign_id, now=morning)
    sent = db.session.scalar(
        select(OutboundMessage.body)
        .join(Invitation, Invitation.id == OutboundMessage.invitation_id)
        .where(Invitation.campaign_id == campaign_id, OutboundMessage.kind == "invitation")
        .limit(1)
    )
    assert db.session.get(Campaign, campaign_id).total == int(asked[1]) > 0
    link = re.compile(r"/s/[\w*-]+")
    assert link.sub("/s/T", sent) == link.sub("/s/T", invite)  # the same text, but the token
    assert len(sent) == len(invite)
    # an e-mail campaign without reminders: one message, with its subject, and no SMS billing
    mail = _campaign_form(client, channel="email", reminder_days="")
    page = client.get(client.post("/manager/campaigns/new", data=mail).headers["Location"])
    page = page.get_data(as_text=True)
    assert page.count('class="cg-message-body"') == 1 and "主题：" in page
    assert "条短信计费" not in page


def test_sms_parts_follow_the_operators_70_and_67_characters():
    from app.services import channels

    assert [channels.sms_parts("字" * n) for n in (1, 70, 71, 134, 135)] == [1, 1, 2, 2, 3]


def test_a_campaign_sent_before_its_window_reads_as_arranged(client, auth):
    """开始发送 pressed before the window opens: the page still said 尚未开始发送 beside the button
    and the list 待发送, as if nobody had started it; the minute's job sends it at the window."""
    auth.login("hq")
    later = datetime.now(UTC) + timedelta(hours=8, days=2)
    data = _campaign_form(
        client,
        window_start=later.strftime("%Y-%m-%dT%H:%M"),
        window_end=(later + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
    )
    url = client.post("/manager/campaigns/new", data=data).headers["Location"]
    before = client.get(url).get_data(as_text=True)
    assert "尚未开始发送" in before and ">开始发送</button>" in before
    client.post(url + "/send", data={"csrf_token": data["csrf_token"]})
    page = client.get(url).get_data(as_text=True)
    assert "<strong>已安排发送</strong>：尚未到发送开始时间" in page
    assert ">开始发送</button>" not in page and "尚未开始发送" not in page
    listed = client.get("/manager/campaigns").get_data(as_text=True)
    row = listed.split(data["name"], 1)[1].split("</tr>", 1)[0]
    assert "已安排发送" in row


def test_the_link_says_when_it_expires_to_the_minute_in_beijing_time(client):
    """链接有效期至 2026年12月21日 read as the whole of that day, but the link (sent at 02:32,
    valid 14 days) ran out at 02:32: a customer opening it that morning found it expired."""
    sent = (utcnow() - timedelta(days=1)).replace(
        hour=18, minute=32, second=0, microsecond=0
    )  # 02:32 in Beijing
    token, _ = factories.survey_link("EXPIRY1", now=sent)
    ends = (sent + timedelta(days=14)).astimezone(ZoneInfo("Asia/Shanghai"))
    page = unescape(client.get("/s/" + token).get_data(as_text=True))
    when = rf"(\d{{4}}年)?{ends.month}月{ends.day}日 02:32"  # (the year: only if not this one)
    assert re.search(rf'链接有效期至 <span class="sv-nowrap">{when}</span></p>', page)


def test_an_expiry_names_its_year_only_when_it_is_not_this_one(app):
    from app.web.public.survey import expiry_label

    ends = datetime(2027, 1, 3, 18, 32, tzinfo=UTC)  # 4 January, 02:32 in Beijing
    assert expiry_label(ends, now=datetime(2027, 1, 1, tzinfo=UTC)) == "1月4日 02:32"
    assert expiry_label(ends, now=datetime(2026, 12, 21, tzinfo=UTC)) == "2027年1月4日 02:32"


def test_only_the_customers_own_link_keeps_a_draft_and_its_end_drops_it(client, auth):
    """survey.js keeps a draft of the answers on the phone for the customer's link (not in a
    preview), and drops it on the pages that end the link: thanks, answered, expired."""
    token, issued = factories.survey_link("DRAFT1")
    form = client.get("/s/" + token).get_data(as_text=True)
    assert re.search(r'<form [^>]*class="sv-form"[^>]* data-sv-draft>', form)
    assert "data-sv-draft-done" not in form
    refused = client.post("/s/" + token, data={}).get_data(as_text=True)  # answers sent back
    assert re.search(r'<form [^>]*class="sv-form"[^>]* data-sv-draft>', refused)
    thanks = submit(client, issued, data=ANSWERS).get_data(as_text=True)
    again = client.get("/s/" + token).get_data(as_text=True)
    late_token, late = factories.survey_link("DRAFT2")
    factories.expire_invitation(late.invitation.id)
    gone = client.get("/s/" + late_token).get_data(as_text=True)
    for page in (thanks, again, gone):
        assert "data-sv-draft-done" in page and "js/survey.js" in page
    missing = client.get("/s/no-such-link-0123456789").get_data(as_text=True)
    assert "data-sv-draft-done" not in missing  # (a mistyped link is no answered one)
    auth.login("hq")
    survey_id = db.session.scalar(select(Survey.id).where(Survey.code == "branch-service"))
    preview = client.get(f"/manager/surveys/{survey_id}/preview").get_data(as_text=True)
    assert "预览模式" in preview and "data-sv-draft" not in preview
    # nor on a branch's shared tablet (an anonymous link taking any number of answers from one
    # browser): the next customer would find the answers of one who walked away; a QR link
    # answered once per phone keeps one
    _, shared = _anonymous_link(once_per_device=False)
    assert "data-sv-draft" not in client.get(shared).get_data(as_text=True)
    _, own_phone = _anonymous_link(once_per_device=True)
    assert "data-sv-draft" in client.get(own_phone).get_data(as_text=True)
