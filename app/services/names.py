"""Names of branches and staff for busy lists, kept per process.

A list of thirty cases shows each one's branch and handler; reading those names with every
page view costs two queries and thirty ORM objects, for values that change a few times a
year. Here they are read as two small tables at most once a minute per process; a rename made
through this process shows at once (any flush touching a branch or a staff account drops the
copy), one made through another worker within ``TTL_SECONDS``.
"""

from __future__ import annotations

import time

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Branch, User

TTL_SECONDS = 60.0


class _Names:
    def __init__(self) -> None:
        self.until = 0.0
        self.generation = 0
        self.loaded_generation = -1
        self.branches: dict[int, str] = {}
        self.users: dict[int, str] = {}


_names = _Names()


@event.listens_for(Session, "after_flush")
def _renamed(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Branch | User):
            _names.generation += 1
            return


def forget() -> None:
    """Drop the copies (a test rolling back its data)."""
    _names.until = 0.0


def _current() -> _Names:
    now = time.monotonic()
    if _names.until <= now or _names.loaded_generation != _names.generation:
        generation = _names.generation
        _names.branches = dict(db.session.execute(select(Branch.id, Branch.name)).tuples().all())
        _names.users = dict(db.session.execute(select(User.id, User.display_name)).tuples().all())
        _names.until, _names.loaded_generation = now + TTL_SECONDS, generation
    return _names


def _lookup(kind: str, key: int | None) -> str | None:
    if key is None:
        return None
    found = getattr(_current(), kind).get(key)
    if found is None:  # added through another worker since the copy was read
        forget()
        found = getattr(_current(), kind).get(key)
    return found


def branch(branch_id: int | None) -> str | None:
    return _lookup("branches", branch_id)


def user(user_id: int | None) -> str | None:
    return _lookup("users", user_id)
