"""``flask complaints ...``: e-mail intake and the deadline sweep."""

from __future__ import annotations

import click

from app.services import complaint_escalation, complaint_mail


@click.group("complaints")
def complaints() -> None:
    """Complaint intake and deadline commands."""


@complaints.command("import-mail")
@click.argument("path", type=click.Path(exists=True, dir_okay=True))
def import_mail(path: str) -> None:
    """Import .eml files (a file or a folder) or an mbox as e-mail complaints. Exit status 1
    when a message could not be imported (the others are stored), so a scheduler notices."""
    report = complaint_mail.import_mail(path)
    for ref in report.created:
        click.echo(f"created {ref}")
    for ref in report.duplicates:
        click.echo(f"already imported {ref}")
    for line in report.skipped_attachments:
        click.echo(f"attachment skipped: {line}")
    for line in report.failed:
        click.echo(f"failed: {line}", err=True)
    click.echo(
        f"{len(report.created)} created, {len(report.duplicates)} already imported, "
        f"{len(report.failed)} failed"
    )
    if report.failed:
        raise SystemExit(1)


@complaints.command("poll-imap")
def poll_imap() -> None:
    """Import unread messages from the mailbox configured with IMAP_HOST/IMAP_USER/..."""
    from flask import current_app

    settings = complaint_mail.imap_settings(current_app.config)
    if settings is None:
        raise click.ClickException("IMAP_HOST is not configured")
    report = complaint_mail.poll_imap(settings)
    for ref in report.created:
        click.echo(f"created {ref}")
    for line in report.failed:
        click.echo(f"failed: {line}", err=True)
    click.echo(f"{len(report.created)} created, {len(report.duplicates)} already imported")


@complaints.command("deliver-notices")
def deliver_notices() -> None:
    """Retry customer notices whose delivery failed (back-off passed) or whose job was lost."""
    from app.services import notify

    click.echo(f"{notify.deliver_due()} notices attempted")


@complaints.command("sweep-deadlines")
def sweep_deadlines() -> None:
    """Escalate every complaint past its deadline (safe to run as often as wanted)."""
    refs = complaint_escalation.sweep_deadlines()
    for ref in refs:
        click.echo(f"escalated {ref}")
    click.echo(f"{len(refs)} overdue complaints escalated")
