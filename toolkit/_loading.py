"""Load a retrieval set from the usual places and pick a split (temporary home).

These two functions are what every notebook enters through (``toolkit.evaluate.load_data``
and ``select_split``). They move to :mod:`toolkit.data` (``data.load`` / ``data.select_split``)
with the data package; until then they live here so that :mod:`toolkit.evaluation` does not
import the deprecated :mod:`toolkit.evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.data import DataError, RetrievalSet

__all__ = ["load_data", "select_split"]


def load_data(data: Any = None) -> RetrievalSet:
    """Load a retrieval set from the usual places.

    Args:
        data: ``None`` for the demo set (:func:`toolkit.data.demo`); a
            :class:`~toolkit.data.RetrievalSet` (returned as is); a folder holding
            ``corpus.csv``, ``queries.csv`` and ``qrels.csv`` (the demo set's layout, see
            ``toolkit/datasets/README.md``); or a pairs file / DataFrame (``query,title``
            columns, see :func:`toolkit.data.load_pairs`).

    Returns:
        The set.

    Raises:
        DataError: The file or folder is missing or malformed (the message names the file,
            row and column).
    """
    from toolkit import data as data_mod

    if data is None:
        return data_mod.demo()
    if isinstance(data, RetrievalSet):
        return data
    if isinstance(data, str | Path):
        path = Path(data).expanduser()
        if path.is_dir():
            return data_mod._load_package_set(path, label=str(path))
        if not path.exists():
            raise DataError(
                f"--data {str(data)!r}: no such file or folder; expected a pairs file "
                "(query,title) or a folder with corpus.csv, queries.csv and qrels.csv",
                source=str(data),
            )
        return data_mod.load_pairs(path)
    return data_mod.load_pairs(data)


def select_split(rs: RetrievalSet, split: str | None) -> tuple[RetrievalSet, str]:
    """Restrict a set to one split's queries (full corpus) and say what was selected.

    Args:
        rs: The set.
        split: A split name, or ``None`` for all queries. A set without any split (e.g. a
            plain pairs file) is used whole whatever ``split`` says, and the note says so.

    Returns:
        ``(subset, note)``; the note is one line such as ``"split 'test': 83 queries, 350
        titles"``.

    Raises:
        DataError: The set has splits but none named ``split``.
    """
    n_docs = len(rs.corpus)
    if split is None:
        return rs, f"all {len(rs.queries)} queries, {n_docs} titles"
    if not rs.splits:
        return rs, (
            f"the data has no splits, so all {len(rs.queries)} queries are evaluated "
            f"(not split {split!r}); {n_docs} titles"
        )
    sub = rs.split(split)
    return sub, f"split {split!r}: {len(sub.queries)} queries, {n_docs} titles"
