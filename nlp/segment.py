"""Chinese word segmentation with a banking user dictionary, on a private jieba tokenizer."""

from __future__ import annotations

import functools
import logging
import re
import warnings
from pathlib import Path
from typing import Any

__all__ = ["cut", "is_stopword", "stopwords", "tokenizer", "words"]

_RESOURCES = Path(__file__).parent / "resources"
_WORDLIKE_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


def _import_jieba() -> Any:
    # jieba 0.42 triggers pkg_resources/invalid-escape warnings at import; they are not ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    jieba.setLogLevel(logging.WARNING)
    return jieba


@functools.cache
def tokenizer() -> Any:
    """The process-wide private ``jieba.Tokenizer`` with the banking dictionary loaded."""
    jieba = _import_jieba()
    tok = jieba.Tokenizer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tok.initialize()
    with open(_RESOURCES / "bank_dict.txt", "rb") as fh:
        tok.load_userdict(fh)
    return tok


@functools.cache
def stopwords() -> frozenset[str]:
    """The stop-word list shipped in ``resources/stopwords.txt``."""
    text = (_RESOURCES / "stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_stopword(word: str) -> bool:
    """True for stop words, whitespace, punctuation and single non-word characters."""
    return word in stopwords() or not _WORDLIKE_RE.search(word)


def cut(text: str) -> list[str]:
    """All tokens of ``text`` (jieba precise mode, HMM on), whitespace dropped."""
    if not text:
        return []
    return [w for w in tokenizer().lcut(text) if w.strip()]


def words(text: str, *, min_len: int = 1) -> list[str]:
    """Content words: tokens without stop words, punctuation and bare numbers."""
    return [w for w in cut(text) if len(w) >= min_len and not is_stopword(w) and not w.isdigit()]
