"""WSGI entry point for gunicorn and ``flask --app wsgi``."""

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as err:  # a setting is missing or wrong: name it, without a traceback
    raise SystemExit(f"Error: {err}") from None
