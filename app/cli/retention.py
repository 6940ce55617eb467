"""``flask retention run``: anonymise personal data past RETENTION_DAYS (idempotent)."""

from __future__ import annotations

import click

from app.services import retention


@click.group("retention")
def retention_group() -> None:
    """Personal-data retention commands."""


@retention_group.command("run")
@click.option("--days", type=click.IntRange(min=1), help="override RETENTION_DAYS for this run")
def run(days: int | None) -> None:
    """Anonymise customers, closed complaints and free text older than the retention period."""
    report = retention.run_retention(days=days)
    click.echo(f"截止时间 {report.cutoff.isoformat(timespec='seconds')}")
    for label, value in (
        ("客户已匿名化", report.customers),
        ("投诉已匿名化", report.complaints),
        ("答卷已脱敏", report.responses),
        ("答题已脱敏", report.answers),
        ("回访记录已脱敏", report.notes),
        ("消息收件人已遮蔽", report.messages),
        ("登录尝试记录已删除", report.login_attempts),
        ("限流计数已删除", report.rate_counters),
    ):
        click.echo(f"{label}：{value}")
    click.echo("没有需要处理的数据" if not report.changed else f"共处理 {report.changed} 项")
