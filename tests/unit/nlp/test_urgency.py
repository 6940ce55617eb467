"""Tests for urgency cues."""

import pytest

from nlp import urgency


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("再不处理我就打12378投诉到金融监管总局", "escalation"),
        ("我要找媒体曝光你们", "escalation"),
        ("我们几十个业主们要集体投诉", "group"),
        ("我父亲是残疾人，行动不便", "vulnerable"),
        ("信用卡被盗刷了，钱没了", "money_loss"),
        ("这是第三次来电了，一直没人处理", "repeated"),
    ],
)
def test_cues_are_detected(text, code):
    result = urgency(text)
    assert code in {r[0] for r in result.reasons}
    assert result.priority in {"high", "critical"}


def test_escalation_with_money_loss_is_critical():
    assert urgency("卡被盗刷5万元，银行不管，我要报警并向银保监投诉").priority == "critical"


def test_negated_threat_weighs_less():
    assert urgency("我不会起诉你们").score < urgency("我要起诉你们").score


def test_calm_text_is_low():
    result = urgency("服务很好，谢谢")
    assert result.priority == "low" and result.score == 0 and result.reasons == ()


def test_empty_text():
    assert urgency("").priority == "low"
