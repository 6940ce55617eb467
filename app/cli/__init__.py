"""``flask --app wsgi ...`` commands: thin wrappers over services."""

from __future__ import annotations

import functools

import click
from flask import Flask

from app.cli import accounts, branches, dashboards, demo, nlp_commands
from app.cli import complaints as complaint_commands
from app.cli import improvements as improvement_commands
from app.cli import retention as retention_commands
from app.cli import surveys as survey_commands
from app.services.errors import ServiceError

GROUPS = (
    accounts.users,
    accounts.api_tokens,
    branches.branches_group,
    branches.products_group,
    demo.demo,
    nlp_commands.nlp_group,
    complaint_commands.complaints,
    survey_commands.surveys_group,
    improvement_commands.improvements_group,
    dashboards.dashboards,
    retention_commands.retention_group,
)


def register(app: Flask) -> None:
    for group in GROUPS:
        _service_errors_as_messages(group)
        app.cli.add_command(group)


def _service_errors_as_messages(command: click.Command) -> None:
    """A service's refusal (a campaign that does not exist, a value out of range) ends any
    command with its Chinese message on one line and exit status 1, not a traceback."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _service_errors_as_messages(sub)
        return
    callback = command.callback
    if callback is None or getattr(callback, "_service_errors_as_messages", False):
        return

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except ServiceError as err:
            raise click.ClickException(err.message) from err

    run._service_errors_as_messages = True  # type: ignore[attr-defined]
    command.callback = run
