"""Searching the audit log for one record: by the name staff know it by, or a word in an entry.

An auditor asks "what happened to complaint TS20261122-000123" (or customer C20260417, staff
account zhangsan): a search text that is exactly such a name finds every entry about that
record through the index on (object_type, object_id), whether or not the entry's details
repeat the name. Any text also finds the entries that contain it in their reason (事由) or
their details, and those whose object id it is.

The details are a JSON column, stored as JSON text with non-ASCII characters written as
``\\uXXXX`` escapes (the JSON serializer's default), on SQLite and PostgreSQL alike: a Chinese
word is looked for both as typed and in that escaped form, so 张三 finds ``"\\u5f20\\u4e09"``.
The substring tests read the rows the other filters leave; the dates narrow them.
"""

from __future__ import annotations

import json

from sqlalchemy import (
    ColumnElement,
    String,
    Text,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)

from app.extensions import db
from app.models import ApiToken, AuditLog, Complaint, Customer, Problem, Survey, User
from app.services.rollups import ALL

MAX_QUERY = 100


def _named(q: str) -> list:
    """For each kind of object, the statement selecting (kind, id) of the rows named ``q``."""
    return [
        select(literal("complaint", String), Complaint.id).where(Complaint.reference == q.upper()),
        select(literal("customer", String), Customer.id).where(Customer.external_id == q),
        select(literal("staff_user", String), User.id).where(
            func.lower(User.username) == q.lower()
        ),
        select(literal("api_token", String), ApiToken.id).where(ApiToken.name == q),
        select(literal("problem", String), Problem.id).where(Problem.title == q),
        select(literal("survey", String), Survey.id).where(Survey.title == q),
    ]


def named_objects(q: str) -> dict[str, list[str]]:
    """{object type: [ids]} of the records whose name (reference, customer number, user name,
    title) is exactly ``q``; one statement. Branch scope does not apply: the log covers the
    whole bank."""
    found: dict[str, list[str]] = {}
    stmt = union_all(*_named(q)).execution_options(**ALL)
    for kind, ident in db.session.execute(stmt):
        found.setdefault(kind, []).append(str(ident))
    return found


def _needles(q: str) -> set[str]:
    """``q`` lower-cased as typed, and as JSON text writes it (``\\u5f20`` for 张)."""
    return {q.lower(), json.dumps(q)[1:-1].lower()}


def condition(q: str) -> ColumnElement[bool]:
    """Entries about the record named ``q``, with ``q`` as their object id, or containing
    ``q`` (any letter case) in their reason or details."""
    detail = func.lower(cast(AuditLog.detail, Text))
    matches: list[ColumnElement[bool]] = [
        AuditLog.object_id == q,
        func.lower(AuditLog.reason).contains(q.lower(), autoescape=True),
        *(detail.contains(needle, autoescape=True) for needle in _needles(q)),
    ]
    for kind, ids in named_objects(q).items():
        matches.append(and_(AuditLog.object_type == kind, AuditLog.object_id.in_(ids)))
    return or_(*matches)
