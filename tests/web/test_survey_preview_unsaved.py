"""预览 with unsaved changes: the edit page's fields are posted to the preview, which shows the
draft as it stands on the page (and checks a test submission against it) without storing it."""

from __future__ import annotations

import json
import re
from html import unescape

from tests.web.test_survey_designer import definition_text, new_draft
from tests.web.test_survey_form_designer import designer, draft_row

EXTRA = "  - id: booking\n    type: text\n    title: 您是怎么预约的？\n"


def preview_unsaved(client, url: str, token: str, **fields: str):
    data = {"csrf_token": token, "title": "网点服务调查", "description": "", "preview_unsaved": "1"}
    return client.post(url + "/preview", data={**data, **fields})


def carried(html: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="(preview_\w+)" value="([^"]*)">', html)
    return {name: unescape(value) for name, value in found}


def test_the_preview_shows_the_unsaved_draft_and_checks_answers_against_it(client, auth):
    url, token = new_draft(client, auth, "pv-unsaved")
    before = draft_row(url).draft_text
    text = definition_text(client.get(url).get_data(as_text=True)) + EXTRA
    page = preview_unsaved(client, url, token, definition=text, title="改过的标题")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "含编辑页上尚未保存的修改" in html
    assert "<h1>改过的标题</h1>" in html and "您是怎么预约的？" in html
    kept = carried(html)
    assert kept == {"preview_text": text, "preview_title": "改过的标题", "preview_description": ""}
    assert draft_row(url).draft_text == before  # nothing stored
    assert draft_row(url).title != "改过的标题"

    # a test submission from that page is checked against the same unsaved draft
    answered = client.post(url + "/preview", data={"csrf_token": token, **kept})
    assert answered.status_code == 200
    again = answered.get_data(as_text=True)
    assert 'href="#q-booking"' in again  # the new required question, unanswered
    assert carried(again) == kept
    assert draft_row(url).draft_text == before

    saved = client.get(url + "/preview").get_data(as_text=True)  # the link: the saved draft
    assert "您是怎么预约的？" not in saved and "尚未保存" not in saved


def test_the_form_designer_s_data_is_previewed_as_the_form_would_save_it(client, auth):
    url, token = new_draft(client, auth, "pv-form")
    data = designer(client.get(url).get_data(as_text=True))["data"]
    data["questions"][0]["title"] = "表单里改过的第一题"
    page = preview_unsaved(
        client, url, token, definition="code: stale", definition_json=json.dumps(data)
    )
    assert page.status_code == 200
    assert "表单里改过的第一题" in page.get_data(as_text=True)


def test_a_draft_that_cannot_be_previewed_says_why_and_stores_nothing(client, auth):
    url, token = new_draft(client, auth, "pv-refused")
    before = draft_row(url).draft_text
    text = definition_text(client.get(url).get_data(as_text=True))
    duplicate = text + "  - id: nps\n    type: text\n    title: 重复的编号\n"
    cases = [
        ({"definition": duplicate}, "重复"),
        ({"definition": text, "title": ""}, "请填写问卷标题"),
        ({"definition": text, "definition_json": "{not json"}, "表单内容无法读取"),
        ({"definition": "questions: [[["}, "YAML"),
    ]
    for fields, message in cases:
        page = preview_unsaved(client, url, token, **fields)
        assert page.status_code == 400, fields
        html = page.get_data(as_text=True)
        assert "无法预览" in html and message in html, (fields, html[-1500:])
    tampered = {"preview_text": duplicate, "preview_title": "x", "preview_description": ""}
    page = client.post(url + "/preview", data={"csrf_token": token, **tampered})
    assert page.status_code == 400 and "重复" in page.get_data(as_text=True)
    assert draft_row(url).draft_text == before


def test_the_edit_page_posts_its_fields_to_the_preview_in_a_new_window(client, auth):
    url, _ = new_draft(client, auth, "pv-page")
    html = client.get(url).get_data(as_text=True)
    form = html.split('id="draft-form"', 1)[1].split("</form>", 1)[0]
    button = re.search(r'<button[^>]*id="preview-unsaved"[^>]*>', form).group(0)
    assert 'formaction="' + url + '/preview"' in button and 'formtarget="_blank"' in button
    assert "含尚未保存的修改" in html
