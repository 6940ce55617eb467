"""Tests for nlp.analyze and the package's import hygiene."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

import nlp

ROOT = Path(__file__).resolve().parents[3]


def test_analyze_is_frozen_and_serialisable():
    result = nlp.analyze("信用卡被盗刷5万元，电话13812345678，我要向银保监会投诉")
    assert "13812345678" not in result.text and "phone" in result.redactions
    assert result.sentiment in {"negative", "neutral", "positive"}
    assert result.urgency.priority == "critical"
    assert result.model_version.startswith("nlp-")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.sentiment = "positive"  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["category"]["cause"]["code"] == "C07"


def test_analyze_many_matches_analyze():
    texts = ["服务很好", "", "年费太贵了"]
    many = nlp.analyze_many(texts)
    assert [a.sentiment for a in many] == [nlp.analyze(t).sentiment for t in texts]


def test_importing_nlp_loads_no_web_or_database_code():
    code = (
        "import sys, nlp; nlp.redact('x');"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy')];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_nlp_sources_do_not_import_flask_or_sqlalchemy():
    for path in (ROOT / "nlp").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "import flask" not in source.lower() and "sqlalchemy" not in source.lower(), path


def test_a_threat_or_a_loss_is_not_a_neutral_remark():
    """ "钱不翼而飞…我要向金融监管总局投诉" was labelled neutral (62 %) beside its 特急 tag."""
    threat = "手机银行转账5万元，第二天钱不翼而飞，客服一直推脱，我要向金融监管总局投诉"
    from nlp.analysis import _with_cues
    from nlp.sentiment import SentimentResult

    neutral = SentimentResult("neutral", 0.47, 0.62)
    cues = nlp.urgency(threat)
    assert _with_cues(neutral, cues) == SentimentResult("negative", 0.4, 0.6)
    positive = SentimentResult("positive", 0.8, 0.9)  # (only a neutral label is read again)
    assert _with_cues(positive, cues) == positive
    found = nlp.analyze(threat)
    assert found.sentiment == "negative" and found.sentiment_score < 0.5
    assert found.urgency.priority == "critical"
    question = nlp.analyze("请问信用卡怎么提额？")  # no such cue: the model's label stands
    assert question.sentiment == "neutral" and not question.urgency.reasons
    assert [a.sentiment for a in nlp.analyze_many([threat, "请问信用卡怎么提额？"])] == [
        "negative",
        "neutral",
    ]
