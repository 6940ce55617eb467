"""JR/T 0169-2018 complaint classification code lists, loaded from one YAML data file."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_TAXONOMY_PATH", "Dimension", "Taxonomy", "TaxonomyEntry", "load_taxonomy"]

DEFAULT_TAXONOMY_PATH = Path(__file__).parent / "resources" / "jrt0169.yaml"


@dataclass(frozen=True, slots=True)
class TaxonomyEntry:
    """One coded entry, e.g. ``B03.02`` 信用卡 (parent ``B03``)."""

    code: str
    name: str
    dimension: str
    parent: str | None = None
    keywords: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Display label for dropdowns, e.g. ``B03.02 信用卡``."""
        return f"{self.code} {self.name}"


@dataclass(frozen=True, slots=True)
class Dimension:
    """A coded dimension: ``A`` channel, ``B`` business category or ``C`` cause."""

    code: str
    name: str
    entries: tuple[TaxonomyEntry, ...]

    def choices(self) -> list[tuple[str, str]]:
        """(code, label) pairs in file order, children indented, for a select field."""
        return [(e.code, ("　" if e.parent else "") + e.label) for e in self.entries]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The three dimensions of the code list; immutable and hashable."""

    standard: str
    edition: str
    dimensions: tuple[Dimension, ...]

    def dimension(self, code: str) -> Dimension:
        """The dimension ``A``, ``B`` or ``C``; raises KeyError for an unknown one."""
        for dim in self.dimensions:
            if dim.code == code:
                return dim
        raise KeyError(code)

    def get(self, code: str) -> TaxonomyEntry | None:
        """The entry with this code, or None."""
        return self._index().get(code)

    def __getitem__(self, code: str) -> TaxonomyEntry:
        return self._index()[code]

    def __contains__(self, code: object) -> bool:
        return code in self._index()

    def codes(self) -> tuple[str, ...]:
        """All codes in file order."""
        return tuple(e.code for dim in self.dimensions for e in dim.entries)

    def _index(self) -> dict[str, TaxonomyEntry]:
        return _index_for(self)


def _index_for(taxonomy: Taxonomy) -> dict[str, TaxonomyEntry]:
    return by_identity(
        _INDEXES, taxonomy, lambda t: {e.code: e for dim in t.dimensions for e in dim.entries}
    )


_INDEXES: dict[int, tuple[object, object]] = {}


def by_identity(cache: dict[int, tuple[object, object]], obj: object, build) -> Any:
    """``build(obj)``, kept per object *identity* in ``cache`` (at most 64 objects). For the
    immutable code list: a cache keyed by value would hash every entry and keyword of the list
    at each look-up, which cost more than building the result."""
    held = cache.get(id(obj))
    if held is None or held[0] is not obj:
        if len(cache) >= 64:
            cache.clear()
        held = cache[id(obj)] = (obj, build(obj))
    return held[1]


def _parse(raw: dict) -> Taxonomy:
    dims: list[Dimension] = []
    seen: set[str] = set()
    for d in raw.get("dimensions") or []:
        entries = []
        for e in d.get("entries") or []:
            code = str(e["code"])
            if code in seen:
                raise ValueError(f"duplicate taxonomy code {code!r}")
            seen.add(code)
            keywords = tuple(str(k) for k in e.get("keywords") or ())
            parent = str(e["parent"]) if e.get("parent") else None
            entries.append(TaxonomyEntry(code, str(e["name"]), str(d["code"]), parent, keywords))
        dims.append(Dimension(str(d["code"]), str(d["name"]), tuple(entries)))
    for dim in dims:
        for e in dim.entries:
            if e.parent is not None and e.parent not in seen:
                raise ValueError(f"entry {e.code!r} has unknown parent {e.parent!r}")
    return Taxonomy(str(raw.get("standard", "")), str(raw.get("edition", "")), tuple(dims))


@functools.cache
def _load_cached(path: str) -> Taxonomy:
    import yaml

    with open(path, encoding="utf-8") as fh:
        return _parse(yaml.safe_load(fh))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load the code list (default: the shipped JR/T 0169 file); cached per path.

    Raises ValueError for duplicate codes or unknown parents, OSError if the file is missing.
    """
    from nlp.active import real_path

    return _load_cached(real_path(path or DEFAULT_TAXONOMY_PATH))
