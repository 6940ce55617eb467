"""Metrics endpoints of /api/v1: the dashboards' satisfaction figures for other systems."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.services import dashboard_filters, metrics
from app.web.api.registry import endpoint
from app.web.api.schemas import ErrorBody, NoNul, Strict
from surveys.scoring import half_up

ERRORS = {401: ErrorBody, 403: ErrorBody}
_PLAIN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SatisfactionQuery(Strict):
    group_by: Literal["branch", "product", "channel", "month"] = "month"
    from_: date | None = Field(
        default=None,
        alias="from",
        description="YYYY-MM-DD (Asia/Shanghai day); without it, twelve calendar months ending "
        "with `to`'s month (from the first day of the eleventh month before it). "
        "The range spans at most three years (3 × 366 days): a longer one gets 422",
    )
    to: date | None = Field(default=None, description="YYYY-MM-DD, inclusive; default today")
    branch: str | None = Field(default=None, max_length=32, pattern=NoNul)
    product: str | None = Field(default=None, max_length=32, pattern=NoNul)
    channel: str | None = Field(default=None, max_length=20, pattern=NoNul)
    survey: str | None = Field(default=None, max_length=40, pattern=NoNul)

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _plain_date(cls, value: Any) -> Any:
        """Only ``YYYY-MM-DD``: pydantic would also take a date-time or a Unix timestamp."""
        if value is not None and not (isinstance(value, str) and _PLAIN_DATE.match(value)):
            raise ValueError("须为日期 YYYY-MM-DD，例如 2026-11-01")
        return value


class SatisfactionRow(BaseModel):
    branch: str | None = Field(default=None, description="branch code (group_by=branch)")
    product: str | None = Field(default=None, description="product code (group_by=product)")
    channel: str | None = Field(default=None, description="channel (group_by=channel)")
    month: str | None = Field(default=None, description="YYYY-MM, Asia/Shanghai (group_by=month)")
    label: str
    responses: int
    csat: float | None = Field(description="share of 4-5 answers on the 1-5 key question, 0..1")
    csat_n: int
    nps: float | None = Field(description="% promoters - % detractors, -100..100")
    nps_n: int
    index: float | None = Field(description="100-point satisfaction index")
    too_small: bool = Field(description="fewer answers than MIN_SAMPLE_SIZE")


class SatisfactionOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    group_by: str
    from_: date = Field(serialization_alias="from")
    to: date
    min_sample_size: int
    rows: list[SatisfactionRow]


@endpoint(
    "/v1/metrics/satisfaction",
    "GET",
    summary="满意度指标（按机构、产品、渠道或月份汇总）",
    scope="metrics:read",
    query=SatisfactionQuery,
    responses={200: SatisfactionOut, 422: ErrorBody, **ERRORS},
    tags=["metrics"],
)
def satisfaction(query: SatisfactionQuery):
    """Rows with ``responses``, ``csat``, ``nps`` and the group key; days are Asia/Shanghai days,
    the same figures the managers' dashboards show for the same filters."""
    args = {
        "from": query.from_.isoformat() if query.from_ else "",
        "to": query.to.isoformat() if query.to else "",
        "branch": query.branch or "",
        "product": query.product or "",
        "channel": query.channel or "",
        "survey": query.survey or "",
    }
    filters = dashboard_filters.parse({k: v for k, v in args.items() if v})
    minimum = metrics.min_sample_size()
    rows = []
    for group in metrics.satisfaction_by(filters, query.group_by):
        report = group.sums.report(minimum)
        key = group.key[:7] if query.group_by == "month" else group.key or None  # (not "")
        rows.append(
            SatisfactionRow(
                **{query.group_by: key},
                label=group.label,
                responses=group.sums.responses,
                csat=half_up(report.csat.value, 4),
                csat_n=report.csat.n,
                nps=half_up(report.nps.value, 1),
                nps_n=report.nps.n,
                index=half_up(report.index.value, 1),
                too_small=report.responses < minimum,
            )
        )
    return SatisfactionOut(
        group_by=query.group_by,
        from_=filters.start,
        to=filters.end,
        min_sample_size=minimum,
        rows=rows,
    )
