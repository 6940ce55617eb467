"""The form-based survey designer's server side: the data the page starts from, saving the
form's data as YAML through the same checks as the YAML view, and the two conversions used
when staff switch views."""

from __future__ import annotations

import copy
import json
import re
from html import unescape

import pytest

from app.extensions import db
from app.models import Survey
from surveys import load_definition
from surveys.schema import read_yaml
from surveys.yaml_out import dump_definition
from tests.support import csrf_token
from tests.web.test_survey_designer import definition_text, new_draft


def designer(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="sb-data">(.*?)</script>', html, re.S)
    assert found, "the edit page carries the designer's data"
    return json.loads(unescape(found.group(1)))


def save_form(client, url: str, token: str, data, title: str = "网点服务调查"):
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return client.post(
        url,
        data={
            "csrf_token": token,
            "title": title,
            "description": "",
            "definition": "code: stale-yaml-box",  # (the hidden YAML box is not what counts)
            "definition_json": payload,
        },
    )


def draft_row(url: str) -> Survey:
    db.session.expire_all()
    return db.session.get(Survey, int(url.rstrip("/").rsplit("/", 1)[1]))


def post_json(client, url: str, token: str, body):
    return client.post(
        url,
        data=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )


def test_the_page_gives_the_form_the_draft_as_data_without_title_or_description(client, auth):
    url, _ = new_draft(client, auth, "fd-start")
    html = client.get(url).get_data(as_text=True)
    start = designer(html)
    assert start["data"] == read_yaml(definition_text(html))
    assert "title" not in start["data"] and start["data"]["code"] == "fd-start"
    assert start["mode"] == "" and start["problems"] == [] and start["locked"] == []
    assert start["locked_codes"] == {}
    # one question template per type, as the YAML view's snippets, with their example words
    types = [t["question"]["type"] for t in start["templates"]]
    assert sorted(types) == sorted(["single", "multiple", "rating", "nps", "ces", "matrix", "text"])
    assert all(t["question"]["title"] and t["label"] for t in start["templates"])


def test_saving_from_the_form_stores_the_data_written_out_as_yaml(client, auth):
    url, token = new_draft(client, auth, "fd-save")
    data = designer(client.get(url).get_data(as_text=True))["data"]
    data["questions"][0]["title"] = "总体而言，您对今天的服务满意吗？"
    data["questions"].append(
        {
            "id": "channel",
            "type": "single",
            "title": "您是通过哪个渠道预约的？",
            "options": [{"label": "手机银行", "value": "app"}, {"label": "电话", "value": "phone"}],
            "show_if": {"question": data["questions"][0]["id"], "op": "lte", "value": 3},
        }
    )
    saved = save_form(client, url, token, data)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    row = draft_row(url)
    assert row.draft_text == dump_definition(data)
    defn = load_definition({**read_yaml(row.draft_text), "title": row.title})
    assert defn.questions[0].title == "总体而言，您对今天的服务满意吗？"
    assert defn.questions[-1].id == "channel" and defn.questions[-1].show_if is not None
    # the YAML view shows the same text, in the templates' layout
    text = definition_text(client.get(url).get_data(as_text=True))
    assert "      - {value: app, label: 手机银行}\n" in text
    assert f"    show_if: {{question: {data['questions'][0]['id']}, op: lte, value: 3}}\n" in text


def test_a_refused_form_save_keeps_the_posted_form_and_points_at_the_question(client, auth):
    url, token = new_draft(client, auth, "fd-refused")
    before = draft_row(url).draft_text
    data = designer(client.get(url).get_data(as_text=True))["data"]
    edited = copy.deepcopy(data)
    edited["questions"][2]["title"] = ""
    edited["questions"][4]["options"] = edited["questions"][4].get("options", [])[:1]
    edited["questions"].append({"id": "late", "type": "text", "title": "还有什么想说的？"})
    page = save_form(client, url, token, edited)
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    again = designer(html)
    assert again["mode"] == "form" and again["data"] == edited  # nothing typed is lost
    assert {p["question"] for p in again["problems"]} >= {2}
    assert all(p["message"].startswith(f"第 {p['question'] + 1} 题") for p in again["problems"])
    assert 'data-goto-question="2"' in html and "定位到第 3 题" in html
    assert draft_row(url).draft_text == before  # nothing half-saved


def test_a_type_change_of_a_published_question_is_refused_from_the_form_too(client, auth):
    url, token = new_draft(client, auth, "fd-locked")
    survey_id = url.rstrip("/").rsplit("/", 1)[1]
    assert client.post(f"/manager/surveys/{survey_id}/publish", data={"csrf_token": token})
    client.post(f"/manager/surveys/{survey_id}/reopen", data={"csrf_token": token})
    start = designer(client.get(url).get_data(as_text=True))
    ids = [q["id"] for q in start["data"]["questions"]]
    assert start["locked"] == sorted(ids)  # the form keeps their ids and types fixed
    data = start["data"]
    # ... and the codes their answers are filed under: option values and matrix item ids
    expected = {
        q["id"]: sorted(str(row.get("value", row.get("id"))) for row in rows)
        for q in data["questions"]
        if (rows := q.get("options", []) + q.get("items", []))
    }
    assert start["locked_codes"] == expected and expected
    rating = next(i for i, q in enumerate(data["questions"]) if q["type"] == "rating")
    data["questions"][rating]["type"] = "nps"
    data["questions"][rating].pop("metric", None)
    page = save_form(client, url, token, data)
    assert page.status_code == 400
    problems = designer(page.get_data(as_text=True))["problems"]
    assert [p["question"] for p in problems] == [rating]
    assert "不能改为推荐度题（0–10 分）" in problems[0]["message"]


def test_form_data_that_is_not_a_definition_is_refused_with_a_message(client, auth):
    url, token = new_draft(client, auth, "fd-garbage")
    before = draft_row(url).draft_text
    deep = (
        '{"code": "fd-garbage", "questions": [{"id": "q", "show_if": '
        + "[" * 5000
        + "]" * 5000
        + "}]}"
    )
    for payload in ("{not json", "[1, 2]", '"text"', '{"questions": [1]}', deep):
        page = save_form(client, url, token, payload)
        assert page.status_code == 400
        assert "表单内容无法读取" in page.get_data(as_text=True)
    assert draft_row(url).draft_text == before


def test_conditions_nested_as_deep_as_the_engine_allows_open_in_the_form():
    """Five nested all/any groups around an "in" condition are a valid draft: the form must
    open it (it refused drafts more than three groups deep, sending staff to the YAML)."""
    from app.services import surveys as survey_service

    condition: dict = {"question": "pick", "op": "in", "value": ["a", "b"]}
    for mode in ("all", "any", "all", "any", "all"):
        condition = {mode: [condition, {"question": "pick", "op": "answered"}]}
    data = {
        "code": "fd-deep",
        "questions": [
            {"id": "pick", "type": "single", "title": "选一个", "options": _options("a", "b")},
            {"id": "why", "type": "text", "title": "原因", "show_if": condition},
        ],
    }
    text = dump_definition({**data, "title": "深层条件"})
    load_definition(text)  # the engine takes it
    assert survey_service.designer_data(text) == data
    assert read_yaml(survey_service.designer_text(json.dumps(data))) == data
    too_deep = {"questions": [{"id": "q", "show_if": {"all": [condition]}}]}
    with pytest.raises(survey_service.DefinitionInvalid):
        survey_service.designer_text(json.dumps({**data, **too_deep}))


def _options(*values: str) -> list[dict]:
    return [{"value": v, "label": f"选项{v}"} for v in values]


def test_switching_views_converts_on_the_server(client, auth):
    url, token = new_draft(client, auth, "fd-switch")
    text = definition_text(client.get(url).get_data(as_text=True))
    to_form = post_json(client, url + "/definition/data", token, {"text": text})
    assert to_form.status_code == 200
    data = to_form.get_json()["data"]
    assert data == read_yaml(text)
    to_yaml = post_json(client, url + "/definition/text", token, data)
    assert to_yaml.status_code == 200
    assert read_yaml(to_yaml.get_json()["text"]) == data

    broken = post_json(client, url + "/definition/data", token, {"text": "code: x\n  - : :"})
    assert broken.status_code == 422
    error = broken.get_json()["error"]
    assert "YAML 格式错误" in error["message"] and error["line"]
    # (a date that cannot be, and a binary value, gave an HTML 500 where JSON was expected)
    late = post_json(client, url + "/definition/data", token, {"text": text + "intro: 2026-02-30"})
    assert late.status_code == 200 and late.get_json()["data"]["intro"] == "2026-02-30"
    binary = post_json(client, url + "/definition/data", token, {"text": "a: !!binary aGk="})
    assert (
        binary.status_code == 422
        and "不支持 YAML 的 binary" in binary.get_json()["error"]["message"]
    )
    odd = post_json(client, url + "/definition/data", token, {"text": "questions: 3"})
    assert odd.status_code == 422 and "无法用表单显示" in odd.get_json()["error"]["message"]
    assert post_json(client, url + "/definition/data", token, ["x"]).status_code == 400
    bad = post_json(client, url + "/definition/text", token, {"questions": "x"})
    assert bad.status_code == 422 and "表单内容无法读取" in bad.get_json()["error"]["message"]


def test_the_conversions_are_for_hq_on_drafts_only(client, auth):
    url, token = new_draft(client, auth, "fd-access")
    survey_id = url.rstrip("/").rsplit("/", 1)[1]
    assert client.post(f"/manager/surveys/{survey_id}/publish", data={"csrf_token": token})
    published = post_json(client, url + "/definition/data", token, {"text": "code: x"})
    assert (
        published.status_code == 409
        and published.get_json()["error"]["code"] == "invalid_transition"
    )
    no_token = client.post(url + "/definition/text", data="{}", content_type="application/json")
    assert no_token.status_code == 400  # CSRF
    auth.logout()
    auth.login("agent")
    agent_token = csrf_token(client.get("/", follow_redirects=True).get_data(as_text=True))
    denied = post_json(client, url + "/definition/data", agent_token, {"text": "code: x"})
    assert denied.status_code == 403


def test_a_form_save_refused_for_the_title_shows_the_forms_edits_in_the_yaml_view_too(client, auth):
    url, token = new_draft(client, auth, "fd-title")
    data = designer(client.get(url).get_data(as_text=True))["data"]
    data["questions"][0]["title"] = "改过的第一题"
    page = save_form(client, url, token, data, title="")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "请填写问卷标题" in html
    assert definition_text(html) == dump_definition(data)  # not the stale box the page sent
    assert designer(html)["data"] == data
