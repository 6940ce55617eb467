"""The survey submission fast path (app/web/public/fast_submit.py): a plain customer
submission is answered without the Flask view, exactly as the view answers it; everything else
reaches the view, which answers as it always has, once."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask import request_started
from sqlalchemy import func, select, update
from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app
from app.extensions import db
from app.models import Invitation, RateLimitCounter, utcnow
from app.models.survey_response import Intake as SurveyIntake
from app.web.public import survey
from app.web.public.fast_submit import SubmissionFastPath
from tests import factories
from tests.web.test_survey_pages import ANSWERS

FORM = "application/x-www-form-urlencoded"
BODY = urlencode(ANSWERS, doseq=True)


@contextmanager
def views_run(app):
    """How many requests reached Flask's dispatch (the fast path never does)."""
    seen: list[str] = []

    def note(sender, **extra):
        seen.append("view")

    with request_started.connected_to(note, app):
        yield seen


def post(client, token, body=BODY, **kwargs):
    kwargs.setdefault("content_type", FORM)
    return client.post(f"/s/{token}", data=body, **kwargs)


def stored(invitation_id):
    return db.session.scalar(
        select(func.count(SurveyIntake.id)).where(SurveyIntake.invitation_id == invitation_id)
    )


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_plain_submission_skips_the_view_and_matches_its_answer(app, client, scheme):
    where = {"base_url": f"{scheme}://localhost"}
    token, issued = factories.survey_link("FAST01")
    with views_run(app) as seen:
        fast = post(client, token, **where)
    assert seen == []  # the fast path answered
    assert fast.status_code == 200 and "提交成功" in fast.text
    assert stored(issued.invitation.id) == 1

    other_token, other = factories.survey_link("FAST02")
    app.config["SURVEY_FAST_PATH"] = False
    try:
        with views_run(app) as seen:
            viewed = post(client, other_token, **where)
    finally:
        app.config["SURVEY_FAST_PATH"] = True
    assert seen == ["view"]
    assert stored(other.invitation.id) == 1
    assert viewed.status_code == fast.status_code and viewed.data == fast.data
    assert sorted(viewed.headers.items()) == sorted(fast.headers.items())
    assert fast.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert fast.headers["Cache-Control"] == "no-store"
    assert fast.headers["Referrer-Policy"] == "no-referrer"
    assert ("Strict-Transport-Security" in fast.headers) == (scheme == "https")


def test_every_other_outcome_is_the_views_answer(app, client):
    answered_token, answered = factories.survey_link("FAST03")
    assert post(client, answered_token).status_code == 200
    expired_token, expired = factories.survey_link("FAST04")
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == expired.invitation.id)
        .values(expires_at=utcnow() - timedelta(hours=1))
    )
    invalid_token, invalid = factories.survey_link("FAST05")
    with views_run(app) as seen:
        again = post(client, answered_token)
        gone = post(client, expired_token)
        bad = post(client, invalid_token, urlencode({**ANSWERS, "q_overall": "9"}, doseq=True))
    assert seen == ["view"] * 3
    assert again.status_code == 200 and "您已提交过本问卷" in again.text
    assert gone.status_code == 410 and "已过期" in gone.text
    assert bad.status_code == 422 and 'name="q_overall"' in bad.text
    assert stored(answered.invitation.id) == 1
    assert stored(expired.invitation.id) == stored(invalid.invitation.id) == 0


def test_invalid_answers_come_back_on_the_form_with_the_customers_text(client):
    token, issued = factories.survey_link("FAST06")
    body = urlencode({**ANSWERS, "q_overall": "9", "q_comment": "窗口太少了"}, doseq=True)
    page = post(client, token, body)
    assert page.status_code == 422 and "窗口太少了" in page.text
    assert stored(issued.invitation.id) == 0


def test_a_wrong_token_is_counted_once(app, client):
    address = {"REMOTE_ADDR": "203.0.113.77"}
    with views_run(app) as seen:
        missing = post(client, "nosuchtoken0000000000000000000", environ_base=address)
    assert seen == ["view"] and missing.status_code == 404 and "链接无效" in missing.text
    hits = db.session.scalar(
        select(RateLimitCounter.hits).where(RateLimitCounter.key == "survey-link:203.0.113.77")
    )
    assert hits == 1


def test_a_throttled_address_still_submits_a_valid_link_once(app, client):
    """A throttled address goes to the view, which answers a right link (customers share
    addresses) and refuses wrong ones; the answer is stored once."""
    token, issued = factories.survey_link("FAST07")
    blocked = app.extensions.setdefault("survey_link_blocked", {})
    blocked["survey-link:203.0.113.78"] = time.monotonic() + 60
    try:
        answered = post(client, token, environ_base={"REMOTE_ADDR": "203.0.113.78"})
        wrong = post(
            client, "no-such-link-0123456789", environ_base={"REMOTE_ADDR": "203.0.113.78"}
        )
    finally:
        blocked.pop("survey-link:203.0.113.78", None)
    assert answered.status_code == 200 and stored(issued.invitation.id) == 1
    assert wrong.status_code == 429 and "访问过于频繁" in wrong.text


@pytest.mark.parametrize(
    "case",
    ["nul", "not-utf8", "query", "cookie", "gbk-label", "json"],
)
def test_unusual_requests_go_to_the_view(app, client, case):
    token, issued = factories.survey_link(f"FASTU{case}")
    kwargs: dict = {}
    body: str | bytes = BODY
    if case == "nul":
        body = BODY.replace("q_comment=", "q_comment=%00")
    elif case == "not-utf8":
        body = BODY.encode() + b"&q_extra=%E4%B8" + b"\xff"
    elif case == "query":
        kwargs["query_string"] = {"x": "1"}
    elif case == "cookie":
        client.set_cookie("something", "1")
    elif case == "gbk-label":
        kwargs["content_type"] = "application/x-www-form-urlencoded; charset=gbk"
    elif case == "json":
        kwargs["content_type"] = "application/json"
    with views_run(app) as seen:
        answer = post(client, token, body, **kwargs)
    assert seen == ["view"]
    # Werkzeug reads a body that is not UTF-8, or not a form, as an empty form: the answers are
    # missing (422); a charset label other than UTF-8 is ignored, as Werkzeug ignores it.
    expected = {"nul": 400, "json": 422, "not-utf8": 422}.get(case, 200)
    assert answer.status_code == expected
    assert stored(issued.invitation.id) == (1 if expected == 200 else 0)


def test_the_fast_path_sits_inside_the_proxy_fix(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TRUSTED_PROXIES": 1})
    assert isinstance(app.wsgi_app, ProxyFix)
    assert isinstance(app.wsgi_app.app, SubmissionFastPath)  # sees the forwarded address
    assert survey.limit_key("198.51.100.1") == "survey-link:198.51.100.1"
