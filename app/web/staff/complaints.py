"""The complaint desk: queues, staff entry, the case page and its action forms."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import db
from app.models import Role, User, utcnow
from app.models.complaint import (
    ACTION_LABELS,
    CHANNEL_LABELS,
    STATUS_LABELS,
    TRANSITIONS,
    Complaint,
)
from app.security import uploads
from app.services import analysis, complaint_letters, complaints, dashboard_filters, notify, org
from app.services import complaint_casework as casework
from app.services import complaint_clock as clock
from app.services import complaint_decisions as decisions
from app.services import complaint_evidence as evidence
from app.services import complaint_handling as handling
from app.services import complaint_ledger as ledger
from app.services import complaint_queue as queue
from app.services.complaint_files import MAX_UPLOADS
from app.services.complaints import IntakeData
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.tx import keep_loaded
from app.web import errors, file_field
from app.web.access import may_read_audit_log, roles_required
from app.web.staff import bp
from app.web.staff import complaints_forms as forms
from app.web.staff.analysis import correction_form
from app.web.support import download, id_url

STAFF_ROLES = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)
FILE_KINDS = {kind: ext.upper() for kind, ext in uploads.EXTENSIONS.items()}  # "image/png": "PNG"


def _merge(f, cid, u, v):
    target = db.session.scalar(select(Complaint).where(Complaint.reference == f.into.data.strip()))
    if target is None:
        raise NotFound("未找到该编号的投诉（或不在您的管辖范围内）", field="into")
    return casework.merge(
        cid, target.id, actor=u, new_facts=f.new_facts.data, note=f.note.data, version=v
    )


ACTIONS = {
    "accept": (
        forms.AcceptForm,
        lambda f, c, u, v: handling.accept(
            c,
            actor=u,
            capacity=f.capacity.data or None,
            identity_check=f.identity_check.data or None,
            take=bool(f.take.data),
            version=v,
        ),
    ),
    "start": (forms.PlainForm, lambda f, c, u, v: handling.start(c, actor=u, version=v)),
    "identity": (
        forms.IdentityForm,
        lambda f, c, u, v: handling.record_identity(
            c, actor=u, method=f.method.data or None, version=v
        ),
    ),
    "decline": (
        forms.DeclineForm,
        lambda f, c, u, v: handling.decline(
            c, actor=u, ground=f.ground.data or None, reason=f.reason.data, version=v
        ),
    ),
    "withdraw": (
        forms.WithdrawForm,
        lambda f, c, u, v: handling.withdraw(
            c, actor=u, reason=f.reason.data, on=f.on.data, version=v
        ),
    ),
    "pause": (
        forms.PauseForm,
        lambda f, c, u, v: handling.pause(
            c, actor=u, kind=f.kind.data, reason=f.reason.data, on=f.on.data, version=v
        ),
    ),
    "resume": (
        forms.ResumeForm,
        lambda f, c, u, v: handling.resume(c, actor=u, on=f.on.data, version=v),
    ),
    "extend": (
        forms.ExtendForm,
        lambda f, c, u, v: handling.extend(
            c, actor=u, level=int(f.level.data or 0), reason=f.reason.data, version=v
        ),
    ),
    "decide": (
        forms.DecisionForm,
        lambda f, c, u, v: handling.decide(
            c,
            actor=u,
            version=v,
            decision=handling.Decision(
                f.verified.data,
                f.basis.data,
                f.decision_text.data,
                tuple(f.remedies.data or ()),
                identity_check=f.identity_check.data or None,
            ),
        ),
    ),
    "notice": (
        forms.NoticeForm,
        lambda f, c, u, v: handling.record_notice(
            c,
            actor=u,
            method=f.method.data,
            purpose=f.purpose.data,
            outcome=f.outcome.data or None,
            note=f.note.data,
            posted_on=f.posted_on.data,
            version=v,
        ),
    ),
    "note": (
        forms.NoteForm,
        lambda f, c, u, v: handling.add_note(
            c, actor=u, text=f.text.data, kind=f.kind.data, version=v
        ),
    ),
    "assign": (
        forms.AssignForm,
        lambda f, c, u, v: casework.assign(c, f.assignee_id, actor=u, version=v),
    ),
    "assign_rule": (
        forms.PlainForm,
        lambda f, c, u, v: casework.assign_by_rule(c, actor=u, version=v),
    ),
    "classify": (
        forms.ClassifyForm,
        lambda f, c, u, v: casework.classify(
            c,
            actor=u,
            code_channel=f.code_channel.data,
            code_business=f.code_business.data,
            code_cause=f.code_cause.data,
            named_staff_ids=[int(x) for x in f.named_staff.data or []],
            add_staff=f.add_staff.data,
            named_branch_code=f.named_branch.data or "",
            major_reason=f.major_reason.data or None,
            reason=f.reason.data,
            regulator_ref=f.regulator_ref.data,
            version=v,
        ),
    ),
    "close": (
        forms.CloseForm,
        lambda f, c, u, v: casework.close(
            c,
            actor=u,
            code_channel=f.code_channel.data,
            code_business=f.code_business.data,
            code_cause=f.code_cause.data,
            root_cause=f.root_cause.data,
            unreachable=f.unreachable.data,
            version=v,
        ),
    ),
    "merge": (forms.MergeForm, _merge),
    # (no version check: a file adds to the case whatever else changed since the page was read)
    "attach": (
        forms.AttachForm,
        lambda f, c, u, v: evidence.add_attachments(c, f.files, actor=u),
    ),
    "review": (
        forms.ReviewForm,
        lambda f, c, u, v: handling.request_review(
            c, actor=u, requested_on=f.requested_on.data, reason=f.reason.data, version=v
        ),
    ),
}
SUCCESS = {
    **ACTION_LABELS,
    "notice": "已记录告知",
    "note": "已保存记录",
    "assign": "已分派",
    "assign_rule": "已按规则分派",
    "classify": "已保存分类",
    "merge": "已合并",
    "review": "已登记核查申请",
    "attach": "已补充附件",
    "extend": "已延长办理时限",
    "withdraw": "已登记客户撤回",
    "identity": "已记录身份核验",
}


def _prepare(name: str, form, complaint: Complaint) -> None:
    if isinstance(form, forms.ClassifyForm | forms.CloseForm):
        forms.fill_codes(form)
    if isinstance(form, forms.AssignForm):
        form.assignee.choices = [
            forms.SelectChoice("", "（请选择）"),
            *_people(casework.staff_choices(complaint)),
        ]
    elif isinstance(form, forms.ClassifyForm):
        form.named_staff.choices = _people(casework.named_people(complaint), unit=True)
        form.staff = casework.staff_near(complaint)  # (suggestions for add_staff)
        form.units = org.units_around(complaint.branch)  # (the field's list of suggestions)
    elif isinstance(form, forms.AttachForm) and form.attachments.data:
        form.kept = evidence.kept_sizes(complaint.id)


def _people(users, *, unit: bool = False) -> list:
    """Choices of staff; ``unit``: with their unit, for those a case names (回避), who may work
    anywhere in the bank (two 张伟 of two 分行 read alike)."""

    def label(u) -> str:
        where = f"，{u.branch.name if u.branch else '未关联机构'}" if unit else ""
        return f"{u.display_name}（{u.role_label}{where}{'' if u.active else '，已停用'}）"

    return [forms.SelectChoice(str(u.id), label(u)) for u in users]


def _blank(name: str, complaint: Complaint):
    cls = ACTIONS[name][0]
    data = {"version": complaint.version}
    if name in ("classify", "close"):
        data |= {
            "code_channel": complaint.code_channel or "",
            "code_business": complaint.code_business or "",
            "code_cause": complaint.code_cause or "",
        }
    if name == "accept":  # (an agent takes the case they accept, unless they untick it)
        data["take"] = current_user.has_role(Role.AGENT)
    if name == "classify":
        data |= {
            "named_staff": [str(i) for i in complaint.named_staff_ids or []],
            "major_reason": complaint.major_reason or "",
            "named_branch": complaint.named_branch.code if complaint.named_branch else "",
        }
    if name == "notice" and complaint.status == "declined":
        data["purpose"] = "decline"  # (Art. 18: whoever raised it is told why)
    elif name == "notice" and complaint.decided_at is None:
        data["purpose"] = "other"  # no decision to tell yet (the service refuses that purpose)
    elif name == "notice" and complaint.decision_is_review:
        data["purpose"] = "review_decision"
    if name == "decide" and complaint.status == "review_requested":
        # (the review is the customer's 核查; what is left to them is mediation, arbitration
        # and the courts: ticking 向上级机构申请核查 again is the reviewer's own choice)
        data["remedies"] = [r for r in handling.REMEDIES if r != "review"]
    if name == "assign" and complaint.assignee_id:
        data["assignee"] = str(complaint.assignee_id)
    form = cls(prefix=name, formdata=None, data=data)
    _prepare(name, form, complaint)
    if name == "extend":  # only the level this user may grant now (the service checks again)
        levels = {str(n) for n in handling.extension_levels(current_user, complaint)}
        form.level.choices = [c for c in form.level.choices if c.value in levels]
    return form


def _audit_url(complaint: Complaint) -> str | None:
    """The audit log filtered to this case, for whoever may read the log (else None)."""
    if not may_read_audit_log(current_user):
        return None
    return url_for("admin.audit_log", object="complaint", object_id=complaint.id)


def _render(
    complaint: Complaint,
    bound: tuple[str, object] | None = None,
    status: int = 200,
    revealed: bool = False,
    reveal_form=None,
):
    action_forms = {name: _blank(name, complaint) for name in ACTIONS}
    if bound:
        action_forms[bound[0]] = bound[1]
    now = utcnow()
    messages = notify.messages_for("complaint", complaint.id)
    text_analysis = analysis.results_for("complaint", [complaint.id]).get(complaint.id)
    recused = complaints.conflicted(complaint, current_user)
    in_review = complaint.status == "review_requested"
    history = complaints.history(complaint)
    return render_template(
        "staff/complaints/detail.html",
        c=complaint,
        f=action_forms,
        now=now,
        band=clock.band(complaint.due_at, now) if complaint.deadline_running else None,
        days_left=clock.days_left(complaint.due_at, now),
        history=history,
        messages=messages,
        message_by_id={m.id: m for m in messages},  # a notice's delivery as it stands now
        attachments=complaints.attachments(complaint),
        max_files=MAX_UPLOADS,
        max_total=uploads.ATTACHMENT_MAX_TOTAL,
        file_kinds=FILE_KINDS,
        duplicates=queue.possible_duplicates(complaint),
        taxonomy=forms.nlp.load_taxonomy(),
        remedies=handling.REMEDIES,
        identity_checks=handling.IDENTITY_CHECKS,
        revealed=revealed,
        reveal_form=reveal_form or forms.RevealForm(prefix="reveal"),
        page_url=url_for("staff.complaint_detail", complaint_id=complaint.id),  # (page_url.js)
        analysis=text_analysis,
        correction=correction_form(text_analysis),
        notice_proven=casework.notice_proven(complaint),
        active=bound[0] if bound else None,
        extend_levels=[] if recused else handling.extension_levels(current_user, complaint),
        recused=recused,
        may_review=in_review and handling.may_decide_review(current_user, complaint),
        superior=handling.superior_names(complaint) if in_review else "",
        original=decisions.original_if_reviewed(history),
        can_notify=handling.notice_target(complaint) is not None,
        expired_on=handling.run_out_on(complaint) if complaint.clock_running else None,
        pause=clock.open_pause(complaint.clock_facts()) if complaint.status == "paused" else None,
        left_on_resume=clock.days_left_on_resume(complaint.clock_facts()),
        audit_url=_audit_url(complaint),
    ), status


_TAB_URLS: dict[str, dict[str, str]] = {}


def _tab_urls() -> dict[str, str]:
    """The queue tabs' addresses, built once per process (and script root), like the menu's:
    eight url_for calls on every view of the busiest staff page."""
    found = _TAB_URLS.get(request.script_root)
    if found is None:
        tabs = {key: url_for("staff.complaint_queue", queue=key) for key in queue.QUEUES}
        found = _TAB_URLS[request.script_root] = tabs
    return found


@bp.get("/complaints")
@roles_required(*STAFF_ROLES)
def complaint_queue():
    args = request.args
    asked = _asked_filters()
    filters = queue.reconcile(asked)
    counts = queue.counts(current_user)
    page = queue.search(
        filters,
        current_user,
        page=args.get("page", 1, type=int),
        known_total=counts[filters.queue],
    )
    return render_template(
        "staff/complaints/queue.html",
        page=page,
        rows=queue.queue_rows(page.items, utcnow()),
        detail_url=id_url("staff.complaint_detail", "complaint_id"),
        filters=filters,
        moved_from=queue.QUEUES[asked.queue] if asked.queue != filters.queue else None,
        queues=queue.QUEUES,
        tab_urls=_tab_urls(),
        counts=counts,
        statuses=STATUS_LABELS,
        channels=CHANNEL_LABELS,
        business=forms.nlp.load_taxonomy().dimension("B").entries,
        may_export=current_user.role in LEDGER_ROLES,
        export_args={k: v for k, v in args.items() if k in LEDGER_ARGS},
    )


# 投诉台账: managers export what the list's filters select
LEDGER_ROLES = (Role.BRANCH_MANAGER, Role.HQ_MANAGER)
LEDGER_ARGS = ("queue", "q", "status", "channel", "code_business", "received_from", "received_to")


def _asked_filters(strict: bool = False) -> queue.Filters:
    """The list's filters from the address; a received date that is not one is left out, with a
    message saying so. ``strict`` (an export): such a date, or a range ending before it
    starts, raises ValidationFailed instead; a file never covers other days than were asked."""
    args = request.args
    days = {}
    for name, label in (("received_from", "收到日期起"), ("received_to", "收到日期止")):
        raw = args.get(name, "").strip()
        try:
            days[name] = dashboard_filters.parse_date(raw, label, name) if raw else None
        except ValidationFailed as err:  # (not a date, or outside 2000–2099)
            days[name] = None
            if strict:
                raise ValidationFailed(
                    f"{err.message}（“{raw[:20]}”），未导出，请修改后重试", field=name
                ) from err
            flash(f"{err.message}（“{raw[:20]}”），已忽略", "warning")
    start, end = days["received_from"], days["received_to"]
    if strict and start and end and start > end:
        raise ValidationFailed(
            "收到日期止早于收到日期起，未导出，请修改后重试", field="received_to"
        )
    return queue.Filters(
        queue=args.get("queue", "open") if args.get("queue") in queue.QUEUES else "open",
        q=args.get("q", ""),
        status=args.get("status", ""),
        channel=args.get("channel", ""),
        code_business=args.get("code_business", ""),
        **days,
    )


@bp.get("/complaints/export.<any(csv, xlsx):fmt>")
@roles_required(*LEDGER_ROLES)
def complaint_ledger_export(fmt: str):
    """The cases the list's filters select as 投诉台账 (CSV or Excel); too many go back to the
    list with the count, and so does a received date that is not one (with the message)."""
    try:
        filters = queue.reconcile(_asked_filters(strict=True))
        body = ledger.export(filters, current_user, fmt)
    except ValidationFailed as err:
        flash(err.message, "error")
        return redirect(url_for("staff.complaint_queue", **request.args))
    return download(body, fmt, f"complaint-ledger-{clock.local_date(utcnow()):%Y%m%d}")


@bp.get("/complaints/<int:complaint_id>")
@roles_required(*STAFF_ROLES)
def complaint_detail(complaint_id: int):
    return _render(complaints.get_complaint(complaint_id))


@bp.post("/complaints/<int:complaint_id>/<action>")
@roles_required(*STAFF_ROLES)
def complaint_action(complaint_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    complaint = complaints.get_complaint(complaint_id)
    cls, run = ACTIONS[action]
    form = cls(prefix=action)
    _prepare(action, form, complaint)
    if form.validate_on_submit():
        try:
            run(form, complaint_id, current_user, form.seen_version)
        except ServiceError as err:
            form.attach(err)
            if isinstance(err, Conflict):
                complaint = complaints.get_complaint(complaint_id)
                form.version.data = complaint.version  # resubmitting now applies to the latest
                if _no_longer_offered(action, complaint):
                    form.form_errors[:] = [_overtaken(action, complaint)]
                elif action == "identity" and complaint.identity_check:
                    # (recorded meanwhile by someone else: its form is gone, nothing to redo)
                    form.form_errors[:] = [handling.identity_recorded(complaint)]
            return _render(complaint, (action, form), err.status)
        done = complaints.get_complaint(complaint_id)
        flash(_done(action, done), "success")
        if action in AUTO_NOTICES and handling.notice_target(done) is None:
            flash(_untold(action), "warning")
        return redirect(url_for("staff.complaint_detail", complaint_id=complaint_id))
    if _no_longer_offered(action, complaint):  # (its form is not on the page to show why)
        label = ACTION_LABELS[MOVES[action][0]]
        form.form_errors[:] = [f"该投诉当前状态为“{complaint.status_label}”，不能“{label}”。"]
    return _render(complaint, (action, form), 400)


# The page's status moves, by the transitions that offer each form (one decision form serves
# both the first decision and a review's).
MOVES = {
    "accept": ("accept",),
    "decline": ("decline",),
    "start": ("start",),
    "pause": ("pause",),
    "resume": ("resume",),
    "decide": ("decide", "decide_review"),
    "close": ("close",),
    "withdraw": ("withdraw",),
    "review": ("request_review",),
}


def _no_longer_offered(action: str, complaint: Complaint) -> bool:
    moves = MOVES.get(action)
    return moves is not None and not set(moves) & set(complaint.allowed_actions())


def _overtaken(action: str, complaint: Complaint) -> str:
    """A conflict on a status move the case no longer offers: its form is gone from the page,
    so the usual 请核对最新状态后重新提交 would send the handler looking for it. Says who moved
    the case on, where it stands, and that this step is done or no longer possible."""
    who = handling.last_actor(complaint.id)
    label = ACTION_LABELS[MOVES[action][0]]
    done = TRANSITIONS[MOVES[action][0]][1] == complaint.status
    return f"该投诉已被{who}修改，当前状态为“{complaint.status_label}”，" + (
        f"无须再“{label}”。" if done else f"不能再“{label}”。"
    )


# The actions that tell the customer (or whoever raised a declined complaint) by themselves,
# and the notice each sends.
AUTO_NOTICES = {"decline": "decline", "pause": "pause", "extend": "extension"}


def _untold(action: str) -> str:
    """The warning when the action's notice could not go out: no phone or e-mail (as intake
    says of the receipt)."""
    purpose = AUTO_NOTICES[action]
    whom = "投诉提出人" if action == "decline" else "客户"
    return (
        f"投诉人未留手机号码或电子邮箱，未能自动发送{handling.NOTICE_PURPOSES[purpose]}，"
        f"请以电话、书面或当面方式告知{whom}，并在“记录告知”中留存告知凭证"
    )


def _done(action: str, complaint: Complaint) -> str:
    """What the action did, on which case, and the deadline that now holds ("受理" alone
    told a handler little)."""
    what = SUCCESS.get(action, "已保存")
    if action == "decide" and complaint.status == "review_decided":
        what = ACTION_LABELS["decide_review"]
    text = f"{complaint.reference}：{what if what.startswith('已') else '已' + what}"
    due = clock.local_date(complaint.due_at) if complaint.due_at else None
    late = due is not None and due < clock.local_date(utcnow())  # (no "时限至" a past day)
    if complaint.awaiting_notice and due:
        told = "核查决定" if complaint.decision_is_review else "处理决定"
        text += (
            f"，已超过办理时限（{due:%Y年%m月%d日}），请尽快将{told}告知客户并留存凭证"
            if late
            else f"，请于 {due:%Y年%m月%d日}（含当日）前将{told}告知客户并留存凭证"
        )
    elif complaint.clock_running and due:
        text += (
            f"，已超过办理时限（{due:%Y年%m月%d日}）"
            if late
            else f"，办理时限至 {due:%Y年%m月%d日}（含当日）"
        )
    elif complaint.status == "paused":
        text += "，办理时限中止计算"
    return text


@bp.post("/complaints/<int:complaint_id>/reveal")
@roles_required(*STAFF_ROLES)
def complaint_reveal(complaint_id: int):
    form = forms.RevealForm(prefix="reveal")
    if form.validate_on_submit():
        try:
            complaint = complaints.reveal_contact(
                complaint_id, actor=current_user, reason=form.reason.data
            )
            return _render(complaint, revealed=True, reveal_form=form)
        except ServiceError as err:
            form.attach(err)
    return _render(complaints.get_complaint(complaint_id), status=400, reveal_form=form)


@bp.get("/complaints/<int:complaint_id>/letter")
@roles_required(*STAFF_ROLES)
def complaint_letter(complaint_id: int):
    """The printable 处理决定告知书 of the case's current decision (audited: it names the
    complainant in full)."""
    letter = complaint_letters.decision_letter(complaint_id, actor=current_user)
    return render_template("staff/complaints/letter.html", letter=letter, id=complaint_id)


@bp.get("/complaints/<int:complaint_id>/attachments/<int:attachment_id>")
@roles_required(*STAFF_ROLES)
def complaint_attachment(complaint_id: int, attachment_id: int):
    with keep_loaded():
        item, name = complaints.download_attachment(complaint_id, attachment_id, actor=current_user)
    return Response(
        item.data,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _entry_choices(form) -> None:
    branches = org.branches_in_scope()  # a case of another subtree would be 404 once saved
    default = "（默认：客户所属机构）"
    form.branch_code.description = "不选时记在客户所属机构"
    if current_user.branch:  # (see IntakeData.receiving_branch_code)
        # (the rule under the field: in the option it was cut off mid-sentence)
        form.branch_code.description = (
            "不选时记在客户所属机构；客户不在本机构辖内或无法确定客户时，记在本机构"
        )
    # (a closed unit or a product no longer sold stays on offer, marked: a complaint about
    # what happened there is still taken and counted where it arose)
    form.branch_code.choices = [forms.SelectChoice("", default)] + [
        forms.SelectChoice(b.code, b.option_label) for b in branches
    ]
    form.product_code.choices = [forms.SelectChoice("", "（未指明）")] + [
        forms.SelectChoice(p.code, p.option_label) for p in org.products_for_records()
    ]


@bp.route("/complaints/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def complaint_new():
    form = forms.EntryForm()
    _entry_choices(form)
    if form.validate_on_submit():
        try:
            complaint, created = complaints.create_complaint(_intake(form), actor=current_user)
            if not created:  # (the regulator's number of a case of this complainant)
                raise ValidationFailed(
                    f"监管转办编号 {complaint.regulator_ref} 已登记为该投诉人的投诉 "
                    f"{complaint.reference}，本次未重复登记；新的材料请在该投诉中补充附件或记录",
                    field="regulator_ref",
                )
        except ServiceError as err:
            form.attach(err)
        else:
            files = f"（附件 {len(form.files)} 个）" if form.files else ""
            if complaints.can_acknowledge(complaint):
                # (what became of the receipt: sent, on its way or failed, and to whom)
                sent = complaints.receipt_sent(complaint)
                flash(f"已登记投诉 {complaint.reference}{files}。{sent}", "success")
            else:
                flash(
                    f"已登记投诉 {complaint.reference}{files}。投诉人未留手机号码或电子邮箱，"
                    "未能自动发送受理回执，请以电话、书面或当面方式告知其已受理，并添加联系记录",
                    "warning",
                )
            return redirect(url_for("staff.complaint_detail", complaint_id=complaint.id))
    return render_template("staff/complaints/new.html", form=form), 400 if form.errors else 200


def _intake(form) -> IntakeData:
    received = form.received_at.data
    if isinstance(received, datetime):
        received = received.replace(tzinfo=clock.TZ)
    return IntakeData(
        channel=form.channel.data,
        content=form.content.data,
        name=form.name.data,
        external_id=form.external_id.data or None,
        phone=form.phone.data or None,
        email=form.email.data or None,
        branch_code=form.branch_code.data or None,
        receiving_branch_code=current_user.branch.code if current_user.branch else None,
        product_code=form.product_code.data or None,
        received_at=received,
        demand=form.demand.data,
        regulator_ref=form.regulator_ref.data,
        regulator_received_on=form.regulator_received_on.data,
        group_size=form.group_size.data,
        major_reason=form.major_reason.data or None,
        attachments=form.files,
    )


def _takes_files() -> bool:
    """The request is one of the forms that upload files (staff entry, 补充附件)."""
    args = request.view_args or {}
    return request.endpoint == "staff.complaint_new" or (
        request.endpoint == "staff.complaint_action" and args.get("action") == "attach"
    )


@bp.url_value_preprocessor
def _form_body_limit(endpoint: str | None, values) -> None:
    # (url value preprocessors run before every before_request function; CSRF's reads the body)
    if _takes_files():
        request.max_content_length = file_field.FORM_MAX_BYTES


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(err: RequestEntityTooLarge):
    if not _takes_files():
        return errors.handle_http(err)
    case = (request.view_args or {}).get("complaint_id")
    return file_field.too_large_page(
        "附件过大，未能保存",
        f"本次提交的附件合计过大，未能保存。附件{file_field.LIMITS}；扫描件请降低分辨率"
        "或改用黑白模式。请返回上一页，删减或缩小附件后重新提交。",
        back_url=url_for("staff.complaint_detail", complaint_id=case)
        if case
        else url_for("staff.complaint_new"),
        back_label="返回投诉详情" if case else "重新登记",
    )


@bp.app_template_filter("filesize")
def file_size(size: int) -> str:
    return uploads.size_text(size)


@bp.app_template_filter("actor")
def actor_label(stored: str) -> tuple[str, str | None]:
    """A history entry's actor as (display name, 工号), for
    ``{% set who, login = e.actor_name|actor %}``."""
    return complaints.actor_parts(stored)


def staff_name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else "—"
