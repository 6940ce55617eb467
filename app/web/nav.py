"""The navigation menu: each blueprint registers its entries with the roles that see them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for

from app.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: frozenset[Role]
    order: int


_items: list[NavItem] = []
_links: dict[tuple[str, str], tuple[NavLink, ...]] = {}  # see links_for

STAFF = frozenset({Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER})
MANAGERS = frozenset({Role.BRANCH_MANAGER, Role.HQ_MANAGER})
ADMINS = frozenset({Role.ADMIN})


def add(label: str, endpoint: str, roles: frozenset[Role], order: int = 50) -> None:
    if not any(i.endpoint == endpoint for i in _items):
        _items.append(NavItem(label, endpoint, roles, order))
        _links.clear()


def items_for(role: str) -> list[NavItem]:
    return sorted((i for i in _items if Role(role) in i.roles), key=lambda i: i.order)


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str
    href: str


def links_for(role: str) -> tuple[NavLink, ...]:
    """The menu of a role with its addresses, built once per process (and script root): the
    menu is on every staff page, and url_for costs ~0.1 ms a call."""
    key = (role, request.script_root)
    found = _links.get(key)
    if found is None:
        found = _links[key] = tuple(
            NavLink(i.label, i.endpoint, url_for(i.endpoint)) for i in items_for(role)
        )
    return found
