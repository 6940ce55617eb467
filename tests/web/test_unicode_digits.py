"""Digits that are digits to ``str.isdigit()`` but not to ``int()`` (superscripts such as ²,
circled numbers): ids, years and versions parsed from requests were checked with isdigit() and
then converted with int(), a 500 (one of them on the customer's survey link). They are read as
what they are: not a number."""

from __future__ import annotations

from app.extensions import db
from app.models import Response
from tests import factories
from tests.security.records import DETRACTOR_ANSWERS
from tests.support import csrf_token


def test_a_survey_submission_with_a_mangled_version_key_is_taken_not_a_500(client):
    token, _ = factories.survey_link("UNIDIG1")
    before = db.session.query(Response).count()
    sent = client.post(f"/s/{token}", data={**DETRACTOR_ANSWERS, "_v": "²:x"})
    assert sent.status_code == 200 and "提交成功" in sent.text
    assert db.session.query(Response).count() == before + 1


def test_staff_pages_read_such_digits_as_no_number(client, auth):
    auth.login("hq")
    for path in (
        "/staff/responses?branch_id=%C2%B2&survey_id=%E2%91%A0",
        "/staff/responses?product_id=99999999999999999999",
    ):
        assert client.get(path).status_code == 200, path
    refused = client.get(
        "/manager/dashboards/annual-disclosure?year=%C2%B2%E2%81%B0%C2%B2%E2%81%B6"
    )
    assert refused.status_code == 422 and "四位年份" in refused.text
    page = client.get("/manager/dashboards/voice").text
    linked = client.post(
        "/manager/improvements/link",
        data={
            "csrf_token": csrf_token(page),
            "link-source_type": "complaint",
            "link-source_id": "1",
            "link-problem_id": "²",
        },
    )
    assert linked.status_code == 302  # (请选择要关联的问题, back on the case)
    for ids in ("²", "99999999999999999999"):
        bulk = client.post(
            "/manager/improvements/1/cases",
            data={"csrf_token": csrf_token(page), "source_type": "complaint", "ids": ids},
        )
        assert bulk.status_code in (302, 400, 404, 422), (ids, bulk.status_code)
