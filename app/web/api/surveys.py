"""Survey endpoints of /api/v1: surveys, invitations, responses (keyset pages), events."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from app.models import MAX_ROW_ID, row_id
from app.services import invitations, responses_query, survey_triggers, surveys
from app.services.customers import CustomerData
from app.services.errors import NotFound
from app.web.api.registry import Moment, endpoint, maintains_customers
from app.web.api.schemas import (
    Email,
    ErrorBody,
    NoNul,
    Phone,
    Strict,
    customer_fields,
    known_customer_name,
)

ERRORS = {401: ErrorBody, 403: ErrorBody}
Channel = Literal["sms", "email", "wechat", "app"]


class SurveyOut(BaseModel):
    code: str
    title: str
    status: Literal["draft", "published", "closed"]
    version: int | None = Field(description="latest published version number")
    questions: int
    serving: bool = Field(
        description="whether new invitations, campaigns and trigger rules may use it now (a "
        "published survey under revision keeps serving its last version; a closed one does not)"
    )


class SurveyVersionOut(BaseModel):
    code: str
    version: int
    published_at: datetime
    definition: dict[str, Any] = Field(
        description="the frozen questionnaire: title, intro, questions (id, type, title, "
        "options, items, scale, show_if …); a response's answers are keyed by these question ids"
    )


class SurveyList(BaseModel):
    items: list[SurveyOut]


class CustomerRef(Strict):
    """The customer an invitation or event is about: found (and updated) by ``external_id``,
    created when new; the same fields as ``PUT /api/v1/customers/{external_id}``."""

    external_id: str = Field(min_length=1, max_length=64, pattern=NoNul)
    name: str | None = known_customer_name()
    phone: str | None = Field(default=None, max_length=30, pattern=Phone)
    email: str | None = Field(default=None, max_length=254, pattern=Email)
    id_number: str | None = Field(default=None, max_length=18, pattern=r"^[0-9Xx]*$")
    branch_code: str | None = Field(
        default=None,
        max_length=32,
        pattern=NoNul,
        description="the customer's own unit (the request's branch_code when left out)",
    )
    segment: Literal["mass", "affluent", "private", "small_business", "corporate"] | None = None


class InvitationIn(Strict):
    survey_code: str = Field(min_length=1, max_length=40, pattern=NoNul)
    customer: CustomerRef
    channel: Channel
    branch_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    product_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    expires_days: int = Field(default=14, ge=1, le=90)
    external_ref: str | None = Field(
        default=None,
        max_length=100,
        pattern=NoNul,
        description="the caller's own id for this request: a retry with it (same survey, "
        "customer and channel) answers 200 with the first invitation and link and sends nothing "
        "again; the same value for another survey, customer or channel is a 409",
    )


class InvitationCreated(BaseModel):
    id: int
    url: str = Field(
        description="the one-time survey link (returned again only to a retry with the same "
        "external_ref)"
    )
    expires_at: datetime
    status: str
    failure: str | None = Field(
        default=None,
        description="为何无法发送（status 为 failed 时），如“客户缺少该渠道的联系方式”",
    )


class InvitationOut(BaseModel):
    id: int
    status: Literal["queued", "sent", "opened", "completed", "expired", "failed"]
    cancelled: bool = Field(
        description="true for an invitation withdrawn before it was sent (status expired), e.g. "
        "a complaint-resolution survey whose complaint was reopened for review before it went "
        "out (only Kesheng's own invitations)"
    )
    survey_code: str
    channel: str
    customer_external_id: str | None
    created_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime
    response_id: int | None
    failure: str | None = Field(default=None, description="为何无法发送（status 为 failed 时）")


EARLIEST_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_SINCE = datetime(2100, 1, 1, tzinfo=UTC)
_ISO_DATETIME_START = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_SPACED_OFFSET = re.compile(r"^(.+T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


class ResponseQuery(Strict):
    survey_code: str | None = Field(default=None, max_length=40, pattern=NoNul)
    invitation_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    since: Moment | None = None
    cursor: str | None = Field(default=None, max_length=400, pattern=r"^[A-Za-z0-9_=-]*$")
    limit: int = Field(default=100, ge=1, le=500)

    @field_validator("since", mode="before")
    @classmethod
    def _plus_sent_unencoded(cls, value: Any) -> Any:
        """``since=2026-11-01T00:00:00+08:00`` typed as is: the query string turns the "+"
        into a space; a space before the offset can only have been that "+"."""
        if not isinstance(value, str) or not _ISO_DATETIME_START.match(value):
            # (pydantic would read 2026 or 1700000000 as Unix seconds)
            raise ValueError("须为 ISO 8601 时间，例如 2026-11-01T00:00:00+08:00")
        return _SPACED_OFFSET.sub(r"\1+\2", value)

    @field_validator("since")
    @classmethod
    def _inside_the_calendar(cls, value: datetime | None) -> datetime | None:
        """A time before 2000 means from the start, one after 2099 nothing yet (the metrics'
        range): 0001-01-01T00:00:00+08:00 or 9999-12-31T23:59:59-08:00 has no UTC time the
        database can be asked about (was a 500)."""
        return None if value is None else min(max(value, EARLIEST_SINCE), LATEST_SINCE)


class ResponseItem(BaseModel):
    id: int
    survey_code: str
    survey_version: int
    invitation_id: int | None
    channel: str
    submitted_at: datetime
    csat: int | None
    nps: int | None
    ces: int | None
    index: float | None
    branch_code: str | None
    product_code: str | None
    customer: dict[str, str] | None = Field(description="masked")
    answers: dict[str, Any] = Field(description="free text redacted")


class ResponsePage(BaseModel):
    items: list[ResponseItem]
    next: str | None = Field(
        description="下一页游标；最后一页为 null。游标带有本次的筛选条件（survey_code、"
        "invitation_id、since）：只传 cursor= 即接着取同一组答卷；同时传入不同的筛选条件时返回 422"
    )
    resume: str | None = Field(
        description="本页最后一条之后的位置（本页为空时为传入的游标）。数据仓库增量拉取时保存它，"
        "下次以 cursor= 传回（游标带有筛选条件，不必重复），即得到此后新入库的全部答卷，不重不漏；"
        "since= 按提交时间筛选，不宜用于增量拉取（答卷在提交后数秒内才入库）"
    )


def _flat(value: Any) -> Any:
    """One message for what an attribute may not be (pydantic said 应为字符串 of an object)."""
    if isinstance(value, dict | list):
        raise ValueError("属性值只能是字符串、数字、布尔值或 null，不支持嵌套对象或数组")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("属性值不能是 NaN 或无穷大")  # (nor could a database's JSON keep it)
    if isinstance(value, str) and "\x00" in value:  # (PostgreSQL's JSON operators fail on it)
        raise ValueError("属性值不能包含 NUL 字符")
    return value


AttributeValue = Annotated[str | int | float | bool | None, BeforeValidator(_flat)]


class EventIn(Strict):
    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")
    customer: CustomerRef
    occurred_at: Moment
    branch_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    product_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _named_attributes(cls, value: dict[str, Any]) -> dict[str, Any]:
        if any(not key.strip() for key in value):
            raise ValueError("属性名不能为空")
        if any("\x00" in key for key in value):
            raise ValueError("属性名不能包含 NUL 字符")
        return value


class EventAccepted(BaseModel):
    accepted: bool
    scheduled: list[dict[str, Any]] = Field(
        description="每条匹配的触发规则一项：已安排时为 {kind: survey|visit, id, survey_code, "
        "due_at}；未安排时为 {kind: skipped, survey_code, reason_code, reason}，reason_code 为 "
        "event_too_old（事件过久或问卷有效期已过）、frequency_cap、opted_out、channel_opted_out、"
        "open_complaint，或 duplicate_event：同一事件（type、客户 external_id、occurred_at 相同，"
        "例如超时后的重试）已处理过，不再重复安排，duplicate_of 说明首次的结果 "
        "{kind: survey|visit, id} 或 {kind: skipped, reason_code}；own_event：complaint.closed "
        "是客声自己的事件（投诉办结时产生），经接口提交的不安排；out_of_scope：事件的产品或机构"
        "不在规则的适用范围内；not_sampled：规则按比例抽样，本次事件未被抽中"
    )
    note: str | None = Field(
        None,
        description="没有启用的触发规则使用此事件类型时说明原因（如事件类型拼写有误），"
        "并列出已启用规则的事件类型；否则为 null",
    )


@endpoint(
    "/v1/surveys",
    "GET",
    summary="问卷列表",
    scope=None,
    responses={200: SurveyList, **ERRORS},
    tags=["surveys"],
)
def list_surveys():
    """Every survey with its code, status and latest published version."""
    items = []
    for s in surveys.list_surveys():
        latest = s.latest_version
        items.append(
            SurveyOut(
                code=s.code,
                title=s.title,
                status=s.status,
                version=latest.number if latest else None,
                questions=len(latest.definition["questions"]) if latest else 0,
                serving=s.serving,
            )
        )
    return SurveyList(items=items)


@endpoint(
    "/v1/surveys/<code>/versions/<number>",
    "GET",
    summary="问卷某一版本的题目定义",
    scope=None,
    responses={200: SurveyVersionOut, 404: ErrorBody, **ERRORS},
    tags=["surveys"],
)
def get_survey_version(code: str, number: str):
    """What the questions of one published version were, so that a data warehouse can read the
    answers of ``GET /api/v1/responses`` (keyed by question id, with ``survey_version``)."""
    version = surveys.version_by_number(code, number)
    return SurveyVersionOut(
        code=code,
        version=version.number,
        published_at=responses_query.local(version.published_at),
        definition=version.definition,
    )


@endpoint(
    "/v1/invitations",
    "POST",
    summary="创建一次性问卷邀请并发送",
    scope="invitations:write",
    body=InvitationIn,
    responses={
        200: InvitationCreated,
        201: InvitationCreated,
        409: ErrorBody,
        422: ErrorBody,
        **ERRORS,
    },
    tags=["surveys"],
)
def create_invitation(body: InvitationIn):
    """Create the customer if unknown, create a one-time link and send it on the channel (a
    job after the commit: ``queued`` until a worker has sent it); a retry with the same
    external_ref gets the first invitation (200) and sends nothing. A known customer's name
    and contact data are changed only with a token that also has ``customers:write``; other
    tokens only fill in what the record lacks (the link goes to the address on record)."""
    with customer_fields(body.customer):
        issued = invitations.create_invitation(
            invitations.InvitationRequest(
                survey_code=body.survey_code,
                customer=CustomerData(**body.customer.model_dump()),
                channel=body.channel,
                branch_code=body.branch_code,
                product_code=body.product_code,
                expires_days=body.expires_days,
                external_ref=body.external_ref,
                updates_customer=maintains_customers(),
            )
        )
    inv = issued.invitation
    expires_at = responses_query.local(inv.expires_at)
    failure = inv.failure if inv.status == "failed" else None
    return InvitationCreated(
        id=inv.id, url=issued.url, expires_at=expires_at, status=inv.status, failure=failure
    ), 201 if issued.created else 200


@endpoint(
    "/v1/invitations/<invitation_id>",
    "GET",
    summary="查询邀请状态",
    scope=("invitations:write", "responses:read"),
    responses={200: InvitationOut, 404: ErrorBody, **ERRORS},
    tags=["surveys"],
)
def get_invitation(invitation_id: str):
    """The invitation's status: queued, sent, opened, completed, expired or failed."""
    found = row_id(invitation_id)
    if found is None:
        raise NotFound("邀请不存在")
    return InvitationOut(**responses_query.invitation_status(found))


@endpoint(
    "/v1/responses",
    "GET",
    summary="答卷（按游标分页，个人信息已脱敏）",
    scope="responses:read",
    query=ResponseQuery,
    responses={200: ResponsePage, 422: ErrorBody, **ERRORS},
    tags=["surveys"],
)
def list_responses(query: ResponseQuery):
    """Responses in the order they were stored (ascending id); pass ``next`` back as ``cursor``
    for the following page (the cursor carries the filters: alone it continues the same pull;
    with other filters beside it, 422). For incremental pulls keep ``resume`` and pass it as
    ``cursor`` next time: ``since`` filters on ``submitted_at``, and a response is stored
    (expanded from the accepted submission) a moment after it was submitted, so moving
    ``since`` forward can step over responses that were still being stored."""
    items, nxt, resume = responses_query.api_page(
        survey_code=query.survey_code,
        invitation_id=query.invitation_id,
        since=query.since,
        cursor=query.cursor,
        limit=query.limit,
    )
    return ResponsePage(items=[ResponseItem(**item) for item in items], next=nxt, resume=resume)


@endpoint(
    "/v1/events",
    "POST",
    summary="推送业务事件（按触发规则安排调查或回访）",
    scope="events:write",
    body=EventIn,
    responses={202: EventAccepted, 422: ErrorBody, **ERRORS},
    tags=["surveys"],
)
def post_event(body: EventIn):
    """Matching trigger rules schedule a survey invitation or a follow-up visit after a delay.
    The same event again (same type, customer and occurred_at) schedules nothing new. An
    unknown customer is created; a known one's name and contact data are changed only with a
    token that also has ``customers:write`` (else only what the record lacks is filled in)."""
    with customer_fields(body.customer):
        scheduled = survey_triggers.record_event(
            survey_triggers.EventData(
                type=body.type,
                customer=CustomerData(**body.customer.model_dump()),
                occurred_at=body.occurred_at,
                branch_code=body.branch_code,
                product_code=body.product_code,
                attributes=body.attributes,
                updates_customer=maintains_customers(),
            )
        )
    note = survey_triggers.no_rule_note(body.type) if not scheduled else None
    return EventAccepted(accepted=True, scheduled=scheduled, note=note), 202
