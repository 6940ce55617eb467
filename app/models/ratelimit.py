"""Request counters per key and time window, shared by every worker process (rate limiting)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import db


class RateLimitCounter(db.Model):
    """How many hits ``key`` (e.g. ``survey-link:203.0.113.7``) had in the window that starts at
    ``window_start``. Kept in the database so that every gunicorn worker sees the same count."""

    __tablename__ = "rate_limit_counter"
    __table_args__ = (UniqueConstraint("key", "window_start", name="uq_rate_limit_key_window"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))
    window_start: Mapped[datetime] = mapped_column(index=True)
    hits: Mapped[int] = mapped_column(default=0)
