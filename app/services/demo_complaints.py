"""Demo complaints: ~300 cases across every channel, category and state, some overdue."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Customer, Product, User, utcnow
from app.models.complaint import Complaint, Status
from app.services import complaint_clock as clock
from app.services.complaints import IntakeData, intake_row, record_event, refresh_due

COUNT = 300
SCENES = [
    (
        "CARD",
        "信用卡",
        [
            "信用卡账单里多了一笔{amt}元的年费，办卡时客户经理明确说首年免年费，刷满六次免次年年费。",
            "我申请信用卡分期时被告知手续费很低，结果算下来实际年化利率远高于宣传，感觉被误导了。",
            "信用卡额度莫名其妙被降到{small}元，没有任何短信通知，在商场付款时才发现刷不了。",
            "上个月我已经按时全额还款，但系统显示逾期，还产生了{small}元滞纳金，担心影响征信。",
        ],
    ),
    (
        "DEBIT",
        "借记卡",
        [
            "我的工资卡突然被冻结，非柜面交易全部受限，到网点要求我提供各种证明，跑了三趟还没解决。",
            "在ATM取款{amt}元，机器显示交易失败但卡里的钱被扣了，打电话说要等七个工作日。",
            "借记卡被收取小额账户管理费，我从来没有收到过任何提示，要求退还并说明收费依据。",
        ],
    ),
    (
        "LOAN",
        "贷款",
        [
            "申请提前还款排队要等两个月，客户经理说额度有限，每个月多付{small}元利息，非常不合理。",
            "房贷利率没有按照LPR调整，我多次询问得到的答复都不一样，希望给一个明确的说法。",
            "消费贷放款时被要求同时购买一份保险，不买就不放款，这是捆绑销售。",
            "贷款已经结清三个月了，征信报告上还显示未结清，导致我申请房贷被拒。",
        ],
    ),
    (
        "WEALTH",
        "理财",
        [
            "理财经理推荐时说产品稳健保本，现在亏损{amt}元，风险测评是他帮我代填的。",
            "购买的理财产品到期后迟迟没有到账，客服只说系统处理中，没有具体时间。",
            "大额存单到期自动转存了我不知情的产品，提前支取损失了利息，没有人提前告知我。",
        ],
    ),
    (
        "MOBILE",
        "手机银行",
        [
            "手机银行更新新版本后一直闪退，转账转不出去，耽误了给供应商付款。",
            "手机银行刷脸认证一直失败，换了三部手机都不行，只能跑到网点办理，太不方便了。",
            "在手机银行转账{amt}元给家人，显示成功但对方三天了还没有收到。",
        ],
    ),
    (
        "COUNTER",
        "网点服务",
        [
            "在{branch}办理业务排队等了两个多小时，只开了两个窗口，大堂经理也不安排。",
            "{branch}的柜员态度很差，问了两遍就不耐烦，还说看不懂就别来办。",
            "到{branch}兑换零钱被拒绝，说没有硬币，拒收现金也是违规的吧。",
            "老人去{branch}取养老金，工作人员坚持要本人到场，老人行动不便，能不能上门办理？",
        ],
    ),
    (
        "PAY",
        "支付结算",
        [
            "跨行转账{amt}元被退回，手续费却没有退，客服推来推去没人处理。",
            "我的账户被设置了非柜面转账限额每天只能转{small}元，做生意根本不够用。",
            "快捷支付被盗刷了{amt}元，我的卡一直在身上，希望银行尽快核查并赔付。",
        ],
    ),
    (
        "MARKET",
        "营销骚扰",
        [
            "每天都接到贵行的营销电话推销保险和贷款，我已经说过不要再打了还在打。",
            "收到大量营销短信，退订回复了好几次还是继续发，严重影响生活。",
        ],
    ),
    (
        "PRIVACY",
        "个人信息",
        [
            "我刚在网点办完业务，就接到陌生电话准确说出我的姓名和贷款金额，怀疑信息被泄露。",
            "网点复印了我的身份证和户口本，没有说明用途，我要求说明个人信息的保存和使用情况。",
        ],
    ),
]
DEMANDS = [
    "要求退还多收的费用并书面道歉。",
    "希望尽快核实处理，给个明确答复。",
    "要求赔偿损失。",
    "希望相关人员改进服务态度。",
    "要求撤销不良征信记录。",
    "请不要再打营销电话。",
    "",
]
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
PATHS = {
    Status.RECEIVED: [],
    Status.ACCEPTED: ["accept"],
    Status.IN_PROGRESS: ["accept", "start"],
    Status.PAUSED: ["accept", "start", "pause"],
    Status.DECIDED: ["accept", "start", "decide"],
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


def _text(rng: random.Random, branch_name: str) -> tuple[str, str]:
    kind, _, lines = rng.choice(SCENES)
    text = rng.choice(lines).format(
        amt=rng.choice([268, 1500, 3200, 8800, 26000, 50000]),
        small=rng.choice([20, 50, 120, 300, 2000]),
        branch=branch_name,
    )
    if rng.random() < 0.25:
        text += rng.choice(
            [
                "我已经打过三次客服电话了。",
                "如果再不解决我就向金融监管总局投诉。",
                "这件事已经拖了快一个月。",
                "希望领导重视。",
            ]
        )
    return kind, text


def _walk(c: Complaint, steps: list[str], actor: User | None, rng: random.Random) -> None:
    at, now = c.received_at, utcnow()
    for step in steps:
        at = min(at + timedelta(hours=rng.randint(2, 60)), now)  # (a recent case: nothing later)
        if step == "notice":
            e = record_event(
                c,
                actor,
                "notice",
                "电话告知处理决定，客户表示知悉",
                detail={"method": "phone", "purpose": "decision", "outcome": "reached"},
            )
            e.at = at
            continue
        before, after = c.transition(step)
        text = {
            "decide": "经核实，已按规定处理并向客户说明。",
            "pause": "客户申请调解，中止计时",
            "withdraw": "客户来电表示问题已自行解决，撤回投诉",
            "decline": "经核实，投诉人非客户本人且无授权委托",
            "request_review": "客户对处理决定不满意，书面申请核查",
        }.get(step)
        e = record_event(c, actor, "status", text, from_status=before, to_status=after)
        e.at = at
        if step in ("decide", "decide_review"):
            c.decision_verified = "调取了业务办理记录、录音录像和系统日志。"
            c.decision_basis = "依据相关服务协议和收费标准，并结合客户实际情况。"
            c.decision_text, c.remedies, c.decided_at = text, ["review", "mediation"], at
        if step == "pause":
            c.pauses = [[clock.local_date(at).isoformat(), None]]
        if step in ("close", "withdraw", "decline"):
            c.closed_at = at
            c.root_cause = "员工对收费政策解释不到位，已组织培训。" if step == "close" else None
        if step == "request_review":
            c.review_requested_on = clock.local_date(at)
    refresh_due(c)


def seed_complaints(rng_seed: int = 2026) -> int:
    """Add the demo complaints that are missing (idempotent by external_ref); returns how many."""
    have = (
        db.session.scalar(
            select(func.count(Complaint.id)).where(Complaint.external_ref.like("DEMO-%"))
        )
        or 0
    )
    customers = list(db.session.scalars(select(Customer).order_by(Customer.id)))
    if have >= COUNT or not customers:
        return 0
    products = {p.code: p for p in db.session.scalars(select(Product))}
    staff = {u.username: u for u in db.session.scalars(select(User))}
    rng, now, added = random.Random(rng_seed), utcnow(), 0
    for n in range(1, COUNT + 1):
        customer = rng.choice(customers)
        channel = rng.choices(*zip(*CHANNEL_WEIGHTS, strict=True))[0]
        state = rng.choices(*zip(*STATE_WEIGHTS, strict=True))[0]
        age = rng.randint(0, 14) if state == Status.RECEIVED else rng.randint(1, 120)
        received = now - timedelta(days=age, minutes=rng.randint(0, 1440))
        _, text = _text(rng, customer.branch.name if customer.branch else "网点")
        if n <= have:
            continue
        by_phone = rng.random() < 0.3
        data = IntakeData(
            channel=channel,
            content=text,
            name=customer.name,
            received_at=received,
            external_id=None if by_phone else customer.external_id,
            phone=customer.phone,
            branch_code=customer.branch.code if customer.branch else None,
            external_ref=f"DEMO-{n:04d}",
            demand=rng.choice(DEMANDS) or None,
            regulator_ref=f"JR{received:%Y%m%d}{n:04d}" if channel == "regulator" else None,
            regulator_received_on=(received - timedelta(days=2)).date()
            if channel == "regulator"
            else None,
            group_size=25 if n % 97 == 0 else None,
            product_code=rng.choice(list(products)) if products and rng.random() < 0.6 else None,
        )
        complaint, _ = intake_row(data)
        region = customer.branch.code[:2] if customer.branch else "HO"
        actor = staff.get({"HZ": "agent", "NJ": "agent_nj"}.get(region, "hq"))
        if actor is not None and state != Status.RECEIVED and rng.random() < 0.85:
            complaint.assignee_id, complaint.assigned_at = actor.id, received
        _walk(complaint, PATHS[state], actor, rng)
        added += 1
    db.session.flush()
    return added
