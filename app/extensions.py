"""Flask extensions, created unbound; create_app binds them."""

from __future__ import annotations

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app.models.base import db

__all__ = ["csrf", "db", "login_manager", "migrate"]
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
