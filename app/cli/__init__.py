"""``flask --app wsgi ...`` commands: thin wrappers over services."""

from __future__ import annotations

from flask import Flask

from app.cli import accounts, dashboards, demo, nlp_commands
from app.cli import complaints as complaint_commands
from app.cli import improvements as improvement_commands
from app.cli import retention as retention_commands
from app.cli import surveys as survey_commands


def register(app: Flask) -> None:
    app.cli.add_command(accounts.users)
    app.cli.add_command(accounts.api_tokens)
    app.cli.add_command(demo.demo)
    app.cli.add_command(nlp_commands.nlp_group)
    app.cli.add_command(complaint_commands.complaints)
    app.cli.add_command(survey_commands.surveys_group)
    app.cli.add_command(improvement_commands.improvements_group)
    app.cli.add_command(dashboards.dashboards)
    app.cli.add_command(retention_commands.retention_group)
