"""Maintaining the branch tree: create, edit, move and (de)activate branches, audited.

A branch's ``path`` (``/HO/HZ/HZ01/``) is derived from its parent's, so a move rewrites the paths
of its whole subtree in the same transaction. Nothing else keeps a copy of a path: branch scope
(``scope.py``) and the dashboards' subtrees are read from ``branch.path`` by each query, and the
rollups are keyed by branch id. After a move every page counts the moved subtree under its new
parent at once, its past figures included; no rollup needs rebuilding.

An inactive branch (撤并的机构) keeps its records, its place in the tree and its figures; it is
only no longer offered for new business (staff accounts, campaigns, invitations, events,
customers). It cannot have active staff or active sub-branches.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Branch, BranchKind, Customer, User
from app.models.org import BRANCH_CODE_RE, BRANCH_KIND_LABELS
from app.services import audit
from app.services.customers import printable_text
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.tx import transactional

TREE_LOCK = 0x6B73_6F72_6774  # "ksorgt": one writer of the tree at a time (PostgreSQL)
PATH_LIMIT = 400  # what branch.path holds
MAX_COUNT = 2**31 - 1
KIND_RANK = {BranchKind.HEAD_OFFICE: 0, BranchKind.BRANCH: 1, BranchKind.SUB_BRANCH: 2}
KIND_WORDS: dict[str, BranchKind] = {
    **{k.value: k for k in BranchKind},
    "总行": BranchKind.HEAD_OFFICE,
    "分行": BranchKind.BRANCH,
    "一级分行": BranchKind.BRANCH,
    "二级分行": BranchKind.BRANCH,
    "支行": BranchKind.SUB_BRANCH,
    "网点": BranchKind.SUB_BRANCH,
    "支行/网点": BranchKind.SUB_BRANCH,
}
CODE_RULE = "机构代码只能由大写字母、数字和连字符组成，以字母或数字开头，至多 32 位"


@dataclass(frozen=True)
class BranchData:
    code: str
    name: str
    kind: str
    parent_code: str | None = None
    city: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class TreeRow:
    """A branch with what the administrator's tree shows beside it."""

    branch: Branch
    staff: int  # active staff accounts placed at this unit itself
    customers: int  # customers in Kesheng whose branch is this unit
    active_children: int


# ---------------------------------------------------------------------------------------------
# Rules shared with the file import (app.services.org_import)


def lock_tree() -> None:
    """Serialise changes to the tree: two moves at once could otherwise make a cycle, two new
    head offices two roots, an account be placed at a unit being closed. Branches read before
    the lock (a page's drop-downs) are read again: another administrator may have changed them
    in the meantime. (SQLite writers take turns already, each from a fresh transaction.)"""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(select(func.pg_advisory_xact_lock(TREE_LOCK)))
    for row in list(session.identity_map.values()):
        if isinstance(row, Branch) and row not in session.dirty:
            session.expire(row)


def clean_code(raw: str | None) -> str:
    """A code as stored: NFKC (full-width typed on a Chinese keyboard), trimmed, upper case."""
    return unicodedata.normalize("NFKC", raw or "").strip().upper()


def one_line(raw: str | None) -> str:
    """Printable text on one line (runs of blanks and line breaks become one space)."""
    return " ".join(printable_text(raw).split())


def text_problem(label: str, value: str, limit: int, *, required: bool = False) -> str | None:
    if required and not value:
        return f"请填写{label}"
    if len(value) > limit:
        return f"{label}最多 {limit} 个字"
    return None


def parse_kind(raw: str | None) -> BranchKind | None:
    return KIND_WORDS.get((raw or "").strip().lower())  # (lower() leaves Chinese as it is)


def kind_label(kind: str) -> str:
    return BRANCH_KIND_LABELS.get(BranchKind(kind), kind)


def placement_problem(kind: str, parent_kind: str | None) -> str | None:
    """Why a unit of ``kind`` cannot sit under a parent of ``parent_kind`` (None: no parent):
    only the head office is without a parent, and no unit sits under one of a lower level
    (a 分行 under a 支行)."""
    if kind == BranchKind.HEAD_OFFICE:
        return None if parent_kind is None else "总行是机构树的根，不能有上级机构"
    if parent_kind is None:
        return "请指定上级机构（只有总行没有上级机构）"
    if KIND_RANK[BranchKind(kind)] < KIND_RANK[BranchKind(parent_kind)]:
        return f"{kind_label(kind)}不能设在{kind_label(parent_kind)}之下"
    return None


def children_problem(kind: str, child_kinds: list[str]) -> str | None:
    """Why a unit with children of ``child_kinds`` cannot become ``kind``."""
    higher = sorted({k for k in child_kinds if KIND_RANK[BranchKind(k)] < KIND_RANK[kind]})
    if higher:
        labels = "、".join(kind_label(k) for k in higher)
        return f"其下有{labels}，不能改为{kind_label(kind)}"
    return None


def inactive_parent(parent: Branch) -> str:
    return f"上级机构 {parent.name}（{parent.code}）已停用"


def path_problem(path: str) -> str | None:
    if len(path) > PATH_LIMIT:
        return f"机构层级过深：路径 {path[:60]}… 超过 {PATH_LIMIT} 个字符"
    return None


# ---------------------------------------------------------------------------------------------
# Reading


def get_branch(branch_id: int) -> Branch:
    branch = db.session.get(Branch, branch_id)
    if branch is None:
        raise NotFound("机构不存在")
    return branch


def _by_code(code: str | None, field: str) -> Branch:
    found = db.session.scalar(select(Branch).where(Branch.code == clean_code(code)))
    if found is None:
        raise ValidationFailed(f"机构代码 {clean_code(code)[:32] or '（空）'} 不存在", field=field)
    return found


def _counts(column, *where) -> dict[int, int]:
    stmt = select(column, func.count()).where(*where).group_by(column)
    return dict(
        db.session.execute(stmt.execution_options(include_all_branches=True)).tuples().all()
    )


def branch_tree(branch: Branch | None = None) -> list[TreeRow]:
    """Every branch in tree order (or just ``branch``), with its active staff, customers and
    active sub-units."""
    branches = [branch] if branch else db.session.scalars(select(Branch).order_by(Branch.path))
    only = (lambda column: [column == branch.id]) if branch else (lambda column: [])
    staff = _counts(User.branch_id, User.active.is_(True), *only(User.branch_id))
    customers = _counts(Customer.branch_id, *only(Customer.branch_id))
    children = _counts(Branch.parent_id, Branch.active.is_(True), *only(Branch.parent_id))
    return [
        TreeRow(b, staff.get(b.id, 0), customers.get(b.id, 0), children.get(b.id, 0))
        for b in branches
    ]


def subtree_ids(branch: Branch) -> set[int]:
    return set(db.session.scalars(select(Branch.id).where(Branch.path.startswith(branch.path))))


def deactivation_blockers(branch: Branch) -> list[str]:
    """What keeps ``branch`` from being deactivated, in Chinese ([] when nothing does)."""
    if branch.parent_id is None:
        return ["总行不能停用"]
    holders = (
        (
            select(User.username).where(User.branch_id == branch.id, User.active.is_(True)),
            "个启用的员工账号",
            "请先在“员工账号”中调岗或停用",
        ),
        (
            select(Branch.code).where(Branch.parent_id == branch.id, Branch.active.is_(True)),
            "个启用的下级机构",
            "请先停用或移到其他机构之下",
        ),
    )
    problems = []
    for stmt, what, advice in holders:
        names = sorted(db.session.scalars(stmt))
        if names:
            listed = "、".join(names[:5]) + ("等" if len(names) > 5 else "")
            problems.append(f"还有 {len(names)} {what}（{listed}），{advice}")
    return problems


# ---------------------------------------------------------------------------------------------
# Use cases


def _check_parent(kind: str, parent: Branch | None, *, active: bool = True) -> None:
    problem = placement_problem(kind, parent.kind if parent else None)
    if problem:
        raise ValidationFailed(problem, field="kind" if parent is None else "parent")
    if parent is not None and active and not parent.active:
        raise ValidationFailed(inactive_parent(parent), field="parent")


def _single_root(kind: str) -> None:
    if kind != BranchKind.HEAD_OFFICE:
        return
    root = db.session.scalar(select(Branch).where(Branch.parent_id.is_(None)).limit(1))
    if root is not None:
        raise ValidationFailed(
            f"已有总行 {root.name}（{root.code}），一家银行只有一个总行", field="kind"
        )


@transactional
def create_branch(data: BranchData, *, actor: User | None) -> Branch:
    """A new unit under its parent (the head office alone has none; there is one). Raises
    ValidationFailed with the field, or Conflict when the code is taken."""
    lock_tree()
    code, name, kind = clean_code(data.code), one_line(data.name), parse_kind(data.kind)
    if not BRANCH_CODE_RE.match(code):
        raise ValidationFailed(CODE_RULE, field="code")
    if db.session.scalar(select(Branch.id).where(Branch.code == code)) is not None:
        raise Conflict(f"机构代码 {code} 已存在", field="code")
    if problem := text_problem("机构名称", name, 100, required=True):
        raise ValidationFailed(problem, field="name")
    if kind is None:
        raise ValidationFailed("请选择机构层级", field="kind")
    _single_root(kind)
    parent = _by_code(data.parent_code, "parent") if data.parent_code else None
    _check_parent(kind, parent)
    _check_namesake(name, parent)
    branch = Branch(code=code, name=name, kind=kind, active=True)
    branch.place_under(parent)
    if problem := path_problem(branch.path):
        raise ValidationFailed(problem, field="parent")
    _set_place_fields(branch, data.city, data.address)
    db.session.add(branch)
    db.session.flush()
    audit.record(
        "branch.create",
        actor=actor,
        object_type="branch",
        object_id=branch.id,
        detail={"code": code, "name": name, "kind": str(kind), "parent": _code_of(parent)},
    )
    return branch


def namesake(name: str, parent_id: int | None, *, other_than: int | None = None) -> Branch | None:
    """An active unit of this name under the same parent (customers would see two identical
    choices), other than ``other_than``."""
    stmt = select(Branch).where(
        Branch.name == name,
        Branch.active.is_(True),
        Branch.parent_id == parent_id if parent_id is not None else Branch.parent_id.is_(None),
    )
    if other_than is not None:
        stmt = stmt.where(Branch.id != other_than)
    return db.session.scalars(stmt.order_by(Branch.id).limit(1)).first()


def namesake_problem(name: str, other: Branch) -> str:
    return f"同一上级机构下已有名为“{name}”的机构（代码 {other.code}），请使用不同的名称"


def _check_namesake(name: str, parent: Branch | None, *, other_than: int | None = None) -> None:
    other = namesake(name, parent.id if parent else None, other_than=other_than)
    if other is not None:
        raise Conflict(namesake_problem(name, other), field="name")


def _code_of(branch: Branch | None) -> str | None:
    return branch.code if branch else None


def _set_place_fields(branch: Branch, city: str | None, address: str | None) -> None:
    city, address = one_line(city), one_line(address)
    if problem := text_problem("城市", city, 50):
        raise ValidationFailed(problem, field="city")
    if problem := text_problem("地址", address, 200):
        raise ValidationFailed(problem, field="address")
    branch.city, branch.address = city or None, address or None


def check_kind_change(branch: Branch, kind: BranchKind) -> None:
    if kind == branch.kind:
        return
    if branch.parent_id is None:
        raise ValidationFailed("总行是机构树的根，层级不能修改", field="kind")
    if kind == BranchKind.HEAD_OFFICE:
        raise ValidationFailed("一家银行只有一个总行，其他机构不能设为总行", field="kind")
    _check_parent(kind, branch.parent, active=False)
    kids = db.session.scalars(select(Branch.kind).where(Branch.parent_id == branch.id)).all()
    if problem := children_problem(kind, list(kids)):
        raise ValidationFailed(problem, field="kind")


@transactional
def update_branch(
    branch_id: int,
    *,
    name: str,
    kind: str,
    city: str | None,
    address: str | None,
    customer_count: int | None,
    actor: User | None,
) -> Branch:
    """Change a unit's name, level, city, address or registered customer count (its code and
    place in the tree stay: see move_branch). Raises ValidationFailed with the field."""
    lock_tree()
    branch = get_branch(branch_id)
    before = _snapshot(branch)
    name, parsed = one_line(name), parse_kind(kind)
    if problem := text_problem("机构名称", name, 100, required=True):
        raise ValidationFailed(problem, field="name")
    if parsed is None:
        raise ValidationFailed("请选择机构层级", field="kind")
    check_kind_change(branch, parsed)
    if name != branch.name and branch.active:
        _check_namesake(name, branch.parent, other_than=branch.id)
    if customer_count is not None and not 0 <= customer_count <= MAX_COUNT:
        raise ValidationFailed("登记客户数应为非负整数", field="customer_count")
    branch.name, branch.kind, branch.customer_count = name, parsed, customer_count
    _set_place_fields(branch, city, address)
    after = _snapshot(branch)
    changes = {k: [v, after[k]] for k, v in before.items() if after[k] != v}
    if changes:
        audit.record(
            "branch.update",
            actor=actor,
            object_type="branch",
            object_id=branch.id,
            detail={"code": branch.code, "changes": changes},
        )
    return branch


def _snapshot(branch: Branch) -> dict[str, str | int | None]:
    return {
        "name": branch.name,
        "kind": str(branch.kind),
        "city": branch.city,
        "address": branch.address,
        "customer_count": branch.customer_count,
    }


def move_problem(branch: Branch, parent: Branch) -> str | None:
    """Why ``branch`` cannot move under ``parent`` (None when it can)."""
    if branch.parent_id is None:
        return "总行是机构树的根，不能移动"
    if parent.path.startswith(branch.path):
        return "不能移到本机构或其下级机构之下"
    if problem := placement_problem(branch.kind, parent.kind):
        return problem
    if branch.active and not parent.active:
        return inactive_parent(parent)
    return None


def rewrite_subtree(branch: Branch, parent: Branch) -> int:
    """Put ``branch`` under ``parent`` and rewrite the paths of its whole subtree (flushed);
    returns how many units moved. ValidationFailed when a path would grow too long."""
    old, new = branch.path, parent.path + branch.code + "/"
    subtree = list(db.session.scalars(select(Branch).where(Branch.path.startswith(old))))
    for row in subtree:
        if problem := path_problem(new + row.path[len(old) :]):
            raise ValidationFailed(problem, field="parent")
    for row in subtree:
        row.path = new + row.path[len(old) :]
    branch.parent = parent
    db.session.flush()
    return len(subtree)


@transactional
def move_branch(branch_id: int, parent_code: str | None, *, actor: User | None) -> Branch:
    """Place a unit and everything below it under another parent, in one transaction. Refused
    (ValidationFailed on ``parent``) under itself or its own sub-units, under a lower level or
    an inactive unit, and for the head office. Moving to the same parent changes nothing."""
    lock_tree()
    branch = get_branch(branch_id)
    parent = _by_code(parent_code, "parent")
    if problem := move_problem(branch, parent):
        raise ValidationFailed(problem, field="parent")
    if parent.id == branch.parent_id:
        return branch
    before, old_path = branch.parent.code, branch.path
    count = rewrite_subtree(branch, parent)
    released = release_moved_cases([branch], actor)
    audit.record(
        "branch.move",
        actor=actor,
        object_type="branch",
        object_id=branch.id,
        detail={
            "code": branch.code,
            "changes": {"parent": [before, parent.code]},
            "path": [old_path, branch.path],
            "units": count,
            **({"complaints_released": released} if released else {}),
        },
    )
    return branch


def release_moved_cases(moved: list[Branch], actor: User | None) -> int:
    """Cases in work at the moved units (and below) whose handler no longer has them in scope
    (a handler of the unit they left) go back to 待分派 (see complaint_casework), and such open
    follow-ups to the shared queue; returns how many cases went back."""
    from app.services import followups
    from app.services.complaint_casework import release_out_of_sight

    if not moved:
        return 0
    stmt = select(Branch.id).where(or_(*(Branch.path.startswith(b.path) for b in moved)))
    ids = list(db.session.scalars(stmt))
    followups.release_out_of_sight(branch_ids=ids)  # (their calls: back to the shared queue)
    return release_out_of_sight(
        actor,
        "本投诉所属机构已调整至其他上级机构，处理人 {name} 不再管辖本投诉，退回待分派，请重新分派",
        branch_ids=ids,
    )


@transactional
def set_branch_active(branch_id: int, active: bool, *, actor: User | None) -> Branch:
    """Deactivate (refused while it has active staff or active sub-units, and for the head
    office) or reactivate a unit (refused while its parent is inactive)."""
    lock_tree()
    branch = get_branch(branch_id)
    if active == branch.active:
        return branch
    if not active and (blockers := deactivation_blockers(branch)):
        raise ValidationFailed(f"不能停用 {branch.name}：" + "；".join(blockers))
    if active and branch.parent is not None and not branch.parent.active:
        problem = inactive_parent(branch.parent) + "，请先启用上级机构"
        raise ValidationFailed(problem, field="parent")
    branch.active = active
    audit.record(
        "branch.enable" if active else "branch.disable",
        actor=actor,
        object_type="branch",
        object_id=branch.id,
        detail={"code": branch.code, "name": branch.name},
    )
    return branch
