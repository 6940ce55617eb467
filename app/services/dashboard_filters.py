"""The filters every dashboard page shares: date range, branch subtree, product, channel, survey.

Filters come from the URL (so a view can be shared) and are checked here: a bad date, an unknown
code or a branch outside the viewer's scope is a ValidationFailed with a Chinese message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import g, has_request_context
from sqlalchemy import select

from app.extensions import db
from app.models import Branch, Product, Survey
from app.models.base import utcnow
from app.services import scope
from app.services.errors import ValidationFailed
from app.services.rollups import TZ

MAX_DAYS = 3 * 366
GRAINS = {"month": "按月", "week": "按周"}
SURVEY_CHANNELS = {
    "sms": "短信",
    "email": "电子邮件",
    "wechat": "微信",
    "app": "手机银行",
    "web": "网页/网站",
    "phone": "电话回访",
    "kiosk": "网点评价器",
}
COMPLAINT_ONLY_CHANNELS = {
    "hotline": "客服热线",
    "branch": "营业网点",
    "regulator": "监管转办",
    "survey": "满意度调查转投诉",
}
CHANNELS = {**SURVEY_CHANNELS, **COMPLAINT_ONLY_CHANNELS}


def today() -> date:
    return utcnow().astimezone(TZ).date()


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    branch: Branch | None = None  # subtree root; None means the viewer's whole scope
    product: Product | None = None
    channel: str | None = None
    survey: Survey | None = None
    grain: str = "month"
    branch_ids: tuple[int, ...] | None = None  # the subtree's ids; None means no branch filter

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one (for trends)."""
        return replace(
            self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1)
        )

    def args(self, **override: Any) -> dict[str, str]:
        out = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "branch": self.branch.code if self.branch else "",
            "product": self.product.code if self.product else "",
            "channel": self.channel or "",
            "survey": self.survey.code if self.survey else "",
            "grain": self.grain,
        }
        out.update({k: ("" if v is None else str(v)) for k, v in override.items()})
        return {k: v for k, v in out.items() if v}

    def query_string(self, **override: Any) -> str:
        return urlencode(self.args(**override))

    def on_rows(self, stmt: Any, model: Any) -> Any:
        """``stmt`` on a table of raw rows (not a rollup) limited to the branch subtree, product
        and questionnaire chosen; dates and channel are the caller's."""
        if self.branch_ids is not None:
            stmt = stmt.where(model.branch_id.in_(self.branch_ids))
        if self.product is not None:
            stmt = stmt.where(model.product_id == self.product.id)
        if self.survey is not None:
            stmt = stmt.where(model.survey_id == self.survey.id)
        return stmt

    def scope_text(self, *, dates: bool = True) -> str:
        """The filters in words for a page's heading, e.g. ``杭州分行，2026-01-01 至 2026-01-31
        （北京时间），信用卡``; without the dates for a list that does not use them."""
        parts = [self.branch.name if self.branch else "全行"]
        if dates:
            parts.append(f"{self.start} 至 {self.end}（北京时间）")
        if self.product is not None:
            parts.append(self.product.name)
        if self.channel:
            parts.append(CHANNELS.get(self.channel, self.channel))
        if self.survey is not None:
            parts.append(self.survey.title)
        return "，".join(parts)


def memo(key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for the rest of the request under ``key`` (several charts of a
    page share one rollup query). Outside a request it simply computes. Callers must not change
    what they get back."""
    if not has_request_context():
        return compute()
    cache = g.setdefault("dashboard_memo", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # the dates a figure can be asked for


def default_range(end: date | None = None) -> tuple[date, date]:
    """The twelve calendar months up to ``end`` (today by default), none before EARLIEST."""
    end = end or today()
    first = end.replace(day=1)
    for _ in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return max(first, EARLIEST), end


def parse_date(value: str, label: str, name: str) -> date:
    """A `YYYY-MM-DD` date typed in a filter, or ValidationFailed on ``name`` (in Chinese)."""
    try:
        found = date.fromisoformat(value.strip())
    except ValueError as err:
        raise ValidationFailed(f"{label}应为 2026-01-31 这样的“年-月-日”", field=name) from err
    if not EARLIEST <= found <= LATEST:  # (and the date arithmetic stays inside the calendar)
        raise ValidationFailed(
            f"{label}须在 {EARLIEST:%Y-%m-%d} 至 {LATEST:%Y-%m-%d} 之间", field=name
        )
    return found


def _by_code(model: Any, code: str, label: str, name: str) -> Any:
    row = db.session.scalar(select(model).where(model.code == code.strip()[:40]))
    if row is None:
        raise ValidationFailed(f"未找到{label}：{code[:40]}", field=name)
    return row


def subtree_ids(branch: Branch) -> tuple[int, ...]:
    stmt = select(Branch.id).where(Branch.path.startswith(branch.path))
    return tuple(db.session.scalars(stmt))


def parse(args: Mapping[str, str]) -> Filters:
    """Filters from URL arguments, limited to the viewer's branch scope (bound to the session)."""
    start, end = default_range()
    if args.get("to"):  # alone, it ends the usual twelve months
        start, end = default_range(parse_date(args["to"], "结束日期", "to"))
    if args.get("from"):
        start = parse_date(args["from"], "开始日期", "from")
    if start > end:
        raise ValidationFailed("开始日期不能晚于结束日期", field="from")
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed("日期范围最长三年", field="from")
    viewer = scope.current(db.session)
    branch = None
    if args.get("branch"):
        branch = _by_code(Branch, args["branch"], "机构", "branch")
        if not viewer.covers(branch):
            raise ValidationFailed("无权查看该机构的数据", field="branch")
    elif not viewer.unrestricted:
        branch = db.session.scalar(select(Branch).where(Branch.path == viewer.path_prefix))
    channel = (args.get("channel") or "").strip() or None
    if channel is not None and channel not in CHANNELS:
        raise ValidationFailed("渠道取值无效", field="channel")
    grain = args.get("grain") or "month"
    if grain not in GRAINS:
        raise ValidationFailed("时间粒度取值无效", field="grain")
    return Filters(
        start=start,
        end=end,
        branch=branch,
        product=_by_code(Product, args["product"], "产品", "product")
        if args.get("product")
        else None,
        channel=channel,
        survey=_by_code(Survey, args["survey"], "问卷", "survey") if args.get("survey") else None,
        grain=grain,
        branch_ids=subtree_ids(branch) if branch is not None else None,
    )


def drill_up(f: Filters) -> Branch | None:
    """The branch one level above the filtered one, if the viewer may see it (a branch
    manager at their own branch has nowhere to go up to: its parent is outside their scope)."""
    parent = f.branch.parent if f.branch is not None else None
    if parent is None or not scope.current(db.session).covers(parent):
        return None
    return parent


def options() -> dict[str, list[tuple[str, str]]]:
    """Choices for the filter bar: branches in scope (indented by depth), products, surveys."""
    viewer = scope.current(db.session)
    stmt = select(Branch).order_by(Branch.path)
    if viewer.path_prefix:
        stmt = stmt.where(Branch.path.startswith(viewer.path_prefix))
    branches = [(b.code, b.option_label) for b in db.session.scalars(stmt)]
    products = [
        (p.code, p.option_label) for p in db.session.scalars(select(Product).order_by(Product.code))
    ]
    surveys = [(s.code, s.title) for s in db.session.scalars(select(Survey).order_by(Survey.code))]
    return {
        "branches": branches,
        "products": products,
        "surveys": surveys,
        "channels": list(CHANNELS.items()),
        "grains": list(GRAINS.items()),
    }
