"""In-process domain events: one area announces a fact, another reacts in the same transaction.

Complaints publish ``complaint.closed``; the survey side subscribes to schedule the
complaint-resolution survey. Handlers run inside the publisher's transaction (they only flush),
so the fact and its consequences commit or roll back together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    type: str
    occurred_at: datetime
    customer_id: int | None = None
    branch_id: int | None = None
    product_id: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event_type: str, handler: Handler) -> None:
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def publish(event: DomainEvent) -> None:
    """Call every handler of this event type, in subscription order, inside the caller's tx."""
    for handler in list(_handlers.get(event.type, ())):
        handler(event)
