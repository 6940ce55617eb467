"""Topic discovery (NMF over word TF-IDF), stable topic assignment and rising-topic detection."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nlp.keywords import is_filler
from nlp.redact import redact
from nlp.segment import words

__all__ = ["RisingTopic", "Topic", "TopicModel", "discover", "rising"]

_TOP_TERMS = 8
_QUOTES = 3
_QUOTE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Topic:
    """A discovered topic: short Chinese label, top terms, representative redacted quotes."""

    id: int
    label: str
    terms: tuple[str, ...]
    quotes: tuple[str, ...]
    size: int


@dataclass(eq=False)
class TopicModel:
    """Vocabulary, IDF and NMF term weights; ``assign`` maps a text to its best topic."""

    vocabulary: list[str]
    idf: list[float]
    components: list[list[float]]
    topics: list[Topic] = field(default_factory=list)

    def _vectors(self, texts: Sequence[str]) -> Any:
        import numpy as np

        index = {w: i for i, w in enumerate(self.vocabulary)}
        idf = np.asarray(self.idf)
        out = np.zeros((len(texts), len(self.vocabulary)))
        for row, text in enumerate(texts):
            for w in words(text or ""):
                if w in index:
                    out[row, index[w]] += 1.0
        out = np.where(out > 0, 1.0 + np.log(np.maximum(out, 1.0)), 0.0) * idf
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)

    def weights(self, texts: Sequence[str]) -> Any:
        """Non-negative topic weights per text (rows sum to 1, or 0 when no known word)."""
        import numpy as np

        comp = np.asarray(self.components)
        comp = comp / np.maximum(np.linalg.norm(comp, axis=1, keepdims=True), 1e-12)
        w = np.maximum(self._vectors(texts) @ comp.T, 0.0)
        sums = w.sum(axis=1, keepdims=True)
        return w / np.where(sums == 0, 1.0, sums)

    def assign(self, text: str) -> tuple[int | None, float]:
        """(topic id, weight) of the dominant topic; (None, 0.0) if no known word. Deterministic."""
        w = self.weights([text])[0]
        if not w.any():
            return None, 0.0
        best = int(w.argmax())
        return self.topics[best].id if self.topics else best, round(float(w[best]), 4)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``from_dict`` restores an equal model."""
        return {
            "vocabulary": self.vocabulary,
            "idf": [round(float(v), 6) for v in self.idf],
            "components": [[round(float(v), 6) for v in row] for row in self.components],
            "topics": [
                {
                    "id": t.id,
                    "label": t.label,
                    "terms": list(t.terms),
                    "quotes": list(t.quotes),
                    "size": t.size,
                }
                for t in self.topics
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TopicModel:
        """Rebuild a model from ``to_dict`` output."""
        topics = [
            Topic(int(t["id"]), t["label"], tuple(t["terms"]), tuple(t["quotes"]), int(t["size"]))
            for t in data.get("topics", [])
        ]
        return cls(
            list(data["vocabulary"]),
            list(data["idf"]),
            [list(r) for r in data["components"]],
            topics,
        )


def _default_n_topics(n_docs: int) -> int:
    return max(2, min(12, round(math.sqrt(n_docs / 8))))


def discover(
    texts: Sequence[str], n_topics: int | None = None, *, random_state: int = 0
) -> TopicModel:
    """Find topics in ``texts`` with NMF over TF-IDF of segmented words (deterministic).

    Texts are redacted before quotes are kept. Raises ValueError with fewer than 4 usable texts.
    """
    import numpy as np
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [t for t in texts if t and t.strip()]
    if len(docs) < 4:
        raise ValueError("need at least 4 non-empty texts to discover topics")
    k = n_topics or _default_n_topics(len(docs))
    vec = TfidfVectorizer(
        analyzer=lambda t: [w for w in words(t) if len(w) > 1 and not is_filler(w)],
        min_df=2 if len(docs) >= 20 else 1,
        max_df=0.5,
        max_features=3000,
        sublinear_tf=True,
    )
    x = vec.fit_transform(docs)
    k = max(1, min(k, x.shape[1], len(docs) - 1))
    # (a year of the demo's complaints and answers needs ~450 iterations; each is cheap, and
    # stopping short leaves a ConvergenceWarning in the output of `demo seed`)
    nmf = NMF(n_components=k, init="nndsvda", random_state=random_state, max_iter=1000)
    doc_topic = nmf.fit_transform(x)
    vocab = [str(w) for w in vec.get_feature_names_out()]
    model = TopicModel(vocab, vec.idf_.tolist(), nmf.components_.tolist())
    dominant = doc_topic.argmax(axis=1)
    topics = []
    for t in range(k):
        order = np.argsort(-nmf.components_[t])[:_TOP_TERMS]
        terms = tuple(vocab[i] for i in order if nmf.components_[t, i] > 0)
        members = np.flatnonzero(dominant == t)
        best = members[np.argsort(-doc_topic[members, t])][: _QUOTES * 4]
        # (each distinct text once: repeated texts score alike and filled every slot)
        distinct = dict.fromkeys(redact(docs[i][:_QUOTE_CHARS]).text for i in best)
        quotes = tuple(distinct)[:_QUOTES]
        topics.append(Topic(t, "、".join(terms[:3]), terms, quotes, int(members.size)))
    model.topics = topics
    return model


@dataclass(frozen=True, slots=True)
class RisingTopic:
    """A topic whose count beats its baseline expectation."""

    topic: Any
    current: int
    expected: float
    ratio: float
    p_value: float


def rising(
    current_counts: Mapping[Any, int],
    baseline_counts: Mapping[Any, int],
    *,
    min_count: int = 5,
    min_ratio: float = 1.5,
    alpha: float = 0.01,
) -> list[RisingTopic]:
    """Topics rising faster than their baseline share, most significant first.

    The expectation scales each topic's (add-one smoothed) baseline share to the current total;
    a topic rises when it has ``min_count`` texts, a smoothed ratio (c+1)/(e+1) of at least
    ``min_ratio`` and a one-sided Poisson p-value P(X >= c | e) below ``alpha``.
    """
    from scipy.stats import poisson

    topics = set(current_counts) | set(baseline_counts)
    total_now = sum(current_counts.values())
    total_base = sum(baseline_counts.values()) + len(topics)
    out = []
    for topic in topics:
        c = int(current_counts.get(topic, 0))
        expected = total_now * (baseline_counts.get(topic, 0) + 1) / max(total_base, 1)
        ratio = (c + 1) / (expected + 1)
        p = float(poisson.sf(c - 1, expected)) if c > 0 else 1.0
        if c >= min_count and ratio >= min_ratio and p < alpha:
            out.append(RisingTopic(topic, c, round(expected, 3), round(ratio, 3), p))
    return sorted(out, key=lambda r: (r.p_value, -r.ratio, str(r.topic)))
