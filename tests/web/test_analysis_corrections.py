"""Staff see the text analysis on a complaint or an answer and can correct its labels."""

from __future__ import annotations

from sqlalchemy import select

import nlp
from app.models import LabelCorrection, Response, TextAnalysis
from app.services import complaints
from tests import factories
from tests.support import csrf_token
from tests.web.test_survey_pages import ANSWERS


def _complaint(branch_code: str = "HZ01"):
    complaint, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            name="孙先生",
            phone="13700001111",
            branch_code=branch_code,
            content="网点排队两个小时，柜员态度冷漠，还乱收年费，要求退还。",
        )
    )
    return complaint


def _analysis(db_session, source, source_type: str = "complaint") -> TextAnalysis:
    return db_session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == source_type, TextAnalysis.source_id == source.id
        )
    )


def test_complaint_page_shows_the_analysis_and_takes_a_correction(auth, client, db_session):
    complaint = _complaint()
    auth.login("agent")
    url = f"/staff/complaints/{complaint.id}"
    page = client.get(url).get_data(as_text=True)
    assert "文本分析" in page and "情感倾向" in page
    row = _analysis(db_session, complaint)
    response = client.post(
        f"/staff/analysis/{row.id}/correct",
        data={
            "csrf_token": csrf_token(page),
            "field": "sentiment",
            "value": "negative",
            "next": url,
        },
    )
    assert response.status_code == 302 and response.headers["Location"].startswith(url)
    correction = db_session.scalars(select(LabelCorrection)).one()
    assert correction.new_value == "negative" and correction.text == row.redacted_text
    shown = client.get(url).get_data(as_text=True)
    assert "已人工更正" in shown
    # who changed what, from what and when (the page said only 已人工更正)
    before = {"negative": "负面", "neutral": "中性", "positive": "正面"}.get(
        correction.old_value, "—"
    )
    trail = shown.split('class="small muted correction-trail">', 1)[1].split("</p>", 1)[0]
    assert f"将情感倾向由“{before}”改为“负面”" in trail and "李坐席" in trail


def test_other_branches_cannot_correct(auth, client, db_session):
    row = _analysis(db_session, _complaint("NJ01"))
    auth.login("agent")  # agent of HZ
    page = client.get("/staff/complaints").get_data(as_text=True)
    response = client.post(
        f"/staff/analysis/{row.id}/correct",
        data={"csrf_token": csrf_token(page), "field": "sentiment", "value": "positive"},
    )
    assert response.status_code == 404
    assert db_session.scalars(select(LabelCorrection)).first() is None


def test_redirect_after_correction_stays_on_site(auth, client, db_session):
    row = _analysis(db_session, _complaint())
    auth.login("agent")
    page = client.get("/staff/complaints").get_data(as_text=True)
    response = client.post(
        f"/staff/analysis/{row.id}/correct",
        data={
            "csrf_token": csrf_token(page),
            "field": "sentiment",
            "value": "neutral",
            "next": "//evil.example/",
        },
    )
    assert "evil" not in response.headers["Location"]


def _answer(client, db_session, comment: str) -> Response:
    """A Hangzhou customer's answer with ``comment`` as its free text."""
    token, issued = factories.survey_link("ANA001")
    client.post(f"/s/{token}", data={**ANSWERS, "q_comment": comment})
    return db_session.scalar(select(Response).where(Response.invitation_id == issued.invitation.id))


def test_answer_page_shows_the_analysis_and_takes_a_correction(auth, client, db_session):
    """The README promises corrections on the case OR answer page; answers had no panel."""
    response = _answer(client, db_session, "柜员态度很差，排队一个多小时，非常不满意。")
    row = _analysis(db_session, response, "response")
    assert row is not None and row.status == "done"
    auth.login("agent")
    url = f"/staff/responses/{response.id}"
    page = client.get(url).get_data(as_text=True)
    assert "文本分析" in page and "标签不准确？更正" in page
    assert f'action="/staff/analysis/{row.id}/correct"' in page
    posted = client.post(
        f"/staff/analysis/{row.id}/correct",
        data={"csrf_token": csrf_token(page), "field": "business", "value": "B01", "next": url},
    )
    assert posted.status_code == 302 and posted.headers["Location"].startswith(url)
    correction = db_session.scalars(select(LabelCorrection)).one()
    assert (correction.analysis_id, correction.field, correction.new_value) == (
        row.id,
        "business",
        "B01",
    )
    assert "已人工更正" in client.get(url).get_data(as_text=True)


def test_answer_without_free_text_has_no_analysis_panel(auth, client, db_session):
    response = _answer(client, db_session, "")
    auth.login("agent")
    page = client.get(f"/staff/responses/{response.id}").get_data(as_text=True)
    assert "标签不准确？更正" not in page and "文本分析" not in page


def test_a_corrected_category_shows_its_own_name_and_only_it_is_marked(auth, client, db_session):
    complaint = _complaint()
    auth.login("agent")
    url = f"/staff/complaints/{complaint.id}"
    page = client.get(url).get_data(as_text=True)
    assert "B01 B01" not in page  # choices read "B01 人民币储蓄", the code once
    row = _analysis(db_session, complaint)
    taxonomy = nlp.load_taxonomy()
    code = next(c for c, _ in taxonomy.dimension("B").choices() if c != row.business_code)
    client.post(
        f"/staff/analysis/{row.id}/correct",
        data={"csrf_token": csrf_token(page), "field": "business", "value": code, "next": url},
    )
    panel = client.get(url).get_data(as_text=True)
    panel = panel[panel.index('id="analysis"') :]
    assert f"{code} {taxonomy[code].name} <span" in panel  # not the model's category name
    assert "（已人工更正）" in panel and "· 已人工更正" not in panel  # sentiment untouched
    assert "置信度" in panel


def test_a_text_no_longer_retried_does_not_promise_a_retry(auth, client, db_session):
    """After MAX_ATTEMPTS failures the catch-up leaves a text alone: the panel said 系统将自动
    重试 all the same. It now says the retries have stopped, that the text is safe, and who
    can run the analysis again."""
    from app.services.analysis import MAX_ATTEMPTS

    complaint = _complaint()
    row = _analysis(db_session, complaint)
    row.status, row.attempts = "failed", 1
    db_session.flush()
    auth.login("agent")
    url = f"/staff/complaints/{complaint.id}"
    assert "系统将自动重试" in client.get(url).get_data(as_text=True)
    row.attempts = MAX_ATTEMPTS
    db_session.flush()
    page = client.get(url).get_data(as_text=True)
    assert "系统将自动重试" not in page and f"分析已连续失败 {MAX_ATTEMPTS} 次" in page
    assert "文字已保存" in page
