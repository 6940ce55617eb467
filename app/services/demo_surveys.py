"""Demo surveys: the five templates published, trigger rules, campaigns, a year of answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Branch,
    BranchKind,
    CallAttempt,
    Campaign,
    CampaignStatus,
    Customer,
    FollowUp,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    Product,
    Response,
    Survey,
    User,
    utcnow,
)
from app.services import demo_data, invitations, surveys
from app.services.followups import RETRY_SPACING
from app.services.responses import store_response
from app.services.survey_triggers import DEFAULT_RULES, apply_rules, ensure_rule_row
from surveys import QuestionType, validate
from surveys.templates import template_codes

PRODUCTS_BY_SURVEY = {
    "branch-service": ("DEBIT", "TDEPOSIT", "WEALTH", "FUND", "TRANSFER", "FX"),
    "loan-followup": ("MORTGAGE", "CONSUMER", "BIZLOAN"),
    "credit-card": ("CREDIT",),
    "mobile-banking": ("MOBILE", "ONLINE"),
    "complaint-resolution": ("DEBIT", "CREDIT", "WEALTH", "MOBILE", "CONSUMER"),
}
SHANGHAI = ZoneInfo("Asia/Shanghai")
WORK_START, WORK_END = 9, 18  # office hours, Beijing time: call-backs are due within them
CHANNELS = ("sms", "sms", "sms", "wechat", "app", "email")

OPENERS = {
    "good": [
        "总体很满意",
        "这次体验不错",
        "服务挺好的",
        "整体感觉很顺畅",
        "比上次好多了",
        "非常满意",
    ],
    "mid": ["还行吧", "总体一般", "中规中矩", "有好有坏", "基本能接受", "说不上好也说不上差"],
    "bad": ["很不满意", "体验比较差", "非常失望", "太让人生气了", "这次很糟糕", "说实话不太满意"],
}
DETAILS = {
    "branch-service": {
        "good": [
            "大堂经理主动引导取号",
            "柜员讲解理财风险很耐心",
            "网点环境干净整洁",
            "办业务十分钟就好了",
            "工作人员帮老人填单很贴心",
            "智能柜台有人在旁边指导",
        ],
        "mid": ["等候时间有点长", "停车不太方便", "叫号屏有时看不清", "窗口开得不多"],
        "bad": [
            "排队等了一个多小时",
            "只开了两个窗口",
            "柜员态度冷淡",
            "一直推销保险和理财",
            "材料要求前后说法不一致",
            "空调坏了也没人管",
        ],
    },
    "loan-followup": {
        "good": [
            "放款速度比预期快",
            "客户经理全程跟进",
            "利率和费用都讲清楚了",
            "审批材料一次就说明白了",
        ],
        "mid": ["审批时间比说的长几天", "需要补充的材料有点多", "还款提醒短信来得有点晚"],
        "bad": [
            "放款拖了两个多星期",
            "收了一笔没提前说明的服务费",
            "客户经理电话总是打不通",
            "提前还款手续太复杂",
            "被要求搭售保险才给放款",
        ],
    },
    "credit-card": {
        "good": ["额度提升很及时", "积分兑换挺方便", "账单清楚明白", "客服很快解决了盗刷问题"],
        "mid": ["年费规则有点复杂", "分期手续费不算低", "活动规则看不太懂"],
        "bad": [
            "莫名其妙被收了年费",
            "催收电话打到家人那里",
            "分期利率宣传不实",
            "盗刷后处理了一个月还没结果",
            "临时额度说降就降",
        ],
    },
    "mobile-banking": {
        "good": ["转账很快", "界面简洁好用", "指纹登录很方便", "扫码付款没出过问题"],
        "mid": ["有时候加载比较慢", "功能太多找不到入口", "更新后要重新适应"],
        "bad": [
            "转账一直提示系统繁忙",
            "登录老是闪退",
            "人脸识别总是失败",
            "弹窗广告太多",
            "修改限额要跑网点",
        ],
    },
    "complaint-resolution": {
        "good": [
            "处理速度很快",
            "工作人员主动回电说明进展",
            "最后给了合理的解决方案",
            "道歉很诚恳",
        ],
        "mid": ["处理结果还算可以", "过程有点慢但最后解决了", "沟通次数多了点"],
        "bad": [
            "投诉了三次才有人理",
            "处理结果敷衍",
            "一直让我等通知",
            "说好的回电没有打",
            "推来推去没人负责",
        ],
    },
}
WISHES = {
    "good": ["希望继续保持", "下次还会选择你们", "给工作人员点赞", "会推荐给家人朋友", ""],
    "mid": ["希望流程再简化一些", "建议多开几个窗口", "希望收费更透明", "希望多听听客户的意见", ""],
    "bad": ["请尽快处理", "希望认真改进", "建议加强员工培训", "再这样就考虑换银行了", ""],
}


def seed(*, responses: int, customers: list[Customer] | None = None) -> int:
    """Publish the templates, add rules and campaigns, and ~``responses`` answers; idempotent."""
    published = _publish_templates()
    for event_type, code, action, channel, hours in (*DEFAULT_RULES, VISIT_RULE):
        rule = ensure_rule_row(event_type, code, action, channel, hours)
        if rule in db.session.new:  # the demo bank has had its rules all year: they have fired
            rule.created_at = utcnow() - timedelta(days=400)  # (and so can only be disabled)
    db.session.flush()
    if responses <= 0 or db.session.scalar(select(func.count(Response.id))):
        return 0
    return _seed_responses(published, responses)


def _publish_templates() -> dict[str, Survey]:
    existing = {s.code: s for s in db.session.scalars(select(Survey))}
    for code in template_codes():
        if code not in existing:
            survey = surveys.create_survey_row(code, actor=None)
            surveys.publish_row(survey, actor=None)
            existing[code] = survey
    return existing


def _seed_responses(published: dict[str, Survey], count: int) -> int:
    rng = random.Random(20261122)
    now = utcnow()
    people = list(db.session.scalars(select(Customer).order_by(Customer.id)))
    products = {p.code: p for p in db.session.scalars(select(Product))}
    outlets = list(db.session.scalars(select(Branch).where(Branch.kind == BranchKind.SUB_BRANCH)))
    if not people or not outlets:
        return 0
    campaigns = {code: _campaign(s, now) for code, s in published.items()}
    weights = {
        "branch-service": 40,
        "mobile-banking": 20,
        "credit-card": 18,
        "loan-followup": 14,
        "complaint-resolution": 8,
    }
    codes = [c for c in weights if c in published]
    made = 0
    for _ in range(count * 2):  # a drawn answer set can miss a min/max rule; draw again
        if made >= count:
            break
        code = rng.choices(codes, weights=[weights[c] for c in codes])[0]
        at = now - timedelta(days=rng.random() * 365, minutes=rng.randrange(600))
        made += _one_response(rng, published[code], campaigns[code], people, products, at)
    _settle_followups(now, rng)
    _schedule_visits(now, rng, people, products.get("CREDIT"))
    for campaign in campaigns.values():
        answered = db.session.scalar(
            select(func.count(Response.id)).where(Response.campaign_id == campaign.id)
        )
        # About one customer in three answers; the rest were sent and did not respond.
        campaign.sent_count = answered * 3
        campaign.skipped_count = answered // 4
        campaign.total = campaign.processed = campaign.sent_count + campaign.skipped_count
    return made


def _campaign(survey: Survey, now: datetime) -> Campaign:
    name = f"{survey.title}（年度常态化调查）"
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == name))
    if campaign is None:
        campaign = Campaign(
            name=name,
            survey_id=survey.id,
            version_id=survey.latest_version.id,
            channel="sms",
            audience="segment",
            audience_segment="mass",
            window_start=now - timedelta(days=366),
            window_end=now + timedelta(days=30),
            expires_days=14,
            reminder_days=3,
            status=CampaignStatus.SENT,
        )
        db.session.add(campaign)
        db.session.flush()
    return campaign


def _one_response(rng, survey, campaign, people, products, at: datetime) -> int:
    customer = rng.choice(people)
    mood = rng.choices(["good", "mid", "bad"], weights=[62, 23, 15])[0]
    version = survey.latest_version
    defn = surveys.definition_of(version)
    raw = _answers(rng, defn, mood, survey.code)
    result = validate(defn, raw)
    if not result.ok:
        return 0
    codes = PRODUCTS_BY_SURVEY.get(survey.code)
    product = products.get(rng.choice(codes)) if codes else None
    channel = rng.choice(CHANNELS)
    invitation = Invitation(
        token_hash=invitations.hash_token(invitations.new_token()),
        survey_id=survey.id,
        version_id=version.id,
        campaign_id=None,
        customer_id=customer.id,
        branch_id=customer.branch_id,
        product_id=product.id if product else None,
        channel=channel,
        source="campaign",
        status=InvitationStatus.COMPLETED,
        scheduled_at=at - timedelta(hours=3),
        expires_at=at + timedelta(days=14),
        sent_at=at - timedelta(hours=3),
        opened_at=at,
        completed_at=at,
        created_at=at - timedelta(hours=3),  # (made and sent three hours before the answer)
        updated_at=at,
    )
    db.session.add(invitation)
    db.session.flush()
    store_response(
        version,
        result.cleaned,
        channel=channel,
        now=at,
        invitation=invitation,
        campaign_id=campaign.id,
        customer_id=customer.id,
        branch_id=customer.branch_id,
        product_id=product.id if product else None,
    )
    return 1


def _answers(rng: random.Random, defn, mood: str, code: str) -> dict:
    base = {"good": (4, 5), "mid": (3, 4), "bad": (1, 2)}[mood]
    raw: dict = {}
    for q in defn.questions:
        kind = q.scale_type
        if kind is QuestionType.RATING:
            value = rng.randint(*base)
            raw[q.id] = {i.id: rng.randint(*base) for i in q.items} if q.items else value
        elif kind is QuestionType.NPS:
            raw[q.id] = {
                "good": rng.randint(8, 10),
                "mid": rng.randint(6, 8),
                "bad": rng.randint(0, 6),
            }[mood]
        elif kind is QuestionType.CES:
            raw[q.id] = {
                "good": rng.randint(5, 7),
                "mid": rng.randint(3, 5),
                "bad": rng.randint(1, 3),
            }[mood]
        elif q.type is QuestionType.SINGLE:
            raw[q.id] = rng.choice([o.value for o in q.options if not o.other])
        elif q.type is QuestionType.MULTIPLE:
            plain = [o.value for o in q.options if not o.other and not o.exclusive]
            low = q.min_select or 1
            high = min(q.max_select or 2, len(plain))
            raw[q.id] = rng.sample(plain, rng.randint(low, max(low, high)))
        elif q.type is QuestionType.TEXT and rng.random() < 0.7:
            raw[q.id] = _comment(rng, mood, code)[: q.max_length]
    return raw


def _comment(rng: random.Random, mood: str, code: str) -> str:
    details = DETAILS.get(code, DETAILS["branch-service"])
    parts = [rng.choice(OPENERS[mood]), rng.choice(details[mood])]
    if rng.random() < 0.5:
        parts.append(rng.choice(details["mid" if mood != "mid" else "good"]))
    wish = rng.choice(WISHES[mood])
    return "，".join(parts) + ("，" + wish if wish else "") + rng.choice(["。", "！", "。", "…"])


def working_time(moment: datetime, rng: random.Random) -> datetime:
    """``moment`` if it falls in office hours (09:00–17:30 Beijing time, so a call ends by
    18:00), else a moment in the next morning's first hours."""
    local = moment.astimezone(SHANGHAI)
    opens = local.replace(hour=WORK_START, minute=0, second=0, microsecond=0)
    if local < opens:
        local = opens + timedelta(minutes=rng.randrange(0, 120))
    elif local.hour * 60 + local.minute >= WORK_END * 60 - 30:
        local = opens + timedelta(days=1, minutes=rng.randrange(0, 120))
    return local.astimezone(UTC)


# The demo bank's phone call-back after a credit card is issued (a business-event visit, beside
# the detractor call-backs): two days later, with the credit-card questionnaire.
VISIT_RULE = ("card.issued", "credit-card", "visit", "sms", 48)
RECENT_CARDS = 16  # cards issued in the last three days, whose call-backs wait in the queue


def _schedule_visits(
    now: datetime, rng: random.Random, people: list[Customer], card: Product | None
) -> None:
    """Cards issued in the last three days, through the visit rule: the agents' call queue holds
    call-backs due today and tomorrow, and a few from yesterday not yet made."""
    with_branch = [c for c in people if c.branch_id is not None]
    agents = {u.username: u for u in db.session.scalars(select(User))}
    for customer in rng.sample(with_branch, min(RECENT_CARDS, len(with_branch))):
        issued = working_time(now - timedelta(hours=rng.uniform(30, 72)), rng)
        scheduled = apply_rules(
            VISIT_RULE[0],
            customer,
            issued,
            branch_id=customer.branch_id,
            product_id=card.id if card else None,
        )
        for item in scheduled:
            if item["kind"] != "visit":
                continue
            task = db.session.get(FollowUp, item["id"])
            task.created_at = issued
            task.due_at = working_time(task.due_at, rng)
            agent = demo_data.regional_agent(agents, task.branch)
            task.assigned_to_id = agent.id if agent else None


QUEUE_DAYS = 2  # call-backs due in the last two days are still waiting in the call queue
# How the settled call-backs end, dealt out in this order over the tasks as they were created
# (not drawn one by one): any few weeks then show the same mix, 15 done : 3 unreachable :
# 2 refused in 20, whatever day the demo is seeded (independent draws let a 90-day window of
# ~17 tasks swing from 50 % to 90 % done).
OUTCOME_CYCLE = (
    *("done", "done", "unreachable", "done", "done", "refused", "done", "done", "done"),
    *("unreachable", "done", "done", "done", "done", "refused", "done", "done", "unreachable"),
    *("done", "done"),
)
LATE_EVERY = 8  # one settled call-back in 8 (older than a week) was first called days late


def _settle_followups(now: datetime, rng: random.Random) -> None:
    """Call-backs are due in office hours; those due before the last two days were called (their
    calls recorded, as the 回访 dashboard counts them), most within the 48 hours a detractor
    call-back allows, some days late. A task whose retry would fall after now waits for it in
    the queue."""
    agents = {u.username: u for u in db.session.scalars(select(User))}
    tasks = db.session.scalars(select(FollowUp).order_by(FollowUp.created_at, FollowUp.id)).all()
    for task in tasks:
        task.due_at = working_time(task.created_at + timedelta(hours=rng.randint(1, 4)), rng)
    settled = 0
    for task in tasks:
        if task.due_at >= now - timedelta(days=QUEUE_DAYS):
            continue
        agent = demo_data.regional_agent(agents, task.branch)
        status = FollowUpStatus(OUTCOME_CYCLE[settled % len(OUTCOME_CYCLE)])
        late = settled % LATE_EVERY == LATE_EVERY - 1
        settled += 1
        if status == FollowUpStatus.UNREACHABLE:
            outcomes = [rng.choice(("no_answer", "busy")) for _ in range(task.max_attempts)]
        else:
            last = "reached" if status == FollowUpStatus.DONE else "refused"
            outcomes = ["no_answer"] * (rng.random() < 0.3) + [last]
        at, made = task.due_at, 0
        if late and task.due_at < now - timedelta(days=7):
            # a busy week: the first call was made days late, after the 48 hours
            at = working_time(at + timedelta(days=rng.randint(2, 4)), rng)
        for i, outcome in enumerate(outcomes):
            if i:  # retried as the call queue spaces them (2 h, then 20 h), in office hours
                at = working_time(at + RETRY_SPACING[min(i, len(RETRY_SPACING)) - 1], rng)
            if at > now:
                break
            db.session.add(
                CallAttempt(
                    followup_id=task.id,
                    agent_id=agent.id if agent else None,
                    outcome=outcome,
                    note="",
                    at=at,
                )
            )
            made += 1
        task.attempts = sum(o in ("no_answer", "busy") for o in outcomes[:made])
        task.assigned_to_id = agent.id if agent else None
        if made < len(outcomes):  # the next try is still to come
            task.due_at = at
            continue
        task.status = status
        task.closed_at = min(at + timedelta(minutes=rng.randint(3, 15)), now)
