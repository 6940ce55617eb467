"""Casework on a complaint: assignment (with 回避), classification, merging, closing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

import nlp
from app.extensions import db
from app.models import Branch, Role, User, utcnow
from app.models.complaint import (
    OPEN,
    Channel,
    Complaint,
    ComplaintEvent,
    MajorReason,
    Status,
    raise_priority_for_major,
)
from app.models.outbox import MessageStatus, OutboxMessage
from app.services import audit, scope
from app.services import complaint_clock as clock
from app.services.complaint_escalation import escalate_row
from app.services.complaint_handling import (
    DECISION_PURPOSES,
    PROVEN,
    _move,
    _require,
    guarded,
    load_to_act,
    run_out_on,
)
from app.services.complaints import conflicted, record_event, refresh_due
from app.services.customers import printable_text
from app.services.domain_events import DomainEvent, publish
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.imports import PHONE_RE, mobile_number
from app.services.org import units_around
from app.services.tx import transactional

T = TypeVar("T")
HANDLER_ROLES = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)
OUT_OF_SCOPE = "该员工不能查看此投诉（投诉不属于其所在机构或下级机构），不能分派给该员工"
CONFLICT = "根据回避规定（第十七条），不能将投诉分派给投诉涉及的员工或其所在机构的处理人员"


def can_see(complaint: Complaint, user: User) -> bool:
    """The user's branch scope covers the case (own branch and below; head office: all)."""
    return scope.scope_for(user).covers(complaint.branch)


def _assign_row(complaint: Complaint, user: User, actor: User | None, how: str) -> None:
    if Status(complaint.status) not in OPEN:
        raise Conflict(f"当前状态为“{complaint.status_label}”，不能分派")
    if not user.active or not user.has_role(*HANDLER_ROLES):
        raise ValidationFailed("只能分派给在岗的客服或管理人员", field="assignee")
    if not can_see(complaint, user):
        raise ValidationFailed(OUT_OF_SCOPE, field="assignee")
    if conflicted(complaint, user):
        raise ValidationFailed(CONFLICT, field="assignee")
    previous = complaint.assignee.display_name if complaint.assignee else None
    complaint.assignee_id, complaint.assigned_at = user.id, utcnow()
    record_event(
        complaint,
        actor,
        "assigned",
        f"分派给 {user.display_name}",
        detail={"assignee_id": user.id, "previous": previous, "how": how},
    )


def take_row(complaint: Complaint, actor: User) -> None:
    """The handler who accepts a case nobody holds takes it (flush only): an agent accepting a
    case found it still 待分派 and had to assign it to themselves in a second step."""
    _assign_row(complaint, actor, actor, "self")


@transactional
@guarded
def assign(
    complaint_id: int, assignee_id: int, *, actor: User, version: int | None = None
) -> Complaint:
    """Assign by hand; refuses a staff member the case names (回避)."""
    complaint = load_to_act(complaint_id, version, actor)
    user = db.session.get(User, assignee_id)
    if user is None:
        raise NotFound("员工不存在", field="assignee")
    _assign_row(complaint, user, actor, "manual")
    return complaint


def candidates(complaint: Complaint) -> list[User]:
    """Handlers for a case by branch rule: agents of its branch, else of the nearest parent."""
    branch = db.session.get(Branch, complaint.branch_id) if complaint.branch_id else None
    codes = list(reversed(branch.path.strip("/").split("/"))) if branch else []
    load_count = (
        select(func.count(Complaint.id))
        .where(Complaint.assignee_id == User.id, Complaint.status.in_([s.value for s in OPEN]))
        .correlate(User)
        .scalar_subquery()
    )
    for code in codes:
        stmt = (
            select(User)
            .join(Branch, User.branch_id == Branch.id)
            .where(Branch.code == code, User.active.is_(True), User.role == Role.AGENT)
            .order_by(load_count, User.id)
            .execution_options(include_all_branches=True)
        )
        people = [u for u in db.session.scalars(stmt) if not conflicted(complaint, u)]
        if people:
            return people
    return []


@transactional
@guarded
def assign_by_rule(
    complaint_id: int, *, actor: User | None, version: int | None = None
) -> Complaint:
    """Branch rule: the least-loaded agent of the case's branch (or nearest parent branch)."""
    complaint = load_to_act(complaint_id, version, actor)
    people = candidates(complaint)
    if not people:
        raise Conflict("本机构及上级机构没有可分派的坐席（已排除回避人员）")
    _assign_row(complaint, people[0], actor, "rule")
    return complaint


def _handlers():
    """Active handlers (the roles that handle cases), each with their unit loaded."""
    return (
        select(User)
        .options(joinedload(User.branch))
        .where(User.active.is_(True), User.role.in_([r.value for r in HANDLER_ROLES]))
    )


def _active_handlers() -> list[User]:
    return list(db.session.scalars(_handlers().order_by(User.branch_id, User.display_name)))


def staff_choices(complaint: Complaint) -> list[User]:
    """Staff who may be picked by hand: active handlers who can see the case (its branch or a
    parent branch, or the head office), leaving out those the case names (回避)."""
    return [u for u in _active_handlers() if can_see(complaint, u) and not conflicted(complaint, u)]


def _named_branch(text: str) -> int | None:
    """The unit a case names, by its code or its full name ("": none); any unit of the bank
    (a customer may correct where it happened: another 分行's outlet)."""
    text = text.strip()
    if not text:
        return None
    branch = db.session.scalar(select(Branch).where(Branch.code == text))
    if branch is None:
        named = db.session.scalars(select(Branch).where(Branch.name == text).limit(2)).all()
        branch = named[0] if len(named) == 1 else None
    if branch is None:
        raise ValidationFailed(
            f"未找到机构“{text[:40]}”：请输入机构代码或机构全称（可从列表中选择）",
            field="named_branch",
        )
    return branch.id


def named_people(complaint: Complaint) -> list[User]:
    """Whom the case names now (回避), a deactivated account too (else every later save of
    分类与回避 read as taking that name off, which needs a reason and is audited)."""
    ids = complaint.named_staff_ids or []
    if not ids:
        return []
    stmt = select(User).options(joinedload(User.branch)).where(User.id.in_(ids))
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id)))


def staff_near(complaint: Complaint) -> list[User]:
    """The handlers offered as suggestions when naming staff (回避): those of the case's
    分行 and the units above it (head office's own for a case at head office), not yet named.
    Any active handler of the bank may still be typed: a bank of thousands of handlers put
    every one of them on every case page."""
    unit = complaint.branch
    if unit is not None and unit.path.strip("/").count("/") >= 1:
        units = select(Branch.id).where(Branch.id.in_([b.id for b in units_around(unit)]))
    else:  # (units_around gives every unit for a case at head office)
        units = select(Branch.id).where(~Branch.path.like("/%/%/"))
    stmt = _handlers().where(
        or_(User.branch_id.in_(units), User.branch_id.is_(None)),
        User.id.not_in(complaint.named_staff_ids or [-1]),
    )
    return list(db.session.scalars(stmt.order_by(User.branch_id, User.display_name, User.id)))


_NAME_SEPARATORS = re.compile(r"[,，、;；\s]+")


def _people_named(text: str | None) -> list[int]:
    """The staff typed into 添加涉及的员工, by user name or full name, separated by commas,
    、 or spaces: any active handler of the bank (a customer may name someone of another
    分行). A name two handlers share is refused, asking for the user name."""
    found: list[int] = []
    problems: list[str] = []
    handlers = _handlers()
    for word in dict.fromkeys(w for w in _NAME_SEPARATORS.split(text or "") if w):
        people = (
            db.session.scalars(handlers.where(func.lower(User.username) == word.lower())).all()
            or db.session.scalars(handlers.where(User.display_name == word).limit(9)).all()
        )
        if len(people) == 1:
            found.append(people[0].id)
        elif people:
            problems.append(f"有 {len(people)} 名员工名为“{word}”，请输入其中一人的用户名")
        else:
            problems.append(f"未找到在岗的投诉处理人员“{word[:40]}”")
    if problems:
        raise ValidationFailed(
            "；".join(problems) + "（请输入用户名或姓名，可从列表中选择）", field="add_staff"
        )
    return found


@transactional
@guarded
def classify(
    complaint_id: int,
    *,
    actor: User,
    code_channel: str | None,
    code_business: str | None,
    code_cause: str | None,
    named_staff_ids: list[int] | None = None,
    add_staff: str | None = None,
    named_branch_code: str | None = None,
    major_reason: str | None = None,
    reason: str | None = None,
    regulator_ref: str | None = None,
    version: int | None = None,
) -> Complaint:
    """Set the JR/T 0169 codes, who the case names (回避) and the Art. 29 major flag.

    Naming staff or a branch needs no reason; taking a name off (which lets that person or
    that unit's handlers be assigned the case again) needs ``reason``, and the history names
    who or which unit was taken off and why (``_naming_change``)."""
    complaint = load_to_act(complaint_id, version, actor)  # (nor may they unname themselves)
    problems: dict[str, str] = {}
    codes = _checked(
        problems,
        lambda: check_codes(code_channel, code_business, code_cause, required=False),
        (None, None, None),
    )
    kept = complaint.named_staff_ids if named_staff_ids is None else named_staff_ids
    added = _checked(problems, lambda: _people_named(add_staff), [])
    staff = sorted({*(kept or []), *added})
    branch_id = complaint.named_branch_id
    if named_branch_code is not None:
        branch_id = _checked(problems, lambda: _named_branch(named_branch_code), branch_id)
    change = _checked(
        problems, lambda: _naming_change(complaint, staff, branch_id, reason), NamingChange("", {})
    )
    ref = _checked(problems, lambda: _regulator_ref_to_add(complaint, regulator_ref), None)
    _refuse(problems)
    complaint.code_channel, complaint.code_business, complaint.code_cause = codes
    complaint.named_staff_ids, complaint.named_branch_id = staff, branch_id
    if ref is not None:
        complaint.regulator_ref = ref
        change = NamingChange(
            change.text + f"；补录监管转办编号：{ref}",
            {**change.detail, "regulator_ref": ref},
            change.removed,
            change.reason,
        )
    _recuse_assignee(complaint, actor)
    newly_major = major_reason in set(MajorReason) and not complaint.is_major
    if major_reason in set(MajorReason):
        complaint.is_major, complaint.major_reason = True, major_reason
        raise_priority_for_major(complaint)
    record_event(
        complaint,
        actor,
        "classified",
        "更新分类与涉及人员" + change.text,
        detail={
            "codes": list(codes),
            "named_staff_ids": complaint.named_staff_ids,
            "named_branch_id": complaint.named_branch_id,
            "major_reason": complaint.major_reason,
            **change.detail,
        },
    )
    if change.removed:
        # (the audit log shows what it keeps as is: a number typed into the reason is masked,
        # as the case page and the API mask the history's text)
        masked = nlp.redact(change.reason or "").text
        audit.record(
            "complaint.recusal_removed",
            actor=actor,
            object_type="complaint",
            object_id=complaint.id,
            reason=masked,
            detail={"reference": complaint.reference, **change.detail, "reason": masked},
        )
    if newly_major:
        escalate_row(complaint, "major", actor)
    return complaint


def _regulator_ref_to_add(complaint: Complaint, typed: str | None) -> str | None:
    """The regulator's number typed for a forwarded case registered without one (the API
    takes such a case), or None when none is typed. It is set once: the number the regulator
    counts the case by is not changed afterwards."""
    ref = printable_text(typed) or None
    if ref is None:
        return None
    if complaint.channel != Channel.REGULATOR:
        raise ValidationFailed("只有监管转办投诉有监管转办编号", field="regulator_ref")
    if complaint.regulator_ref:
        raise ValidationFailed(
            f"监管转办编号已登记为 {complaint.regulator_ref}，不能修改", field="regulator_ref"
        )
    return ref[:100]


@dataclass(frozen=True)
class NamingChange:
    """Who a classification adds to or takes off the case's 回避 list, in the history's words."""

    text: str
    detail: dict
    removed: bool = False
    reason: str | None = None


def _naming_change(
    complaint: Complaint, staff: list[int], branch_id: int | None, reason: str | None
) -> NamingChange:
    """What changes in whom the case names. Taking a name off lifts the 回避 that kept that
    person (or that unit's handlers) from the case, so it needs a reason (ValidationFailed on
    ``reason`` without one) and is written out with the names: the history read only
    更新分类与涉及人员, and the named agent was then assigned the case about them."""
    before = list(complaint.named_staff_ids or [])
    added = [i for i in staff if i not in before]
    removed = [i for i in before if i not in staff]
    old_branch = complaint.named_branch_id
    branch_off = old_branch if old_branch is not None and old_branch != branch_id else None
    branch_on = branch_id if branch_id is not None and branch_id != old_branch else None

    def person(ident: int) -> str:
        user = db.session.get(User, ident)
        return user.display_name if user else f"员工#{ident}"

    def unit(ident: int) -> str:
        found = db.session.get(Branch, ident)
        return found.name if found else f"机构#{ident}"

    parts, detail = [], {}
    if added:
        parts.append("新增涉及员工：" + "、".join(person(i) for i in added))
        detail["added_staff"] = [{"id": i, "name": person(i)} for i in added]
    if branch_on is not None:
        parts.append(f"新增涉及机构：{unit(branch_on)}")
        detail["added_branch"] = {"id": branch_on, "name": unit(branch_on)}
    off = [f"员工 {person(i)}" for i in removed]
    if branch_off is not None:
        off.append(f"机构 {unit(branch_off)}")
    if not off:
        return NamingChange("".join(f"；{p}" for p in parts), detail)
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(
            f"移除投诉涉及的{'、'.join(off)}须填写理由（回避，第十七条）："
            "移除后其可再被分派办理本投诉",
            field="reason",
        )
    if len(text) < 4:
        raise ValidationFailed("移除理由过于简短，请至少写 4 个字", field="reason")
    text = text[:500]
    if removed:
        parts.append("移除涉及员工：" + "、".join(person(i) for i in removed))
        detail["removed_staff"] = [{"id": i, "name": person(i)} for i in removed]
    if branch_off is not None:
        parts.append(f"移除涉及机构：{unit(branch_off)}")
        detail["removed_branch"] = {"id": branch_off, "name": unit(branch_off)}
    parts.append(f"移除理由：{text}")
    detail["reason"] = text
    return NamingChange("".join(f"；{p}" for p in parts), detail, True, text)


def _recuse_assignee(complaint: Complaint, actor: User) -> None:
    """Art. 17: a handler the case now names (or who works at the unit it names) may not keep
    it; the case goes back to the 待分派 queue, and the history says why."""
    user = complaint.assignee
    if user is None or not conflicted(complaint, user):
        return
    complaint.assignee_id, complaint.assigned_at = None, None
    record_event(
        complaint,
        actor,
        "assigned",
        f"{user.display_name} 为投诉涉及的人员或机构的人员，"
        "根据回避规定（第十七条）取消分派，请重新分派",
        detail={"assignee_id": None, "previous": user.display_name, "how": "recusal"},
    )


def release_handler(user: User, actor: User | None) -> int:
    """A handler leaves (their account is disabled): each case in work assigned to them goes
    back to the 待分派 queue, and its history says why, so no legal deadline runs out under a
    handler who can no longer sign in. Flush only (the caller's use case commits); returns how
    many cases went back."""
    return release_out_of_sight(
        actor,
        "处理人 {name} 的账号已停用，退回待分派，请重新分派",
        assignee_ids=[user.id],
        how="deactivated",
    )


def release_out_of_sight(
    actor: User | None,
    why: str,
    *,
    assignee_ids: list[int] | None = None,
    branch_ids: list[int] | None = None,
    how: str = "out_of_sight",
) -> int:
    """After a handler left, or their placement or role changed (``assignee_ids``), or units
    moved in the tree (``branch_ids``, the cases at them): each case in work whose handler can
    no longer sign in, see it or handle cases goes back to the 待分派 queue (rows locked), and
    its history says why (``why``, where ``{name}`` is the handler's name; ``how`` in its
    detail): it sat in a queue nobody who held it could open. Flush only; returns how many."""
    stmt = (
        select(Complaint)
        .options(joinedload(Complaint.assignee), joinedload(Complaint.branch))
        .where(
            Complaint.assignee_id.is_not(None),
            Complaint.merged_into_id.is_(None),
            Complaint.status.in_([s.value for s in OPEN]),
        )
        .order_by(Complaint.id)
        .with_for_update(of=Complaint)
        .execution_options(include_all_branches=True)
    )
    if assignee_ids is not None:
        stmt = stmt.where(Complaint.assignee_id.in_(assignee_ids))
    if branch_ids is not None:
        stmt = stmt.where(Complaint.branch_id.in_(branch_ids))
    released = 0
    for complaint in db.session.scalars(stmt).unique():
        user = complaint.assignee
        if user.active and user.has_role(*HANDLER_ROLES) and can_see(complaint, user):
            continue
        complaint.assignee_id, complaint.assigned_at = None, None
        record_event(
            complaint,
            actor,
            "assigned",
            why.format(name=user.display_name),
            detail={"assignee_id": None, "previous": user.display_name, "how": how},
        )
        released += 1
    return released


def check_codes(a: str | None, b: str | None, c: str | None, *, required: bool):
    """The three JR/T 0169 codes, cleaned; every missing or invalid one is reported at once."""
    taxonomy = nlp.load_taxonomy()
    out, problems = [], {}
    for value, dim, field, label in (
        (a, "A", "code_channel", "渠道"),
        (b, "B", "code_business", "业务类别"),
        (c, "C", "code_cause", "投诉原因"),
    ):
        value = (value or "").strip() or None
        entry = taxonomy.get(value) if value else None
        if value is None and required:
            problems[field] = f"办结前须选择{label}分类（JR/T 0169）"
        elif value and (entry is None or entry.dimension != dim):
            problems[field] = f"{label}分类代码无效：{value}"
        out.append(value)
    _refuse(problems)
    return tuple(out)


def _refuse(problems: dict[str, str]) -> None:
    """Raise one ValidationFailed naming every problem found (none: nothing happens)."""
    if problems:
        raise ValidationFailed("；".join(problems.values()), fields=problems)


def _checked(problems: dict[str, str], check: Callable[[], T], failed: T) -> T:
    """What ``check`` returns, or ``failed`` with its ValidationFailed added to ``problems``,
    so that a form learns every problem at once rather than one per submission."""
    try:
        return check()
    except ValidationFailed as err:
        problems.update(err.fields or {"": err.message})
        return failed


@transactional
@guarded
def merge(
    duplicate_id: int,
    into_id: int,
    *,
    actor: User,
    new_facts: bool,
    note: str,
    version: int | None = None,
) -> Complaint:
    """Art. 18: fold the same customer's repeat, received within the first case's period, into
    the first case; new facts restart the first case's clock while it runs (``_check_repeat``)."""
    if duplicate_id == into_id:
        raise ValidationFailed("不能与自身合并", field="into")
    duplicate = load_to_act(duplicate_id, version, actor)
    target = load_to_act(into_id, None, actor)
    if Status(target.status) not in OPEN or Status(duplicate.status) not in OPEN:
        raise Conflict("只能合并处理中的投诉")
    _check_repeat(duplicate, target, new_facts)
    note = _require(note, "note", "合并说明")
    duplicate.status, duplicate.merged_into_id = Status.CLOSED, target.id
    duplicate.closed_at = utcnow()
    record_event(
        duplicate,
        actor,
        "merged",
        f"并入 {target.reference}：{note}",
        to_status=Status.CLOSED,
        detail={"into": target.reference},
    )
    detail = {"from": duplicate.reference, "new_facts": new_facts}
    suffix = ""
    if new_facts and target.clock_running:
        # The clock restarts on the day the new material was received; material received
        # before the day the case's clock started is not newer than the case, and restarting
        # from it would move the deadline earlier (a case made overdue by a merge).
        material_on = clock.local_date(duplicate.received_at)
        if material_on > clock.start_date(target.clock_facts()):
            target.clock_restarted_on = material_on
            target.pauses = []
            refresh_due(target)
            detail["restarted_on"] = material_on.isoformat()
            suffix = "（含新事实，时限重新起算）"
        else:
            suffix = "（含新事实，但其接收日期不晚于本案时限起算日，时限不变）"
    elif new_facts:
        suffix = "（含新事实）"
    text = f"合并重复投诉 {duplicate.reference}{suffix}"
    record_event(target, actor, "merged", f"{text}：{note}", detail=detail)
    target.updated_at = utcnow()
    return target


AS_OWN_CASE = "请将其作为一件新投诉单独办理（自其接收之日起 15 日内作出处理决定并告知客户）"


def _check_repeat(duplicate: Complaint, target: Complaint, new_facts: bool) -> None:
    """Art. 18 merges a repeat of the same complaint, received within the first case's period,
    into the first: the same customer's (a different customer's complaint merged away was
    never decided nor told), received on or after the first (merged the other way round, the
    first complaint took the repeat's later deadline) and by the first's deadline. New facts
    restart a clock that is still running, never one that has run out: a restart entered
    after the deadline turned an overdue case into one decided in time."""
    if not same_complainant(duplicate, target):
        why = (
            "（客户号不同）"
            if duplicate.customer_id and target.customer_id
            else "（投诉人姓名及联系电话或电子邮箱不一致，不能确认为同一人）"
        )
        if duplicate.customer_id and duplicate.customer_id == target.customer_id:
            names = (
                f"{duplicate.masked_name} / {target.masked_name}"
                if duplicate.masked_name != target.masked_name
                else "可在两件投诉的页面查看完整姓名核对"
            )
            why = (
                f"（两件投诉登记的投诉人姓名不同：{names}；同一客户档案可能是按家人共用的电话"
                "匹配的。法定代理人、受托人或继承人代为投诉的，应在受理时登记投诉人身份）"
            )
        raise ValidationFailed(
            f"只能合并同一客户的重复投诉：{duplicate.reference} 与 {target.reference} "
            f"不是同一客户的投诉{why}，请分别办理",
            field="into",
        )
    received = clock.local_date(duplicate.received_at)
    first = clock.local_date(target.received_at)
    if received < first:
        raise ValidationFailed(
            f"{duplicate.reference}（{received:%Y年%m月%d日}接收）早于 {target.reference}"
            f"（{first:%Y年%m月%d日}接收）：重复投诉只能并入较早收到的投诉，"
            f"请在 {target.reference} 的页面将其并入 {duplicate.reference}",
            field="into",
        )
    due = clock.local_date(target.due_at) if target.due_at else None
    if due is not None and received > due:
        raise ValidationFailed(
            f"{duplicate.reference} 于 {received:%Y年%m月%d日} 接收，晚于 {target.reference} "
            f"的办理时限（{due:%Y年%m月%d日}），不是时限内的重复投诉，不能合并；{AS_OWN_CASE}",
            field="into",
        )
    expired = run_out_on(target)
    if new_facts and expired is not None:
        raise ValidationFailed(
            f"{target.reference} 的办理时限已于 {expired:%Y年%m月%d日} 届满，"
            f"不能因新事实重新起算时限；{AS_OWN_CASE}",
            field="into",
        )


def _person_name(name: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


def same_complainant(a: Complaint, b: Complaint) -> bool:
    """Whether two cases are the same customer's. Two customer records are two customers (the
    bank's own customer numbers tell them apart; a person the bank holds twice is put right in
    its customer data, not guessed here). A case without a record (intake matches by customer
    number, else by a phone number only one customer has: a shared family number matches
    nobody) is the same customer's only with the same name and the same phone number or
    e-mail address."""
    if a.customer_id is not None and b.customer_id is not None:
        if a.customer_id != b.customer_id:
            return False
        # One record, two names: the record may have been matched by a phone a family shares
        # (intake matched the second caller to the first's record), unless one of the two was
        # raised for the customer by someone else (a legal representative, agent or heir).
        name_a, name_b = _person_name(a.complainant_name), _person_name(b.complainant_name)
        return not (name_a and name_b and name_a != name_b) or _on_behalf(a) or _on_behalf(b)
    same_phone = a.phone_index is not None and a.phone_index == b.phone_index
    mail_a = (a.complainant_email or "").strip().casefold()
    same_mail = bool(mail_a) and mail_a == (b.complainant_email or "").strip().casefold()
    name = _person_name(a.complainant_name)
    return (same_phone or same_mail) and bool(name) and name == _person_name(b.complainant_name)


def _on_behalf(complaint: Complaint) -> bool:
    """Whether the case was accepted as raised for the customer by someone else (受理's
    投诉人身份: 法定代理人, 受托人 or 继承人)."""
    for event in db.session.scalars(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == "status"
        )
    ):
        if (event.detail or {}).get("capacity") in ("legal_rep", "agent", "heir"):
            return True
    return False


def notice_proven(complaint: Complaint) -> bool:
    """A decision notice that reached the customer: a call answered, a letter posted or handed
    over, or a message its gateway accepted (as it stands now: one queued for a gateway, or
    failed and being retried, is not proof yet)."""
    stmt = select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == "notice"
    )
    for event in db.session.scalars(stmt):
        detail = event.detail or {}
        if detail.get("purpose") in ("decision", "review_decision") and (
            _outcome_now(detail) in PROVEN
        ):
            if complaint.decided_at is None or event.at >= complaint.decided_at:
                return True
    return False


def _outcome_now(detail: dict) -> str | None:
    """A notice's outcome; for a message, its delivery status now (it may have been queued)."""
    if detail.get("message_id") and detail.get("outcome") in ("queued", "failed", "sent"):
        status = db.session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.id == detail["message_id"])
        )
        return status or detail.get("outcome")
    return detail.get("outcome")


FAILED_CALLS = ("no_answer", "unreachable")
# With no written route on file: as many failed calls as a 回访 task makes before it gives up,
# each at least an hour after the last one counted (three presses of 无人接听 in a minute are
# one attempt).
MIN_FAILED_CALLS = 3
CALL_SPACING = timedelta(hours=1)
WRITTEN_ROUTES = {"sms": ("短信", "手机号码"), "email": ("电子邮件", "电子邮箱")}


def written_routes(complaint: Complaint) -> list[str]:
    """The written routes on file for telling the customer the decision: ``sms`` to a mobile
    number (a landline takes no SMS), ``email``."""
    phone = mobile_number(complaint.complainant_phone or "")
    routes = ["sms"] if PHONE_RE.match(phone) else []
    if (complaint.complainant_email or "").strip():
        routes.append("email")
    return routes


def _decision_attempts(complaint: Complaint) -> list[ComplaintEvent]:
    """The notices of the decision recorded after it, oldest first. A contact-log entry is free
    text (it may say the customer was reached), so it is none."""
    stmt = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == "notice")
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    return [
        event
        for event in db.session.scalars(stmt)
        if (event.detail or {}).get("purpose") in DECISION_PURPOSES
        and (complaint.decided_at is None or event.at >= complaint.decided_at)
    ]


def _failed_calls(attempts: list[ComplaintEvent]) -> int:
    """Calls not answered or not connected, counting only those an hour or more apart."""
    count, last = 0, None
    for event in attempts:
        detail = event.detail or {}
        if detail.get("method") != "phone" or detail.get("outcome") not in FAILED_CALLS:
            continue
        if last is None or event.at - last >= CALL_SPACING:
            count, last = count + 1, event.at
    return count


def unreachable_shortfall(complaint: Complaint) -> str | None:
    """What the record still lacks before the case may close as 客户无法联系 (None: nothing).
    Art. 21 waives the proof of notice only when the customer cannot be reached: with a mobile
    number or an e-mail address on file, the decision must have been sent that way (every
    written route on file) and the message failed for good (its gateway stopped retrying);
    calls alone, one unanswered call was enough, do not show that. With no written route,
    ``MIN_FAILED_CALLS`` failed calls an hour or more apart. Only attempts made after the
    decision count."""
    attempts = _decision_attempts(complaint)
    routes = written_routes(complaint)
    if routes:
        missing = [
            route
            for route in routes
            if not any(
                (e.detail or {}).get("method") == route and _message_given_up(e.detail or {})
                for e in attempts
            )
        ]
        if not missing:
            return None
        on_file = "和".join(WRITTEN_ROUTES[r][1] for r in routes)
        by = "和".join(WRITTEN_ROUTES[r][0] for r in missing)
        return (
            f"投诉人留有{on_file}：标记“无法联系”前，须在作出处理决定后以{by}告知处理决定，"
            "且发送失败、已停止重试（仅电话未接通不能认定客户无法联系）"
        )
    calls = _failed_calls(attempts)
    if calls >= MIN_FAILED_CALLS:
        return None
    return (
        f"投诉人未留手机号码或电子邮箱：标记“无法联系”前，须在作出处理决定后记录至少 "
        f"{MIN_FAILED_CALLS} 次电话未能接通（无人接听或无法接通，每次间隔不少于 1 小时），"
        f"目前 {calls} 次"
    )


def contact_failed(complaint: Complaint) -> bool:
    """The record shows the customer cannot be told the decision (``unreachable_shortfall``)."""
    return unreachable_shortfall(complaint) is None


def _message_given_up(detail: dict) -> bool:
    if not detail.get("message_id"):
        return False
    message = db.session.get(OutboxMessage, detail["message_id"])
    return (
        message is not None
        and message.status == MessageStatus.FAILED
        and message.next_attempt_at is None
    )


@transactional
@guarded
def close(
    complaint_id: int,
    *,
    actor: User,
    code_channel: str | None,
    code_business: str | None,
    code_cause: str | None,
    root_cause: str,
    unreachable: bool = False,
    version: int | None = None,
) -> Complaint:
    """Close a decided case: decision, proof of notice (or recorded unreachable), codes, cause.

    Publishes ``complaint.closed`` inside this transaction (the survey side schedules the
    complaint-resolution survey from it).
    """
    complaint = load_to_act(complaint_id, version, actor)
    if not complaint.decision_text:
        raise Conflict("尚未作出处理决定，不能办结")
    problems: dict[str, str] = {}
    codes = _checked(
        problems,
        lambda: check_codes(code_channel, code_business, code_cause, required=True),
        (None, None, None),
    )
    root_cause = _checked(
        problems, lambda: _require(root_cause, "root_cause", "问题根因（溯源整改）", 4), ""
    )
    shortfall = unreachable_shortfall(complaint) if unreachable else None
    if shortfall:
        problems["unreachable"] = shortfall
    if not unreachable and not notice_proven(complaint):
        problems["unreachable"] = "办结前须留存处理决定的告知凭证（第二十一条），或记录客户无法联系"
    _refuse(problems)
    complaint.code_channel, complaint.code_business, complaint.code_cause = codes
    complaint.root_cause, complaint.customer_unreachable = root_cause, unreachable
    _move(complaint, "close", actor, "办结" + ("（客户无法联系）" if unreachable else ""))
    complaint.closed_at = utcnow()
    db.session.flush()
    publish(
        DomainEvent(
            "complaint.closed",
            occurred_at=complaint.closed_at,
            customer_id=complaint.customer_id,
            branch_id=complaint.branch_id,
            product_id=complaint.product_id,
            attributes={
                "complaint_id": complaint.id,
                "reference": complaint.reference,
                "channel": complaint.channel,
                "code_business": complaint.code_business,
                "within_deadline": clock.decided_in_time(
                    complaint.due_at,
                    complaint.decided_at,
                    complaint.decision_notified_at,
                    excused=unreachable
                    and (complaint.due_at is None or complaint.closed_at <= complaint.due_at),
                ),
            },
        )
    )
    return complaint


def today() -> date:
    return clock.local_date(utcnow())
