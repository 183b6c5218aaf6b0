"""The :class:`RetrievalSet` type, :class:`DataError`, :class:`ValidationReport` and the IPC rule.

This module knows nothing about files: the readers (:mod:`toolkit.data._tables`) and loaders
(:mod:`toolkit.data.loaders`) build sets from files; the checks of single values both sides
apply are in :mod:`toolkit.data._checks`.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int
from toolkit.data._checks import (
    GRADE_HINT,
    PRINTABLE,
    check_splits,
    id_problem,
    is_int,
    text_problem,
    unknown_judged_id,
)

__all__ = ["IPC_SECTIONS", "DataError", "RetrievalSet", "ValidationReport", "ipc_problem"]

IPC_SECTIONS = "ABCDEFGH"
"""The IPC section letters, A (human necessities) to H (electricity)."""

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


def ipc_problem(value: str) -> str | None:
    """The ``ipc`` field holds one section letter of :data:`IPC_SECTIONS`."""
    if len(value) == 1 and value in IPC_SECTIONS:
        return None
    hint = ""
    if value[:1] in IPC_SECTIONS and len(value) > 1:
        hint = " (keep full codes such as 'G06F 16/33' in another field, e.g. 'ipc_code')"
    return f"expected one IPC section letter A-H, got {value!r}{hint}"


def _title_key(title: str) -> str:
    """Twin key: titles equal up to letter case and runs of whitespace are twins."""
    return " ".join(title.split()).casefold()


# --------------------------------------------------------------------------------------------
# Construction: every part copied into a plain dict in canonical order, every problem listed
# --------------------------------------------------------------------------------------------


def _is_mapping(label: str, shape: str, value: Any, errors: list[str]) -> bool:
    """True when ``value`` is a mapping; else an error naming ``label`` and ``shape``."""
    if isinstance(value, Mapping):
        return True
    errors.append(f"{label}: expected a mapping {shape}, got {type(value).__name__}")
    return False


def _text_map(label: str, mapping: Any, errors: list[str]) -> dict[str, str]:
    """``{id: text}`` with valid ids and texts; the others are errors."""
    if not _is_mapping(label, "{id: text}", mapping, errors):
        return {}
    items = list(mapping.items())
    if all(
        type(k) is str and k and k.strip() == k and type(v) is str and PRINTABLE.search(v)
        for k, v in items
    ):
        return dict(items)
    out: dict[str, str] = {}
    for key, value in items:
        problem = id_problem(key)
        if problem:
            errors.append(f"{label}: {problem}")
            continue
        problem = text_problem(value)
        if problem:
            errors.append(f"{label}[{key!r}]: {problem}")
            continue
        out[key] = value
    return out


def _qrels_map(
    qrels: Any, q_order: dict[str, int], c_order: dict[str, int], errors: list[str]
) -> dict[str, dict[str, int]]:
    """Qrels in query order, inside a query in corpus order; empty judgment maps dropped."""
    if not _is_mapping("qrels", "{query_id: {doc_id: grade}}", qrels, errors):
        return {}
    r: dict[str, dict[str, int]] = {}
    for qid, judged in qrels.items():
        if unknown_judged_id(qid, None, q_order, c_order):
            errors.append(f"qrels[{qid!r}]: unknown query id (not in queries)")
            continue
        if not _is_mapping(f"qrels[{qid!r}]", "{doc_id: grade}", judged, errors):
            continue
        inner: dict[str, int] = {}
        for did, grade in judged.items():
            if unknown_judged_id(qid, did, q_order, c_order):
                errors.append(f"qrels[{qid!r}][{did!r}]: unknown document id (not in corpus)")
            elif not is_int(grade) or int(grade) < 0:
                errors.append(f"qrels[{qid!r}][{did!r}]: expected {GRADE_HINT}, got {grade!r}")
            else:
                inner[did] = int(grade)
        if inner:
            r[qid] = dict(sorted(inner.items(), key=lambda kv: c_order[kv[0]]))
    return dict(sorted(r.items(), key=lambda kv: q_order[kv[0]]))


def _splits_map(
    splits: Any, q_order: dict[str, int], errors: list[str]
) -> dict[str, tuple[str, ...]]:
    """Each split's ids in query order; a query in at most one split."""
    if not _is_mapping("splits", "{name: [query ids]}", splits, errors):
        return {}
    kept, problems = check_splits(splits, q_order, known_label="queries")
    for rule, name, _item, problem in problems:
        if rule == "name":
            errors.append(f"splits: {problem}")
        elif rule == "two splits":
            errors.append(problem)
        else:
            errors.append(f"splits[{name!r}]: {problem}")
    return {name: tuple(sorted(ids, key=q_order.__getitem__)) for name, ids in kept.items()}


def _fields_map(
    label: str, mapping: Any, order: dict[str, int], errors: list[str]
) -> dict[str, dict[str, str]]:
    """``{field: {id: value}}`` of ``doc_fields`` or ``query_fields``, values in id order."""
    if not _is_mapping(label, "{field: {id: value}}", mapping, errors):
        return {}
    out: dict[str, dict[str, str]] = {}
    for name, values in mapping.items():
        if not isinstance(name, str) or not name.strip() or name == "id":
            errors.append(f"{label}: field name {name!r} must be non-empty text other than 'id'")
            continue
        if not _is_mapping(f"{label}[{name!r}]", "{id: value}", values, errors):
            continue
        out[name] = _field_values(label, name, values, order, errors)
    return out


def _field_values(
    label: str, name: str, values: Mapping[Any, Any], order: dict[str, int], errors: list[str]
) -> dict[str, str]:
    """One field's ``{id: value}``: known ids, non-empty text values, IPC section letters."""
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
        elif name == "ipc" and label == "doc_fields" and ipc_problem(value):
            errors.append(f"{where}: {ipc_problem(value)}")
        else:
            inner[key] = value
    return dict(sorted(inner.items(), key=lambda kv: order[kv[0]]))


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
    q = _text_map("queries", queries, errors)
    c = _text_map("corpus", corpus, errors)
    q_order = {k: i for i, k in enumerate(q)}
    c_order = {k: i for i, k in enumerate(c)}
    parts = {
        "queries": q,
        "corpus": c,
        "qrels": _qrels_map(qrels, q_order, c_order, errors),
        "splits": _splits_map(splits, q_order, errors),
        "doc_fields": _fields_map("doc_fields", doc_fields, c_order, errors),
        "query_fields": _fields_map("query_fields", query_fields, q_order, errors),
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
        min_grade = check_int(min_grade, "min_grade", minimum=0)
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

    def with_queries(self, extra: Mapping[str, str]) -> RetrievalSet:
        """Return a copy with the queries ``extra`` added (checked as at construction).

        New ids come after the set's queries, in the order given; an id the set has already
        takes the text given here.

        Args:
            extra: ``{query_id: text}``.

        Returns:
            A new set (``self`` when ``extra`` is empty).
        """
        if not extra:
            return self
        parts = self._plain()
        parts["queries"].update(extra)
        return RetrievalSet(**parts)

    def with_qrels(self, qrels: Mapping[str, Mapping[str, int]]) -> RetrievalSet:
        """Return a copy whose judgments are replaced by ``qrels`` (checked as at construction).

        Args:
            qrels: ``{query_id: {doc_id: grade}}``; known ids, grades integers >= 0.

        Returns:
            A new set.
        """
        parts = self._plain()
        parts["qrels"] = qrels
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
        an ``Int64`` column). :func:`toolkit.data.load_frame` reads it back.

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
