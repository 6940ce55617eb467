"""``flask branches ...`` and ``flask products ...``: loading the branch tree and the product
catalogue from a file, and the bank's customer counts per branch (每万客户投诉的分母)."""

from __future__ import annotations

from pathlib import Path

import click

from app.services import imports, org, org_import

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


@click.group("branches", help="机构：从文件导入机构树，登记各机构的客户数")
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


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def run_import(load, path: Path) -> imports.ImportReport:
    """``load(name, bytes)``'s report; every bad line on stderr and exit status 1 when the
    file was refused (nothing was stored)."""
    try:
        return load(path.name, path.read_bytes(), actor=None)
    except imports.ImportRejected as err:
        for number, problem in err.report.errors:
            click.echo(f"第 {number} 行：{problem}", err=True)
        raise click.ClickException(err.message) from err


@branches_group.command("import")
@click.argument("path", type=FILE)
def import_branches(path: Path) -> None:
    """Create or update branches from a CSV (or XLSX) file with the columns code, name, kind,
    parent_code, city, address; all rows or none."""
    click.echo(org_import.summary(run_import(org_import.import_branches, path)))


@click.group("products", help="产品：从文件导入产品目录")
def products_group() -> None:
    pass


@products_group.command("import")
@click.argument("path", type=FILE)
def import_products(path: Path) -> None:
    """Create or update products from a CSV (or XLSX) file with the columns code, name,
    category; all rows or none."""
    click.echo(org_import.summary(run_import(org_import.import_products, path)))
