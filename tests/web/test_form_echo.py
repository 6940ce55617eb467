"""A refused form shows back what was posted only up to each field's own limit: a crafted request
with 60,000 characters in a 3,000-character complaint text got them all back beside "too long"
(400), as did the survey form's "其他（请注明）" text (422). A text a browser could have sent
(line breaks counted once, as the browser counts them) still comes back whole."""

from __future__ import annotations

import re
from html import unescape

from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import Length

from app.web.forms import SHORT_ECHO, BaseForm
from tests import factories
from tests.support import csrf_token

LONG = 60_000


def _textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return unescape(found.group(1)).lstrip("\r\n")


def _input_value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    return unescape(re.search(r'value="([^"]*)"', tag).group(1))


class _Probe(BaseForm):
    class Meta:
        csrf = False

    short = StringField(validators=[Length(max=10)])
    note = TextAreaField(validators=[Length(max=10)])
    given = TextAreaField(render_kw={"maxlength": 12})
    free = TextAreaField()  # (no limit: e.g. a survey's YAML definition, shown back whole)
    amount = IntegerField()
    back = HiddenField()


def test_each_field_shows_back_at_most_its_own_limit(app):
    posted = {
        "short": "s" * LONG,
        "note": "n" * LONG,
        "given": "g" * LONG,
        "free": "f" * LONG,
        "amount": "9" * LONG,
        "back": "b" * LONG,
    }
    with app.test_request_context(method="POST", data=posted):
        form = _Probe(formdata=MultiDict(posted))
        assert not form.validate()
        assert _input_value(str(form.short()), "short") == "s" * 10
        assert _textarea(str(form.note()), "note") == "n" * 10
        assert _textarea(str(form.given()), "given") == "g" * 12
        assert _textarea(str(form.note(maxlength=5)), "note") == "n" * 5  # (as rendered)
        assert _textarea(str(form.free()), "free") == "f" * LONG
        assert _input_value(str(form.amount()), "amount") == "9" * SHORT_ECHO
        assert _input_value(str(form.back()), "back") == "b" * SHORT_ECHO
        assert form.note.data == "n" * LONG  # (only the echo is cut, not what was validated)


def test_a_text_the_browser_let_through_comes_back_whole(app):
    typed = "第一行\r\n第二行\r\n三"  # 9 characters as the browser counts them, 11 as sent
    with app.test_request_context(method="POST", data={"note": typed}):
        form = _Probe(formdata=MultiDict({"note": typed, "short": "x" * 11}))
        assert not form.validate()
        assert _textarea(str(form.note()), "note") == "第一行\n第二行\n三"


def _complaint_data(client, **fields) -> dict:
    page = client.get("/complaint").get_data(as_text=True)
    return {
        "csrf_token": csrf_token(page),
        "name": "吴敏",
        "phone": "13700005678",
        "branch_code": "",
        "content": "信用卡年费被重复扣收，要求退还。",
        "consent": "y",
        **fields,
    }


def test_the_public_complaint_form_shows_back_a_too_long_text_cut_to_its_limit(client):
    data = _complaint_data(client, content="x" * LONG, demand="y" * LONG, name="周" * 5000)
    refused = client.post("/complaint", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "请用 10–3000 字描述问题经过" in html
    assert _textarea(html, "content") == "x" * 3000
    assert _textarea(html, "demand") == "y" * 1000
    assert _input_value(html, "name") == "周" * 50
    assert len(html) < 30_000

    # a form whose security token went stale comes back too (not validated): the same limit
    data["csrf_token"] = "stale"
    stale = client.post("/complaint", data=data)
    html = stale.get_data(as_text=True)
    assert stale.status_code == 400 and "安全校验失败" in html
    assert _textarea(html, "content") == "x" * 3000


def test_a_manager_form_shows_back_its_texts_cut_to_their_limits(client, auth):
    auth.login("hq")
    page = client.get("/manager/improvements/new").get_data(as_text=True)
    refused = client.post(
        "/manager/improvements/new",
        data={
            "csrf_token": csrf_token(page),
            "title": "T" * LONG,
            "description": "D" * LONG,
            "window_days": "7" * LONG,
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert _input_value(html, "title") == "T" * 200
    assert _textarea(html, "description") == "D" * 5000
    assert _input_value(html, "window_days") == "7" * SHORT_ECHO


def test_the_survey_form_shows_back_an_other_text_cut_to_its_limit(client):
    token, _ = factories.survey_link("ECHO-0001")
    refused = client.post(
        f"/s/{token}",
        data={
            "q_nps": "2",  # (the required overall rating left out: the form comes back, 422)
            "q_improve": ["other"],
            "q_improve__other": "z" * LONG,
            "q_comment": "c" * LONG,
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _input_value(html, "q_improve__other") == "z" * 200
    assert _textarea(html, "q_comment") == "c" * 500
    assert "z" * 201 not in html and "c" * 501 not in html
