"""Taking answers: the customer's one-time link (or a campaign's anonymous link), and storing a
response with its scores, answer rows and, for a detractor, a follow-up task in the same commit.

A link's submission is accepted in two steps. The request validates the answers and writes one
``survey_intake`` row (``submit_link``); a batched job turns the intake rows of the last moment
into responses, answer rows, follow-up tasks and analysis requests in one transaction
(``expand_intake``); without a broker (the embedded set-up, tests) that job runs right after
the request's commit. Phone follow-ups and the demo use ``store_response`` directly.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError

from app import db_direct
from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    CampaignStatus,
    FollowUp,
    Intake,
    Invitation,
    InvitationStatus,
    Response,
    SurveyVersion,
    row_id,
    utcnow,
)
from app.services import analysis, ratelimit, rollups_tracking
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.invitations import hash_token
from app.services.surveys import cached_version, definition_of, frozen_version
from app.services.tx import transactional
from nlp import redact
from surveys import (
    QuestionType,
    SurveyDefinition,
    answers_from_form,
    declines_call,
    is_detractor,
    other_key,
    problem_details,
    reported_problems,
    score_response,
    validate,
)

log = logging.getLogger(__name__)
MAX_TOKEN_LENGTH = 100
VERSION_FIELD = "_v"  # the form's hidden field with its version key
DEFAULT_THANKS = "感谢您的宝贵意见，我们会认真改进！"


class LinkGone(ServiceError):
    status = 410
    code = "gone"


class CampaignFull(LinkGone):
    """An anonymous link that has taken as many answers as its campaign's cap allows."""

    def __init__(self) -> None:
        super().__init__("本次调查的答卷已收满")


class AlreadyAnswered(Conflict):
    code = "already_answered"


class TooManyFromAddress(ServiceError):
    """An anonymous link answered more often from one network address than a branch's queue
    could: a script filling the survey (the per-browser cookie does not stop one)."""

    status = 429
    code = "too_many_answers"

    def __init__(self) -> None:
        super().__init__("来自您所在网络的提交过多，请稍后再试")


# Answers one network address may give one anonymous link (a QR code at a counter: the
# branch's Wi-Fi and a mobile operator's NAT put many customers behind one address) per hour.
ANONYMOUS_PER_ADDRESS = 60
ANONYMOUS_WINDOW_SECONDS = 3600


# A one-time link submitted with nothing answered (a questionnaire of optional questions only)
# would be used up by an empty response and counted as answered; it is refused instead.
MSG_NOTHING_ANSWERED = "请至少回答一道题后再提交"


class AnswersInvalid(ValidationFailed):
    """Per-question Chinese errors plus the raw answers, so the form can be shown again."""

    def __init__(self, errors: dict[str, str], raw: dict[str, Any]) -> None:
        super().__init__("部分题目未填写或填写有误，请检查标红的题目", fields=errors)
        self.raw = raw


@dataclass
class SurveyLink:
    """What the customer's form shows: the questionnaire and, for an invitation, its expiry."""

    definition: SurveyDefinition
    expires_at: datetime | None = None
    # "<version id>:<content hash>", posted back by the form (VERSION_FIELD) so that a
    # submission can be validated before its link is read (see ``accept_link``)
    version_key: str | None = None
    # an anonymous link taking any number of answers from one browser: a branch's shared
    # tablet (Campaign.once_per_device unticked)
    shared_device: bool = False


def _check_invitation(status: str, expires_at: datetime, now: datetime) -> None:
    if status == InvitationStatus.COMPLETED:
        raise AlreadyAnswered("您已提交过本问卷，感谢您的参与")
    # (a link whose message could not be delivered stays answerable: an integrator was given
    # its URL by the API, and whoever holds the token was given it)
    if status == InvitationStatus.EXPIRED or expires_at <= now:
        raise LinkGone("该问卷链接已过期")


def _check_campaign(target: Row, now: datetime) -> None:
    if target.status == CampaignStatus.CLOSED or target.expires_at <= now:
        raise LinkGone("本次调查已结束")
    if target.answer_cap is not None and target.answers_taken >= target.answer_cap:
        raise CampaignFull()


def _check_usable(target: Row, now: datetime) -> None:
    """An invitation (``target.id`` set) or a campaign's anonymous link, still answerable."""
    if target.intake_id is not None:  # accepted, perhaps not yet expanded into a response
        raise AlreadyAnswered("您已提交过本问卷，感谢您的参与")
    if target.id is not None:
        _check_invitation(target.status, target.expires_at, now)
    else:
        _check_campaign(target, now)


@transactional
def open_link(token: str, *, now: datetime | None = None, mark_opened: bool = True) -> SurveyLink:
    """The questionnaire behind a link; marks an invitation opened unless ``mark_opened`` is
    False (a HEAD request: the link checkers of SMS and e-mail gateways, not the customer).

    Raises NotFound (unknown link), LinkGone (expired: 410), AlreadyAnswered (used link).
    """
    now = now or utcnow()
    target = _target(token)
    _check_usable(target, now)
    # (a link whose message failed is opened all the same when the customer got it another
    # way, e.g. from the integrator the API gave its URL to: it then reads opened, not failed)
    unopened = (InvitationStatus.QUEUED, InvitationStatus.SENT, InvitationStatus.FAILED)
    if mark_opened and target.id is not None and target.status in unopened:
        db.session.connection().execute(
            update(_INVITATION)
            .where(_INVITATION.c.id == target.id)
            .values(status=InvitationStatus.OPENED, opened_at=now)
        )
    version = frozen_version(target.version_id, target.definition_hash)
    return SurveyLink(
        version.definition,
        target.expires_at if target.id is not None else None,
        version_key(version.id, target.definition_hash),
        shared_device=target.id is None and not target.once_per_device,
    )


@dataclass(frozen=True)
class Submitted:
    """An accepted submission, as the thank-you page needs it (no ORM object)."""

    intake_id: int
    thank_you: str
    # an anonymous link taking one answer per browser (Campaign.once_per_device): the
    # thank-you page remembers it in a cookie
    once_per_device: bool = False
    # a dissatisfied customer (the detractor rule: NPS 0-6 or CSAT 1-2): the thank-you page
    # also says where to complain (the complaint form, the hotline)
    dissatisfied: bool = False


_INVITATION = Invitation.__table__
_CAMPAIGN = Campaign.__table__
_VERSION = SurveyVersion.__table__
_INTAKE = Intake.__table__


def _target_statements() -> tuple[Select, Select]:
    """The look-ups of a link, built once: by invitation (with the intake row that already
    answered it, if any) and by campaign (an anonymous link)."""
    inv, ver, camp = _INVITATION.c, _VERSION.c, _CAMPAIGN.c
    by_invitation = (
        select(
            inv.id, inv.status, inv.expires_at, inv.channel, inv.campaign_id, inv.customer_id,
            inv.branch_id, inv.product_id, inv.version_id, ver.definition_hash,
            _INTAKE.c.id.label("intake_id"), literal(False).label("once_per_device"),
            literal(None).label("answer_cap"), literal(None).label("answers_taken"),
        )
        .join_from(_INVITATION, _VERSION, ver.id == inv.version_id)
        .outerjoin(_INTAKE, _INTAKE.c.invitation_id == inv.id)
        .where(inv.token_hash == bindparam("digest"))
    )  # fmt: skip
    by_campaign = (
        select(
            literal(None).label("id"), camp.status, camp.window_end.label("expires_at"),
            camp.channel, camp.id.label("campaign_id"), literal(None).label("customer_id"),
            literal(None).label("branch_id"), literal(None).label("product_id"),
            camp.version_id, ver.definition_hash, literal(None).label("intake_id"),
            camp.once_per_device, camp.quota.label("answer_cap"),
            camp.sent_count.label("answers_taken"),
        )
        .join_from(_CAMPAIGN, _VERSION, ver.id == camp.version_id)
        .where(camp.public_token_hash == bindparam("digest"))
    )  # fmt: skip
    return by_invitation, by_campaign


_BY_INVITATION, _BY_CAMPAIGN = (db_direct.Statement(s) for s in _target_statements())
_INTAKE_KEYS = (
    "invitation_id", "version_id", "campaign_id", "customer_id", "branch_id", "product_id",
    "channel", "submitted_at", "answers",
)  # fmt: skip
_ADD_INTAKE = db_direct.Statement(
    insert(_INTAKE)
    .values({key: bindparam(key, type_=_INTAKE.c[key].type) for key in _INTAKE_KEYS})
    .returning(_INTAKE.c.id)
)


def _add_intake_by_token() -> db_direct.Statement:
    """The submission in ONE statement, for an invitation link whose version the form posted:
    INSERT … SELECT from the invitation, only while it is answerable with that version (the
    same conditions as ``_check_invitation``; the unique ``invitation_id`` refuses a second
    answer). No row means "not that simple": the caller takes the look-up path."""
    inv = _INVITATION.c
    source = select(
        inv.id, inv.version_id, inv.campaign_id, inv.customer_id, inv.branch_id, inv.product_id,
        func.coalesce(inv.channel, "web"),
        bindparam("submitted_at", type_=_INTAKE.c.submitted_at.type),
        bindparam("answers", type_=_INTAKE.c.answers.type),
    ).where(
        inv.token_hash == bindparam("digest"),
        inv.version_id == bindparam("version_id"),
        inv.status != InvitationStatus.COMPLETED,
        inv.status != InvitationStatus.EXPIRED,
        inv.expires_at > bindparam("now", type_=inv.expires_at.type),
    )  # fmt: skip
    return db_direct.Statement(
        insert(_INTAKE).from_select(list(_INTAKE_KEYS), source).returning(_INTAKE.c.id)
    )


_ADD_INTAKE_BY_TOKEN = _add_intake_by_token()


def version_key(version_id: int, content_hash: str) -> str:
    """What the form posts in ``VERSION_FIELD``: "<version id>:<content hash>"."""
    return f"{version_id}:{content_hash}"


def _posted_version(form: Mapping[str, Any]) -> Any:
    """The cached published version the form says it shows, or None."""
    key = form.get(VERSION_FIELD) if hasattr(form, "get") else None
    if not isinstance(key, str) or key.count(":") != 1:
        return None
    version_id, content_hash = key.split(":")
    number = row_id(version_id)  # (not int(): "²" is a digit to isdigit() and not to int())
    return cached_version(number, content_hash) if number is not None else None


def _find_target(run: db_direct.Run, token: str) -> Any:
    """The invitation (or campaign) behind a link with its version's id and content hash, and
    the id of the intake row that already answered it, if any."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("链接不存在")
    params = {"digest": hash_token(token)}
    found = run(_BY_INVITATION, params) or run(_BY_CAMPAIGN, params)
    if not found:
        raise NotFound("链接不存在")
    return found[0]


def _target(token: str) -> Any:
    """``_find_target`` through the session's connection (a use case's own transaction)."""
    conn = db.session.connection()
    return _find_target(lambda statement, params: conn.execute(statement.stmt, params).all(), token)


def submit_link(
    token: str,
    form: Mapping[str, Any],
    *,
    now: datetime | None = None,
    client: str | None = None,
    per_address: int = ANONYMOUS_PER_ADDRESS,
) -> Submitted:
    """Accept the answers given through a link (``accept_link``), then queue their expansion
    into a response (``expand_intake``: a batched job; inline without a broker)."""
    submitted = accept_link(token, form, now=now, client=client, per_address=per_address)
    queue_expansion(submitted.intake_id)
    return submitted


def accept_link(
    token: str,
    form: Mapping[str, Any],
    *,
    now: datetime | None = None,
    client: str | None = None,
    per_address: int = ANONYMOUS_PER_ADDRESS,
) -> Submitted:
    """Store the answers given through a link; exactly one submission per one-time link.
    An anonymous (campaign) link takes at most ``per_address`` answers an hour from the network
    address ``client`` (TooManyFromAddress; no limit without a ``client``).

    The answers are validated against the published version and stored as ONE intake row (the
    busiest write of the product: a look-up and an INSERT, run as direct statements, see
    ``app.db_direct``). ``survey_intake``'s unique ``invitation_id`` makes concurrent
    submissions of one link store one; the others get AlreadyAnswered. Raises AnswersInvalid
    with per-question errors, NotFound, LinkGone.
    """
    now = now or utcnow()

    posted = _posted_version(form)
    quick = None  # the answers validated against the posted version, when they are valid
    if posted is not None and token and len(token) <= MAX_TOKEN_LENGTH:
        checked = validate(posted.definition, answers_from_form(posted.definition, form))
        quick = checked.cleaned if checked.ok and checked.cleaned else None

    def accept(run: db_direct.Run) -> Submitted:
        if quick is not None:
            added = run(
                _ADD_INTAKE_BY_TOKEN,
                {"digest": hash_token(token), "version_id": posted.id, "now": now,
                 "submitted_at": now, "answers": quick},
            )  # fmt: skip
            if added:
                unhappy = dissatisfied(posted.definition, quick)
                thanks = posted.thank_you or DEFAULT_THANKS
                return Submitted(added[0].id, thanks, dissatisfied=unhappy)
        target = _find_target(run, token)
        _check_usable(target, now)
        version = frozen_version(target.version_id, target.definition_hash)
        raw = answers_from_form(version.definition, form)
        result = validate(version.definition, raw)
        if not result.ok:
            raise AnswersInvalid(result.errors, raw)
        if not result.cleaned:  # (every question optional and none answered)
            raise AnswersInvalid({result.visible[0]: MSG_NOTHING_ANSWERED}, raw)
        values = {
            "invitation_id": target.id,
            "version_id": version.id,
            "campaign_id": target.campaign_id,
            "customer_id": target.customer_id,
            "branch_id": target.branch_id,
            "product_id": target.product_id,
            "channel": target.channel or "web",
            "submitted_at": now,
            "answers": result.cleaned,
        }
        thanks = version.thank_you or DEFAULT_THANKS
        unhappy = dissatisfied(version.definition, result.cleaned)
        limited = target.id is None and client is not None  # an anonymous link
        if target.answer_cap is not None or limited:  # counted in a transaction, below
            once = bool(target.once_per_device)
            capped = target.answer_cap is not None
            return _Anonymous(values, Submitted(0, thanks, once, dissatisfied=unhappy), capped)
        added = run(_ADD_INTAKE, values)
        return Submitted(added[0].id, thanks, bool(target.once_per_device), dissatisfied=unhappy)

    try:
        accepted = db_direct.write(accept)
    except IntegrityError as err:
        raise AlreadyAnswered("您已提交过本问卷，感谢您的参与") from err
    if isinstance(accepted, _Anonymous):
        if client is not None:
            key = f"survey-anon:{accepted.values['campaign_id']}:{client}"
            ratelimit.hit(key, window_seconds=ANONYMOUS_WINDOW_SECONDS)  # (its own commit)
            if ratelimit.count(key, window_seconds=ANONYMOUS_WINDOW_SECONDS) > per_address:
                raise TooManyFromAddress()
        return _accept_anonymous(accepted)
    return accepted


@dataclass(frozen=True)
class _Anonymous:
    """A valid answer through an anonymous link, stored after the per-address count and, when
    the campaign takes a limited number of answers (``capped``), its cap."""

    values: dict[str, Any]
    submitted: Submitted
    capped: bool = True


@transactional
def _accept_anonymous(answer: _Anonymous) -> Submitted:
    """Count the answer against the campaign's cap and store it, in one transaction: the
    conditional UPDATE takes the campaign row's lock (PostgreSQL re-reads the count after
    waiting; SQLite serialises writers), so N concurrent answers to a link with room for one
    store exactly one. (Uncapped links never touch the campaign row: no hot row.)"""
    if answer.capped:
        counted = db.session.execute(
            update(_CAMPAIGN)
            .where(
                _CAMPAIGN.c.id == answer.values["campaign_id"],
                _CAMPAIGN.c.sent_count < _CAMPAIGN.c.quota,
            )
            .values(sent_count=_CAMPAIGN.c.sent_count + 1)
        )
        if not counted.rowcount:
            raise CampaignFull()
    intake_id = db.session.execute(insert(_INTAKE).values(answer.values).returning(_INTAKE.c.id))
    return replace(answer.submitted, intake_id=intake_id.scalar_one())


def queue_expansion(intake_id: int) -> None:
    """Send the expansion job: the intake rows of a short window go as one job; when the broker
    is down the batch is expanded in this process (and the periodic catch-up finishes anything
    a killed process left)."""
    from app.jobs import broker
    from app.jobs.surveys import expand_intake as job

    broker.send_batched(job, intake_id, combine=broker.sorted_unique, inline_fallback=True)


EXPAND_BATCH = 500


@transactional
def expand_intake(ids: list[int]) -> int:
    """Turn the pending intake rows among ``ids`` into responses, answer rows, detractor
    follow-ups and analysis requests, complete their invitations and note the rollup cells, all
    in one transaction; returns how many were expanded.

    Idempotent: only rows without a response are taken, and on PostgreSQL they are locked with
    SKIP LOCKED, so two jobs never expand one row (SQLite's writers are serialised anyway).
    """
    ic, ver = _INTAKE.c, _VERSION.c
    stmt = (
        select(_INTAKE, ver.definition_hash)
        .join_from(_INTAKE, _VERSION, ver.id == ic.version_id)
        .where(ic.response_id.is_(None), ic.id.in_(ids))
        .order_by(ic.id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=_INTAKE, skip_locked=True)
    conn = db.session.connection()
    rows = conn.execute(stmt).all()
    if not rows:
        return 0
    built = []
    for row in rows:
        version = frozen_version(row.version_id, row.definition_hash)
        values = response_values(
            version.definition,
            row.answers,
            survey_id=version.survey_id,
            version_id=version.id,
            invitation_id=row.invitation_id,
            campaign_id=row.campaign_id,
            customer_id=row.customer_id,
            branch_id=row.branch_id,
            product_id=row.product_id,
            channel=row.channel,
            now=row.submitted_at,
        )
        built.append((row, version, values))
    hold_response_order()
    response_ids = (
        conn.execute(
            insert(Response.__table__).returning(
                Response.__table__.c.id, sort_by_parameter_order=True
            ),
            [values for _, _, values in built],
        )
        .scalars()
        .all()
    )
    answers, followups, texts = [], [], []
    for (row, version, values), response_id in zip(built, response_ids, strict=True):
        answers += answer_values(version.definition, row.answers, response_id)
        rollups_tracking.note("satisfaction", row.submitted_at, row.branch_id)
        if values["comment_redacted"]:
            texts.append((response_id, row.branch_id))
        task = call_back_task(
            values, response_id, version.definition, row.answers, now=row.submitted_at
        )
        if task is not None:
            followups.append(task)
            rollups_tracking.note("followup", row.submitted_at, row.branch_id)
    if answers:
        conn.execute(insert(Answer.__table__), answers)
    if followups:
        conn.execute(insert(FollowUp.__table__), followups)
    analysis.request_new_analyses("response", texts)
    invitations = [
        {"b_id": row.invitation_id, "b_at": row.submitted_at}
        for row, _, _ in built
        if row.invitation_id is not None
    ]
    if invitations:
        conn.execute(
            update(_INVITATION)
            .where(_INVITATION.c.id == bindparam("b_id"))
            .values(status=InvitationStatus.COMPLETED, completed_at=bindparam("b_at")),
            invitations,
        )
    conn.execute(
        update(_INTAKE)
        .where(ic.id == bindparam("b_id"))
        .values(response_id=bindparam("b_response"), answers=null()),
        [
            {"b_id": row.id, "b_response": response_id}
            for (row, _, _), response_id in zip(built, response_ids, strict=True)
        ],
    )
    return len(built)


def expand_batch(ids: list[int]) -> int:
    """``expand_intake`` of a batch; when the batch fails, each row on its own, so one bad row
    cannot hold the others back (it stays pending, logged, for the next catch-up)."""
    try:
        return expand_intake(ids)
    except Exception:
        if len(ids) == 1:
            log.exception("survey intake %s could not be expanded", ids[0])
            return 0
        log.exception("expanding %d survey intake rows failed; one by one now", len(ids))
    return sum(expand_batch([one]) for one in ids)


def expand_all_pending(*, older_than: timedelta | None = None) -> int:
    """Expand every pending intake row (catch-up job, CLI), a batch per transaction."""
    total, after = 0, 0
    while True:
        stmt = select(_INTAKE.c.id).where(_INTAKE.c.response_id.is_(None), _INTAKE.c.id > after)
        if older_than is not None:
            stmt = stmt.where(_INTAKE.c.submitted_at < utcnow() - older_than)
        ids = list(db.session.scalars(stmt.order_by(_INTAKE.c.id).limit(EXPAND_BATCH)))
        db.session.rollback()  # end the read before the batch's own write transaction
        if not ids:
            return total
        total += expand_batch(ids)
        after = ids[-1]


def response_values(
    defn: SurveyDefinition,
    cleaned: dict[str, Any],
    *,
    survey_id: int,
    version_id: int,
    channel: str,
    now: datetime,
    invitation_id: int | None = None,
    campaign_id: int | None = None,
    customer_id: int | None = None,
    branch_id: int | None = None,
    product_id: int | None = None,
) -> dict[str, Any]:
    """The columns of a response: scores, detractor flag, answers, redacted comment."""
    scores = score_response(defn, cleaned)
    return {
        "survey_id": survey_id,
        "version_id": version_id,
        "invitation_id": invitation_id,
        "campaign_id": campaign_id,
        "customer_id": customer_id,
        "branch_id": branch_id,
        "product_id": product_id,
        "channel": channel,
        "submitted_at": now,
        "csat": scores.csat,
        "nps": scores.nps,
        "ces": scores.ces,
        "index_score": scores.index,
        "detractor": is_detractor(scores),
        "answers": cleaned,
        "comment_redacted": redacted_comment(defn, cleaned),
    }


def call_back_task(
    response: Mapping[str, Any],
    response_id: int,
    defn: SurveyDefinition,
    cleaned: Mapping[str, Any],
    *,
    now: datetime,
) -> dict | None:
    """The follow-up task a stored response makes (its column values), or None: one for a
    detractor or a reported problem of a known customer, unless the customer chose an option
    marked ``no_call`` (不同意再次电话联系: a call they declined is not made)."""
    if response["customer_id"] is None:
        return None
    reported = reported_problems(defn, cleaned)
    if not (response["detractor"] or reported) or declines_call(defn, cleaned):
        return None
    said = problem_details(defn, cleaned)
    return followup_values(response, response_id, now=now, reported=reported, said=said)


# The most of a customer's own words a call-back's note quotes (the answers hold the rest).
NOTE_QUOTE = 200


def followup_values(
    response: Mapping[str, Any],
    response_id: int,
    *,
    now: datetime,
    reported: tuple[str, ...] = (),
    said: tuple[str, ...] = (),
) -> dict:
    """The follow-up task a detractor's response creates, or one that reports a problem the
    bank must call about (an option marked ``follow_up``: a tied sale, a problem unresolved),
    whatever its scores: the thank-you page promised that call."""
    detractor = bool(response["detractor"])
    notes = [_detractor_note(response["nps"], response["csat"])] if detractor else []
    if reported:
        notes.append("客户问卷回答：" + "；".join(reported) + "，请尽快回访核实")
    for text in said:  # (what the customer wrote of it: the agent need not open the answers)
        shown = redact(text).text
        notes.append(f"客户说明：{shown[:NOTE_QUOTE]}{'…' if len(shown) > NOTE_QUOTE else ''}")
    return {
        "customer_id": response["customer_id"],
        "survey_id": response["survey_id"],
        "version_id": response["version_id"],
        "source_response_id": response_id,
        "product_id": response["product_id"],
        "branch_id": response["branch_id"],
        "reason": "detractor" if detractor else "reported",
        "note": "。".join(notes),
        "due_at": now,
        "created_at": now,
        "updated_at": now,
    }


# Any 64-bit number, the same in every process: the advisory lock of ``hold_response_order``.
RESPONSE_ORDER_LOCK = 0x6B73_7265_7370  # "ksresp"


def hold_response_order() -> None:
    """Before inserting response rows: on PostgreSQL, wait for (and hold until commit) the lock
    that makes transactions writing responses run one after another, so response ids become
    visible in id order. A warehouse that pulls ``GET /api/v1/responses`` by id (the ``resume``
    cursor) then never misses a response whose lower id committed after a higher one it had
    already read. Writers of responses are few and short (a batch expansion, a phone answer);
    SQLite serialises all writers anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(RESPONSE_ORDER_LOCK)))


def store_response(
    version: SurveyVersion,
    cleaned: dict[str, Any],
    *,
    channel: str,
    now: datetime,
    invitation: Invitation | None = None,
    campaign_id: int | None = None,
    customer_id: int | None = None,
    branch_id: int | None = None,
    product_id: int | None = None,
    call_back_on_problems: bool = True,
) -> Response:
    """Add a response with scores and answer rows; a detractor or a reported problem of a known
    customer also gets a follow-up task (unless ``call_back_on_problems`` is off: answers taken
    on that very call), in the caller's transaction (flushes only). ORM objects, for the
    callers that go on with them (phone follow-ups, the demo seed)."""
    defn = definition_of(version)
    values = response_values(
        defn,
        cleaned,
        survey_id=version.survey_id,
        version_id=version.id,
        channel=channel,
        now=now,
        invitation_id=invitation.id if invitation else None,
        campaign_id=campaign_id,
        customer_id=customer_id,
        branch_id=branch_id,
        product_id=product_id,
    )
    response = Response(**values)
    hold_response_order()
    db.session.add(response)
    db.session.flush()
    # One executemany without RETURNING: the ORM would send one INSERT per answer row.
    db.session.execute(insert(Answer), answer_values(defn, cleaned, response.id))
    if response.comment_redacted:
        analysis.request_analysis("response", response.id, branch_id=branch_id, new=True)
    task = (
        call_back_task(values, response.id, defn, cleaned, now=now)
        if call_back_on_problems
        else None
    )
    if task is not None:
        db.session.add(FollowUp(**task))
    return response


def dissatisfied(defn: SurveyDefinition, cleaned: Mapping[str, Any]) -> bool:
    """Whether these answers are a detractor's (NPS 0-6 or CSAT 1-2) or report a problem (an
    option marked ``follow_up``), the rules that schedule a call-back: decided when the answers
    are accepted, for the thank-you page (the response itself is stored later, by
    ``expand_intake``)."""
    return is_detractor(score_response(defn, cleaned)) or bool(reported_problems(defn, cleaned))


def _detractor_note(nps: int | None, csat: int | None) -> str:
    parts = []
    if nps is not None:
        parts.append(f"推荐度 {nps} 分")
    if csat is not None:
        parts.append(f"满意度 {csat} 分")
    return "客户评分较低（" + "，".join(parts) + "），请尽快回访了解原因"


def answer_values(defn: SurveyDefinition, cleaned: dict[str, Any], response_id: int) -> list[dict]:
    """The answer rows of a response as plain values, for one multi-row INSERT."""
    rows: list[dict] = []

    def add(question_id: str, item_id=None, value_int=None, value_text=None) -> None:
        rows.append(
            {
                "response_id": response_id,
                "question_id": question_id,
                "item_id": item_id,
                "value_int": value_int,
                "value_text": value_text,
            }
        )

    for question in defn.questions:
        value = cleaned.get(question.id)
        if value is None:
            continue
        if question.type is QuestionType.MATRIX:
            for item, point in value.items():
                add(question.id, item, value_int=point)
        elif question.type is QuestionType.MULTIPLE:
            for v in value:
                add(question.id, value_text=v)
        elif isinstance(value, int):
            add(question.id, value_int=value)
        else:
            add(question.id, value_text=str(value))
        other = cleaned.get(other_key(question.id))
        if other:
            add(question.id, "other", value_text=other)
    return rows


def answer_rows(defn: SurveyDefinition, cleaned: dict[str, Any], response_id: int) -> list[Answer]:
    return [Answer(**values) for values in answer_values(defn, cleaned, response_id)]


def redacted_comment(defn: SurveyDefinition, cleaned: dict[str, Any]) -> str:
    """All free-text answers joined, personal data removed (nlp.redact)."""
    texts = [
        cleaned[q.id]
        for q in defn.questions
        if q.type is QuestionType.TEXT and isinstance(cleaned.get(q.id), str)
    ]
    return redact("\n".join(t for t in texts if t)).text[:4000]
