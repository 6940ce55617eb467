"""Organisation and customer endpoints of /api/v1."""

from __future__ import annotations

from app.services import customers, org
from app.services.customers import CustomerData
from app.services.errors import ValidationFailed
from app.web.api.registry import endpoint
from app.web.api.schemas import (
    BranchList,
    BranchOut,
    CustomerIn,
    CustomerOut,
    ErrorBody,
    ProductList,
    ProductOut,
    Strict,
)

ERRORS = {401: ErrorBody, 403: ErrorBody}


class NoQuery(Strict):
    pass


def customer_out(customer) -> CustomerOut:
    return CustomerOut(
        external_id=customer.external_id,
        name=customer.masked_name,
        phone=customer.masked_phone if customer.phone else None,
        email=customer.masked_email if customer.email else None,
        branch_code=customer.branch.code if customer.branch else None,
        segment=customer.segment,
    )


@endpoint(
    "/v1/branches",
    "GET",
    summary="机构树（总行、分行、支行）",
    scope=None,
    responses={200: BranchList, **ERRORS},
    tags=["organisation"],
)
def list_branches():
    """Every branch with its parent, in tree order."""
    return BranchList(
        items=[
            BranchOut(
                code=b.code,
                name=b.name,
                kind=b.kind,
                parent_code=b.parent.code if b.parent else None,
                active=b.active,
            )
            for b in org.list_branches()
        ]
    )


@endpoint(
    "/v1/products",
    "GET",
    summary="产品目录",
    scope=None,
    responses={200: ProductList, **ERRORS},
    tags=["organisation"],
)
def list_products():
    """Every product with its category."""
    return ProductList(
        items=[
            ProductOut(code=p.code, name=p.name, category=p.category, active=p.active)
            for p in org.list_products()
        ]
    )


MAX_EXTERNAL_ID = 64


@endpoint(
    "/v1/customers/<path:external_id>",  # (a number may hold "/": CIF/2026/001)
    "PUT",
    summary="同步客户信息（按客户号新增或更新）",
    scope="customers:write",
    body=CustomerIn,
    responses={200: CustomerOut, 201: CustomerOut, 422: ErrorBody, **ERRORS},
    tags=["customers"],
)
def put_customer(external_id: str, body: CustomerIn):
    """Create or update a customer from the bank's core system; personal data is masked."""
    if len(external_id) > MAX_EXTERNAL_ID:  # (cut short, it would name another customer)
        raise ValidationFailed(f"客户号最多 {MAX_EXTERNAL_ID} 个字符", field="external_id")
    customer, created = customers.upsert_customer(
        CustomerData(external_id=external_id, **body.model_dump())
    )
    return customer_out(customer), 201 if created else 200


@endpoint(
    "/v1/customers/<path:external_id>",  # (a number may hold "/": CIF/2026/001)
    "GET",
    summary="查询客户（脱敏）",
    scope="customers:read",
    responses={200: CustomerOut, 404: ErrorBody, **ERRORS},
    tags=["customers"],
)
def get_customer(external_id: str):
    """One customer by customer number, with personal data masked."""
    return customer_out(customers.require_customer_by_external_id(external_id))
