"""The demo bank: a branch tree, products, plausible customers, one account per role."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.models import Branch, Customer, Product, Role, User
from app.services.demo import ID_CHECK, ID_WEIGHTS


def test_branch_tree_shape(db_session):
    branches = db_session.scalars(select(Branch)).all()
    kinds = [b.kind for b in branches]
    assert kinds.count("head_office") == 1 and kinds.count("branch") == 3
    assert kinds.count("sub_branch") == 12
    for b in branches:
        if b.parent is not None:
            assert b.path.startswith(b.parent.path)


def test_every_role_has_an_account(db_session):
    roles = set(db_session.scalars(select(User.role)))
    assert roles == {r.value for r in Role}


def test_customers_are_plausible(db_session):
    customers = db_session.scalars(select(Customer)).all()
    assert len(customers) >= 40
    assert len({c.name for c in customers}) > len(customers) * 0.8
    for c in customers:
        assert re.fullmatch(r"1[3-9]\d{9}", c.phone)
        assert c.branch.kind == "sub_branch"
        if c.id_number:
            total = sum(int(d) * w for d, w in zip(c.id_number[:17], ID_WEIGHTS, strict=True))
            assert c.id_number[17] == ID_CHECK[total % 11]
    assert db_session.scalar(select(func.count(Product.id))) >= 10


def test_the_default_demo_seed_loads_and_is_repeatable(app, backend, db_session):
    """The README's first command seeds with the defaults; it must never fail."""
    if backend != "sqlite":
        pytest.skip("one backend is enough for the data generator; the services run on both")
    from app.models import Complaint, Problem, Response
    from app.services import demo

    first = demo.seed()
    assert first.customers_added == 200 - 40

    def counted():
        return [db_session.scalar(select(func.count(m.id))) for m in (Response, Complaint, Problem)]

    counts = counted()
    assert counts[0] >= 2000 and counts[1] >= 300 and counts[2] >= 15
    from app.models import Invitation

    made = db_session.execute(select(Invitation.created_at, Invitation.sent_at)).all()
    assert made and all(created <= sent for created, sent in made if sent)  # made, then sent
    again = demo.seed()
    assert again.customers_added == 0
    assert [
        db_session.scalar(select(func.count(m.id))) for m in (Response, Complaint, Problem)
    ] == (counts)


def test_demo_complaints_have_no_history_in_the_future(db_session):
    """Demo cases walk their steps forward from receipt; a recent case's steps stop at now
    (a pause dated after today would break the clock's rules)."""
    from app.models import utcnow
    from app.models.complaint import Complaint, ComplaintEvent
    from app.services import complaint_clock as clock

    now = utcnow()
    assert (
        db_session.scalar(select(func.count(ComplaintEvent.id)).where(ComplaintEvent.at > now)) == 0
    )
    today = clock.local_date(now)
    for complaint in db_session.scalars(select(Complaint)):
        assert all(p[0] <= today.isoformat() for p in complaint.pauses or [])
