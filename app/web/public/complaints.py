"""The public complaint form: no sign-in, CSRF, phone-friendly, limited per address."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask import current_app, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.extensions import db
from app.models import Branch, BranchKind, utcnow
from app.services import complaint_progress, complaints, ratelimit
from app.services.complaint_files import MAX_UPLOADS
from app.services.complaints import IntakeData
from app.services.customers import printable_text
from app.services.errors import ServiceError, TooManyAttempts
from app.services.imports import PHONE_RE, mobile_number
from app.web import errors, file_field
from app.web.forms import BaseForm
from app.web.public import bp

WEB_LIMIT = 5  # complaints per address per hour; COMPLAINT_WEB_LIMIT overrides
ATTACHMENT_HINT = (
    f"可上传截图、照片或 PDF 凭证，最多 {MAX_UPLOADS} 个，每个不超过 {file_field.EACH}，"
    f"支持 {file_field.KINDS}"
)


def mobile_field(missing: str, description: str = "") -> StringField:
    """The customer's mobile number as they write it ("139-0000-1234", "139 0000 1234",
    "+86 139…"): the separators and the country code go before the check, and the eleven
    digits are what the form gives."""
    return StringField(
        "手机号码",
        description=description,
        filters=[lambda value: mobile_number(value) if value else value],
        validators=[DataRequired(missing), Regexp(PHONE_RE, message="请填写 11 位手机号码")],
    )


def _as_typed(value: str | None) -> str | None:
    """A text as the customer typed it: a line break counts once (browsers send it as CR LF:
    3,000 characters with ten line breaks came to 3,010 and were refused), and the limits
    apply to what is stored (without control characters and surrounding blanks; ten spaces
    around an "x" passed the 10-character minimum)."""
    return printable_text(value.replace("\r\n", "\n")) if value else value


class PublicComplaintForm(file_field.WithFiles, BaseForm):
    name = StringField("您的姓名", validators=[DataRequired("请填写您的姓名"), Length(max=50)])
    # (the hints were placeholders, gone at the first keystroke: what the number is for and
    # the warning against card passwords were no longer there when they mattered)
    phone = mobile_field(
        "请填写手机号码，以便我们联系您", "用于发送受理回执、告知处理结果，查询处理进度时也需填写"
    )
    email = StringField(
        "电子邮箱（选填）",
        validators=[
            Optional(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="邮箱格式不正确"),
        ],
    )
    branch_code = SelectField("办理业务的机构（选填）", choices=[])
    content = TextAreaField(
        "投诉内容",
        description="时间、地点、经办业务、经过等，请至少写 10 个字，最多 3000 字。"
        "请勿填写银行卡密码或验证码",
        filters=[_as_typed],
        validators=[
            DataRequired("请描述您遇到的问题"),
            Length(min=10, max=3000, message="请用 10–3000 字描述问题经过"),
        ],
    )
    demand = TextAreaField(
        "您的诉求（选填）",
        description="您希望我们如何处理",
        filters=[_as_typed],
        validators=[Optional(), Length(max=1000)],
    )
    # One per form shown: a reload of the receipt (the browser posts again) or a second press
    # shows the first complaint's receipt instead of taking the same complaint twice.
    submission = HiddenField()
    attachments = file_field.attachment_field("附件（选填）", ATTACHMENT_HINT)
    consent = BooleanField(
        "我同意银行为处理本投诉使用我填写的个人信息", validators=[DataRequired("须同意后才能提交")]
    )


def _branch_choices(form: PublicComplaintForm) -> None:
    rows = db.session.scalars(
        select(Branch)
        .where(Branch.kind != BranchKind.HEAD_OFFICE, Branch.active.is_(True))
        .order_by(Branch.path)
    ).all()
    form.branch_code.choices = [SelectChoice("", "不确定 / 未在网点办理")] + [
        SelectChoice(b.code, ("　" if b.kind == BranchKind.SUB_BRANCH else "") + b.name)
        for b in rows
    ]


@bp.route("/complaint", methods=["GET", "POST"])
def complaint_form():
    form = PublicComplaintForm()
    _branch_choices(form)
    if not SUBMISSION.fullmatch(form.submission.data or ""):  # (ours, or none: a fresh one)
        form.submission.data = secrets.token_urlsafe(16)
    if form.validate_on_submit():
        receipt = session.get(RECEIPTS, {}).get(form.submission.data)
        if receipt is not None:
            return _receipt_page(receipt), 200
        first = complaints.registered("web", f"{FORM_REF}{form.submission.data}")
        if first is not None:  # a copy arriving later (no receipt in its session): not counted
            return _receipt_page(_receipt(first, form)), 200
        try:
            _throttle(request.remote_addr or "unknown")
            complaint, created = complaints.create_complaint(
                IntakeData(
                    channel="web",
                    content=form.content.data,
                    name=form.name.data,
                    phone=form.phone.data,
                    email=form.email.data or None,
                    branch_code=form.branch_code.data or None,
                    demand=form.demand.data,
                    intake_ip=(request.remote_addr or "unknown")[:64],
                    attachments=form.files,
                    # one submission of the form is one complaint, however often it arrives
                    # (a second press on a slow connection made a second case and SMS)
                    external_ref=f"{FORM_REF}{form.submission.data}",
                )
            )
        except TooManyAttempts as err:
            form.form_errors.append(err.message)
            return render_template("public/complaint.html", form=form), 429
        except ServiceError as err:
            form.attach(err)
        else:
            receipt = _receipt(complaint, form)
            kept = dict(list(session.get(RECEIPTS, {}).items())[-(KEPT_RECEIPTS - 1) :])
            session[RECEIPTS] = kept | {form.submission.data: receipt}
            return _receipt_page(receipt), 201 if created else 200
    return render_template("public/complaint.html", form=form), 400 if form.errors else 200


def _receipt(complaint, form: PublicComplaintForm) -> dict:
    return {
        "reference": complaint.reference,
        "sent": complaints.receipt_sent(complaint),
        "promise": complaints.result_promise(complaint),
        "files": len(form.files),
        "file_names": form.file_names,
    }


RECEIPTS = "complaint_receipts"  # (in the session: submission → what its receipt shows)
SUBMISSION = re.compile(r"[A-Za-z0-9_-]{22}")  # what secrets.token_urlsafe(16) makes
FORM_REF = "form-"  # the external_ref of a public form's submission (not another system's number)
KEPT_RECEIPTS = 5


def _receipt_page(receipt: dict) -> str:
    return render_template(
        "public/complaint_done.html",
        c=receipt,
        promise=receipt["promise"],
        files=[None] * receipt["files"],
        file_names=receipt["file_names"],
    )


class ProgressForm(BaseForm):
    reference = StringField(
        "投诉编号",
        validators=[DataRequired("请填写投诉编号"), Length(max=40)],
        description="受理回执短信中的编号，如 TS20261201-000123",
    )
    phone = mobile_field("请填写提交投诉时留的手机号码")


@bp.route("/complaint/progress", methods=["GET", "POST"])
def complaint_progress_page():
    """投诉进度查询: the stage and dates of one's own complaint, by its reference and the
    mobile number given with it."""
    form = ProgressForm()
    status = 200
    if form.validate_on_submit():
        try:
            found = complaint_progress.lookup(
                form.reference.data, form.phone.data, ip=request.remote_addr or "unknown"
            )
        except TooManyAttempts as err:
            form.form_errors.append(err.message)
            status = 429
        else:
            if found is not None:
                return render_template("public/complaint_progress.html", p=found)
            form.form_errors.append("未查到与该投诉编号和手机号码相符的投诉，请核对后重试。")
            status = 404
    elif form.errors:
        status = 400
    return render_template("public/complaint_progress_form.html", form=form), status


@bp.url_value_preprocessor
def _form_body_limit(endpoint: str | None, values) -> None:
    # (url value preprocessors run before every before_request function; CSRF's reads the body)
    if endpoint == "public.complaint_form":
        request.max_content_length = file_field.FORM_MAX_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err: RequestEntityTooLarge):
    if request.endpoint != "public.complaint_form":
        return errors.handle_http(err)
    return file_field.too_large_page(
        "附件过大，投诉未提交",
        f"本次提交的附件合计过大，我们未能收到您的投诉。附件最多 {MAX_UPLOADS} 个，"
        f"每个不超过 {file_field.EACH}。请返回上一页（已填写的内容通常仍在），"
        "删减或缩小附件后重新提交。",
        back_url=url_for("public.complaint_form"),
        customer=True,
    )


# A form left open for hours (its token expired with the session) or a browser that lost its
# cookie: the customer's entries come back with a fresh token, not a dead-end error page (the
# token is still checked before the view runs; nothing is stored).
STALE_FORM = (
    "安全校验失败（页面停留时间过长），{what}尚未提交。您填写的内容已保留，"
    "请核对后再次点击“{button}”。"
)


@bp.errorhandler(CSRFError)
def _stale_form(err: CSRFError):
    if request.endpoint == "public.complaint_form":
        form = PublicComplaintForm()
        _branch_choices(form)
        form.form_errors.append(STALE_FORM.format(what="投诉", button="提交投诉"))
        return render_template("public/complaint.html", form=form), 400
    if request.endpoint == "public.complaint_progress_page":
        form = ProgressForm()
        form.form_errors.append(STALE_FORM.format(what="查询", button="查询"))
        return render_template("public/complaint_progress_form.html", form=form), 400
    return errors.handle_csrf(err)


def _throttle(ip: str) -> None:
    """At most ``limit`` web complaints an hour from one address: counted from the complaints
    stored in the last hour, and by an atomic counter of the submissions let through in this
    clock hour, since submissions sent side by side each counted the stored ones before any
    was stored (10 at once took 4 where 1 was left)."""
    limit = current_app.config.get("COMPLAINT_WEB_LIMIT", WEB_LIMIT)
    stored = complaints.web_submissions_since(ip, utcnow() - timedelta(hours=1))
    key = f"complaint-web:{ip}"
    if stored < limit:
        ratelimit.hit(key, window_seconds=3600)  # (its own commit: one increment per request)
    if stored >= limit or ratelimit.count(key, window_seconds=3600) > limit:
        hotline = current_app.config["BANK_HOTLINE"]
        other = f"拨打客服热线 {hotline}" if hotline else "到任一网点"
        raise TooManyAttempts(f"提交过于频繁，请一小时后再试，或{other}反映问题。")
