"""Branch scope: the one place where a viewer's branch subtree limits what queries return.

Every ORM SELECT that touches a BranchScoped model (customers, and later complaints, responses)
gets a criterion restricting it to the viewer's branch subtree. Web requests bind the scope of the
signed-in user to the session; jobs, CLI and API tokens run unscoped (whole bank).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from app.models import Branch, BranchScoped, User

_SCOPE_KEY = "branch_scope"


@dataclass(frozen=True, slots=True)
class BranchScope:
    """A branch subtree identified by its path prefix; None prefix means the whole bank."""

    path_prefix: str | None

    @property
    def unrestricted(self) -> bool:
        return self.path_prefix is None

    def covers(self, branch: Branch | None) -> bool:
        if self.path_prefix is None:
            return True
        return branch is not None and branch.path.startswith(self.path_prefix)


WHOLE_BANK = BranchScope(None)


def scope_for(user: User) -> BranchScope:
    """A user sees the subtree of their branch; without a branch, an administrator or a
    head-office manager sees the whole bank (one created before the branches were loaded has
    none) and anyone else sees nothing scoped."""
    if user.branch is None:
        whole = user.role in ("admin", "hq_manager")
        return WHOLE_BANK if whole else BranchScope("/__none__/")
    if user.branch.parent_id is None:
        return WHOLE_BANK
    return BranchScope(user.branch.path)


def bind(session: Session, scope: BranchScope) -> None:
    session.info[_SCOPE_KEY] = scope


def current(session: Session) -> BranchScope:
    return session.info.get(_SCOPE_KEY, WHOLE_BANK)


def branch_ids_in(scope: BranchScope):
    """A subquery of the branch ids inside the scope, for explicit joins and rollups."""
    stmt = select(Branch.id)
    if scope.path_prefix is not None:
        stmt = stmt.where(Branch.path.startswith(scope.path_prefix))
    return stmt


@event.listens_for(Session, "do_orm_execute")
def _restrict_to_scope(state: ORMExecuteState) -> None:
    scope = state.session.info.get(_SCOPE_KEY)
    if scope is None or scope.path_prefix is None or not state.is_select:
        return
    if state.execution_options.get("include_all_branches"):
        return
    prefix = scope.path_prefix
    # Paths are built from branch codes, which cannot contain LIKE wildcards (BRANCH_CODE_RE),
    # so the prefix needs no escaping (and a lambda's bound value cannot be autoescaped).
    state.statement = state.statement.options(
        with_loader_criteria(
            BranchScoped,
            lambda cls: cls.branch_id.in_(select(Branch.id).where(Branch.path.startswith(prefix))),
            include_aliases=True,
        )
    )
