"""Customers: search within the viewer's scope, audited unmasked views, upsert from core systems."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Branch, Customer, CustomerSegment, User
from app.models.org import mask_name
from app.security import pii
from app.services import audit, paging, scope
from app.services.errors import NotFound, ValidationFailed
from app.services.paging import Page
from app.services.tx import get_in_scope_or_raise, insert_or_existing, transactional
from nlp.redact import looks_like_id_number, looks_like_old_id_number, mask_phone

PAGE_SIZE = 50
# An e-mail address a message can go to: one @, a local part of at most 64 characters, a domain
# with a dot, no blanks or NUL (the API and the imports take the same; "a@b", "a@b@c" are not).
EMAIL_PATTERN = r"^[^@\s\x00]{1,64}@[^@\s\x00]+\.[^@\s\x00]+$"


def search_customers(query: str = "", *, page: int = 1, branch_id: int | None = None) -> Page:
    """Customers matching a name, customer number or full phone number, newest first."""
    stmt = select(Customer)
    q = (query or "").strip()[:100]
    if q:
        phone_key = pii.blind_index("phone", q) if len(pii.normalise_phone(q)) >= 11 else None
        conditions = [
            Customer.name.contains(q, autoescape=True),
            # (as stored: a number typed full-width on a Chinese keyboard finds the customer)
            Customer.external_id == customer_number(q),
        ]
        if phone_key:
            conditions.append(Customer.phone_index == phone_key)
        stmt = stmt.where(or_(*conditions))
    if branch_id:
        stmt = stmt.where(Customer.branch_id == branch_id)
    page, pages, total, more = paging.window(stmt, page, PAGE_SIZE)
    rows = db.session.scalars(
        stmt.order_by(Customer.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    return Page(list(rows), page, pages, total, more)


def get_customer(customer_id: int) -> Customer:
    """A customer inside the current branch scope; NotFound otherwise (also for other branches)."""
    return get_in_scope_or_raise(Customer, customer_id, "客户")


@transactional
def reveal_customer(customer_id: int, *, actor: User, reason: str) -> Customer:
    """The customer with full contact data; the view is written to the audit log with the reason."""
    customer = get_customer(customer_id)
    audit.record_unmasked_view(
        "customer",
        customer.id,
        actor=actor,
        reason=reason,
        detail={"external_id": customer.external_id},
    )
    return customer


OPT_OUT_CHANNELS = {"sms": "短信", "email": "电子邮件", "wechat": "微信", "app": "手机银行推送"}


@transactional
def set_opt_out(
    customer_id: int, *, actor: User, everything: bool, channels: set[str], note: str = ""
) -> Customer:
    """Record what the customer asked not to receive (a TD reply, "退订" by e-mail, a call):
    every survey, or the surveys of some channels; an empty choice takes the opt-out back.
    Invitations, campaigns and trigger rules then skip the customer (the API answers 409).
    Audit-logged with what was asked and by whom."""
    customer = get_customer(customer_id)
    unknown = set(channels) - set(OPT_OUT_CHANNELS)
    if unknown:
        raise ValidationFailed("未知的退订渠道", field="channels")
    before = {"opted_out": customer.opted_out, "channels": customer.opted_out_channels or ""}
    customer.opted_out = bool(everything)
    customer.opted_out_channels = "" if everything else ",".join(sorted(channels))
    after = {"opted_out": customer.opted_out, "channels": customer.opted_out_channels}
    if after != before:
        audit.record(
            "customer.opt_out",
            actor=actor,
            object_type="customer",
            object_id=customer.id,
            reason=(note or "").strip()[:500] or None,
            detail={"external_id": customer.external_id, "before": before, "after": after},
        )
    return customer


@dataclass(frozen=True, slots=True)
class ShownCustomer:
    """The customer of a record the viewer may read (a follow-up task to call, an answer sheet),
    as its page shows them: masked, whichever branch the customer's own record belongs to."""

    external_id: str
    masked_name: str
    masked_phone: str
    own_record: bool  # the viewer may open the customer's record (and its audited full number)


def shown_customers(customer_ids: Iterable[int | None]) -> dict[int, ShownCustomer]:
    """The customers of records the viewer may read, by customer id.

    A task or an answer is scoped by its own branch (where the event happened or the answer
    was given) and the customer by theirs: an agent of the record's branch must see whom it
    is about even when the customer's record belongs to another branch (and stays closed to
    them; the page then said 匿名 or showed a blank name). Read as columns, so no
    out-of-scope Customer enters the session to be found through a relationship later."""
    ids = {i for i in customer_ids if i is not None}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Customer.id, Customer.external_id, Customer.name, Customer.phone, Branch.path)
        .outerjoin(Branch, Branch.id == Customer.branch_id)
        .where(Customer.id.in_(ids))
        .execution_options(include_all_branches=True)
    )
    viewer = scope.current(db.session)
    return {
        row.id: ShownCustomer(
            external_id=row.external_id,
            masked_name=mask_name(row.name),
            masked_phone=mask_phone(row.phone) if row.phone else "—",
            own_record=viewer.unrestricted
            or (row.path is not None and row.path.startswith(viewer.path_prefix)),
        )
        for row in rows
    }


@dataclass(frozen=True)
class CustomerData:
    external_id: str
    name: str | None = None  # (may be left out for a customer already known by external_id)
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    branch_code: str | None = None
    segment: str | None = None


def branch_by_code(code: str | None, *, inactive_ok: bool = False) -> Branch | None:
    """The branch with this code; ValidationFailed when there is none, or when it is inactive
    and ``inactive_ok`` is not set (new business is not placed at a closed unit; a complaint
    about one is still taken)."""
    if not code:
        return None
    branch = db.session.scalar(select(Branch).where(Branch.code == code.strip().upper()))
    if branch is None:
        raise ValidationFailed(f"机构代码 {code} 不存在", field="branch_code")
    if not (branch.active or inactive_ok):
        raise ValidationFailed(inactive_message(branch), field="branch_code")
    return branch


def inactive_message(row: Branch | Any) -> str:
    """Why an inactive branch or product cannot be used for a new record."""
    kind = "机构" if isinstance(row, Branch) else "产品"
    return f"{kind} {row.name}（{row.code}）已停用，不能用于新的记录"


# Direction overrides, embeddings and isolates (LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI): an
# override makes a name or a text read backwards on the page ("\u202e" before "gpj.exe" shows
# "exe.jpg"). Text from outside is stored without them; the marks LRM and RLM only nudge the
# direction of the characters around them and are kept, as everything else is.
_DIRECTION_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Control characters: C0 but the tab and line breaks, DEL, C1. Nobody types them; systems pass
# them on from binary fields or terminal escapes, and a worksheet or an XML file cannot hold
# them. And the direction controls above.
_CONTROL = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)])
_CONTROL.update(dict.fromkeys(map(ord, _DIRECTION_CONTROLS)))


def _shows(char: str) -> bool:
    """Whether a character shows anything: not a format character (Unicode category Cf:
    zero-width spaces and joiners, direction marks, embeddings, overrides and isolates, the
    word joiner, the byte-order mark, the soft hyphen …), which some systems leave in exported
    cells and some keyboards in typed text."""
    return unicodedata.category(char) != "Cf"


def visible_text(value: str | None) -> str:
    """``value`` without invisible (format) characters and surrounding blanks: a text of only
    those is as empty as a blank one. (The joiners inside an emoji sequence go too: this is a
    value to compare and to judge blank, or a spreadsheet's cell, not a text to show.)"""
    value = value or ""
    if not value.isascii():  # (ASCII has no format characters)
        value = "".join(filter(_shows, value))
    return value.strip()


def printable_text(value: str | None) -> str:
    """``value`` without control characters (tabs and line breaks kept) and direction controls,
    and without surrounding blanks or invisible format characters (a zero-width space before a
    name showed in place of its surname once masked): a text as stored from whoever sent it
    (complaint texts and references, customers' names). Inside, such characters stay (the
    joiners of an emoji sequence)."""
    text = (value or "").translate(_CONTROL).strip()
    start, end = 0, len(text)
    while start < end and (not _shows(text[start]) or text[start].isspace()):
        start += 1
    while end > start and (not _shows(text[end - 1]) or text[end - 1].isspace()):
        end -= 1
    return text[start:end]


def blank(value: str | None) -> bool:
    """Whether a text from outside shows nothing: empty, or only blanks, control and invisible
    format characters. The one rule for required texts (a complaint's content, a name)."""
    return not visible_text(printable_text(value))


def customer_number(value: str) -> str:
    """A customer number as stored: NFKC (full-width ``Ｃ８８０００００１`` typed on a Chinese
    keyboard is the same customer as ``C88000001``), without surrounding blanks."""
    return unicodedata.normalize("NFKC", value).strip()


def _by_external_id(external_id: str) -> Customer | None:
    return db.session.scalar(
        select(Customer)
        .where(Customer.external_id == external_id)
        .execution_options(include_all_branches=True, populate_existing=True)
    )


def check_phone(phone: str | None) -> None:
    """A phone number has at least 7 digits (a landline without its area code); fewer is a
    typing error, refused rather than stored over the customer's number."""
    if phone and len(pii.normalise_phone(phone)) < 7:
        raise ValidationFailed("手机号格式不正确", field="phone")


def check_id_number(value: str | None) -> None:
    """A resident ID number shaped as one (18 characters, or the 15 digits of a first-
    generation card): "123" was stored as the customer's 证件号码."""
    if not value:
        return
    if not (looks_like_id_number(value) or looks_like_old_id_number(value)):
        raise ValidationFailed(
            "身份证号码格式不正确（应为 18 位，或第一代身份证的 15 位）", field="id_number"
        )


def upsert_customer_row(
    data: CustomerData,
    *,
    inactive_branch_ok: bool = False,
    home_branch_code: str | None = None,
    fill_only: bool = False,
) -> tuple[Customer, bool]:
    """Create or update by external_id inside the caller's transaction; returns (row, created).
    A customer is not placed at an inactive branch (one already there may stay) unless
    ``inactive_branch_ok`` (a complaint names the unit where it happened).
    ``home_branch_code``: the unit to place a customer without one at (an invitation's unit for
    a new customer); a known customer's own unit is kept (it is moved only by its own
    ``branch_code``: an invitation sent by another unit had moved it out of its branch's scope).
    ``fill_only``: a known customer's data is only filled in where it is missing, never
    changed (a caller not entitled to maintain customers: an API token without
    ``customers:write`` sending an invitation or an event could otherwise redirect every
    later message and notice to a number of its choosing)."""
    if not data.external_id.strip():
        raise ValidationFailed("请填写客户号", field="external_id")
    name = printable_text(data.name or "")[:100]
    external_id = customer_number(data.external_id)
    customer = _by_external_id(external_id)
    if data.name is None and customer is not None:
        # (a system that knows the customer by number sends the number alone: the name kept)
        name = customer.name
    elif blank(name):  # (a name of invisible characters only is no name either)
        unknown = "（该客户号尚未登记，须提供姓名）" if data.name is None else ""
        raise ValidationFailed(f"请填写客户姓名{unknown}", field="name")
    check_phone(data.phone)
    check_id_number(data.id_number)
    if data.segment and data.segment not in set(CustomerSegment):
        raise ValidationFailed(f"未知客户分层：{data.segment}", field="segment")
    created = customer is None
    if created:  # (another request creating the same customer a moment ago: update that one)
        customer, created = insert_or_existing(
            Customer(external_id=external_id, name=name), lambda: _by_external_id(external_id)
        )
    if fill_only and not created:
        _fill_in(customer, data, home_branch_code)
        db.session.flush()
        return customer, False
    customer.name = name
    code = data.branch_code or (home_branch_code if customer.branch_id is None else None)
    if code:
        branch = branch_by_code(code, inactive_ok=True)
        if not (branch.active or inactive_branch_ok or branch.id == customer.branch_id):
            raise ValidationFailed(inactive_message(branch), field="branch_code")
        customer.branch = branch
    if data.segment:
        customer.segment = CustomerSegment(data.segment)
    customer.set_contact(phone=data.phone, email=data.email, id_number=data.id_number)
    db.session.flush()
    return customer, created


def _fill_in(customer: Customer, data: CustomerData, home_branch_code: str | None) -> None:
    """What a known customer's record lacks, from ``data``; nothing it holds is changed."""
    if customer.branch_id is None and home_branch_code:
        customer.branch = branch_by_code(home_branch_code)
    if data.segment and customer.segment is None:
        customer.segment = CustomerSegment(data.segment)
    customer.set_contact(
        phone=None if customer.phone else data.phone,
        email=None if customer.email else data.email,
        id_number=None if customer.id_number else data.id_number,
    )


@transactional
def upsert_customer(data: CustomerData) -> tuple[Customer, bool]:
    """Create or update a customer by external_id (core-system sync)."""
    return upsert_customer_row(data)


def require_customer_by_external_id(external_id: str) -> Customer:
    number = customer_number(external_id)
    customer = db.session.scalar(select(Customer).where(Customer.external_id == number))
    if customer is None:
        raise NotFound("客户不存在")
    return customer


@dataclass(frozen=True)
class CustomerHistory:
    """A customer's dealings with the bank that the viewer may see (newest first)."""

    complaints: list[Any]
    responses: list[Any]
    followups: list[Any]


def history(customer: Customer, *, limit: int = 20) -> CustomerHistory:
    """Complaints, survey answers and follow-up visits of one customer, inside the viewer's
    branch scope (the session's scope filter applies), ``limit`` of each."""
    from app.models import FollowUp, Response
    from app.models.complaint import Complaint

    def newest(model: Any, column: Any) -> list[Any]:
        stmt = select(model).where(model.customer_id == customer.id).order_by(column.desc())
        return list(db.session.scalars(stmt.limit(limit)))

    return CustomerHistory(
        complaints=newest(Complaint, Complaint.received_at),
        responses=newest(Response, Response.submitted_at),
        followups=newest(FollowUp, FollowUp.due_at),
    )
