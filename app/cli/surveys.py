"""Survey commands: periodic dispatch, sending a campaign, importing customers, expanding
accepted submissions."""

from __future__ import annotations

from pathlib import Path

import click

from app.models import MAX_ROW_ID
from app.services import campaigns, imports, responses, survey_triggers


@click.group("surveys")
def surveys_group() -> None:
    """Survey distribution (满意度调查分发)."""


@surveys_group.command("dispatch")
def dispatch() -> None:
    """Send due scheduled invitations, retry failed messages, expire links, send reminders,
    and send the campaigns the quiet hours held back once those are over."""
    report = survey_triggers.dispatch_due()
    resumed = campaigns.resume_held()
    click.echo(
        f"发送 {report.sent}，重试 {report.retried}，过期 {report.expired}，提醒 {report.reminded}"
        f"，续发活动 {resumed}"
    )


@surveys_group.command("expand-intake")
def expand_intake() -> None:
    """Make responses of every accepted submission still waiting (the periodic job does the
    same every minute; run it after a broker outage to catch up at once)."""
    click.echo(f"已生成 {responses.expand_all_pending()} 份待处理答卷")


@surveys_group.command("send-campaign")
@click.argument("campaign_id", type=click.IntRange(1, MAX_ROW_ID))
def send_campaign(campaign_id: int) -> None:
    """Send a campaign now (idempotent: nobody is sent twice)."""
    # (an id past the column's range gave SQLite's OverflowError as a traceback)
    before = campaigns.get_campaign(campaign_id).sent_count
    campaign = campaigns.run_campaign(campaign_id)
    click.echo(
        f"{campaign.name}（{campaign.status_label}）：本次发送 {campaign.sent_count - before}；"
        f"累计目标 {campaign.total} 人，已发送 {campaign.sent_count}，跳过 {campaign.skipped_count}"
        + (f"（{campaign.note}）" if campaign.note else "")
    )


def _import_help() -> str:
    columns = "\n".join(
        f"  {' / '.join(names)}" + ("  (required)" if key in imports.REQUIRED else "")
        for key, names in imports.COLUMNS.items()
    )
    return (
        "Import customers from a CSV or XLSX file (all rows or none); a customer number "
        "already known updates that customer.\n\n\b\nColumns, named in the first row (any of "
        f"the names):\n{columns}"
    )


@surveys_group.command("import-customers", help=_import_help())
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_customers(path: Path) -> None:
    try:
        report = imports.import_customers(path.name, path.read_bytes(), actor=None)
    except imports.ImportRejected as err:
        for number, problem in err.report.errors:
            click.echo(f"第 {number} 行：{problem}", err=True)
        raise click.ClickException(err.message) from err
    except imports.ValidationFailed as err:
        raise click.ClickException(err.message) from err
    click.echo(f"共 {report.rows} 行：新增 {report.created}，更新 {report.updated}")
