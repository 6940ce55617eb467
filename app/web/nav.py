"""The navigation menu: each blueprint registers its entries with the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: frozenset[Role]
    order: int


_items: list[NavItem] = []

STAFF = frozenset({Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER})
MANAGERS = frozenset({Role.BRANCH_MANAGER, Role.HQ_MANAGER})
ADMINS = frozenset({Role.ADMIN})


def add(label: str, endpoint: str, roles: frozenset[Role], order: int = 50) -> None:
    if not any(i.endpoint == endpoint for i in _items):
        _items.append(NavItem(label, endpoint, roles, order))


def items_for(role: str) -> list[NavItem]:
    return sorted((i for i in _items if Role(role) in i.roles), key=lambda i: i.order)
