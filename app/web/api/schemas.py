"""Pydantic models for API input and output; they also feed the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.services.customers import EMAIL_PATTERN, branch_by_code
from app.services.errors import ServiceError

_CUSTOMER_KEYS = {"external_id", "name", "phone", "email"}


@contextmanager
def customer_fields(customer: Any = None) -> Iterator[None]:
    """Around a use case given a body's ``customer`` object: the service names a field of the
    customer (``name``, ``phone`` …) as its forms do; the error names it as the JSON body does
    (``customer.name``), like the schema's own errors. The customer's own ``branch_code`` is
    checked first: the service names it ``branch_code``, as it names the body's own."""
    code = getattr(customer, "branch_code", None)
    if code:
        try:
            branch_by_code(code, inactive_ok=True)
        except ServiceError as err:
            err.fields = {"customer.branch_code": err.message}
            raise
    try:
        yield
    except ServiceError as err:
        err.fields = {
            (f"customer.{key}" if key in _CUSTOMER_KEYS else key): message
            for key, message in err.fields.items()
        }
        raise


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


INACTIVE_NOTE = "; kept for history, refused for new invitations and events"


class BranchOut(BaseModel):
    code: str
    name: str
    kind: Literal["head_office", "branch", "sub_branch"]
    parent_code: str | None
    active: bool = Field(description="false: closed (撤并)" + INACTIVE_NOTE)


class BranchList(BaseModel):
    items: list[BranchOut]


class ProductOut(BaseModel):
    code: str
    name: str
    category: str
    active: bool = Field(description="false: no longer sold" + INACTIVE_NOTE)


class ProductList(BaseModel):
    items: list[ProductOut]


NoNul = r"^[^\x00]*$"
Email = rf"^$|{EMAIL_PATTERN}"  # (the imports' rule: one @, a dotted domain; "" is none)
Phone = r"^[0-9+\- ()]*$"


def known_customer_name() -> Any:
    """A request's ``customer.name``: may be left out when ``external_id`` names a known
    customer (complaints, invitations, events)."""
    return Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=NoNul,
        description="required unless external_id names a known customer",
    )


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=NoNul)
    phone: str | None = Field(default=None, max_length=30, pattern=Phone)
    email: str | None = Field(default=None, max_length=254, pattern=Email)
    id_number: str | None = Field(default=None, max_length=18, pattern=r"^[0-9Xx]*$")
    branch_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    segment: Literal["mass", "affluent", "private", "small_business", "corporate"] | None = None


class CustomerOut(BaseModel):
    external_id: str
    name: str = Field(description="masked")
    phone: str | None = Field(description="masked")
    email: str | None = Field(description="masked")
    branch_code: str | None
    segment: str
