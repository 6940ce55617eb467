"""Tests for retraining without the shared corpora and for the category trainer."""

from nlp.category import classify_complaint, train_category_model
from nlp.sentiment import SentimentModel
from nlp.train import train_sentiment


def test_prior_mode_retrains_from_shipped_model(tmp_path):
    extra = [("账单分期手续费太高了", 0), ("额度秒批，很满意", 1), ("请问怎么还款", 2)] * 4
    report = train_sentiment(None, extra, tmp_path)
    assert report.mode == "prior" and report.size_bytes > 0
    model = SentimentModel.load(report.model_path)
    assert [r.label for r in model.predict(["额度秒批，很满意"])] == ["positive"]


def test_category_model_is_blended_with_rules(tmp_path):
    rows = [("转账一直不到账", "B04.02", "C01", "A05"), ("柜台排队太久", "B01", "C01", "A01")] * 4
    path = tmp_path / "category.npz"
    summary = train_category_model(rows, path)
    assert set(summary) == {"A", "B"}  # a single cause (C01) cannot be learned
    suggestion = classify_complaint("转账不到账", model_path=path)
    assert suggestion.business is not None and suggestion.business.code == "B04.02"


def test_a_trained_category_model_alone_suggests_only_when_fairly_sure(tmp_path):
    """Retrained on the bank's complaints, the category model put a code on every text, praise
    included (1,510 of 1,510 survey answers): alone, without a keyword rule, it must be sure."""
    complaints = [
        ("转账一直不到账，钱扣了对方没收到", "B04.02", "C01", "A05"),
        ("汇款三天了还在处理中，急用钱", "B04.02", "C01", "A05"),
        ("柜台排队太久，等了两个小时", "B01", "C01", "A01"),
        ("办业务排队一上午没人管", "B01", "C01", "A01"),
    ] * 4
    path = tmp_path / "category.npz"
    train_category_model(complaints, path)
    praise = ["整体感觉很顺畅，处理速度很快，谢谢", "非常满意，下次还来", "好评"]
    for text in praise:
        assert classify_complaint(text, model_path=path).business is None, text
    kept = classify_complaint("汇款三天了还在处理中，急用钱", model_path=path).business
    assert kept is not None and kept.code == "B04.02"  # (a text like what it learned)


def test_a_few_corrections_of_one_class_do_not_tip_the_whole_model():
    """Two staff corrections, both negative, refitted with the intercept left free: it alone
    fitted them and ran off, and the refined model called every text negative (bank dev
    accuracy 0.91 -> 0.31). Held to the shipped intercept as the weights are, the model moves
    towards the labels without losing what it knew."""
    from nlp.refine import refine_model
    from nlp.sentiment import DEFAULT_MODEL_PATH

    base = SentimentModel.load(DEFAULT_MODEL_PATH)
    corrections = [("卡片年费扣了也没人通知，太坑了", 0), ("网点排队一个小时没人管", 0)]
    refined = refine_model(base, corrections)
    praise = [
        "柜员服务特别耐心，业务办得又快又好，非常满意",
        "手机银行很好用，转账方便快捷，给个好评",
        "大堂经理热情周到，帮我解决了问题，谢谢",
        "理财经理专业负责又热情，非常感谢，点赞",
    ]
    assert all(score > 0.5 for score in refined.scores(praise))
    before, after = (
        base.scores([t for t, _ in corrections]),
        refined.scores([t for t, _ in corrections]),
    )
    assert all(a <= b for a, b in zip(after, before, strict=True))  # it did learn from them
    drift = max(
        abs(a - b) for a, b in zip(refined.scores(praise), base.scores(praise), strict=True)
    )
    assert drift < 0.2


def test_a_full_fit_stacks_a_bank_only_model_with_the_bank_expert(tmp_path):
    """From corpora (here a tiny one), the bank expert gets a bank-only model, stacked on
    cross-fitted logits; a bank text learnt from scores on its side, and so does the neutral
    head. Refitted on a bank's own labels later, the bank-only part stays as fitted."""
    import random

    import numpy as np

    from nlp.refine import refine_model

    rng = random.Random(7)
    good = ["服务好", "很满意", "额度高", "秒批", "点赞", "方便", "下卡快", "利息低"]
    bad = ["太差", "不满意", "乱收费", "被拒", "态度差", "太慢", "扣年费", "骚扰"]
    ask = ["请问", "怎么办理", "在哪里", "需要什么材料", "几点开门", "如何查询"]

    def rows(words, label, n):
        return [(f"{rng.choice(words)}，{rng.choice(words)}{i}", label) for i in range(n)]

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in {
        "hotel": rows(good, 1, 40) + rows(bad, 0, 40),
        "bank": rows(good, 1, 30) + rows(bad, 0, 30) + rows(ask, 2, 60),
    }.items():
        lines = ["text,label", *(f"{t},{lab}" for t, lab in data)]
        (corpus / f"{name}_train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = train_sentiment(corpus, [], tmp_path / "out")
    model = SentimentModel.load(report.model_path)
    assert model.local_coef is not None and model.local_expert_scale > 0
    assert report.validation["bank_cv_binary_accuracy"] > 0.8
    assert [r.label for r in model.predict(["秒批，很满意", "乱收费，太差", "请问怎么办理"])] == [
        "positive",
        "negative",
        "neutral",
    ]
    refined = refine_model(model, [("额度高，满意", 1), ("乱收费", 0)])
    assert np.array_equal(refined.local_coef, model.local_coef)
    assert refined.local_expert_scale == model.local_expert_scale
