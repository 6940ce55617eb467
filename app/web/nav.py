"""The navigation menu: each blueprint registers its entries with the roles that see them.

An entry is a section of the site: it stays highlighted on the pages below its address (a
case page under 投诉, 监管季报 under 看板) and on pages named as part of it (the survey tabs
触发规则, 消息发件箱 and 导入客户 under 调查活动)."""

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
    also: tuple[str, ...] = ()  # endpoints of further pages of this section


_items: list[NavItem] = []
_links: dict[tuple[str, str], tuple[NavLink, ...]] = {}  # see links_for

STAFF = frozenset({Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER})
MANAGERS = frozenset({Role.BRANCH_MANAGER, Role.HQ_MANAGER})
ADMINS = frozenset({Role.ADMIN})


def add(
    label: str,
    endpoint: str,
    roles: frozenset[Role],
    order: int = 50,
    also: tuple[str, ...] = (),
) -> None:
    if not any(i.endpoint == endpoint for i in _items):
        _items.append(NavItem(label, endpoint, roles, order, also))
        _links.clear()


def items_for(role: str) -> list[NavItem]:
    return sorted((i for i in _items if Role(role) in i.roles), key=lambda i: i.order)


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str
    href: str
    prefixes: tuple[str, ...] = ()  # the addresses this section covers, its own first


def links_for(role: str) -> tuple[NavLink, ...]:
    """The menu of a role with its addresses, built once per process (and script root): the
    menu is on every staff page, and url_for costs ~0.1 ms a call."""
    key = (role, request.script_root)
    found = _links.get(key)
    if found is None:
        found = _links[key] = tuple(_link(i) for i in items_for(role))
    return found


def _link(item: NavItem) -> NavLink:
    href = url_for(item.endpoint)
    return NavLink(item.label, item.endpoint, href, (href, *(url_for(e) for e in item.also)))


def _under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or a page below it (whole path segments only)."""
    return path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")


def active_endpoint(links: tuple[NavLink, ...], path: str) -> str | None:
    """The menu entry whose section holds ``path`` (script root included): the one with the
    longest matching address, so /staff/complaints/7 is 投诉 and not 工作台 (/staff/)."""
    best, length = None, -1
    for link in links:
        for prefix in link.prefixes:
            if len(prefix) > length and _under(path, prefix):
                best, length = link.endpoint, len(prefix)
    return best
