"""Reading responses: staff lists with filters, detail, CSV/XLSX exports, the API's keyset pages."""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Branch,
    Invitation,
    InvitationStatus,
    Product,
    Response,
    Survey,
    User,
    row_id,
    utcnow,
)
from app.services import audit, exports, org, paging
from app.services.errors import ValidationFailed
from app.services.paging import Page
from app.services.response_columns import QuestionColumns, choice_text, question_columns
from app.services.surveys import definition_of
from app.services.tx import get_in_scope_or_raise, get_or_raise, transactional
from nlp import redact
from surveys import QuestionType, other_key
from surveys.scoring import half_up

PAGE_SIZE = 50
EXPORT_LIMIT = 50_000


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def local(value: datetime | None) -> datetime | None:
    """A UTC time shown with the bank's offset (+08:00)."""
    return value.astimezone(zone()) if value else None


@dataclass(frozen=True)
class ResponseFilter:
    survey_id: int | None = None
    branch_id: int | None = None
    product_id: int | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    detractors_only: bool = False


def _filtered(f: ResponseFilter) -> Select:
    stmt = select(Response)
    if f.survey_id:
        stmt = stmt.where(Response.survey_id == f.survey_id)
    if f.branch_id:
        path = db.session.scalar(select(Branch.path).where(Branch.id == f.branch_id)) or "/none/"
        stmt = stmt.where(
            Response.branch_id.in_(select(Branch.id).where(Branch.path.startswith(path)))
        )
    if f.product_id:
        stmt = stmt.where(Response.product_id == f.product_id)
    if f.channel:
        stmt = stmt.where(Response.channel == f.channel)
    if f.date_from:
        stmt = stmt.where(Response.submitted_at >= datetime.combine(f.date_from, time(), zone()))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), zone())
        stmt = stmt.where(Response.submitted_at < end)
    if f.detractors_only:
        stmt = stmt.where(Response.detractor.is_(True))
    return stmt


def list_responses(f: ResponseFilter, *, page: int = 1) -> Page:
    """Responses in the viewer's branch scope matching the filter, newest first."""
    stmt = _filtered(f)
    page, pages, total, more = paging.window(stmt, page, PAGE_SIZE)
    rows = db.session.scalars(
        stmt.options(selectinload(Response.survey), selectinload(Response.branch))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Page(list(rows), page, pages, total, more)


def get_response(response_id: int) -> Response:
    return get_in_scope_or_raise(Response, response_id, "答卷")


def readable_answers(response: Response) -> list[tuple[str, str]]:
    """(question title, answer in words) for every answered question; free text redacted."""
    defn = definition_of(response.version)
    out: list[tuple[str, str]] = []
    for q in defn.questions:
        value = response.answers.get(q.id)
        if value is None:
            continue
        labels = dict(q.scale_points()) if q.scale_type else {}
        if q.type is QuestionType.MATRIX:
            names = {item.id: item.label for item in q.items}
            text = "；".join(f"{names.get(k, k)}：{v}" for k, v in value.items())
        elif q.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            text = choice_text(q, value, response.answers.get(other_key(q.id)), sep="、")
        elif q.type is QuestionType.TEXT:
            text = redact(str(value)).text
        else:
            text = f"{value} 分" + (f"（{labels[value]}）" if labels.get(value) else "")
        out.append((q.title, text))
    return out


def masked_answers(response: Response) -> dict[str, Any]:
    """The cleaned answers with every free text redacted (for the API)."""
    out: dict[str, Any] = {}
    for key, value in response.answers.items():
        out[key] = redact(value).text if isinstance(value, str) else value
    return out


EXPORT_HEADER = [
    "答卷编号",
    "问卷",
    "版本",
    "提交时间",
    "渠道",
    "机构",
    "产品",
    "客户号",
    "客户姓名",
    "满意度(CSAT)",
    "推荐度(NPS)",
    "省力度(CES，越高越轻松)",
    "满意度指数",
    "低分客户",
    "意见（已脱敏）",
]


def _export_table(f: ResponseFilter) -> tuple[list[str], list[list[Any]], int]:
    """(header, rows, number of per-question columns): the summary columns, then, when the
    filter picks one survey, one column per question (per matrix item) of that survey."""
    per_question: QuestionColumns | None = question_columns(f.survey_id) if f.survey_id else None
    stmt = (
        _filtered(f)
        .options(
            selectinload(Response.survey),
            selectinload(Response.version),
            selectinload(Response.branch),
            selectinload(Response.product),
            selectinload(Response.customer),
        )
        .order_by(Response.submitted_at, Response.id)
        # (no LIMIT: export_responses refuses over EXPORT_LIMIT; a cut here dropped the
        # newest answers without a word)
    )
    rows = []
    for r in db.session.scalars(stmt):
        rows.append(
            [
                r.id,
                r.survey.title,
                r.version.number,
                local(r.submitted_at).strftime("%Y-%m-%d %H:%M"),
                r.channel_label,
                r.branch.name if r.branch else "",
                r.product.name if r.product else "",
                r.customer.external_id if r.customer else "",
                r.customer.masked_name if r.customer else "匿名",
                r.csat,
                r.nps,
                r.ces,
                half_up(r.index_score, 1),
                "是" if r.detractor else "否",
                r.comment_redacted,
            ]
            + (per_question.cells(r.version_id, r.answers or {}) if per_question else [])
        )
    extra = list(per_question.headers) if per_question else []
    safe_rows = [[exports.safe(cell) for cell in row] for row in rows]
    return [exports.safe(c) for c in EXPORT_HEADER + extra], safe_rows, len(extra)


@transactional
def export_responses(f: ResponseFilter, fmt: str, *, actor: User) -> tuple[bytes, int]:
    """CSV (UTF-8 with BOM, opens in Excel) or XLSX of the filtered responses, masked and
    formula-neutralised; filtered to one survey, it adds a column per question (free text
    masked like the comment). More than EXPORT_LIMIT responses is refused (ValidationFailed
    naming the count), never cut. The export is written to the audit log with the rows the
    file holds. Returns (content, row count)."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationFailed("导出格式须为 CSV 或 XLSX", field="format")
    if paging.counted(_filtered(f), EXPORT_LIMIT)[1]:  # (counted no further than the limit)
        raise ValidationFailed(
            f"符合条件的答卷超过单次导出上限 {EXPORT_LIMIT} 份，"
            "请缩小日期范围或增加筛选条件后再导出"
        )
    header, rows, question_count = _export_table(f)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        content = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("答卷")
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        content = out.getvalue()
    audit.record(
        "responses.export",
        actor=actor,
        object_type="survey_response",
        detail={
            "format": fmt,
            "rows": len(rows),
            "question_columns": question_count,
            "filter": {k: str(v) for k, v in vars(f).items() if v},
        },
    )
    return content, len(rows)


# Statuses whose link still answers until it expires (a failed message's link too: the
# integrator may have passed on the URL the API returned).
_STILL_OPEN = {
    InvitationStatus.QUEUED,
    InvitationStatus.SENT,
    InvitationStatus.OPENED,
    InvitationStatus.FAILED,
}


def invitation_status(invitation_id: int) -> dict[str, Any]:
    inv = get_or_raise(Invitation, invitation_id, "邀请不存在")
    response_id = db.session.scalar(select(Response.id).where(Response.invitation_id == inv.id))
    status = inv.status
    if status in _STILL_OPEN and inv.expires_at is not None and inv.expires_at <= utcnow():
        status = InvitationStatus.EXPIRED  # as its link answers (410), before the sweep marks it
    cancelled = status == InvitationStatus.CANCELLED
    return {
        "id": inv.id,
        # (CONTRACT.md names six statuses: a cancelled invitation's link is as dead as an
        # expired one's, and ``cancelled`` says why)
        "status": InvitationStatus.EXPIRED if cancelled else status,
        "cancelled": cancelled,
        "survey_code": inv.survey.code,
        "channel": inv.channel,
        "customer_external_id": inv.customer.external_id if inv.customer else None,
        "created_at": local(inv.created_at),
        "sent_at": local(inv.sent_at),
        "opened_at": local(inv.opened_at),
        "completed_at": local(inv.completed_at),
        "expires_at": local(inv.expires_at),
        "response_id": response_id,
        # why its message could not be sent (e.g. 客户缺少该渠道的联系方式), while it is failed
        "failure": inv.failure if status == InvitationStatus.FAILED else None,
    }


def _decode_cursor(cursor: str) -> tuple[int, dict[str, Any]]:
    """(the last id, the filters of the pull) a cursor carries; ``r:<id>``, the form before
    cursors carried filters, is a position without filters."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
        if raw.startswith("{"):
            data = json.loads(raw)
            if not isinstance(data, dict) or set(data) - {"r", *CURSOR_FILTERS}:
                raise ValueError
            value, kept = str(data.get("r", "")), {k: data[k] for k in CURSOR_FILTERS if k in data}
            kind = "r"
        else:
            kind, _, value = raw.partition(":")
            kept = {}
        last_id = row_id(value) if kind == "r" else None
        if last_id is None or not _valid_filters(kept):
            raise ValueError  # (an id the table can hold: see MAX_ROW_ID)
        return last_id, kept
    except (ValueError, UnicodeDecodeError) as err:
        raise ValidationFailed("游标无效", field="cursor") from err


# what a cursor keeps of the first page's query: survey code, invitation id, since (UTC, ISO)
CURSOR_FILTERS = ("s", "i", "t")


def _valid_filters(kept: dict[str, Any]) -> bool:
    """A cursor's filters as ``_pull_filters`` writes them (a cursor is the client's to send:
    one made up with a ``t`` that is no time must be refused, not fail the request)."""
    code, invitation, since = kept.get("s", ""), kept.get("i", 1), kept.get("t")
    if not isinstance(code, str) or len(code) > 40:
        return False
    if type(invitation) is not int or row_id(str(invitation)) is None:
        return False
    if since is None:
        return True
    try:
        moment = datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        return False
    # (the query's own since is kept inside these years; a time outside has no UTC form)
    lo, hi = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    return moment is not None and moment.tzinfo is not None and lo <= moment <= hi


def _encode_cursor(last_id: int, filters: dict[str, Any]) -> str:
    raw = (
        json.dumps({"r": last_id, **filters}, separators=(",", ":")) if filters else f"r:{last_id}"
    )
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def _pull_filters(
    survey_code: str | None, invitation_id: int | None, since: datetime | None
) -> dict[str, Any]:
    asked = {"s": survey_code, "i": invitation_id, "t": since and since.astimezone(UTC).isoformat()}
    return {k: v for k, v in asked.items() if v}


def api_page(
    *,
    survey_code: str | None,
    invitation_id: int | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """A keyset page of responses by ascending id: (items, next, resume). ``next`` is None on
    the last page; ``resume`` is the position after the last item (or the given cursor when
    there is none), always given, so that a later pull with ``cursor=resume`` returns exactly
    the responses stored since (ids become visible in order: ``hold_response_order``). Both
    carry the filters: a cursor alone continues the same pull; a filter given beside it must be
    the cursor's own (else 422)."""
    filters = _pull_filters(survey_code, invitation_id, since)
    last_id = 0
    if cursor:
        # the cursor carries the first page's filters: following ``next`` as ?cursor=<next>
        # alone went on through every survey's answers
        last_id, kept = _decode_cursor(cursor)
        if any(kept.get(k) != v for k, v in filters.items()):
            raise ValidationFailed(
                "游标属于另一组筛选条件：请只传 cursor，或原样重复取得它时的 survey_code、"
                "invitation_id 和 since",
                field="cursor",
            )
        filters = kept
        survey_code, invitation_id = kept.get("s"), kept.get("i")
        since = datetime.fromisoformat(kept["t"]) if "t" in kept else None
    stmt = select(Response).options(
        selectinload(Response.survey),
        selectinload(Response.version),
        selectinload(Response.branch),
        selectinload(Response.product),
        selectinload(Response.customer),
    )
    if survey_code:
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == survey_code))
        if survey_id is None:
            # (a warehouse with a typo in its survey code pulled nothing, and kept pulling it;
            # the metrics' ``survey=`` refuses an unknown code the same way)
            raise ValidationFailed(f"未找到问卷：{survey_code[:40]}", field="survey_code")
        stmt = stmt.where(Response.survey_id == survey_id)
    if invitation_id:
        stmt = stmt.where(Response.invitation_id == invitation_id)
    if since:
        stmt = stmt.where(Response.submitted_at >= since)
    if last_id:
        stmt = stmt.where(Response.id > last_id)
    rows = list(db.session.scalars(stmt.order_by(Response.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": r.id,
            "survey_code": r.survey.code,
            "survey_version": r.version.number,
            "invitation_id": r.invitation_id,
            "channel": r.channel,
            "submitted_at": local(r.submitted_at),
            "csat": r.csat,
            "nps": r.nps,
            "ces": r.ces,
            "index": half_up(r.index_score, 2),
            "branch_code": r.branch.code if r.branch else None,
            "product_code": r.product.code if r.product else None,
            "customer": (
                {"external_id": r.customer.external_id, "name": r.customer.masked_name}
                if r.customer
                else None
            ),
            "answers": masked_answers(r),
        }
        for r in rows
    ]
    after_last = _encode_cursor(rows[-1].id, filters) if rows else (cursor or None)
    return items, (after_last if more else None), after_last


def filter_choices() -> dict[str, list]:
    """Surveys, branches and products for the filter drop-downs."""
    return {
        "surveys": list(db.session.scalars(select(Survey).order_by(Survey.code))),
        "branches": org.branches_in_scope(),
        "products": list(db.session.scalars(select(Product).order_by(Product.code))),
    }
