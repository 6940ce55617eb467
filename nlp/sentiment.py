"""Three-way sentiment (negative/neutral/positive) from a compact linear model over char n-grams."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DEFAULT_MODEL_PATH",
    "SentimentModel",
    "SentimentResult",
    "load_model",
    "predict",
    "sentiment",
    "sentiment_labels",
    "sentiment_scores",
]

DEFAULT_MODEL_PATH = Path(__file__).parent / "resources" / "models" / "sentiment.npz"
LABELS = ("negative", "neutral", "positive")
_MAX_CHARS = 20_000  # longer texts are truncated: the tail adds little and costs time
# One text up to this long is scored without sparse matrices (``_probabilities_one``): for a
# short text, building them took three times as long as the arithmetic; past ~1,000 characters,
# hashing the n-grams one by one in Python costs more than that, and the sparse path wins.
_ONE_TEXT_CHARS = 1_000
_WHITE_SPACES = re.compile(r"\s\s+")  # what scikit-learn's char analyzer folds into one space


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """Label, score in [0, 1] (>= 0.5 positive) and confidence in the label."""

    label: str
    score: float
    confidence: float


@dataclass(eq=False)
class SentimentModel:
    """Hashed char n-gram TF-IDF features feeding three linear parts.

    ``gate`` (domains x features) estimates which source domain a text resembles; ``experts``
    (domains x features) are polarity models each weighted towards one domain and mixed by the
    gate; ``neutral`` scores neutral versus polar from the features plus
    ``neutral_polarity_weight`` x |logit of the ``neutral_polarity_domain`` expert| (how strongly
    the bank polarity expert leans either way). A text is neutral when that probability reaches
    ``neutral_threshold`` (chosen by cross-validation on the training files). The neutral head
    reads the same n-gram counts weighted by its own IDF (``neutral_idf``, fitted on the bank
    texts) when the model has one, else by ``idf``. It also reads the text's length, log(1 + its
    number of n-grams) centred and scaled on the bank texts (``neutral_length_center``,
    ``neutral_length_scale``), times ``neutral_length_weight`` (≈ −0.45: a longer text is
    less likely neutral). For polarity, the ``neutral_polarity_domain`` expert's logit becomes
    ``local_expert_scale`` x itself + the neutral head's features @ ``local_coef`` +
    ``local_intercept``: a polarity model fitted on that domain's (the bank's) texts alone, over
    the bank-IDF features (the shared experts see 70,000 review rows for 572 polar bank ones),
    stacked with the expert by a logistic regression on cross-fitted logits. The neutral head
    reads the expert's own lean: fitted on polar texts only, the bank-only model leans hard on
    neutral ones too.
    """

    idf: np.ndarray
    gate_coef: np.ndarray
    gate_intercept: np.ndarray
    expert_coef: np.ndarray
    expert_intercept: np.ndarray
    neutral_coef: np.ndarray
    neutral_intercept: float
    neutral_threshold: float
    domains: tuple[str, ...]
    ngram_range: tuple[int, int] = (1, 3)
    meta: dict[str, Any] = field(default_factory=dict)
    neutral_polarity_weight: float = 0.0
    neutral_polarity_domain: str = "bank"
    neutral_idf: np.ndarray | None = None
    neutral_length_weight: float = 0.0
    neutral_length_center: float = 0.0
    neutral_length_scale: float = 1.0
    local_coef: np.ndarray | None = None
    local_intercept: float = 0.0
    local_expert_scale: float = 1.0

    def __post_init__(self) -> None:
        # The products below read the weights as (features x parts). Kept column-major, their
        # transposes are contiguous and scipy multiplies without first copying them (2 x 10 MB,
        # ~4 ms, on every call: most of the time a call on one short text took).
        np = _np()
        self.gate_coef = np.asfortranarray(self.gate_coef)
        self.expert_coef = np.asfortranarray(self.expert_coef)

    @property
    def n_features(self) -> int:
        return int(self.idf.shape[0])

    @functools.cached_property
    def _vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            analyzer="char",
            ngram_range=self.ngram_range,
            n_features=self.n_features,
            alternate_sign=False,
            norm=None,
            dtype=_np().float32,
        )

    def raw_counts(self, texts: Sequence[str]) -> Any:
        """Hashed n-gram counts (CSR), before TF-IDF weighting."""
        cleaned = [_text(t) for t in texts]
        try:
            return self._vectorizer.transform(cleaned)
        except UnicodeEncodeError:  # (n-grams are hashed as UTF-8)
            return self._vectorizer.transform([_without_surrogates(t) for t in cleaned])

    def weigh(self, counts: Any, idf: Any = None) -> Any:
        """Sublinear TF x IDF (``idf``, default the model's), rows L2-normalised."""
        # what sklearn.preprocessing.normalize runs, without its argument checks (a third of
        # the time of a call on one short text)
        from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

        np = _np()
        x = counts.copy()
        np.log(x.data, out=x.data)
        x.data += 1.0
        x.data *= (self.idf if idf is None else idf)[x.indices]  # (no dense row broadcast)
        inplace_csr_row_normalize_l2(x)
        return x

    def features(self, texts: Sequence[str]) -> Any:
        """TF-IDF features of ``texts`` as a CSR matrix (what the gate and experts read)."""
        return self.weigh(self.raw_counts(texts))

    def encode(self, texts: Sequence[str]) -> tuple[Any, Any, Any]:
        """(features for gate and experts, features for the neutral head, the texts' lengths
        as the neutral head reads them, or None when it does not) of ``texts``."""
        counts = self.raw_counts(texts)
        x = self.weigh(counts)
        lengths = self.length_feature(counts) if self.neutral_length_weight else None
        return x, self.neutral_features(counts, x), lengths

    def length_feature(self, counts: Any) -> Any:
        """Each text's log(1 + number of n-grams), centred and scaled for the neutral head."""
        np = _np()
        cumulative = np.concatenate([[0.0], np.cumsum(counts.data, dtype=np.float64)])
        n_grams = cumulative[counts.indptr[1:]] - cumulative[counts.indptr[:-1]]
        return self._scaled_length(n_grams)

    def _scaled_length(self, n_grams: Any) -> Any:
        np = _np()
        return (np.log1p(n_grams) - self.neutral_length_center) / self.neutral_length_scale

    def neutral_features(self, counts: Any, x: Any = None) -> Any:
        """Counts weighted by the neutral head's IDF (``x`` is reused when it has none)."""
        if self.neutral_idf is None:
            return self.weigh(counts) if x is None else x
        return self.weigh(counts, self.neutral_idf)

    def probabilities(
        self, x: Any, xn: Any = None, lengths: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), P(neutral)) for each row of the feature matrices from ``encode``.

        ``xn`` (the neutral head's features) and ``lengths`` may be left out for models without
        their own neutral IDF or length weight; raises ValueError if they are needed.
        """
        np = _np()
        if (xn is None and self.neutral_idf is not None) or (
            lengths is None and self.neutral_length_weight
        ):
            raise ValueError("this model's neutral head needs its own features: use encode()")
        gate = np.asarray(x @ self.gate_coef.T + self.gate_intercept)
        logits = np.asarray(x @ self.expert_coef.T + self.expert_intercept)
        xn = x if xn is None else xn
        z_neu = np.asarray(xn @ self.neutral_coef).ravel() + self.neutral_intercept
        return self._mix(gate, logits, z_neu, lengths, self.local_logits(xn))

    def local_logits(self, xn: Any) -> np.ndarray | None:
        """What the local (bank-only) model adds to its domain expert's scaled logit, per row of
        the neutral head's features ``xn``; None for a model without one."""
        if self.local_coef is None:
            return None
        return _np().asarray(xn @ self.local_coef).ravel() + self.local_intercept

    def _mix(
        self,
        gate: np.ndarray,
        logits: np.ndarray,
        z_neu: np.ndarray,
        lengths: Any,
        local: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(positive), P(neutral)) from the gate's and experts' logits (texts x domains), the
        neutral head's n-gram logit (per text), the scaled lengths and the local logits."""
        np = _np()
        k = self.neutral_polarity_index
        if k is not None and self.neutral_polarity_weight:  # (the expert's own lean)
            z_neu = z_neu + self.neutral_polarity_weight * np.abs(logits[:, k])
        if self.neutral_length_weight:
            z_neu = z_neu + self.neutral_length_weight * np.asarray(lengths).ravel()
        if local is not None and k is not None:  # (a fresh array: the caller's product)
            logits[:, k] = self.local_expert_scale * logits[:, k] + local
        gate = np.exp(gate - gate.max(axis=1, keepdims=True))
        gate /= gate.sum(axis=1, keepdims=True)
        p_pos = (gate * _sigmoid(logits)).sum(axis=1)
        return np.asarray(p_pos).ravel(), np.asarray(_sigmoid(z_neu)).ravel()

    def _bucket_counts(self, text: Any) -> tuple[np.ndarray, np.ndarray]:
        """(buckets, counts) of one text's hashed char n-grams, sorted by bucket: what
        ``raw_counts`` (scikit-learn's ``HashingVectorizer``: lower-cased, runs of white space
        folded, MurmurHash3 of the UTF-8 n-gram, |hash| mod the number of buckets) gives it."""
        from sklearn.utils import murmurhash3_32

        np = _np()
        doc = _WHITE_SPACES.sub(" ", _text(text).lower())
        size, low, high = self.n_features, self.ngram_range[0], self.ngram_range[1]
        try:
            hashes = [
                murmurhash3_32(doc[i : i + n], 0)
                for n in range(low, min(high, len(doc)) + 1)
                for i in range(len(doc) - n + 1)
            ]
        except UnicodeEncodeError:
            return self._bucket_counts(_without_surrogates(_text(text)))
        return np.unique(np.abs(np.array(hashes, dtype=np.int64)) % size, return_counts=True)

    def _probabilities_one(self, text: Any) -> tuple[np.ndarray, np.ndarray]:
        """``probabilities(*encode([text]))`` without sparse matrices: the same sums over the
        text's own buckets (equal to float32 rounding), at a third of the time for short texts."""
        np = _np()
        buckets, counts = self._bucket_counts(text)
        tf = np.log(counts.astype(np.float32)) + np.float32(1.0)
        x = _unit(tf * self.idf[buckets])
        xn = x if self.neutral_idf is None else _unit(tf * self.neutral_idf[buckets])
        gate = self.gate_coef[:, buckets] @ x + self.gate_intercept
        logits = self.expert_coef[:, buckets] @ x + self.expert_intercept
        z_neu = np.array([self.neutral_coef[buckets] @ xn + self.neutral_intercept])
        lengths = self._scaled_length(float(counts.sum()))
        local = None
        if self.local_coef is not None:
            local = self.local_coef[buckets] @ xn + self.local_intercept
        return self._mix(gate[None, :], logits[None, :], z_neu, lengths, local)

    def _text_probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        if len(texts) == 1 and len(_text(texts[0])) <= _ONE_TEXT_CHARS:
            return self._probabilities_one(texts[0])
        return self.probabilities(*self.encode(texts))

    def warm_up(self) -> None:
        """Load what scoring uses, one text alone and a batch (two paths, ``_text_probabilities``),
        so that a measurement or the first request does not pay for it."""
        self.scores(["预热"])
        self.scores(["预热", "预热"])

    @property
    def neutral_polarity_index(self) -> int | None:
        """Row of ``expert_coef`` whose |logit| feeds the neutral head (None: not used)."""
        if self.neutral_polarity_domain in self.domains:
            return self.domains.index(self.neutral_polarity_domain)
        return None

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """One result per text; see ``SentimentResult``."""
        if not texts:
            return []
        p_pos, p_neu = self._text_probabilities(texts)
        return [self._result(float(p), float(n)) for p, n in zip(p_pos, p_neu, strict=True)]

    def scores(self, texts: Sequence[str]) -> list[float]:
        """Polarity scores in [0, 1], shrunk towards 0.5 by the neutral probability."""
        if not texts:
            return []
        p_pos, p_neu = self._text_probabilities(texts)
        return [_score(float(p), float(n)) for p, n in zip(p_pos, p_neu, strict=True)]

    def _result(self, p_pos: float, p_neu: float) -> SentimentResult:
        score = _score(p_pos, p_neu)
        if p_neu >= self.neutral_threshold:
            # Rescale so the threshold maps to 0.5 confidence and certainty to 1.
            conf = 0.5 + 0.5 * (p_neu - self.neutral_threshold) / max(
                1e-9, 1 - self.neutral_threshold
            )
            return SentimentResult("neutral", score, round(conf, 4))
        label = "positive" if score >= 0.5 else "negative"
        return SentimentResult(label, score, round(max(p_pos, 1.0 - p_pos), 4))

    def save(self, path: str | Path) -> None:
        """Write the model as one compressed ``.npz`` (weights stored as float16)."""
        np = _np()
        meta = dict(self.meta, domains=list(self.domains), ngram_range=list(self.ngram_range))
        meta.update(neutral_intercept=self.neutral_intercept)
        meta.update(neutral_threshold=self.neutral_threshold)
        meta.update(neutral_polarity_weight=self.neutral_polarity_weight)
        meta.update(neutral_polarity_domain=self.neutral_polarity_domain)
        meta.update(neutral_length_weight=self.neutral_length_weight)
        meta.update(neutral_length_center=self.neutral_length_center)
        meta.update(neutral_length_scale=self.neutral_length_scale)
        meta.update(local_intercept=self.local_intercept)
        meta.update(local_expert_scale=self.local_expert_scale)
        extra = {} if self.neutral_idf is None else {"neutral_idf": self.neutral_idf}
        if self.local_coef is not None:
            extra["local_coef"] = self.local_coef
        np.savez_compressed(
            path,
            **{k: v.astype(np.float16) for k, v in extra.items()},
            idf=self.idf.astype(np.float16),
            gate_coef=self.gate_coef.astype(np.float16),
            gate_intercept=self.gate_intercept.astype(np.float32),
            expert_coef=self.expert_coef.astype(np.float16),
            expert_intercept=self.expert_intercept.astype(np.float32),
            neutral_coef=self.neutral_coef.astype(np.float16),
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
        )

    @classmethod
    def load(cls, path: str | Path) -> SentimentModel:
        """Read a model written by ``save``; raises OSError if the file is missing."""
        np = _np()
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            arrays = {k: z[k].astype(np.float32, order="F") for k in z.files if k != "meta"}
        return cls(
            **arrays,
            neutral_intercept=float(meta.pop("neutral_intercept")),
            neutral_threshold=float(meta.pop("neutral_threshold")),
            domains=tuple(meta.pop("domains")),
            ngram_range=tuple(meta.pop("ngram_range")),
            meta=meta,
            neutral_polarity_weight=float(meta.pop("neutral_polarity_weight", 0.0)),
            neutral_polarity_domain=str(meta.pop("neutral_polarity_domain", "bank")),
            neutral_length_weight=float(meta.pop("neutral_length_weight", 0.0)),
            neutral_length_center=float(meta.pop("neutral_length_center", 0.0)),
            neutral_length_scale=float(meta.pop("neutral_length_scale", 1.0)),
            local_intercept=float(meta.pop("local_intercept", 0.0)),
            local_expert_scale=float(meta.pop("local_expert_scale", 1.0)),
        )


def _np() -> Any:
    import numpy

    return numpy


def _sigmoid(z: Any) -> Any:
    from scipy.special import expit  # (a ufunc: 1 / (1 + exp(-z)) without overflow warnings)

    return expit(z)


def _text(text: Any) -> str:
    return (text if isinstance(text, str) else "")[:_MAX_CHARS]


def _without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (which a JSON ``\\ud800`` escape or a file name decoded
    with ``surrogateescape`` can leave in a str, and UTF-8 cannot encode) replaced by ``?``."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _unit(v: np.ndarray) -> np.ndarray:
    norm = _np().sqrt(v @ v)
    return v / norm if norm else v


def _score(p_pos: float, p_neu: float) -> float:
    score = 0.5 + (p_pos - 0.5) * (1.0 - p_neu)
    if math.isnan(score):
        return 0.5
    # Keep the side of 0.5 that the polarity model chose, even after rounding.
    return round(score, 4) if (score >= 0.5) == (round(score, 4) >= 0.5) else score


@functools.cache
def _load_cached(path: str) -> SentimentModel:
    return SentimentModel.load(path)


def load_model(path: str | Path | None = None) -> SentimentModel:
    """The sentiment model at ``path`` (default: the shipped one), loaded once per process."""
    from nlp.active import real_path, resolve

    return _load_cached(real_path(path or resolve("sentiment.npz", DEFAULT_MODEL_PATH)))


def text_list(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of str, or TypeError: a single str was scored character by character
    and None or a number as an empty text, without a word."""
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of str, not a single string: pass [text]")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
    return out


def predict(texts: Sequence[str], model: SentimentModel | None = None) -> list[SentimentResult]:
    """Label, score and confidence for each text (batched; pass many texts at once)."""
    return (model or load_model()).predict(text_list(texts))


def sentiment(text: str, model: SentimentModel | None = None) -> SentimentResult:
    """Label, score and confidence for one text."""
    return predict([text], model)[0]


def sentiment_scores(texts: list[str], model: SentimentModel | None = None) -> list[float]:
    """One score in [0, 1] per text; 0.5 and above means positive. Empty input -> [].
    TypeError for a single str or an item that is not one."""
    return (model or load_model()).scores(text_list(texts))


def sentiment_labels(texts: list[str], model: SentimentModel | None = None) -> list[str]:
    """One of ``"negative"``, ``"neutral"``, ``"positive"`` per text."""
    return [r.label for r in predict(texts, model)]
