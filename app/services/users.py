"""Staff accounts: create, change role or branch, reset the password, disable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Branch, Complaint, FollowUp, Role, User
from app.models.complaint import OPEN as OPEN_CASES
from app.models.improvement import OPEN_ACTIONS, ImprovementAction, Problem, ProblemStatus
from app.models.survey_response import OPEN_FOLLOWUP_STATUSES
from app.models.user import USERNAME_PATTERN
from app.security.passwords import hash_password, password_problem
from app.services import audit, complaint_casework, followups
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.org_branches import lock_tree
from app.services.tx import transactional

USERNAME_RULE = "用户名只能包含字母、数字、点、下划线和连字符，2–64 位"
BRANCH_RULE = (
    "坐席和机构负责人必须指定所属机构（只看该机构及下级网点的数据）；"
    "“全行（不指定机构）”只适用于总分行管理和系统管理员；还没有分行或支行时，"
    "请先在“机构管理”中建立"
)
SELF_RESET = "不能在此重置自己的密码：请通过“修改密码”修改本人密码（需输入当前密码）"
USERNAME_RE = re.compile(rf"^{USERNAME_PATTERN}$")


def _branch_by_code(code: str | None) -> Branch | None:
    if not code:
        return None
    branch = db.session.scalar(select(Branch).where(Branch.code == code.strip().upper()))
    if branch is None:
        raise NotFound(f"机构代码 {code} 不存在", field="branch")
    return branch


def _check_role(role: str) -> None:
    if role not in set(Role):
        known = "、".join(r.value for r in Role)
        raise ValidationFailed(f"未知角色：{role}（可选：{known}）", field="role")


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise ValidationFailed(problem, field="password")


def _placement(role: str, branch_code: str | None, current: Branch | None = None) -> Branch | None:
    """The branch an account of ``role`` is placed at: agents and branch managers need one;
    head-office management without one sees the whole bank from the head office, the root of
    the tree (a user without a branch would see no branch-scoped record at all). No account is
    placed at an inactive unit (a disabled one already there, ``current``, may stay)."""
    lock_tree()  # (not placed at a unit another administrator is closing at this moment)
    branch = _checked_branch(role, branch_code, current)
    if role == Role.HQ_MANAGER and branch is None:
        branch = db.session.scalar(
            select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id).limit(1)
        )
    return branch


def _checked_branch(role: str, branch_code: str | None, current: Branch | None) -> Branch | None:
    branch = _branch_by_code(branch_code)
    if branch is not None and not branch.active and branch is not current:
        message = f"机构 {branch.name}（{branch.code}）已停用，不能再安排员工"
        raise ValidationFailed(message, field="branch")
    if role in (Role.AGENT, Role.BRANCH_MANAGER) and branch is None:
        raise ValidationFailed(BRANCH_RULE, field="branch")
    return branch


def check_new_user(username: str, role: str, branch_code: str | None = None) -> None:
    """Everything ``create_user`` checks but the password, writing nothing: the command line
    asks for a password only once the rest would be accepted."""
    _check_new_user(username.strip(), role)
    _checked_branch(role, branch_code, None)


def _check_new_user(username: str, role: str) -> None:
    check_new_username(username)
    _check_role(role)


def check_new_username(username: str) -> None:
    """A user name a new account may take: its form, and not taken (case aside)."""
    if not USERNAME_RE.match(username):
        raise ValidationFailed(USERNAME_RULE, field="username")
    taken = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if taken is not None:
        raise Conflict("该用户名已被使用", field="username")


def create_user_row(
    username: str,
    role: str,
    password: str,
    *,
    branch_code: str | None = None,
    display_name: str | None = None,
    actor: User | None = None,
) -> User:
    """Add a staff account (flushes only; ``create_user`` commits it, the staff import adds a
    file's accounts in one transaction). Raises ValidationFailed, Conflict (name taken) or
    NotFound (branch)."""
    username = username.strip()
    _check_new_user(username, role)
    _check_password(password)
    branch = _placement(role, branch_code)
    user = User(
        username=username,
        display_name=(display_name or username).strip()[:100],
        password_hash=hash_password(password),
        role=Role(role),
        branch=branch,
        # made by an administrator signed in (the 员工账号 page): the holder chooses their own
        # at first sign-in; the CLI's accounts (the first administrator, scripts) are not
        must_change_password=actor is not None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        actor=actor,
        object_type="staff_user",
        object_id=user.id,
        detail={"username": username, "role": role, "branch": branch.code if branch else None},
    )
    return user


create_user = transactional(create_user_row)  # (the page and the CLI: one account, committed)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("员工账号不存在")
    return user


def user_by_username(username: str) -> User:
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    if user is None:
        raise NotFound(f"员工账号 {username} 不存在", field="username")
    return user


@transactional
def update_user(
    user_id: int, *, role: str, branch_code: str | None, display_name: str, actor: User
) -> User:
    """Change an account's role, branch or name (a transfer, a promotion). The new scope
    applies from the user's next page. An administrator cannot change their own role, so that
    the bank is never left without one by a slip of the hand."""
    user = get_user(user_id)
    _check_role(role)
    if user.id == actor.id and role != user.role:
        raise ValidationFailed("不能修改自己的角色，请由另一位系统管理员操作", field="role")
    branch = _placement(role, branch_code, user.branch)
    name = (display_name or "").strip()[:100]
    if not name:
        raise ValidationFailed("请输入姓名", field="display_name")
    before = {"role": str(user.role), "branch": user.branch.code if user.branch else None}
    after = {"role": role, "branch": branch.code if branch else None}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if name != user.display_name:
        changes["display_name"] = [user.display_name, name]
    user.role, user.branch, user.display_name = Role(role), branch, name
    released = calls = 0
    if "role" in changes or "branch" in changes:
        db.session.flush()  # (the new placement is what the scope check reads)
        released = complaint_casework.release_out_of_sight(
            actor,
            "处理人 {name} 的岗位或所属机构已调整，不再管辖或办理本投诉，退回待分派，请重新分派",
            assignee_ids=[user.id],
        )
        calls = followups.release_out_of_sight(user=user)
    if changes:
        audit.record(
            "user.update",
            actor=actor,
            object_type="staff_user",
            object_id=user.id,
            detail={
                "username": user.username,
                "changes": changes,
                **({"complaints_released": released} if released else {}),
                **({"followups_released": calls} if calls else {}),
            },
        )
    return user


@transactional
def reset_password(user_id: int, password: str, *, actor: User | None) -> User:
    """Set a new password (the user forgot theirs, or it may have leaked): every session of
    the account ends, and the audit log records who reset it (never the password). An
    administrator's own password is changed under 修改密码, which asks for the current one: a
    reset of one's own account here would let a left-open session take it over."""
    user = get_user(user_id)
    if actor is not None and user.id == actor.id:
        raise ValidationFailed(SELF_RESET)
    _check_password(password)
    store_password(user, password, action="user.password_reset", actor=actor)
    return user


def store_password(user: User, password: str, *, action: str, actor: User | None) -> None:
    """Keep the new password's hash, end every session of the account (the bumped session
    version) and audit who did it (never the password)."""
    user.password_hash = hash_password(password)
    user.session_version += 1
    # a password someone else set (an administrator's reset) is the holder's to replace
    user.must_change_password = actor is not None and actor.id != user.id
    audit.record(
        action,
        actor=actor,
        object_type="staff_user",
        object_id=user.id,
        detail={"username": user.username},
    )


@dataclass(frozen=True)
class Toggled:
    """An account enabled or disabled, and what its disabling handed back: the cases in work
    put back to 待分派 and the open follow-ups put back to the shared queue."""

    user: User
    complaints_released: int = 0
    followups_released: int = 0

    @property
    def active(self) -> bool:
        return self.user.active


@transactional
def set_active(user_id: int, active: bool, *, actor: User) -> Toggled:
    """Enable or disable an account; disabling ends all of its sessions and, in the same
    transaction, hands its open complaints back to 待分派 (with a history entry on each) and
    its open follow-ups back to the queue, so that no deadline runs out under a handler who
    can no longer sign in."""
    user = get_user(user_id)
    if user.id == actor.id and not active:
        raise ValidationFailed("不能停用自己的账号")
    if active:
        lock_tree()
    if active and user.branch is not None and not user.branch.active:
        raise ValidationFailed(
            f"该账号所属机构 {user.branch.name}（{user.branch.code}）已停用："
            "请先在账号页为其调整到启用的机构，再启用账号"
        )
    user.active = active
    user.session_version += 1
    released = (0, 0)
    if not active:
        released = (
            complaint_casework.release_handler(user, actor),
            followups.release_agent(user),
        )
    audit.record(
        "user.enable" if active else "user.disable",
        actor=actor,
        object_type="staff_user",
        object_id=user.id,
        detail=(
            None
            if active
            else {"complaints_released": released[0], "followups_released": released[1]}
        ),
    )
    return Toggled(user, *released)


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.username)))


@dataclass(frozen=True)
class Workload:
    """An account's work in hand: what disabling it hands back to the queues."""

    complaints: int = 0
    followups: int = 0
    # 整改 work stays with the account when it is disabled (an owner is a named manager, not a
    # queue): the warning says to name another
    problems: int = 0
    actions: int = 0


def _per_owner(column: Any, *where: Any) -> dict[int, int]:
    """How many rows of ``column``'s table each owner has, among those matching ``where``."""
    stmt = (
        select(column, func.count())
        .where(column.is_not(None), *where)
        .group_by(column)
        .execution_options(include_all_branches=True)
    )
    return dict(db.session.execute(stmt).tuples().all())


def workloads() -> dict[int, Workload]:
    """Each account's open cases, follow-ups and 整改 work, for the accounts page and its
    warning."""
    cases = _per_owner(
        Complaint.assignee_id,
        Complaint.merged_into_id.is_(None),
        Complaint.status.in_([s.value for s in OPEN_CASES]),
    )
    tasks = _per_owner(
        FollowUp.assigned_to_id, FollowUp.status.in_([s.value for s in OPEN_FOLLOWUP_STATUSES])
    )
    problems = _per_owner(Problem.owner_id, Problem.status != ProblemStatus.CLOSED)
    actions = _per_owner(
        ImprovementAction.owner_id,
        ImprovementAction.status.in_([s.value for s in OPEN_ACTIONS]),
    )
    return {
        uid: Workload(
            cases.get(uid, 0), tasks.get(uid, 0), problems.get(uid, 0), actions.get(uid, 0)
        )
        for uid in set().union(cases, tasks, problems, actions)
    }
