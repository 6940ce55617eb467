"""Demo 溯源整改: ~15 problems in every state, with linked cases, actions and before/after data.

Each problem gets a few extra demo complaints (added through the complaint intake) in its own
branch and category, dated so that the before/after comparison shows what the scenario needs:
a fall for the verified ones and a rise for the failing ones, each large enough to be
significant (``surveys.significance``). Idempotent by title.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Branch, Customer, Response, User, utcnow
from app.models.complaint import Status
from app.models.improvement import ActionStatus, ImprovementAction, Problem, ProblemStatus
from app.services import demo_complaints, demo_data
from app.services import improvement_figures as figures
from app.services.complaints import IntakeData
from app.services.demo_surveys import working_time
from app.services.errors import Conflict
from app.services.improvements import close_row, link_rows, record, sync_status

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Scenario:
    title: str
    root_cause: str
    branch: str
    texts: tuple[str, ...]
    actions: tuple[str, ...]
    # passed | ready (verified, left for a manager to close: every other problem was closed
    # already or could not be) | override | failed | waiting | progress | overdue | open |
    # reopened
    state: str
    before: int = 4
    after: int = 2
    codes: tuple[str, str, str] = ("A01", "B99", "C01")  # JR/T 0169 channel, business, cause
    keywords: tuple[str, ...] = ()  # a linked case's or answer's text names one of these


SCENARIOS = [
    Scenario(
        "信用卡年费减免规则告知不清",
        "process",
        "HZ01",
        (
            "信用卡账单里多了一笔{annual_fee}元年费，办卡时说刷满六次免年费，现在却说规则变了。",
            "办信用卡时客户经理没说清楚年费怎么收，今年突然扣了{annual_fee}元年费，要求退还。",
            "我的信用卡被收了{annual_fee}元年费，客服说短信通知过，但我从来没收到过年费提醒。",
        ),
        ("修订信用卡年费告知话术并全员培训", "上线年费到期前30天短信提醒"),
        "ready",
        14,
        2,
        codes=("A01", "B03.02", "C05"),
        keywords=("年费",),
    ),
    Scenario(
        "手机银行新版本转账闪退",
        "system",
        "NJ01",
        (
            "手机银行更新新版本后一转账就闪退，试了{tries}次都不行，耽误了给房东交房租。",
            "新版手机银行打开转账页面直接退出，客服只让我卸载重装，重装了还是闪退。",
            "手机银行升级以后转账一直闪退，给供应商的{transfer}元货款转不出去，非常着急。",
        ),
        ("修复转账页面兼容性缺陷并灰度发布", "增加闪退自动上报与回滚开关"),
        "passed",
        13,
        1,
        codes=("A05", "B04.02", "C01"),
        keywords=("闪退",),
    ),
    Scenario(
        "自助取款机取款失败扣款未退",
        "system",
        "SZ02",
        (
            "在ATM取款{cash}元，机器显示交易失败但卡里的钱被扣了，打了三次电话还没退回来。",
            "取款机吞了我的钱没有出钞，账户却扣了{cash}元，网点说要等七个工作日。",
        ),
        ("更换故障钞箱模块并增加巡检频次", "差错款自动冲正时限缩短为T+1"),
        "passed",
        12,
        2,
        codes=("A02", "B03.01", "C07"),
        keywords=("ATM", "取款机"),
    ),
    Scenario(
        "大额存单到期自动转存未告知",
        "policy",
        "HZ03",
        (
            "大额存单到期被自动转存成我不知情的产品，提前支取损失了利息，没人提前告诉我。",
            "存单到期后银行没有通知就自动转存了，我急用钱只能提前支取，损失了{lost_interest}元利息。",
        ),
        ("到期前7天短信和电话双重提醒",),
        "override",
        2,
        1,
        codes=("A09", "B01.02", "C03"),
        keywords=("存单",),
    ),
    Scenario(
        "营销电话过于频繁",
        "people",
        "HZ",
        (
            "每天都接到贵行推销保险和贷款的电话，我已经说过不要再打了，还是一直打。",
            "一周接了{calls}个贵行的营销电话，拒绝了还换号码继续打，严重影响工作。",
            "营销短信退订了好几次还是继续发，电话也天天打，请把我从名单里删掉。",
        ),
        ("建立客户拒绝营销名单并在外呼系统中屏蔽",),
        "failed",
        3,
        11,
        codes=("A04", "B08.01", "C02"),
        keywords=("营销电话", "营销短信", "贷款的电话"),
    ),
    Scenario(
        "提前还款预约排队时间过长",
        "process",
        "NJ02",
        (
            "申请提前还款要排队等两个月，每个月多付{interest}元利息，客户经理说额度有限。",
            "房贷提前还款预约了六周还没排上，问了几次都说在排队，没有明确时间。",
        ),
        ("提前还款线上预约并公示排队进度",),
        "failed",
        4,
        12,  # a rise beyond chance (4 -> 9 was within it: no verdict of 变差)
        codes=("A01", "B02.01", "C06"),
        keywords=("提前还款",),
    ),
    Scenario(
        "柜员服务态度生硬",
        "people",
        "SZ01",
        (
            "柜员态度很差，问了两遍就不耐烦，还说看不懂就别来办。",
            "办理挂失时工作人员一直玩手机，问什么都爱答不理，等了{minutes}分钟。",
        ),
        ("开展服务礼仪专项培训", "柜面服务神秘人暗访"),
        "waiting",
        6,
        1,
        codes=("A01", "B99", "C01"),
        keywords=("态度", "爱答不理"),
    ),
    Scenario(
        "跨行转账失败手续费未退",
        "product",
        "HZ02",
        (
            "跨行转账{transfer}元被退回，手续费却没有退，客服推来推去没人处理。",
            "转账失败钱退回来了，但{transfer_fee}元手续费一直没退，要求说明收费依据并退还。",
        ),
        ("转账失败自动退还手续费",),
        "waiting",
        5,
        1,
        codes=("A05", "B04.02", "C05"),
        keywords=("跨行转账", "转账失败"),
    ),
    Scenario(
        "理财风险测评由客户经理代填",
        "people",
        "NJ",
        (
            "理财经理推荐时说产品稳健保本，现在亏了{loss}元，风险测评是他帮我代填的。",
            "我买理财时风险测评是客户经理替我做的，根本不知道产品是中高风险。",
        ),
        ("风险测评改为客户本人手机端完成", "抽查理财双录并问责"),
        "progress",
        4,
        2,
        codes=("A01", "B07", "C02"),
        keywords=("风险测评",),
    ),
    Scenario(
        "贷款结清后征信未及时更新",
        "system",
        "SZ",
        (
            "贷款已经结清三个月了，征信报告上还显示未结清，导致我申请房贷被拒。",
            "消费贷早就还清了，征信上还是有{balance}元未结清记录，去网点说要等系统更新。",
        ),
        ("结清数据报送改为T+1自动报送", "补报历史遗漏数据"),
        "overdue",
        4,
        2,
        codes=("A09", "B02.02", "C08"),
        keywords=("征信",),
    ),
    Scenario(
        "老年客户养老金代领困难",
        "policy",
        "HZ04",
        (
            "老人行动不便去不了网点，取养老金必须本人到场，能不能上门办理？",
            "我母亲八十多岁了，每次取养老金都要本人来网点排队，工作人员不同意代办。",
        ),
        ("制定特殊群体上门服务流程",),
        "progress",
        3,
        1,
        codes=("A01", "B01.01", "C01"),
        keywords=("养老金",),
    ),
    Scenario(
        "网点拒绝兑换零钱",
        "people",
        "NJ03",
        (
            "到网点兑换零钱被拒绝，说没有硬币，拒收现金也是违规的吧。",
            "想换{change}元零钱给店里找零，柜员说不办理兑换业务，让我去别的银行。",
        ),
        (),
        "open",
        3,
        1,
        codes=("A01", "B05", "C01"),
        keywords=("零钱",),
    ),
    Scenario(
        "疑似客户个人信息泄露",
        "third_party",
        "HZ",
        (
            "刚在网点办完贷款就接到陌生电话，准确说出我的姓名和贷款金额，怀疑信息被泄露。",
            "最近总接到推销电话知道我在贵行的存款金额，要求说明个人信息是怎么保管的。",
        ),
        (),
        "open",
        3,
        1,
        codes=("A01", "B06", "C08"),
        keywords=("泄露", "个人信息"),
    ),
    Scenario(
        "非柜面转账限额过低影响经营",
        "policy",
        "SZ03",
        (
            "账户被设置了非柜面转账限额每天只能转{daily_limit}元，做生意根本不够用。",
            "我的工资卡非柜面交易被限额，到网点要求提供各种证明，跑了三趟还没解除。",
        ),
        ("梳理限额调整所需材料清单",),
        "open",
        3,
        1,
        codes=("A09", "B04.01", "C04"),
        keywords=("限额",),
    ),
    Scenario(
        "网点高峰期排队过长",
        "process",
        "NJ01",
        (
            "在网点办业务排队等了两个多小时，只开了两个窗口，大堂经理也不安排分流。",
            "周一上午去网点排了{minutes}分钟的队，取号机显示前面还有三十多人。",
        ),
        ("高峰时段弹性开窗", "大堂经理引导客户使用智能柜台"),
        "reopened",
        5,
        4,
        codes=("A01", "B99", "C01"),
        keywords=("排队", "排了", "窗口", "等候"),
    ),
]


def _description(sc: Scenario, branch: Branch, k: int) -> str:
    example = demo_data.fill(sc.texts[0], random.Random(k))  # its own draw: stable wording
    return f"近期{branch.name}集中出现同类投诉：{example[:40]}……"


def _complaint(
    sc: Scenario, n: int, at: datetime, customer: Customer, rng: random.Random, agent: User | None
):
    text = demo_data.fill(rng.choice(sc.texts), rng)
    channel = rng.choice(["hotline", "hotline", "branch", "app", "wechat", "web"])
    at = demo_complaints.received_in_hours(at, channel, utcnow())
    data = IntakeData(
        channel=channel,
        content=text,
        name=customer.name,
        external_id=customer.external_id,
        phone=customer.phone,
        branch_code=sc.branch,
        received_at=at,
        external_ref=f"DEMO-IMP-{n:04d}",
    )
    complaint, created = demo_complaints.register(data)
    if created:  # closed, so demo customers stay eligible for surveys
        if agent is not None:  # (handled by the branch's agent, as every finished case was)
            complaint.assignee_id, complaint.assigned_at = agent.id, at
        steps = demo_complaints.PATHS[Status.CLOSED]
        demo_complaints._walk(complaint, steps, agent, rng, sc.codes)
    return complaint


def _cases(
    sc: Scenario, k: int, anchor: datetime, customers: list, rng: random.Random, agent: User | None
) -> list:
    out = []
    for i in range(sc.before):
        at = anchor - rng.uniform(2, 58) * DAY
        out.append(_complaint(sc, k * 100 + i, at, rng.choice(customers), rng, agent))
    for i in range(sc.after):
        at = min(anchor + rng.uniform(2, 58) * DAY, utcnow() - 14 * DAY)
        out.append(_complaint(sc, k * 100 + 50 + i, at, rng.choice(customers), rng, agent))
    db.session.flush()
    return out


def _anchor(sc: Scenario, now: datetime) -> datetime:
    return now - (25 * DAY if sc.state in ("waiting", "progress", "overdue", "open") else 63 * DAY)


def _actions(problem: Problem, sc: Scenario, anchor: datetime, owner: User | None, now) -> None:
    for i, title in enumerate(sc.actions):
        due = (anchor + (i - 1) * 7 * DAY).date()
        if sc.state == "overdue" and i == len(sc.actions) - 1:
            due = (now - 5 * DAY).date()
        action = ImprovementAction(problem=problem, title=title, owner=owner, due_on=due,
                                   detail="", evidence="", status=ActionStatus.PLANNED)  # fmt: skip
        db.session.add(action)
        db.session.flush()
        record(problem, owner, "action_added", f"新增整改措施：{title}（期限 {due}）",
               action_id=action.id, at=anchor - 30 * DAY)  # fmt: skip
        unfinished = sc.state in ("progress", "overdue") and i == len(sc.actions) - 1
        if sc.state == "open":
            continue
        if unfinished:
            action.transition("start", at=anchor - 20 * DAY)
            continue
        done_at = anchor - (len(sc.actions) - 1 - i) * 5 * DAY
        action.transition("complete", at=done_at)
        action.evidence = "已完成：制度文件下发、相关人员培训签到表、系统上线截图已归档。"
        record(problem, owner, "action_complete", f"完成整改措施：{title}",
               action_id=action.id, at=done_at)  # fmt: skip
        if sc.state == "reopened" and i == 0:
            action.transition("reopen", at=done_at + 10 * DAY)
            record(problem, owner, "action_reopen", f"重新打开：{title}。高峰期排队投诉仍未下降",
                   action_id=action.id, at=done_at + 10 * DAY)  # fmt: skip


def _link_over_time(
    problem: Problem,
    source_type: str,
    cases: list[tuple[int, datetime]],
    actor: User | None,
    via: str,
    opened: datetime,
    rng: random.Random,
) -> None:
    """Link each case as a manager would have: those that came before the problem was opened on
    that day, later ones one to five days after they arrived, in office hours (by two days ago:
    the closed problems closed yesterday); one history entry per day."""
    latest = utcnow() - 2 * DAY
    batches: dict[date, list[tuple[datetime, int]]] = defaultdict(list)
    for case_id, arrived in cases:
        at = working_time(max(opened, arrived + rng.uniform(1, 5) * DAY), rng)
        at = max(min(at, latest), arrived)
        batches[at.date()].append((at, case_id))
    for day in sorted(batches):
        batch = batches[day]
        at = max(moment for moment, _ in batch)
        link_rows(problem, source_type, [case_id for _, case_id in batch], actor, via, at=at)


def _poor_responses(branch: Branch, keywords: tuple[str, ...], limit: int = 3) -> list[int]:
    """Poor answers in the problem's branch whose comment is about the problem's topic."""
    if not keywords:
        return []
    stmt = (
        select(Response.id)
        .join(Branch, Branch.id == Response.branch_id)
        .where(
            Branch.path.startswith(branch.path),
            Response.csat <= 2,
            or_(*(Response.comment_redacted.contains(k, autoescape=True) for k in keywords)),
        )
        .order_by(Response.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def seed_improvements(rng_seed: int = 6) -> int:
    """Add the demo problems that are missing; returns how many were added."""
    have = set(db.session.scalars(select(Problem.title)))
    customers = list(db.session.scalars(select(Customer).order_by(Customer.id)))
    branches = {b.code: b for b in db.session.scalars(select(Branch))}
    users = {u.username: u for u in db.session.scalars(select(User))}
    if not customers or not branches:
        return 0
    rng, now, added = random.Random(rng_seed), utcnow(), 0
    for k, sc in enumerate(SCENARIOS, start=1):
        if sc.title in have:
            continue
        branch = branches[sc.branch]
        owner = users.get({"HZ": "manager", "NJ": "manager_nj"}.get(sc.branch[:2], "hq"))
        hq = users.get("hq")
        anchor = _anchor(sc, now)
        problem = Problem(title=sc.title, root_cause=sc.root_cause, branch_id=branch.id,
                          owner=owner, status=ProblemStatus.OPEN, window_days=60, verification={},
                          description=_description(sc, branch, k),
                          created_by_id=hq.id if hq else None)  # fmt: skip
        db.session.add(problem)
        db.session.flush()
        opened = anchor - 40 * DAY
        problem.created_at = opened
        record(problem, hq, "created", f"立项：{sc.title}", at=opened)
        agent = demo_data.regional_agent(users, branch)
        cases = _cases(sc, k, anchor, customers, rng, agent)
        when = random.Random(k)  # its own draws: the cases' and answers' draws stay as they were
        _link_over_time(problem, "complaint", [(c.id, c.received_at) for c in cases], hq, "bulk",
                        opened, when)  # fmt: skip
        answers = _poor_responses(branch, sc.keywords)
        dated = select(Response.id, Response.submitted_at).where(Response.id.in_(answers))
        answered = db.session.execute(dated).tuples().all() if answers else []
        _link_over_time(problem, "response", answered, hq, "manual", opened, when)
        _actions(problem, sc, anchor, owner, now)
        sync_status(problem)
        # a problem closed yesterday was verified then, not at the seed (verified after closing)
        figures.refresh(problem, now - DAY if sc.state in ("passed", "override") else now)
        if sc.state == "override":
            problem.override_reason = "该类存单已停止自动转存，投诉来源消除；经分行复核整改已落实。"
            problem.override_by_id, problem.override_at = (hq.id if hq else None), now - 2 * DAY
            record(problem, hq, "override", problem.override_reason, at=now - 2 * DAY)
        if sc.state in ("passed", "override"):
            try:
                with db.session.begin_nested():
                    close_row(problem, hq, now - DAY)
            except Conflict:
                # The random demo answers in this scope did not verify this time: the problem
                # stays 待验证, as it would for a real bank.
                pass
        added += 1
    db.session.flush()
    return added
