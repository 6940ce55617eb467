"""问卷结果: how the answers of one questionnaire fall, question by question.

For the survey chosen in the filter bar (else the one with the most answers in the range), and
the filters' dates and branches: each choice question's options (a multiple
choice as the share of those who answered it), each scale's points with its mean, top box and,
for NPS, promoters, passives and detractors; each matrix item's mean; how many wrote a free-text
answer, and the latest few of those answers, redacted, each by its response's number (which
opens the response, with the whole answer, for staff who may). Read from the answer-value
rollup (per day x branch x survey; rollup_rows.value_answers), as fast as the other pages over
any range, except the latest answers (one bounded read of the responses, in the viewer's
scope); it has no product or channel, so those two filters do not apply.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import AnswerValueRollup, Response, SatisfactionRollup, Survey
from app.services import metrics
from app.services.dashboard_drill import local_text
from app.services.dashboard_filters import Filters
from app.services.dashboard_pages import Card, Chart, PageData, Series, Table, pct, r
from app.services.metrics import apply_filters, date_clause, min_sample_size
from app.services.rollups import within_days
from app.services.surveys import definition_of
from nlp import redact
from surveys.model import SCALE_LABELS, SCALE_RANGES, QuestionType

MAX_OPTIONS = 30  # a choice question's options shown (the rest summed as 其他取值)
RECENT_TEXTS = 20  # the latest responses with a free-text answer quoted
QUOTED_CHARS = 200  # of each answer (its response's page shows the whole)
KIND_NAMES = {
    QuestionType.SINGLE: "单选",
    QuestionType.MULTIPLE: "多选",
    **{kind: metrics.SCALE_NAMES[str(kind)] for kind in SCALE_RANGES},  # 满意度 1–5 分 …
    QuestionType.MATRIX: "矩阵量表",
    QuestionType.TEXT: "文字",
}


def _chosen(f: Filters) -> tuple[Survey | None, str]:
    if f.survey is not None:
        return f.survey, ""
    sat = SatisfactionRollup
    answered = func.sum(sat.responses)
    stmt = apply_filters(select(sat.survey_id, answered), sat, f).group_by(sat.survey_id)
    top = db.session.execute(stmt.having(answered > 0).order_by(answered.desc()).limit(1)).first()
    if top is None:
        return None, ""
    survey = db.session.get(Survey, top[0])
    return survey, (
        f"未选择问卷：显示所选范围内答卷最多的“{survey.title}”，可在上方“问卷”中选择其他问卷。"
    )


def _counts(f: Filters, survey: Survey) -> tuple[dict[str, dict[Any, int]], dict[str, int]]:
    """From the answer-value rollup: {question: {(item, value): answers}} and {question: how
    many answered it}."""
    v = AnswerValueRollup
    stmt = select(v.question, v.kind, func.sum(v.answers)).where(
        v.survey_id == survey.id, date_clause(v, f)
    )
    if f.branch_ids is not None:
        stmt = stmt.where(v.branch_id.in_(f.branch_ids))
    counts: dict[str, dict[Any, int]] = defaultdict(dict)
    answered: dict[str, int] = {}
    for key, kind, n in db.session.execute(stmt.group_by(v.question, v.kind)):
        if kind == "answered":
            answered[key] = int(n)
            continue
        target, _, value = key.partition("=")
        question, _, item = target.partition(".")
        counts[question][(item or None, int(value) if kind == "point" else value)] = int(n)
    return counts, answered


def survey_results(f: Filters) -> PageData:
    page = PageData()
    if f.product is not None or f.channel is not None:
        page.notes.append("问卷结果按日期和机构统计，不区分产品和渠道：所选产品、渠道未用于本页。")
        f = replace(f, product=None, channel=None)
    survey, note = _chosen(f)
    if note:
        page.notes.append(note)
    if survey is None or survey.latest_version is None:
        page.notes.append("所选范围内暂无答卷。")
        return page
    total = metrics.satisfaction_total(replace(f, survey=survey)).responses
    defn = definition_of(survey.latest_version)
    counts, respondents = _counts(f, survey)
    page.cards = [
        Card("答卷", str(total), f"{survey.title}（第 {survey.latest_version.number} 版题目）"),
        Card("题目", str(len(defn.questions)), "按最新版本的题目统计；已删去的题目不列出"),
    ]
    minimum = min_sample_size()
    if total < minimum:
        page.notes.append(f"答卷少于 {minimum} 份，分布仅供参考。")
    earlier = _earlier_option_labels(survey)
    for number, question in enumerate(defn.questions, start=1):
        title = f"第 {number} 题 {question.title}"
        answered_it = respondents.get(question.id, 0)
        if question.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            _choice(page, question, title, counts[question.id], answered_it, earlier)
        elif question.type in SCALE_RANGES:
            _scale(page, question, title, counts[question.id], answered_it)
        elif question.type is QuestionType.MATRIX:
            _matrix(page, question, title, counts[question.id])
        else:
            _text(page, question, title, answered_it, total)
    _latest_texts(page, f, survey, defn)
    return page


def _earlier_option_labels(survey: Any) -> dict[tuple[str, str], str]:
    """(question id, option value) -> the option's label in the newest version that had it, so
    an option a later version dropped still reads as its customers saw it (微信银行, not
    wechat-bank)."""
    out: dict[tuple[str, str], str] = {}
    for version in reversed(survey.versions):
        for question in version.definition.get("questions", []):
            for option in question.get("options", []):
                out.setdefault((question["id"], option["value"]), option["label"])
    return out


def _choice(
    page: PageData,
    q: Any,
    title: str,
    counts: dict,
    answered: int,
    earlier: dict[tuple[str, str], str],
) -> None:
    labels = {o.value: o.label for o in q.options}
    seen = {value: n for (_, value), n in counts.items()}
    rows = [(labels[v], seen.get(v, 0)) for v in labels]
    rows += [
        (f"{earlier.get((q.id, v), v)}（已停用选项）", n)
        for v, n in seen.items()
        if v not in labels
    ]
    if len(rows) > MAX_OPTIONS:
        rows = [*rows[:MAX_OPTIONS], ("其他取值", sum(n for _, n in rows[MAX_OPTIONS:]))]
    multiple = q.type is QuestionType.MULTIPLE
    t = page.table(
        Table(f"q-{q.id}", title, ["选项", "人次" if multiple else "人数", "占作答人数（%）"])
    )
    for label, n in rows:
        t.add([label, n, r(n / answered, 1, 100) if answered else None])
    shown = [f"{n}（{pct(n / answered)}）" if answered else str(n) for _, n in rows]
    page.charts.append(
        Chart(
            f"chart-q-{q.id}",
            title,
            "人次" if multiple else "人数",
            t.name,
            kind="hbar",
            y=[label for label, _ in rows],
            series=[Series("选择人数", [n for _, n in rows], text=shown)],
            note=f"{KIND_NAMES[q.type]}；{answered} 人作答"
            + ("，可多选，占比之和可超过 100%" if multiple else ""),
            counts=True,
            drill="",
        )
    )


def _scale(page: PageData, q: Any, title: str, counts: dict, answered: int) -> None:
    low, high = SCALE_RANGES[q.type]
    points = list(range(low, high + 1))
    by_point = {p: counts.get((None, p), 0) for p in points}
    n = sum(by_point.values())
    mean = sum(p * c for p, c in by_point.items()) / n if n else None
    labels = SCALE_LABELS.get(q.type, {})
    t = page.table(Table(f"q-{q.id}", title, ["分值", "说明", "人数", "占比（%）"]))
    for p in points:
        t.add([p, labels.get(p, ""), by_point[p], r(by_point[p] / n, 1, 100) if n else None])
    summary = f"{KIND_NAMES[q.type]}；{n} 人作答，平均 {r(mean, 2) if n else '—'} 分"
    if q.type is QuestionType.NPS and n:
        promoters = sum(by_point[p] for p in (9, 10)) / n
        detractors = sum(by_point[p] for p in range(0, 7)) / n
        summary += (
            f"；推荐者 {pct(promoters)}、中立者 {pct(1 - promoters - detractors)}、"
            f"贬损者 {pct(detractors)}，NPS {r(promoters - detractors, 1, 100):.1f}"
        )
    elif n:
        top = by_point[high] + by_point[high - 1]
        summary += f"；最高两档 {pct(top / n)}"
    page.charts.append(
        Chart(
            f"chart-q-{q.id}",
            title,
            "人数",
            t.name,
            x=[str(p) for p in points],
            series=[Series("人数", [by_point[p] for p in points], "bar")],
            note=summary,
            x_title="分值",
            y_title="人数",
            counts=True,
            drill="",
        )
    )


def _matrix(page: PageData, q: Any, title: str, counts: dict) -> None:
    low, high = SCALE_RANGES.get(q.scale_type, (1, 5))
    t = page.table(Table(f"q-{q.id}", title, ["子项", "作答数", "平均分"]))
    means = []
    for item in q.items:
        points = {value: n for (it, value), n in counts.items() if it == item.id}
        n = sum(points.values())
        mean = sum(p * c for p, c in points.items()) / n if n else None
        t.add([item.label, n, r(mean, 2)])
        means.append(r(mean, 2))
    page.charts.append(
        Chart(
            f"chart-q-{q.id}",
            title,
            "平均分",
            t.name,
            kind="hbar",
            y=[item.label for item in q.items],
            series=[Series("平均分", means, text=["—" if m is None else str(m) for m in means])],
            note=f"{KIND_NAMES[q.type]}，{low}–{high} 分；各子项的平均分",
            y_range=(0, high),
            drill="",
        )
    )


def _text(page: PageData, q: Any, title: str, answered: int, total: int) -> None:
    texts = page.tables.get("texts") or page.table(
        Table("texts", "文字题", ["题目", "填写人数", "占答卷（%）"])
    )
    texts.add([title, answered, r(answered / total, 1, 100) if total else None])


def _latest_texts(page: PageData, f: Filters, survey: Survey, defn: Any) -> None:
    """The free-text answers of the latest responses of the range and branches (redacted, as
    答卷详情 shows them), one row per answer, each holding its response's id so that the page can
    open it (Table.response_ids)."""
    titles = {
        q.id: f"第 {n} 题 {q.title}"
        for n, q in enumerate(defn.questions, start=1)
        if q.type is QuestionType.TEXT
    }
    if not titles:
        return
    stmt = select(Response).where(
        Response.survey_id == survey.id,
        *within_days(Response.submitted_at, f.start, f.end),
        Response.comment_redacted != "",  # (only responses with a free-text answer)
    )
    if f.branch_ids is not None:
        stmt = stmt.where(Response.branch_id.in_(f.branch_ids))
    latest = db.session.scalars(
        stmt.order_by(Response.submitted_at.desc(), Response.id.desc()).limit(RECENT_TEXTS)
    )
    t = page.table(
        Table(
            "text_answers",
            f"最新的文字回答（最近 {RECENT_TEXTS} 份答卷，已脱敏）",
            ["答卷编号", "提交时间", "题目", "回答（已脱敏）"],
            empty="所选范围内暂无文字回答",
        )
    )
    for response in latest:
        for question_id, title in titles.items():
            value = (response.answers or {}).get(question_id)
            if not isinstance(value, str) or not value.strip():
                continue
            text = redact(value).text
            if len(text) > QUOTED_CHARS:
                text = text[:QUOTED_CHARS] + "…"
            t.response_ids[len(t.rows)] = response.id
            t.add([response.id, local_text(response.submitted_at), title, text])
