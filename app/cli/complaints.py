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
        click.echo(f"已登记 {ref}")
    for ref in report.duplicates:
        click.echo(f"此前已导入 {ref}")
    for line in report.skipped_attachments:
        click.echo(f"附件未保存：{line}")
    for line in report.failed:
        click.echo(f"导入失败：{line}", err=True)
    click.echo(
        f"新登记 {len(report.created)} 件，此前已导入 {len(report.duplicates)} 件，"
        f"失败 {len(report.failed)} 件"
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
        click.echo(f"已登记 {ref}")
    for line in report.failed:
        click.echo(f"导入失败：{line}", err=True)
    click.echo(f"新登记 {len(report.created)} 件，此前已导入 {len(report.duplicates)} 件")


@complaints.command("deliver-notices")
def deliver_notices() -> None:
    """Retry customer notices whose delivery failed (back-off passed) or whose job was lost."""
    from app.services import notify

    click.echo(f"已尝试发送 {notify.deliver_due()} 条告知")


@complaints.command("sweep-deadlines")
def sweep_deadlines() -> None:
    """Escalate every complaint past its deadline (safe to run as often as wanted)."""
    refs = complaint_escalation.sweep_deadlines()
    for ref in refs:
        click.echo(f"已升级督办 {ref}")
    click.echo(f"共升级督办超期投诉 {len(refs)} 件")
