"""The :class:`RetrievalSet` type, :class:`DataError` and the checks of single values.

This module knows nothing about files: the readers (:mod:`toolkit.data.tables`) and loaders
(:mod:`toolkit.data.loaders`) build sets from files and rely on the checks defined here.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import re
import warnings
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["IPC_SECTIONS", "DataError", "RetrievalSet", "ValidationReport"]

IPC_SECTIONS = "ABCDEFGH"
"""The IPC section letters, A (human necessities) to H (electricity)."""
_GRADE_HINT = "an integer grade >= 0 (2 clearly relevant, 1 partially, 0 judged non-relevant)"
_MAX_SHOWN_ERRORS = 5


class DataError(ValueError):
    """Bad input data: the message names the file, the row/line and the column.

    Attributes:
        source: File name (or ``<DataFrame>`` / argument name) the problem is in, if known.
        row: The spreadsheet-style row (or line / record / hit number) the problem is in.
        column: The column or field the problem is in.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.row = row
        self.column = column


@dataclass(frozen=True)
class ValidationReport:
    """Result of :meth:`RetrievalSet.validate`: errors make a set unusable, warnings do not.

    Attributes:
        errors: One message per problem that construction would reject.
        warnings: Problems that distort metrics or training but are legal.
    """

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors

    def __str__(self) -> str:
        lines = [f"error: {e}" for e in self.errors] + [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) if lines else "ok"


# --------------------------------------------------------------------------------------------
# Checks of single values
# --------------------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _is_int(value: Any) -> bool:
    if type(value) is int:  # fast path; the ABC check below is slow
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _id_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"expected a text id, got {value!r} ({type(value).__name__})"
    if not value.strip():
        return f"empty id {value!r}"
    if value != value.strip():
        return f"id {value!r} has leading or trailing whitespace"
    return None


# A text (title or query) needs at least one printable character: one that is neither
# whitespace nor a control character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F), so
# "\x00\x01" is rejected like "   ". Control characters inside otherwise printable text (a tab,
# a newline in a quoted CSV cell, a stray U+0001) are accepted and kept verbatim, as every text
# is: tokenizers treat them as spaces or drop them, and refusing a whole export for one such
# byte would hurt more than it protects. Invisible format characters (Cf, e.g. U+200B) are not
# control characters and count as printable here.
_PRINTABLE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f]")


def _text_problem(value: Any) -> str | None:
    if _is_missing(value):
        return "missing value (NaN/null); expected non-empty text"
    if not isinstance(value, str):
        return f"expected text, got {value!r} ({type(value).__name__})"
    if value == "":
        return "empty text; expected non-empty text"
    if not value.strip():
        return f"whitespace-only text {value!r}; expected non-empty text"
    if not _PRINTABLE.search(value):
        return (
            f"control characters only {value!r}; expected text with at least one printable "
            f"character"
        )
    return None


def _ipc_problem(value: str) -> str | None:
    if len(value) == 1 and value in IPC_SECTIONS:
        return None
    hint = ""
    if value[:1] in IPC_SECTIONS and len(value) > 1:
        hint = " (keep full codes such as 'G06F 16/33' in another field, e.g. 'ipc_code')"
    return f"expected one IPC section letter A-H, got {value!r}{hint}"


def _title_key(title: str) -> str:
    """Twin key: titles equal up to letter case and runs of whitespace are twins."""
    return " ".join(title.split()).casefold()


def _unknown_judged_id(
    qid: Any, did: Any, queries: Container[Any], corpus: Container[Any]
) -> str | None:
    """The rule for ids in qrels, in one place: the column whose id is unknown, else None.

    ``did=None`` checks the query id alone. :class:`RetrievalSet` and
    :func:`~toolkit.data.load_retrieval_set` (which names the file row) both ask here.
    """
    if qid not in queries:
        return "query_id"
    if did is not None and did not in corpus:
        return "doc_id"
    return None


def _check_splits(
    splits: Mapping[Any, Any],
    known: Container[Any],
    *,
    known_label: str,
    lists_only: bool = False,
) -> tuple[dict[str, list[str]], list[tuple[str, Any, int | None, str]]]:
    """The split rules, in one place, for :class:`RetrievalSet` and the splits loader.

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


def _normalize_parts(
    queries: Any,
    corpus: Any,
    qrels: Any,
    splits: Any,
    doc_fields: Any,
    query_fields: Any,
) -> tuple[dict[str, Any], list[str]]:
    """Copy the parts into plain dicts in canonical order and list every error."""
    errors: list[str] = []

    def text_map(label: str, mapping: Any) -> dict[str, str]:
        if not isinstance(mapping, Mapping):
            errors.append(f"{label}: expected a mapping {{id: text}}, got {type(mapping).__name__}")
            return {}
        items = list(mapping.items())
        if all(
            type(k) is str and k and k.strip() == k and type(v) is str and _PRINTABLE.search(v)
            for k, v in items
        ):
            return dict(items)
        out: dict[str, str] = {}
        for key, value in items:
            problem = _id_problem(key)
            if problem:
                errors.append(f"{label}: {problem}")
                continue
            problem = _text_problem(value)
            if problem:
                errors.append(f"{label}[{key!r}]: {problem}")
                continue
            out[key] = value
        return out

    q = text_map("queries", queries)
    c = text_map("corpus", corpus)
    q_order = {k: i for i, k in enumerate(q)}
    c_order = {k: i for i, k in enumerate(c)}

    # qrels: outer in query order, inner in corpus order; empty judgment maps are dropped.
    r: dict[str, dict[str, int]] = {}
    if not isinstance(qrels, Mapping):
        errors.append(
            f"qrels: expected a mapping {{query_id: {{doc_id: grade}}}}, got {type(qrels).__name__}"
        )
    else:
        for qid, judged in qrels.items():
            if _unknown_judged_id(qid, None, q_order, c_order):
                errors.append(f"qrels[{qid!r}]: unknown query id (not in queries)")
                continue
            if not isinstance(judged, Mapping):
                errors.append(
                    f"qrels[{qid!r}]: expected a mapping {{doc_id: grade}}, got "
                    f"{type(judged).__name__}"
                )
                continue
            inner: dict[str, int] = {}
            for did, grade in judged.items():
                if _unknown_judged_id(qid, did, q_order, c_order):
                    errors.append(f"qrels[{qid!r}][{did!r}]: unknown document id (not in corpus)")
                elif not _is_int(grade) or int(grade) < 0:
                    errors.append(f"qrels[{qid!r}][{did!r}]: expected {_GRADE_HINT}, got {grade!r}")
                else:
                    inner[did] = int(grade)
            if inner:
                r[qid] = dict(sorted(inner.items(), key=lambda kv: c_order[kv[0]]))
    r = dict(sorted(r.items(), key=lambda kv: q_order[kv[0]]))

    # splits: each split's ids in query order; a query in at most one split.
    s: dict[str, tuple[str, ...]] = {}
    if not isinstance(splits, Mapping):
        errors.append(
            f"splits: expected a mapping {{name: [query ids]}}, got {type(splits).__name__}"
        )
    else:
        kept, problems = _check_splits(splits, q_order, known_label="queries")
        for rule, name, _item, problem in problems:
            if rule == "name":
                errors.append(f"splits: {problem}")
            elif rule == "two splits":
                errors.append(problem)
            else:
                errors.append(f"splits[{name!r}]: {problem}")
        s = {name: tuple(sorted(ids, key=q_order.__getitem__)) for name, ids in kept.items()}

    def fields_map(label: str, mapping: Any, order: dict[str, int]) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        if not isinstance(mapping, Mapping):
            errors.append(
                f"{label}: expected a mapping {{field: {{id: value}}}}, got "
                f"{type(mapping).__name__}"
            )
            return out
        for name, values in mapping.items():
            if not isinstance(name, str) or not name.strip() or name == "id":
                errors.append(
                    f"{label}: field name {name!r} must be non-empty text other than 'id'"
                )
                continue
            if not isinstance(values, Mapping):
                errors.append(
                    f"{label}[{name!r}]: expected a mapping {{id: value}}, got "
                    f"{type(values).__name__}"
                )
                continue
            inner: dict[str, str] = {}
            for key, value in values.items():
                where = f"{label}[{name!r}][{key!r}]"
                if key not in order:
                    what = "document" if label == "doc_fields" else "query"
                    errors.append(f"{where}: unknown {what} id")
                elif not isinstance(value, str) or not value.strip():
                    errors.append(
                        f"{where}: expected non-empty text, got {value!r} (leave "
                        f"the id out when the value is unknown)"
                    )
                elif name == "ipc" and label == "doc_fields" and _ipc_problem(value):
                    errors.append(f"{where}: {_ipc_problem(value)}")
                else:
                    inner[key] = value
            out[name] = dict(sorted(inner.items(), key=lambda kv: order[kv[0]]))
        return out

    df = fields_map("doc_fields", doc_fields, c_order)
    qf = fields_map("query_fields", query_fields, q_order)
    parts = {
        "queries": q,
        "corpus": c,
        "qrels": r,
        "splits": s,
        "doc_fields": df,
        "query_fields": qf,
    }
    return parts, errors


def _rebuild(state: dict[str, Any]) -> RetrievalSet:
    return RetrievalSet(**state)


@dataclass(frozen=True, repr=False)
class RetrievalSet:
    """Queries, a corpus of titles, graded judgments and named splits -- immutable.

    Construction copies every mapping, checks it and stores read-only views, so a shared set
    (such as :func:`demo`) cannot be corrupted by a notebook; ``rs.queries["q1"] = "x"``
    raises ``TypeError``. Invalid parts raise :class:`DataError` listing the problems.

    Order is canonical: queries and documents keep the order given; ``qrels`` iterates in
    query order and, inside a query, in corpus order; every split lists its ids in query
    order. Two sets with the same content therefore compare equal and iterate alike.

    Attributes:
        queries: ``{query_id: text}``.
        corpus: ``{doc_id: title}``.
        qrels: ``{query_id: {doc_id: grade}}``; grade 2 clearly relevant, 1 partially
            relevant, 0 judged non-relevant. Queries may be unjudged.
        splits: ``{name: (query_id, ...)}``, disjoint; queries may be in no split.
        doc_fields: ``{field: {doc_id: value}}`` with text values, e.g. ``ipc`` (one IPC
            section letter A-H), ``topic``, ``source``; a doc without a value is left out.
        query_fields: ``{field: {query_id: value}}``, e.g. ``topic``, ``source``.

    Example:
        >>> rs = RetrievalSet(queries={"q1": "умный дом"},
        ...                   corpus={"d1": "СИСТЕМА УМНОГО ДОМА", "d2": "ЛОПАТА"},
        ...                   qrels={"q1": {"d1": 2, "d2": 0}}, splits={"test": ["q1"]},
        ...                   doc_fields={"ipc": {"d1": "G", "d2": "A"}})
        >>> rs.pairs()
        [('умный дом', 'СИСТЕМА УМНОГО ДОМА')]
    """

    queries: Mapping[str, str] = field(default_factory=dict)
    corpus: Mapping[str, str] = field(default_factory=dict)
    qrels: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    splits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    doc_fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    query_fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    __hash__ = None  # type: ignore[assignment]  # content is mutable-typed; compare with ==

    def __post_init__(self) -> None:
        parts, errors = _normalize_parts(
            self.queries,
            self.corpus,
            self.qrels,
            self.splits,
            self.doc_fields,
            self.query_fields,
        )
        if errors:
            shown = "\n  ".join(errors[:_MAX_SHOWN_ERRORS])
            more = len(errors) - _MAX_SHOWN_ERRORS
            tail = f"\n  ... and {more} more" if more > 0 else ""
            raise DataError(f"invalid RetrievalSet ({len(errors)} problem(s)):\n  {shown}{tail}")
        self._freeze(parts)

    def _freeze(self, parts: dict[str, Any]) -> None:
        proxy = MappingProxyType
        object.__setattr__(self, "queries", proxy(parts["queries"]))
        object.__setattr__(self, "corpus", proxy(parts["corpus"]))
        object.__setattr__(self, "qrels", proxy({q: proxy(d) for q, d in parts["qrels"].items()}))
        object.__setattr__(self, "splits", proxy(parts["splits"]))
        for name in ("doc_fields", "query_fields"):
            object.__setattr__(self, name, proxy({f: proxy(v) for f, v in parts[name].items()}))

    @classmethod
    def _trusted(cls, parts: dict[str, Any]) -> RetrievalSet:
        """Build from parts derived from a valid set, skipping the checks (internal)."""
        rs = object.__new__(cls)
        rs._freeze(parts)
        return rs

    def _plain(self) -> dict[str, Any]:
        return {
            "queries": dict(self.queries),
            "corpus": dict(self.corpus),
            "qrels": {q: dict(d) for q, d in self.qrels.items()},
            "splits": {n: tuple(ids) for n, ids in self.splits.items()},
            "doc_fields": {f: dict(v) for f, v in self.doc_fields.items()},
            "query_fields": {f: dict(v) for f, v in self.query_fields.items()},
        }

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # read-only mapping views do not pickle; rebuild (and re-check) from plain dicts
        return (_rebuild, (self._plain(),))

    def __repr__(self) -> str:
        n_rel = sum(1 for d in self.qrels.values() for g in d.values() if g >= 1)
        n_judged = sum(len(d) for d in self.qrels.values())
        splits = {n: len(ids) for n, ids in self.splits.items()}
        return (
            f"RetrievalSet(queries={len(self.queries)}, docs={len(self.corpus)}, "
            f"judgments={n_judged} ({n_rel} relevant), splits={splits}, "
            f"doc_fields={list(self.doc_fields)}, query_fields={list(self.query_fields)})"
        )

    # -- views -------------------------------------------------------------------------------

    @property
    def doc_ids(self) -> list[str]:
        """Document ids in corpus order."""
        return list(self.corpus)

    @property
    def query_ids(self) -> list[str]:
        """Query ids in query order."""
        return list(self.queries)

    @property
    def ipc(self) -> Mapping[str, str]:
        """``{doc_id: IPC section letter}`` for the documents that have one (read-only)."""
        return self.doc_fields.get("ipc", MappingProxyType({}))

    def split(self, name: str) -> RetrievalSet:
        """Return the set restricted to one split's queries (and their qrels), full corpus.

        Args:
            name: A key of :attr:`splits`.

        Returns:
            A new set whose only split is ``name``.

        Raises:
            DataError: If there is no split ``name``.
        """
        if name not in self.splits:
            raise DataError(f"no split {name!r}; splits are {sorted(self.splits)}")
        keep = set(self.splits[name])
        parts = self._plain()
        parts["queries"] = {q: t for q, t in parts["queries"].items() if q in keep}
        parts["qrels"] = {q: d for q, d in parts["qrels"].items() if q in keep}
        parts["splits"] = {name: tuple(self.splits[name])}
        parts["query_fields"] = {
            f: {q: v for q, v in vals.items() if q in keep}
            for f, vals in parts["query_fields"].items()
        }
        return RetrievalSet._trusted(parts)

    def pairs(self, split: str | None = None, *, min_grade: int = 1) -> list[tuple[str, str]]:
        """Return ``(query text, title)`` for every judgment with grade >= ``min_grade``.

        Order is deterministic: queries in query order, inside a query documents in corpus
        order.

        Args:
            split: Only queries of this split; ``None`` (default) uses all queries.
            min_grade: Smallest grade to include; 1 (default) keeps partially and clearly
                relevant pairs, 2 only clearly relevant, 0 also judged non-relevant.

        Returns:
            List of ``(query, title)`` tuples.
        """
        if not _is_int(min_grade) or min_grade < 0:
            raise DataError(f"min_grade: expected an integer >= 0, got {min_grade!r}")
        rs = self if split is None else self.split(split)
        return [
            (rs.queries[q], rs.corpus[d])
            for q, judged in rs.qrels.items()
            for d, g in judged.items()
            if g >= min_grade
        ]

    # -- derived sets ------------------------------------------------------------------------

    def with_splits(self, splits: Mapping[str, Iterable[str]]) -> RetrievalSet:
        """Return a copy whose splits are replaced by ``splits`` (checked as at construction).

        Args:
            splits: ``{name: [query ids]}``; disjoint, known ids.

        Returns:
            A new set.
        """
        parts = self._plain()
        parts["splits"] = splits
        return RetrievalSet(**parts)

    def with_random_splits(
        self,
        fractions: Mapping[str, float],
        *,
        seed: int = 0,
        group_by: str | None = None,
    ) -> RetrievalSet:
        """Return a copy with fresh disjoint splits drawn at random, deterministically.

        Units (query ids, or values of the query field ``group_by`` so that e.g. all queries
        of a topic land in one split) are sorted, shuffled with ``numpy.random.default_rng(seed)``
        and cut in the order of ``fractions``; sizes are rounded by largest remainder, so they
        sum to the number of units. The result depends only on the content and ``seed``.

        Args:
            fractions: ``{name: fraction}``, each > 0, summing to 1.
            seed: Random seed.
            group_by: Query field whose values are kept together; ``None`` splits queries.

        Returns:
            A new set with exactly the splits named in ``fractions``.
        """
        if not fractions or any(
            not (isinstance(f, numbers.Real) and f > 0) for f in fractions.values()
        ):
            raise DataError(f"fractions: expected {{name: fraction > 0}}, got {fractions!r}")
        total = float(sum(fractions.values()))
        if abs(total - 1.0) > 1e-6:
            raise DataError(f"fractions: must sum to 1, they sum to {total:g}")
        if group_by is None:
            unit_of = {q: q for q in self.queries}
        else:
            values = self.query_fields.get(group_by, {})
            missing = [q for q in self.queries if q not in values]
            if missing:
                raise DataError(
                    f"group_by={group_by!r}: {len(missing)} queries have no such field, "
                    f"e.g. {missing[0]!r}; query fields are {sorted(self.query_fields)}"
                )
            unit_of = dict(values)
        units = sorted(set(unit_of.values()))
        order = np.random.default_rng(seed).permutation(len(units))
        exact = [f * len(units) for f in fractions.values()]
        sizes = [math.floor(x) for x in exact]
        by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - sizes[i]), i))
        for i in by_remainder[: len(units) - sum(sizes)]:
            sizes[i] += 1
        split_of_unit: dict[str, str] = {}
        start = 0
        for name, size in zip(fractions, sizes, strict=True):
            for j in order[start : start + size]:
                split_of_unit[units[j]] = name
            start += size
        new = {
            name: [q for q in self.queries if split_of_unit[unit_of[q]] == name]
            for name in fractions
        }
        return self.with_splits(new)

    def duplicate_titles(self) -> list[tuple[str, ...]]:
        """Groups of document ids whose titles are equal up to letter case and whitespace.

        Retrieval metrics count a retrieved twin of the relevant document as a miss, so
        twins usually should be merged with :meth:`dedupe_titles`.

        Returns:
            One tuple per group (corpus order), only groups of two or more.
        """
        groups: dict[str, list[str]] = {}
        for did, title in self.corpus.items():
            groups.setdefault(_title_key(title), []).append(did)
        return [tuple(ids) for ids in groups.values() if len(ids) > 1]

    def dedupe_titles(self) -> RetrievalSet:
        """Merge every group of twin titles (see :meth:`duplicate_titles`) into its first id.

        The first document of a group (corpus order) keeps its id and title; its fields are
        filled from the twins where it has none. Judgments of the twins are remapped to the
        kept id and a query that judged several twins keeps the highest grade.

        Returns:
            A new set (``self`` content unchanged).
        """
        keep = {d: group[0] for group in self.duplicate_titles() for d in group}
        if not keep:
            return self
        parts = self._plain()
        parts["corpus"] = {d: t for d, t in self.corpus.items() if keep.get(d, d) == d}
        for name, values in parts["doc_fields"].items():
            merged: dict[str, str] = {}
            for d, v in values.items():
                merged.setdefault(keep.get(d, d), v)
            parts["doc_fields"][name] = merged
        for q, judged in parts["qrels"].items():
            new: dict[str, int] = {}
            for d, g in judged.items():
                k = keep.get(d, d)
                new[k] = max(new.get(k, g), g)
            parts["qrels"][q] = new
        return RetrievalSet(**parts)

    # -- tables ------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Return a long table: one row per judgment, plus rows for unjudged queries/docs.

        Columns: ``query_id, query, doc_id, title, relevance, split``, then ``query_<field>``
        per query field and ``doc_<field>`` per doc field. A query without judgments gets
        one row with ``doc_id`` empty; a document no query judged gets one row with
        ``query_id`` empty. Missing values are ``None`` (``pd.NA`` for ``relevance``,
        an ``Int64`` column). :meth:`from_frame` reads it back.

        Returns:
            A ``pandas.DataFrame``.
        """
        split_of = {q: name for name, ids in self.splits.items() for q in ids}
        rows: list[dict[str, Any]] = []

        def row(qid: str | None, did: str | None, grade: int | None) -> dict[str, Any]:
            out: dict[str, Any] = {
                "query_id": qid,
                "query": self.queries[qid] if qid else None,
                "doc_id": did,
                "title": self.corpus[did] if did else None,
                "relevance": grade,
                "split": split_of.get(qid) if qid else None,
            }
            for f, vals in self.query_fields.items():
                out[f"query_{f}"] = vals.get(qid) if qid else None
            for f, vals in self.doc_fields.items():
                out[f"doc_{f}"] = vals.get(did) if did else None
            return out

        for qid in self.queries:
            judged = self.qrels.get(qid, {})
            if not judged:
                rows.append(row(qid, None, None))
            for did, grade in judged.items():
                rows.append(row(qid, did, grade))
        judged_docs = {d for judged in self.qrels.values() for d in judged}
        rows.extend(row(None, d, None) for d in self.corpus if d not in judged_docs)
        columns = ["query_id", "query", "doc_id", "title", "relevance", "split"]
        columns += [f"query_{f}" for f in self.query_fields]
        columns += [f"doc_{f}" for f in self.doc_fields]
        frame = pd.DataFrame(rows, columns=columns, dtype=object)
        frame["relevance"] = pd.array(frame["relevance"].tolist(), dtype="Int64")
        return frame

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> RetrievalSet:
        """Build a set from a long table in the layout of :meth:`to_frame`.

        Required columns: ``query_id`` and ``doc_id``; a row with both is a judgment (needs
        ``relevance``), a row with one of them declares a query (needs ``query``) or a
        document (needs ``title``). Optional: ``split``, ``query_<field>``, ``doc_<field>``.
        Values repeated on several rows must agree. Queries and documents take the order of
        their first row.

        Args:
            df: The table (a ``datasets.Dataset`` is converted with ``.to_pandas()``).

        Returns:
            A new set.

        Raises:
            DataError: Naming the row and column of the first problem.
        """
        from toolkit.data.loaders import load_frame  # the table parsers import this module

        return load_frame(df)

    # -- reports -----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """Counts that summarise the set.

        Returns:
            Dict with ``queries``, ``documents``, ``judgments``, ``relevant`` (grade >= 1),
            ``judged_nonrelevant`` (grade 0), ``grades`` ``{grade: count}``,
            ``relevant_per_query`` ``{min, mean, max}`` over all queries (``None`` without
            queries), ``splits`` ``{name: queries}``, ``ipc`` ``{section: documents}``,
            ``doc_fields`` and ``query_fields`` (names).
        """
        grades = Counter(g for judged in self.qrels.values() for g in judged.values())
        per_query = [sum(1 for g in self.qrels.get(q, {}).values() if g >= 1) for q in self.queries]
        rpq = (
            {"min": min(per_query), "mean": float(np.mean(per_query)), "max": max(per_query)}
            if per_query
            else {"min": None, "mean": None, "max": None}
        )
        return {
            "queries": len(self.queries),
            "documents": len(self.corpus),
            "judgments": sum(grades.values()),
            "relevant": sum(n for g, n in grades.items() if g >= 1),
            "judged_nonrelevant": grades.get(0, 0),
            "grades": dict(sorted(grades.items())),
            "relevant_per_query": rpq,
            "splits": {name: len(ids) for name, ids in self.splits.items()},
            "ipc": dict(sorted(Counter(self.ipc.values()).items())),
            "doc_fields": list(self.doc_fields),
            "query_fields": list(self.query_fields),
        }

    def validate(self) -> ValidationReport:
        """Check the set; construction already rejects errors, so this mostly warns.

        Warnings: twin titles (equal up to case and whitespace), query texts repeated under
        several ids, queries without any relevant document (metrics score them 0), queries in
        no split while splits exist, an empty corpus or no queries.

        Returns:
            A :class:`ValidationReport`.
        """
        _, errors = _normalize_parts(**self._plain())
        warns: list[str] = []
        if not self.corpus:
            warns.append("the corpus is empty")
        if not self.queries:
            warns.append("there are no queries")
        for group in self.duplicate_titles():
            warns.append(
                f"documents {', '.join(map(repr, group))} share a title (up to case and "
                f"whitespace): {self.corpus[group[0]]!r}; metrics count a retrieved twin as "
                f"a miss -- merge them with dedupe_titles()"
            )
        texts: dict[str, list[str]] = {}
        for q, t in self.queries.items():
            texts.setdefault(t, []).append(q)
        for t, ids in texts.items():
            if len(ids) > 1:
                warns.append(f"queries {', '.join(map(repr, ids))} have the same text {t!r}")
        if self.qrels:
            no_rel = [
                q for q in self.queries if not any(g >= 1 for g in self.qrels.get(q, {}).values())
            ]
            if no_rel:
                shown = ", ".join(map(repr, no_rel[:5])) + (" ..." if len(no_rel) > 5 else "")
                warns.append(
                    f"{len(no_rel)} queries have no relevant document (metrics score "
                    f"them 0): {shown}"
                )
        if self.splits:
            in_split = {q for ids in self.splits.values() for q in ids}
            outside = [q for q in self.queries if q not in in_split]
            if outside:
                warns.append(f"{len(outside)} queries are in no split, e.g. {outside[0]!r}")
        return ValidationReport(errors=tuple(errors), warnings=tuple(warns))

    def fingerprint(self) -> str:
        """Return a SHA-1 hex digest of the content (stable across runs and machines).

        Returns:
            40 hex characters; equal sets have equal fingerprints.
        """
        blob = json.dumps(self._plain(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha1(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# Twin titles: what every loader does last
# --------------------------------------------------------------------------------------------


def _nowhere(doc_id: str) -> None:
    return None


def _twins_message(name: str, rs: RetrievalSet, where: Callable[[str], str | None]) -> str | None:
    groups = rs.duplicate_titles()
    if not groups:
        return None
    g = groups[0]
    shown = ", ".join(f"{d!r} ({where(d)})" if where(d) else repr(d) for d in g)
    return (
        f"{name}: {len(groups)} group(s) of documents share a title (identical up to case and "
        f"whitespace), e.g. {shown}: {rs.corpus[g[0]]!r}. Retrieval metrics count a retrieved "
        f"twin as a miss; pass dedupe=True to merge each group into its first id (judgments "
        f"are remapped to it, keeping the highest grade)."
    )


def _finish(
    rs: RetrievalSet, name: str, where: Callable[[str], str | None], dedupe: bool
) -> RetrievalSet:
    if dedupe:
        return rs.dedupe_titles()
    message = _twins_message(name, rs, where)
    if message:
        warnings.warn(message, UserWarning, stacklevel=3)
    return rs
