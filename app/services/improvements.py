"""Problems (问题): create, link cases to them, verify and close them, with an append-only history.

A problem is BranchScoped by the root of its scope subtree, so a branch manager sees the problems
of their subtree only; jobs and CLI see every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import nlp
from app.extensions import db
from app.models import Branch, Complaint, FollowUp, Product, Response, Role, Survey, User, utcnow
from app.models.improvement import (
    LINK_SOURCES,
    ActionStatus,
    Problem,
    ProblemEvent,
    ProblemLink,
    ProblemStatus,
    RootCause,
)
from app.services import audit, scope
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.improvement_verification import Verification
from app.services.tx import get_or_raise, transactional

MANAGER_ROLES = (Role.BRANCH_MANAGER, Role.HQ_MANAGER)
SOURCE_MODELS: dict[str, Any] = {"complaint": Complaint, "response": Response, "followup": FollowUp}


@dataclass(frozen=True)
class ProblemData:
    title: str
    root_cause: str
    branch_code: str
    description: str = ""
    product_code: str | None = None
    code_business: str | None = None
    code_cause: str | None = None
    survey_code: str | None = None
    owner_id: int | None = None
    window_days: int = 60


def record(
    problem: Problem,
    actor: User | None,
    kind: str,
    text: str = "",
    *,
    action_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> ProblemEvent:
    """Append one history entry to the current transaction (flush only)."""
    event = ProblemEvent(
        problem_id=problem.id,
        action_id=action_id,
        at=at or utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.display_name if actor else "系统",
        kind=kind,
        text=text,
        detail=detail or {},
    )
    db.session.add(event)
    return event


def get_problem(problem_id: int) -> Problem:
    return get_or_raise(Problem, problem_id, "问题不存在（或不在您的管辖范围内）")


def require_manager(actor: User | None) -> None:
    if actor is not None and not actor.has_role(*MANAGER_ROLES):
        raise Forbidden("只有机构负责人或总分行管理人员可以操作整改")


def _code(dimension: str, code: str | None, field: str) -> str | None:
    code = (code or "").strip() or None
    if code and nlp.load_taxonomy().get(code) is None:
        raise ValidationFailed("分类代码不存在", field=field)
    if code and not code.startswith(dimension):
        raise ValidationFailed("分类代码不属于该维度", field=field)
    return code


def works_for(home: Branch | None, branch: Branch) -> bool:
    """Whether staff of unit ``home`` (None: head office, the whole bank) may own the 整改 work
    of ``branch``: their unit is it, below it or above it."""
    return home is None or branch.path.startswith(home.path) or home.path.startswith(branch.path)


def check_owner(owner_id: int | None, branch: Branch, field: str, kept: int | None = None) -> None:
    """An owner of a problem of ``branch`` or of one of its actions works there: in its unit or
    below it, or in a unit above it (head office included). A 南京 manager named owner of a
    杭州 action saw it on their 工作台 and could neither open nor start it. A newly named owner
    is also an active member of staff, not an administrator (``kept``: the owner the record
    has, whose account may have been closed since)."""
    if not owner_id:
        return
    everywhere = {"include_all_branches": True}  # (found wherever they work, then judged)
    owner = db.session.get(User, owner_id, execution_options=everywhere)
    if owner is None:
        raise ValidationFailed("责任人不存在", field=field)
    if owner_id != kept and not owner.active:
        raise ValidationFailed(f"{owner.display_name}的账号已停用，不能作为责任人", field=field)
    if owner_id != kept and owner.role == Role.ADMIN:
        raise ValidationFailed("系统管理员不处理客户数据，不能作为责任人", field=field)
    home = (
        db.session.get(Branch, owner.branch_id, execution_options=everywhere)
        if owner.branch_id
        else None
    )
    if works_for(home, branch):
        return
    raise ValidationFailed(
        f"责任人须为{branch.name}及其下级或上级机构的员工（{owner.display_name}属于{home.name}）",
        field=field,
    )


def _apply(problem: Problem, data: ProblemData) -> None:
    title = (data.title or "").strip()
    if not title:
        raise ValidationFailed("请填写问题标题", field="title")
    if data.root_cause not in {c.value for c in RootCause}:
        raise ValidationFailed("请选择根因类别", field="root_cause")
    if not 14 <= int(data.window_days or 0) <= 365:
        raise ValidationFailed("对比窗口须为 14–365 天", field="window_days")
    branch = db.session.scalar(select(Branch).where(Branch.code == (data.branch_code or "")))
    if branch is None or not scope.current(db.session).covers(branch):
        raise ValidationFailed("请选择您管辖范围内的机构", field="branch_code")
    product = None
    if data.product_code:
        product = db.session.scalar(select(Product).where(Product.code == data.product_code))
        if product is None:
            raise ValidationFailed("产品不存在", field="product_code")
    survey = None
    if data.survey_code:
        survey = db.session.scalar(select(Survey).where(Survey.code == data.survey_code))
        if survey is None:
            raise ValidationFailed("问卷不存在", field="survey_code")
    check_owner(data.owner_id, branch, "owner_id", kept=problem.owner_id)
    problem.title, problem.description = title[:200], (data.description or "").strip()
    problem.root_cause = RootCause(data.root_cause)
    problem.branch_id, problem.product_id = branch.id, product.id if product else None
    problem.code_business = _code("B", data.code_business, "code_business")
    problem.code_cause = _code("C", data.code_cause, "code_cause")
    problem.survey_id = survey.id if survey else None
    problem.owner_id = data.owner_id or None
    problem.window_days = int(data.window_days)


@transactional
def create_problem(data: ProblemData, *, actor: User | None) -> Problem:
    """A new problem in the actor's scope; raises ValidationFailed / Forbidden."""
    require_manager(actor)
    problem = Problem(status=ProblemStatus.OPEN, created_by_id=actor.id if actor else None)
    _apply(problem, data)
    db.session.add(problem)
    db.session.flush()
    record(problem, actor, "created", f"立项：{problem.title}")
    return problem


@transactional
def update_problem(problem_id: int, data: ProblemData, *, actor: User) -> Problem:
    require_manager(actor)
    problem = get_problem(problem_id)
    _require_open(problem, "问题已闭环，不能再修改；如需继续整改请先重新打开")
    before = _snapshot(problem)
    from app.services import improvement_figures as figures

    anchor = figures.anchor_of(problem)
    _apply(problem, data)
    after = _snapshot(problem)
    changed = {k: [v, after[k]] for k, v in before.items() if after[k] != v}
    fixed = [FIGURE_FIELDS[k] for k in changed if k in FIGURE_FIELDS]
    if anchor is not None and fixed:
        # (a window shortened after the actions were done ended the observation at once, and
        # head office was offered 人工认定 on figures that had got worse)
        raise Conflict(
            f"整改措施已全部完成，观察期已开始：{'、'.join(fixed)}已固定，不能再修改。"
            "如确需调整，请先重新打开一项整改措施（观察期随之重新起算）"
        )
    if changed:
        names = "、".join(FIELD_NAMES.get(k, k) for k in changed)
        record(problem, actor, "changed", f"修改了问题信息：{names}", detail={"changed": changed})
    return problem


# What a problem's before/after figures are computed over: fixed once its observation began.
FIGURE_FIELDS = {
    "branch_id": "机构",
    "product_id": "产品",
    "code_business": "投诉类别",
    "code_cause": "投诉原因",
    "survey_id": "问卷",
    "window_days": "对比窗口",
}
FIELD_NAMES = {
    "title": "标题",
    "description": "描述",
    "root_cause": "根因类别",
    "owner_id": "负责人",
    **FIGURE_FIELDS,
}


def _snapshot(problem: Problem) -> dict[str, Any]:
    keys = ("title", "description", "root_cause", "branch_id", "product_id", "code_business")
    keys += ("code_cause", "survey_id", "owner_id", "window_days")
    return {k: str(getattr(problem, k)) if getattr(problem, k) is not None else None for k in keys}


def _source(source_type: str, source_id: int) -> Any:
    if source_type not in LINK_SOURCES:
        raise ValidationFailed("不支持关联该类记录", field="source_type")
    row = db.session.get(SOURCE_MODELS[source_type], source_id)
    if row is None:
        raise NotFound(f"记录 {source_id} 不存在（或不在您的管辖范围内）", field="source_ids")
    return row


def _facts(source_type: str, row: Any) -> tuple[datetime | None, int | None, str]:
    if source_type == "complaint":
        return row.received_at, row.customer_id, f"{row.reference} " + nlp.redact(row.content).text
    if source_type == "response":
        score = f"满意度 {row.csat if row.csat is not None else '—'}"
        return row.submitted_at, row.customer_id, f"答卷 #{row.id} {score} {row.comment_redacted}"
    return row.created_at, row.customer_id, f"回访 #{row.id} " + nlp.redact(row.note or "").text


def _check_within(problem: Problem, source_type: str, row: Any) -> None:
    """A case of another unit is not linked: the problem's readers (its unit's managers) could
    not open it, yet its summary would show on the problem's page, and the figures compared
    before and after are the unit's own."""
    home = problem.branch
    if home is None or (row.branch is not None and row.branch.path.startswith(home.path)):
        return
    label = row.reference if source_type == "complaint" else f"#{row.id}"
    where = row.branch.name if row.branch is not None else "未指明机构"
    raise ValidationFailed(
        f"{label} 属于{where}，不在本问题所属机构（{home.name}）辖内，不能关联",
        field="source_ids",
    )


def link_rows(
    problem: Problem,
    source_type: str,
    ids: Iterable[int],
    actor: User | None,
    via: str,
    *,
    at: datetime | None = None,
) -> list[ProblemLink]:
    """Link cases to a problem at ``at`` (default now; flush only); already linked cases are
    skipped. Each link keeps the case's own date (``source_at``) beside the linking time."""
    at = at or utcnow()
    have = set(
        db.session.scalars(
            select(ProblemLink.source_id).where(
                ProblemLink.problem_id == problem.id, ProblemLink.source_type == source_type
            )
        )
    )
    added = []
    for source_id in dict.fromkeys(ids):
        row = _source(source_type, source_id)
        if source_id in have:
            continue
        _check_within(problem, source_type, row)
        source_at, customer_id, summary = _facts(source_type, row)
        link = ProblemLink(
            problem_id=problem.id,
            source_type=source_type,
            source_id=source_id,
            source_at=source_at,
            customer_id=customer_id,
            summary=summary[:300],
            via=via,
            linked_by_id=actor.id if actor else None,
            linked_at=at,
        )
        db.session.add(link)
        added.append(link)
        if source_at and (problem.first_case_at is None or source_at < problem.first_case_at):
            problem.first_case_at = source_at
    if added:
        # a complaint by its case number (the summary starts with it), others by their number
        labels = "、".join(
            a.summary.split(" ")[0] if a.source_type == "complaint" else f"#{a.source_id}"
            for a in added[:20]
        )
        record(
            problem,
            actor,
            "linked",
            f"关联 {len(added)} 条{added[0].source_label}：{labels}",
            detail={"source_type": source_type, "ids": [a.source_id for a in added], "via": via},
            at=at,
        )
    db.session.flush()
    return added


@transactional
def link_cases(
    problem_id: int, source_type: str, ids: list[int], *, actor: User | None, via: str = "manual"
) -> list[ProblemLink]:
    """Link complaints / responses / follow-ups (all must be visible to the actor) to a problem.

    Raises NotFound when a case or the problem is outside the actor's scope, Conflict when the
    problem is closed, ValidationFailed when nothing was chosen.
    """
    if not ids:
        raise ValidationFailed("请至少选择一条记录", field="source_ids")
    problem = get_problem(problem_id)
    _require_open(problem, "问题已闭环，不能再关联新的案例")
    return link_rows(problem, source_type, ids, actor, via)


@transactional
def unlink_case(problem_id: int, link_id: int, *, actor: User) -> None:
    problem = get_problem(problem_id)
    _require_open(problem, "问题已闭环，关联的案例是验证的依据，不能取消；如需调整请先重新打开")
    link = db.session.get(ProblemLink, link_id)
    if link is None or link.problem_id != problem.id:
        raise NotFound("关联记录不存在")
    record(
        problem,
        actor,
        "unlinked",
        f"取消关联{link.source_label}：{link.summary.split(' ')[0]}",
        detail={"source_type": link.source_type, "id": link.source_id},
    )
    db.session.delete(link)


def _require_open(problem: Problem, message: str) -> None:
    """A closed problem is a record of what was done and verified: Conflict for any change."""
    if problem.status == ProblemStatus.CLOSED:
        raise Conflict(message)


def links_of(problem: Problem) -> list[ProblemLink]:
    stmt = select(ProblemLink).where(ProblemLink.problem_id == problem.id)
    return list(db.session.scalars(stmt.order_by(ProblemLink.source_at, ProblemLink.id)))


def problems_linked_to(source_type: str, source_id: int) -> list[Problem]:
    stmt = (
        select(Problem)
        .join(ProblemLink, ProblemLink.problem_id == Problem.id)
        .where(ProblemLink.source_type == source_type, ProblemLink.source_id == source_id)
        .order_by(Problem.id)
    )
    return list(db.session.scalars(stmt))


def open_problems() -> list[Problem]:
    stmt = select(Problem).where(Problem.status != ProblemStatus.CLOSED).order_by(Problem.id.desc())
    return list(db.session.scalars(stmt))


def open_problems_for(source_type: str, source_id: int) -> list[Problem]:
    """The open problems a case may be linked to: those of its unit or of a unit above it
    (``_check_within``)."""
    model = SOURCE_MODELS.get(source_type)
    row = db.session.get(model, source_id) if model is not None else None
    path = row.branch.path if row is not None and row.branch is not None else None
    return [
        p
        for p in open_problems()
        if p.branch is None or (path is not None and path.startswith(p.branch.path))
    ]


def history(problem: Problem) -> list[ProblemEvent]:
    stmt = select(ProblemEvent).where(ProblemEvent.problem_id == problem.id)
    return list(db.session.scalars(stmt.order_by(ProblemEvent.at, ProblemEvent.id)))


def board(narrowed: Callable[[Any, Any], Any] | None = None) -> dict[str, list[Problem]]:
    """Problems in the viewer's scope, by status (the kanban columns); ``narrowed(stmt, model)``
    limits them further (the dashboards' branch, product and questionnaire filters)."""
    columns: dict[str, list[Problem]] = {s.value: [] for s in ProblemStatus}
    # (the cards read each problem's actions, unit, product and owner: loaded with the list,
    # not one query a card — 1,563 statements for 1,515 problems)
    stmt = (
        select(Problem)
        .options(
            selectinload(Problem.actions),
            selectinload(Problem.branch),
            selectinload(Problem.product),
            selectinload(Problem.owner),
        )
        .order_by(Problem.updated_at.desc())
    )
    for problem in db.session.scalars(narrowed(stmt, Problem) if narrowed else stmt):
        columns[ProblemStatus(problem.status).value].append(problem)
    return columns


def sync_status(problem: Problem) -> None:
    """Derive an unclosed problem's column from its actions, the cancelled ones left out
    (flush only)."""
    if problem.status == ProblemStatus.CLOSED:
        return
    statuses = [ActionStatus(a.status) for a in problem.live_actions]
    if statuses and all(s in (ActionStatus.DONE, ActionStatus.VERIFIED) for s in statuses):
        problem.status = ProblemStatus.VERIFYING
    elif any(s != ActionStatus.PLANNED for s in statuses):
        problem.status = ProblemStatus.IN_PROGRESS
    else:
        problem.status = ProblemStatus.OPEN


# 人工认定 is an exception, not a way round the observation period: the page shows this rule
# beside the form, and override_blocker says which part of it refuses the override now.
OVERRIDE_RULE = (
    "人工认定是例外：只有在全部整改措施完成、观察期结束后，验证仍因样本不足或变化不显著而无法"
    "下结论时，才可由问题负责人以外的上级机构负责人或总行管理人员书面说明理由认定整改有效；"
    "观察期内不能认定，指标显著变差时也不能认定。人工认定的问题记为“人工认定闭环”，"
    "不计入验证通过，其整改措施也不标记为已验证。"
)


def responsible_id(problem: Problem) -> int | None:
    """Who answers for the problem: its owner, or (none named) whoever opened it."""
    return problem.owner_id or problem.created_by_id


def _superior_blocker(problem: Problem, actor: User) -> str | None:
    """A second person above the problem must sign the override off: never its owner; a
    head-office manager, or the manager of a unit above the problem's scope."""
    if actor.id == responsible_id(problem):
        who = "负责人" if problem.owner_id else "立项人（未指定负责人）"
        return f"您是本问题的{who}，不能认定自己负责的整改；须由上级机构负责人或总行管理人员认定"
    if actor.has_role(Role.HQ_MANAGER):
        return None
    mine, scope_branch = actor.branch, problem.branch
    above = (
        mine is not None
        and scope_branch is not None
        and scope_branch.path.startswith(mine.path)
        and scope_branch.path != mine.path
    )
    if not above:
        where = scope_branch.name if scope_branch else "—"
        return f"本问题的范围是{where}，人工认定须由其上级机构的负责人或总行管理人员作出"
    return None


def override_blocker(
    problem: Problem, result: Verification, actor: User | None = None
) -> str | None:
    """Why override_verification would refuse this problem now (for ``actor``), or None: the
    detail page shows it instead of the form. result: the problem's current verification."""
    if problem.status == ProblemStatus.CLOSED:
        return "问题已闭环"
    if not result.started:
        return "整改措施全部完成后才能人工认定，且须等观察期结束、验证仍无法下结论时才可使用"
    if result.holds:
        return "整改效果已验证通过，无需人工认定"
    if result.observing:
        return (
            f"观察期尚未结束（还需 {result.days_left} 天），不能人工认定：人工认定不能跳过观察期。"
            "观察期结束后验证通过即可闭环；若届时仍因样本不足或变化不显著无法下结论，"
            "再由上级人工认定"
        )
    if not result.inconclusive:
        return (
            f"验证未通过（{result.reason}），指标显著变差时不能人工认定；请重新打开或新增整改措施"
        )
    if actor is not None:
        return _superior_blocker(problem, actor)
    return None


def drop_override(problem: Problem, actor: User | None, why: str) -> None:
    """An override judged the problem as it was: a new or reopened action ends it (flush
    only)."""
    if not problem.overridden or problem.status == ProblemStatus.CLOSED:
        return
    problem.override_reason = problem.override_by_id = problem.override_at = None
    record(problem, actor, "override_void", f"人工认定失效：{why}，须重新验证")


@transactional
def override_verification(problem_id: int, reason: str, *, actor: User) -> Problem:
    """A superior accepts the improvement without the figures, with a written reason (recorded
    and audited): only once every action is finished and the observation period has ended
    without a conclusive verdict, and never by the problem's own owner (OVERRIDE_RULE)."""
    from app.services import improvement_figures as figures

    require_manager(actor)
    problem = get_problem(problem_id)
    reason = (reason or "").strip()
    blocker = override_blocker(problem, figures.refresh(problem, utcnow()), actor)
    if blocker:
        raise Conflict(blocker)
    if len(reason) < 10:
        raise ValidationFailed("请写明人工认定的理由（不少于 10 个字）", field="reason")
    problem.override_reason, problem.override_by_id, problem.override_at = (
        reason,
        actor.id,
        utcnow(),
    )
    record(problem, actor, "override", reason, detail={"verification": problem.verification})
    audit.record(  # (with its reason: the entry had none, README said it was audited with it)
        "improvement_override",
        actor=actor,
        object_type="problem",
        object_id=problem.id,
        reason=reason[:500],
        detail={"verdict": (problem.verification or {}).get("verdict")},
    )
    return problem


@transactional
def close_problem(problem_id: int, *, actor: User | None, now: datetime | None = None) -> Problem:
    """Close a problem: every action done (or cancelled) and the verification holds or was
    overridden (人工认定闭环). Raises Conflict naming what is missing; on a passing verdict the
    done actions become verified."""
    require_manager(actor)
    problem = get_problem(problem_id)
    now = now or utcnow()
    blocker = _actions_blocker(problem)
    if blocker:
        raise Conflict(blocker)
    close_row(problem, actor, now)
    # (closing was in the problem's history only; the audit log is where an inspection looks)
    audit.record(
        "improvement_close",
        actor=actor,
        object_type="problem",
        object_id=problem.id,
        reason="人工认定闭环" if problem.verified_at is None else "验证通过",
        detail={"verdict": (problem.verification or {}).get("verdict")},
    )
    return problem


def _actions_blocker(problem: Problem) -> str | None:
    if problem.status == ProblemStatus.CLOSED:
        return "问题已闭环"
    if not problem.actions:
        return "尚无整改措施，不能闭环"
    if not problem.live_actions:
        return "整改措施均已撤销，尚无有效的整改措施，不能闭环"
    open_actions = [a for a in problem.actions if a.is_open]
    if open_actions:
        return f"还有 {len(open_actions)} 项整改措施未完成，不能闭环"
    return None


def _verification_blocker(problem: Problem, result: Verification) -> str | None:
    if result.holds or (problem.overridden and result.inconclusive):
        return None
    refused = f"整改效果未通过验证（{result.label}：{result.reason}），不能闭环"
    if result.observing:
        return (
            f"{refused}。须等观察期结束、验证通过后闭环；人工认定不能跳过观察期，"
            "只在观察期结束后验证仍无法下结论时，由上级机构负责人或总行管理人员作出"
        )
    if result.inconclusive:
        return (
            f"{refused}。如确因样本不足或变化不显著无法判断，可由问题负责人以外的上级机构"
            "负责人或总行管理人员人工认定后闭环"
        )
    if result.started:
        return f"{refused}。请重新打开或新增整改措施"
    return refused


def close_blocker(problem: Problem, result: Verification) -> str | None:
    """Why close_problem would refuse this problem now (its own message), or None: the detail
    page shows it beside a disabled 闭环 button. result: the problem's current verification."""
    return _actions_blocker(problem) or _verification_blocker(problem, result)


def close_row(problem: Problem, actor: User | None, now: datetime) -> None:
    """Close when the verification holds or an override stands (flush only); else Conflict.

    Only a passing verdict verifies: its done actions become 已验证 and ``verified_at`` is set.
    Closed on an override (人工认定闭环), the actions stay 已完成 and the problem is not
    verified, so verification figures leave it out."""
    from app.services import improvement_figures as figures

    result = figures.refresh(problem, now)
    blocker = _verification_blocker(problem, result)
    if blocker:
        raise Conflict(blocker)
    if result.holds:
        for action in problem.actions:
            if action.status == ActionStatus.DONE:
                action.transition("verify", at=now)
        problem.verified_at = problem.verified_at or now
        how = "验证通过"
        if problem.overridden:  # the figures came in after all: verified, not an override
            how += "（此前的人工认定不再作为依据）"
            problem.override_reason = problem.override_by_id = problem.override_at = None
    else:
        how = f"人工认定闭环，未经数据验证（{problem.override_reason}）"
    problem.status, problem.closed_at = ProblemStatus.CLOSED, now
    record(
        problem,
        actor,
        "closed",
        f"问题闭环：{how}",
        detail={"verification": result.to_dict(), "override": problem.overridden},
        at=now,
    )
