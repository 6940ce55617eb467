"""Dashboard pages for the voice of the customer and follow-ups (same shapes as
``dashboard_pages``: cards, charts as data, tables behind them)."""

from __future__ import annotations

from app.services import dashboard_followups as dfu
from app.services import dashboard_voice as dv
from app.services import metrics
from app.services.dashboard_filters import Filters
from app.services.dashboard_pages import Card, Chart, PageData, Series, Table, pct, r


def voice(f: Filters) -> PageData:
    page = PageData()
    compared = dv.comparison(f)
    if not compared.comparable:
        page.notes.append(compared.note(f) + "（提及次数仍列出上期数字，不计算变化与上升倍数）。")
    for kind, title in (("topic", "话题"), ("keyword", "关键词")):
        top = dv.top_terms(f, kind, 15)
        t = page.table(
            Table(
                f"top_{kind}",
                f"本期热门{title}",
                [title, "提及次数", "上期次数", "变化", "负面占比（%）", "例句（已脱敏）"],
            )
        )
        for item in top[:15]:
            quotes = (
                dv.quotes(f, topic=item["key"])
                if kind == "topic"
                else dv.quotes(f, keyword=item["key"])
                if len(t.rows) < 5
                else []
            )
            t.add(
                [
                    item["label"],
                    item["texts"],
                    item["previous"],
                    item["change"] if compared.comparable else "不作比较",
                    r(item["negative_share"], 1, 100),
                    " ｜ ".join(quotes[:2]),
                ]
            )
        page.charts.append(
            Chart(
                f"chart-{kind}",
                f"本期热门{title}" + ("及与上期对比" if compared.comparable else ""),
                "提及次数",
                t.name,
                kind="hbar",
                y=[i["label"] for i in top][:15],
                series=[
                    Series("本期", [i["texts"] for i in top][:15], "bar"),
                    *(
                        [Series("上期", [i["previous"] for i in top][:15], "bar")]
                        if compared.comparable
                        else []
                    ),
                ],
                note="；".join(
                    filter(
                        None,
                        [
                            f"本期与上期各 {f.days} 天"
                            if compared.comparable
                            else f"上期仅 {compared.previous} 条文本，不作比较",
                            dv.unfiltered_note(f),
                        ],
                    )
                ),
                drill="both",
                counts=True,
            )
        )
        if kind == "topic" and not top and dv.latest_model() is None:
            # (topics found but none in the range: the empty chart says so itself)
            page.notes.append(
                "尚未发现话题：系统每周从近期的答卷文字和投诉中自动发现话题，"
                "文本积累后即会在此显示。"
            )
        keys = [i["key"] for i in top[:5]]
        trend = dv.term_trend(f, kind, keys)
        labels = [metrics.period_label(p, f.grain, f) for p in metrics.periods(f)]
        # (the chart's own table: its CSV is the series plotted, not the ranking above)
        series = page.table(Table(f"trend_{kind}", f"前五{title}趋势", [title, *labels]))
        for item in top[:5]:
            series.add([item["label"], *trend[item["key"]]])
        page.charts.append(
            Chart(
                f"chart-{kind}-trend",
                f"前五{title}趋势",
                "提及次数",
                series.name,
                x=labels,
                series=[Series(i["label"], trend[i["key"]]) for i in top[:5]],
                note=dv.unfiltered_note(f),
                drill="both",
                partial_last=metrics.cut_last_period(f),
            )
        )
    rising = page.table(
        Table(
            "rising",
            "上升最快的话题与关键词",
            [
                "类型",
                "名称",
                "本期提及（次）",
                "按上期占比推算的本期应有次数",
                "实际 / 推算（倍）",
            ],
            empty="" if compared.comparable else compared.note(f),
        )
    )
    for item in dv.rising(f) if compared.comparable else []:
        rising.add(
            [
                item["kind"],
                item["label"],
                int(item["current"]),
                r(item["expected"], 1),
                r(item["ratio"], 1) if isinstance(item["ratio"], float) else item["ratio"],
            ]
        )
    return page


# which detractor tasks the 48-hour call-back rate counts, said the same way on the card, the
# table and the chart (the card said "已满 48 小时", the chart "创建满 3 天": two definitions)
WINDOW_WORDS = f"创建满 {dfu.WINDOW_DAYS} 个自然日"


def followups(f: Filters) -> PageData:
    page = PageData()
    if f.channel is not None:
        page.notes.append(
            "回访均为电话回访：所选渠道未用于本页（问卷、产品、机构按回访任务筛选）。"
        )
    total = dfu.total(f)
    page.cards = [
        Card(
            "回访任务",
            str(total["tasks"]),
            f"已拨打 {total['called']} 件，已结束 {total['closed']} 件",
            link="followups",
        ),
        Card("拨打次数", str(total["attempts"]), "全部回访通话"),
        Card(
            "接通率",
            pct(dfu.reach_rate(total)),
            f"已拨打的 {total['called']} 件任务中至少接通一次的占比",
        ),
        Card(
            "低分客户 48 小时内回访",
            pct(dfu.callback_rate(total)),
            f"48 小时窗口已结束（{WINDOW_WORDS}）的低分客户任务 {total['detractor_due']} 件",
        ),
    ]
    trend = dfu.trend(f)
    labels = [metrics.period_label(p, f.grain, f) for p, _ in trend]
    t = page.table(
        Table(
            "followup_trend",
            "回访趋势",
            [
                "期间",
                "任务",
                "已拨打任务",
                "拨打次数",
                "接通任务",
                "接通率（%）",
                "低分客户任务",
                "其中 48 小时窗口已结束",
                "48小时内回访（%）",
            ],
        )
    )
    for label, (_, c) in zip(labels, trend, strict=True):
        t.add(
            [
                label,
                c["tasks"],
                c["called"],
                c["attempts"],
                c["reached"],
                r(dfu.reach_rate(c), 1, 100),
                c["detractor_tasks"],
                c["detractor_due"],
                r(dfu.callback_rate(c), 1, 100),
            ]
        )
    page.charts.append(
        Chart(
            "chart-followups",
            "回访任务、接通率与低分客户 48 小时内回访率",
            "件；折线为 %",
            t.name,
            x=labels,
            series=[
                Series("回访任务", [c["tasks"] for _, c in trend], "bar", "y2"),
                Series("接通率（%）", [r(dfu.reach_rate(c), 1, 100) for _, c in trend]),
                Series("48小时内回访（%）", [r(dfu.callback_rate(c), 1, 100) for _, c in trend]),
            ],
            note=f"共 {total['tasks']} 件回访任务；接通指客户接听（含拒访、约定回拨）；"
            "接通率只计已拨打的任务，48 小时内回访率只计"
            f"48 小时窗口已结束（{WINDOW_WORDS}）的低分客户任务，尚无此类任务的期间不画点",
            y2_title="任务数（件）",
            y_title="比率（%）",
            y_range=(0, 100),
            drill="",  # the tasks are listed under 回访; the answers are not what it counts
        )
    )
    reasons = page.table(
        Table(
            "followup_reasons",
            "按回访原因",
            ["原因", "任务", "已拨打任务", "拨打次数", "接通率（%）"],
        )
    )
    for label, c in dfu.by_reason(f):
        reasons.add([label, c["tasks"], c["called"], c["attempts"], r(dfu.reach_rate(c), 1, 100)])
    return page
