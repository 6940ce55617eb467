"""Staff accounts and API tokens from the command line."""

from __future__ import annotations

import sys

import click

from app.models import Role
from app.services import tokens
from app.services import users as user_service
from app.services.errors import ServiceError


@click.group("users")
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--branch", "branch_code", default=None, help="branch code, e.g. HZ01")
@click.option("--display-name", default=None)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_user(username, role, branch_code, display_name, password_stdin) -> None:
    """Add a staff account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = user_service.create_user(
            username, role, password, branch_code=branch_code, display_name=display_name
        )
    except ServiceError as err:
        raise click.ClickException(err.message) from err
    branch = user.branch.code if user.branch else "-"
    click.echo(f"created user {user.username} (role {user.role}, branch {branch})")


@click.group("api-tokens")
def api_tokens() -> None:
    """Integration tokens."""


@api_tokens.command("create")
@click.option("--name", required=True)
@click.option(
    "--scopes",
    default=None,
    help="comma-separated; none means all: " + ",".join(sorted(tokens.SCOPES)),
)
def create_token(name, scopes) -> None:
    """Print a new bearer token as the last line."""
    try:
        issued = tokens.create_token(name, scopes)
    except ServiceError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"token {issued.token.name} scopes: {issued.token.scopes}", err=True)
    click.echo(issued.secret)
