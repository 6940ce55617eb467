"""The branch tree as the viewer may see it, with simple counts for the overview."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Branch, Customer, Product, Role, User
from app.services import audit, scope
from app.services.errors import ValidationFailed
from app.services.tx import transactional


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


@transactional
def set_customer_counts(counts: dict[str, int | None]) -> list[Branch]:
    """Register the bank's customer counts per branch code (each unit's own customers, not its
    sub-branches'; None clears one). All or nothing: an unknown code or a negative count raises
    ValidationFailed."""
    branches = {b.code: b for b in db.session.scalars(select(Branch))}
    unknown = [code for code in counts if code not in branches]
    if unknown:
        raise ValidationFailed(f"机构代码不存在：{'、'.join(unknown)}", field="code")
    negative = [code for code, n in counts.items() if n is not None and n < 0]
    if negative:
        raise ValidationFailed(f"客户数不能为负数：{'、'.join(negative)}", field="count")
    changes = {}
    for code, n in counts.items():
        if branches[code].customer_count != n:
            changes[code] = [branches[code].customer_count, n]
        branches[code].customer_count = n
    if changes:
        audit.record("branch.customer_counts", object_type="branch", detail={"changes": changes})
    return [branches[code] for code in counts]


def list_branches(*, active_only: bool = False) -> list[Branch]:
    """Every branch in tree order; ``active_only`` for drop-downs that start new business (a
    staff account, a campaign): an inactive unit stays on history and in filters."""
    stmt = select(Branch).order_by(Branch.path)
    if active_only:
        stmt = stmt.where(Branch.active.is_(True))
    return list(db.session.scalars(stmt))


def units_around(unit: Branch | None) -> list[Branch]:
    """The units a case at ``unit`` may name as the one complained of (回避, Art. 17), in tree
    order: the units above it and every unit of its 分行 (the first level under head office;
    handlers of other 分行 never see the case). Every unit for a case at head office. A bank of
    2,000 units had every case page carry all of them (135 KB)."""
    parts = unit.path.strip("/").split("/") if unit is not None else []
    if len(parts) < 2:
        return list_branches()
    above = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))]
    near = or_(Branch.path.startswith("/" + "/".join(parts[:2]) + "/"), Branch.path.in_(above))
    return list(db.session.scalars(select(Branch).where(near).order_by(Branch.path)))


def branches_in_scope() -> list[Branch]:
    """The branches of the viewer's subtree in tree order (head office and admin: all), for
    drop-downs: a Hangzhou agent's filter offered 南京 branches whose records it never sees."""
    visible = scope.current(db.session)
    stmt = select(Branch).where(Branch.id.in_(scope.branch_ids_in(visible)))
    return list(db.session.scalars(stmt.order_by(Branch.path)))


def staff_in_scope() -> list[User]:
    """Active staff (no administrators) of the viewer's subtree, by role then id; head office
    and admin see the whole bank's, those without a branch included."""
    visible = scope.current(db.session)
    stmt = select(User).where(User.active.is_(True), User.role != Role.ADMIN)
    if not visible.unrestricted:
        stmt = stmt.where(User.branch_id.in_(scope.branch_ids_in(visible)))
    return list(db.session.scalars(stmt.order_by(User.role, User.id)))


def list_products(*, active_only: bool = False) -> list[Product]:
    """Every product by code; ``active_only`` for drop-downs that start new business."""
    stmt = select(Product).order_by(Product.code)
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    return list(db.session.scalars(stmt))


def products_for_records() -> list[Product]:
    """Products for a record of what happened (a complaint, a problem to rectify): the active
    ones, then the discontinued ones, which customers still complain about."""
    return sorted(list_products(), key=lambda p: not p.active)


def managers_in_charge(branch_id: int | None) -> list[User]:
    """Active branch managers on the branch's path (the branch and its parents) and every
    head-office manager: who is told when something in that branch needs escalating."""
    branch = db.session.get(Branch, branch_id) if branch_id else None
    codes = [c for c in (branch.path.strip("/").split("/") if branch else []) if c]
    stmt = (
        select(User)
        .outerjoin(Branch, User.branch_id == Branch.id)
        .where(User.active.is_(True))
        .where(
            or_(
                User.role == Role.HQ_MANAGER,
                (User.role == Role.BRANCH_MANAGER) & Branch.code.in_(codes or ["-"]),
            )
        )
        .order_by(User.id)
    )
    return list(db.session.scalars(stmt))
