"""Staff accounts from a spreadsheet (员工账号 · 批量导入): a bank opening Kesheng to two hundred
agents made them one by one.

All rows or none, as the other imports: every bad line is reported and nothing is stored. Each
new account gets a random initial password, shown once to the administrator who imported the
file (kept nowhere else: only its hash is stored) and changed by its holder at the first sign-in.
Administrators are not imported (each is made on its own, by another administrator).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field

from app.models import Role, User
from app.security.passwords import password_problem
from app.services import audit, org, users
from app.services.errors import ServiceError, ValidationFailed
from app.services.imports import (
    ImportRejected,
    ImportReport,
    csv_template,
    find_columns,
    read_table,
)
from app.services.tx import transactional

COLUMNS = {
    "username": ("username", "用户名"),
    "display_name": ("display_name", "姓名"),
    "role": ("role", "角色"),
    "branch": ("branch", "所属机构代码", "机构代码"),
}
ROLES = {
    "客服坐席": Role.AGENT,
    "坐席": Role.AGENT,
    "机构负责人": Role.BRANCH_MANAGER,
    "总分行管理": Role.HQ_MANAGER,
    **{r.value: r for r in (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)},
}
ROLE_HINT = "可填：客服坐席、机构负责人、总分行管理（系统管理员请逐个新建）"
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class UserImportReport(ImportReport):
    passwords: list[tuple[str, str, str]] = field(default_factory=list)  # user, name, password


def initial_password() -> str:
    """Twelve random characters and a hyphen, passing the password policy (three kinds)."""
    while True:
        word = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        word = f"{word[:6]}-{word[6:]}"
        if password_problem(word) is None:
            return word


def _row_problems(values: dict[str, str], seen: dict[str, int]) -> list[str]:
    username = values.get("username", "").strip()
    problems = []
    role = ROLES.get(values.get("role", "").strip())
    if role is None:
        problems.append(f"角色“{values.get('role', '').strip()[:20]}”无效：{ROLE_HINT}")
    if username.lower() in seen:
        problems.append(f"用户名 {username} 在文件中重复（第 {seen[username.lower()]} 行已有）")
    try:
        users.check_new_user(username, role or Role.AGENT, values.get("branch", "").strip() or None)
    except ServiceError as err:
        problems.append(err.message)
    if not values.get("display_name", "").strip():
        problems.append("请填写姓名")
    return problems


@transactional
def import_users(filename: str, data: bytes, *, actor: User | None) -> UserImportReport:
    """Create every account of the file (username, name, role, branch code), or none. Raises
    ImportRejected with every bad line, or ValidationFailed for the file itself."""
    table = read_table(filename, data)
    if len(table) < 2:
        raise ValidationFailed("文件中没有员工数据", field="file")
    columns = find_columns(table[0][1], COLUMNS, tuple(COLUMNS))
    report, seen, rows = UserImportReport(rows=len(table) - 1), {}, []
    for number, row in table[1:]:
        values = {k: (row[i].strip() if i < len(row) else "") for k, i in columns.items()}
        if problems := _row_problems(values, seen):
            report.errors.append((number, "；".join(problems)))
        seen.setdefault(values["username"].lower(), number)
        rows.append(values)
    if report.errors:
        raise ImportRejected(report)
    for values in rows:
        password = initial_password()
        user = users.create_user_row(
            values["username"],
            ROLES[values["role"]],
            password,
            branch_code=values["branch"] or None,
            display_name=values["display_name"],
            actor=actor,
        )
        user.must_change_password = True  # (whoever imported: the holder chooses their own)
        report.passwords.append((user.username, user.display_name, password))
        report.created += 1
    audit.record(
        "users.import",
        actor=actor,
        object_type="staff_user",
        detail={"file": (filename or "")[:100], "created": report.created},
    )
    return report


def template() -> bytes:
    """The file to fill in: the header and one example, an agent of the first unit below the
    head office (so the example imports as it is)."""
    below_head = next((b.code for b in org.list_branches(active_only=True) if b.parent_id), "")
    return csv_template(COLUMNS, ("zhang.wei", "张伟", "客服坐席", below_head))
