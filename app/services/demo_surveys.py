"""Demo surveys: the five templates published, trigger rules, campaigns, a year of answers."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Branch,
    BranchKind,
    CallAttempt,
    Campaign,
    CampaignSkip,
    CampaignStatus,
    Customer,
    FollowUp,
    FollowUpStatus,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    Product,
    Response,
    Survey,
    SurveyVersion,
    TriggerFiring,
    TriggerRule,
    User,
    utcnow,
)
from app.services import campaigns, channels, demo_data, invitations, surveys
from app.services.followups import RETRY_SPACING
from app.services.responses import store_response
from app.services.survey_triggers import DEFAULT_RULES, apply_rules, ensure_rule_row
from surveys import CustomerContactState, QuestionType, check_contact, validate
from surveys.contact import ContactRules, in_quiet_hours
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
        made += _one_response(rng, published[code], people, products, at)
    made += _seed_campaigns(published, people, products, now)
    _settle_followups(now, rng)
    _schedule_visits(now, rng, people, products.get("CREDIT"))
    _trigger_history(now, rng)
    return made


def _one_response(rng, survey, people, products, at: datetime) -> int:
    """One answer of the year: the bank's systems asked for the survey after the customer's
    business (``POST /api/v1/invitations``), the link went out three hours before (a text
    message not at night: then the evening before)."""
    customer = rng.choice(people)
    mood = _mood(rng)
    version = survey.latest_version
    defn = surveys.definition_of(version)
    raw = _answers(rng, defn, mood, survey.code)
    result = validate(defn, raw)
    if not result.ok:
        return 0
    codes = PRODUCTS_BY_SURVEY.get(survey.code)
    product = products.get(rng.choice(codes)) if codes else None
    channel = rng.choice(CHANNELS)
    if channel == "email" and not customer.email:
        channel = "sms"  # (the bank writes to those it has an address for)
    invitation = _invite(survey, customer, channel, _daytime(at - timedelta(hours=3), channel),
                         product=product)  # fmt: skip
    _complete(invitation, result.cleaned, at)
    return 1


def _daytime(moment: datetime, channel: str) -> datetime:
    """``moment``, or for a text message that would fall in the quiet hours (21:00–08:00) the
    same minute of the 20 o'clock hour the evening before: nobody is texted at night."""
    if not in_quiet_hours(moment, channel):
        return moment
    local = moment.astimezone(SHANGHAI)
    evening = local if local.hour >= 12 else local - timedelta(days=1)
    return evening.replace(hour=20).astimezone(UTC)


def _invite(
    survey: Survey,
    customer: Customer,
    channel: str,
    sent: datetime,
    *,
    product: Product | None = None,
    campaign: Campaign | None = None,
) -> Invitation:
    """An invitation sent at ``sent``, with its message in the development outbox."""
    expiry = campaign.expires_days if campaign else invitations.DEFAULT_EXPIRY_DAYS
    token = invitations.new_token()
    invitation = Invitation(
        **invitations.sealed(token),
        survey_id=survey.id,
        version_id=survey.latest_version.id,
        campaign_id=campaign.id if campaign else None,
        customer_id=customer.id,
        branch_id=customer.branch_id,
        product_id=product.id if product else None,
        channel=channel,
        source="campaign" if campaign else "api",
        status=InvitationStatus.SENT,
        scheduled_at=sent,
        expires_at=sent + timedelta(days=expiry),
        sent_at=sent,
        created_at=sent,
        updated_at=sent,
    )
    invitation.customer = customer
    db.session.add(invitation)
    db.session.flush()
    _message(invitation, survey, sent, token=token)
    return invitation


def _message(
    invitation: Invitation, survey: Survey, at: datetime, *, token: str | None = None
) -> None:
    """The invitation's message (with its ``token``), or without one the reminder's, as the
    development outbox keeps it: with the link it carried (a reminder carries the same one, as
    ``invitations.deliver`` sends it).
    Written straight to the outbox, whatever the channels are configured to: the demo never
    texts or mails anyone."""
    reminder = token is None
    if reminder:
        token = invitations.kept_token(invitation) or invitations.new_token()
        invitations.seal(invitation, token)
    days = max(1, round((invitation.expires_at - at).total_seconds() / 86400))
    subject, body = channels.compose(
        invitation.channel,
        title=survey.latest_version.definition["title"],
        url=invitations.link_for(token),
        days=days,
        reminder=reminder,
    )
    address = invitations.address_of(invitation.customer, invitation.channel)
    db.session.add(
        OutboundMessage(
            invitation_id=invitation.id,
            customer_id=invitation.customer_id,
            channel=invitation.channel,
            backend="outbox",
            kind="reminder" if reminder else "invitation",
            recipient_masked=address[1],
            subject=subject,
            body=body,
            status="sent",
            attempts=1,
            created_at=at,
            sent_at=at,
        )
    )


def _complete(invitation: Invitation, cleaned: dict, at: datetime) -> None:
    """The customer answered at ``at``."""
    invitation.status = InvitationStatus.COMPLETED
    invitation.opened_at = invitation.completed_at = invitation.updated_at = at
    store_response(
        invitation.version or db.session.get(SurveyVersion, invitation.version_id),
        cleaned,
        channel=invitation.channel,
        now=at,
        invitation=invitation,
        campaign_id=invitation.campaign_id,
        customer_id=invitation.customer_id,
        branch_id=invitation.branch_id,
        product_id=invitation.product_id,
    )


# The demo bank's campaigns: (name, survey, channel, audience, its branch/segment/product code,
# sent how many days ago (None: created, not yet sent), reminder after days). Sent as the
# campaign engine sends: its audience, the contact rules deciding who is skipped and why, a
# message in the development outbox for every invitation and reminder.
DEMO_CAMPAIGNS = (
    ("杭州分行网点服务满意度专项调查", "branch-service", "sms", "branch", "HZ", 40, 3),
    ("财富客户手机银行体验调查", "mobile-banking", "app", "segment", "affluent", 18, 3),
    ("信用卡客户满意度调查（电子邮件）", "credit-card", "email", "product", "CREDIT", 5, None),
    ("南京分行贷款客户回访调查", "loan-followup", "sms", "branch", "NJ", None, 3),
)
ANSWER_SHARE, AFTER_REMINDER_SHARE = 0.3, 0.15  # answer at once / after the reminder


def _seed_campaigns(published: dict[str, Survey], people, products, now: datetime) -> int:
    """The demo campaigns, oldest first (each one's sends count in the next one's frequency
    cap); returns the answers they brought. A draw of their own: the year's answers stay as
    they are."""
    rng = random.Random(20261205)
    branches = {b.code: b for b in db.session.scalars(select(Branch))}
    hq = db.session.scalar(select(User).where(User.role == "hq_manager").order_by(User.id))
    made = 0
    for name, code, channel, audience, key, days, reminder in sorted(
        DEMO_CAMPAIGNS, key=lambda c: -(c[5] or 0)
    ):
        if code not in published:
            continue
        local = now.astimezone(SHANGHAI) - timedelta(days=days or 0)
        start, end = (t.replace(tzinfo=SHANGHAI) for t in campaigns.default_window(local))
        campaign = Campaign(
            name=name,
            survey_id=published[code].id,
            version_id=published[code].latest_version.id,
            channel=channel,
            audience=audience,
            audience_branch_id=branches[key].id if audience == "branch" else None,
            audience_segment=key if audience == "segment" else None,
            audience_product_id=products[key].id if audience == "product" else None,
            window_start=start.astimezone(UTC),
            window_end=end.astimezone(UTC),
            expires_days=14,
            reminder_days=reminder,
            created_by_id=hq.id if hq else None,
            created_at=start.astimezone(UTC) - timedelta(days=1),
        )
        db.session.add(campaign)
        db.session.flush()
        if days is not None:  # sent an hour into its window (10:00 on its first day)
            sent = (start + timedelta(hours=1)).astimezone(UTC)
            made += _send_campaign(rng, campaign, published[code], people, sent, now)
    return made


def _send_campaign(rng, campaign: Campaign, survey: Survey, people, sent: datetime, now) -> int:
    """Send ``campaign`` at ``sent`` as ``campaigns.run_campaign`` would have; its customers
    answer, are reminded, or let the link expire, as of ``now``."""
    by_id = {c.id: c for c in people}
    rows = db.session.execute(campaigns.audience_query(campaign).order_by(Customer.id)).all()
    recent: dict[int, list[datetime]] = defaultdict(list)
    window = select(Invitation.customer_id, Invitation.sent_at).where(
        Invitation.sent_at > sent - timedelta(days=ContactRules().frequency_cap_days),
        Invitation.sent_at <= sent,
    )
    for customer_id, at in db.session.execute(window):
        recent[customer_id].append(at)
    defn, made = surveys.definition_of(survey.latest_version), 0
    for row in rows:
        customer = by_id[row.id]
        skip = _campaign_skip(campaign, survey, row, customer, recent[row.id], sent)
        if skip:
            db.session.add(
                CampaignSkip(campaign_id=campaign.id, customer_id=row.id, at=sent,
                             reason_code=skip[0], reason=skip[1])
            )  # fmt: skip
            campaign.skipped_count += 1
            continue
        invitation = _invite(survey, customer, campaign.channel, sent, campaign=campaign)
        campaign.sent_count += 1
        result = validate(defn, _answers(rng, defn, _mood(rng), survey.code))
        made += _campaign_outcome(rng, campaign, survey, invitation, result, now)
    campaign.total = campaign.processed = len(rows)
    campaign.started_at = campaign.finished_at = sent
    over = sent + timedelta(days=campaign.expires_days) <= now  # (its every link expired)
    campaign.status = CampaignStatus.CLOSED if over else CampaignStatus.SENT
    return made


def _campaign_skip(campaign, survey, row, customer, recent, at) -> tuple[str, str] | None:
    """Why the campaign engine would skip this customer at ``at`` (None: it sends)."""
    if invitations.address_of(customer, campaign.channel) is None:
        return invitations.no_contact_reason(campaign.channel)
    state = CustomerContactState(
        last_surveyed_at=tuple(recent),
        has_open_complaint=False,  # (the demo's complaints come later)
        opted_out=row.opted_out,
        opted_out_channels=Customer.channels_opted_out(row.opted_out_channels),
    )
    decision = check_contact(state, survey.code, campaign.channel, at, ContactRules())
    return None if decision.allowed else (decision.reason_code, decision.reason)


def _campaign_outcome(rng, campaign, survey, invitation: Invitation, result, now) -> int:
    """The customer answers within the first days, or after the reminder, or not at all (the
    link then expires); returns 1 for an answer."""
    sent = invitation.sent_at
    reminded = sent + timedelta(days=campaign.reminder_days or 0)
    draw = rng.random()
    if draw < ANSWER_SHARE:
        answered = sent + timedelta(hours=rng.uniform(0.2, 24 * (campaign.reminder_days or 3)))
    else:
        answered = None
        if campaign.reminder_days and reminded <= now:
            _message(invitation, survey, reminded)
            invitation.reminded_at = invitation.updated_at = reminded
            campaign.reminded_count += 1
            if draw < ANSWER_SHARE + AFTER_REMINDER_SHARE:
                answered = reminded + timedelta(hours=rng.uniform(0.2, 48))
    if answered is not None and answered <= now and result.ok:
        _complete(invitation, result.cleaned, answered)
        return 1
    if invitation.expires_at <= now:
        invitation.status = InvitationStatus.EXPIRED
    elif rng.random() < 0.3:
        invitation.status = InvitationStatus.OPENED
        invitation.opened_at = min(sent + timedelta(hours=rng.uniform(0.2, 30)), now)
    return 0


def _mood(rng: random.Random) -> str:
    return rng.choices(["good", "mid", "bad"], weights=[62, 23, 15])[0]


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
# Of the answers of the year to a rule's survey (outside campaigns), the share its rule sent: every
# loan paid out asks for the loan survey; the branch survey follows some account openings, the
# counter systems ask for the rest.
TRIGGERED_SHARE = {"loan.disbursed": 1.0, "account.opened": 0.3}
CAPPED_SHARE = 0.12  # as many again of those events found the customer surveyed lately


def _trigger_history(now: datetime, rng: random.Random) -> None:
    """The survey rules' record over the year (trigger_firing), as the events API keeps it: the
    invitations the rules made, and events that scheduled nothing under the frequency cap."""
    rules = db.session.scalars(select(TriggerRule).where(TriggerRule.action == "survey")).all()
    for rule in rules:
        share = TRIGGERED_SHARE.get(rule.event_type)
        if share is None:
            continue
        delay = timedelta(hours=rule.delay_hours)
        sent = db.session.scalars(
            select(Invitation)
            .where(
                Invitation.survey_id == rule.survey_id,
                Invitation.source == "api",
                Invitation.campaign_id.is_(None),
            )
            .order_by(Invitation.id)
        ).all()
        taken: set[tuple[int, datetime]] = set()
        for invitation in sent:
            occurred = invitation.scheduled_at - delay
            if rng.random() >= share or (invitation.customer_id, occurred) in taken:
                continue
            invitation.source = "trigger"
            taken.add((invitation.customer_id, occurred))
            firing = rule_firing(rule, invitation.customer_id, occurred, "survey")
            firing.invitation_id = invitation.id
            # the customer's next event within the cap's window (a second loan, another
            # account) asked for nothing
            later = occurred + timedelta(days=rng.uniform(2, 25), minutes=rng.randrange(600))
            key = (invitation.customer_id, later)
            if rng.random() < CAPPED_SHARE and later < now and key not in taken:
                taken.add(key)
                rule_firing(rule, invitation.customer_id, later, "frequency_cap")
    db.session.flush()


def rule_firing(rule: TriggerRule, customer_id: int, at: datetime, outcome: str) -> TriggerFiring:
    """An event the rule took at ``at`` (the events API records it as it arrives)."""
    firing = TriggerFiring(
        rule_id=rule.id, customer_id=customer_id, occurred_at=at, outcome=outcome, created_at=at
    )
    db.session.add(firing)
    return firing


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
            # what the card system's event says (the agent sees it on the call; drawn apart
            # from ``rng`` so that the rest of the demo stays as it was)
            detail={
                "product_code": card.code if card else None,
                "product": card.name if card else None,
                # (the card system names its fields in Chinese, as an integrator may: the
                # page shows the names as sent)
                "attributes": {
                    "卡片等级": random.Random(customer.id).choice(["普卡", "金卡", "白金卡"]),
                    "授信额度（元）": random.Random(-customer.id).choice([10000, 20000, 50000]),
                    "申请渠道": "网点申请" if customer.id % 3 else "手机银行申请",
                },
            },
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
