"""Campaigns: one survey to an audience through a channel within a window, with contact rules.

``run_campaign`` works in chunks with bulk inserts and commits after each chunk, so progress is
visible and memory stays flat; a unique (campaign_id, customer_id) on invitations and skips means
a re-run (or a second worker) never sends a customer twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, insert, or_, select, update

from app.extensions import db
from app.models import (
    Branch,
    Campaign,
    CampaignSkip,
    CampaignStatus,
    Customer,
    Intake,
    Invitation,
    InvitationStatus,
    Product,
    Response,
    User,
    utcnow,
)
from app.services import channels, invitations, surveys
from app.services.customers import inactive_message
from app.services.errors import ValidationFailed
from app.services.tx import get_or_raise, transactional
from nlp import mask_email, mask_phone
from surveys import CustomerContactState, check_contact
from surveys.contact import ContactRules, in_quiet_hours

# Customers decided, sent and committed together; each commit also marks the send alive
# (the campaign's updated_at), so a chunk must take well under STALLED_AFTER even through a slow
# gateway (1,000 messages at 0.5 s each: 8 minutes).
CHUNK = 1000
# A send that has committed nothing for this long died (its worker killed, its machine gone):
# the minute's dispatch resumes it (it stayed 发送中 0% for good, the button hidden).
STALLED_AFTER = timedelta(minutes=10)
AUDIENCES = ("branch", "product", "segment", "list", "anonymous")
# The send window a new campaign proposes: daytime at both ends (sending at night is held back
# by the contact rules' quiet hours anyway, and customers' complaints about night messages
# are what those hours prevent), a week long.
SEND_FROM, SEND_UNTIL = time(9, 0), time(20, 0)
DEFAULT_WINDOW_DAYS = 7
# A campaign asked to send (开始发送, or the 整改 re-survey hook) in the quiet hours records that
# it was held back with this note, keeping its status (待发送, or 已发送 for a top-up); the
# periodic dispatch resumes those once the quiet hours are over (``held_campaign_ids``).
QUIET_HOURS_NOTE = "当前为免打扰时段，将在时段结束后继续发送"
# The same for a campaign asked to send before its send window opens: it waits, and the periodic
# dispatch sends it once the window has opened (before, it said 不在发送时间窗口内 and waited
# for a second press that nobody knew was needed).
EARLY_NOTE = "尚未到发送开始时间，将在发送窗口开始后自动发送"
WAITING_NOTES = (QUIET_HOURS_NOTE, EARLY_NOTE)
CLOSED_NOTE = "活动已结束，不能发送"
# Other areas (complaints) register a lookup: customer ids -> those with an open complaint.
OPEN_COMPLAINT_LOOKUPS: list[Callable[[list[int]], set[int]]] = []


def _open_complaints(customer_ids: list[int]) -> set[int]:
    from app.models.complaint import FINAL, Complaint

    if not customer_ids:
        return set()
    rows = db.session.scalars(
        select(Complaint.customer_id)
        .where(Complaint.customer_id.in_(customer_ids), Complaint.status.not_in(list(FINAL)))
        .execution_options(include_all_branches=True)
    )
    return set(rows)


OPEN_COMPLAINT_LOOKUPS.append(_open_complaints)


def register_open_complaint_lookup(lookup: Callable[[list[int]], set[int]]) -> None:
    if lookup not in OPEN_COMPLAINT_LOOKUPS:
        OPEN_COMPLAINT_LOOKUPS.append(lookup)


@dataclass(frozen=True)
class CampaignInput:
    name: str
    survey_id: int
    channel: str
    audience: str
    window_start: datetime
    window_end: datetime
    branch_id: int | None = None
    product_id: int | None = None
    segment: str | None = None
    list_text: str = ""
    expires_days: int = 14
    reminder_days: int | None = None
    quota: int | None = None  # messages sent; for an anonymous link, answers taken
    once_per_device: bool = True  # (an anonymous link only)


def default_window(now_local: datetime) -> tuple[datetime, datetime]:
    """The send window a new campaign form proposes, as local wall-clock times (naive): from
    09:00 today (tomorrow once today's 20:00 has passed; before 09:00 the send waits for it)
    until 20:00 a week later."""
    day = now_local.date() + timedelta(days=now_local.time() >= SEND_UNTIL)
    start = datetime.combine(day, SEND_FROM)
    return start, datetime.combine(day + timedelta(days=DEFAULT_WINDOW_DAYS), SEND_UNTIL)


def list_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def answer_counts(campaign_ids: Iterable[int]) -> dict[int, int]:
    """Answers received per campaign (its responses), for the campaigns list and page."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    stmt = (
        select(Response.campaign_id, func.count())
        .where(Response.campaign_id.in_(ids))
        .group_by(Response.campaign_id)
    )
    return dict(db.session.execute(stmt).tuples().all())


def get_campaign(campaign_id: int) -> Campaign:
    return get_or_raise(Campaign, campaign_id, "调查活动不存在")


def _public_token(campaign: Campaign, secret: str | None = None) -> str:
    """The link's token, derived from the campaign's nonce under the personal-data key (which
    stays, unlike SECRET_KEY, which a bank may rotate: the page then showed a link that answered
    404 beside the printed one that still worked). Campaigns made before derived it from
    ``SECRET_KEY`` (``secret``); only the token's hash is stored, so every printed link works."""
    if secret is None:
        secret = current_app.config.get("PII_KEY") or current_app.config["SECRET_KEY"]
    key = secret.encode("utf-8")
    digest = hmac.new(key, f"campaign:{campaign.public_nonce}".encode(), hashlib.sha256).digest()
    return "a" + base64.urlsafe_b64encode(digest[:24]).decode("ascii")


LINK_LOST = (
    "此链接由更换前的 SECRET_KEY 生成，无法在页面上重新显示；已分享或印出的链接和二维码仍然有效"
)


def public_link(campaign: Campaign) -> str | None:
    """The anonymous campaign's shared link (derived, never stored), or None; LINK_LOST when
    it can no longer be derived (made under a SECRET_KEY since replaced)."""
    if not campaign.public_nonce:
        return None
    for token in (
        _public_token(campaign),
        _public_token(campaign, current_app.config["SECRET_KEY"]),
    ):
        if invitations.hash_token(token) == campaign.public_token_hash:
            return invitations.link_for(token)
    return LINK_LOST


WINDOW_ORDER = "发送截止时间须晚于开始时间"


def _check(data: CampaignInput, now: datetime) -> None:
    if not data.name.strip():
        raise ValidationFailed("请填写活动名称", field="name")
    if data.audience not in AUDIENCES:
        raise ValidationFailed("请选择目标客户范围", field="audience")
    invitations.check_channel(data.channel)
    if data.window_end <= data.window_start:
        raise ValidationFailed(WINDOW_ORDER, field="window_end")
    if data.window_end <= now:  # (such a campaign would wait as 待发送 forever)
        raise ValidationFailed("发送截止时间已过，请填写今后的时间", field="window_end")
    if data.audience == "branch":
        _check_open(Branch, data.branch_id, "请选择机构", "branch_id")
    if data.audience == "product":
        _check_open(Product, data.product_id, "请选择产品", "product_id")
    if data.audience == "segment" and not data.segment:
        raise ValidationFailed("请选择客户分层", field="segment")
    if data.audience == "list" and not _list_ids(data.list_text):
        raise ValidationFailed("请粘贴客户号名单（每行一个）", field="list_text")
    if not 1 <= data.expires_days <= 90:
        raise ValidationFailed("有效期须为 1–90 天", field="expires_days")
    if data.reminder_days is not None and not 1 <= data.reminder_days < data.expires_days:
        raise ValidationFailed("提醒天数须大于 0 且小于有效期", field="reminder_days")
    if data.quota is not None and data.quota < 1:
        if data.audience == "anonymous":
            raise ValidationFailed("答卷上限须为正整数", field="answer_cap")
        raise ValidationFailed("配额须为正整数", field="quota")


def _check_open(model: type, ident: int | None, missing: str, field: str) -> None:
    """A campaign's audience unit or product: chosen, existing and still active."""
    row = db.session.get(model, ident) if ident else None
    if row is None:
        raise ValidationFailed(missing, field=field)
    if not row.active:
        raise ValidationFailed(inactive_message(row), field=field)


def audience_closed(campaign: Campaign) -> str:
    """Why the campaign may no longer send ("" when it may): its audience unit or product was
    deactivated after it was created. Invitations already sent stay valid and are reminded."""
    row = {"branch": campaign.audience_branch, "product": campaign.audience_product}.get(
        campaign.audience
    )
    if row is None or row.active:
        return ""
    kind = "机构" if campaign.audience == "branch" else "产品"
    return f"目标{kind} {row.name}（{row.code}）已停用，不再发送"


def _list_ids(text: str) -> list[str]:
    ids = [part.strip() for line in (text or "").splitlines() for part in line.split(",")]
    return sorted({i for i in ids if i})[:200_000]


def _unknown(ids: list[str]) -> tuple[list[str], bool]:
    """The pasted customer numbers the bank does not know, and whether any is known."""
    known: set[str] = set()
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        stmt = (
            select(Customer.external_id)
            .where(Customer.external_id.in_(part))
            .execution_options(include_all_branches=True)
        )
        known.update(db.session.scalars(stmt))
    return [i for i in ids if i not in known], bool(known)


def unknown_list_ids(campaign: Campaign) -> list[str]:
    """A list campaign's customer numbers the bank does not know: they receive nothing and are
    in no skip count, so the campaign page names them (the note saying so at creation was
    overwritten by the send's own notes)."""
    if campaign.audience != "list":
        return []
    return _unknown(_list_ids(campaign.audience_list))[0]


def _unknown_list_ids(ids: list[str]) -> str:
    """A note on the pasted customer numbers the bank does not know ("" when all are known);
    ValidationFailed when none is."""
    unknown, known = _unknown(ids)
    sample = "、".join(unknown[:5]) + ("等" if len(unknown) > 5 else "")
    if not known:
        raise ValidationFailed(f"名单中的客户号都未找到（如 {sample}），请核对", field="list_text")
    return f"名单中有 {len(unknown)} 个客户号未找到，已忽略：{sample}" if unknown else ""


@transactional
def create_campaign(
    data: CampaignInput, *, actor: User | None, now: datetime | None = None
) -> Campaign:
    """A campaign on the survey's latest published version; nothing is sent yet. Raises
    ValidationFailed (with the field) for a window that has already ended, among others."""
    _check(data, now or utcnow())
    survey = surveys.get_survey(data.survey_id)
    version = surveys.published_version(survey.code)
    campaign = Campaign(
        name=data.name.strip()[:200],
        survey_id=survey.id,
        version_id=version.id,
        channel=data.channel,
        audience=data.audience,
        audience_branch_id=data.branch_id if data.audience == "branch" else None,
        audience_product_id=data.product_id if data.audience == "product" else None,
        audience_segment=data.segment if data.audience == "segment" else None,
        audience_list="\n".join(_list_ids(data.list_text)) if data.audience == "list" else "",
        window_start=data.window_start,
        window_end=data.window_end,
        expires_days=data.expires_days,
        reminder_days=data.reminder_days,
        quota=data.quota,
        created_by_id=actor.id if actor else None,
    )
    if data.audience == "list":
        campaign.note = _unknown_list_ids(_list_ids(data.list_text))
    if data.audience == "anonymous":
        campaign.public_nonce = secrets.token_hex(16)
        campaign.public_token_hash = invitations.hash_token(_public_token(campaign))
        campaign.status = CampaignStatus.SENT
        campaign.once_per_device = data.once_per_device
    db.session.add(campaign)
    db.session.flush()
    return campaign


def audience_query(campaign: Campaign):
    """The campaign's audience: (id, branch_id, opted_out, opted_out_channels) of each customer."""
    stmt = select(Customer.id, Customer.branch_id, Customer.opted_out, Customer.opted_out_channels)
    stmt = stmt.where(Customer.anonymised.is_(False))
    if campaign.audience == "branch":
        path = db.session.scalar(
            select(Branch.path).where(Branch.id == campaign.audience_branch_id)
        )
        stmt = stmt.where(
            Customer.branch_id.in_(select(Branch.id).where(Branch.path.startswith(path or "/-/")))
        )
    elif campaign.audience == "segment":
        stmt = stmt.where(Customer.segment == campaign.audience_segment)
    elif campaign.audience == "list":
        stmt = stmt.where(Customer.external_id.in_(campaign.audience_list.splitlines()))
    elif campaign.audience == "product":
        # Kesheng knows a customer's products through their earlier invitations and answers.
        pid = campaign.audience_product_id
        stmt = stmt.where(
            or_(
                Customer.id.in_(select(Invitation.customer_id).where(Invitation.product_id == pid)),
                Customer.id.in_(select(Response.customer_id).where(Response.product_id == pid)),
            )
        )
    return stmt.execution_options(include_all_branches=True)


def audience_pending(campaign: Campaign) -> tuple[int, int]:
    """Before 开始发送 (or 补发): how many customers the conditions select now, and how many of
    them no run of this campaign has sent to or skipped yet (the ones the next run handles)."""
    audience = audience_query(campaign).subquery()
    total = db.session.scalar(select(func.count()).select_from(audience)) or 0
    done = (
        select(Invitation.customer_id)
        .where(Invitation.campaign_id == campaign.id)
        .union(select(CampaignSkip.customer_id).where(CampaignSkip.campaign_id == campaign.id))
        .subquery()
    )
    handled = db.session.scalar(
        select(func.count()).select_from(audience).where(audience.c.id.in_(select(done.c[0])))
    )
    return total, total - (handled or 0)


def stalled(campaign: Campaign, now: datetime | None = None) -> bool:
    """A send in progress that has committed nothing for STALLED_AFTER: its run died."""
    now = now or utcnow()
    return campaign.status == CampaignStatus.SENDING and campaign.updated_at < now - STALLED_AFTER


def _claim(campaign_id: int, now: datetime) -> bool:
    stale = now - STALLED_AFTER
    result = db.session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            or_(
                Campaign.status.in_([CampaignStatus.DRAFT, CampaignStatus.SENT]),
                (Campaign.status == CampaignStatus.SENDING) & (Campaign.updated_at < stale),
            ),
        )
        .values(status=CampaignStatus.SENDING, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(result.rowcount)


def run_campaign(campaign_id: int, *, now: datetime | None = None, chunk: int = CHUNK) -> Campaign:
    """Send the campaign to every audience customer not yet processed; commits per chunk.

    Skipped customers get a CampaignSkip row with a Chinese reason. Returns the campaign with
    its counters. Does nothing outside the send window or while another run is in progress.
    """
    now = now or utcnow()
    campaign = get_campaign(campaign_id)
    if campaign.status == CampaignStatus.CLOSED:
        if campaign.note != CLOSED_NOTE:
            campaign.note = CLOSED_NOTE
            db.session.commit()
        return campaign
    if campaign.audience == "anonymous":
        return campaign
    if now < campaign.window_start or now >= campaign.window_end:
        campaign.note = EARLY_NOTE if now < campaign.window_start else "发送窗口已结束"
        if stalled(campaign, now) and now >= campaign.window_end:  # its run died, too late now
            campaign.status, campaign.finished_at = CampaignStatus.SENT, now
            campaign.note = "发送中断后发送窗口已结束，其余客户未发送"
        db.session.commit()
        return campaign
    if in_quiet_hours(now, campaign.channel):
        campaign.note = QUIET_HOURS_NOTE
        db.session.commit()
        return campaign
    if closed := audience_closed(campaign):
        campaign.note = closed
        db.session.commit()
        return campaign
    if not _claim(campaign_id, now):
        db.session.refresh(campaign)
        return campaign
    db.session.refresh(campaign)
    audience = audience_query(campaign)
    campaign.total = db.session.scalar(select(func.count()).select_from(audience.subquery())) or 0
    campaign.started_at = campaign.started_at or now
    campaign.note = ""
    db.session.commit()
    sender = _ChunkSender(campaign, now)
    last_id = 0
    while True:
        rows = db.session.execute(
            audience.where(Customer.id > last_id).order_by(Customer.id).limit(chunk)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        sender.send(rows)
        db.session.commit()
    campaign.status, campaign.finished_at = CampaignStatus.SENT, utcnow()
    db.session.commit()
    return campaign


def held_campaign_ids(now: datetime | None = None) -> list[int]:
    """Campaigns asked to send and held back, by the quiet hours or because their send window had
    not opened yet (their note says so), that may send now: not closed, within their send
    window, and their channel out of its quiet hours; and every send that stalled (see
    ``stalled``: resumed, or ended if its window has closed meanwhile)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Campaign.id, Campaign.channel)
        .where(
            or_(
                Campaign.status.in_([CampaignStatus.DRAFT, CampaignStatus.SENT])
                & Campaign.note.in_(WAITING_NOTES)
                & (Campaign.window_start <= now)
                & (Campaign.window_end > now),
                (Campaign.status == CampaignStatus.SENDING)
                & (Campaign.updated_at < now - STALLED_AFTER),
            ),
            Campaign.audience != "anonymous",
        )
        .order_by(Campaign.id)
    ).all()
    return [cid for cid, channel in rows if not in_quiet_hours(now, channel)]


def resume_held(now: datetime | None = None) -> int:
    """Send, here and now, every held-back campaign that may send now (see
    ``held_campaign_ids``); returns how many were sent. Idempotent, like ``run_campaign``: a
    customer already invited or skipped is never processed again, and a campaign another run
    is sending is left to it."""
    now = now or utcnow()
    resumed = 0
    for campaign_id in held_campaign_ids(now):
        if run_campaign(campaign_id, now=now).note not in WAITING_NOTES:
            resumed += 1
    return resumed


class _ChunkSender:
    """Decides, sends and bulk-inserts one chunk of a campaign's audience."""

    def __init__(self, campaign: Campaign, now: datetime) -> None:
        self.campaign, self.now = campaign, now
        self.rules = ContactRules()
        self.code = campaign.survey.code
        self.title = campaign.version.definition["title"]
        self.backend = channels.backend_for(campaign.channel)
        self.expires_at = now + timedelta(days=campaign.expires_days)
        self.done = set(
            db.session.scalars(
                select(Invitation.customer_id).where(Invitation.campaign_id == campaign.id)
            )
        ) | set(
            db.session.scalars(
                select(CampaignSkip.customer_id).where(CampaignSkip.campaign_id == campaign.id)
            )
        )
        self.recent: dict[int, list[datetime]] = defaultdict(list)
        cutoff = now - timedelta(days=self.rules.frequency_cap_days)
        for cid, sent_at in db.session.execute(
            select(Invitation.customer_id, Invitation.sent_at).where(Invitation.sent_at > cutoff)
        ):
            self.recent[cid].append(sent_at)

    def _contact(self, ids: list[int]) -> dict[int, str | None]:
        column = Customer.email if self.campaign.channel == "email" else Customer.phone
        rows = db.session.execute(
            select(Customer.id, column)
            .where(Customer.id.in_(ids))
            .execution_options(include_all_branches=True)
        )
        return dict(rows.all())

    def send(self, rows: Iterable) -> None:
        rows = [r for r in rows if r.id not in self.done]
        ids = [r.id for r in rows]
        contact = self._contact(ids)
        blocked: set[int] = set()
        for lookup in OPEN_COMPLAINT_LOOKUPS:
            blocked |= lookup(ids)
        c = self.campaign
        invites, skips, messages = [], [], []
        mask = mask_email if c.channel == "email" else mask_phone
        for row in rows:
            reason = self._skip_reason(row, contact.get(row.id), row.id in blocked)
            if reason:
                skips.append(
                    {
                        "campaign_id": c.id,
                        "customer_id": row.id,
                        "at": self.now,
                        "reason_code": reason[0],
                        "reason": reason[1],
                    }
                )
                continue
            token = invitations.new_token()
            subject, body = channels.compose(
                c.channel,
                title=self.title,
                url=invitations.link_for(token),
                days=c.expires_days,
                reminder=False,
            )
            error = None
            try:
                self.backend.send(
                    channels.Outgoing(
                        c.channel,
                        contact[row.id],
                        subject,
                        body,
                        key=f"kesheng-campaign-{c.id}-{row.id}",
                    )
                )
            except channels.DeliveryError as err:
                error = str(err)[:500]
            invites.append(
                {
                    **invitations.sealed(token),
                    "survey_id": c.survey_id,
                    "version_id": c.version_id,
                    "campaign_id": c.id,
                    "customer_id": row.id,
                    "branch_id": row.branch_id,
                    "channel": c.channel,
                    "source": "campaign",
                    "status": InvitationStatus.QUEUED if error else InvitationStatus.SENT,
                    "scheduled_at": self.now,
                    "expires_at": self.expires_at,
                    "sent_at": None if error else self.now,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
            messages.append(
                {
                    "customer_id": row.id,
                    "channel": c.channel,
                    "backend": self.backend.name,
                    "kind": "invitation",
                    "recipient_masked": mask(contact[row.id]),
                    "subject": subject,
                    "body": body if self.backend.name == "outbox" else body.replace(token, "…"),
                    "status": "failed" if error else "sent",
                    "attempts": 1,
                    "last_error": error,
                    "next_attempt_at": self.now + invitations.backoff(1) if error else None,
                    "created_at": self.now,
                    "sent_at": None if error else self.now,
                }
            )
        self._insert(invites, skips, messages)

    def _skip_reason(self, row, address: str | None, open_complaint: bool):
        c = self.campaign
        if not invitations.usable_address(address, c.channel):
            return invitations.no_contact_reason(c.channel)
        state = CustomerContactState(
            last_surveyed_at=tuple(self.recent.get(row.id, ())),
            has_open_complaint=open_complaint,
            opted_out=row.opted_out,
            opted_out_channels=Customer.channels_opted_out(row.opted_out_channels),
        )
        decision = check_contact(state, self.code, c.channel, self.now, self.rules)
        if not decision.allowed:
            return decision.reason_code, decision.reason
        if c.quota is not None and c.sent_count >= c.quota:
            return "quota", "已达到本次活动的发送配额"
        c.sent_count += 1
        return None

    def _insert(self, invites: list[dict], skips: list[dict], messages: list[dict]) -> None:
        from app.models import OutboundMessage

        c = self.campaign
        if invites:
            stmt = insert(Invitation).returning(
                Invitation.id, Invitation.customer_id, sort_by_parameter_order=True
            )
            ids = {cid: iid for iid, cid in db.session.execute(stmt, invites).all()}
            for message in messages:
                message["invitation_id"] = ids[message["customer_id"]]
            db.session.execute(insert(OutboundMessage), messages)
        if skips:
            db.session.execute(insert(CampaignSkip), skips)
        c.processed += len(invites) + len(skips)
        c.skipped_count += len(skips)
        self.done.update(m["customer_id"] for m in messages)
        self.done.update(s["customer_id"] for s in skips)


def skip_summary(campaign_id: int) -> list[tuple[str, int]]:
    """(reason, count) of the customers a campaign skipped, most frequent first."""
    rows = db.session.execute(
        select(CampaignSkip.reason, func.count())
        .where(CampaignSkip.campaign_id == campaign_id)
        .group_by(CampaignSkip.reason)
        .order_by(func.count().desc())
    )
    return [(reason, n) for reason, n in rows]


def send_reminders_rows(now: datetime, *, limit: int = 1000) -> int:
    """One reminder, with a fresh link, to non-responders N days after sending (flushes)."""
    due = db.session.scalars(
        select(Invitation)
        .join(Campaign, Campaign.id == Invitation.campaign_id)
        .where(
            Campaign.reminder_days.is_not(None),
            Invitation.status.in_([InvitationStatus.SENT, InvitationStatus.OPENED]),
            Invitation.reminded_at.is_(None),
            Invitation.expires_at > now,
            # answered a moment ago, the response not made yet (responses.expand_intake)
            ~select(Intake.id).where(Intake.invitation_id == Invitation.id).exists(),
        )
        .limit(limit * 4)
        .with_for_update(of=Invitation, skip_locked=True)  # (one reminder, whoever runs)
        .execution_options(populate_existing=True)
    ).all()
    sent: Counter[int] = Counter()
    for invitation in due:
        campaign = invitation.campaign
        if invitation.sent_at + timedelta(days=campaign.reminder_days) > now:
            continue
        if in_quiet_hours(now, invitation.channel) or sent.total() >= limit:
            continue
        invitations.deliver(invitation, now=now, reminder=True)
        invitation.reminded_at = now
        sent[campaign.id] += 1
    for campaign_id, count in sent.items():  # added in SQL: dispatches may run side by side
        db.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(reminded_count=Campaign.reminded_count + count)
        )
    return sent.total()


@transactional
def close_campaign(campaign_id: int) -> Campaign:
    campaign = get_campaign(campaign_id)
    campaign.status = CampaignStatus.CLOSED
    if campaign.note in WAITING_NOTES:
        campaign.note = ""  # (it will not be sent later now)
    return campaign
