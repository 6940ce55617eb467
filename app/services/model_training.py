"""Retraining the text-analysis models from the bank's corrected labels (``flask nlp train``).

A new model replaces the active one only when it is at least as good on the evaluation set:
the given labelled files plus a held-out fifth of the bank's own corrections (split by a hash of
the text, so the same texts are held out on every run).
"""

from __future__ import annotations

import csv
import filecmp
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

import nlp
from app.extensions import db
from app.models import Complaint
from app.services import analysis
from nlp import train as nlp_train

MIN_CATEGORY_ROWS = 20
# A model is judged on at least this many labelled texts: one or two held-out corrections say
# nothing about how it does on the bank's text at large (a refit on two corrections that
# "matched" on one held-out text once replaced a 0.91 model with a 0.31 one).
MIN_EVAL_ROWS = 30


def _held_out(text: str) -> bool:
    return int(hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest(), 16) % 5 == 0


def _write_csv(rows: list[tuple[str, int]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def _mean_f1(evaluation: dict[str, dict]) -> float:
    scores = [m["macro_f1"] for m in evaluation.values() if m.get("n")]
    return sum(scores) / len(scores) if scores else 0.0


def _unchanged(source: Path, model_dir: Path) -> bool:
    """Whether the model just trained is the one installed, byte for byte (training is
    deterministic: a nightly run with no new labels rebuilds the same file, and installing it
    again would only ask the operator to restart every process for nothing)."""
    installed = model_dir / source.name
    return installed.exists() and filecmp.cmp(source, installed, shallow=False)


def _install(source: Path, model_dir: Path) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    staged = model_dir / (source.name + ".new")
    shutil.copyfile(source, staged)
    os.replace(staged, model_dir / source.name)  # atomic: a reader never sees half a file


def retrain_sentiment(
    *, data_dir: Path | None, eval_files: list[Path], model_dir: Path, work: Path
) -> dict[str, Any]:
    labels = analysis.corrected_sentiment_labels()
    train = [(t, y) for t, y in labels if not _held_out(t)]
    sets = {Path(p).stem: Path(p) for p in eval_files}
    held = [(t, y) for t, y in labels if _held_out(t)]
    if held:
        sets["bank_corrections_held_out"] = _write_csv(held, work / "held_out.csv")
    if data_dir is None and not train:
        return {"replaced": False, "reason": "没有训练数据：既未指定 --data，也没有人工更正的标签"}
    from nlp.evaluate import evaluate_file

    current = {name: evaluate_file(path) for name, path in sets.items()}
    n_eval = sum(m["n"] for m in current.values())
    if n_eval < MIN_EVAL_ROWS:
        return {
            "replaced": False,
            "reason": f"评估集仅 {n_eval} 条（至少 {MIN_EVAL_ROWS} 条）："
            "请用 --eval 指定带标签的 CSV，模型未重新训练",
        }
    report = nlp_train.train_sentiment(data_dir, train, work / "new", eval_sets=sets)
    new_f1, old_f1 = _mean_f1(report.evaluation), _mean_f1(current)
    unchanged = _unchanged(Path(report.model_path), model_dir)
    replaced = new_f1 >= old_f1 and not unchanged
    if replaced:
        _install(Path(report.model_path), model_dir)
    return {
        "replaced": replaced,
        **({"reason": "新模型与当前模型完全相同，无需替换"} if unchanged else {}),
        "new_macro_f1": round(new_f1, 4),
        "current_macro_f1": round(old_f1, 4),
        "training_rows": report.n_rows,
        "corrections_used": len(train),
        "corrections_held_out": len(held),
        "evaluation": report.evaluation,
    }


def _category_rows() -> list[tuple[str, str, str]]:
    """Staff-confirmed categories: corrected analyses and the codes of closed complaints."""
    rows = analysis.corrected_category_rows()
    closed = db.session.execute(
        select(Complaint.content, Complaint.code_business, Complaint.code_cause).where(
            Complaint.status == "closed",
            Complaint.code_business.is_not(None),
            Complaint.code_cause.is_not(None),
        )
    )
    return rows + [(nlp.redact(c).text, b, k) for c, b, k in closed]


def _category_accuracy(rows: list[tuple[str, str, str]], model_path: Path | None) -> float:
    hits = 0
    for text, business, cause in rows:
        pick = nlp.classify_complaint(text, model_path=model_path)
        hits += int(bool(pick.business and pick.business.code == business))
        hits += int(bool(pick.cause and pick.cause.code == cause))
    return hits / (2 * len(rows)) if rows else 0.0


def retrain_category(*, model_dir: Path, work: Path) -> dict[str, Any]:
    rows = _category_rows()
    train = [r for r in rows if not _held_out(r[0])]
    held = [r for r in rows if _held_out(r[0])]
    if len(train) < MIN_CATEGORY_ROWS or not held:
        return {"replaced": False, "reason": f"已确认分类的文本不足（{len(rows)} 条）"}
    try:
        summary = nlp_train.train_category_model(train, work / "category.npz")
    except ValueError as err:
        return {"replaced": False, "reason": str(err)}
    new_acc = _category_accuracy(held, work / "category.npz")
    old_acc = _category_accuracy(held, None)
    unchanged = _unchanged(work / "category.npz", model_dir)
    replaced = new_acc >= old_acc and not unchanged
    if replaced:
        _install(work / "category.npz", model_dir)
    return {
        "replaced": replaced,
        **({"reason": "新模型与当前模型完全相同，无需替换"} if unchanged else {}),
        "new_accuracy": round(new_acc, 4),
        "current_accuracy": round(old_acc, 4),
        "rows": len(rows),
        "classes": summary,
    }


PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_CORPUS = PROJECT_ROOT.parent / "shared" / "data" / "sentiment"


def default_corpus(configured: str | None) -> Path | None:
    """The corpora a plain ``flask nlp train`` refits on: ``NLP_CORPUS_DIR``, else the shared
    ``../shared/data/sentiment`` when it is there; None (refine the active model with the
    bank's corrections only) when neither holds any ``*_train.csv``."""
    for candidate in (Path(configured) if configured else None, SHARED_CORPUS):
        if candidate is not None and candidate.is_dir() and any(candidate.glob("*_train.csv")):
            return candidate
    return None


def default_eval_files(corpus: Path | None) -> list[Path]:
    """The labelled development samples beside the corpora (``sentiment_dev_*.csv``, never
    trained on), which a new model must do at least as well on as the active one."""
    if corpus is None:
        return []
    return sorted(corpus.parent.glob("sentiment_dev_*.csv"))


def retrain(*, data_dir: Path | None, eval_files: list[Path], model_dir: Path) -> dict[str, Any]:
    """Retrain both models; each replaces the active one only if it is at least as good."""
    with tempfile.TemporaryDirectory(prefix="kesheng-train-") as tmp:
        work = Path(tmp)
        result = {
            "sentiment": retrain_sentiment(
                data_dir=data_dir, eval_files=eval_files, model_dir=model_dir, work=work
            ),
            "category": retrain_category(model_dir=model_dir, work=work),
        }
    nlp.use_model_dir(model_dir)
    result["model_version"] = nlp.model_version()
    return result
