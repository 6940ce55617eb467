"""Keyword extraction: TF-IDF with an IDF fitted on banking text, TextRank for longer texts."""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from nlp.segment import words

__all__ = [
    "DEFAULT_IDF_PATH",
    "build_idf",
    "fillers",
    "is_filler",
    "keywords",
    "load_idf",
    "textrank",
    "write_idf",
]

DEFAULT_IDF_PATH = Path(__file__).parent / "resources" / "idf_bank.tsv"
FILLERS_PATH = Path(__file__).parent / "resources" / "keyword_fillers.txt"
_TEXTRANK_MIN_WORDS = 60  # below this, co-occurrence graphs are too sparse to beat TF-IDF


@functools.cache
def load_idf(path: str | None = None) -> tuple[dict[str, float], float]:
    """(word -> idf, default idf for unseen words) from a ``word<TAB>idf`` file."""
    table: dict[str, float] = {}
    p = Path(path) if path else DEFAULT_IDF_PATH
    if p.exists():
        for line in p.read_text(encoding="utf-8").splitlines():
            word, _, value = line.partition("\t")
            if word and value:
                table[word] = float(value)
    default = sorted(table.values())[len(table) // 2] if table else 1.0
    return table, default


@functools.cache
def fillers() -> frozenset[str]:
    """Words that are frequent in answers but say nothing about their subject (总体, 满意, 下次,
    家人, 诉求 …; ``resources/keyword_fillers.txt``, ``#`` starts a comment). They are not stop
    words: segmentation and sentiment keep them; keywords and topic labels do not."""
    lines = FILLERS_PATH.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in (line.split("#")[0].strip() for line in lines) if w)


def is_filler(word: str) -> bool:
    return word in fillers()


def build_idf(texts: Iterable[str], *, min_df: int = 2) -> dict[str, float]:
    """Smoothed IDF (ln((1+N)/(1+df)) + 1) of content words over ``texts``."""
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        n += 1
        df.update(set(words(text)))
    return {w: round(math.log((1 + n) / (1 + c)) + 1.0, 4) for w, c in df.items() if c >= min_df}


def write_idf(idf: dict[str, float], path: str | Path = DEFAULT_IDF_PATH) -> None:
    """Write an IDF table sorted by word, one ``word<TAB>idf`` per line."""
    lines = [f"{w}\t{v}" for w, v in sorted(idf.items())]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_idf.cache_clear()


def _candidates(text: str) -> list[str]:
    # Single characters are rarely useful keywords in Chinese; keep Latin/number tokens like "app".
    return [w for w in words(text) if len(w) > 1 and not is_filler(w)]


def textrank(
    text: str, k: int = 5, window: int = 5, iterations: int = 30
) -> list[tuple[str, float]]:
    """TextRank over a word co-occurrence graph; (word, score) best first."""
    tokens = _candidates(text)
    graph: dict[str, Counter[str]] = {}
    for i, w in enumerate(tokens):
        for other in tokens[i + 1 : i + window]:
            if other != w:
                graph.setdefault(w, Counter())[other] += 1
                graph.setdefault(other, Counter())[w] += 1
    if not graph:
        return []
    rank = dict.fromkeys(graph, 1.0)
    out_weight = {w: sum(nb.values()) for w, nb in graph.items()}
    for _ in range(iterations):
        rank = {
            w: 0.15 + 0.85 * sum(c / out_weight[o] * rank[o] for o, c in graph[w].items())
            for w in graph
        }
    top = max(rank.values())
    return sorted(((w, round(r / top, 4)) for w, r in rank.items()), key=lambda x: (-x[1], x[0]))[
        :k
    ]


def _tfidf(text: str) -> list[tuple[str, float]]:
    idf, default = load_idf()
    counts = Counter(_candidates(text))
    total = sum(counts.values()) or 1
    scored = [(w, c / total * idf.get(w, default)) for w, c in counts.items()]
    return sorted(scored, key=lambda x: (-x[1], x[0]))


def keywords(text: str, k: int = 5, *, with_weights: bool = False) -> list:
    """The ``k`` most telling words of ``text`` (banking phrases such as 提前还款 stay whole).

    TF-IDF against banking text; for long texts TextRank's ranking is blended in. Returns words,
    or (word, weight) pairs with weights in [0, 1] when ``with_weights`` is true.
    """
    if not text or k <= 0:
        return []
    scored = _tfidf(text)
    if not scored:
        return []
    top = scored[0][1] or 1.0
    weights = {w: s / top for w, s in scored}
    if sum(1 for _ in _candidates(text)) >= _TEXTRANK_MIN_WORDS:
        for w, r in textrank(text, k=len(weights)):
            weights[w] = 0.5 * weights[w] + 0.5 * r
    ranked = sorted(weights.items(), key=lambda x: (-x[1], x[0]))[:k]
    return [(w, round(s, 4)) for w, s in ranked] if with_weights else [w for w, _ in ranked]
