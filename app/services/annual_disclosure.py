"""年度消费投诉情况披露: the figures a bank discloses about a year's complaints.

The 办法 (Art. 26) asks banks to disclose their complaint handling every year; banks publish how
many complaints they received, against the year before, by business category, by region and by
cause, and how promptly they were handled. This module gathers those figures for one calendar
year (Beijing days) and the viewer's scope from the complaint rollup, so they equal the
dashboards' and the quarterly regulator report's for the same days, and drafts the paragraph
the annual report carries. Staff edit the draft before publishing; nothing here is published.

A year still running is counted up to today and compared with the same days of the year before
(上年同期); a finished year with the whole year before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, ComplaintRollup
from app.models.complaint import Status
from app.services import dashboard_complaints as dc
from app.services import dashboard_filters, exports, metrics, rollups
from app.services.dashboard_filters import CHANNELS, Filters
from app.services.dashboard_pages import r
from app.services.errors import ValidationFailed
from app.services.rollups import TZ
from nlp import load_taxonomy

UNCLASSIFIED = "未分类"
NOT_ENTITLED = "非消费者本人、其法定代理人或受托人"  # the one ground of 不予受理 (Art. 18)
VAGUE = {UNCLASSIFIED, "其他"}  # rows the draft paragraph does not name (the tables show them)
YEARS_SHOWN = 10
START_UP_DAYS = 31


@dataclass(frozen=True)
class Share:
    """One row of a distribution: its name, its complaints and their share of the year's (%)."""

    label: str
    count: int
    share: float | None
    level: int = 0  # 1: a sub-category shown under its category


@dataclass(frozen=True)
class Disclosure:
    year: int
    start: date
    end: date  # the last day counted: 31 December, or today while the year runs
    complete: bool
    scope: str  # 本行, or the viewer's branch
    received: int  # every complaint received (the dashboards' and the regulator report's count)
    declined: int  # of those, declined (不予受理, Art. 18): not complaints the bank handled
    pending: int  # of those, still waiting for 受理 today (not counted as accepted)
    previous: int  # accepted (受理) in the same days of the year before
    previous_received: int  # received in those days
    change: float | None  # % of ``accepted`` against ``previous``; None: nothing to compare with
    # the day of the first complaint Kesheng holds (the whole bank's: when it began recording;
    # a branch's own first complaint may come later without any days going unrecorded)
    records_from: date | None
    business: list[Share]  # JR/T 0169 B categories, each followed by its sub-categories
    regions: list[Share]  # the scope's child units (分行 for head office)
    causes: list[Share]  # JR/T 0169 C
    channels: list[Share]  # where the complaints came in
    # (the distributions, the regulator's and the major count are of the accepted complaints)
    decided: int
    in_time_share: float | None  # % of the cases due: decided and told in time
    mean_days: float | None
    regulator: int  # 监管转办
    major: int

    @property
    def accepted(self) -> int:
        """受理: the complaints received less those declined and those still waiting for 受理,
        the figure a disclosure states; its distributions are of these."""
        return self.received - self.declined - self.pending

    @property
    def comparable(self) -> bool:
        """Kesheng's records cover the days compared with (allowing a month's start-up): a
        bank that began recording complaints here last December has no 上年同期 to compare."""
        before_start, _ = _same_days_before(self.start, self.end)
        return self.records_from is not None and (
            self.records_from <= before_start + timedelta(days=START_UP_DAYS)
        )

    @property
    def partial(self) -> bool:
        """The records begin inside this year: complaints before that day are not counted."""
        return self.records_from is not None and self.records_from > self.start

    @property
    def period(self) -> str:
        return f"{self.start} 至 {self.end}（北京时间自然日）"


RECORDS_GAP_MONTHS = 12  # months with complaints further apart than this break the records


def _records_from(until: date) -> date | None:
    """The local day Kesheng's complaint records of the period ending ``until`` begin, whatever
    the viewer's scope (a branch without complaints in January was still recorded in January):
    the first complaint after the last stretch of more than a year without any
    (RECORDS_GAP_MONTHS) before ``until``. A bank receives complaints every month or so; a case
    entered with a receipt years back (a late registration, a typing slip) before such a gap is
    not the start of the records: taken as the start, one case of 2019 made 2025 read as a
    whole year and compared 2026 with three complaints (+28,733 %). A bank that loads its
    history has its records begin where the history does."""
    everywhere = {"include_all_branches": True}
    months = sorted(
        db.session.scalars(
            select(ComplaintRollup.day)
            .where(ComplaintRollup.period == "m", ComplaintRollup.received > 0)
            .where(ComplaintRollup.day <= until)
            .distinct()
            .execution_options(**everywhere)
        ),
        reverse=True,
    )
    if not months:  # (none yet by ``until``: the records begin later, or not at all)
        return _first_complaint()
    month = months[0]
    for earlier in months[1:]:
        if (month.year - earlier.year) * 12 + month.month - earlier.month > RECORDS_GAP_MONTHS:
            break
        month = earlier
    stmt = select(func.min(Complaint.received_at)).where(
        Complaint.received_at >= rollups.day_start(month), Complaint.merged_into_id.is_(None)
    )
    first = db.session.scalar(stmt.execution_options(**everywhere))
    return first.astimezone(TZ).date() if first is not None else month


def _first_complaint() -> date | None:
    """The local day of the earliest complaint recorded (the years the page offers)."""
    stmt = select(func.min(Complaint.received_at)).execution_options(include_all_branches=True)
    first = db.session.scalar(stmt)
    return first.astimezone(TZ).date() if first is not None else None


def years() -> list[int]:
    """The years a disclosure can be drawn up for: this one back to the first complaint's
    (at most ``YEARS_SHOWN``), newest first."""
    this_year = dashboard_filters.today().year
    first = _first_complaint()
    first_year = first.year if first is not None else this_year
    first_year = max(min(first_year, this_year), this_year - YEARS_SHOWN + 1)
    return list(range(this_year, first_year - 1, -1))


def default_year() -> int:
    """Last year when it had complaints in the viewer's scope (its disclosure is the one a bank
    writes), else this year."""
    last = dashboard_filters.today().year - 1
    return last if _received(last) else last + 1


def parse_year(value: str | None, allowed: list[int] | None = None) -> int:
    """A year typed in the URL; ValidationFailed (in Chinese) unless it is one of ``allowed``
    (``years()`` when not given)."""
    if not value:
        return default_year()
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise ValidationFailed("年度格式应为 2026 这样的四位年份", field="year")
    year, allowed = int(text), allowed or years()
    if year not in allowed:
        raise ValidationFailed(f"只能选择 {min(allowed)} 至 {max(allowed)} 年", field="year")
    return year


def _received(year: int) -> int:
    start, end = _span(year)
    return dc.total(_range(start, end)).received


@dataclass(frozen=True)
class _Unaccepted:
    """The complaints received on a range's days in its scope that were declined (不予受理) or
    still wait for 受理 today, by what the distributions count. The rollups count every
    complaint received; these few are read from the cases and taken off."""

    declined: int
    pending: int
    rows: list[tuple]  # (branch_id, channel, code_business, code_cause, is_major) of each

    def by(self, position: int, key=lambda v: v) -> dict[Any, int]:
        out: dict[Any, int] = {}
        for row in self.rows:
            k = key(row[position])
            out[k] = out.get(k, 0) + 1
        return out


def _unaccepted(f: Filters) -> _Unaccepted:
    stmt = select(
        Complaint.status,
        Complaint.branch_id,
        Complaint.channel,
        Complaint.code_business,
        Complaint.code_cause,
        Complaint.is_major,
    ).where(
        Complaint.status.in_([str(Status.DECLINED), str(Status.RECEIVED)]),
        Complaint.merged_into_id.is_(None),
        *rollups.within_days(Complaint.received_at, f.start, f.end),
    )
    found = db.session.execute(f.on_rows(stmt, Complaint)).all()
    declined = sum(1 for row in found if row[0] == Status.DECLINED)
    return _Unaccepted(declined, len(found) - declined, [tuple(row[1:]) for row in found])


def _range(start: date, end: date) -> Filters:
    return dashboard_filters.parse({"from": start.isoformat(), "to": end.isoformat()})


def _span(year: int) -> tuple[date, date]:
    today = dashboard_filters.today()
    return date(year, 1, 1), min(date(year, 12, 31), today)


def _same_days_before(start: date, end: date) -> tuple[date, date]:
    """The same calendar days one year earlier (29 February counts as the 28th)."""

    def back(day: date) -> date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return day.replace(year=day.year - 1, day=28)

    return back(start), back(end)


def _pct(part: int, whole: int) -> float | None:
    return r(100 * part / whole) if whole else None


def _shares(items: list[tuple[str, int]], whole: int, level: int = 0) -> list[Share]:
    ordered = sorted((i for i in items if i[1]), key=lambda i: (-i[1], i[0] == UNCLASSIFIED))
    return [Share(label, n, _pct(n, whole), level) for label, n in ordered]


def _business(f: Filters, whole: int, off: _Unaccepted) -> list[Share]:
    """B categories, largest first, each followed by its sub-categories (a case classified only
    to the category counts in the category, not in a sub-row)."""
    entries = {e.code: e for e in load_taxonomy().dimension("B").entries}
    top: dict[str, int] = {}
    sub: dict[str, dict[str, int]] = {}
    taken = off.by(2, lambda v: v or "")
    for (code,), counts in dc.rows(f, "code_business"):
        n = counts.received - taken.get(code or "", 0)
        if not n:
            continue
        entry = entries.get(code or "")
        parent = entry.parent if entry is not None and entry.parent else code or ""
        head = entries[parent].name if parent in entries else (parent or UNCLASSIFIED)
        top[head] = top.get(head, 0) + n
        if entry is not None and entry.parent:
            children = sub.setdefault(head, {})
            children[entry.name] = children.get(entry.name, 0) + n
    out: list[Share] = []
    for row in _shares(list(top.items()), whole):
        out.append(row)
        out += _shares(list(sub.get(row.label, {}).items()), whole, level=1)
    return out


def _causes(f: Filters, whole: int, off: _Unaccepted) -> list[Share]:
    """C causes at the level they were classified, largest first."""
    acc: dict[str, int] = {}
    taken = off.by(3, lambda v: v or "")
    for code, label, counts in dc.by_dimension(f, "code_cause"):
        name = label.split(" ", 1)[-1] if code else UNCLASSIFIED
        acc[name] = acc.get(name, 0) + counts.received - taken.get(code or "", 0)
    return _shares(list(acc.items()), whole)


def _regions(f: Filters, whole: int, off: _Unaccepted) -> list[Share]:
    """The scope's child units (for head office its 分行), each with its whole subtree; cases at
    the scope's own unit are a row of their own (e.g. 总行（本级）)."""
    node, kids = metrics.children_of(f)
    if not kids:
        return []
    by_code = {k.code: k for k in kids}
    keys = metrics.child_keys(node, kids)
    taken = off.by(0, lambda v: keys.get(v, metrics.NO_BRANCH))
    items = [
        (metrics.group_label(key, node, by_code), counts.received - taken.get(key, 0))
        for key, counts in dc.by_child(f).items()
    ]
    return _shares(items, whole)


def _channels(f: Filters, whole: int, off: _Unaccepted) -> list[Share]:
    taken = off.by(1)
    items = [(CHANNELS.get(c, c), n.received - taken.get(c, 0)) for c, n in dc.by_channel(f)]
    return _shares(items, whole)


def build(year: int) -> Disclosure:
    """The year's disclosure figures for the viewer's scope."""
    start, end = _span(year)
    f = _range(start, end)
    total = dc.total(f)
    before = _range(*_same_days_before(start, end))
    previous_received = dc.total(before).received
    earlier = _unaccepted(before)
    previous = previous_received - earlier.declined - earlier.pending
    off = _unaccepted(f)
    whole = total.received - off.declined - off.pending  # (accepted: the shares' whole)
    records_from = _records_from(end)
    d = Disclosure(
        year=year,
        start=start,
        end=end,
        complete=end == date(year, 12, 31),
        scope=f.branch.name if f.branch else "本行",
        received=total.received,
        declined=off.declined,
        pending=off.pending,
        previous=previous,
        previous_received=previous_received,
        change=None,
        records_from=records_from,
        business=_business(f, whole, off),
        regions=_regions(f, whole, off),
        causes=_causes(f, whole, off),
        channels=_channels(f, whole, off),
        decided=total.decided,
        in_time_share=r(total.in_time_share, 1, 100),
        mean_days=r(total.mean_days),
        regulator=dc.total(f, regulator=True).received - off.by(1).get("regulator", 0),
        major=total.major - sum(1 for row in off.rows if row[4]),
    )
    if d.comparable and previous:
        d = replace(d, change=r(100 * (d.accepted - previous) / previous))
    return d


def _listing(rows: list[Share], n: int = 3) -> str:
    """``信用卡（35.2%）、贷款（20.1%）和借记卡（10.0%）``: the largest named rows."""
    named = [r for r in rows if r.level == 0 and r.label not in VAGUE][:n]
    parts = [f"{r.label}（{r.share:.1f}%）" for r in named]
    if len(parts) <= 1:
        return "".join(parts)
    return "、".join(parts[:-1]) + "和" + parts[-1]


def _comparison(d: Disclosure) -> str:
    same = "上年" if d.complete else "上年同期"
    if not d.comparable:
        return f"（{same}记录不完整，不作比较）"
    if not d.previous:
        none = "未受理投诉" if d.previous_received else "无投诉记录"
        return f"（{same}{none}，不作比较）"
    if d.accepted == d.previous:
        return f"，与{same}（{d.previous:,} 件）持平"
    verb = "增长" if d.accepted > d.previous else "下降"
    return f"，较{same}（{d.previous:,} 件）{verb} {abs(d.change or 0):.1f}%"


def draft_text(d: Disclosure) -> str:
    """The paragraph for the annual report, in the usual order: volume, business, region,
    cause, handling. Only figures; the bank adds its own account of what it improved."""
    until = "" if d.complete else f"截至 {d.end.month} 月 {d.end.day} 日"
    if d.partial and d.records_from is not None and d.records_from <= d.end:
        # (records begin inside the year: the paragraph a bank copies into its report must say
        # that its figures cover only part of the year, in words a reader of the report follows,
        # not only the note beside it)
        until = (
            f"统计期间为 {d.records_from.month} 月 {d.records_from.day} 日至 {d.end.month} 月 "
            f"{d.end.day} 日，此前受理的投诉未纳入统计"
        )
    until = f"（{until}）" if until else ""
    if d.records_from is None or d.records_from > d.end:
        # Kesheng holds no complaint of the year: that says nothing about what the bank received
        # (a new installation would have had the draft say the bank received none)
        return ""
    today = dashboard_filters.today()
    apart = [
        *([f"{d.declined:,} 件因{NOT_ENTITLED}提出，不予受理"] if d.declined else []),
        *([f"{d.pending:,} 件截至 {today.month} 月 {today.day} 日尚待受理"] if d.pending else []),
    ]
    if not d.accepted:
        if not d.received:
            return f"{d.year} 年{until}，{d.scope}未受理消费投诉。"
        return (
            f"{d.year} 年{until}，{d.scope}收到消费投诉 {d.received:,} 件，均未受理："
            f"{'；'.join(apart)}。"
        )
    forwarded = f"；其中监管部门转办 {d.regulator:,} 件" if d.regulator else ""
    volume = f"{d.year} 年{until}，{d.scope}共受理消费投诉 {d.accepted:,} 件"
    also = f"另有 {'；'.join(apart)}，均未计入。" if apart else ""
    parts = [f"{volume}{_comparison(d)}{forwarded}。{also}"]
    if business := _listing(d.business):
        parts.append(f"从业务类别看，投诉主要涉及{business}。")
    if len(d.regions) > 1 and (regions := _listing(d.regions)):
        parts.append(f"从地区分布看，投诉较多的是{regions}。")
    if causes := _listing(d.causes):
        parts.append(f"从投诉原因看，主要为{causes}。")
    whole_year = d.complete and not d.partial
    handled = f"{'全年' if whole_year else '期内'}对 {d.decided:,} 件投诉作出处理决定"
    if d.in_time_share is not None:
        handled += f"，在法定时限内作出并告知客户的占 {d.in_time_share:.1f}%"
    if d.mean_days is not None:
        handled += f"，平均处理用时 {d.mean_days:.1f} 天"
    parts.append(handled + "。")
    return "".join(parts)


SHARE_COLUMNS = ["项目", "投诉量（件）", "占比（%）"]


def _share_rows(rows: list[Share]) -> list[list]:
    return [[("　" * r.level) + r.label, r.count, r.share] for r in rows]


def records_note(d: Disclosure) -> str:
    """What the figures leave out when Kesheng's records begin inside the year ("" if none)."""
    if d.records_from is None:
        return (
            "系统中尚无投诉记录：本页没有可披露的数字，不能据此写“未受理消费投诉”；"
            "启用本系统前受理的投诉请按原有台账统计。"
        )
    if d.records_from > d.end:
        return (
            f"系统中最早的投诉受理于 {d.records_from}，{d.year} 年的投诉未录入本系统，"
            "请按原有台账统计。"
        )
    if not d.partial:
        return ""
    return (
        f"系统中最早的投诉受理于 {d.records_from}，此前受理的投诉未录入本系统，不在统计内；"
        "披露前请与原有台账合并核对。"
    )


def overview_rows(d: Disclosure) -> list[list]:
    same = "上年" if d.complete else "上年同期"
    note = [["记录说明", records_note(d)]] if records_note(d) else []
    return [
        ["统计期间", d.period],
        ["机构范围", d.scope],
        ["收到投诉（件）", d.received],
        ["其中不予受理（件）", d.declined],
        ["其中尚待受理（件）", d.pending],
        ["受理投诉（件）", d.accepted],
        [f"{same}受理投诉（件）", d.previous if d.comparable else "记录不完整"],
        [f"较{same}变化（%）", "不作比较" if d.change is None else d.change],
        ["作出处理决定（件）", d.decided],
        ["法定时限内作出并告知（%）", "—" if d.in_time_share is None else d.in_time_share],
        ["平均处理用时（天）", "—" if d.mean_days is None else d.mean_days],
        ["监管转办投诉（件）", d.regulator],
        ["重大投诉（件）", d.major],
        *note,
    ]


def workbook(d: Disclosure) -> bytes:
    """The disclosure as XLSX (draft paragraph, overview, the four distributions); audited."""
    sheets = [
        ("披露文稿", ["年度消费投诉情况（草稿）"], [[draft_text(d) or records_note(d)]], []),
        ("总体情况", ["项目", "内容"], overview_rows(d), []),
        ("业务类别", SHARE_COLUMNS, _share_rows(d.business), [r.level > 0 for r in d.business]),
        ("地区分布", SHARE_COLUMNS, _share_rows(d.regions), []),
        ("投诉原因", SHARE_COLUMNS, _share_rows(d.causes), []),
        ("受理渠道", SHARE_COLUMNS, _share_rows(d.channels), []),
    ]
    body = exports.to_xlsx(sheets)
    exports.record_export(
        "annual_disclosure",
        title=f"年度消费投诉情况披露 {d.year}",
        filters={"year": str(d.year)},
        rows=sum(len(s[2]) for s in sheets),
        fmt="xlsx",
    )
    return body


def previous_year_span(year: int) -> tuple[date, date]:
    """The days the comparison covers (shown on the page)."""
    return _same_days_before(*_span(year))


__all__ = [
    "Disclosure",
    "Share",
    "build",
    "default_year",
    "draft_text",
    "overview_rows",
    "parse_year",
    "previous_year_span",
    "records_note",
    "workbook",
    "years",
]
