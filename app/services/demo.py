"""Realistic demo data for one bank; running it again adds nothing twice."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Branch, BranchKind, Customer, CustomerSegment, Product, User, utcnow
from app.security.passwords import hash_password, verify_password
from app.services import (
    analysis,
    demo_audit,
    demo_complaints,
    demo_dashboards,
    demo_improvements,
    demo_surveys,
    improvement_actions,
    rollups,
)
from app.services import demo_data as data
from app.services.errors import ValidationFailed
from app.services.tx import transactional

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"


@dataclass
class SeedReport:
    branches: int = 0
    products: int = 0
    customers_added: int = 0
    accounts_added: int = 0
    records_added: int = 0  # answers, complaints and problems
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{current_app.config['BANK_NAME']}（演示数据）：机构 {self.branches} 个，"
            f"产品 {self.products} 个；新增客户 "
            f"{self.customers_added} 人、员工账号 {self.accounts_added} 个、答卷/投诉/整改问题 "
            f"{self.records_added} 条"
        )


def id_number(rng: random.Random, region: str) -> str:
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"{region}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    total = sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True))
    return body + ID_CHECK[total % 11]


def person_name(rng: random.Random) -> str:
    surname = data.SURNAMES[min(int(rng.expovariate(1 / 18)), len(data.SURNAMES) - 1)]
    given = "".join(rng.choice(data.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2, 2))))
    return surname + given


def _seed_branches() -> dict[str, Branch]:
    """The demo bank's tree (and only it: a bank's own units get no demo customers)."""
    existing = {b.code: b for b in db.session.scalars(select(Branch))}
    head = data.BRANCHES[0][0]  # (the demo's head office, the first row)
    own = [b for b in existing.values() if b.parent_id is None and b.code != head]
    if own:  # a second head office would break the tree's one root (the import refuses it)
        raise ValidationFailed(
            f"数据库中已有本行的机构树（总行 {own[0].code}）：演示数据只能装入空库或演示库，"
            "请另建一个数据库（DATABASE_URL）试用"
        )
    rng = random.Random(7)
    for code, name, city, parent in data.BRANCHES:
        branch = existing.get(code)
        if branch is None:
            kind = (
                BranchKind.HEAD_OFFICE
                if parent is None
                else BranchKind.BRANCH
                if parent == "HO"
                else BranchKind.SUB_BRANCH
            )
            branch = Branch(
                code=code,
                name=name,
                kind=kind,
                city=city,
                address=f"{city}市{rng.choice(data.STREETS)}{rng.randrange(1, 400)}号",
            )
            branch.place_under(existing.get(parent) if parent else None)
            db.session.add(branch)
            existing[code] = branch
        if branch.customer_count is None:
            branch.customer_count = data.CUSTOMER_COUNTS.get(code)
    db.session.flush()
    return {code: existing[code] for code, *_ in data.BRANCHES}


def _seed_products() -> int:
    existing = set(db.session.scalars(select(Product.code)))
    for code, name, category in data.PRODUCTS:
        if code not in existing:
            db.session.add(Product(code=code, name=name, category=category))
    return len(data.PRODUCTS)


def _customer(rng: random.Random, n: int, branch: Branch) -> Customer:
    company = rng.random() < 0.08
    if company:
        name = f"{branch.city}{rng.choice(data.COMPANY_WORDS)}{rng.choice(data.COMPANY_KINDS)}"
        segment = CustomerSegment.SMALL_BUSINESS
    else:
        name = person_name(rng)
        segment = rng.choices(
            [CustomerSegment.MASS, CustomerSegment.AFFLUENT, CustomerSegment.PRIVATE],
            weights=[80, 17, 3],
        )[0]
    customer = Customer(external_id=f"C{n:08d}", name=name, segment=segment, branch=branch)
    # A customer of long standing: on record well before the year of answers and complaints
    # the demo has (without a draw of its own, so the rest of the data stays as it was).
    customer.created_at = utcnow() - timedelta(days=400 + n * 37 % 300)  # (well inside retention)
    phone = f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"
    email = (
        f"{rng.choice('abcdefghjkmnpqrstwxyz')}{rng.randrange(100, 99999)}"
        f"@{rng.choice(data.EMAIL_DOMAINS)}"
        if rng.random() < 0.6
        else None
    )
    ident = None if company else id_number(rng, rng.choice(data.ID_REGIONS[branch.code[:2]]))
    customer.set_contact(phone=phone, email=email, id_number=ident)
    return customer


def _seed_customers(count: int, branches: dict[str, Branch]) -> int:
    have = db.session.scalar(select(func.count(Customer.id))) or 0
    outlets = [b for b in branches.values() if b.kind == BranchKind.SUB_BRANCH]
    rng = random.Random(20261122)
    added = 0
    for n in range(1, count + 1):
        branch = rng.choice(outlets)
        customer = _customer(rng, n, branch)  # drawn anyway, so the sequence stays stable
        if n > have:
            db.session.add(customer)
            added += 1
    return added


KEPT_PASSWORD = "（原密码不变）"


def _seed_accounts(branches: dict[str, Branch], report: SeedReport) -> None:
    """The demo accounts; one that already exists (e.g. an admin made with ``users create``)
    keeps its password, and the logins printed say so instead of the demo password."""
    existing = {u.username: u for u in db.session.scalars(select(User))}
    hashed = hash_password(data.DEMO_PASSWORD)
    for username, display, role, branch_code in data.ACCOUNTS:
        user = existing.get(username)
        if user is None:
            user = User(
                username=username,
                display_name=display,
                role=role,
                branch=branches.get(branch_code) if branch_code else None,
                password_hash=hashed,
            )
            db.session.add(user)
            report.accounts_added += 1
        password = (
            data.DEMO_PASSWORD
            if user.password_hash == hashed
            or verify_password(user.password_hash, data.DEMO_PASSWORD)
            else KEPT_PASSWORD
        )
        report.logins.append(
            (username, user.role, user.branch.name if user.branch else "全行", password)
        )


# The rollups the seeded rows count in (the voice rollup follows the text analysis, see
# ``analyse_pending_texts``).
ROLLUPS = ("satisfaction", "complaint", "followup")


def seed(*, customers: int = 200, responses: int = 2000, audit_history: bool = True) -> SeedReport:
    """Load the demo bank, then rebuild the dashboard rollups its rows count in.

    The seed writes a year of dated rows in one transaction; instead of one tracked refresh
    per touched (day, branch) cell it turns the rollup tracking off and rebuilds the affected
    rollups once after the commit (only when it added something: a second run adds nothing
    and leaves the rollups alone). ``audit_history``: also the weeks of audit log that go with
    the cases (the tests' baseline leaves the log empty, for the audit tests to fill)."""
    report = _seed_rows(customers=customers, responses=responses, audit_history=audit_history)
    if report.records_added:
        rollups.rebuild(ROLLUPS)
        # what the periodic job has done in a bank running it: owners of actions due soon
        # reminded, overdue ones escalated (the workbench's 督办提醒, the board's 已督办)
        improvement_actions.remind_and_escalate()
    return report


@transactional
def _seed_rows(*, customers: int, responses: int, audit_history: bool) -> SeedReport:
    report = SeedReport()
    branches = _seed_branches()
    report.branches = len(branches)
    report.products = _seed_products()
    report.customers_added = _seed_customers(customers, branches)
    _seed_accounts(branches, report)
    db.session.info["rollups_enabled"] = False  # rebuilt once after the commit (see ``seed``)
    try:
        with analysis.deferred():
            report.records_added += demo_surveys.seed(responses=responses)
            complaints_added = demo_complaints.seed_complaints()
            report.records_added += complaints_added
            demo_complaints.link_resolution_answers()  # (answers and cases of any seed)
            report.records_added += demo_improvements.seed_improvements()
            if complaints_added and audit_history:  # (the first seed: with its cases)
                report.records_added += demo_audit.seed_audit()
        db.session.flush()  # (inside: the commit's flush must not note cells either)
    finally:
        db.session.info.pop("rollups_enabled", None)
    return report


def analyse_pending_texts() -> int:
    """Analyse the demo texts in batches (after the seed committed); returns how many."""
    done = 0
    for batch in analysis.in_batches(analysis.work_list(), 500):
        done += analysis.analyze_batch(batch)
    demo_dashboards.seed()
    return done
