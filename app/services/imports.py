"""Customer import from CSV or XLSX: every row checked, a Chinese report of each bad row,
all-or-nothing, and a re-import updates customers by external_id."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Branch, User
from app.models.org import SEGMENT_LABELS, CustomerSegment
from app.security import uploads
from app.services import audit, scope
from app.services.customers import (
    EMAIL_PATTERN,
    CustomerData,
    upsert_customer_row,
    visible_text,
)
from app.services.errors import ValidationFailed
from app.services.tx import transactional

MAX_ROWS = 50_000
COLUMNS = {
    "external_id": ("external_id", "客户号", "客户编号"),
    "name": ("name", "姓名", "客户名称", "名称"),
    "phone": ("phone", "手机号", "手机", "手机号码"),
    "email": ("email", "邮箱", "电子邮箱", "e-mail"),
    "branch": ("branch", "机构代码", "branch_code", "机构", "网点"),
    "segment": ("segment", "客户分层", "分层"),
}
REQUIRED = ("external_id", "name")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―()（）]")


def mobile_number(raw: str) -> str:
    """A mobile number as people write it ("138 1111 3333", "+86 138-1111-3333",
    "0086 13811113333", full-width "１３８－１１１１－３３３３") as its eleven digits; anything
    else is returned for the check to refuse. (Spreadsheet imports and the public complaint
    form.)"""
    phone = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            return phone[len(prefix) :]
    return phone


# NUL and the other control characters (PostgreSQL cannot store a NUL at all)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab/breaks, DEL, C1
EMAIL_RE = re.compile(EMAIL_PATTERN)
SEGMENT_BY_LABEL = {label: key for key, label in SEGMENT_LABELS.items()}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


class ImportRejected(ValidationFailed):
    """The file had bad rows; nothing was imported. ``report.errors`` lists them all."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"文件中有 {len(report.errors)} 处错误，未导入任何数据", field="file")
        self.report = report


def _cell(value: object) -> str:
    """A cell's text (invisible characters left by some systems dropped: a row of them is as
    blank as an empty one)."""
    return "" if value is None else visible_text(str(value))


def _rows(filename: str, data: bytes) -> Iterator[list[str]]:
    """Every row of the file in order (row N of the sheet or record N of the CSV is the N-th),
    its cells as trimmed text."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            uploads.check_zip(data)
        except uploads.UnsafeUpload as err:
            raise ValidationFailed(str(err), field="file") from err
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as err:  # openpyxl raises many kinds for a damaged file
            raise ValidationFailed(
                "无法读取 Excel 文件，请确认是 .xlsx 格式", field="file"
            ) from err
        for row in book.worksheets[0].iter_rows(min_row=1, values_only=True):
            yield [_cell(v) for v in row]
        return
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed("无法识别文件编码，请另存为 UTF-8 CSV", field="file")
        for row in csv.reader(io.StringIO(text)):
            yield [_cell(c) for c in row]
        return
    raise ValidationFailed("请上传 .csv 或 .xlsx 文件", field="file")


def read_table(filename: str, data: bytes) -> list[tuple[int, list[str]]]:
    """(row number, cells) of the rows with anything in them: fully blank rows (also the
    trailing ones a spreadsheet keeps) are skipped but still counted, so every row keeps the
    number the user sees in the spreadsheet."""
    table = []
    for number, row in enumerate(_rows(filename, data), start=1):
        if any(row):
            table.append((number, row))
            if len(table) > MAX_ROWS + 1:
                raise ValidationFailed(f"单次最多导入 {MAX_ROWS} 行", field="file")
    return table


def find_columns(
    row: list[str], columns: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> dict[str, int]:
    """{key: column index} of the header ``row``: each key of ``columns`` found by any of its
    names (English or Chinese); ValidationFailed naming the required ones that are missing."""
    found: dict[str, int] = {}
    for index, title in enumerate(row):
        for key, names in columns.items():
            if title.strip().lower() in names:
                if key in found:  # (the last one silently won: 客户号 and 客户编号 both)
                    first, again = row[found[key]].strip(), title.strip()
                    said = (
                        f"“{first}”出现了两次"
                        if first.lower() == again.lower()
                        else f"“{first}”和“{again}”都表示{names[1]}"
                    )
                    raise ValidationFailed(f"表头中{said}，请只保留一列", field="file")
                found[key] = index
    missing = [columns[k][1] for k in required if k not in found]
    if missing:
        raise ValidationFailed(f"表头缺少必需的列：{'、'.join(missing)}", field="file")
    return found


class BranchCodes:
    """The branch codes an import by ``actor`` may use: the active ones of the actor's subtree
    (the whole bank for the head office and for the command line, whose actor is None)."""

    def __init__(self, actor: User | None) -> None:
        self.all = {b.code: b for b in db.session.scalars(select(Branch).order_by(Branch.path))}
        visible = scope.scope_for(actor) if actor is not None else scope.WHOLE_BANK
        # (an inactive unit takes no new customers: the bank moved its customers elsewhere)
        self.usable = [b for b in self.all.values() if visible.covers(b) and b.active]
        self.codes = {b.code for b in self.usable}

    def problem(self, raw: str) -> str | None:
        """None for a blank or usable code, else why the code cannot be used (in Chinese)."""
        code = raw.upper()
        if not code or code in self.codes:
            return None
        if code in self.all and not self.all[code].active:
            return f"机构 {self.all[code].name}（{code}）已停用"
        if code in self.all:
            return f"机构代码 {code} 不在您的管辖范围内"
        return f"机构代码 {code[:32]} 不存在"


def csv_template(columns: dict[str, tuple[str, ...]], example: tuple[str, ...]) -> bytes:
    """An import file to fill in: the header (each column's Chinese name) and one example row,
    as CSV with the byte-order mark Excel needs to read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([[names[1] for names in columns.values()], example])
    return out.getvalue().encode("utf-8-sig")


def customer_template(actor: User | None) -> bytes:
    """The customers' import file to fill in, its example placed in a unit ``actor`` may use
    (left empty when there is none), so it imports as it is."""
    usable = usable_branches(actor)
    example = (
        "C00012345",
        "张三",
        "138 0000 0000",
        "zhangsan@example.cn",
        usable[-1].code if usable else "",
        SEGMENT_LABELS[CustomerSegment.MASS],
    )
    return csv_template(COLUMNS, example)


def usable_branches(actor: User | None) -> list[Branch]:
    """The branches whose codes ``actor`` may put in an import file, in tree order."""
    return BranchCodes(actor).usable


# a number Excel shows in scientific notation (1.38E+10): the digits after the first few are gone
SCIENTIFIC = re.compile(r"\d(\.\d+)?[eE]\+?\d+")


def _check_row(values: dict[str, str], codes: BranchCodes, seen: dict[str, int]) -> list[str]:
    problems = []
    if any(CONTROL_RE.search(v) for v in values.values()):
        return ["含有无法识别的控制字符，请删除后再导入"]
    ext, name = values.get("external_id", ""), values.get("name", "")
    if not ext:
        problems.append("客户号为空")
    elif len(ext) > 64:
        problems.append("客户号超过 64 个字符")
    elif ext in seen:
        problems.append(f"客户号 {ext} 在文件中重复（第 {seen[ext]} 行已有）")
    if not name:
        problems.append("姓名为空")
    elif len(name) > 100:
        problems.append("姓名超过 100 个字符")
    phone = mobile_number(values.get("phone", ""))
    if SCIENTIFIC.fullmatch(phone):
        problems.append(
            f"手机号“{phone[:20]}”是 Excel 的科学计数法显示，号码的后几位已丢失："
            "请把手机号一列设为“文本”格式，重新填入号码后再导入"
        )
    elif phone and not PHONE_RE.match(phone):
        problems.append(f"手机号“{phone[:20]}”格式不正确")
    email = values.get("email", "")
    if email and not EMAIL_RE.match(email):
        problems.append(f"邮箱“{email[:40]}”格式不正确")
    branch = codes.problem(values.get("branch", ""))
    if branch:
        problems.append(branch)
    segment = values.get("segment", "")
    if segment and segment not in SEGMENT_BY_LABEL and segment not in set(CustomerSegment):
        problems.append(f"客户分层“{segment[:20]}”无效（可填：{'、'.join(SEGMENT_BY_LABEL)}）")
    return problems


@transactional
def import_customers(filename: str, data: bytes, *, actor: User | None) -> ImportReport:
    """Import every row or none. Raises ImportRejected (with every bad row) or ValidationFailed
    (unreadable file, missing columns)."""
    table = read_table(filename, data)
    if len(table) < 2:
        raise ValidationFailed("文件中没有客户数据", field="file")
    columns = find_columns(table[0][1], COLUMNS, ("external_id", "name"))
    codes = BranchCodes(actor)
    report, parsed = ImportReport(rows=len(table) - 1), []
    seen: dict[str, int] = {}  # customer number -> the row it first appeared in
    for number, row in table[1:]:
        values = {k: (row[i] if i < len(row) else "") for k, i in columns.items()}
        problems = _check_row(values, codes, seen)
        seen.setdefault(values.get("external_id", ""), number)
        if problems:
            report.errors.append((number, "；".join(problems)))
        else:
            parsed.append(values)
    if report.errors:
        raise ImportRejected(report)
    for values in parsed:
        segment = values.get("segment") or None
        _, created = upsert_customer_row(
            CustomerData(
                external_id=values["external_id"],
                name=values["name"],
                phone=mobile_number(values.get("phone", "")) or None,
                email=values.get("email") or None,
                branch_code=values.get("branch") or None,
                segment=SEGMENT_BY_LABEL.get(segment, segment),
            )
        )
        report.created += created
        report.updated += not created
    audit.record(
        "customers.import",
        actor=actor,
        object_type="customer",
        detail={
            "file": (filename or "")[:100],
            "created": report.created,
            "updated": report.updated,
        },
    )
    return report
