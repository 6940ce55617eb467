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


@pytest.mark.parametrize(
    "text",
    [
        "请回电13912345678",
        "回电１３９１２３４５６７８",
        "卡号6222021234567894被冻结",
        "订单号123456789查不到",
        "流水号0123636",
    ],
)
def test_hotline_digits_inside_longer_numbers_are_no_threat(text):
    """12345/12378/12363 inside a phone, card or order number flagged the text high, with the
    reason "(12345)" leaking digits of a masked phone."""
    result = urgency(text)
    assert result.priority == "low" and result.reasons == ()


@pytest.mark.parametrize("text", ["我要打12345投诉", "再不处理就打１２３７８", "拨打12363。"])
def test_hotlines_on_their_own_are_threats(text):
    assert "escalation" in {r[0] for r in urgency(text).reasons}


@pytest.mark.parametrize(
    "text",
    [
        "这是员工的个人行为",
        "资金监管的楼盘烂尾了",
        "钱在监管账户里",
        "卡被法院冻结了",
        "我在媒体上看到你们的新产品广告",
        "我不会去起诉",
        "不打算投诉到监管",
        "没想找媒体",
    ],
)
def test_no_escalation_without_a_threat(text):
    assert "escalation" not in {r[0] for r in urgency(text).reasons}
    assert urgency(text).priority == "low"


@pytest.mark.parametrize(
    "text",
    [
        "我要去人行投诉",
        "我要向监管投诉",
        "找监管部门",
        "我们法院见",
        "我要去法院告你们",
        "我要找媒体",
    ],
)
def test_threat_forms_are_escalation(text):
    assert "escalation" in {r[0] for r in urgency(text).reasons}


@pytest.mark.parametrize(
    ("text", "code", "cue"),
    [
        ("理财产品亏了五万", "money_loss", "亏了"),
        ("基金亏损了一大半", "money_loss", "亏损"),
        ("这是我第四次来网点了", "repeated", "第四次"),
        ("已经打了五六次电话了", "repeated", "打了五六次"),
        ("上周已经投诉过一次，今天又来反映", "repeated", "已经投诉过"),
        ("多次反映", "repeated", "多次"),
        ("反复投诉", "repeated", "反复"),
        ("我今年75岁了", "vulnerable", "75岁"),
        ("我妈七十多岁", "vulnerable", "七十多岁"),
        ("我们三十多个客户一起来投诉", "group", "三十多个客户"),
        ("十几户业主", "group", "十几户"),
        ("被骗了两万多元", "amount", "两万多元"),
        ("存了三十万", "amount", "三十万"),
        ("八万块钱", "amount", "八万块"),
    ],
)
def test_more_cues(text, code, cue):
    assert (code, cue) in {(r[0], r[2]) for r in urgency(text).reasons}


@pytest.mark.parametrize(
    "text",
    ["多亏了你们", "我儿子5岁", "我六十岁", "第一次来", "我们两个人", "一万个理由", "十万火急"],
)
def test_lookalikes_are_no_cues(text):
    assert urgency(text).reasons == ()


def test_chinese_amounts_weigh_like_digits():
    assert urgency("理财产品亏了五万").score == urgency("理财产品亏了5万").score
    assert urgency("理财产品亏了五万").priority == "high"


def test_one_mention_counts_once():
    """七十多岁 was both a literal cue and an age; the same words must not add a bonus."""
    assert urgency("我妈七十多岁").score == urgency("我妈75岁").score
