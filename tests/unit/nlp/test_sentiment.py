"""Tests for the sentiment contract (nlp.sentiment_scores / sentiment_labels)."""

import pytest

import nlp
from nlp.sentiment import SentimentResult, load_model


def test_scores_contract():
    texts = ["服务很好，非常满意", "太差了，再也不来了", "", "请问怎么办理？"]
    scores = nlp.sentiment_scores(texts)
    assert len(scores) == len(texts)
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)


def test_empty_list():
    assert nlp.sentiment_scores([]) == [] and nlp.sentiment_labels([]) == []


@pytest.mark.parametrize(
    ("texts", "message"),
    [("服务很差", "not a single string"), (["好", None], r"texts\[1\] is NoneType"),
     (["好", 5], r"texts\[1\] is int"), (b"bytes", "not a single string")],
)  # fmt: skip
def test_a_wrong_input_type_is_a_clear_error(texts, message):
    """A str was scored character by character (4 scores for "服务很差"), None as empty."""
    for call in (nlp.sentiment_scores, nlp.sentiment_labels):
        with pytest.raises(TypeError, match=message):
            call(texts)
    with pytest.raises(TypeError):
        nlp.analyze_many("服务很差")
    assert nlp.sentiment_scores(("服务很好", "太差了")) == nlp.sentiment_scores(
        ["服务很好", "太差了"]
    )


def test_very_long_text():
    [score] = nlp.sentiment_scores(["房间很干净，服务周到。" * 5000])
    assert score >= 0.5


@pytest.mark.parametrize(
    "text", ["酒店服务非常好，房间干净，下次还来", "手机银行很好用，转账方便快捷，赞"]
)
def test_obviously_positive(text):
    assert nlp.sentiment_scores([text])[0] >= 0.5
    assert nlp.sentiment_labels([text]) == ["positive"]


@pytest.mark.parametrize("text", ["太差了，态度恶劣，再也不来了", "垃圾银行，乱扣费，骗子"])
def test_obviously_negative(text):
    assert nlp.sentiment_scores([text])[0] < 0.5
    assert nlp.sentiment_labels([text]) == ["negative"]


def test_labels_values():
    labels = nlp.sentiment_labels(["好", "差", "", "信用卡的账单日是几号？", "x" * 10])
    assert set(labels) <= {"negative", "neutral", "positive"} and len(labels) == 5


def test_label_with_confidence():
    result = nlp.sentiment("非常满意")
    assert isinstance(result, SentimentResult)
    assert result.label == "positive" and 0.5 <= result.confidence <= 1.0


def test_scores_and_labels_agree_on_polarity():
    texts = ["非常满意，谢谢", "很失望，太慢了"]
    for score, label in zip(nlp.sentiment_scores(texts), nlp.sentiment_labels(texts), strict=True):
        assert label == "neutral" or (label == "positive") == (score >= 0.5)


@pytest.mark.parametrize(
    "text",
    [
        "盗刷了我的卡，银行一直不处理，我要投诉到金融监管总局",
        "乱扣年费，客服态度恶劣，再也不用这家银行了",
        "贷款审批拖了两个月还没结果，太坑了，我要去银保监会投诉",
        "信用卡被莫名其妙降额，打客服没人接，垃圾",
    ],
)
def test_bank_complaints_are_negative(text):
    assert nlp.sentiment_labels([text]) == ["negative"]
    assert nlp.sentiment_scores([text])[0] < 0.5


@pytest.mark.parametrize(
    "text",
    [
        "柜台工作人员非常耐心，帮我解决了问题，非常感谢",
        "手机银行很好用，转账秒到，点赞",
        "额度秒批，服务很好，很满意",
    ],
)
def test_bank_praise_is_positive(text):
    assert nlp.sentiment_labels([text]) == ["positive"]


@pytest.mark.parametrize("text", ["请问信用卡账单日是几号？", "我想办理提前还款，需要什么材料"])
def test_bank_questions_are_neutral(text):
    assert nlp.sentiment_labels([text]) == ["neutral"]


def test_neutral_head_uses_bank_polarity_lean():
    model = load_model()
    assert model.neutral_polarity_index is not None and model.neutral_polarity_weight < 0


def test_neutral_head_reads_the_length_of_the_text(tmp_path):
    """A longer text is less likely neutral (the learnt weight), other things equal; the length
    term survives saving, and the head refuses features without it."""
    model = load_model()
    assert model.neutral_length_weight < 0 and model.neutral_length_scale > 0
    x, xn, lengths = model.encode(["请问信用卡怎么还款", "请问信用卡怎么还款" * 4])
    assert lengths[1] > lengths[0]
    with pytest.raises(ValueError):
        model.probabilities(x, xn)
    _, p_neutral = model.probabilities(x, xn, lengths)
    drop_length = type(model).load(_saved(model, tmp_path))
    drop_length.neutral_length_weight = 0.0
    _, without = drop_length.probabilities(x, xn)
    assert p_neutral[0] / without[0] > p_neutral[1] / without[1]  # the longer text loses more
    copy = type(model).load(_saved(model, tmp_path))
    assert (copy.neutral_length_weight, copy.neutral_length_center) == (
        model.neutral_length_weight,
        model.neutral_length_center,
    )


def _saved(model, folder):
    path = folder / "copy.npz"
    model.save(path)
    return path


def test_neutral_head_has_its_own_idf(tmp_path):
    model = load_model()
    assert model.neutral_idf is not None and model.neutral_idf.shape == model.idf.shape
    with pytest.raises(ValueError):
        model.probabilities(model.features(["请问怎么还款"]))
    model.save(tmp_path / "copy.npz")
    copy = type(model).load(tmp_path / "copy.npz")
    texts = ["请问怎么还款", "乱扣年费，太坑了"]
    assert [r.label for r in copy.predict(texts)] == [r.label for r in model.predict(texts)]


def test_weights_are_laid_out_for_the_sparse_products():
    """Loaded or built, the gate's and experts' weights are column-major, so the products in
    ``probabilities`` read them in place (a copy of 20 MB per call made one short text cost
    5 ms); the layout changes nothing in the results."""
    import dataclasses

    import numpy as np

    model = load_model()
    built = dataclasses.replace(
        model,
        **{
            name: np.ascontiguousarray(getattr(model, name))
            for name in ("idf", "gate_coef", "gate_intercept", "expert_coef", "expert_intercept")
        },
    )
    for m in (model, built):
        assert m.gate_coef.T.flags.c_contiguous and m.expert_coef.T.flags.c_contiguous
    texts = ["请问怎么还款", "乱扣年费，太坑了", "柜员很耐心，点赞"]
    assert built.scores(texts) == model.scores(texts)


def _varied_texts(n: int) -> list[str]:
    """Bank words, review phrases, punctuation, mixed case, runs of white space, digits and
    emoji, 0 to ~1,200 characters long (a fixed seed: the same texts every run)."""
    import random

    from nlp.sentiment import DEFAULT_MODEL_PATH

    dictionary = DEFAULT_MODEL_PATH.parent.parent / "bank_dict.txt"
    words = [line.split()[0] for line in dictionary.read_text(encoding="utf-8").splitlines()]
    words += ["太差了", "非常满意", "不", "没有", "很好", "APP", "Wi-Fi", "ok", "İstanbul", "ẞ"]
    pieces = ["，", "。", "！！", "？", " ", "  ", "\t\n ", "\u3000", "123", "6222", "😀", "👍🏻"]
    rng = random.Random(20261205)
    texts = ["", " ", "a", "好", "AB  cd", "\n\n", "转账失败\ud800钱被扣了", "\udcff"]
    while len(texts) < n:
        size = rng.choice([1, 3, 8, 20, 60, 200, 400])
        texts.append("".join(rng.choice(words + pieces) for _ in range(size)))
    return texts


def test_a_lone_surrogate_is_read_as_a_question_mark():
    """A str may hold a lone surrogate (a JSON "\\ud800" escape, a name decoded with
    surrogateescape), which UTF-8 cannot encode; it is scored, not raised on."""
    text = "转账失败\ud800，钱被扣了，太差了"
    expected = nlp.sentiment_scores(["转账失败?，钱被扣了，太差了"])
    assert nlp.sentiment_scores([text]) == expected  # one text alone
    assert nlp.sentiment_scores([text, "好"])[:1] == expected  # in a batch
    assert nlp.sentiment_labels(["\udcff"]) in (["negative"], ["neutral"], ["positive"])


def test_one_text_is_hashed_as_the_batch_vectoriser_hashes_it():
    """The single-text path counts a text's n-gram buckets itself; they must be scikit-learn's
    (lower-casing, folded white space, MurmurHash3 of UTF-8, |hash| mod buckets), or a text
    would score differently alone than in a batch."""
    import numpy as np

    model = load_model()
    for text in [*_varied_texts(400), None, 7]:
        counts = model.raw_counts([text])
        counts.sum_duplicates()
        buckets, n = model._bucket_counts(text)
        assert np.array_equal(buckets, counts.indices), text
        assert np.array_equal(n, counts.data), text


def test_one_text_scores_as_in_a_batch():
    """Scored alone (without sparse matrices) or in a batch, a text gets the same label and
    a score equal to float32 rounding."""
    model = load_model()
    texts = _varied_texts(600)
    batch = model.predict(texts)
    alone = [model.predict([text])[0] for text in texts]
    assert [r.label for r in alone] == [r.label for r in batch]
    assert max(abs(a.score - b.score) for a, b in zip(alone, batch, strict=True)) < 1e-5
    assert max(len(t) for t in texts) > 1_000  # the longest go the batch path even alone
    assert {r.label for r in batch} == {"negative", "neutral", "positive"}


def test_the_bank_only_model_reads_bank_idiom_and_leaves_the_neutral_head_alone(tmp_path):
    """The bank expert's logit is stacked with a model of bank texts alone: the shared expert,
    which sees 70,000 review rows for 572 polar bank ones, reads "下卡了，5万额度" (the card
    came, with a 50,000 limit) as negative. The neutral head reads the expert's own lean, so
    it is unchanged, and the part survives saving."""
    import dataclasses

    import numpy as np

    model = load_model()
    assert model.local_coef is not None and 0.5 < model.local_expert_scale < 1.5
    shared_only = dataclasses.replace(model, local_coef=None)
    texts = ["下卡了，5万额度，满意", "刚申请就秒批了，额度还挺高，开心", "额度一直不提，太抠了"]
    p_pos, p_neu = model.probabilities(*model.encode(texts))
    p_shared, p_neu_shared = shared_only.probabilities(*shared_only.encode(texts))
    assert np.array_equal(p_neu, p_neu_shared)
    assert p_shared[0] < 0.5 < p_pos[0]
    assert p_pos[1] > p_shared[1] and p_pos[2] < p_shared[2]
    model.save(tmp_path / "copy.npz")
    copy = type(model).load(tmp_path / "copy.npz")
    assert copy.local_expert_scale == model.local_expert_scale
    assert copy.scores(texts) == model.scores(texts)
