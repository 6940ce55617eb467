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
from app.models.survey import (
    Campaign,
    CampaignSkip,
    CampaignStatus,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    Survey,
    SurveyStatus,
    SurveyVersion,
    TriggerRule,
)
from app.models.survey_response import Answer, CallAttempt, FollowUp, FollowUpStatus, Response

__all__ = [
    "Answer",
    "CallAttempt",
    "Campaign",
    "CampaignSkip",
    "CampaignStatus",
    "FollowUp",
    "FollowUpStatus",
    "Invitation",
    "InvitationStatus",
    "OutboundMessage",
    "Response",
    "Survey",
    "SurveyStatus",
    "SurveyVersion",
    "TriggerRule",
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
