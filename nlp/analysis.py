"""One-call analysis of a text: redact, then sentiment, keywords, topic, category and urgency."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from nlp.category import DEFAULT_CATEGORY_MODEL_PATH, CategorySuggestion, classify_complaint
from nlp.keywords import DEFAULT_IDF_PATH, keywords
from nlp.redact import redact
from nlp.sentiment import DEFAULT_MODEL_PATH, SentimentModel, SentimentResult, load_model
from nlp.taxonomy import DEFAULT_TAXONOMY_PATH
from nlp.urgency import Urgency, urgency

__all__ = ["TextAnalysis", "analyze", "analyze_many", "model_version"]

_PACKAGE_VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """Everything Kesheng stores about one free text; built only from the redacted text."""

    text: str
    redactions: tuple[str, ...]
    sentiment: str
    sentiment_score: float
    sentiment_confidence: float
    keywords: tuple[str, ...]
    topic: int | None
    topic_weight: float
    category: CategorySuggestion
    urgency: Urgency
    model_version: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return asdict(self)


@functools.cache
def model_version() -> str:
    """``nlp-<package version>+<hash>`` where the hash covers the model and dictionary files."""
    from nlp.active import resolve

    digest = hashlib.sha256()
    for path in (
        resolve("sentiment.npz", DEFAULT_MODEL_PATH),
        resolve("category.npz", DEFAULT_CATEGORY_MODEL_PATH),
        DEFAULT_IDF_PATH,
        DEFAULT_TAXONOMY_PATH,
    ):
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return f"nlp-{_PACKAGE_VERSION}+{digest.hexdigest()[:12]}"


# Urgency cues that no customer writes in a neutral remark: a threat to go to the regulator,
# the media or court, money lost, despair. The sentiment model, trained on reviews and forum
# posts, read "钱不翼而飞…我要向金融监管总局投诉" as neutral (62 %) beside a 特急 tag.
NEGATIVE_CUES = frozenset({"escalation", "money_loss", "self_harm"})
CUE_SCORE = 0.4  # the score of a neutral text turned negative by such a cue (below 0.5)
CUE_CONFIDENCE = 0.6  # (the rule's, not the model's: the model had no clear view)


def _with_cues(senti: SentimentResult, cues: Any) -> SentimentResult:
    """A neutral label is read as negative when the text holds a negative urgency cue."""
    if senti.label != "neutral" or not any(r[0] in NEGATIVE_CUES for r in cues.reasons):
        return senti
    return SentimentResult("negative", min(senti.score, CUE_SCORE), CUE_CONFIDENCE)


def read_as_complaint(result: TextAnalysis) -> TextAnalysis:
    """``result`` of a text known to be a complaint: never positive, negative where the
    polarity leans negative (score below 0.5) or a negative urgency cue is present, else
    neutral. The three-way model learnt "neutral" from bank product reviews' questions and
    statements: a complaint that states facts ("排队一个多小时，柜员态度冷淡…诉求：希望改进")
    came out neutral, one about a theft ("快捷支付被盗刷了8800元…") even positive. The
    confidence of a label so changed is the score's side (the cue rule's own for a cue)."""
    score = result.sentiment_score
    side = max(score, 1 - score)
    if score < 0.5:
        senti = SentimentResult("negative", score, side)
    else:
        senti = _with_cues(SentimentResult("neutral", score, side), result.urgency)
    if senti.label == result.sentiment:
        return result
    return replace(
        result,
        sentiment=senti.label,
        sentiment_score=senti.score,
        sentiment_confidence=senti.confidence,
    )


def _build(text: str, redacted: Any, senti: SentimentResult, topic_model: Any) -> TextAnalysis:
    topic, weight = topic_model.assign(redacted.text) if topic_model is not None else (None, 0.0)
    cues = urgency(text or "")
    senti = _with_cues(senti, cues)
    return TextAnalysis(
        text=redacted.text,
        redactions=redacted.kinds,
        sentiment=senti.label,
        sentiment_score=senti.score,
        sentiment_confidence=senti.confidence,
        keywords=tuple(keywords(redacted.text, k=5)),
        topic=topic,
        topic_weight=weight,
        category=classify_complaint(redacted.text),
        urgency=cues,
        model_version=model_version(),
    )


def analyze_many(
    texts: Sequence[str], *, topic_model: Any = None, model: SentimentModel | None = None
) -> list[TextAnalysis]:
    """Analyse many texts, with one batched sentiment call. Never stores unredacted text;
    urgency reads the original (amounts must survive), everything else the redacted text.
    A missing text (None) is analysed as empty; a single str instead of a list is a TypeError."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of str, not a single string: use analyze(text)")
    redactions = [redact(t or "") for t in texts]
    results = (model or load_model()).predict([r.text for r in redactions])
    return [
        _build(t, r, s, topic_model) for t, r, s in zip(texts, redactions, results, strict=True)
    ]


def analyze(
    text: str, *, topic_model: Any = None, model: SentimentModel | None = None
) -> TextAnalysis:
    """Analyse one text; ``topic`` is None unless a ``TopicModel`` is passed in."""
    return analyze_many([text], topic_model=topic_model, model=model)[0]
