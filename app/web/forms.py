"""The base form: Chinese validator messages, CSRF, service errors attached to fields, and what
a refused form echoes back kept within the field's own limit."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from app.services.errors import ServiceError

# What a field whose values are short by nature (a number, a date, a checkbox, a hidden id or
# return address) echoes at most when it has no limit of its own: the length of the longest
# address browsers and proxies are expected to carry.
SHORT_ECHO = 2000


def echo_limit(field: Any, render_kw: dict[str, Any]) -> int | None:
    """The most characters ``field`` shows back: its ``maxlength`` (given when rendering, in its
    ``render_kw`` or by its Length validator: what the page tells the browser), else
    ``SHORT_ECHO`` for fields that never hold free text; None for free text without a limit (a
    survey's YAML definition), which is shown back whole."""
    for source in (render_kw, getattr(field, "render_kw", None) or {}):
        given = source.get("maxlength")
        if isinstance(given, int) or (isinstance(given, str) and given.isdigit()):
            return int(given)
    flag = getattr(getattr(field, "flags", None), "maxlength", None)
    if isinstance(flag, int) and flag >= 0:
        return flag
    if isinstance(field, HiddenField) or not isinstance(field, StringField):
        return SHORT_ECHO
    return None


def echoed(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, a line break (CR LF, as browsers send it) counting
    once, as the browser counts it against ``maxlength``: a text the browser let through is
    shown back whole; only what no browser form could have sent is cut."""
    return value.replace("\r\n", "\n")[:limit]


class _ShownBack:
    """A field as a refused form renders it again: its value cut to ``limit`` characters (the
    widget reads everything else from the field itself)."""

    def __init__(self, field: Any, limit: int) -> None:
        self._field, self._limit = field, limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._field, name)

    def _value(self) -> str:
        return echoed(self._field._value(), self._limit)


class BaseForm(FlaskForm):
    class Meta:
        locales = ["zh"]

        def render_field(self, field, render_kw):
            """Every field as its widget draws it, except that a posted value longer than the
            field takes (a crafted request: 500 KB in a 3,000-character complaint text, shown
            back in full beside "too long") is echoed cut to the field's limit, as the customers'
            survey form cuts its texts (public/survey/_questions.html)."""
            value = field._value() if hasattr(field, "_value") else None
            if isinstance(value, str):
                limit = echo_limit(field, render_kw)
                if limit is not None and len(value) > limit:
                    field = _ShownBack(field, limit)
            return super().render_field(field, render_kw)

    def attach(self, err: ServiceError) -> None:
        """Show a service error on the fields it names, or above the form."""
        placed = False
        for name, message in err.fields.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, message]
                placed = True
        if not placed:
            self.form_errors.append(err.message)
