"""Demo data."""

from __future__ import annotations

import click

from app.services import demo as demo_service
from app.services.errors import ServiceError


@click.group("demo")
def demo() -> None:
    """Demo data for trying Kesheng out."""


@demo.command("seed")
@click.option(
    "--customers",
    default=200,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Customers of the demo bank.",
)
@click.option(
    "--responses",
    default=2000,
    show_default=True,
    type=click.IntRange(0, 5_000_000),
    help="Survey answers spread over the past year (the demo campaigns add a few dozen "
    "of their own on top; 0: none at all).",
)
def seed(customers: int, responses: int) -> None:
    """Load a realistic demo bank; safe to run again (it adds nothing twice)."""
    try:
        report = demo_service.seed(customers=customers, responses=responses)
    except ServiceError as err:
        raise click.ClickException(err.message) from err
    click.echo(report.summary())
    click.echo(f"已分析演示文本 {demo_service.analyse_pending_texts()} 条")
    click.echo("\n演示账号（用户名 / 密码）：")
    for username, role, branch, password in report.logins:
        click.echo(f"  {username:<12} {password:<16} {role:<15} {branch}")
