"""Values a process keeps for a few seconds instead of reading them on every page view.

A ``LocalCopy`` holds values by key for ``ttl`` seconds. Any flush in this process that adds,
changes or deletes an object of the models it watches drops them at once, so a change made
through this process shows immediately; one made through another worker shows within ``ttl``.
Only for values where that delay is acceptable (tab counts, display names), never for anything
that decides access.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

V = TypeVar("V")
MAX_KEYS = 10_000
_copies: list[LocalCopy[Any]] = []


class LocalCopy(Generic[V]):
    def __init__(self, ttl: float, *watched: type) -> None:
        self.ttl = ttl
        self.watched = watched
        self.generation = 0  # bumped by every local flush touching a watched model
        self._entries: dict[Hashable, tuple[float, int, V]] = {}
        _copies.append(self)

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The kept value for ``key``, or ``load()`` when it is missing, expired or stale."""
        now = time.monotonic()
        found = self._entries.get(key)
        if found is not None and found[0] > now and found[1] == self.generation:
            return found[2]
        generation = self.generation
        value = load()
        if len(self._entries) >= MAX_KEYS:
            self._entries.clear()
        self._entries[key] = (now + self.ttl, generation, value)
        return value

    def forget(self) -> None:
        self._entries.clear()


def forget_all() -> None:
    """Drop every copy (a test rolling back its data)."""
    for copy in _copies:
        copy.forget()


@event.listens_for(Session, "after_flush")
def _changed(session: Session, _context) -> None:
    touched = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if not touched:
        return
    for copy in _copies:
        if any(issubclass(kind, copy.watched) for kind in touched):
            copy.generation += 1
