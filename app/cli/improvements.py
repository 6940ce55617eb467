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
        click.echo(f"reminded action {action_id}")
    for action_id in report.escalated:
        click.echo(f"escalated action {action_id}")
    click.echo(
        f"{len(report.reminded)} reminded, {len(report.escalated)} escalated, "
        f"{report.refreshed} open problems' verdicts brought up to date"
    )
