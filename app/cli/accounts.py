"""Staff accounts and API tokens from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.cli.branches import run_import
from app.models import Role
from app.services import tokens, user_import
from app.services import users as user_service
from app.services.errors import ServiceError


@click.group("users")
def users() -> None:
    """Staff accounts."""


ROLES = ", ".join(r.value for r in Role)
PASSWORD_STDIN = click.option(
    "--password-stdin", is_flag=True, help="read the password from standard input"
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码 (Password)", hide_input=True, confirmation_prompt=True)


@users.command("create")
@click.option("--username", required=True)
# (checked by the service, which says in Chinese which roles there are, as for every other
# refused value, rather than click's English "Invalid value")
@click.option("--role", required=True, help=f"one of: {ROLES}")
@click.option("--branch", "branch_code", default=None, help="branch code, e.g. HZ01")
@click.option("--display-name", default=None)
@PASSWORD_STDIN
def create_user(username, role, branch_code, display_name, password_stdin) -> None:
    """Add a staff account."""
    try:
        if not password_stdin:  # (no password typed twice for an account that would be refused)
            user_service.check_new_user(username, role, branch_code)
        password = _password(password_stdin)
        user = user_service.create_user(
            username, role, password, branch_code=branch_code, display_name=display_name
        )
    except ServiceError as err:
        raise click.ClickException(err.message) from err
    branch = user.branch.code if user.branch else "-"
    click.echo(f"已创建员工账号 {user.username}（角色 {user.role}，机构 {branch}）")


@users.command("reset-password")
@click.option("--username", required=True)
@PASSWORD_STDIN
def reset_password(username, password_stdin) -> None:
    """Set a new password for a staff account; its sessions end."""
    password = _password(password_stdin)
    try:
        user = user_service.reset_password(
            user_service.user_by_username(username).id, password, actor=None
        )
    except ServiceError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"已重置 {user.username} 的密码，并结束其全部登录会话")


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
    if scopes is not None and not scopes.strip(" ,"):
        # (a script passing an empty variable must not get a token for everything)
        raise click.ClickException("--scopes 为空；要授予全部权限请省略该选项")
    try:
        issued = tokens.create_token(name, scopes)
    except ServiceError as err:
        raise click.ClickException(err.message) from err
    click.echo(f"token {issued.token.name} scopes: {issued.token.scopes}", err=True)
    click.echo(issued.secret)


@users.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_users(path: Path) -> None:
    """Create staff accounts from a CSV (or XLSX) file with the columns username, display_name,
    role, branch (用户名、姓名、角色、所属机构代码); all rows or none. Prints each new account's
    initial password once (tab-separated), to hand to its holder, who changes it at the first
    sign-in."""
    report = run_import(user_import.import_users, path)
    click.echo("用户名\t姓名\t初始密码")
    for username, name, password in report.passwords:
        click.echo(f"{username}\t{name}\t{password}")
    click.echo(
        f"已创建员工账号 {report.created} 个；初始密码只显示这一次，本人首次登录时须修改", err=True
    )
