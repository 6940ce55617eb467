"""The base form: Chinese validator messages, CSRF, and service errors attached to fields."""

from __future__ import annotations

from flask_wtf import FlaskForm

from app.services.errors import ServiceError


class BaseForm(FlaskForm):
    class Meta:
        locales = ["zh"]

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
