"""The bank's organisation and customers: branch tree, products, customers."""

from __future__ import annotations

import re
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import EncryptedText, TimestampMixin, db
from app.security import pii
from nlp.redact import mask_email, mask_id_number, mask_phone

BRANCH_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")


class BranchKind(StrEnum):
    HEAD_OFFICE = "head_office"
    BRANCH = "branch"
    SUB_BRANCH = "sub_branch"


BRANCH_KIND_LABELS = {
    BranchKind.HEAD_OFFICE: "总行",
    BranchKind.BRANCH: "分行",
    BranchKind.SUB_BRANCH: "支行/网点",
}


class BranchScoped:
    """Marker: rows of this model belong to a branch and are filtered by the viewer's scope.

    The filter itself lives in app.services.scope, the one place that applies it.
    """

    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)


class Branch(TimestampMixin, db.Model):
    """A node of the branch tree; ``path`` holds the codes from the root, e.g. ``/HO/HZ/HZ01/``."""

    __tablename__ = "branch"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[BranchKind] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True)
    city: Mapped[str | None] = mapped_column(String(50))
    address: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # The bank's own count of this unit's customers (not its sub-branches'): the population of
    # "complaints per 10,000 customers". Kesheng's customer table only holds the customers who
    # were surveyed, complained or were imported, so it cannot stand in for it.
    customer_count: Mapped[int | None]

    parent: Mapped[Branch | None] = relationship(remote_side=[id])

    @property
    def kind_label(self) -> str:
        return BRANCH_KIND_LABELS.get(BranchKind(self.kind), self.kind)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    @property
    def option_label(self) -> str:
        """Its name indented by depth, as drop-downs show it; marked when inactive."""
        return "　" * self.depth + self.name + ("" if self.active else "（已停用）")

    def place_under(self, parent: Branch | None) -> None:
        if not BRANCH_CODE_RE.match(self.code):
            raise ValueError(f"invalid branch code {self.code!r}")
        self.parent = parent
        self.path = (parent.path if parent else "/") + self.code + "/"


class ProductCategory(StrEnum):
    DEPOSIT = "deposit"
    CARD = "card"
    LOAN = "loan"
    WEALTH = "wealth"
    DIGITAL = "digital"
    PAYMENT = "payment"
    OTHER = "other"


PRODUCT_CATEGORY_LABELS = {
    ProductCategory.DEPOSIT: "存款",
    ProductCategory.CARD: "银行卡",
    ProductCategory.LOAN: "贷款",
    ProductCategory.WEALTH: "理财",
    ProductCategory.DIGITAL: "电子渠道",
    ProductCategory.PAYMENT: "支付结算",
    ProductCategory.OTHER: "其他",
}


class Product(TimestampMixin, db.Model):
    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[ProductCategory] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def option_label(self) -> str:
        return self.name + ("" if self.active else "（已停用）")

    @property
    def category_label(self) -> str:
        return PRODUCT_CATEGORY_LABELS.get(ProductCategory(self.category), self.category)


class CustomerSegment(StrEnum):
    MASS = "mass"
    AFFLUENT = "affluent"
    PRIVATE = "private"
    SMALL_BUSINESS = "small_business"
    CORPORATE = "corporate"


SEGMENT_LABELS = {
    CustomerSegment.MASS: "大众客户",
    CustomerSegment.AFFLUENT: "财富客户",
    CustomerSegment.PRIVATE: "私行客户",
    CustomerSegment.SMALL_BUSINESS: "小微企业",
    CustomerSegment.CORPORATE: "公司客户",
}


class Customer(BranchScoped, TimestampMixin, db.Model):
    """A customer known by the bank's customer number; contact data encrypted at rest."""

    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    segment: Mapped[CustomerSegment] = mapped_column(String(20), default=CustomerSegment.MASS)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(EncryptedText)
    email_index: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number: Mapped[str | None] = mapped_column(EncryptedText)
    id_number_index: Mapped[str | None] = mapped_column(String(64), index=True)
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_channels: Mapped[str] = mapped_column(Text, default="")
    anonymised: Mapped[bool] = mapped_column(default=False)

    branch: Mapped[Branch | None] = relationship()

    @staticmethod
    def channels_opted_out(stored: str | None) -> frozenset[str]:
        """``opted_out_channels`` ("sms,wechat") as a set; also for rows read without the ORM."""
        return frozenset(filter(None, (stored or "").split(",")))

    def set_contact(
        self, *, phone: str | None = None, email: str | None = None, id_number: str | None = None
    ) -> None:
        """Store contact data with its blind indexes; None leaves a field unchanged."""
        if phone is not None:
            self.phone = phone.strip() or None
            self.phone_index = pii.blind_index("phone", self.phone)
        if email is not None:
            self.email = email.strip() or None
            self.email_index = pii.blind_index("email", self.email)
        if id_number is not None:
            self.id_number = id_number.strip().upper() or None
            self.id_number_index = pii.blind_index("id_number", self.id_number)

    @property
    def segment_label(self) -> str:
        return SEGMENT_LABELS.get(CustomerSegment(self.segment), self.segment)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone) if self.phone else "—"

    @property
    def masked_email(self) -> str:
        return mask_email(self.email) if self.email else "—"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number) if self.id_number else "—"


def mask_name(name: str) -> str:
    """张三 -> 张*, 张三丰 -> 张*丰, 欧阳娜娜 -> 欧**娜; companies keep their first 4 characters."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "—"
    if len(name) == 2:
        return name[0] + "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return name[:4] + "*" * min(len(name) - 4, 6)
