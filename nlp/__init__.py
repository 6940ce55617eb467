"""Kesheng's Chinese text analysis: redaction, sentiment, keywords, topics, category, urgency."""

from nlp.redact import Redaction, mask_card, mask_email, mask_id_number, mask_phone, redact
from nlp.urgency import Urgency, urgency

__version__ = "0.1.0"

__all__ = [
    "Redaction",
    "Urgency",
    "__version__",
    "mask_card",
    "mask_email",
    "mask_id_number",
    "mask_phone",
    "redact",
    "urgency",
]
