"""The demo set shipped in ``toolkit/datasets`` (see its data card there)."""

from __future__ import annotations

import functools
import importlib.resources

from toolkit.data.loaders import load_folder
from toolkit.data.types import RetrievalSet

__all__ = ["demo"]


@functools.lru_cache(maxsize=1)
def demo() -> RetrievalSet:
    """Return the demo set shipped in ``toolkit/datasets`` (cached; safe, sets are immutable).

    Returns:
        The demo :class:`RetrievalSet` with splits from the queries' ``split`` column and doc
        fields ``ipc``, ``topic``, ``source``.

    Example:
        >>> rs = demo()                       # doctest: +SKIP
        >>> train = rs.split("train").pairs() # doctest: +SKIP
    """
    folder = importlib.resources.files("toolkit").joinpath("datasets")
    return load_folder(folder, label="toolkit/datasets")
