"""Demo complaints: a year of cases, as the demo answers; the last four months' ~200 across every
channel, category and state (some overdue), the eight months before them finished."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import event, select

from app.extensions import db
from app.models import (
    Customer,
    Invitation,
    OutboundMessage,
    OutboxMessage,
    Product,
    Response,
    Survey,
    TriggerRule,
    User,
    utcnow,
)
from app.models.complaint import Channel, Complaint, ComplaintEvent, Status
from app.services import complaint_clock as clock
from app.services import complaint_decisions as decisions
from app.services import demo_data
from app.services.complaint_handling import IDENTITY_CHECKS, IDENTITY_UNCHECKED
from app.services.complaints import (
    RESULT_ASAP,
    IntakeData,
    intake_row,
    promise_by,
    record_event,
    refresh_due,
)
from app.services.demo_surveys import rule_firing
from app.services.workbench import ALERT_LOOKBACK_DAYS
from nlp.redact import mask_email, mask_phone

# Together with the improvement scenarios' cases (demo_improvements: ~30 a month in the last four
# months) every month has about as many cases (70-90) as any other: no false "rise" on the charts.
COUNT = 200  # the last RECENT_DAYS: cases in every state, some overdue
HISTORY = 600  # RECENT_DAYS back to a year ago (~75 a month): finished, a few decided late
RECENT_DAYS, YEAR_DAYS = 120, 365
REVIEW_OPEN_DAYS = 40  # a review requested or decided longer ago has been closed since
OVERDUE_EVERY = 5  # of the recent cases that would be overdue, one in five is left so
# Complaints per calendar month relative to an ordinary one: fewer in the months of the Spring
# Festival and National Day holidays (fewer working days, branches partly closed).
SEASON = {2: 0.8, 10: 0.85}
LATE_SHARE = 0.04  # finished cases decided after the 15-day deadline (banks report ~95%+ in time)
# (kind, label, [(text, JR/T 0169 codes: channel A, business B, cause C)]); the codes are
# those staff confirm when closing the case (closing requires all three).
SCENES = [
    (
        "CARD",
        "信用卡",
        [
            (
                "信用卡账单里多了一笔{annual_fee}元的年费，办卡时客户经理明确说首年免年费，"
                "刷满六次免次年年费。",
                ("A01", "B03.02", "C05"),
            ),
            (
                "我申请信用卡分期时被告知手续费很低，结果算下来实际年化利率远高于宣传，感觉被误导了。",
                ("A04", "B03.02", "C03"),
            ),
            (
                "信用卡额度莫名其妙被降到{card_limit}元，没有任何短信通知，在商场付款时才发现刷不了。",
                ("A09", "B03.02", "C03"),
            ),
            (
                "上个月我已经按时全额还款，但系统显示逾期，还产生了{late_fee}元滞纳金，担心影响征信。",
                ("A09", "B03.02", "C05"),
            ),
        ],
    ),
    (
        "DEBIT",
        "借记卡",
        [
            (
                "我的工资卡突然被冻结，非柜面交易全部受限，到网点要求我提供各种证明，跑了三趟还没解决。",
                ("A01", "B04.01", "C01"),
            ),
            (
                "在ATM取款{cash}元，机器显示交易失败但卡里的钱被扣了，打电话说要等七个工作日。",
                ("A02", "B03.01", "C07"),
            ),
            (
                "借记卡被收取小额账户管理费，我从来没有收到过任何提示，要求退还并说明收费依据。",
                ("A09", "B03.01", "C05"),
            ),
        ],
    ),
    (
        "LOAN",
        "贷款",
        [
            (
                "申请提前还款排队要等两个月，客户经理说额度有限，每个月多付{interest}元利息，"
                "非常不合理。",
                ("A01", "B02.01", "C06"),
            ),
            (
                "房贷利率没有按照LPR调整，我多次询问得到的答复都不一样，希望给一个明确的说法。",
                ("A09", "B02.01", "C05"),
            ),
            (
                "消费贷放款时被要求同时购买一份保险，不买就不放款，这是捆绑销售。",
                ("A01", "B02.02", "C04"),
            ),
            (
                "贷款已经结清三个月了，征信报告上还显示未结清，导致我申请房贷被拒。",
                ("A09", "B02.02", "C08"),
            ),
        ],
    ),
    (
        "WEALTH",
        "理财",
        [
            (
                "理财经理推荐时说产品稳健保本，现在亏损{loss}元，风险测评是他帮我代填的。",
                ("A01", "B07", "C02"),
            ),
            (
                "购买的理财产品到期后迟迟没有到账，客服只说系统处理中，没有具体时间。",
                ("A09", "B07", "C07"),
            ),
            (
                "大额存单到期自动转存了我不知情的产品，提前支取损失了利息，没有人提前告知我。",
                ("A09", "B01.02", "C03"),
            ),
        ],
    ),
    (
        "MOBILE",
        "手机银行",
        [
            (
                "手机银行更新新版本后一直闪退，转账转不出去，耽误了给供应商付款。",
                ("A05", "B04.02", "C01"),
            ),
            (
                "手机银行刷脸认证一直失败，换了三部手机都不行，只能跑到网点办理，太不方便了。",
                ("A05", "B04.01", "C01"),
            ),
            (
                "在手机银行转账{transfer}元给家人，显示成功但对方三天了还没有收到。",
                ("A05", "B04.02", "C07"),
            ),
        ],
    ),
    (
        "COUNTER",
        "网点服务",
        [
            (
                "在{branch}办理业务排队等了两个多小时，只开了两个窗口，大堂经理也不安排。",
                ("A01", "B99", "C01"),
            ),
            (
                "{branch}的柜员态度很差，问了两遍就不耐烦，还说看不懂就别来办。",
                ("A01", "B99", "C01"),
            ),
            (
                "到{branch}兑换零钱被拒绝，说没有硬币，拒收现金也是违规的吧。",
                ("A01", "B05", "C01"),
            ),
            (
                "老人去{branch}取养老金，工作人员坚持要本人到场，老人行动不便，能不能上门办理？",
                ("A01", "B01.01", "C01"),
            ),
        ],
    ),
    (
        "PAY",
        "支付结算",
        [
            (
                "跨行转账{transfer}元被退回，{transfer_fee}元手续费却没有退，客服推来推去没人处理。",
                ("A05", "B04.02", "C05"),
            ),
            (
                "我的账户被设置了非柜面转账限额每天只能转{daily_limit}元，做生意根本不够用。",
                ("A09", "B04.01", "C04"),
            ),
            (
                "快捷支付被盗刷了{fraud}元，我的卡一直在身上，希望银行尽快核查并赔付。",
                ("A08", "B04.03", "C07"),
            ),
        ],
    ),
    (
        "MARKET",
        "营销骚扰",
        [
            (
                "每天都接到贵行的营销电话推销保险和贷款，我已经说过不要再打了还在打。",
                ("A04", "B08.01", "C02"),
            ),
            (
                "收到大量营销短信，退订回复了好几次还是继续发，严重影响生活。",
                ("A07", "B99", "C02"),
            ),
        ],
    ),
    (
        "PRIVACY",
        "个人信息",
        [
            (
                "我刚在网点办完业务，就接到陌生电话准确说出我的姓名和贷款金额，怀疑信息被泄露。",
                ("A01", "B06", "C08"),
            ),
            (
                "网点复印了我的身份证和户口本，没有说明用途，我要求说明个人信息的保存和使用情况。",
                ("A01", "B06", "C08"),
            ),
        ],
    ),
]
# What the customer asks for, and the words of a complaint it fits ("" fits any): a demand
# to stop marketing calls beside a complaint about refused coins reads as a data error.
DEMANDS = [
    ("要求退还多收的费用并书面道歉。", ("费", "扣")),
    ("希望尽快核实处理，给个明确答复。", ()),
    ("要求赔偿损失。", ("损失", "扣款", "被盗", "没到账", "未到账", "冻结")),
    ("希望相关人员改进服务态度。", ("态度", "柜员", "大堂", "工作人员", "排队")),
    ("要求撤销不良征信记录。", ("征信",)),
    ("请不要再打营销电话。", ("营销", "推销", "电话")),
    ("", ()),
]


def demand_for(text: str, rng: random.Random) -> str | None:
    """A demand that fits the complaint's text (or none, as many complainants give)."""
    fitting = [d for d, words in DEMANDS if not words or any(w in text for w in words)]
    return rng.choice(fitting) or None


STATE_WEIGHTS = [
    (Status.RECEIVED, 9),
    (Status.ACCEPTED, 8),
    (Status.IN_PROGRESS, 20),
    (Status.PAUSED, 3),
    (Status.DECIDED, 8),
    (Status.CLOSED, 40),
    (Status.WITHDRAWN, 4),
    (Status.DECLINED, 3),
    (Status.REVIEW_REQUESTED, 3),
    (Status.REVIEW_DECIDED, 2),
]
# Months-old cases are finished: closed, withdrawn, declined, or reviewed and closed again (a
# review requested then was decided, told to the customer and closed long ago; a review decision
# left open would stay in the desk's queue for ever).
REVIEWED_AND_CLOSED = "reviewed_and_closed"
HISTORY_STATE_WEIGHTS: list[tuple[Status | str, int]] = [
    (Status.CLOSED, 40),
    (Status.WITHDRAWN, 4),
    (Status.DECLINED, 3),
    (REVIEWED_AND_CLOSED, 5),
]
PATHS: dict[Status | str, list[str]] = {
    Status.RECEIVED: [],
    Status.ACCEPTED: ["accept"],
    Status.IN_PROGRESS: ["accept", "start"],
    Status.PAUSED: ["accept", "start", "pause"],
    Status.DECIDED: ["accept", "start", "decide", "told"],  # told at once, not yet closed
    Status.CLOSED: ["accept", "start", "decide", "notice", "close"],
    Status.WITHDRAWN: ["accept", "withdraw"],
    Status.DECLINED: ["decline"],
    Status.REVIEW_REQUESTED: ["accept", "start", "decide", "notice", "close", "request_review"],
    Status.REVIEW_DECIDED: [
        "accept",
        "start",
        "decide",
        "notice",
        "close",
        "request_review",
        "decide_review",
    ],
}
PATHS[REVIEWED_AND_CLOSED] = [*PATHS[Status.REVIEW_DECIDED], "notice", "close"]
CHANNEL_WEIGHTS = [
    ("hotline", 30),
    ("branch", 20),
    ("web", 12),
    ("app", 12),
    ("wechat", 10),
    ("email", 6),
    ("regulator", 6),
    ("survey", 4),
]


def _text(rng: random.Random, branch_name: str) -> tuple[str, str, tuple[str, str, str]]:
    """(kind, text, codes): a scene's template with its placeholders filled plausibly."""
    kind, _, lines = rng.choice(SCENES)
    template, codes = rng.choice(lines)
    text = demo_data.fill(template, rng, branch=branch_name)
    if rng.random() < 0.25:
        text += rng.choice(
            [
                "我已经打过三次客服电话了。",
                "如果再不解决我就向金融监管总局投诉。",
                "这件事已经拖了快一个月。",
                "希望领导重视。",
            ]
        )
    return kind, text, codes


# When each channel takes complaints, Beijing time [from, to) in minutes of the day: a counter
# keeps the branch's hours, the hotline's complaint desk and the regulator's forwarding office
# hours; what customers write (web, app, WeChat, e-mail, a survey answer) comes at any hour.
CHANNEL_HOURS = {
    "branch": (9 * 60, 17 * 60),
    "hotline": (8 * 60, 21 * 60),
    "regulator": (9 * 60, 17 * 60),
}
# Staff act on a case in working hours (the complaint desk's long day).
DESK_HOURS = (8 * 60 + 30, 19 * 60)


def within_hours(
    moment: datetime,
    hours: tuple[int, int],
    latest: datetime | None = None,
    *,
    weekdays: bool = False,
) -> datetime:
    """``moment``, or when it falls outside ``hours`` (or, with ``weekdays``, on a weekend) the
    next moment inside them, spread over their first three hours by its minute of the day, so
    the order of one case's steps stays; never after ``latest``."""
    local = moment.astimezone(clock.TZ)
    minute = local.hour * 60 + local.minute
    start, end = hours
    workday = not weekdays or local.weekday() < 5
    if start <= minute < end and workday:
        return moment
    day = local.date() if minute < start else local.date() + timedelta(days=1)
    while weekdays and day.weekday() >= 5:
        day += timedelta(days=1)
    span = min(180, end - start)
    opened = datetime.combine(day, datetime.min.time(), clock.TZ) + timedelta(minutes=start)
    moved = (opened + timedelta(minutes=minute % span, seconds=local.second)).astimezone(
        moment.tzinfo
    )
    return moved if latest is None else min(moved, latest)


def received_in_hours(received: datetime, channel: str, now: datetime) -> datetime:
    """A drawn receipt moved into the hours its channel takes complaints (never after now;
    a receipt that would be is kept as drawn: a recent case at night came by another way)."""
    hours = CHANNEL_HOURS.get(channel)
    if hours is None:
        return received
    moved = within_hours(received, hours, now)
    return moved if moved < now else received


CLOSING_STEPS = ("close", "withdraw", "decline")
# Minutes after the receipt of the intake's own entries: registration, acknowledgement,
# a major case's escalation.
INTAKE_MINUTES = {"registered": 0, "acknowledgement": 1, "escalation": 2}


def _intake_step(row: ComplaintEvent | OutboxMessage) -> str:
    if isinstance(row, OutboxMessage):
        purpose = row.purpose or ""
    else:
        purpose = "escalation" if row.kind == "escalated" else (row.detail or {}).get("purpose")
    if purpose and purpose.startswith("escalation"):
        return "escalation"
    return "acknowledgement" if purpose == "acknowledgement" else "registered"


@contextmanager
def registered_at(received: datetime) -> Iterator[None]:
    """Date what a complaint's intake writes (its history entries and outbox messages) at the
    receipt, a minute apart, as if the case had been registered then.

    The intake stamps registration, acknowledgement and a major case's escalation with the
    current time; a demo case received weeks ago was registered, acknowledged and escalated
    on receipt, before any later step (history entries are immutable once written, so they
    are dated before their flush). The acknowledgement then promised the deadline, not "as
    soon as possible"."""
    session = db.session()

    def date_rows(sess, _context, _instances) -> None:
        latest = max(utcnow(), received)
        for row in list(sess.new):
            if not isinstance(row, (ComplaintEvent, OutboxMessage)):
                continue
            at = min(received + timedelta(minutes=INTAKE_MINUTES[_intake_step(row)]), latest)
            if isinstance(row, ComplaintEvent):
                row.at = at
                if row.kind == "notice" and RESULT_ASAP in (row.text or ""):
                    row.text = row.text.replace(RESULT_ASAP, _promise(sess, row.complaint_id))
            else:
                row.created_at = at
                row.sent_at = at if row.sent_at is not None else None
                if RESULT_ASAP in row.body and row.related_type == "complaint":
                    row.body = row.body.replace(RESULT_ASAP, _promise(sess, row.related_id))

    event.listen(session, "before_flush", date_rows)
    try:
        yield
    finally:
        event.remove(session, "before_flush", date_rows)


def _promise(session, complaint_id: int | None) -> str:
    complaint = session.identity_map.get(session.identity_key(Complaint, complaint_id))
    if complaint is None or complaint.due_at is None:
        return RESULT_ASAP
    return promise_by(clock.local_date(complaint.due_at))


def register(data: IntakeData, *, new: bool = False) -> tuple[Complaint, bool]:
    """Register a demo complaint through the intake, its intake history dated at the receipt.

    ``new``: the caller has checked that no case has this ``external_ref``. The intake then
    need not look the reference up and guard it with a savepoint (a third of a case's round
    trips); the case gets it with the UPDATE its next steps write anyway."""
    db.session.flush()  # the rows written before (an earlier case's steps) keep their dates
    with registered_at(data.received_at):
        if not new:
            return intake_row(data)
        complaint, created = intake_row(replace(data, external_ref=None))
    complaint.external_ref = data.external_ref
    return complaint, created


def _walk(
    c: Complaint,
    steps: list[str],
    actor: User | None,
    rng: random.Random,
    codes: tuple[str, str, str],
    decide_after: timedelta | None = None,
    reviewer: User | None = None,
) -> None:
    """Walk a freshly registered case through ``steps``, each some hours after the one before
    (its intake history first, dated at the receipt; a recent case's steps stop at now); with
    ``decide_after`` the decision waits until that long after the receipt (a late case).
    Closing sets the JR/T 0169 codes staff confirm then (closing requires all three)."""
    now = utcnow()
    at = min(
        c.received_at + timedelta(minutes=max(INTAKE_MINUTES.values())), max(now, c.received_at)
    )
    for step in steps:
        if step == "told":  # the decision told when made (no draw: the sequence stays as was)
            _decision_told(c, actor, at)
            continue
        at = min(at + timedelta(hours=rng.randint(2, 60)), now)  # (a recent case: nothing later)
        if step == "decide" and decide_after is not None:
            at = min(max(at, c.received_at + decide_after), now)
        at = within_hours(at, DESK_HOURS, now)
        if step == "notice":
            _decision_told(c, actor, at)
            continue
        before, after = c.transition(step)
        text = {
            "decide": "经核实，已按规定处理并向客户说明。",
            "pause": "客户申请调解，中止计时",
            "withdraw": "客户来电表示问题已自行解决，撤回投诉",
            "decline": "经核实，投诉人非客户本人且无授权委托",
            "request_review": "客户对处理决定不满意，书面申请核查",
            "decide_review": "经上级机构核查，原处理决定符合规定，予以维持并向客户说明。",
        }.get(step)
        # (a review is decided by the superior institution, not by who made the decision)
        by = reviewer if step == "decide_review" and reviewer is not None else actor
        kept = None  # (a decision's entry keeps it in full, as complaint_handling.decide does)
        if step == "accept":  # (the identity check as staff record it on accepting, Art. 22)
            method = DEMO_IDENTITY.get(c.channel, IDENTITY_UNCHECKED)
            text = f"受理（身份核验：{IDENTITY_CHECKS[method]}）"
            kept = {"action": step, "identity_check": method}
            c.identity_check = None if method == IDENTITY_UNCHECKED else method
        if step == "decide" and not c.identity_check:  # (checked by calling back, as required)
            c.identity_check = "callback"
            checked = record_event(
                c,
                by,
                "identity",
                f"身份核验：{IDENTITY_CHECKS['callback']}",
                detail={"identity_check": "callback"},
            )
            checked.at = at
        if step in ("decide", "decide_review"):
            round_ = decisions.REVIEW if step == "decide_review" else decisions.FIRST
            kept = {
                "action": step,
                "decision": decisions.detail(
                    round_, DEMO_VERIFIED, DEMO_BASIS, text, DEMO_REMEDIES
                ),
            }
        e = record_event(c, by, "status", text, from_status=before, to_status=after, detail=kept)
        e.at = at
        if step in ("decide", "decide_review"):
            c.decision_verified, c.decision_basis = DEMO_VERIFIED, DEMO_BASIS
            c.decision_text, c.remedies, c.decided_at = text, list(DEMO_REMEDIES), at
        if step == "decide":  # (as complaint_handling.decide records who decided)
            c.decided_by_id = by.id if by is not None else None
        if step == "pause":
            c.pauses = [[clock.local_date(at).isoformat(), None]]
        if step in CLOSING_STEPS:
            c.closed_at = at
            c.root_cause = "员工对收费政策解释不到位，已组织培训。" if step == "close" else None
        if step == "close":
            c.code_channel, c.code_business, c.code_cause = codes
        if step == "request_review":  # (reopened, as complaint_handling.request_review does)
            c.first_decided_at, c.first_due_at = c.decided_at, clock.due_at(c.clock_facts())
            c.first_decision_notified_at = c.decision_notified_at
            c.review_requested_on, c.closed_at = clock.local_date(at), None
            refresh_due(c)  # (the review's 30 days, kept once it is decided, as in handling)
    # (a reviewed case keeps the review's due date, decided or closed since, as in handling:
    # recomputed from the clock it would lose it, and read 15 days against period_days 30)
    if c.review_requested_on is None:
        refresh_due(c)


DEMO_VERIFIED = "调取了业务办理记录、录音录像和系统日志。"
DEMO_BASIS = "依据相关服务协议和收费标准，并结合客户实际情况。"
DEMO_REMEDIES = ("review", "mediation")
# how staff checked the complainant on accepting, by channel; a web form's complainant is
# called back before the decision (complaint_handling.IDENTITY_CHECKS)
DEMO_IDENTITY = {
    Channel.HOTLINE: "caller_number",
    Channel.BRANCH: "id_document",
    Channel.APP: "online_login",
    Channel.EMAIL: "callback",
    Channel.WECHAT: "callback",
    Channel.REGULATOR: "callback",
    Channel.SURVEY: "callback",
}


def _decision_told(c: Complaint, actor: User | None, at: datetime) -> None:
    """The decision told by phone at ``at``, as complaint_handling records a call answered."""
    e = record_event(
        c,
        actor,
        "notice",
        "电话告知处理决定，客户表示知悉",
        detail={"method": "phone", "purpose": "decision", "outcome": "reached"},
    )
    e.at = at
    if c.decided_at is not None:
        known = c.decision_notified_at
        c.decision_notified_at = at if known is None or known < c.decided_at else known


@dataclass
class _Seeding:
    """What every demo case draws from: the customers, products and staff, and the refs
    already stored (a second run adds only the missing cases)."""

    customers: list[Customer]
    products: dict[str, Product]
    staff: dict[str, User]
    existing: set[str]
    now: datetime
    added: int = 0

    @property
    def half(self) -> int:
        # Most customers never complain: the cases fall on half of them, so the rest stay
        # eligible for surveys (a customer with an open complaint is not surveyed).
        return max(1, len(self.customers) // 2)


def seed_complaints(rng_seed: int = 2026) -> int:
    """Add the demo complaints that are missing (idempotent by external_ref); returns how many:
    the recent cases, then a year's history before them."""
    customers = list(db.session.scalars(select(Customer).order_by(Customer.id)))
    if not customers:
        return 0
    existing = set(
        db.session.scalars(
            select(Complaint.external_ref).where(Complaint.external_ref.like("DEMO-%"))
        )
    )
    seeding = _Seeding(
        customers=customers,
        products={p.code: p for p in db.session.scalars(select(Product))},
        staff={u.username: u for u in db.session.scalars(select(User))},
        existing=existing,
        now=utcnow(),
    )
    _seed_recent(seeding, random.Random(rng_seed))
    _seed_history(seeding, random.Random(rng_seed + 1))  # its own draws: the recent stay as were
    db.session.flush()
    return seeding.added


# a major group complaint is a group of 20 or more come to a branch in person (Art. 29)
GROUP_CHANNEL = Channel.BRANCH


def _seed_recent(s: _Seeding, rng: random.Random) -> None:
    """The last RECENT_DAYS: cases in every state, some open past their deadline."""
    shown: set[Status | str] = set()
    for n in range(1, COUNT + 1):
        # The outlet complained about is the drawn customer's; the complainant is one of half
        # the customers (the random sequence, texts and outlets stay as they were).
        outlet = rng.choice(s.customers).branch
        channel = rng.choices(*zip(*CHANNEL_WEIGHTS, strict=True))[0]
        state = rng.choices(*zip(*STATE_WEIGHTS, strict=True))[0]
        age = rng.randint(0, 14) if state == Status.RECEIVED else rng.randint(1, RECENT_DAYS)
        group = n % 97 == 0  # a group complaint: major, escalated at once (kept as drawn)
        channel = GROUP_CHANNEL if group else channel
        state = state if group else _settled(n, state, age)
        if state == REVIEWED_AND_CLOSED:
            # Every state is on show: the first reviews drawn stay open, one of each kind (by
            # chance every review the default seed drew was older than REVIEW_OPEN_DAYS, and
            # 核查已决定 never appeared).
            missing = [
                k for k in (Status.REVIEW_DECIDED, Status.REVIEW_REQUESTED) if k not in shown
            ]
            if missing:
                state, age = missing[0], min(age, REVIEW_OPEN_DAYS)
        shown.add(state)
        if group and any(step in CLOSING_STEPS for step in PATHS[state]):
            # A closed major case was escalated long ago: no reminder left on the workbench.
            age = max(age, ALERT_LOOKBACK_DAYS + 16)
        received = s.now - timedelta(days=age, minutes=rng.randint(0, 1440))
        received = received_in_hours(received, channel, s.now)
        _, text, codes = _text(rng, outlet.name if outlet else "网点")
        if f"DEMO-{n:04d}" in s.existing:
            continue
        _add(s, rng, n, outlet, channel, state, received, text, codes, group=group)


def _settled(n: int, state: Status, age: int) -> Status | str:
    """What case ``n``, drawn in ``state`` and ``age`` days old, has become by now. A desk keeps
    most cases inside their deadline: one in work for longer than its 15 days, or decided more
    than 30 days ago and not yet closed, has been closed (a review: decided and closed), except
    one in OVERDUE_EVERY (left as it is, for the overdue queue and the alerts). The ages stay
    as drawn, so every month keeps its number of cases."""
    if n % OVERDUE_EVERY == 0:
        return state
    if state in (Status.ACCEPTED, Status.IN_PROGRESS) and age > 14:
        return Status.CLOSED
    if state == Status.DECIDED and age > 30:
        return Status.CLOSED
    if state in (Status.REVIEW_REQUESTED, Status.REVIEW_DECIDED) and age > REVIEW_OPEN_DAYS:
        return REVIEWED_AND_CLOSED  # (a review is due 30 days after its request)
    return state


def _seed_history(s: _Seeding, rng: random.Random) -> None:
    """RECENT_DAYS back to a year ago, as many cases a month as lately (fewer in the holiday
    months), all finished; a few were decided after the deadline."""
    for n in range(COUNT + 1, COUNT + HISTORY + 1):
        outlet = rng.choice(s.customers).branch
        channel = rng.choices(*zip(*CHANNEL_WEIGHTS, strict=True))[0]
        state = rng.choices(*zip(*HISTORY_STATE_WEIGHTS, strict=True))[0]
        group = n % 194 == 0  # (rarer than lately: a few a year)
        channel = GROUP_CHANNEL if group else channel
        received = s.now - timedelta(days=_history_age(rng, s.now))
        received = received_in_hours(received, channel, s.now)
        _, text, codes = _text(rng, outlet.name if outlet else "网点")
        late = timedelta(days=rng.randint(16, 24)) if rng.random() < LATE_SHARE else None
        if f"DEMO-{n:04d}" in s.existing:
            continue
        _add(s, rng, n, outlet, channel, state, received, text, codes, group=group, late=late)


def _history_age(rng: random.Random, now: datetime) -> float:
    """Days before ``now``, between RECENT_DAYS and YEAR_DAYS, each month weighted by SEASON."""
    while True:
        age = rng.uniform(RECENT_DAYS, YEAR_DAYS)
        month = clock.local_date(now - timedelta(days=age)).month
        if rng.random() <= SEASON.get(month, 1.0):
            return age


def _done(state: Status | str) -> bool:
    return state in (Status.CLOSED, Status.WITHDRAWN, Status.DECLINED, REVIEWED_AND_CLOSED)


def _add(
    s: _Seeding,
    rng: random.Random,
    n: int,
    outlet,
    channel: str,
    state: Status | str,
    received: datetime,
    text: str,
    codes: tuple[str, str, str],
    *,
    group: bool,
    late: timedelta | None = None,
) -> None:
    """Register case ``n`` through the intake and walk it to ``state``."""
    customer = s.customers[n * 7 % s.half]
    by_phone = rng.random() < 0.3
    data = IntakeData(
        channel=channel,
        content=text,
        name=customer.name,
        received_at=received,
        external_id=None if by_phone else customer.external_id,
        phone=customer.phone,
        branch_code=outlet.code if outlet else None,
        external_ref=f"DEMO-{n:04d}",
        demand=demand_for(text, rng),
        regulator_ref=f"JR{received:%Y%m%d}{n:04d}" if channel == "regulator" else None,
        regulator_received_on=(received - timedelta(days=2)).date()
        if channel == "regulator"
        else None,
        group_size=25 if group else None,
        product_code=rng.choice(list(s.products)) if s.products and rng.random() < 0.6 else None,
    )
    complaint, _ = register(data, new=True)  # (``s.existing`` has no such reference)
    actor = demo_data.regional_agent(s.staff, outlet)
    # (most open cases have an agent, some wait in 待分派; a finished case was always handled by
    # someone: the same draw is made either way, so the rest of the data stays as it was)
    if actor is not None and state != Status.RECEIVED and (rng.random() < 0.85 or _done(state)):
        complaint.assignee_id, complaint.assigned_at = actor.id, received
    _walk(complaint, PATHS[state], actor, rng, codes, late, reviewer=s.staff.get("hq"))
    s.added += 1


def link_resolution_answers() -> int:
    """Tie the demo's complaint-resolution answers to the cases they ask about, as the
    complaint-closed rule does (it surveys the complainant a day after the close): each answer
    not sent by a campaign goes to a case closed 1–10 days before its invitation went out (else
    the latest closed before), once per case, and takes the case's customer, unit and product;
    the invitation's times and its message stay as they were.
    Without this 处理人员's 处理满意度 and the complaint pages had no answers about any case."""
    survey_id = db.session.scalar(select(Survey.id).where(Survey.code == "complaint-resolution"))
    if survey_id is None:
        return 0
    answers = db.session.execute(
        select(Response, Invitation)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .where(
            Response.survey_id == survey_id,
            Invitation.campaign_id.is_(None),
            Invitation.complaint_id.is_(None),
        )
        .order_by(Response.submitted_at)
    ).all()
    closed = list(
        db.session.scalars(
            select(Complaint)
            .where(
                Complaint.status == Status.CLOSED,
                Complaint.customer_id.is_not(None),
                Complaint.closed_at.is_not(None),
                Complaint.id.not_in(
                    select(Invitation.complaint_id).where(Invitation.complaint_id.is_not(None))
                ),
            )
            .order_by(Complaint.closed_at)
        )
    )
    rule = db.session.scalar(
        select(TriggerRule).where(
            TriggerRule.event_type == "complaint.closed", TriggerRule.survey_id == survey_id
        )
    )
    linked = 0
    for response, invitation in answers:
        latest = (invitation.sent_at or response.submitted_at) - timedelta(days=1)
        earlier = [c for c in closed if c.closed_at <= latest]
        if not earlier:
            continue
        near = [c for c in earlier if c.closed_at >= latest - timedelta(days=9)]
        case = (near or earlier)[-1]
        customer = db.session.get(Customer, case.customer_id)
        if customer is None or not _address(customer, invitation.channel):
            continue  # (the rule could not have reached them on this channel)
        closed.remove(case)
        invitation.complaint_id = case.id
        for row in (invitation, response):
            row.customer_id, row.branch_id = case.customer_id, case.branch_id
            row.product_id = case.product_id or row.product_id
        _readdress(invitation, customer)
        if rule is not None:  # (made by the rule, as closing a case makes them: on its record)
            invitation.source = "trigger"
            rule_firing(
                rule, case.customer_id, case.closed_at, "survey"
            ).invitation_id = invitation.id
        linked += 1
    db.session.flush()
    return linked


def _address(customer: Customer, channel: str) -> str | None:
    return customer.email if channel == "email" else customer.phone


def _readdress(invitation: Invitation, customer: Customer) -> None:
    """The invitation's messages go to the complainant it now asks (address and mask)."""
    messages = db.session.scalars(
        select(OutboundMessage).where(OutboundMessage.invitation_id == invitation.id)
    )
    for message in messages:
        address = _address(customer, message.channel) or ""
        message.customer_id = customer.id
        message.recipient_masked = (mask_email if message.channel == "email" else mask_phone)(
            address
        )
