"""The survey designer for bank staff: every definition fault at once, snippets that validate,
a field cheat-sheet, and actions grouped with confirmations (no inline scripts)."""

from __future__ import annotations

import re
from html import unescape

from surveys import load_definition
from surveys.snippets import ID, SNIPPETS
from tests.support import csrf_token

TYPES = "题型（type）只能是 rating、nps、ces、single、multiple、text、matrix 之一"


def new_draft(client, auth, code: str, template: str = "branch-service") -> tuple[str, str]:
    """A fresh draft from a template: its edit URL and a CSRF token."""
    auth.login("hq")
    token = csrf_token(client.get("/manager/surveys").get_data(as_text=True))
    made = client.post(
        "/manager/surveys", data={"csrf_token": token, "template": template, "code": code}
    )
    assert made.status_code == 302
    return made.headers["Location"], token


def definition_text(html: str) -> str:
    text = html.split('name="definition"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    return unescape(text).lstrip("\r\n")  # (the newline WTForms puts after <textarea>)


def save(client, url: str, token: str, text: str, title: str = "网点服务调查"):
    return client.post(
        url, data={"csrf_token": token, "title": title, "description": "", "definition": text}
    )


def error_box(html: str) -> str:
    return html.split('id="definition-error"', 1)[1].split("</div>", 1)[0]


def test_every_faulty_question_is_listed_at_once_with_its_line(client, auth):
    url, token = new_draft(client, auth, "bs-many-errors")
    text = definition_text(client.get(url).get_data(as_text=True))
    broken = text.replace("type: single", "type: singel", 1).replace(
        "type: multiple", "type: multi", 1
    )
    broken = broken.replace("    title: 总体而言", "    titel: 总体而言", 1)
    lines = broken.splitlines()
    page = save(client, url, token, broken)
    assert page.status_code == 400
    box = error_box(page.get_data(as_text=True))
    assert "问卷定义有 4 处需要修改" in box
    item = r'<li><span class="error">(.*?)</span>\s*(?:<button[^>]*data-goto-line="(\d+)")?'
    listed = re.findall(item, box, re.S)
    messages = [unescape(m) for m, _ in listed]
    goto = [int(n) for _, n in listed]
    assert goto == sorted(goto)  # in the order of the text
    assert messages == [
        "第 1 题（overall）：题目文字（title）未填写",
        "第 1 题（overall）：本题中有不支持的字段“titel”（是否应为 title？请检查拼写和缩进）",
        f"第 3 题（wait_time 本次办理业务，您大约等候了多长时…）：{TYPES}（是否应为 single？）",
        f"第 6 题（improve 您认为我们最需要在哪些方面改进？）：{TYPES}（是否应为 multiple？）",
    ]
    assert lines[goto[1] - 1].strip().startswith("titel:")
    assert lines[goto[2] - 1].strip() == "type: singel"
    assert lines[goto[3] - 1].strip() == "type: multi"
    assert all(f"定位到第 {n} 行" in box for n in goto)
    assert definition_text(page.get_data(as_text=True)) == broken  # kept, to be mended


def test_a_yaml_syntax_error_is_one_problem_with_its_line(client, auth):
    url, token = new_draft(client, auth, "bs-yaml-error")
    text = definition_text(client.get(url).get_data(as_text=True))
    page = save(client, url, token, text.replace("  - id: nps", "  - id: nps: x", 1))
    box = error_box(page.get_data(as_text=True))
    assert page.status_code == 400 and "YAML 格式错误" in box
    assert "处需要修改" not in box and box.count("data-goto-line") == 1


def test_each_snippet_as_rendered_saves_when_appended_to_the_draft(client, auth):
    url, token = new_draft(client, auth, "cc-snippets", template="credit-card")
    html = client.get(url).get_data(as_text=True)
    buttons = re.findall(r'data-snippet="([^"]*)" data-id-base="([^"]*)"', html)
    assert [(unescape(t), b) for t, b in buttons] == [(s.text, s.id_base) for s in SNIPPETS]
    text = definition_text(html)
    for n, (snippet, base) in enumerate(buttons):
        text = text.rstrip("\n") + "\n" + unescape(snippet).replace(ID, f"{base}_{n}")
    assert save(client, url, token, text, title="信用卡服务调查").status_code == 302
    saved = definition_text(client.get(url).get_data(as_text=True))
    assert saved.count("- id: ") == text.count("- id: ")


def test_the_cheat_sheets_show_if_examples_are_valid(client, auth):
    url, _ = new_draft(client, auth, "bs-cheatsheet")
    html = client.get(url).get_data(as_text=True)
    sheet = html.split('<details class="sv-cheatsheet">', 1)[1].split("</details>", 1)[0]
    examples = [unescape(e) for e in re.findall(r"<code>(show_if: \{.*?\})</code>", sheet)]
    assert len(examples) >= 2
    for example in examples:
        text = (
            "code: s\ntitle: t\nquestions:\n"
            "  - {id: overall, type: rating, title: 满意吗}\n"
            "  - {id: nps, type: nps, title: 推荐吗}\n"
            "  - id: channel\n    type: single\n    title: 渠道\n"
            "    options: [{value: app, label: App}, {value: other, label: 其他, other: true}]\n"
            f"  - id: why\n    type: text\n    title: 为什么\n    {example}\n"
        )
        assert load_definition(text).questions[-1].show_if is not None, example
    for field in ("type", "title", "required", "options", "show_if", "metric"):
        assert f"<code>{field}</code>" in sheet


def test_actions_are_grouped_confirmed_and_clone_has_its_own_box(client, auth):
    url, token = new_draft(client, auth, "bs-actions")
    survey_id = url.rstrip("/").rsplit("/", 1)[1]
    html = client.get(url).get_data(as_text=True)
    actions = html.split('class="sv-actions"', 1)[1].split("</div>", 1)[0]
    assert 'form="draft-form"' in actions and "保存草稿" in actions
    assert f'href="/manager/surveys/{survey_id}/preview" target="_blank"' in actions
    assert f'action="/manager/surveys/{survey_id}/publish"' in actions
    confirm = unescape(re.search(r'data-confirm="([^"]*)"', actions).group(1))
    assert confirm.startswith("确定发布第 1 版吗？") and "已保存的草稿" in confirm
    assert "新问卷代码" not in actions and "复制为新问卷" not in actions
    clone = html.split('class="panel sv-clone"', 1)[1]
    assert '<label class="label" for="code">新问卷代码</label>' in clone
    assert "/clone" in clone
    for script in ("confirm.js", "survey_editor.js"):
        assert f"/static/js/{script}" in html
        with client.get(f"/static/js/{script}") as served:
            assert served.status_code == 200
    assert client.post(f"/manager/surveys/{survey_id}/publish", data={"csrf_token": token})
    html = client.get(url).get_data(as_text=True)
    actions = html.split('class="sv-actions"', 1)[1].split("</div>", 1)[0]
    closing = unescape(re.search(r'data-confirm="([^"]*)"', actions).group(1))
    assert closing.startswith("确定关闭问卷") and "已发出的链接在有效期内仍可作答" in closing
    assert "关闭问卷" in actions and "/publish" not in actions
    assert "survey_editor.js" not in html and "confirm.js" in html

    client.post(f"/manager/surveys/{survey_id}/reopen", data={"csrf_token": token})
    html = client.get(url).get_data(as_text=True)
    confirm = unescape(re.search(r'data-confirm="([^"]*)"', html).group(1))
    assert confirm.startswith("确定发布第 2 版吗？") and "仍使用原来的第 1 版" in confirm


def test_revise_close_republish_and_clone_say_what_happened(client, auth):
    url, token = new_draft(client, auth, "bs-states")
    survey_id = url.rstrip("/").rsplit("/", 1)[1]

    def act(action: str, **data: str) -> str:
        done = client.post(
            f"/manager/surveys/{survey_id}/{action}",
            data={"csrf_token": token, **data},
            follow_redirects=True,
        )
        assert done.status_code == 200
        return done.get_data(as_text=True)

    assert "已发布第 1 版" in act("publish")
    act("close")
    assert "问卷仍处于关闭状态，发布新版本后才会重新发出邀请" in act("reopen")
    assert "内容与第 1 版相同，未生成新版本；问卷已恢复发布" in act("publish")
    assert "已进入修订，发布前仍使用上一版" in act("reopen")
    # a code over 40 characters: said, not "请填写新问卷代码"
    page = act("clone", code="x" * 60)
    assert "问卷代码最长 40 个字符" in page and "请填写新问卷代码" not in page


def test_a_survey_can_start_blank(client, auth, db_session):
    """Only the five templates were offered: a survey built from scratch meant deleting every
    template question and silently kept the template's settings (anonymous answers allowed)."""
    from sqlalchemy import select

    from app.models import Survey

    url, _ = new_draft(client, auth, "fresh-start", template="blank")
    page = client.get(url).get_data(as_text=True)
    text = definition_text(page)  # (title and description are fields of their own)
    defn = load_definition(text + "title: 新建问卷\n")
    assert [q.id for q in defn.questions] == ["overall"]
    assert "anonymous_allowed" not in text
    survey = db_session.scalar(select(Survey).where(Survey.code == "fresh-start"))
    assert survey.template_code is None and survey.title == "新建问卷"
    listed = client.get("/manager/surveys").get_data(as_text=True)
    assert re.search(
        r'<option (selected )?value="blank"( selected)?>空白问卷（从一道满意度评分题开始）', listed
    )
    # the placeholder title is not for customers: the page says so and publishing refuses it
    assert "标题仍是“新建问卷”，客户会看到问卷标题" in page
    token = csrf_token(page)
    refused = client.post(f"/manager/surveys/{survey.id}/publish", data={"csrf_token": token})
    after = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "问卷标题仍是“新建问卷”，客户会在问卷页面看到这个标题" in after
    db_session.refresh(survey)
    assert survey.status == "draft" and not survey.versions
