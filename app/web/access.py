"""Role checks for views: one decorator, used by every staff, manager and admin page."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort
from flask_login import current_user, login_required

from app.models import Role

# Who may read the audit log: its pages, and the links to it from other pages (a complaint's).
# Head office reads it too: its consumer-protection staff supervise how cases were handled
# (who saw, changed or decided what), and the administrator cannot open a case.
AUDIT_READERS = (Role.ADMIN, Role.HQ_MANAGER)


def may_read_audit_log(user) -> bool:
    """Whether ``user`` (signed in or not) may open the audit log."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*AUDIT_READERS)


# Who may open a survey response's page (staff 答卷详情, ``staff.response_detail``), and so be
# linked to it from other pages (the dashboards' 问卷结果); the branch scope decides which ones.
RESPONSE_READERS = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)


def may_open_responses(user) -> bool:
    """Whether ``user`` (signed in or not) may open survey responses' pages."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*RESPONSE_READERS)


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
