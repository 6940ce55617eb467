"""Errors raised by the survey engine."""

from __future__ import annotations


class DefinitionError(ValueError):
    """A questionnaire definition is malformed; `path` names the field (English keys)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)
