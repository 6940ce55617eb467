"""问卷结果: one questionnaire's answers question by question, counted from the stored answer
rows of the filters' days and branches (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Branch, Survey
from app.services import dashboard_filters
from app.services.dashboard_pages_survey import survey_results
from app.services.responses import store_response
from app.services.tx import transactional

SH = ZoneInfo("Asia/Shanghai")
JAN = datetime(2026, 1, 14, 10, 0, tzinfo=SH).astimezone(UTC)


def _answers(overall: int, nps: int, wait: str, improve: list[str] | None, comment: str) -> dict:
    out = {
        "overall": overall,
        "nps": nps,
        "wait_time": wait,
        "aspects": {"attitude": overall, "skill": 5},
        "effort": 6,
        "comment": comment,
    }
    if improve is not None:  # (asked only of unhappy customers: overall or NPS low)
        out["improve"] = improve
    return out


@transactional
def _save(plan: list[tuple[str, datetime, dict]]) -> None:
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    branches = {b.code: b.id for b in db.session.scalars(select(Branch))}
    for code, at, answers in plan:
        store_response(
            survey.latest_version,
            answers,
            channel="sms",
            now=at,
            branch_id=branches[code],
            call_back_on_problems=False,
        )


def _page(**args: str):
    filters = dashboard_filters.parse({"from": "2026-01-01", "to": "2026-01-31", **args})
    return survey_results(filters)


def _rows(page, name: str) -> dict:
    return {row[0]: row[1:] for row in page.tables[name].rows}


def test_each_question_is_counted_from_the_answers_of_the_range_and_branches(db_session):
    _save(
        [
            ("HZ01", JAN, _answers(5, 10, "lt10", None, "办理很快")),
            ("HZ01", JAN, _answers(4, 9, "lt10", None, "")),
            ("HZ02", JAN, _answers(2, 3, "gt30", ["wait", "attitude"], "排队太久")),
            ("HZ02", JAN, _answers(3, 6, "20-30", ["wait"], "")),
            ("NJ01", JAN, _answers(1, 0, "gt30", ["marketing"], "推销")),
            # outside the range: never counted
            ("HZ01", datetime(2026, 2, 1, 10, tzinfo=SH), _answers(5, 10, "lt10", None, "")),
        ]
    )
    page = _page(survey="branch-service")
    assert page.cards[0].value == "5"
    wait = _rows(page, "q-wait_time")
    assert wait["10 分钟以内"] == [2, 40.0] and wait["30 分钟以上"] == [2, 40.0]
    assert wait["20～30 分钟"] == [1, 20.0] and wait["10～20 分钟"] == [0, 0.0]
    improve = _rows(page, "q-improve")  # of the 3 who were asked: shares of those
    assert improve["排队等候时间过长"] == [2, 66.7] and improve["过度营销、推销产品"] == [1, 33.3]
    overall = {row[0]: row[2] for row in page.tables["q-overall"].rows}
    assert overall == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    nps_chart = next(c for c in page.charts if c.id == "chart-q-nps")
    # promoters 2 (9, 10), detractors 3 (0, 3, 6): NPS (2 - 3) / 5 = -20
    assert "推荐者 40.0%" in nps_chart.note and "NPS -20.0" in nps_chart.note
    aspects = _rows(page, "q-aspects")
    assert aspects["工作人员的服务态度"] == [5, 3.0] and aspects["业务办理的专业程度"] == [5, 5.0]
    assert page.tables["texts"].rows[0][1:] == [3, 60.0]  # wrote a comment
    # a branch's subtree only
    hz = _page(survey="branch-service", branch="HZ")
    assert hz.cards[0].value == "4" and _rows(hz, "q-wait_time")["30 分钟以上"] == [1, 25.0]


def test_without_a_chosen_survey_the_most_answered_one_is_shown_and_said(db_session):
    _save([("HZ01", JAN, _answers(5, 10, "lt10", None, ""))])
    page = _page()
    assert "未选择问卷：显示所选范围内答卷最多的“网点服务满意度调查”" in page.notes[0]
    empty = survey_results(dashboard_filters.parse({"from": "2025-01-01", "to": "2025-01-31"}))
    assert empty.notes == ["所选范围内暂无答卷。"] and not empty.charts


def test_a_full_rollup_rebuild_gives_the_same_results_and_the_scores_table_stays_as_was(
    db_session,
):
    from app.services import metrics, rollups

    _save(
        [
            ("HZ01", JAN, _answers(5, 10, "lt10", None, "办理很快")),
            ("NJ01", JAN, _answers(1, 0, "gt30", ["marketing", "wait"], "推销")),
        ]
    )
    before = _page(survey="branch-service").tables
    rollups.rebuild(("satisfaction",))
    after = _page(survey="branch-service").tables
    assert {k: t.rows for k, t in after.items()} == {k: t.rows for k, t in before.items()}
    # 各题得分 (the question rollup) still lists the scale questions and matrix items only
    listed = {row["question_id"] for row in metrics.questions(dashboard_filters.parse({}))}
    assert "overall" in listed and not any("=" in q for q in listed)
    assert "wait_time" not in listed
    # product and channel are not columns of this page's rollup: said, and not applied
    filtered = _page(survey="branch-service", channel="sms")
    assert "所选产品、渠道未用于本页" in filtered.notes[0]
    assert filtered.cards[0].value == "2"


def test_an_option_a_later_version_dropped_reads_with_its_label(db_session):
    """It read as its code (wechat-bank（已停用选项）), though earlier versions have its label."""
    from app.services import surveys

    _save([("HZ01", JAN, _answers(5, 10, "lt10", None, "")) for _ in range(2)])
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    surveys.reopen_draft(survey.id)
    text = surveys.editable_text(survey)
    dropped = "\n".join(line for line in text.splitlines() if "value: lt10" not in line)
    surveys.update_draft(survey.id, title=survey.title, description="", text=dropped + "\n")
    surveys.publish(survey.id, actor=None)
    wait = _rows(_page(survey="branch-service"), "q-wait_time")
    assert "10 分钟以内" not in wait and wait["10 分钟以内（已停用选项）"] == [2, 100.0]


def test_the_latest_free_text_answers_are_quoted_redacted_each_with_its_response(db_session):
    """The 文字题 table only counted who wrote something; the answers themselves are now listed
    (the latest first, redacted, cut short), each by the response that opens it in full."""
    from datetime import timedelta

    from app.models import Response

    long_text = "网点排队太久，" * 60 + "请联系我 13812345678"
    _save(
        [
            ("HZ01", JAN, _answers(2, 3, "gt30", ["wait"], "柜员态度差，电话13900001111")),
            ("HZ02", JAN + timedelta(hours=1), _answers(3, 5, "gt30", ["wait"], long_text)),
            ("HZ01", JAN + timedelta(hours=2), _answers(5, 10, "lt10", None, "")),  # none written
            ("NJ01", JAN + timedelta(hours=3), _answers(1, 0, "gt30", ["wait"], "推销太多")),
            # outside the range: not quoted
            ("HZ01", datetime(2026, 2, 1, 10, tzinfo=SH), _answers(5, 10, "lt10", None, "二月")),
        ]
    )
    ids = {
        r.answers["comment"]: r.id
        for r in db.session.scalars(select(Response))
        if r.answers.get("comment")
    }
    page = _page(survey="branch-service")
    t = page.tables["text_answers"]
    assert [row[0] for row in t.rows] == [
        ids["推销太多"],
        ids[long_text],
        ids["柜员态度差，电话13900001111"],
    ]
    assert {row: t.response_ids[row] for row in range(3)} == {n: t.rows[n][0] for n in range(3)}
    question = page.tables["texts"].rows[0][0]  # (as the 文字题 table names it)
    assert "意见或建议" in question and all(row[2] == question for row in t.rows)
    quoted = {row[0]: row[3] for row in t.rows}
    assert "13900001111" not in quoted[ids["柜员态度差，电话13900001111"]]  # redacted
    assert quoted[ids["柜员态度差，电话13900001111"]].startswith("柜员态度差，电话")
    cut = quoted[ids[long_text]]
    assert cut.endswith("…") and len(cut) == 201 and long_text.startswith(cut[:-1])
    # a branch's subtree only
    hz = _page(survey="branch-service", branch="HZ").tables["text_answers"]
    assert {row[0] for row in hz.rows} == {ids[long_text], ids["柜员态度差，电话13900001111"]}
    # a range without texts says so
    empty = _page(survey="branch-service", **{"from": "2026-01-20", "to": "2026-01-31"})
    assert "text_answers" not in empty.tables or not empty.tables["text_answers"].rows
