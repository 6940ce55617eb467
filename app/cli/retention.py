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
    click.echo(f"cut-off {report.cutoff.isoformat(timespec='seconds')}")
    for label, value in (
        ("customers anonymised", report.customers),
        ("complaints anonymised", report.complaints),
        ("responses redacted", report.responses),
        ("answers redacted", report.answers),
        ("call notes redacted", report.notes),
        ("message recipients masked", report.messages),
        ("sign-in attempts deleted", report.login_attempts),
        ("rate-limit counters deleted", report.rate_counters),
    ):
        click.echo(f"{label}: {value}")
    click.echo("nothing to change" if not report.changed else f"{report.changed} changes")
