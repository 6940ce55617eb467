"""``flask improvements ...``: reminders before the due date and escalation when overdue."""

from __future__ import annotations

import click

from app.services import improvement_actions


@click.group("improvements")
def improvements_group() -> None:
    """Improvement (整改) commands."""


@improvements_group.command("remind")
def remind() -> None:
    """Remind owners of actions due within 3 days and escalate overdue ones (idempotent)."""
    report = improvement_actions.remind_and_escalate()
    for action_id in report.reminded:
        click.echo(f"已提醒整改措施 {action_id}")
    for action_id in report.escalated:
        click.echo(f"已督办逾期整改措施 {action_id}")
    click.echo(
        f"提醒 {len(report.reminded)} 项，督办 {len(report.escalated)} 项，"
        f"更新 {report.refreshed} 个未关闭问题的效果验证结论"
    )
