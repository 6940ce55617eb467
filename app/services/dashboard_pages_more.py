"""Dashboard pages beyond the overview: branches, products and channels, complaints, voice,
follow-ups. Same shapes as ``dashboard_pages`` (cards, charts as data, tables behind them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Product
from app.services import dashboard_complaints as dc
from app.services import metrics
from app.services.dashboard_filters import Filters
from app.services.dashboard_heatmaps import heatmaps
from app.services.dashboard_pages import (
    COMPLAINTS_NOT_BY_SURVEY,
    PER,
    Card,
    Chart,
    PageData,
    Series,
    Table,
    channel_label,
    num,
    pct,
    r,
    sat_cells,
    sat_columns,
)
from app.services.dashboard_pages_handlers import handlers
from app.services.dashboard_pages_survey import survey_results
from app.services.dashboard_pages_voice import followups, voice
from app.services.rollup_rows import TOP_BY_SCALE


def branches(f: Filters) -> PageData:
    page = PageData()
    minimum = metrics.min_sample_size()
    node, _ = metrics.children_of(f)
    complaints = dc.by_child(f)
    customers = dc.customers_by_child(f)
    # Every answer and complaint in scope counts in one row: a case booked at the unit itself
    # (its own counter, not a sub-branch) gets the unit's own row even without answers.
    booked = [key for key, c in complaints.items() if c.received or c.due]
    groups = metrics.child_groups(f, also=booked)
    t = page.table(
        Table(
            "branch_ranking",
            f"{node.name if node else ''}下辖机构排名",
            [
                "排名",
                "机构",
                "机构代码",
                *sat_columns(),
                "登记客户数",
                "收到投诉（件）",
                "每万客户投诉（件，所选期间）",
                "时限内处理占比（%）",
            ],
        )
    )
    reports = [(g, g.report(minimum)) for g in groups]
    ranked = sorted(
        (x for x in reports if not x[1].index.too_small),
        key=lambda x: -(x[1].index.value or 0),
    )
    unranked = [x for x in reports if x[1].index.too_small]
    for position, (g, rep) in enumerate([*ranked, *unranked], start=1):
        c = complaints.get(g.key, dc.Counts())
        n_customers = customers.get(g.key)
        per = c.received * PER / n_customers if n_customers else None
        rank = position if not rep.index.too_small else "样本不足"
        t.add(
            [
                rank,
                g.label,
                g.key if g.key not in ("", metrics.NO_BRANCH) else "—",  # (no unit to drill to)
                *sat_cells(rep),
                n_customers,
                c.received,
                r(per, 1),
                r(c.in_time_share, 1, 100),
            ],
            too_small=rep.index.too_small,
        )
    page.charts.append(
        Chart(
            "chart-ranking",
            "下辖机构满意度指数排名",
            "百分制；灰色为样本不足（不参与排名）",
            t.name,
            kind="hbar",
            y=[g.label for g, _ in [*ranked, *unranked]],
            series=[
                Series(
                    "满意度指数",
                    [r(rep.index.value, 1) for _, rep in [*ranked, *unranked]],
                    "bar",
                    text=[
                        f"{num(rep.index.value)}（n={rep.responses}）"
                        for _, rep in [*ranked, *unranked]
                    ],
                )
            ],
            z=[[0.0 if rep.index.too_small else 1.0] for _, rep in [*ranked, *unranked]],
            note=f"最少样本 {minimum} 份；共 {sum(g.sums.responses for g in groups)} 份答卷",
            table_below=True,
        )
    )
    heatmaps(page, f, groups, customers)
    page.notes.append("点击表格中的机构可下钻到其下辖支行/网点。")
    if not customers:
        page.notes.append(
            "各机构尚未登记客户数，无法计算每万客户投诉：请联系系统管理员录入各机构的客户总数。"
        )
    return page


# what counts as a high score on each scale (rollup_rows.TOP_BY_SCALE), said in the heading
HIGH_SHARE = "高分占比（%，满意度≥{rating}、CES≥{ces}、NPS≥{nps}）".format(**TOP_BY_SCALE)


def products_channels(f: Filters) -> PageData:
    page = PageData()
    minimum = metrics.min_sample_size()
    complaints_by_product = dc.by_product(f)
    catalogue = list(db.session.scalars(select(Product)))
    products = {p.code: p.id for p in catalogue}
    product_names = {p.code: p.name for p in catalogue}
    for dim, title in (("product", "产品"), ("channel", "渠道")):
        groups = metrics.satisfaction_by(f, dim)
        # complaints naming no product count in the 未关联 row (key ""), as answers do: the
        # column then adds up to the complaints on the overview
        comp = (
            {
                code: complaints_by_product.get(pid, dc.Counts())
                for code, pid in {**products, "": None}.items()
            }
            if dim == "product"
            else dict(dc.by_channel(f))
        )
        # Products keep their code (staff know them by it); channels show their Chinese name
        # only (app, sms, wechat are internal words).
        coded = dim == "product"
        t = page.table(
            Table(
                f"by_{dim}",
                f"按{title}",
                [
                    title,
                    *(["代码"] if coded else []),
                    *sat_columns(),
                    "收到投诉（件）",
                    "时限内处理占比（%）",
                ],
            )
        )
        keys = sorted({g.key for g in groups} | {k for k, c in comp.items() if c.received})
        by_key = {g.key: g for g in groups}
        reports = []
        for key in keys:
            g = by_key.get(key)
            rep = g.report(minimum) if g else metrics.MetricSums().report(minimum)
            if g:
                label = g.label
            elif dim == "channel":
                label = channel_label(key)
            else:  # complaints but no answers: the product's name (its code is the next column)
                label = product_names.get(key, key) if key else metrics.UNLINKED
            c = comp.get(key, dc.Counts())
            cells = [*sat_cells(rep), c.received, r(c.in_time_share, 1, 100)]
            t.add([label, *([key] if coded else []), *cells], too_small=rep.index.too_small)
            reports.append((label, rep, c))
        note = f"最少样本 {minimum} 份"
        unlinked = [x for x in reports if coded and x[0] == metrics.UNLINKED]
        if unlinked:
            # not a product: its bar (most complaints name none) flattened every product's
            # to a sliver; it stays in the table
            _, rep, c = unlinked[0]
            reports = [x for x in reports if x not in unlinked]
            note += (
                f"；未关联产品的投诉 {c.received} 件、答卷 {rep.responses} 份未画入图中，见数据表"
            )
        page.charts.append(
            Chart(
                f"chart-{dim}",
                f"按{title}：满意度指数与投诉量",
                "指数为百分制（样本不足的不显示）；柱为投诉件数",
                t.name,
                x=[x[0] for x in reports],
                series=[
                    Series(
                        "满意度指数",
                        [
                            None if rep.index.too_small else r(rep.index.value, 1)
                            for _, rep, _ in reports
                        ],
                        "dot",  # products are not a sequence: no line from one to the next
                    ),
                    Series("收到投诉（件）", [c.received for _, _, c in reports], "bar", "y2"),
                ],
                note=note,
                y2_title="投诉件数",
                y_range=(0, 100),  # 百分制 from 0, as on the branch ranking: no zoomed gaps
            )
        )
    q = page.table(
        Table(
            "questions",
            "各题得分",
            ["问卷", "题目", "量表", "作答数", "平均分", HIGH_SHARE],
            digits={4: 2, 5: 1},
        )
    )
    for row in metrics.questions(f)[:60]:
        q.add(
            [
                row["survey"],
                row["question"],
                row["scale"],
                row["answers"],
                r(row["mean"], 2),  # a number in the export, not the text "3.79"
                r(row["top_share"], 1, 100),
            ],
            too_small=row["too_small"],
        )
    return page


def complaints(f: Filters) -> PageData:
    page = PageData()
    if f.survey is not None:  # (the figures were the same for every survey, without a word)
        page.notes.append(COMPLAINTS_NOT_BY_SURVEY)
    trend_all, trend_reg = dc.trend(f), dc.trend(f, regulator=True)
    total = dc.sum_counts(c for _, c in trend_all)
    regulator = dc.sum_counts(c for _, c in trend_reg)
    page.cards = [
        Card("收到投诉", str(total.received), f"其中重大投诉 {total.major} 件"),
        Card("监管转办", str(regulator.received), f"时限内处理 {pct(regulator.in_time_share)}"),
        Card(
            "法定时限内处理",
            pct(total.in_time_share),
            f"已决定 {total.decided} 件，期内超期未决 {total.overdue_open} 件计为超时",
        ),
        Card("平均处理天数", num(total.mean_days), "自然日，收到至作出决定"),
        Card("核查（复核）率", pct(total.review_rate), f"{total.reviewed} 件申请核查"),
        Card("重新计时率", pct(total.reopen_rate), f"{total.reopened} 件因新事实重新计时"),
    ]
    for dim, label in dc.DIMENSION_LABELS.items():
        found = dc.by_dimension(f, dim)
        t = page.table(
            Table(
                f"by_{dim}",
                label,
                [
                    "代码",
                    "类别",
                    "收到（件）",
                    "作出决定（件）",
                    "超期未决（件）",
                    "时限内占比（%）",
                    "平均处理天数",
                ],
            )
        )
        for code, name, c in found:
            t.add(
                [
                    code or "—",
                    name.removeprefix(f"{code} ") if code else name,  # (the code has its column)
                    c.received,
                    c.decided,
                    c.overdue_open,
                    r(c.in_time_share, 1, 100),
                    r(c.mean_days, 1),
                ]
            )
        page.charts.append(
            Chart(
                f"chart-{dim}",
                label,
                "件",
                t.name,
                kind="hbar",
                y=[name for _, name, _ in found][:15],
                series=[Series("收到", [c.received for *_, c in found][:15], "bar")],
                note=f"共 {sum(c.received for *_, c in found)} 件",
                drill="complaints",
                counts=True,
            )
        )
    labels = [metrics.period_label(p, f.grain, f) for p, _ in trend_all]
    t = page.table(
        Table(
            "complaint_trend",
            "投诉趋势",
            [
                "期间",
                "收到（件）",
                "其中监管转办",
                "办结（件）",
                "超期未决（件）",
                "时限内占比（%）",
            ],
        )
    )
    for label, (_, c), (_, reg) in zip(labels, trend_all, trend_reg, strict=True):
        t.add(
            [
                label,
                c.received,
                reg.received,
                c.closed,
                c.overdue_open,
                r(c.in_time_share, 1, 100),
            ]
        )
    page.charts.append(
        Chart(
            "chart-trend",
            "投诉趋势（监管转办单列）",
            "件",
            t.name,
            x=labels,
            series=[
                Series("全部收到", [c.received for _, c in trend_all], "bar"),
                Series("监管转办", [c.received for _, c in trend_reg], "bar"),
                Series("办结", [c.closed for _, c in trend_all]),
            ],
            note=f"收到 {total.received} 件，监管转办 {regulator.received} 件",
            drill="complaints",
        )
    )
    d = page.table(Table("decision_days", "处理天数分布", ["处理天数", "件数"]))
    for key, label in dc.BUCKET_LABELS.items():
        d.add([label, total.values[key]])
    page.charts.append(
        Chart(
            "chart-days",
            "收到至作出决定的天数分布",
            "件；横轴为收到至作出决定的自然日",
            d.name,
            x=list(dc.BUCKET_LABELS.values()),
            series=[Series("件数", [total.values[k] for k in dc.BUCKET_LABELS], "bar")],
            x_title="自然日",
            y_title="件",
            note=f"已作出决定 {total.decided} 件；法定时限一般为 15 日",
            drill="complaints",
        )
    )
    return page


PAGES: dict[str, Any] = {
    "branches": branches,
    "products": products_channels,
    "complaints": complaints,
    "handlers": handlers,
    "voice": voice,
    "followups": followups,
    "surveys": survey_results,
}
