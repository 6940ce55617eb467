"""Tests for segmentation, keywords, topics and complaint classification."""

import pytest

import nlp
from nlp.keywords import fillers
from nlp.segment import cut
from nlp.topics import TopicModel, discover, rising


def test_banking_phrases_stay_whole():
    tokens = cut("我想提前还款，年费能不能免，工行的手机银行刷脸转账")
    for phrase in ("提前还款", "年费", "工行", "手机银行", "刷脸", "转账"):
        assert phrase in tokens


def test_fee_waiver_phrases_stay_whole():
    """「说首年免年费」 was cut into 说首 / 年免 / 年费, which became keywords on 客户之声."""
    tokens = cut("信用卡说首年免年费，办卡时也说免年费")
    assert "首年免年费" in tokens and "免年费" in tokens
    assert not {"说首", "年免"} & set(tokens)


def test_keywords_keep_phrases_and_drop_stop_words():
    words = nlp.keywords("我想提前还款，但是银行说要收违约金，年费也不退", k=5)
    assert "提前还款" in words and "年费" in words
    assert not {"我", "但是", "的", "，"} & set(words)


def test_keywords_with_weights_and_empty():
    pairs = nlp.keywords("信用卡年费太贵了", k=3, with_weights=True)
    assert all(isinstance(w, str) and 0 <= s <= 1 for w, s in pairs)
    assert nlp.keywords("") == []


SURVEY_ANSWERS = [
    "总体很满意，大堂经理主动引导取号，下次还会选择你们",
    "说不上好也说不上差，功能太多找不到入口，会推荐给家人朋友",
    "这次体验不错，柜员讲解理财风险很耐心，希望继续保持",
    "说实话不太满意，需要补充的材料有点多，希望认真改进",
    "信用卡年费被多收了。\n诉求：要求赔偿损失",
]
FILLERS = {"总体", "满意", "下次", "家人", "体验", "说不上", "不太", "补充", "入口", "诉求"}


def test_keywords_and_topic_labels_leave_out_survey_filler_words():
    """The UI review: 客户之声's top keywords were 总体、满意、下次、家人、体验、说不上 … words
    every answer has. They are fillers now: not keywords, not topic terms; segmentation keeps
    them (sentiment reads 满意 and 不太)."""
    assert FILLERS <= fillers()
    for text in SURVEY_ANSWERS:
        found = nlp.keywords(text, k=5)
        assert found and not FILLERS & set(found), (text, found)
    assert "满意" in cut(SURVEY_ANSWERS[0]) and "不太" in cut(SURVEY_ANSWERS[3])
    model = discover(SURVEY_ANSWERS * 4, n_topics=2)
    assert not FILLERS & set(model.vocabulary)
    assert not any(FILLERS & set(t.label.split("、")) for t in model.topics)


def test_the_words_of_complaint_handling_are_not_what_a_complaint_is_about():
    """The UI review: 客户之声's top keywords were 答复、贵行、核实、处理、明确, words nearly every
    complaint and reply has, crowding out 年费 and 排队."""
    text = "信用卡年费未经同意扣收，请贵行尽快核实处理并给予明确答复，我已投诉两个月"
    found = nlp.keywords(text, k=5)
    assert "年费" in found
    assert not {"贵行", "核实", "处理", "明确", "答复", "投诉", "两个"} & set(found), found


TEXTS = [
    "手机银行登录不上，一直闪退",
    "手机银行更新后闪退，登录失败",
    "APP闪退严重，登录不了",
    "信用卡年费太贵，要求免年费",
    "信用卡年费没通知就扣了",
    "年费收取不合理，信用卡要销卡",
    "网点排队时间太长，柜台只开一个窗口",
    "排队两个小时，网点柜员太少",
    "网点排队太久，柜台服务慢",
] * 3


def test_topic_assignment_is_stable_and_serialisable():
    model = discover(TEXTS, n_topics=3)
    again = discover(TEXTS, n_topics=3)
    text = "手机银行又闪退了，登录不上"
    assert model.assign(text) == model.assign(text) == again.assign(text)
    restored = TopicModel.from_dict(model.to_dict())
    assert restored.assign(text) == model.assign(text)
    assert len(model.topics) == 3 and all(t.label for t in model.topics)
    assert model.assign("")[0] is None


def test_topic_quotes_are_redacted():
    texts = [f"{t}，电话13812345678" for t in TEXTS]
    quotes = [q for topic in discover(texts, n_topics=3).topics for q in topic.quotes]
    assert quotes and all("13812345678" not in q for q in quotes)


def test_a_topic_quotes_each_text_once():
    """TEXTS holds every text three times: the same sentence filled a topic's three quotes."""
    for topic in discover(TEXTS, n_topics=3).topics:
        assert len(topic.quotes) == len(set(topic.quotes)) == min(3, len(set(TEXTS)) // 3)


def test_rising_topics():
    found = rising({"fees": 40, "app": 10}, {"fees": 10, "app": 40}, min_count=5)
    assert [r.topic for r in found] == ["fees"]
    assert rising({"fees": 3}, {"fees": 0}, min_count=5) == []


@pytest.mark.parametrize(
    ("text", "business", "cause"),
    [
        ("信用卡年费没告知就扣了", "B03.02", "C03"),
        ("催收天天打电话骚扰我家人，还威胁我", None, "C09"),
        ("房贷提前还款要收违约金，太不合理", "B02.01", "C05"),
        ("借记卡被盗刷了两万，钱没了", "B03.01", "C07"),
        # (read as 营销方式 and as 信用卡 by their longer or first cue before)
        ("催收人员天天打电话给我同事和家人，严重影响我的生活", None, "C09"),
        ("征信上出现了一笔逾期记录，我从来没有逾期过", "B06", None),
    ],
)
def test_classify_complaint_clear_examples(text, business, cause):
    s = nlp.classify_complaint(text)
    if business:
        assert s.business is not None and s.business.code == business and s.business.cues
    if cause is None:
        return
    assert s.cause is not None and s.cause.code == cause
    assert 0 <= s.cause.confidence <= 1


def test_classify_channel():
    assert nlp.classify_complaint("手机银行APP转账失败").channel.code == "A05"
    assert nlp.classify_complaint("今天天气不错").business is None
