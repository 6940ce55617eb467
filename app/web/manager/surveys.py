"""Survey management for head-office managers: surveys, campaigns, trigger rules, outbox."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import segno
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from app.models import CampaignStatus, Role, utcnow
from app.models.org import PRODUCT_CATEGORY_LABELS, SEGMENT_LABELS
from app.services import (
    campaigns,
    channels,
    invitations,
    org,
    responses,
    survey_outbox,
    survey_triggers,
    surveys,
    system_status,
)
from app.services.errors import Conflict, ServiceError, ValidationFailed
from app.services.paging import Page
from app.services.survey_triggers import EVENT_LABELS
from app.web.access import roles_required
from app.web.errors import mask_survey_links
from app.web.manager import bp, survey_builder, surveys_import  # noqa: F401  (register routes)
from app.web.manager.surveys_forms import (
    CUSTOM_EVENT,
    CampaignForm,
    CloneForm,
    DraftForm,
    NewSurveyForm,
    TriggerForm,
)
from app.web.public.survey import render_form
from surveys import answers_from_form, validate
from surveys.snippets import SNIPPETS

HQ = Role.HQ_MANAGER


def _survey_choices(published_only: bool = False) -> list[SelectChoice]:
    """The surveys by their Chinese titles; the code is added only to tell apart surveys of
    the same title (a clone keeps its original's)."""
    rows = [s for s in surveys.list_surveys() if not published_only or s.serving]
    titles = Counter(s.title for s in rows)
    return [
        SelectChoice(s.id, s.title if titles[s.title] == 1 else f"{s.title}（{s.code}）")
        for s in rows
    ]


@bp.route("/surveys", methods=["GET", "POST"])
@roles_required(HQ)
def surveys_list():
    form = NewSurveyForm()
    form.template.choices = [SelectChoice(c, t) for c, t in surveys.template_choices()]
    if form.validate_on_submit():
        try:
            survey = surveys.create_from_template(
                form.template.data, code=form.code.data, actor=current_user
            )
        except ServiceError as err:
            form.attach(err)
        else:
            made = "空白问卷" if form.template.data == surveys.BLANK else "模板"
            flash(f"已从{made}创建问卷草稿", "success")
            return redirect(url_for("manager.survey_edit", survey_id=survey.id))
    page = render_template("manager/surveys/list.html", rows=surveys.list_surveys(), form=form)
    return page, 400 if form.errors else 200


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@roles_required(HQ)
def survey_edit(survey_id: int):
    survey = surveys.get_survey(survey_id)
    form = DraftForm(
        obj=survey if request.method == "GET" else None,
        definition=surveys.editable_text(survey),
    )
    problems: tuple[surveys.Problem, ...] = ()
    # Saved from the form-based designer: its data, written out as YAML here (else the YAML),
    # before any check, so that a page shown again has the form's edits in its YAML view too.
    posted = (request.form.get("definition_json") or None) if request.method == "POST" else ""
    unreadable = None
    if posted:
        try:
            form.definition.data = surveys.designer_text(posted)
        except surveys.DefinitionInvalid as err:
            unreadable = err
    if form.validate_on_submit():
        try:
            if unreadable:
                raise unreadable
            surveys.update_draft(
                survey_id,
                title=form.title.data,
                description=form.description.data,
                text=form.definition.data,
            )
        except surveys.DefinitionInvalid as err:
            form.attach(err)
            problems = err.problems  # every fault, each with its line, beside the text box
        except ServiceError as err:
            form.attach(err)
        else:
            flash("草稿已保存", "success")
            return redirect(url_for("manager.survey_edit", survey_id=survey_id))
    page = render_template(
        "manager/surveys/edit.html",
        survey=survey,
        form=form,
        clone_form=CloneForm(),
        problems=problems,
        snippets=SNIPPETS,
        builder=survey_builder.page_context(survey, posted=posted, problems=problems),
    )
    return page, 400 if form.errors else 200


@bp.post("/surveys/<int:survey_id>/<any(publish, close, reopen, clone):action>")
@roles_required(HQ)
def survey_action(survey_id: int, action: str):
    form = CloneForm()
    try:
        if action == "publish":
            before = surveys.get_survey(survey_id).latest_version
            version = surveys.publish(survey_id, actor=current_user)
            if version is before:
                flash(f"内容与第 {version.number} 版相同，未生成新版本；问卷已恢复发布", "success")
            else:
                flash(f"已发布第 {version.number} 版", "success")
        elif action == "close":
            surveys.close(survey_id)
            flash("问卷已关闭，不再发出新的邀请", "success")
        elif action == "reopen":
            if surveys.reopen_draft(survey_id).serving:
                flash("已进入修订，发布前仍使用上一版", "success")
            else:
                flash("已进入修订；问卷仍处于关闭状态，发布新版本后才会重新发出邀请", "success")
        elif form.validate_on_submit():
            copy = surveys.clone(survey_id, code=form.code.data, actor=current_user)
            flash("已复制为新的草稿", "success")
            return redirect(url_for("manager.survey_edit", survey_id=copy.id))
        else:
            flash(next(iter(form.code.errors), "请填写新问卷代码"), "error")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("manager.survey_edit", survey_id=survey_id))


# The edit page's unsaved draft, previewed: its fields, carried in the preview page so that a
# test submission there is checked against the same draft (nothing of it is stored).
UNSAVED_FIELDS = ("preview_text", "preview_title", "preview_description")


@bp.route("/surveys/<int:survey_id>/preview", methods=["GET", "POST"])
@roles_required(HQ)
def survey_preview(survey_id: int):
    """The customer's page for the saved draft or, posted from the edit page (预览 with
    unsaved changes), for the draft as it stands there; answers submitted are only checked."""
    survey = surveys.get_survey(survey_id)
    back = url_for("manager.survey_edit", survey_id=survey_id)
    carried: dict[str, str] = {}
    if request.method == "POST" and request.form.get("preview_unsaved"):
        carried, refused = _unsaved_draft()
        if refused:
            return _refused(survey, **refused)
    elif request.method == "POST" and "preview_text" in request.form:
        carried = {name: request.form.get(name, "") for name in UNSAVED_FIELDS}
    if carried:
        try:
            definition = surveys.parse_draft(
                carried["preview_text"],
                title=carried["preview_title"],
                description=carried["preview_description"],
            )
        except (surveys.DefinitionInvalid, ValidationFailed) as err:
            return _refused(survey, problems=getattr(err, "problems", None) or [err])
    else:
        definition = surveys.draft_definition(survey)
    link = responses.SurveyLink(definition)
    raw, errors = {}, {}
    if request.method == "POST" and not request.form.get("preview_unsaved"):
        raw = answers_from_form(link.definition, request.form)
        errors = validate(link.definition, raw).errors
        if not errors:
            flash("预览提交通过校验（预览不保存数据）", "success")
    return render_form(
        link,
        raw=raw,
        errors=errors,
        preview=True,
        back_url=back,
        with_csrf=True,
        carried=carried,
    )


def _refused(survey, **found) -> tuple[str, int]:
    """The page saying why the draft cannot be previewed: its ``problems`` or ``messages``."""
    return render_template("manager/surveys/preview_refused.html", survey=survey, **found), 400


def _unsaved_draft() -> tuple[dict[str, str], dict]:
    """The edit page's fields as the preview carries them, or what keeps them from a preview
    (the checks a save makes of the title and description, and a form that does not read)."""
    form = DraftForm()
    text = form.definition.data or ""
    posted = request.form.get("definition_json") or None
    try:
        if posted:
            text = surveys.designer_text(posted)
    except surveys.DefinitionInvalid as err:
        return {}, {"problems": [err]}
    if not form.validate():
        return {}, {"messages": [e for errors in form.errors.values() for e in errors]}
    fields = (text, form.title.data or "", form.description.data or "")
    return dict(zip(UNSAVED_FIELDS, fields, strict=True)), {}


def _local(value: datetime) -> datetime:
    return value.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


@bp.route("/campaigns", methods=["GET"])
@roles_required(HQ)
def campaigns_list():
    rows = campaigns.list_campaigns()
    answers = campaigns.answer_counts(c.id for c in rows)
    return render_template(
        "manager/surveys/campaigns.html",
        rows=rows,
        answers=answers,
        waiting=campaigns.WAITING_NOTES,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@roles_required(HQ)
def campaign_new():
    if request.method == "GET":
        now = utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
        start, end = campaigns.default_window(now)
        form = CampaignForm(window_start=start, window_end=end)
    else:
        form = CampaignForm()
    form.survey_id.choices = _survey_choices(published_only=True)
    form.branch_id.choices = [
        SelectChoice(b.id, b.option_label) for b in org.list_branches(active_only=True)
    ]
    form.segment.choices = [SelectChoice(k, v) for k, v in SEGMENT_LABELS.items()]
    form.product_id.choices = [
        SelectChoice(p.id, p.name) for p in org.list_products(active_only=True)
    ]
    if form.validate_on_submit():
        try:
            campaign = campaigns.create_campaign(_campaign_input(form), actor=current_user)
        except ServiceError as err:
            form.attach(err)
        else:
            flash("调查活动已创建", "success")
            if campaign.note:
                flash(campaign.note, "warning")
            return redirect(url_for("manager.campaign_detail", campaign_id=campaign.id))
    page = render_template("manager/surveys/campaign_new.html", form=form)
    return page, 400 if form.errors else 200


def _campaign_input(form: CampaignForm) -> campaigns.CampaignInput:
    return campaigns.CampaignInput(
        name=form.name.data,
        survey_id=form.survey_id.data,
        channel=form.channel.data,
        audience=form.audience.data,
        branch_id=form.branch_id.data,
        product_id=form.product_id.data,
        segment=form.segment.data,
        list_text=form.list_text.data or "",
        window_start=_local(form.window_start.data),
        window_end=_local(form.window_end.data),
        expires_days=form.expires_days.data,
        reminder_days=form.reminder_days.data,
        quota=form.answer_cap.data if form.audience.data == "anonymous" else form.quota.data,
        once_per_device=form.once_per_device.data,
    )


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(HQ)
def campaign_detail(campaign_id: int):
    campaign = campaigns.get_campaign(campaign_id)
    public_link = campaigns.public_link(campaign)
    return render_template(
        "manager/surveys/campaign.html",
        campaign=campaign,
        skips=campaigns.skip_summary(campaign_id),
        unknown_ids=campaigns.unknown_list_ids(campaign),
        # (开始发送 pressed before the window or in the quiet hours: the minute's job sends it)
        held=campaign.note in campaigns.WAITING_NOTES,
        stalled=campaigns.stalled(campaign),
        public_link=public_link,
        link_lost=public_link == campaigns.LINK_LOST,
        # what the customers will receive, with a sample link (their own differ in the token)
        previews=None
        if public_link
        else channels.preview(
            campaign.channel,
            title=campaign.version.definition["title"],
            url=invitations.link_for(invitations.new_token()),
            days=campaign.expires_days,
            reminder_days=campaign.reminder_days,
        ),
        # (an anonymous link takes answers until the campaign ends or its window closes)
        link_open=campaign.status != CampaignStatus.CLOSED and campaign.window_end > utcnow(),
        answers=campaigns.answer_counts([campaign_id]).get(campaign_id, 0),
        closed=campaigns.audience_closed(campaign),
        # (the 开始发送 button's warning: how many customers a run would now reach)
        pending=campaigns.audience_pending(campaign)
        if campaign.audience != "anonymous" and campaign.status != CampaignStatus.CLOSED
        else None,
    )


QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# (a character a file name may not carry on Windows or in a header; each becomes "_")
_NOT_IN_FILE_NAMES = re.compile(r'[\x00-\x1f\x7f\\/:*?"<>|;]')


def qr_code(link: str, fmt: str) -> bytes:
    """The link as a QR code (segno, pure Python), for posters and the branches' tablets: error
    correction M (a poster gets scuffed), the standard quiet zone of 4 modules, black on white.
    The SVG prints at 1.5 mm a module (about 6 cm wide) and scales to any size; the PNG has 16
    px a module (about 650 px wide for a link of usual length)."""
    code = segno.make_qr(link, error="m", boost_error=False)
    out = io.BytesIO()
    if fmt == "svg":
        code.save(
            out, kind="svg", scale=1.5, unit="mm", border=4, light="#fff", title="调查问卷二维码"
        )
    else:
        code.save(out, kind="png", scale=16, border=4, light="#fff")
    return out.getvalue()


@bp.get("/campaigns/<int:campaign_id>/qr.<any(svg, png):fmt>")
@roles_required(HQ)
def campaign_qr(campaign_id: int, fmt: str):
    """The anonymous link's QR code, shown on the campaign's page; ``?download=1`` saves it as a
    file named after the campaign. 404 for a campaign without a public link."""
    campaign = campaigns.get_campaign(campaign_id)
    link = campaigns.public_link(campaign)
    if link is None or link == campaigns.LINK_LOST:
        abort(404)
    reply = Response(qr_code(link, fmt), mimetype=QR_TYPES[fmt])
    if request.args.get("download"):
        name = _NOT_IN_FILE_NAMES.sub("_", campaign.name.strip())[:60] or f"活动{campaign.id}"
        name = f"{name}-二维码.{fmt}"
        fallback = f"campaign-{campaign.id}-qr.{fmt}"  # (plain ASCII for old clients)
        reply.headers["Content-Disposition"] = (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        )
    return reply


@bp.post("/campaigns/<int:campaign_id>/<any(send, close):action>")
@roles_required(HQ)
def campaign_action(campaign_id: int, action: str):
    from app.jobs import broker
    from app.jobs.surveys import send_campaign

    if action == "close":
        campaigns.close_campaign(campaign_id)
        flash("活动已结束", "success")
    elif campaigns.get_campaign(campaign_id).status == CampaignStatus.CLOSED:
        campaigns.run_campaign(campaign_id)  # (sends nothing; says why on its status line)
        flash(f"本次未发送：{campaigns.CLOSED_NOTE}", "warning")
    elif closed := campaigns.audience_closed(campaigns.get_campaign(campaign_id)):
        flash(f"本次未发送：{closed}", "warning")
    else:
        if current_app.config.get("CELERY_BROKER_URL"):
            # A worker sends and the page shows progress; with the broker down, send inline.
            broker.send(
                send_campaign,
                (campaign_id,),
                fallback=lambda: campaigns.run_campaign(campaign_id),
            )
            flash("已交给后台发送，进度见下方", "success")
        else:
            done = campaigns.run_campaign(campaign_id)  # embedded set-up: inline, like eager jobs
            if done.note in campaigns.WAITING_NOTES:
                flash(f"暂未发送：{done.note}", "info")
            elif done.note:
                flash(f"本次未发送：{done.note}", "warning")
            else:
                flash(f"已发送 {done.sent_count} 人，跳过 {done.skipped_count} 人", "success")
    return redirect(url_for("manager.campaign_detail", campaign_id=campaign_id))


@bp.route("/triggers", methods=["GET", "POST"])
@roles_required(HQ)
def triggers():
    form = TriggerForm()
    form.survey_id.choices = _survey_choices(published_only=True)
    form.event_type.choices = [
        *(SelectChoice(code, label) for code, label in EVENT_LABELS.items()),
        SelectChoice(CUSTOM_EVENT, "其他（自定义事件代码）"),
    ]
    form.product_scope.choices = [
        SelectChoice("", "全部产品"),
        *(
            SelectChoice(f"category:{code}", f"{label}类（全部）", optgroup="产品类别")
            for code, label in PRODUCT_CATEGORY_LABELS.items()
        ),
        *(
            SelectChoice(f"product:{p.id}", p.name, optgroup="单个产品")
            for p in org.list_products(active_only=True)
        ),
    ]
    form.branch_id.choices = [
        SelectChoice(0, "全行"),
        *(SelectChoice(b.id, b.option_label) for b in org.list_branches(active_only=True)),
    ]
    if form.validate_on_submit():
        try:
            survey_triggers.add_rule(
                event_type=form.event_code(),
                survey_id=form.survey_id.data,
                action=form.action.data,
                channel=form.channel.data,
                delay_hours=form.delay_hours.data,
                **form.scope(),
            )
        except ServiceError as err:
            if form.event_type.data == CUSTOM_EVENT and "event_type" in err.fields:
                err.fields["custom_event"] = err.fields.pop("event_type")  # (typed there)
            form.attach(err)
        else:
            flash("触发规则已添加", "success")
            return redirect(url_for("manager.triggers"))
    rules = survey_triggers.list_rules()
    page = render_template(
        "manager/surveys/triggers.html",
        rules=rules,
        form=form,
        event_label=survey_triggers.event_label,
        activity=survey_triggers.rule_activity(r.id for r in rules),
        activity_days=survey_triggers.ACTIVITY_DAYS,
        deletable={r.id for r in rules if not survey_triggers.may_have_scheduled(r)},
    )
    return page, 400 if form.errors else 200


@bp.post("/triggers/<int:rule_id>/delete")
@roles_required(HQ)
def trigger_delete(rule_id: int):
    try:
        event = survey_triggers.delete_rule(rule_id)
    except Conflict as err:
        flash(err.message, "error")
    else:
        flash(f"已删除“{event}”的触发规则", "success")
    return redirect(url_for("manager.triggers"))


@bp.post("/triggers/<int:rule_id>/toggle")
@roles_required(HQ)
def trigger_toggle(rule_id: int):
    rule = survey_triggers.toggle_rule(rule_id)
    flash("规则已启用" if rule.active else "规则已停用", "success")
    return redirect(url_for("manager.triggers"))


@bp.get("/outbox")
@roles_required(HQ)
def outbox():
    """The messages, newest first, filtered (channel, status, kind, days, recipient) and paged;
    a bad filter value is named on the page (400) and nothing is listed."""
    args = {k: v for k, v in request.args.items() if k in survey_outbox.FILTER_ARGS}
    try:
        filters, errors = survey_outbox.parse_filter(args), {}
    except ValidationFailed as err:
        filters, errors = None, err.fields
    page = (
        survey_outbox.list_messages(filters, page=request.args.get("page", 1, type=int))
        if filters
        else Page([], 1, 1, 0)
    )
    left_out, kept = system_status.outbox_channels(current_app.config)
    # (a preview shows no usable survey link: its token is masked, as in the logs)
    return render_template(
        "manager/surveys/outbox.html",
        outbox_only=[survey_outbox.CHANNELS.get(c, c) for c in (*left_out, *kept)],
        page=page,
        args=args,
        filters=filters,
        errors=errors,
        channels=survey_outbox.CHANNELS,
        statuses=survey_outbox.STATUS_LABELS,
        kinds=survey_outbox.KIND_LABELS,
        backends=survey_outbox.BACKEND_LABELS,
        page_size=survey_outbox.PAGE_SIZE,
        preview=lambda body: mask_survey_links(body, keep=4),
    ), (400 if errors else 200)
