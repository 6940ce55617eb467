"""Managers' dashboards (看板): pages, drill-down lists, table exports, the regulator report and
the annual complaint disclosure."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Role
from app.services import (
    annual_disclosure,
    dashboard_filters,
    dashboard_pages,
    dashboard_voice,
    exports,
    regulator_report,
    rollups_tracking,  # noqa: F401  (registers the rollup refresh listener)
    topic_labels,
)
from app.services import dashboard_drill as drill
from app.services.dashboard_pages_more import PAGES
from app.services.errors import ValidationFailed
from app.web.access import may_open_responses, roles_required
from app.web.manager import bp
from app.web.manager.dashboards_charts import config_json, figure_json
from app.web.support import DOWNLOAD_TYPES, download

MANAGERS = (Role.BRANCH_MANAGER, Role.HQ_MANAGER)
TABS = [
    ("overview", "总览"),
    ("branches", "机构"),
    ("products", "产品与渠道"),
    ("complaints", "投诉"),
    ("handlers", "处理人员"),
    ("voice", "客户之声"),
    ("followups", "回访"),
    ("surveys", "问卷结果"),
]
DRILL_TITLES = {"responses": "答卷明细", "complaints": "投诉明细"}


def _filters():
    """Filters from the URL; on a bad value, the defaults plus a Chinese message."""
    try:
        return dashboard_filters.parse(request.args), None
    except ValidationFailed as err:
        return dashboard_filters.parse({}), err.message


def _build(name: str, filters):
    if name == "overview":
        return dashboard_pages.overview(filters)
    if name not in PAGES:
        abort(404)
    return PAGES[name](filters)


def _safe_json(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@bp.get("/dashboards/", defaults={"name": "overview"})
@bp.get("/dashboards/<name>")
@roles_required(*MANAGERS)
def dashboards(name: str):
    filters, error = _filters()
    data = _build(name, filters)
    figures = {c.id: _safe_json(figure_json(c)) for c in data.charts}
    return render_template(
        "manager/dashboards/page.html",
        name=name,
        tabs=TABS,
        data=data,
        figures=figures,
        plotly_config=_safe_json(config_json()),
        filters=filters,
        options=dashboard_filters.options(),
        drill_up=dashboard_filters.drill_up(filters) if name == "branches" else None,
        # (问卷结果's quoted answers open their responses only for those who may open them)
        open_response=may_open_responses(current_user),
        hidden_topics=len(dashboard_voice.hidden_topics()) if name == "voice" else 0,
        error=error,
    ), (422 if error else 200)


@bp.get("/dashboards/<name>/export/<table>.<fmt>")
@roles_required(*MANAGERS)
def dashboard_export(name: str, table: str, fmt: str):
    if fmt not in DOWNLOAD_TYPES:
        abort(404)
    filters, error = _filters()
    if error:  # (the 422 page says what is wrong, e.g. 结束日期应为 2026-01-31 这样的“年-月-日”)
        raise ValidationFailed(f"{error}，未导出。请修改筛选条件后重试。")
    data = _build(name, filters)
    if table not in data.tables:
        abort(404)
    t = data.tables[table]
    exports.record_export(
        f"{name}.{table}",
        title=f"{dict(TABS)[name]} · {t.title}",
        filters=filters.args(),
        rows=len(t.rows),
        fmt=fmt,
    )
    body = (
        exports.to_csv(t.columns, t.rows)
        if fmt == "csv"
        else exports.to_xlsx([(t.title, t.columns, t.rows, t.muted)])
    )
    return download(body, fmt, f"kesheng-{name}-{table}-{filters.start}-{filters.end}")


@bp.get("/dashboards/drill/<kind>")
@roles_required(*MANAGERS)
def dashboard_drill(kind: str):
    if kind not in ("responses", "complaints"):
        abort(404)
    filters, error = _filters()
    page_no = request.args.get("page", 1, type=int)
    allowed = (*drill.CODE_ARGS, *drill.PERSON_ARGS, "overdue", "regulator")
    extra = {k: v for k, v in request.args.items() if k in allowed and v}
    notice = None
    for name in drill.PERSON_ARGS:
        value = extra.get(name)
        if value is not None and not (value.isascii() and value.isdigit() and len(value) <= 9):
            del extra[name]  # (not a staff id: the list is shown unfiltered, and says so)
            notice = "链接中的处理人员无效，以下投诉未按处理人员筛选。"
        elif value is not None:
            extra[name] = str(int(value))
    if "decider" in extra:
        extra.pop("holder", None)  # (one person list at a time: the decisions win)
    fmt = request.args.get("format")
    if fmt in DOWNLOAD_TYPES and (error or notice):  # (the list shows the default period and
        # says so; a file must not: it would cover what was not asked for)
        problem = error or "链接中的处理人员无效"
        raise ValidationFailed(f"{problem}，未导出。请修改筛选条件后重试。")
    limit = 5000 if fmt in DOWNLOAD_TYPES else drill.PAGE_SIZE
    page = (
        drill.responses(filters, page=page_no, limit=limit)
        if kind == "responses"
        else drill.complaints(filters, extra, page=page_no, limit=limit)
    )
    columns, rows = (drill.response_rows if kind == "responses" else drill.complaint_rows)(
        page.items
    )
    if fmt in DOWNLOAD_TYPES:
        exports.record_export(
            f"drill.{kind}",
            title=DRILL_TITLES[kind],
            filters={**filters.args(), **extra},
            rows=len(rows),
            fmt=fmt,
        )
        body = (
            exports.to_csv(columns, rows)
            if fmt == "csv"
            else exports.to_xlsx([(DRILL_TITLES[kind], columns, rows, [])])
        )
        return download(body, fmt, f"kesheng-{kind}-{filters.start}-{filters.end}")
    return render_template(
        "manager/dashboards/drill.html",
        kind=kind,
        page=page,
        columns=columns,
        rows=rows,
        filters=filters,
        extra=extra,
        extra_text=drill.extra_text(extra),
        args={**filters.args(), **extra},
        error=error,
        notice=notice,
        tabs=TABS,
        options=dashboard_filters.options(),
    ), (422 if error else 200)  # (as the dashboards: a refused filter is not a plain answer)


@bp.get("/dashboards/regulator-report")
@roles_required(*MANAGERS)
def regulator_report_page():
    quarter = request.args.get("quarter") or regulator_report.current_quarter()
    try:
        start, end = regulator_report.quarter_range(quarter)
    except ValidationFailed as err:
        return render_template(
            "manager/dashboards/regulator.html",
            quarter=quarter,
            error=err.message,
            quarters=regulator_report.recent_quarters(),
            tabs=TABS,
        ), 422
    quarter = f"{start.year}Q{(start.month + 2) // 3}"  # (rebuilt: never the raw input)
    if request.args.get("download") == "1":
        body = regulator_report.build(quarter)
        return download(body, "xlsx", f"kesheng-complaints-{quarter}")
    return render_template(
        "manager/dashboards/regulator.html",
        quarter=quarter,
        error=None,
        start=start,
        end=end,
        quarters=regulator_report.recent_quarters(),
        tabs=TABS,
        download=url_for("manager.regulator_report_page", quarter=quarter, download=1),
        timeliness=regulator_report.timeliness(quarter),
        buckets=regulator_report.BUCKET_COLUMNS,
        overdue_note=regulator_report.OVERDUE_NOTE,
    )


@bp.get("/dashboards/annual-disclosure")
@roles_required(*MANAGERS)
def annual_disclosure_page():
    """年度消费投诉情况披露: the year's figures and a draft paragraph; the workbook download."""
    years = annual_disclosure.years()
    try:
        year = annual_disclosure.parse_year(request.args.get("year"), years)
    except ValidationFailed as err:
        page = render_template(
            "manager/dashboards/annual.html", error=err.message, years=years, year=None, tabs=TABS
        )
        return page, 422
    disclosure = annual_disclosure.build(year)
    if request.args.get("download") == "1":
        body = annual_disclosure.workbook(disclosure)
        return download(body, "xlsx", f"kesheng-complaint-disclosure-{year}")
    return render_template(
        "manager/dashboards/annual.html",
        error=None,
        years=years,
        year=year,
        d=disclosure,
        text=annual_disclosure.draft_text(disclosure),
        overview=annual_disclosure.overview_rows(disclosure),
        note=annual_disclosure.records_note(disclosure),
        before=annual_disclosure.previous_year_span(year),
        download=url_for("manager.annual_disclosure_page", year=year, download=1),
        tabs=TABS,
    )


@bp.get("/dashboards/topics")
@roles_required(*MANAGERS)
def topic_names_page():
    """话题命名: the current topics with their terms, size and quotes; head office names or
    hides them (a branch manager reads the page: topics are the bank's, not a branch's)."""
    return _topic_names(None, 200)


@bp.post("/dashboards/topics")
@roles_required(Role.HQ_MANAGER)
def topic_names_save():
    record = topic_labels.latest_model()
    changes = {}
    for key in request.form:
        if key.startswith("name-") and key[5:].isascii() and key[5:].isdigit():
            tid = int(key[5:])
            changes[tid] = (request.form[key], request.form.get(f"hidden-{tid}") == "1")
    if record is None or request.form.get("model") != str(record.id):
        # The topics were found again meanwhile: their numbers may now be other topics, so
        # what was typed is listed beside the new topics (with the names carried over), never
        # put back into their fields.
        typed = [
            f"话题 {tid}：{name.strip() or '（未命名）'}{'（隐藏）' if hidden else ''}"
            for tid, (name, hidden) in sorted(changes.items())
            if name.strip() or hidden
        ]
        return _topic_names(
            "话题已重新发现，页面上的话题已不是当前话题，未保存。请对照下方新的话题重新填写。",
            409,
            typed=typed,
        )
    try:
        n = topic_labels.save(record, changes, current_user)
    except ValidationFailed as err:
        return _topic_names(err.message, 422)
    flash(f"已保存 {n} 个话题的名称或显示设置" if n else "没有修改", "success")
    return redirect(url_for("manager.topic_names_page"))


def _topic_names(error: str | None, status: int, typed: list[str] | None = None):
    record = topic_labels.latest_model()
    return render_template(
        "manager/dashboards/topics.html",
        record=record,
        rows=topic_labels.topics(record) if record is not None else [],
        form=request.form if error and typed is None else None,
        typed=typed or [],
        may_edit=current_user.role == Role.HQ_MANAGER,
        error=error,
        name_max=topic_labels.NAME_MAX,
        tabs=TABS,
        name="voice",
        filters=None,
    ), status
