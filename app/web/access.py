"""Role checks for views: one decorator, used by every staff, manager and admin page."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort
from flask_login import current_user, login_required

from app.models import Role


def roles_required(*roles: Role) -> Callable:
    """Sign-in required; a signed-in user without one of these roles gets 403."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate
