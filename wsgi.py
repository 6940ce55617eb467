"""WSGI entry point for gunicorn and ``flask --app wsgi``."""

import sys

from sqlalchemy.exc import OperationalError

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as err:  # a setting is missing or wrong: name it, without a traceback
    raise SystemExit(f"Error: {err}") from None


def _one_line_for_an_unreachable_database(kind, value, traceback) -> None:
    """A command run against a database that does not answer (a wrong host, port or name in
    DATABASE_URL, the server down) says so in one line, not in 150 lines of two tracebacks."""
    if issubclass(kind, OperationalError):
        first = (str(value.orig or value).strip().splitlines() or [""])[0][:300]
        print(f"Error: the database (DATABASE_URL) cannot be used: {first}", file=sys.stderr)
        return
    _previous_hook(kind, value, traceback)


_previous_hook = sys.excepthook
sys.excepthook = _one_line_for_an_unreachable_database
