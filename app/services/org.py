"""The branch tree as the viewer may see it, with simple counts for the overview."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Branch, Customer, Product, User
from app.services import scope


@dataclass(frozen=True)
class BranchRow:
    branch: Branch
    customers: int
    staff: int


def branch_overview() -> list[BranchRow]:
    """Branches inside the viewer's scope in tree order, with customer and staff counts."""
    visible = scope.current(db.session)
    branches = db.session.scalars(
        select(Branch).where(Branch.id.in_(scope.branch_ids_in(visible))).order_by(Branch.path)
    ).all()
    customers = dict(
        db.session.execute(select(Customer.branch_id, func.count()).group_by(Customer.branch_id))
        .tuples()
        .all()
    )
    staff = dict(
        db.session.execute(select(User.branch_id, func.count()).group_by(User.branch_id))
        .tuples()
        .all()
    )
    return [BranchRow(b, customers.get(b.id, 0), staff.get(b.id, 0)) for b in branches]


def list_branches() -> list[Branch]:
    return list(db.session.scalars(select(Branch).order_by(Branch.path)))


def list_products() -> list[Product]:
    return list(db.session.scalars(select(Product).order_by(Product.code)))
