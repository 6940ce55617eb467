"""Kesheng's Chinese text analysis: redaction, sentiment, keywords, topics, category, urgency.

Importing is cheap: models, dictionaries, numpy and scikit-learn load on first use.
"""

from nlp.active import use_model_dir
from nlp.analysis import TextAnalysis, analyze, analyze_many, model_version, read_as_complaint
from nlp.category import CategoryPick, CategorySuggestion, classify_complaint
from nlp.keywords import keywords
from nlp.redact import Redaction, mask_card, mask_email, mask_id_number, mask_phone, redact
from nlp.segment import cut
from nlp.sentiment import (
    SentimentResult,
    predict,
    sentiment,
    sentiment_labels,
    sentiment_scores,
)
from nlp.taxonomy import Taxonomy, TaxonomyEntry, load_taxonomy
from nlp.urgency import Urgency, urgency

__version__ = "0.1.0"

__all__ = [
    "read_as_complaint",
    "use_model_dir",
    "CategoryPick",
    "CategorySuggestion",
    "Redaction",
    "SentimentResult",
    "Taxonomy",
    "TaxonomyEntry",
    "TextAnalysis",
    "Urgency",
    "__version__",
    "analyze",
    "analyze_many",
    "classify_complaint",
    "cut",
    "keywords",
    "load_taxonomy",
    "mask_card",
    "mask_email",
    "mask_id_number",
    "mask_phone",
    "model_version",
    "predict",
    "redact",
    "sentiment",
    "sentiment_labels",
    "sentiment_scores",
    "urgency",
]
