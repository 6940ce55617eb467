"""Typed SQLAlchemy models, one module per aggregate; importing this registers them all."""

from app.models.base import Base, TimestampMixin, utcnow  # noqa: I001  (base first)
from app.models.org import (
    Branch,
    BranchKind,
    BranchScoped,
    Customer,
    CustomerSegment,
    Product,
    ProductCategory,
)
from app.models.user import ApiToken, LoginAttempt, Role, User
from app.models.audit import AuditLog

__all__ = [
    "ApiToken",
    "AuditLog",
    "Base",
    "Branch",
    "BranchKind",
    "BranchScoped",
    "Customer",
    "CustomerSegment",
    "LoginAttempt",
    "Product",
    "ProductCategory",
    "Role",
    "TimestampMixin",
    "User",
    "utcnow",
]
