"""Which model files are active: the shipped ones, or a deployment's retrained ones.

``flask nlp train`` writes retrained models into a directory of the deployment (outside the
package); ``use_model_dir`` makes a process load models from there, falling back to the shipped
file for any model the directory does not hold.
"""

from __future__ import annotations

import functools
from importlib import import_module
from pathlib import Path

_model_dir: Path | None = None
# Each model's file as this process first resolved it: a process keeps the models it started
# with until ``use_model_dir`` is called again (a restart, after ``flask nlp train``). Resolved
# afresh on every call, a model installed by ``nlp train`` was picked up by running processes
# at their next load, while the results still carried the version they had computed at start.
_chosen: dict[tuple[str, Path], Path] = {}


def use_model_dir(path: str | Path | None) -> None:
    """Load models from ``path`` (None: only the shipped ones); clears the loaded-model caches."""
    global _model_dir
    _model_dir = Path(path) if path else None
    _chosen.clear()
    # Modules by name: the package re-exports functions called ``sentiment`` and ``analysis``.
    import_module("nlp.sentiment")._load_cached.cache_clear()
    import_module("nlp.category")._load_category_model.cache_clear()
    import_module("nlp.analysis").model_version.cache_clear()


def model_dir() -> Path | None:
    return _model_dir


def resolve(filename: str, shipped: Path) -> Path:
    """The active file for a model: the deployment's copy if it existed when this process
    first asked, else the shipped one (the same answer until ``use_model_dir`` is called)."""
    key = (filename, shipped)
    found = _chosen.get(key)
    if found is None:
        mine = _model_dir / filename if _model_dir is not None else None
        found = mine if mine is not None and mine.exists() else shipped
        _chosen[key] = found
    return found


def real_path(path: str | Path) -> str:
    """``path`` resolved (symbolic links followed) as the model caches key it. An absolute path
    is resolved once per process: resolving walks every component with ``lstat`` (a dozen
    system calls), and complaint intake asks for the taxonomy and category model each time."""
    path = str(path)
    return _resolved(path) if Path(path).is_absolute() else str(Path(path).resolve())


@functools.lru_cache(maxsize=64)
def _resolved(path: str) -> str:
    return str(Path(path).resolve())
