"""``flask nlp train``: retrain from corrected labels; install the new model only if not worse."""

from __future__ import annotations

import json

import pytest

import nlp
from app.models import AnalysisStatus, LabelCorrection, TextAnalysis, utcnow
from app.services import model_training
from tests import factories

PRAISE = [
    "柜员服务很热情，办理很快",
    "手机银行转账很方便，好评",
    "理财经理很专业，讲解清楚",
    "大堂经理主动帮忙，非常满意",
    "网点环境干净整洁，等候时间短",
]
COMPLAINTS = [
    "信用卡被乱收年费，客服一直推脱",
    "排队两个小时没人管，态度很差",
    "贷款审批拖了一个月，没人回复",
    "转账失败钱被扣了，打了五次电话没解决",
    "催收电话天天打到单位，太过分了",
]


def _corrections(db_session, pairs):
    agent = factories.user()
    for n, (text, label) in enumerate(pairs):
        row = TextAnalysis(
            source_type="test",
            source_id=n,
            status=AnalysisStatus.DONE,
            redacted_text=text,
            sentiment="neutral",
            analysed_at=utcnow(),
        )
        db_session.add(row)
        db_session.flush()
        db_session.add(
            LabelCorrection(
                analysis_id=row.id,
                field="sentiment",
                old_value="neutral",
                new_value=label,
                text=text,
                user_id=agent.id,
            )
        )
    db_session.commit()


@pytest.fixture
def model_dir(app, backend, tmp_path, monkeypatch):
    if backend != "sqlite":
        pytest.skip("training is CPU work; the database part is covered on both backends elsewhere")
    monkeypatch.setitem(app.config, "NLP_MODEL_DIR", str(tmp_path / "models"))
    # no corpora: these tests refine with corrections (a full refit takes minutes)
    monkeypatch.setitem(app.config, "NLP_CORPUS_DIR", None)
    monkeypatch.setattr(model_training, "SHARED_CORPUS", tmp_path / "no-corpus")
    yield tmp_path / "models"
    nlp.use_model_dir(None)


def _trainable(texts):
    """Variants of the texts that fall outside the held-out fifth (used for training only)."""
    out = []
    for text in texts:
        for k in range(40):
            candidate = text + "。" * k
            if not model_training._held_out(candidate):
                out.append(candidate)
                if len(out) % 6 == 0:
                    break
    return out


def _eval_file(tmp_path):
    path = tmp_path / "eval.csv"
    rows = [(t + end, 1) for t in PRAISE for end in ("", "！", "。")]
    rows += [(t + end, 0) for t in COMPLAINTS for end in ("", "！", "。")]
    path.write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")
    return path


def test_train_refines_with_corrections_and_installs_a_model_that_is_not_worse(
    app, db_session, model_dir, tmp_path
):
    variants = [f"{t}{suffix}" for t in PRAISE + COMPLAINTS for suffix in ("", "！", "。真的")]
    labels = ["positive" if v[:4] in {p[:4] for p in PRAISE} else "negative" for v in variants]
    _corrections(db_session, list(zip(variants, labels, strict=True)))
    result = app.test_cli_runner().invoke(
        args=["nlp", "train", "--eval", str(_eval_file(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    sentiment = report["sentiment"]
    assert sentiment["corrections_used"] + sentiment["corrections_held_out"] == len(variants)
    assert sentiment["replaced"] == (sentiment["new_macro_f1"] >= sentiment["current_macro_f1"])
    assert (model_dir / "sentiment.npz").exists() == sentiment["replaced"]
    category = report["category"]  # the demo's closed complaints carry confirmed codes
    assert category["replaced"] == (category["new_accuracy"] >= category["current_accuracy"])
    assert (model_dir / "category.npz").exists() == category["replaced"]
    # running processes keep the model they loaded: the command says to restart them
    installed = sentiment["replaced"] or category["replaced"]
    assert ("请重启 Web（gunicorn）和 Celery worker 进程" in result.stderr) == installed


def test_a_second_run_with_nothing_new_installs_nothing(app, db_session, model_dir, tmp_path):
    """Training is deterministic: run again on the same labels, it rebuilds the installed files
    byte for byte. Installing them again told the operator, every night, to restart gunicorn
    and the workers for nothing."""
    variants = [f"{t}{suffix}" for t in PRAISE + COMPLAINTS for suffix in ("", "！", "。真的")]
    labels = ["positive" if v[:4] in {p[:4] for p in PRAISE} else "negative" for v in variants]
    _corrections(db_session, list(zip(variants, labels, strict=True)))
    evaluation = _eval_file(tmp_path)
    first = model_training.retrain(data_dir=None, eval_files=[evaluation], model_dir=model_dir)
    installed = {part: first[part]["replaced"] for part in ("sentiment", "category")}
    assert any(installed.values()), first
    result = app.test_cli_runner().invoke(args=["nlp", "train", "--eval", str(evaluation)])
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    for part, was_installed in installed.items():
        assert again[part]["replaced"] is False
        if was_installed:
            assert again[part]["reason"] == "新模型与当前模型完全相同，无需替换"
    assert "请重启" not in result.stderr


def test_without_an_evaluation_set_nothing_is_replaced(app, db_session, model_dir, tmp_path):
    _corrections(db_session, [(t, "positive") for t in _trainable(PRAISE[:2])])
    result = model_training.retrain(data_dir=None, eval_files=[], model_dir=model_dir)
    assert result["sentiment"]["replaced"] is False
    assert "评估集" in result["sentiment"]["reason"]
    assert not (model_dir / "sentiment.npz").exists()


def _held_out_variant(text):
    return next(text + "！" * k for k in range(60) if model_training._held_out(text + "！" * k))


def test_a_handful_of_held_out_corrections_is_no_evaluation_set(app, db_session, model_dir):
    """Two corrections, one held out: a model refitted on one text and judged on the other must
    not replace the active one (it once did, and fell from 0.91 to 0.31 on bank reviews)."""
    _corrections(
        db_session,
        [(_trainable(PRAISE[:1])[0], "positive"), (_held_out_variant(COMPLAINTS[0]), "negative")],
    )
    result = app.test_cli_runner().invoke(args=["nlp", "train"])
    assert result.exit_code == 0, result.output
    sentiment = json.loads(result.stdout)["sentiment"]
    assert sentiment["replaced"] is False and "评估集仅 1 条" in sentiment["reason"]
    assert not (model_dir / "sentiment.npz").exists()


def test_a_worse_model_does_not_replace_the_active_one(app, db_session, model_dir, tmp_path):
    flipped = [(t, "negative") for t in _trainable(PRAISE)]
    flipped += [(t, "positive") for t in _trainable(COMPLAINTS)]
    _corrections(db_session, flipped)
    result = model_training.retrain(
        data_dir=None, eval_files=[_eval_file(tmp_path)], model_dir=model_dir
    )
    sentiment = result["sentiment"]
    assert sentiment["corrections_held_out"] == 0
    assert sentiment["new_macro_f1"] < sentiment["current_macro_f1"]
    assert sentiment["replaced"] is False and not (model_dir / "sentiment.npz").exists()


def test_a_plain_train_uses_the_corpora_and_their_development_samples(tmp_path, monkeypatch):
    """The issue's `flask nlp train` retrains from the shared corpora plus the corrections and
    judges on an evaluation set: without --data it refitted the active model on the corrections
    alone and, without --eval, had nothing to judge by. The corpora come from NLP_CORPUS_DIR,
    else ../shared/data/sentiment; the development samples beside them are the evaluation set."""
    shared = tmp_path / "data" / "sentiment"
    shared.mkdir(parents=True)
    monkeypatch.setattr(model_training, "SHARED_CORPUS", tmp_path / "beside" / "sentiment")
    assert model_training.default_corpus(str(shared)) is None  # no *_train.csv in it yet
    (shared / "bank_train.csv").write_text("text,label\n好,1\n", encoding="utf-8")
    for name in ("sentiment_dev_bank.csv", "sentiment_dev_hotel.csv", "notes.csv"):
        (shared.parent / name).write_text("text,label\n好,1\n", encoding="utf-8")
    assert model_training.default_corpus(str(shared)) == shared
    assert model_training.default_corpus(None) is None
    monkeypatch.setattr(model_training, "SHARED_CORPUS", shared)  # ../shared/data/sentiment
    assert model_training.default_corpus(None) == shared
    assert model_training.default_corpus(str(tmp_path / "missing")) == shared
    assert [p.name for p in model_training.default_eval_files(shared)] == [
        "sentiment_dev_bank.csv",
        "sentiment_dev_hotel.csv",
    ]
    assert model_training.default_eval_files(None) == []


def test_corrections_only_ignores_the_corpora(app, db_session, model_dir, tmp_path):
    shared = tmp_path / "corpus"
    shared.mkdir()
    (shared / "bank_train.csv").write_text("text,label\n好,1\n", encoding="utf-8")
    app.config["NLP_CORPUS_DIR"] = str(shared)
    _corrections(db_session, [(t, "positive") for t in _trainable(PRAISE[:2])])
    result = app.test_cli_runner().invoke(args=["nlp", "train", "--corrections-only"])
    assert result.exit_code == 0, result.output
    assert "training on: the active model and the corrected labels" in result.stderr
    assert json.loads(result.stdout)["sentiment"]["replaced"] is False  # (no evaluation set)
