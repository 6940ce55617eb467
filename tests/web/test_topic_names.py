"""话题命名: head office names discovered topics or hides them from 客户之声; a name moves to the
same topic found again by the next discovery, never to an unrelated one."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, TopicLabel, TopicModelRecord, User
from app.services import topic_labels
from app.services.tx import transactional
from tests.support import csrf_token
from tests.web.test_dashboards import _analysed, _csv

MAY = "from=2026-05-01&to=2026-05-31"
TOPICS = [
    (0, ["提前还款", "违约金", "房贷", "利率", "手续费"], 30),
    (1, ["您好", "谢谢", "问卷", "满意", "服务"], 20),
    (2, ["排队", "窗口", "网点", "等待", "叫号"], 10),
]


def _model(topics=TOPICS) -> TopicModelRecord:
    record = TopicModelRecord(
        texts=sum(size for *_, size in topics),
        model={
            "vocabulary": [], "idf": [], "components": [],
            "topics": [
                {"id": tid, "label": "、".join(terms[:3]), "terms": terms, "size": size,
                 "quotes": [f"{terms[0]}的例句"]}
                for tid, terms, size in topics
            ],
        },
    )  # fmt: skip
    db.session.add(record)
    db.session.flush()
    return record


@transactional
def _texts() -> None:
    """Complaint texts of 15 May in 西湖支行: 12 of topic 0, 8 of topic 1, 6 of topic 2 (the
    voice rollup follows on the commit)."""
    for topic, n in ((0, 12), (1, 8), (2, 6)):
        _analysed("2026-05-15", n, [], topic_id=topic)


def _post(client, data: dict):
    page = client.get("/manager/dashboards/topics").get_data(as_text=True)
    return client.post("/manager/dashboards/topics", data={"csrf_token": csrf_token(page), **data})


def _topics_table(client) -> dict[str, str]:
    rows = _csv(client.get(f"/manager/dashboards/voice/export/top_topic.csv?{MAY}"))
    return {r["话题"]: r["提及次数"] for r in rows}


def test_head_office_names_and_hides_topics_and_the_voice_page_follows(client, auth):
    record = _model()
    _texts()
    auth.login("hq")
    assert _topics_table(client) == {"提前还款、违约金、房贷": "12", "您好、谢谢、问卷": "8",
                                     "排队、窗口、网点": "6"}  # fmt: skip
    page = client.get("/manager/dashboards/topics").get_data(as_text=True)
    assert "提前还款、违约金、房贷、利率、手续费" in page and 'name="name-0"' in page
    resp = _post(
        client,
        {"model": record.id, "name-0": "  提前还款 违约金 ", "name-1": "", "hidden-1": "1",
              "name-2": ""},
    )  # fmt: skip
    assert resp.status_code == 302
    assert _topics_table(client) == {"提前还款 违约金": "12", "排队、窗口、网点": "6"}
    voice = client.get(f"/manager/dashboards/voice?{MAY}").get_data(as_text=True)
    assert "已隐藏 1 个话题" in voice and "您好、谢谢、问卷" not in voice
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    audit = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "topic.labelled").order_by(AuditLog.id)
    ).all()
    assert [(a.object_id, a.actor_id) for a in audit] == [
        (f"{record.id}:0", hq.id),
        (f"{record.id}:1", hq.id),
    ]
    assert audit[0].detail["name"] == [None, "提前还款 违约金"]
    assert audit[1].detail["hidden"] == [False, True]
    # saving the same again changes nothing and writes nothing
    _post(
        client,
        {"model": record.id, "name-0": "提前还款 违约金", "hidden-1": "1", "name-1": ""},
    )
    assert db.session.scalar(select(func.count()).where(AuditLog.action == "topic.labelled")) == 2
    # a name taken off again: the top terms are back
    _post(client, {"model": record.id, "name-0": ""})
    assert "提前还款、违约金、房贷" in _topics_table(client)


def test_bad_names_are_refused_with_every_fault_and_nothing_is_saved(client, auth):
    record = _model()
    auth.login("hq")
    resp = _post(
        client,
        {"model": record.id, "name-0": "房贷", "name-2": "房贷", "name-1": "长" * 21},
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "话题 0 与话题 2 不能同名（房贷）" in page
    assert "话题 1 的名称不能超过 20 个字" in page
    assert 'value="房贷"' in page  # what was typed stays on the form
    assert db.session.scalar(select(func.count(TopicLabel.id))) == 0
    # the same name is fine when one of the two is hidden
    ok = _post(
        client,
        {"model": record.id, "name-0": "房贷", "name-2": "房贷", "hidden-2": "1"},
    )
    assert ok.status_code == 302
    # a page of topics found before the newest discovery is not saved onto the new topics
    newer = _model()
    stale = _post(client, {"model": record.id, "name-0": "旧"})
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "话题已重新发现" in page
    assert "您刚才填写的内容：话题 0：旧" in page
    assert 'value="旧"' not in page  # (not put back into a field of another topic)
    assert not topic_labels.labels(newer)
    unknown = _post(client, {"model": newer.id, "name-9": "x"})
    assert unknown.status_code == 422


def test_a_branch_manager_reads_the_names_but_cannot_change_them(client, auth):
    record = _model()
    auth.login("manager")
    page = client.get("/manager/dashboards/topics").get_data(as_text=True)
    assert "由总分行管理人员维护" in page and 'name="name-0"' not in page
    resp = _post(client, {"model": record.id, "name-0": "x"})
    assert resp.status_code == 403
    assert not topic_labels.labels(record)
    auth.logout()
    auth.login("agent")
    assert client.get("/manager/dashboards/topics").status_code == 403


def test_a_name_moves_to_the_same_topic_found_again_and_no_further(client, auth, db_session):
    old = _model()
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    topic_labels.save(
        old, {0: ("提前还款违约金", False), 1: ("", True), 2: ("网点排队", False)}, hq
    )
    # the next discovery: the mortgage topic again (ids and term order changed), the greeting
    # topic again, the queue topic gone and an unrelated one in its place
    new = _model(
        [
            (0, ["您好", "谢谢", "问卷", "满意", "您"], 25),
            (1, ["违约金", "提前还款", "房贷", "利率", "合同"], 30),
            (2, ["年费", "信用卡", "扣款", "短信", "通知"], 12),
        ]
    )
    assert topic_labels.carry_over(old, new) == 2
    moved = topic_labels.labels(new)
    assert moved[1].name == "提前还款违约金" and not moved[1].hidden
    assert moved[0].hidden and moved[0].name is None
    assert 2 not in moved  # 网点排队 is not pinned on the annual-fee topic
    assert moved[1].terms[:2] == ["违约金", "提前还款"]  # compared next time as found now


def test_the_trend_chart_exports_the_series_it_plots(client, auth):
    """The audit: 前五话题趋势's CSV link downloaded the topic ranking, not the chart's series."""
    record = _model()
    _texts()
    auth.login("hq")
    topic_labels.save(record, {0: ("提前还款违约金", False)}, db.session.get(User, _hq_id()))
    rows = _csv(client.get(f"/manager/dashboards/voice/export/trend_topic.csv?{MAY}"))
    by_topic = {r["话题"]: r for r in rows}
    assert set(by_topic) == {"提前还款违约金", "您好、谢谢、问卷", "排队、窗口、网点"}
    assert by_topic["提前还款违约金"]["2026-05"] == "12"
    page = client.get(f"/manager/dashboards/voice?{MAY}").get_data(as_text=True)
    assert "/manager/dashboards/voice/export/trend_topic.csv" in page


def _hq_id() -> int:
    return db.session.scalar(select(User.id).where(User.username == "hq"))
