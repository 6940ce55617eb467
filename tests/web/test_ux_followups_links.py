"""Dead ends and lost messages the UI audit found (findings 4, 9 and 11): refused phone answers
listed at the top of the answer form, a dissatisfied customer told where to complain, a low
follow-up call linked to its response (转为投诉), and an anonymous campaign's link to copy and
as a QR code, without a channel it does not use."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, FollowUp, Survey, utcnow
from app.services import campaigns, survey_triggers
from app.services.customers import CustomerData
from app.web.manager.surveys import qr_code
from app.web.public import survey as survey_view
from tests import factories
from tests.security.records import DETRACTOR_ANSWERS
from tests.support import csrf_token

HAPPY_ANSWERS = {
    **DETRACTOR_ANSWERS,
    "q_overall": "5",
    "q_nps": "9",
    "q_effort": "6",
    **{f"q_aspects__{i}": "5" for i in ("attitude", "skill", "efficiency", "disclosure")},
}
HAPPY_ANSWERS.pop("q_improve")  # (asked only after a low score)


def _task(client, ext: str) -> FollowUp:
    """The call-back a customer's low scores created (customer of 杭州 HZ01)."""
    token, _ = factories.survey_link(ext, phone="13811112222")
    assert client.post(f"/s/{token}", data=DETRACTOR_ANSWERS).status_code == 200
    task = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    assert task.reason == "detractor" and task.is_open
    return task


def _token(client, task: FollowUp) -> str:
    return csrf_token(client.get(f"/staff/followups/{task.id}").text)


# --- finding 4: refused phone answers ---------------------------------------------------------


def test_refused_phone_answers_are_listed_at_the_top_of_the_answer_form_and_kept(client, auth):
    """Saving with required questions missing: the page says which ones, in a list heading the
    answer form (below the call record) with a link to each, for survey.js to focus; the
    answers typed are all still there and nothing is stored."""
    task = _task(client, "UXFU01")
    auth.login("agent")
    typed = {
        "csrf_token": _token(client, task),
        "q_nps": "3",
        "q_wait_time": "10-20",
        "q_improve": ["wait", "other"],  # 其他 ticked, 请注明 left blank
        "q_comment": "客户说等了很久，<没人>理",
    }
    refused = client.post(f"/staff/followups/{task.id}/answers", data=typed)
    assert refused.status_code == 422
    page = refused.text
    summary = page.split('id="sv-errors"')[1].split("</div>")[0]
    # the list heads the answer form, above its first question
    assert page.index("回访脚本与答案录入") < page.index('id="sv-errors"')
    assert page.index('class="sv-form fu-answers"') < page.index('id="sv-errors"')
    assert page.index('id="sv-errors"') < page.index('id="q-overall"')
    before, after = page.split('id="sv-errors"')
    tag = before.rsplit("<div", 1)[1] + after.split(">")[0]  # (survey.js focuses it)
    assert 'role="alert"' in tag and 'tabindex="-1"' in tag
    text = unescape(summary)
    assert "有 4 道题未填写或填写有误" in text
    for question in ("overall", "aspects", "effort", "improve"):  # in the script's order
        assert f'href="#q-{question}"' in summary and f'data-question="{question}"' in summary
    assert summary.index("#q-overall") < summary.index("#q-aspects") < summary.index("#q-effort")
    assert "#q-nps" not in summary and "#q-wait_time" not in summary
    assert text.count("未作答") == 3 and "请填写“其他”的具体内容" in text
    assert "部分题目未填写或填写有误，请检查标红的题目。" not in page  # (the old lone line)
    # the questions at fault are marked; what the agent entered is kept
    assert 'class="sv-q sv-has-error' in page.split('id="q-overall"')[0].rsplit("<fieldset", 1)[1]
    assert '<input type="radio" name="q_nps" value="3" checked>' in page
    assert 'name="q_wait_time" value="10-20" checked' in page
    assert 'value="wait" checked' in page and 'value="other" checked' in page
    assert "客户说等了很久，&lt;没人&gt;理</textarea>" in page
    assert "/static/js/survey.js" in page
    db.session.expire_all()
    assert db.session.get(FollowUp, task.id).is_open  # nothing stored
    # once complete, the same form saves
    done = client.post(
        f"/staff/followups/{task.id}/answers",
        data={**typed, **HAPPY_ANSWERS, "q_improve": ["wait"]},
    )
    assert done.status_code == 302


def test_the_customer_page_keeps_its_summary_from_the_shared_template(client):
    """(The list is the customer survey's own, now a macro both pages use.)"""
    token, _ = factories.survey_link("UXFU02")
    refused = client.post(f"/s/{token}", data={**DETRACTOR_ANSWERS, "q_overall": ""})
    assert refused.status_code == 422
    summary = refused.text.split('id="sv-errors"')[1].split("</div>")[0]
    assert 'href="#q-overall"' in summary and "未作答" in summary


# --- finding 11 (customer): the thank-you page after low scores --------------------------------


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "flask-view"])
def test_a_dissatisfied_customer_is_told_where_to_complain(app, client, monkeypatch, fast_path):
    """After low scores (the detractor rule: NPS 0-6 or CSAT 1-2) the thank-you page adds one
    line with the complaint form and, when configured, the hotline; a satisfied customer's
    page has neither. The same through the submission fast path and the Flask view."""
    monkeypatch.setitem(app.config, "SURVEY_FAST_PATH", fast_path)
    monkeypatch.setattr(survey_view, "_thanks_pages", {})  # (pages rendered per process)
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "95577")
    low, _ = factories.survey_link("UXTY01")
    page = client.post(f"/s/{low}", data=DETRACTOR_ANSWERS)
    assert page.status_code == 200 and "提交成功" in page.text
    help_line = page.text.split('class="sv-message-help"')[1].split("</p>")[0]
    assert "很抱歉给您带来了不好的体验" in help_line
    assert 'href="/complaint"' in help_line and "在线提交投诉或建议" in help_line
    assert "客服热线" in help_line and 'href="tel:95577"' in help_line

    high, _ = factories.survey_link("UXTY02")
    happy = client.post(f"/s/{high}", data=HAPPY_ANSWERS)
    assert happy.status_code == 200 and "提交成功" in happy.text
    assert "sv-message-help" not in happy.text and 'href="/complaint"' not in happy.text

    # an NPS of 6 alone (satisfied otherwise) is still a detractor's answer
    middling, _ = factories.survey_link("UXTY03")
    page = client.post(f"/s/{middling}", data={**HAPPY_ANSWERS, "q_nps": "6", "q_improve": "wait"})
    assert page.status_code == 200 and 'href="/complaint"' in page.text

    # no hotline configured: the complaint form alone
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "")
    monkeypatch.setattr(survey_view, "_thanks_pages", {})
    other, _ = factories.survey_link("UXTY04")
    page = client.post(f"/s/{other}", data=DETRACTOR_ANSWERS)
    help_line = page.text.split('class="sv-message-help"')[1].split("</p>")[0]
    assert 'href="/complaint"' in help_line and "热线" not in help_line


def test_an_anonymous_link_thanks_a_dissatisfied_customer_with_the_complaint_form(client):
    campaign = _anonymous_campaign()
    path = "/s/" + campaigns.public_link(campaign).rsplit("/", 1)[1]
    page = client.post(path, data=DETRACTOR_ANSWERS)
    assert page.status_code == 200 and 'href="/complaint"' in page.text
    other_phone = client.application.test_client()
    assert 'href="/complaint"' not in other_phone.post(path, data=HAPPY_ANSWERS).text


# --- finding 11 (agent): a low follow-up call -------------------------------------------------


def test_a_low_score_call_links_from_the_queue_to_its_response_and_complaint(client, auth):
    """Saving a call whose answers are low returns to the queue saying so, with a link to the
    new response's 转为投诉; a call with good scores says only that it was saved."""
    task = _task(client, "UXFU10")
    auth.login("agent")
    low = {**DETRACTOR_ANSWERS, "q_overall": "1", "q_nps": "0", "q_comment": "年费被乱收，要求投诉"}
    saved = client.post(
        f"/staff/followups/{task.id}/answers",
        data={"csrf_token": _token(client, task), **low},
        follow_redirects=True,
    )
    assert saved.request.path == "/staff/followups"
    db.session.expire_all()
    response = db.session.get(FollowUp, task.id).result_response
    assert response.detractor and response.channel == "phone"
    page = saved.text
    assert "回访答卷已保存，任务已完成" in page
    prompt = page.split('class="flash flash-warning"')[1].split("</div>")[0]
    assert "客户本次评分较低（满意度 1 分、推荐度 0 分）" in prompt
    link = f'href="/staff/responses/{response.id}#to-complaint"'
    assert link in prompt and f"打开回访答卷 #{response.id} 转为投诉" in prompt
    # the link leads to the response, whose 转为投诉 form is where the fragment points
    opened = client.get(f"/staff/responses/{response.id}")
    assert opened.status_code == 200 and 'id="to-complaint"' in opened.text
    # the prompt is shown once
    assert "转为投诉" not in client.get("/staff/followups").text

    happy_task = _task(client, "UXFU11")
    saved = client.post(
        f"/staff/followups/{happy_task.id}/answers",
        data={"csrf_token": _token(client, happy_task), **HAPPY_ANSWERS},
        follow_redirects=True,
    )
    assert "回访答卷已保存，任务已完成" in saved.text
    assert "flash-warning" not in saved.text and "/staff/responses/" not in saved.text


def _card_visit(ext: str, name: str, phone: str, *, at: str) -> FollowUp:
    """The call-back a card issued at unit ``at`` schedules for a customer of 杭州 (HZ01)."""
    factories.survey_link(ext, name=name, phone=phone)  # (of HZ01)
    who = CustomerData(external_id=ext, name=name)
    [visit] = survey_triggers.record_event(
        survey_triggers.EventData(
            type="card.issued", customer=who, occurred_at=utcnow(), branch_code=at
        )
    )
    return db.session.get(FollowUp, visit["id"])


def test_a_low_score_call_for_another_branchs_customer_links_to_the_response(client, auth):
    """A call-back queued at 鼓楼支行 (NJ01) for a customer of 杭州 (HZ01): the response page
    offers NJ01's agent no 转为投诉 (the customer's record is not theirs), so the prompt only
    links to the response."""
    task = _card_visit("UXFU12", "欧阳娜娜", "13911112222", at="NJ01")
    auth.login("agent_nj")
    answers = {k: v for k, v in DETRACTOR_ANSWERS.items() if k.startswith("q_")}
    token = _token(client, task)
    saved = client.post(
        f"/staff/followups/{task.id}/answers",
        data={"csrf_token": token, **_answers_for(task, answers)},
        follow_redirects=True,
    )
    assert saved.request.path == "/staff/followups", saved.text[:2000]
    db.session.expire_all()
    response = db.session.get(FollowUp, task.id).result_response
    prompt = saved.text.split('class="flash flash-warning"')[1].split("</div>")[0]
    assert f'href="/staff/responses/{response.id}"' in prompt and "转为投诉" not in prompt
    opened = client.get(f"/staff/responses/{response.id}")
    assert opened.status_code == 200 and 'id="to-complaint"' not in opened.text


def test_a_call_that_hears_of_a_problem_says_so_with_good_scores(client, auth):
    """A card call-back answered 未解决 (年费仍未退还) with good scores said only 任务已完成: the
    call makes no second task, so the agent is pointed to the response and its 转为投诉."""
    from app.services.surveys import definition_of

    task = _card_visit("UXFU13", "钱多多", "13911113333", at="HZ01")
    defn = definition_of(task.version)
    assert any(q.id == "resolved" for q in defn.questions)  # (the card survey: 是否解决)
    high = {"rating": "5", "nps": "10", "ces": "7"}
    answers = _answers_for(task, {})
    answers |= {f"q_{q.id}": high[q.type.value] for q in defn.questions if q.type.value in high}
    answers |= {"q_resolved": "no", "q_unresolved_detail": "年费仍未退还"}
    auth.login("agent")
    saved = client.post(
        f"/staff/followups/{task.id}/answers",
        data={"csrf_token": _token(client, task), **answers},
        follow_redirects=True,
    )
    assert saved.request.path == "/staff/followups", saved.text[:2000]
    db.session.expire_all()
    response = db.session.get(FollowUp, task.id).result_response
    assert not response.detractor
    prompt = saved.text.split('class="flash flash-warning"')[1].split("</div>")[0]
    assert "客户回答：「您的问题是否已经得到解决」答“未解决”" in prompt
    assert f"打开回访答卷 #{response.id} 转为投诉" in prompt


def _answers_for(task: FollowUp, low: dict) -> dict:
    """Low answers to the task's own survey (a business event's survey may not be 网点服务)."""
    from app.services.surveys import definition_of

    defn = definition_of(task.version)
    answers: dict = {}
    for q in defn.questions:
        name = f"q_{q.id}"
        if q.type == "rating":
            answers[name] = "1"
        elif q.type == "nps":
            answers[name] = "0"
        elif q.type == "ces":
            answers[name] = "1"
        elif q.type == "single":
            answers[name] = q.options[0].value
        elif q.type == "multiple":
            answers[name] = [q.options[0].value]
        elif q.type == "matrix":
            for item in q.items:
                answers[f"{name}__{item.id}"] = "1"
        elif q.type == "text":
            answers[name] = "不满意"
    return answers or low


# --- finding 9: the anonymous campaign's link and QR code ---------------------------------------


def _anonymous_campaign(name: str = "网点平板二维码调查") -> Campaign:
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    now = utcnow()
    data = campaigns.CampaignInput(
        name=name, survey_id=survey.id, channel="sms", audience="anonymous",
        window_start=now - timedelta(hours=1), window_end=now + timedelta(days=7),
        once_per_device=False,
    )  # fmt: skip
    return campaigns.create_campaign(data, actor=None)


def test_an_anonymous_campaign_shows_its_link_to_copy_and_its_qr_code(client, auth):
    campaign = _anonymous_campaign("网点/平板:二维码")
    link = campaigns.public_link(campaign)
    auth.login("hq")
    page = client.get(f"/manager/campaigns/{campaign.id}").text
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "<dt>渠道</dt><dd>公开链接（不发送消息）</dd>" in facts and "短信" not in facts
    assert "发送窗口" not in facts and "作答截止" in facts
    # the link in a read-only box with a copy button (copy_text.js shows it)
    assert f'<input id="public-link" class="mono" type="text" value="{link}" readonly>' in page
    assert 'data-copy="public-link"' in page and "data-copy-status" in page
    assert "/static/js/copy_text.js" in page
    # the QR code on the page, and its downloads
    qr = f"/manager/campaigns/{campaign.id}/qr"
    assert f'<img src="{qr}.svg"' in page and 'alt="公开链接的二维码' in page
    assert f'href="{qr}.svg?download=1"' in page and f'href="{qr}.png?download=1"' in page
    assert "活动已结束" not in page

    svg = client.get(f"{qr}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data == qr_code(link, "svg")  # the code of this campaign's link
    assert b"<svg" in svg.data and b'viewBox="' in svg.data and b'width="' in svg.data
    assert "Content-Disposition" not in svg.headers  # shown in the page
    png = client.get(f"{qr}.png?download=1")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
    disposition = png.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="campaign-{campaign.id}-qr.png"')
    # the campaign's name, with the characters a file name cannot carry replaced
    assert "filename*=UTF-8''" in disposition
    from urllib.parse import unquote

    assert unquote(disposition.split("UTF-8''")[1]) == "网点_平板_二维码-二维码.png"
    download = client.get(f"{qr}.svg?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")

    listing = client.get("/manager/campaigns").text
    row = listing.split(f"/manager/campaigns/{campaign.id}")[1].split("</tr>")[0]
    assert ">公开链接</span>" in row and "短信" not in row  # (the list's short form)


def test_the_qr_code_is_head_office_only_and_only_for_a_public_link(client, auth, db_session):
    campaign = _anonymous_campaign()
    for who in ("agent", "manager"):
        auth.login(who)
        assert client.get(f"/manager/campaigns/{campaign.id}/qr.svg").status_code == 403
        auth.logout()
    assert client.get(f"/manager/campaigns/{campaign.id}/qr.png").status_code == 302  # sign in
    auth.login("hq")
    sms = db_session.scalar(
        select(Campaign).where(Campaign.audience != "anonymous").order_by(Campaign.id).limit(1)
    )
    if sms is not None:  # (the demo bank's campaigns send messages)
        assert client.get(f"/manager/campaigns/{sms.id}/qr.svg").status_code == 404
        page = client.get(f"/manager/campaigns/{sms.id}").text
        assert "public-link" not in page and "/qr.svg" not in page
    assert client.get("/manager/campaigns/987654321/qr.svg").status_code == 404


def test_a_closed_anonymous_campaign_says_its_link_takes_no_more_answers(client, auth):
    campaign = _anonymous_campaign()
    campaigns.close_campaign(campaign.id)
    auth.login("hq")
    page = client.get(f"/manager/campaigns/{campaign.id}").text
    assert "活动已结束：此链接和二维码不再接受作答" in page
