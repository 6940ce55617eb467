"""Names of branches and staff for busy lists, kept per process.

A list of thirty cases shows each one's branch and handler; reading those names with every
page view costs two queries and thirty ORM objects, for values that change a few times a
year. Here they are read as two small tables at most once a minute per process
(``local_copies``: a rename made through this process shows at once, one made through another
worker within ``TTL_SECONDS``; an id not in the copy reads the tables again).
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Branch, User
from app.services.local_copies import LocalCopy

TTL_SECONDS = 60.0
_names: LocalCopy[dict[str, dict[int, str]]] = LocalCopy(TTL_SECONDS, Branch, User)


def forget() -> None:
    """Drop the copy (a test rolling back its data)."""
    _names.forget()


def _load() -> dict[str, dict[int, str]]:
    return {
        "branches": dict(db.session.execute(select(Branch.id, Branch.name)).tuples().all()),
        "users": dict(db.session.execute(select(User.id, User.display_name)).tuples().all()),
    }


def _lookup(kind: str, key: int | None) -> str | None:
    if key is None:
        return None
    found = _names.get(None, _load)[kind].get(key)
    if found is None:  # added through another worker since the copy was read
        forget()
        found = _names.get(None, _load)[kind].get(key)
    return found


def branch(branch_id: int | None) -> str | None:
    return _lookup("branches", branch_id)


def user(user_id: int | None) -> str | None:
    return _lookup("users", user_id)
