"""Loading the branch tree and the product catalogue from a file (``flask branches import``,
``flask products import``): every row is checked against the file and the database together
(a parent may come later in the file or exist already), every bad row is reported with its line
number, and nothing is stored unless every row is good. A unit or product already there is
updated, never duplicated; a unit whose parent changed is moved with its whole subtree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Branch, BranchKind, Product, User
from app.models.org import BRANCH_CODE_RE
from app.services import audit
from app.services.errors import ValidationFailed
from app.services.imports import (
    CONTROL_RE,
    ImportRejected,
    ImportReport,
    csv_template,
    find_columns,
    read_table,
)
from app.services.org_branches import (
    CODE_RULE,
    children_problem,
    clean_code,
    lock_tree,
    one_line,
    parse_kind,
    path_problem,
    placement_problem,
    release_moved_cases,
    text_problem,
)
from app.services.org_products import (
    CODE_RULE as PRODUCT_CODE_RULE,
)
from app.services.org_products import (
    PRODUCT_CODE_RE,
    category_problem,
    name_problem,
    parse_category,
)
from app.services.tx import transactional

BRANCH_COLUMNS = {
    "code": ("code", "机构代码", "代码"),
    "name": ("name", "机构名称", "名称"),
    "kind": ("kind", "机构层级", "层级", "类型"),
    "parent_code": ("parent_code", "上级机构代码", "上级代码", "上级机构"),
    "city": ("city", "城市"),
    "address": ("address", "地址"),
}
PRODUCT_COLUMNS = {
    "code": ("code", "产品代码", "代码"),
    "name": ("name", "产品名称", "名称"),
    "category": ("category", "产品类别", "类别"),
}
# The example row of each downloadable template (the header is the columns' Chinese names)
BRANCH_EXAMPLE = ("HZ05", "拱墅支行", "支行", "HZ", "杭州", "杭州市拱墅区莫干山路 100 号")
PRODUCT_EXAMPLE = ("CREDIT-GOLD", "金卡信用卡", "银行卡")
KIND_HINT = "可填：总行、分行、支行、网点，或 head_office、branch、sub_branch"
AUDIT_CODES = 200  # codes listed in the audit entry (the counts are always complete)


@dataclass
class TreeImportReport(ImportReport):
    moved: int = 0  # of the updated units, those placed under another parent
    unchanged: int = 0
    released: int = 0  # cases in work whose handler no longer has them in scope: 待分派


@dataclass
class Unit:
    """A unit as the tree will be after the import: from the file (``line``) or as stored."""

    code: str
    kind: BranchKind | None
    parent: str | None
    active: bool
    line: int | None = None
    values: dict[str, str] = field(default_factory=dict)


def _cells(row: list[str], columns: dict[str, int]) -> dict[str, str]:
    return {k: (row[i] if i < len(row) else "") for k, i in columns.items()}


def _table(filename: str, data: bytes, columns, required, empty: str):
    table = read_table(filename, data)
    if len(table) < 2:
        raise ValidationFailed(empty, field="file")
    found = find_columns(table[0][1], columns, required)
    return [(number, _cells(row, found)) for number, row in table[1:]]


def _code_problem(raw: str, code: str, pattern, rule: str) -> str | None:
    if not raw.strip():
        return "代码为空：每一行都要填写代码"
    return None if pattern.match(code) else f"代码“{raw[:40]}”无效：{rule}"


def _branch_row(values: dict[str, str]) -> list[str]:
    """What is wrong with a row by itself (the tree is checked afterwards)."""
    if any(CONTROL_RE.search(v) for v in values.values()):
        return ["含有无法识别的控制字符，请删除后再导入"]
    code = clean_code(values["code"])
    problems = [_code_problem(values["code"], code, BRANCH_CODE_RE, CODE_RULE)]
    problems.append(text_problem("机构名称", one_line(values["name"]), 100, required=True))
    if parse_kind(values["kind"]) is None:
        problems.append(f"机构层级“{values['kind'][:20]}”无效（{KIND_HINT}）")
    parent = clean_code(values["parent_code"])
    if parent and not BRANCH_CODE_RE.match(parent):
        problems.append(f"上级机构代码“{values['parent_code'][:40]}”无效")
    elif parent and parent == code:
        problems.append("上级机构代码不能是本机构自己")
    for key, label, limit in (("city", "城市", 50), ("address", "地址", 200)):
        if key in values:
            problems.append(text_problem(label, one_line(values[key]), limit))
    return [p for p in problems if p]


def _units(rows, existing: dict[str, Branch], report: ImportReport) -> dict[str, Unit]:
    """The tree after the import: the stored units, overridden by the file's rows."""
    units = {
        code: Unit(code, BranchKind(b.kind), _parent_code(b), b.active)
        for code, b in existing.items()
    }
    lines: dict[str, int] = {}
    for number, values in rows:
        problems = _branch_row(values)
        code = clean_code(values["code"])
        if code in lines:
            problems.append(f"机构代码 {code} 在文件中重复（第 {lines[code]} 行已有）")
        if problems:
            report.errors.append((number, "；".join(problems)))
        if not BRANCH_CODE_RE.match(code) or code in lines:
            continue
        lines[code] = number
        stored = existing.get(code)
        units[code] = Unit(
            code,
            parse_kind(values["kind"]),
            clean_code(values["parent_code"]) or None,
            stored.active if stored else True,
            number,
            values,
        )
    return units


def _chain(unit: Unit, units: dict[str, Unit]) -> tuple[list[str], bool]:
    """The codes from ``unit`` up to its root (or to a missing parent); True when the chain
    comes back to a unit already on it (a cycle)."""
    chain, seen = [unit.code], {unit.code}
    parent = unit.parent
    while parent is not None and parent in units:
        if parent in seen:
            return [*chain, parent], True
        chain.append(parent)
        seen.add(parent)
        parent = units[parent].parent
    return chain, False


def _root_problem(unit: Unit, units: dict[str, Unit], existing: dict[str, Branch]) -> str | None:
    stored = existing.get(unit.code)
    if stored is not None and stored.parent_id is None:
        if unit.kind != BranchKind.HEAD_OFFICE or unit.parent:
            return f"{unit.code} 是总行（机构树的根），不能改为其他层级或设上级机构"
        return None
    if unit.kind != BranchKind.HEAD_OFFICE:
        return None
    # (the stored root stays the root whatever the file says of it: that line is refused)
    roots = [(None, c) for c, b in existing.items() if b.parent_id is None]
    roots += [
        (u.line, c)
        for c, u in units.items()
        if u.line is not None and u.parent is None and u.kind == BranchKind.HEAD_OFFICE
    ]
    roots = [(line, c) for line, c in roots if c != unit.code]
    if roots:
        line, code = roots[0]
        return f"只能有一个总行：{f'第 {line} 行' if line else '已有'}总行 {code}"
    return None


def _tree_problems(unit: Unit, units: dict[str, Unit], existing: dict[str, Branch]) -> list[str]:
    """What is wrong with a row's place in the tree after the import."""
    if unit.kind is None:
        return []
    if problem := _root_problem(unit, units, existing):
        return [problem]
    if unit.parent is not None and unit.parent not in units:
        return [f"上级机构代码 {unit.parent} 既不在文件中，也不是已有机构"]
    parent = units[unit.parent] if unit.parent else None
    problems = []
    if parent is None or parent.kind is not None:
        problems.append(placement_problem(unit.kind, parent.kind if parent else None))
    if parent is not None and unit.active and not parent.active:
        problems.append(f"上级机构 {parent.code} 已停用")
    kept = [u.kind for u in units.values() if u.parent == unit.code and u.line is None]
    problems.append(children_problem(unit.kind, [k for k in kept if k]))
    chain, cycle = _chain(unit, units)
    if cycle:  # (reported on the lines of the units in the cycle, not of those below it)
        if chain[-1] == unit.code:
            problems.append("上级关系形成循环：" + " → ".join(chain))
    else:
        problems.append(path_problem("/" + "/".join(reversed(chain)) + "/"))
    return [p for p in problems if p]


@transactional
def import_branches(filename: str, data: bytes, *, actor: User | None) -> TreeImportReport:
    """Create or update every unit of the file (columns code, name, kind, parent_code, and
    optionally city, address: a missing column leaves that field as it is, a blank cell
    clears it), or none. Raises ImportRejected with every bad line, or ValidationFailed."""
    lock_tree()
    rows = _table(filename, data, BRANCH_COLUMNS, tuple(BRANCH_COLUMNS)[:4], "文件中没有机构数据")
    report = TreeImportReport(rows=len(rows))
    existing = {b.code: b for b in db.session.scalars(select(Branch))}
    units = _units(rows, existing, report)
    for unit in units.values():
        if unit.line is not None and (problems := _tree_problems(unit, units, existing)):
            report.errors.append((unit.line, "；".join(problems)))
    report.errors += _namesake_problems(units, existing)
    if report.errors:
        report.errors = _by_line(report.errors)
        raise ImportRejected(report)
    changed = _apply_units(units, existing, report, actor)
    released = {"complaints_released": report.released} if report.released else {}
    audit.record(
        "branches.import",
        actor=actor,
        object_type="branch",
        detail={"file": (filename or "")[:100], **_summary(report), **changed, **released},
    )
    return report


def _namesake_problems(
    units: dict[str, Unit], existing: dict[str, Branch]
) -> list[tuple[int, str]]:
    """Lines that would leave two active units of one name under the same parent (customers
    would see two identical choices): each names the other unit's code."""
    named: dict[tuple[str | None, str], list[str]] = {}
    for code, unit in sorted(units.items(), key=lambda item: (item[1].line is not None, item[0])):
        name = one_line(unit.values["name"]) if unit.line is not None else existing[code].name
        if unit.active and name:
            named.setdefault((unit.parent, name), []).append(code)
    problems = []
    for (_, name), codes in named.items():
        for code in codes[1:]:
            if (line := units[code].line) is not None:
                problems.append((line, f"同一上级机构下已有名为“{name}”的机构（代码 {codes[0]}）"))
    return problems


def _by_line(errors: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """One entry per line (its own problems first, then its place in the tree's), in order."""
    merged: dict[int, list[str]] = {}
    for line, text in errors:
        merged.setdefault(line, []).append(text)
    return [(line, "；".join(texts)) for line, texts in sorted(merged.items())]


def _summary(report: ImportReport) -> dict[str, int]:
    counts = ("rows", "created", "updated", "moved", "unchanged")
    return {k: getattr(report, k) for k in counts if hasattr(report, k)}


def _depth(code: str, units: dict[str, Unit], memo: dict[str, int]) -> int:
    if code not in memo:
        parent = units[code].parent
        memo[code] = 0 if parent is None else _depth(parent, units, memo) + 1
    return memo[code]


def _apply_units(
    units: dict[str, Unit], existing: dict[str, Branch], report: TreeImportReport, actor
) -> dict[str, list[str]]:
    """Write the checked tree: new units, changed fields, parents and every path (parents
    first, so a moved unit's subtree follows it). Returns the codes created, updated, moved."""
    before = {code: (_parent_code(b), _fields(b)) for code, b in existing.items()}
    rows, done = dict(existing), {"created": [], "updated": [], "moved": []}
    memo: dict[str, int] = {}
    for code in sorted(units, key=lambda c: (_depth(c, units, memo), c)):
        unit, branch = units[code], rows.get(code)
        if branch is None:
            branch = rows[code] = Branch(code=code, active=True)
            db.session.add(branch)
        if unit.line is not None:
            _write_fields(branch, unit)
        parent = rows[unit.parent] if unit.parent else None
        if code not in before or before[code][0] != unit.parent:
            branch.parent = parent
        branch.path = (parent.path if parent else "/") + code + "/"
        if unit.line is None:
            continue
        if code not in before:
            done["created"].append(code)
        elif before[code][0] != unit.parent:
            done["moved"].append(code)
        elif before[code][1] != _fields(branch):
            done["updated"].append(code)
    db.session.flush()
    report.released = release_moved_cases([rows[code] for code in done["moved"]], actor)
    report.created, report.moved = len(done["created"]), len(done["moved"])
    report.updated = len(done["updated"]) + report.moved
    report.unchanged = report.rows - report.created - report.updated
    return {k: v[:AUDIT_CODES] for k, v in done.items()}


def _parent_code(branch: Branch) -> str | None:
    return branch.parent.code if branch.parent else None


def _fields(branch: Branch) -> tuple:
    return (branch.name, str(branch.kind), branch.city, branch.address)


def _write_fields(branch: Branch, unit: Unit) -> None:
    branch.name, branch.kind = one_line(unit.values["name"]), unit.kind
    if "city" in unit.values:
        branch.city = one_line(unit.values["city"]) or None
    if "address" in unit.values:
        branch.address = one_line(unit.values["address"]) or None


def _product_row(values: dict[str, str], seen: dict[str, int]) -> list[str]:
    if any(CONTROL_RE.search(v) for v in values.values()):
        return ["含有无法识别的控制字符，请删除后再导入"]
    code = clean_code(values["code"])
    problems = [
        _code_problem(values["code"], code, PRODUCT_CODE_RE, PRODUCT_CODE_RULE),
        name_problem(one_line(values["name"])),
        category_problem(values["category"]),
    ]
    if code in seen:
        problems.append(f"产品代码 {code} 在文件中重复（第 {seen[code]} 行已有）")
    return [p for p in problems if p]


def _product_namesakes(rows, existing: dict[str, Product]) -> list[tuple[int, str]]:
    """Lines that would leave two active products of one name: each names the other's code."""
    final = {code: (p.name, p.active, None) for code, p in existing.items()}
    for number, values in rows:
        code = clean_code(values["code"])
        stored = existing.get(code)
        final[code] = (one_line(values["name"]), stored.active if stored else True, number)
    named: dict[str, list[str]] = {}
    for code, (name, active, _) in sorted(final.items(), key=lambda i: (i[1][2] or 0, i[0])):
        if active and name:
            named.setdefault(name, []).append(code)
    return [
        (final[code][2], f"已有名为“{name}”的启用产品（代码 {codes[0]}）")
        for name, codes in named.items()
        for code in codes[1:]
        if final[code][2] is not None
    ]


@transactional
def import_products(filename: str, data: bytes, *, actor: User | None) -> ImportReport:
    """Create or update every product of the file (columns code, name, category), or none.
    Raises ImportRejected with every bad line, or ValidationFailed."""
    rows = _table(filename, data, PRODUCT_COLUMNS, tuple(PRODUCT_COLUMNS), "文件中没有产品数据")
    report, seen = ImportReport(rows=len(rows)), {}
    for number, values in rows:
        if problems := _product_row(values, seen):
            report.errors.append((number, "；".join(problems)))
        seen.setdefault(clean_code(values["code"]), number)
    existing = {p.code: p for p in db.session.scalars(select(Product))}
    report.errors += _product_namesakes(rows, existing)
    if report.errors:
        report.errors = _by_line(report.errors)
        raise ImportRejected(report)
    for _, values in rows:
        code, name = clean_code(values["code"]), one_line(values["name"])
        category = parse_category(values["category"])
        product = existing.get(code)
        if product is None:
            db.session.add(Product(code=code, name=name, category=category, active=True))
            report.created += 1
        elif (product.name, product.category) != (name, category):
            product.name, product.category = name, category
            report.updated += 1
    db.session.flush()
    audit.record(
        "products.import",
        actor=actor,
        object_type="product",
        detail={"file": (filename or "")[:100], **_summary(report)},
    )
    return report


def summary(report: ImportReport) -> str:
    """What an import did, as the command line and the pages say it."""
    moved = getattr(report, "moved", 0)
    counts = f"新建 {report.created} 个，更新 {report.updated} 个"
    counts += f"（其中调整上级 {moved} 个）" if moved else ""
    unchanged = report.rows - report.created - report.updated
    return f"共 {report.rows} 行：{counts}，未变 {unchanged} 个"


def branch_template() -> bytes:
    """A CSV file for the branch import: the header (Chinese column names) and one example."""
    return csv_template(BRANCH_COLUMNS, BRANCH_EXAMPLE)


def product_template() -> bytes:
    """A CSV file for the product import: the header (Chinese column names) and one example."""
    return csv_template(PRODUCT_COLUMNS, PRODUCT_EXAMPLE)
