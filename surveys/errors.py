"""Errors raised by the survey engine."""

from __future__ import annotations

from collections.abc import Sequence


class DefinitionError(ValueError):
    """A questionnaire definition is malformed; `path` names the field (English keys)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    @property
    def errors(self) -> tuple[DefinitionError, ...]:
        """Every fault found; a single error is a list of one."""
        return (self,)


class DefinitionErrors(DefinitionError):
    """Several faults found in one pass, so staff can mend them all before saving again.

    `path` and `message` are those of the first (code that expects one error keeps working);
    `errors` lists every one.
    """

    def __init__(self, errors: Sequence[DefinitionError]) -> None:
        flat = tuple(one for err in errors for one in err.errors)
        super().__init__(flat[0].path, flat[0].message)
        self.args = ("; ".join(str(one) for one in flat),)
        self._all = flat

    @property
    def errors(self) -> tuple[DefinitionError, ...]:
        return self._all


def raise_all(errors: Sequence[DefinitionError]) -> None:
    """Raise the faults collected, if any: one as itself, several as DefinitionErrors."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DefinitionErrors(errors)
