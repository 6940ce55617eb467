"""Typed SQLAlchemy models, one module per aggregate; importing this registers them all."""

from app.models.base import MAX_ROW_ID, Base, TimestampMixin, row_id, utcnow  # noqa: I001  (base first)
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
from app.models.complaint import Complaint, ComplaintAttachment, ComplaintEvent
from app.models.outbox import OutboxMessage
from app.models.analysis import AnalysisStatus, LabelCorrection, TextAnalysis
from app.models.survey import (
    Campaign,
    CampaignStatus,
    CampaignSkip,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    Survey,
    SurveyStatus,
    SurveyVersion,
    TriggerFiring,
    TriggerRule,
)
from app.models.survey_response import (
    Answer,
    CallAttempt,
    FollowUp,
    FollowUpStatus,
    Intake,
    Response,
)
from app.models.rollup import (
    AnswerValueRollup,
    ComplaintRollup,
    FollowUpRollup,
    QuestionRollup,
    SatisfactionRollup,
    TopicLabel,
    TopicModelRecord,
    VoiceRollup,
)
from app.models.ratelimit import RateLimitCounter
from app.models.improvement import (
    ActionAttachment,
    ImprovementAction,
    Problem,
    ProblemEvent,
    ProblemLink,
)

__all__ = [
    "MAX_ROW_ID",
    "row_id",
    "RateLimitCounter",
    "AnswerValueRollup",
    "ComplaintRollup",
    "FollowUpRollup",
    "QuestionRollup",
    "SatisfactionRollup",
    "TopicLabel",
    "TopicModelRecord",
    "VoiceRollup",
    "ActionAttachment",
    "ImprovementAction",
    "Problem",
    "ProblemEvent",
    "ProblemLink",
    "Complaint",
    "ComplaintAttachment",
    "ComplaintEvent",
    "OutboxMessage",
    "AnalysisStatus",
    "LabelCorrection",
    "TextAnalysis",
    "TriggerRule",
    "TriggerFiring",
    "SurveyVersion",
    "SurveyStatus",
    "Survey",
    "Intake",
    "Response",
    "OutboundMessage",
    "InvitationStatus",
    "Invitation",
    "FollowUpStatus",
    "FollowUp",
    "CampaignSkip",
    "CampaignStatus",
    "Campaign",
    "CallAttempt",
    "Answer",
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
