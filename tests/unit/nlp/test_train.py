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
