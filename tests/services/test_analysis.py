"""Text analysis of saved texts: pending rows, after-commit jobs, failures, batches, corrections."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import nlp
from app.models import AnalysisStatus, Intake, LabelCorrection, Response, TextAnalysis
from app.services import analysis
from app.services.tx import transactional
from tests import factories

TEXTS: dict[int, str] = {}


def _load(source_id: int) -> analysis.SourceText | None:
    text = TEXTS.get(source_id)
    return None if text is None else analysis.SourceText(text, branch_id=None)


@pytest.fixture(autouse=True)
def test_source():
    analysis.register_source("test_note", _load)
    TEXTS.clear()
    yield
    analysis._sources.pop("test_note", None)


@transactional
def save_note(source_id: int, text: str) -> None:
    TEXTS[source_id] = text
    analysis.request_analysis("test_note", source_id)


def row(db_session, source_id: int) -> TextAnalysis:
    return db_session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == "test_note", TextAnalysis.source_id == source_id
        )
    )


def test_saved_text_is_analysed_after_commit_with_pii_removed(db_session):
    save_note(
        1,
        "信用卡被盗刷了两万元，打了三次客服电话都没人处理，我的手机13812345678，我要投诉到金融监管总局！",
    )
    result = row(db_session, 1)
    assert result.status == AnalysisStatus.DONE
    assert "13812345678" not in result.redacted_text and "138****5678" in result.redacted_text
    assert result.redaction_kinds == "phone"
    assert result.sentiment in ("negative", "neutral", "positive")
    assert result.urgency in ("high", "critical")
    assert result.model_version == nlp.model_version()
    assert result.keywords


def test_no_job_runs_when_the_saving_transaction_rolls_back(db_session):
    @transactional
    def save_then_fail():
        TEXTS[2] = "服务很好"
        analysis.request_analysis("test_note", 2)
        raise RuntimeError("validation failed later in the use case")

    with pytest.raises(RuntimeError):
        save_then_fail()
    assert row(db_session, 2) is None


def test_a_model_failure_keeps_the_row_for_a_retry(db_session, monkeypatch):
    def broken(_text, **_options):
        raise MemoryError("simulated model failure")

    monkeypatch.setattr(nlp, "analyze", broken)
    save_note(3, "排队太久了")
    failed = row(db_session, 3)
    assert failed.status == AnalysisStatus.FAILED and failed.attempts == 1
    assert "simulated model failure" in failed.last_error
    assert ("test_note", 3) in analysis.work_list()
    monkeypatch.undo()
    analysis.analyze_batch([("test_note", 3)])
    assert row(db_session, 3).status == AnalysisStatus.DONE


def test_a_broker_outage_leaves_the_text_pending_and_the_sweep_catches_up(db_session, monkeypatch):
    def queue_down(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(analysis, "enqueue", queue_down)
    save_note(4, "手机银行转账一直失败，很着急")
    assert row(db_session, 4).status == AnalysisStatus.PENDING
    monkeypatch.undo()
    pending = analysis.work_list()
    assert ("test_note", 4) in pending
    assert analysis.analyze_batch([("test_note", 4)]) == 1
    assert row(db_session, 4).status == AnalysisStatus.DONE


def test_batch_reanalysis_matches_single_analysis(db_session):
    save_note(5, "柜员态度非常好，办理很快，点赞")
    single = row(db_session, 5)
    expected = (single.sentiment, single.sentiment_score, list(single.keywords))
    analysis.analyze_batch([("test_note", 5)])
    again = row(db_session, 5)
    assert (again.sentiment, again.sentiment_score, list(again.keywords)) == expected


def test_corrections_are_stored_and_feed_training(db_session):
    save_note(6, "这个年费怎么收的，没人告诉过我")
    result = row(db_session, 6)
    agent = factories.user()
    corrected = analysis.correct_label(result.id, "sentiment", "negative", actor=agent)
    assert corrected.sentiment == "negative" and corrected.corrected
    stored = db_session.scalars(select(LabelCorrection)).one()
    assert stored.user_id == agent.id and stored.text == result.redacted_text
    assert (result.redacted_text, 0) in analysis.corrected_sentiment_labels()
    analysis.analyze_batch([("test_note", 6)])
    assert row(db_session, 6).sentiment == "negative"  # a re-run keeps the staff label


def test_corrections_are_validated(db_session):
    save_note(7, "还可以")
    result = row(db_session, 7)
    agent = factories.user()
    db_session.commit()
    with pytest.raises(analysis.ValidationFailed):
        analysis.correct_label(result.id, "sentiment", "angry", actor=agent)
    with pytest.raises(analysis.ValidationFailed):
        analysis.correct_label(result.id, "cause", "Z99", actor=agent)
    with pytest.raises(analysis.ValidationFailed):
        analysis.correct_label(result.id, "urgency", "high", actor=agent)
    cause = nlp.load_taxonomy().dimension("C").choices()[0][0]
    assert analysis.correct_label(result.id, "cause", cause, actor=agent).cause_code == cause


def test_a_survey_answer_with_free_text_is_analysed(db_session):
    from app.services import responses

    token, _ = factories.survey_link("AN001", name="冯七", phone="13600002222", branch_code="HZ02")
    defn = responses.open_link(token).definition
    form: dict = {}
    for q in defn.questions:
        if q.type.value == "text":
            form[f"q_{q.id}"] = (
                "大堂经理很耐心，但是叫号系统经常出错，等了四十分钟，电话13600002222"
            )
        elif q.items:
            form.update({f"q_{q.id}__{item.id}": "4" for item in q.items})
        elif q.scale_type is not None:
            form[f"q_{q.id}"] = "9" if q.type.value == "nps" else "4"
        elif q.options:
            plain = [o.value for o in q.options if not o.other and not o.exclusive]
            form[f"q_{q.id}"] = [plain[0]] if q.type.value == "multiple" else plain[0]
    submitted = responses.submit_link(token, form)
    response = db_session.get(Response, db_session.get(Intake, submitted.intake_id).response_id)
    result = db_session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == "response", TextAnalysis.source_id == response.id
        )
    )
    assert result is not None and result.status == AnalysisStatus.DONE
    assert "13600002222" not in result.redacted_text
    assert result.branch_id == response.branch_id


def test_a_reanalysis_keeps_every_corrected_label_and_only_those(db_session):
    """A corrected category survived no re-analysis (only the sentiment did), and a category
    correction froze the sentiment too."""
    save_note(20, "信用卡被乱收年费，客服一直推脱，我要投诉到监管")
    result = row(db_session, 20)
    model_sentiment = result.sentiment
    agent = factories.user()
    business = next(
        code
        for code, _ in nlp.load_taxonomy().dimension("B").choices()
        if code != result.business_code
    )
    analysis.correct_label(result.id, "business", business, actor=agent)
    db_session.execute(
        TextAnalysis.__table__.update()
        .where(TextAnalysis.id == result.id)
        .values(sentiment="positive")  # as an older model would have said
    )
    db_session.commit()
    analysis.analyze_in_batches([("test_note", 20)], 10)
    again = row(db_session, 20)
    db_session.refresh(again)
    assert again.business_code == business  # the staff's code, not the model's
    assert again.sentiment == model_sentiment  # not corrected, so the model's current label
    analysis.analyze_source("test_note", 20)
    db_session.refresh(again)
    assert again.business_code == business
    assert analysis.corrected_fields(again) == {"business"}


def test_texts_get_the_discovered_topic_when_analysed_and_keep_it(db_session):
    from app.services import dashboard_voice

    notes = ["手机银行登录总是闪退", "信用卡年费收得不明不白", "网点排队太久窗口太少"] * 12
    for n, text in enumerate(notes, start=100):
        TEXTS[n] = text + "。" * (n % 5)
    analysis.analyze_in_batches([("test_note", n) for n in TEXTS], 50)
    record = dashboard_voice.discover_topics(sample=200)
    assert record is not None
    assigned = row(db_session, 100).topic_id
    assert assigned is not None
    for n in (200, 201, 202):  # a new text, analysed after discovery (sent three times)
        save_note(n, "手机银行登录又闪退了")
        assert row(db_session, n).topic_id == assigned
    # the dashboard quotes each text of the topic once (the same words filled every slot)
    from sqlalchemy import update

    from app.models import utcnow
    from app.services import dashboard_filters

    db_session.execute(update(TextAnalysis).values(source_created_at=utcnow()))  # (dated now)
    quotes = dashboard_voice.quotes(dashboard_filters.parse({}), topic=str(assigned))
    assert len(quotes) == len(set(quotes)) == dashboard_voice.QUOTES
    analysis.analyze_in_batches([("test_note", 100)], 10)  # re-analysis keeps the topic
    db_session.expire_all()
    assert row(db_session, 100).topic_id == assigned

    # a name staff gave the topic stays with it when topics are discovered again
    from app.models import User
    from app.services import topic_labels

    hq = db_session.scalar(select(User).where(User.username == "hq"))
    topic_labels.save(record, {assigned: ("手机银行闪退", False)}, hq)
    again = dashboard_voice.discover_topics(sample=200)
    db_session.expire_all()
    now = row(db_session, 100).topic_id
    assert again.id != record.id and topic_labels.labels(again)[now].name == "手机银行闪退"
    assert dashboard_voice.topic_names()[str(now)] == "手机银行闪退"


def test_one_text_the_model_chokes_on_does_not_stop_the_catch_up(db_session, monkeypatch):
    for n, text in ((30, "柜员很耐心"), (31, "BOOM 这条让模型出错"), (32, "转账很快")):
        TEXTS[n] = text
    db_session.add_all(
        TextAnalysis(source_type="test_note", source_id=n, status=AnalysisStatus.PENDING)
        for n in (30, 31, 32)
    )
    db_session.commit()
    real = nlp.analyze_many

    def choke(texts, **kwargs):
        if any("BOOM" in t for t in texts):
            raise ValueError("simulated model failure")
        return real(texts, **kwargs)

    monkeypatch.setattr(nlp, "analyze_many", choke)
    monkeypatch.setattr(nlp, "analyze", lambda t, **kw: choke([t], **kw)[0])
    # the sweep's own path (app.jobs.analysis.analyze_pending: the work list in batches of 200),
    # called as a service: the Celery task runs in the app context of the last app that set
    # Celery up, which in the full suite is another test's app with another database
    analysis.analyze_in_batches([("test_note", n) for n in (30, 31, 32)], 200)
    db_session.expire_all()
    assert row(db_session, 30).status == row(db_session, 32).status == AnalysisStatus.DONE
    failed = row(db_session, 31)
    assert failed.status == AnalysisStatus.FAILED and failed.attempts == 1
    assert ("test_note", 31) in analysis.work_list()  # retried by the next sweep


def _complaint_row(db_session, complaint_id: int) -> TextAnalysis:
    return db_session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == "complaint", TextAnalysis.source_id == complaint_id
        )
    )


def test_a_complaint_is_never_read_as_praise(db_session):
    """The three-way model learnt "neutral" from bank reviews' questions and statements: a
    complaint that states facts came out 中性, and one about a theft even 正面."""
    from app.services import complaints

    theft = "快捷支付被盗刷了8800元，我的卡一直在身上，希望银行尽快核查并赔付。"
    stuck = "手机银行升级以后转账一直闪退，给供应商的1500元货款转不出去，非常着急。"
    cases = (
        ("排队一个多小时，柜员态度冷淡，还推销理财产品", "希望改进", "negative"),
        (theft, "要求赔偿损失。", "negative"),  # (money lost, as nlp.analyze reads a neutral)
        (stuck, "", "neutral"),  # (leaning positive, no such cue: facts only)
    )
    read = [text + (f"\n诉求：{demand}" if demand else "") for text, demand, _ in cases]
    assert nlp.sentiment_labels(read) == ["neutral", "positive", "neutral"]  # (the model alone)
    made = []
    for text, demand, expected in cases:
        c, _ = complaints.create_complaint(
            complaints.IntakeData(channel="web", content=text, demand=demand or None, name="周静")
        )
        stored = _complaint_row(db_session, c.id)
        assert stored.status == AnalysisStatus.DONE
        assert stored.sentiment == expected, text
        assert stored.sentiment_confidence >= 0.5
        made.append((c.id, stored.sentiment))
    analysis.analyze_batch([("complaint", cid) for cid, _ in made])  # (the batch reads alike)
    assert [_complaint_row(db_session, cid).sentiment for cid, _ in made] == [e for *_, e in cases]
    save_note(40, "排队一个多小时，柜员态度冷淡，还推销理财产品\n诉求：希望改进")
    assert row(db_session, 40).sentiment == "neutral"  # (other texts keep the model's label)
