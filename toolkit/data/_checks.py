"""The rules for single values and for splits, shared by the set type and the readers.

Each check returns the problem in words (``None`` when the value is fine) and leaves it to
the caller to say where the value came from: :class:`~toolkit.data.RetrievalSet` names the
mapping key, the readers (:mod:`toolkit.data._tables`) the file, row and column. This module
imports nothing else from :mod:`toolkit.data`. (The IPC rule lives with the section letters
in :mod:`toolkit.data.types`.)
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Container, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "GRADE_HINT",
    "PRINTABLE",
    "check_splits",
    "id_problem",
    "is_int",
    "is_missing",
    "text_problem",
    "unknown_judged_id",
]

GRADE_HINT = "an integer grade >= 0 (2 clearly relevant, 1 partially, 0 judged non-relevant)"

# A text (title or query) needs at least one printable character: one that is neither
# whitespace nor a control character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F), so
# "\x00\x01" is rejected like "   ". Control characters inside otherwise printable text (a tab,
# a newline in a quoted CSV cell, a stray U+0001) are accepted and kept verbatim, as every text
# is: tokenizers treat them as spaces or drop them, and refusing a whole export for one such
# byte would hurt more than it protects. Invisible format characters (Cf, e.g. U+200B) are not
# control characters and count as printable here.
PRINTABLE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]")


def is_missing(value: Any) -> bool:
    """True for ``None``, ``pd.NA``, ``pd.NaT`` and float NaN (an empty cell)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, not for booleans."""
    if type(value) is int:  # fast path; the ABC check below is slow
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def id_problem(value: Any) -> str | None:
    """An id is non-empty text without leading or trailing whitespace."""
    if not isinstance(value, str):
        return f"expected a text id, got {value!r} ({type(value).__name__})"
    if not value.strip():
        return f"empty id {value!r}"
    if value != value.strip():
        return f"id {value!r} has leading or trailing whitespace"
    return None


def text_problem(value: Any) -> str | None:
    """A text (title or query) is a string with at least one :data:`PRINTABLE` character."""
    if is_missing(value):
        return "missing value (NaN/null); expected non-empty text"
    if not isinstance(value, str):
        return f"expected text, got {value!r} ({type(value).__name__})"
    if value == "":
        return "empty text; expected non-empty text"
    if not value.strip():
        return f"whitespace-only text {value!r}; expected non-empty text"
    if not PRINTABLE.search(value):
        return (
            f"control characters only {value!r}; expected text with at least one printable "
            f"character"
        )
    return None


def unknown_judged_id(
    qid: Any, did: Any, queries: Container[Any], corpus: Container[Any]
) -> str | None:
    """The rule for ids in qrels, in one place: the column whose id is unknown, else None.

    ``did=None`` checks the query id alone. :class:`~toolkit.data.RetrievalSet` and
    :func:`~toolkit.data.load_retrieval_set` (which names the file row) both ask here.
    """
    if qid not in queries:
        return "query_id"
    if did is not None and did not in corpus:
        return "doc_id"
    return None


def check_splits(
    splits: Mapping[Any, Any],
    known: Container[Any],
    *,
    known_label: str,
    lists_only: bool = False,
) -> tuple[dict[str, list[str]], list[tuple[str, Any, int | None, str]]]:
    """The split rules, in one place, for :class:`~toolkit.data.RetrievalSet` and the loaders.

    A split name is non-empty text; its query ids come as a list (``lists_only``: a list or
    tuple, what a JSON file holds; otherwise any iterable but a string); every id is a known
    query id, listed once, and in no other split.

    Args:
        splits: ``{name: [query ids]}``.
        known: The query ids.
        known_label: How a message names the queries, e.g. ``"the queries"``.
        lists_only: Accept only lists and tuples of ids.

    Returns:
        ``(kept, problems)``: ``kept`` is ``{name: [valid ids in the given order]}``;
        ``problems`` lists ``(rule, split name, item, message)`` in order, where ``rule`` is
        ``"name"``, ``"type"``, ``"unknown"``, ``"twice"`` or ``"two splits"`` and ``item`` the
        1-based position of the id in its split (``None`` for the split itself); the caller
        adds where the splits came from.
    """
    kept: dict[str, list[str]] = {}
    problems: list[tuple[str, Any, int | None, str]] = []
    owner: dict[str, str] = {}
    for name, ids in splits.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(("name", name, None, f"split name {name!r} is not non-empty text"))
            continue
        if (
            isinstance(ids, str)
            or not isinstance(ids, Iterable)
            or (lists_only and not isinstance(ids, list | tuple))
        ):
            what = f"expected a list of query ids, got {type(ids).__name__}"
            problems.append(("type", name, None, what))
            continue
        seen: list[str] = []
        for n, qid in enumerate(ids, start=1):
            if not isinstance(qid, str) or qid not in known:
                what = f"unknown query id {qid!r} (not in {known_label})"
                problems.append(("unknown", name, n, what))
            elif owner.get(qid) == name:
                problems.append(("twice", name, n, f"query id {qid!r} is listed twice"))
            elif qid in owner:
                what = f"query id {qid!r} is in two splits: {owner[qid]!r} and {name!r}"
                problems.append(("two splits", name, n, what))
            else:
                seen.append(qid)
                owner[qid] = name
        kept[name] = seen
    return kept, problems
