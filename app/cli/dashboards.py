"""``flask dashboards ...``: rebuild the rollups, discover topics, write the regulator report."""

from __future__ import annotations

import resource
import time

import click
from flask.cli import with_appcontext

from app.services import rollups


@click.group("dashboards", help="看板：汇总表重建、话题发现（监管统计季报在看板页面导出）")
def dashboards() -> None:
    pass


@dashboards.command("rebuild", help="从原始数据全量重建看板汇总表")
@with_appcontext
def rebuild() -> None:
    started = time.perf_counter()
    counts = rollups.rebuild()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for kind, n in counts.items():
        click.echo(f"{kind}：{n} 行")
    click.echo(f"重建用时 {seconds:.1f} 秒，内存峰值 {peak_mb:.0f} MB")


@dashboards.command(
    "refresh-recent", help="重算今天和昨天的看板汇总（每 10 分钟的补算，无 Redis 时由 cron 运行）"
)
@with_appcontext
def refresh_recent() -> None:
    started = time.perf_counter()
    stored = rollups.refresh_recent()
    click.echo(f"已重算近两天的汇总：{stored} 行，用时 {time.perf_counter() - started:.1f} 秒")


@dashboards.command("topics", help="从近期文本中发现话题并重算客户之声汇总")
@with_appcontext
def topics() -> None:
    from app.services import dashboard_voice, topic_labels

    record = dashboard_voice.discover_topics()
    if record is None:
        raise click.ClickException("已分析的文本太少（至少 4 条），无法发现话题")
    rollups.rebuild(["voice"])
    given = topic_labels.labels(record)  # (names staff gave the same topics before)
    for topic in record.model.get("topics", []):
        label = given.get(int(topic["id"]))
        named = f"  → {label.name}" if label and label.name else ""
        hidden = "  （隐藏）" if label and label.hidden else ""
        click.echo(f"{topic['id']:>3}  {topic['label']}  ({topic['size']} 条){named}{hidden}")
