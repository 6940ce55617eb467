"""``flask nlp ...``: re-analyse saved texts, evaluate and retrain the models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from app.services import analysis
from app.services import complaint_clock as clock


@click.group("nlp")
def nlp_group() -> None:
    """Chinese text analysis."""


@nlp_group.command("analyze")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="re-analyse texts saved since this day (YYYY-MM-DD, a Beijing day)",
)
@click.option("--all", "everything", is_flag=True, help="re-analyse every text")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
def analyze(since: datetime | None, everything: bool, batch_size: int) -> None:
    """Analyse pending and outdated texts (or all of them) in batches, with a progress bar."""
    if since and everything:  # (--all was ignored without a word)
        raise click.UsageError("--since and --all exclude each other: --all re-analyses every text")
    # a Beijing day, as every date the product shows (read as UTC it began 8 hours late)
    since_utc = since.replace(tzinfo=clock.TZ).astimezone(UTC) if since else None
    items = analysis.work_list(since=since_utc, everything=everything)
    with click.progressbar(length=len(items), label="分析中", show_pos=True) as bar:
        done = analysis.analyze_in_batches(items, batch_size, progress=bar.update)
    click.echo(f"已分析 {done} / {len(items)} 条文本")


@nlp_group.command("evaluate")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False))
def evaluate(data: str) -> None:
    """Print accuracy, macro-F1, per-class F1 and speed as JSON (CSV columns text,label)."""
    import csv

    from nlp import evaluate as nlp_evaluate
    from nlp.sentiment import load_model
    from nlp.train import load_labelled_csv

    try:
        rows = load_labelled_csv(Path(data))
    except UnicodeDecodeError as err:
        raise click.ClickException(
            f"cannot evaluate {data}: not UTF-8 text (byte {err.start}); save it as UTF-8 CSV"
        ) from err
    except (OSError, ValueError, csv.Error) as err:
        raise click.ClickException(f"cannot evaluate {data}: {err}") from err
    if not rows:
        raise click.ClickException(f"cannot evaluate {data}: no rows after the text,label header")
    model = load_model()
    model.warm_up()  # the speed is the model's own, not its loading
    import nlp

    # (which model the figures are of: the shipped one or a deployment's retrained one)
    report = {"file": data, "model_version": nlp.model_version()}
    report |= nlp_evaluate.evaluate_rows(rows, model=model)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@nlp_group.command("train")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="directory of *_train.csv corpora (default: NLP_CORPUS_DIR, else ../shared/data/"
    "sentiment beside the project when present; with neither, the active model is refined "
    "with the bank's corrected labels only)",
)
@click.option(
    "--corrections-only",
    is_flag=True,
    help="refine the active model with the bank's corrected labels only, even with corpora",
)
@click.option(
    "--eval",
    "eval_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="labelled CSV (text,label) to compare the new model with the active one (default: "
    "the sentiment_dev_*.csv samples beside the corpora, plus held-out corrections)",
)
def train(data_dir: str | None, corrections_only: bool, eval_files: tuple[str, ...]) -> None:
    """Retrain sentiment and category models; replace the active ones only if as good or better."""
    from flask import current_app

    from app.services import model_training

    corpus = Path(data_dir) if data_dir else None
    if corpus is None and not corrections_only:
        corpus = model_training.default_corpus(current_app.config.get("NLP_CORPUS_DIR"))
    evaluation = [Path(p) for p in eval_files] or model_training.default_eval_files(corpus)
    click.echo(
        f"training on: {corpus or 'the active model and the corrected labels'}; "
        f"evaluating on: {', '.join(p.name for p in evaluation) or 'held-out corrections'}",
        err=True,
    )
    result = model_training.retrain(
        data_dir=corpus,
        eval_files=evaluation,
        model_dir=Path(current_app.config["NLP_MODEL_DIR"]),
    )
    if any(part.get("replaced") for part in (result["sentiment"], result["category"])):
        # each process loads a model once (gunicorn's master before forking its workers)
        click.echo(
            "新模型已安装。请重启 Web（gunicorn）和 Celery worker 进程，新分析才会使用新模型。",
            err=True,
        )
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
