"""What a customer's phone shows: the survey's length and scales, the way home from its message
pages, and a refused complaint form that names each field to fix."""

from __future__ import annotations

import re
from html import unescape

from tests import factories
from tests.support import csrf_token

HAPPY = {
    "q_overall": "5",
    "q_nps": "10",
    "q_wait_time": "lt10",
    **{f"q_aspects__{i}": "5" for i in ("attitude", "skill", "efficiency", "disclosure")},
    "q_aspects__environment": "5",
    "q_effort": "7",
}


def _link(ext: str) -> str:
    return "/s/" + factories.survey_link(ext)[0]


def _question(page: str, qid: str) -> str:
    return page.split(f'id="q-{qid}"', 1)[1].split("</fieldset>", 1)[0]


def test_survey_page_says_how_long_it_is_and_where_progress_will_show(client):
    page = unescape(client.get(_link("PHONE1")).get_data(as_text=True))
    # branch-service: six questions for everyone, the improvement question only after low scores
    assert "共 6 题（另有 1 题视回答而定）" in page
    bar = page.split('class="sv-submitbar"', 1)[1].split("</div>", 1)[0]
    assert 'id="sv-count"' in bar and "hidden" in bar and "提交问卷" in bar
    # the survey designer's toolbar class, whose card style covered the questions, is not used
    assert 'class="sv-actions"' not in page


def test_scales_word_their_ends_once_instead_of_under_every_narrow_button(client):
    page = unescape(client.get(_link("PHONE2")).get_data(as_text=True))
    for qid, ends in (("nps", ("0", "5", "10")), ("effort", ("1", "4", "7"))):
        question = _question(page, qid)
        row = question.split('class="sv-scale-ends"', 1)[1].split("</div>", 1)[0]
        assert re.findall(r'sv-end-num">(\d+) </span>', row) == list(ends)
        # every point keeps its word for screen readers, hidden from sight
        points = re.findall(r'class="sv-point-label( sv-vh)?"', question)
        assert points and all(points)
    words = _question(page, "effort").split('class="sv-scale-ends"', 1)[1].split("</div>", 1)[0]
    assert "非常不同意" in words and "一般" in words and "非常同意" in words
    assert "比较同意" not in words  # no word squeezed under a 44-px button
    rating = _question(page, "overall")
    assert "sv-scale-ends" not in rating and 'class="sv-point-label"' in rating  # 5 fit


def test_a_titles_mark_wraps_with_its_last_character_and_is_spoken_as_a_word(client):
    """On a phone a lone "*" or "（选填）" started a line of its own under a long title; and a
    screen reader read the "*" out as "星号" (an aria-label on a plain span is not read)."""
    link = _link("PHONE6")
    page = unescape(client.get(link).get_data(as_text=True))
    nps = _question(page, "nps").split("</legend>", 1)[0]
    assert '推荐我行的网点服务<span class="sv-title-end">？<span class="sv-req"' in nps
    mark = '<span class="sv-req" aria-hidden="true">*</span><span class="sv-vh">（必答）</span>'
    assert mark in nps
    comment = _question(page, "comment").split("</legend>", 1)[0]
    assert '<span class="sv-title-end">？<span class="sv-opt">（选填）</span></span>' in comment
    refused = unescape(client.post(link, data={}).get_data(as_text=True))
    tag = re.search(r'<fieldset[^>]*id="q-overall"[^>]*>', refused).group(0)
    assert 'aria-describedby="err-overall"' in tag  # the group is described by its error
    assert 'id="err-overall"' in _question(refused, "overall")
    assert "aria-describedby" not in re.search(r'<fieldset[^>]*id="q-overall"[^>]*>', page).group(0)


def test_an_unknown_link_offers_the_banks_home_page_when_it_is_configured(app, client, monkeypatch):
    assert "返回" not in client.get("/s/no-such-link-0123456789").get_data(as_text=True)
    monkeypatch.setitem(app.config, "BANK_NAME", "示例农商银行")
    monkeypatch.setitem(app.config, "BANK_HOME_URL", "https://www.bank.example/")
    page = client.get("/s/no-such-link-0123456789").get_data(as_text=True)
    assert "链接无效" in page
    assert 'href="https://www.bank.example/">返回示例农商银行首页</a>' in page


def test_an_unknown_or_refused_link_offers_the_hotline_and_the_complaint_form(
    app, client, monkeypatch
):
    """链接无效 said only "联系客户经理" (many customers have none): no number to call, no link."""
    unknown = client.get("/s/no-such-link-0123456789").get_data(as_text=True)
    help_line = unknown.split('class="sv-message-help"')[1].split("</p>")[0]
    assert "客户经理" not in unknown and 'href="/complaint"' in help_line
    assert "tel:" not in help_line  # (no hotline configured: no number to dial)
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "400-888-0000")
    monkeypatch.setitem(app.config, "SURVEY_LINK_MAX_FAILURES", 1)
    guesser = {"REMOTE_ADDR": "198.51.100.93"}  # (its own address: the block outlives the test)
    for page in (
        client.get("/s/no-such-link-0123456789", environ_base=guesser).text,
        client.get("/s/no-such-link-0123456789", environ_base=guesser).text,  # (now throttled)
    ):
        help_line = page.split('class="sv-message-help"')[1].split("</p>")[0]
        assert "客户经理" not in page and 'href="/complaint"' in help_line
        assert '<a href="tel:4008880000" style="white-space: nowrap">400-888-0000</a>' in help_line
    assert "访问过于频繁" in page


def test_answered_link_page_offers_the_banks_home_page(app, client, monkeypatch):
    link = _link("PHONE4")
    assert client.post(link, data=HAPPY).status_code == 200
    monkeypatch.setitem(app.config, "BANK_HOME_URL", "https://www.bank.example/")
    page = client.get(link).get_data(as_text=True)
    assert "您已提交过本问卷" in page and 'href="https://www.bank.example/"' in page


def test_an_expired_link_says_what_it_means_with_an_icon_every_phone_can_draw(client):
    token, issued = factories.survey_link("PHONE5")
    factories.expire_invitation(issued.invitation.id)
    gone = client.get(f"/s/{token}")
    page = gone.get_data(as_text=True)
    assert gone.status_code == 410 and "问卷已过期" in page
    assert "该问卷链接已过期，无法再提交答卷。感谢您的关注！" in page
    assert "<svg" in page and "⏱" not in page  # no emoji a phone may lack the font for


def test_refused_complaint_names_each_field_to_fix_with_a_link_to_it(client):
    page = client.get("/complaint").get_data(as_text=True)
    assert "请至少写 10 个字，最多 3000 字" in page  # said before, not only after a refusal
    refused = client.post(
        "/complaint",
        data={"csrf_token": csrf_token(page), "name": "吴敏", "content": "短", "branch_code": ""},
    )
    html = unescape(refused.get_data(as_text=True))
    assert refused.status_code == 400
    summary = html.split('id="pc-errors"', 1)[1].split("</div>", 1)[0]
    assert "请修改以下 3 项" in summary
    assert '<a href="#phone">手机号码：请填写手机号码，以便我们联系您</a>' in summary
    assert '<a href="#content">投诉内容：请用 10–3000 字描述问题经过</a>' in summary
    assert '<a href="#consent">个人信息使用同意：须同意后才能提交</a>' in summary
    assert "#name" not in summary  # filled in, nothing to fix
    consent = html.split('class="field cp-check pc-consent', 1)[1].split("</div>", 1)[0]
    assert "须同意后才能提交" in consent  # the refusal sits in the box's own field


def test_a_complaint_sent_from_an_expired_page_comes_back_filled_in_with_a_fresh_token(
    app, client, db_session
):
    """A customer who wrote a complaint and sent it hours later (the session gone) got a bare
    "400 请求有误 … 请刷新页面" page, the text written lost; now the form comes back as filled
    in, says nothing was submitted, and the next press of the button files it."""
    from sqlalchemy import func, select

    from app.models import Complaint

    count = lambda: db_session.scalar(select(func.count()).select_from(Complaint))  # noqa: E731
    before = count()
    entries = {
        "name": "吴敏",
        "phone": "137 0000 1234",
        "branch_code": "HZ02",
        "content": "上周在滨江支行办理转账，等了一个多小时也没人解释原因。",
        "demand": "希望改进叫号",
        "consent": "y",
    }
    stale = client.post("/complaint", data={"csrf_token": "expired-token", **entries})
    html = unescape(stale.get_data(as_text=True))
    assert stale.status_code == 400 and count() == before
    assert "安全校验失败（页面停留时间过长），投诉尚未提交" in html
    assert "请核对后再次点击“提交投诉”" in html
    assert "上周在滨江支行办理转账，等了一个多小时也没人解释原因。</textarea>" in html
    assert 'value="13700001234"' in html and '<option selected value="HZ02">' in html
    assert "请刷新页面" not in html and 'class="error-code"' not in html
    again = client.post("/complaint", data={"csrf_token": csrf_token(html), **entries})
    assert again.status_code == 201 and count() == before + 1


def test_a_progress_lookup_from_an_expired_page_keeps_what_was_typed(client):
    stale = client.post(
        "/complaint/progress", data={"reference": "TS20261201-000123", "phone": "13700001234"}
    )
    html = unescape(stale.get_data(as_text=True))
    assert stale.status_code == 400 and "安全校验失败（页面停留时间过长），查询尚未提交" in html
    assert 'value="TS20261201-000123"' in html and 'value="13700001234"' in html


def test_a_refused_fields_error_is_tied_to_its_box_for_screen_readers(client):
    """The number and e-mail boxes were drawn by hand, without aria-invalid; no field's error
    was tied to its box, so a screen reader on the box said nothing of what was wrong."""
    page = client.get("/complaint").get_data(as_text=True)
    refused = client.post(
        "/complaint",
        data={"csrf_token": csrf_token(page), "name": "吴敏", "phone": "123", "email": "abc"},
    )
    html = unescape(refused.get_data(as_text=True))
    phone = re.search(r'<input[^>]*id="phone"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in phone and 'aria-describedby="phone-hint phone-error"' in phone
    assert 'inputmode="tel"' in phone and 'autocomplete="tel"' in phone
    assert '<div id="phone-error"><p class="error">请填写 11 位手机号码</p></div>' in html
    content = re.search(r'<textarea[^>]*id="content"[^>]*>', html).group(0)
    assert 'aria-describedby="content-hint content-error"' in content
    consent = re.search(r'<input[^>]*id="consent"[^>]*>', html).group(0)
    assert 'aria-describedby="consent-error"' in consent
    name = re.search(r'<input[^>]*id="name"[^>]*>', html).group(0)
    assert "aria-invalid" not in name and 'autocomplete="name"' in name
    lookup = client.get("/complaint/progress").get_data(as_text=True)
    reference = re.search(r'<input[^>]*id="reference"[^>]*>', lookup).group(0)
    assert 'autocapitalize="characters"' in reference and 'spellcheck="false"' in reference


def test_the_forms_hints_stay_in_sight_while_typing(client):
    """用于告知处理结果 and 请勿填写银行卡密码或验证码 were placeholders: gone at the first
    keystroke, the warning with them. They are hints under the boxes now, read with them (as the
    progress lookup's example is)."""
    page = unescape(client.get("/complaint").get_data(as_text=True))
    assert not re.findall(r'placeholder="[^"]+"', page)
    for box, hint in (
        ("phone", "用于发送受理回执、告知处理结果，查询处理进度时也需填写"),
        ("content", "请勿填写银行卡密码或验证码"),
        ("demand", "您希望我们如何处理"),
    ):
        tag = re.search(rf'<(?:input|textarea)[^>]*id="{box}"[^>]*>', page).group(0)
        assert f'aria-describedby="{box}-hint"' in tag, box
        shown = re.search(rf'<p class="hint" id="{box}-hint">([^<]+)</p>', page)
        assert shown and hint in shown[1], box
