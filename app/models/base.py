"""Declarative base, constraint naming convention, UTC timestamps and encrypted columns."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, Text, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from app.security import pii

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MAX_ROW_ID = 2**31 - 1
"""The largest id any table can hold: ids are ``INTEGER`` (32-bit on PostgreSQL). A larger number
in a URL or a query names no row: it gets 404 (or 422 in a query) before the database sees it."""


def row_id(text: str) -> int | None:
    """``text`` as a row id if it is one (ASCII digits, 1..MAX_ROW_ID), else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """Text stored AES-GCM encrypted (see app.security.pii); plain str in Python."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else pii.encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else pii.decrypt(value)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


db = SQLAlchemy(model_class=Base)


def append_only(model: type, error: type[Exception], message: str) -> None:
    """Refuse every ORM update or delete of ``model``'s rows (archives kept for inspection,
    Art. 28); the migrations add database triggers where the archive is the audit log."""

    def refuse(mapper, connection, target) -> None:
        raise error(message)

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)
