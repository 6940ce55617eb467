"""Maintaining the product catalogue: create, edit and (de)activate products, audited.

An inactive product (停售的产品) keeps its records and figures and stays in every filter; it is
only no longer offered for new business (campaigns, invitations, events).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Product, ProductCategory, User
from app.models.org import PRODUCT_CATEGORY_LABELS
from app.services import audit
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.org_branches import clean_code, one_line, text_problem
from app.services.tx import transactional

PRODUCT_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
CODE_RULE = "产品代码只能由大写字母、数字、点、下划线和连字符组成，以字母或数字开头，至多 32 位"
CATEGORY_WORDS: dict[str, ProductCategory] = {
    **{c.value: c for c in ProductCategory},
    **{label: c for c, label in PRODUCT_CATEGORY_LABELS.items()},
}


def parse_category(raw: str | None) -> ProductCategory | None:
    text = (raw or "").strip()
    return CATEGORY_WORDS.get(text) or CATEGORY_WORDS.get(text.lower())


def category_problem(raw: str | None) -> str | None:
    if parse_category(raw) is not None:
        return None
    if not (raw or "").strip():
        return "请选择产品类别"
    return f"产品类别“{raw[:20]}”无效（可填：{'、'.join(PRODUCT_CATEGORY_LABELS.values())}）"


def name_problem(name: str) -> str | None:
    return text_problem("产品名称", name, 100, required=True)


def namesake(name: str, *, other_than: int | None = None) -> Product | None:
    """An active product of this name (customers would see two identical choices), other than
    ``other_than``."""
    stmt = select(Product).where(Product.name == name, Product.active.is_(True))
    if other_than is not None:
        stmt = stmt.where(Product.id != other_than)
    return db.session.scalars(stmt.order_by(Product.id).limit(1)).first()


def namesake_problem(name: str, other: Product) -> str:
    return f"已有名为“{name}”的启用产品（代码 {other.code}），请使用不同的名称"


def _check_namesake(name: str, *, other_than: int | None = None) -> None:
    if (other := namesake(name, other_than=other_than)) is not None:
        raise Conflict(namesake_problem(name, other), field="name")


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("产品不存在")
    return product


def _checked(name: str, category: str) -> tuple[str, ProductCategory]:
    name = one_line(name)
    if problem := name_problem(name):
        raise ValidationFailed(problem, field="name")
    if problem := category_problem(category):
        raise ValidationFailed(problem, field="category")
    return name, parse_category(category)  # type: ignore[return-value]


@transactional
def create_product(code: str, name: str, category: str, *, actor: User | None) -> Product:
    """A new active product. Raises ValidationFailed with the field, Conflict for a taken code."""
    code = clean_code(code)
    if not PRODUCT_CODE_RE.match(code):
        raise ValidationFailed(CODE_RULE, field="code")
    if db.session.scalar(select(Product.id).where(Product.code == code)) is not None:
        raise Conflict(f"产品代码 {code} 已存在", field="code")
    name, parsed = _checked(name, category)
    _check_namesake(name)
    product = Product(code=code, name=name, category=parsed, active=True)
    db.session.add(product)
    db.session.flush()
    audit.record(
        "product.create",
        actor=actor,
        object_type="product",
        object_id=product.id,
        detail={"code": code, "name": name, "category": str(parsed)},
    )
    return product


@transactional
def update_product(product_id: int, *, name: str, category: str, actor: User | None) -> Product:
    """Change a product's name or category (its code stays: integrators send it)."""
    product = get_product(product_id)
    name, parsed = _checked(name, category)
    if name != product.name and product.active:
        _check_namesake(name, other_than=product.id)
    changes = {}
    if name != product.name:
        changes["name"] = [product.name, name]
    if parsed != product.category:
        changes["category"] = [str(product.category), str(parsed)]
    product.name, product.category = name, parsed
    if changes:
        audit.record(
            "product.update",
            actor=actor,
            object_type="product",
            object_id=product.id,
            detail={"code": product.code, "changes": changes},
        )
    return product


@transactional
def set_product_active(product_id: int, active: bool, *, actor: User | None) -> Product:
    """Stop offering a product for new business, or offer it again."""
    product = get_product(product_id)
    if active != product.active:
        product.active = active
        audit.record(
            "product.enable" if active else "product.disable",
            actor=actor,
            object_type="product",
            object_id=product.id,
            detail={"code": product.code, "name": product.name},
        )
    return product
