"""Transaction helpers shared by every service module."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from app.extensions import db
from app.services.errors import NotFound

P = ParamSpec("P")
R = TypeVar("R")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Commit when the use case returns, roll back when it raises."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise

    return run


def get_or_raise(model: type[Any], ident: Any, message: str = "记录不存在") -> Any:
    """The row with this primary key, seen through the current branch scope, or NotFound."""
    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(message)
    return row
