"""The public complaint form: no sign-in, CSRF, phone-friendly, limited per address."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, request, url_for
from flask_wtf.file import MultipleFileField
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.extensions import db
from app.models import Branch, BranchKind, utcnow
from app.security import uploads
from app.services import complaints
from app.services.complaints import WEB_ATTACHMENT_TYPES, WEB_MAX_ATTACHMENTS, IntakeData
from app.services.errors import ServiceError, TooManyAttempts
from app.services.imports import PHONE_RE, mobile_number
from app.web import errors
from app.web.forms import BaseForm
from app.web.public import bp

WEB_LIMIT = 5  # complaints per address per hour; COMPLAINT_WEB_LIMIT overrides
# The form's request may carry its largest allowed files plus the text: a file over a limit is
# then refused with the form's own message (the text kept), and only a larger body gets 413.
FORM_MAX_BYTES = WEB_MAX_ATTACHMENTS * uploads.ATTACHMENT_MAX_BYTES + 1024 * 1024
ATTACHMENT_HINT = (
    f"可上传截图、照片或 PDF 凭证，最多 {WEB_MAX_ATTACHMENTS} 个，"
    f"每个不超过 {uploads.mb(uploads.ATTACHMENT_MAX_BYTES)}，"
    f"支持 {uploads.kinds(WEB_ATTACHMENT_TYPES)}"
)


class PublicComplaintForm(BaseForm):
    name = StringField("您的姓名", validators=[DataRequired("请填写您的姓名"), Length(max=50)])
    # Customers write "139-0000-1234", "139 0000 1234" or "+86 139…": the separators and the
    # country code go before the check, and the eleven digits are what is stored.
    phone = StringField(
        "手机号码",
        filters=[lambda value: mobile_number(value) if value else value],
        validators=[
            DataRequired("请填写手机号码，以便我们联系您"),
            Regexp(PHONE_RE, message="请填写 11 位手机号码"),
        ],
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
        validators=[
            DataRequired("请描述您遇到的问题"),
            Length(min=10, max=3000, message="请用 10–3000 字描述问题经过"),
        ],
    )
    demand = TextAreaField("您的诉求（选填）", validators=[Optional(), Length(max=1000)])
    attachments = MultipleFileField(
        "附件（选填）",
        description=ATTACHMENT_HINT,
        render_kw={  # (for the check in the browser, static/js/complaint_form.js)
            "accept": ",".join([*sorted(WEB_ATTACHMENT_TYPES), ".jpg", ".jpeg", ".png", ".pdf"]),
            "data-max-files": WEB_MAX_ATTACHMENTS,
            "data-max-bytes": uploads.ATTACHMENT_MAX_BYTES,
            "data-max-total": uploads.ATTACHMENT_MAX_TOTAL,
            "data-kinds": uploads.kinds(WEB_ATTACHMENT_TYPES),
        },
    )
    consent = BooleanField(
        "我同意银行为处理本投诉使用我填写的个人信息", validators=[DataRequired("须同意后才能提交")]
    )

    _files: tuple[complaints.AttachmentData, ...] | None = None

    @property
    def files(self) -> tuple[complaints.AttachmentData, ...]:
        """The files chosen (an empty file input sends one part without a name), each read at
        most one byte past the size limit: enough to refuse it, never a whole large body."""
        if self._files is None:
            chosen = [f for f in self.attachments.data or () if getattr(f, "filename", "")]
            self._files = tuple(
                complaints.uploaded_file(
                    f.filename, f.stream.read(uploads.ATTACHMENT_MAX_BYTES + 1)
                )
                for f in chosen
            )
        return self._files

    @property
    def file_names(self) -> str:
        return "、".join(uploads.display_name(f.filename) for f in self.files)

    def validate_attachments(self, field) -> None:
        problems = complaints.attachment_problems("web", self.files)
        if problems:
            field.errors = [*field.errors, *problems[:-1]]
            raise ValidationError(problems[-1])


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
    if form.validate_on_submit():
        try:
            _throttle(request.remote_addr or "unknown")
            complaint, _ = complaints.create_complaint(
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
                )
            )
        except TooManyAttempts as err:
            form.form_errors.append(err.message)
            return render_template("public/complaint.html", form=form), 429
        except ServiceError as err:
            form.attach(err)
        else:
            promise = complaints.result_promise(complaint)
            return render_template(
                "public/complaint_done.html",
                c=complaint,
                promise=promise,
                files=form.files,
                file_names=form.file_names,
            ), 201
    return render_template("public/complaint.html", form=form), 400 if form.errors else 200


@bp.url_value_preprocessor
def _form_body_limit(endpoint: str | None, values) -> None:
    # (url value preprocessors run before every before_request function; CSRF's reads the body)
    if endpoint == "public.complaint_form":
        request.max_content_length = FORM_MAX_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err: RequestEntityTooLarge):
    if request.endpoint != "public.complaint_form":
        return errors.handle_http(err)
    return render_template(
        "errors/error.html",
        status=413,
        title="附件过大，投诉未提交",
        text=(
            f"本次提交的附件合计过大，我们未能收到您的投诉。附件最多 {WEB_MAX_ATTACHMENTS} 个，"
            f"每个不超过 {uploads.mb(uploads.ATTACHMENT_MAX_BYTES)}。请返回上一页（已填写的内容"
            "通常仍在），删减或缩小附件后重新提交。"
        ),
        customer=True,
        back_url=url_for("public.complaint_form"),
    ), 413


def _throttle(ip: str) -> None:
    limit = current_app.config.get("COMPLAINT_WEB_LIMIT", WEB_LIMIT)
    if complaints.web_submissions_since(ip, utcnow() - timedelta(hours=1)) >= limit:
        hotline = current_app.config["BANK_HOTLINE"]
        other = f"拨打客服热线 {hotline}" if hotline else "到任一网点"
        raise TooManyAttempts(f"提交过于频繁，请一小时后再试，或{other}反映问题。")
