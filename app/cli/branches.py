"""``flask branches ...``: the bank's customer counts per branch (每万客户投诉的分母)."""

from __future__ import annotations

import click

from app.services import org

MAX_COUNT = 2**31 - 1  # what the integer column holds


def _pair(text: str) -> tuple[str, int | None]:
    code, sep, value = text.partition("=")
    if not sep or not code.strip():
        raise click.BadParameter(f"应为 机构代码=客户数（如 HZ01=52000）：{text}")
    value = value.strip()
    if value in ("", "-"):
        return code.strip().upper(), None
    if not value.isdecimal() or int(value) > MAX_COUNT:
        raise click.BadParameter(f"客户数应为不超过 {MAX_COUNT:,} 的非负整数：{text}")
    return code.strip().upper(), int(value)


@click.group("branches", help="机构：登记各机构的客户数")
def branches_group() -> None:
    pass


@branches_group.command("set-customers")
@click.argument("pairs", nargs=-1, required=True)
def set_customers(pairs: tuple[str, ...]) -> None:
    """Register each unit's own customer count (CODE=N; CODE= clears it), the population of
    complaints per 10,000 customers on the dashboards."""
    counts = dict(_pair(p) for p in pairs)
    for branch in org.set_customer_counts(counts):
        shown = "未登记" if branch.customer_count is None else f"{branch.customer_count:,}"
        click.echo(f"{branch.code}  {branch.name}  {shown}")
