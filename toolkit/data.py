"""Retrieval data: the :class:`RetrievalSet` type, file loaders, validation and the demo set.

Everything the toolkit evaluates or trains on is a :class:`RetrievalSet`: queries
``{query_id: text}``, a corpus ``{doc_id: title}``, graded judgments
``{query_id: {doc_id: grade}}`` (2 clearly relevant, 1 partially relevant, 0 judged
non-relevant), named splits of query ids and optional per-document / per-query fields
(``ipc`` section letter A-H, ``topic``, ``source``, ...). It is immutable: its mappings are
read-only views over private copies, and every helper returns a new set.

File formats (chosen by extension): ``.csv``, ``.tsv``, ``.jsonl`` / ``.json`` (JSON lines, or
one JSON array of records), ``.parquet``; qrels also as TREC text (``qid 0 docid rel``) in
``.trec`` / ``.qrels`` / ``.txt`` files or any CSV/TSV whose first line has that shape. A
``pandas.DataFrame`` or a ``datasets.Dataset`` (converted with ``.to_pandas()``) is accepted
wherever a path is.

Reading is strict, with no silent coercion: bytes must be UTF-8 (a leading BOM is accepted),
CSV cells are read as text (``dtype=str, keep_default_na=False``, so a title "NA" stays "NA"),
texts are never stripped (a trailing space is kept) but empty or whitespace-only texts are
errors, and grades must be integers >= 0 written as integers. Every problem raises one
exception type, :class:`DataError`, whose message names the file, the place and the column:

* CSV / TSV: ``row N`` as a spreadsheet shows it -- the header is row 1, the first data row
  is row 2;
* Parquet, DataFrame, Dataset: ``row N (iloc[N-2])``, the same convention plus the position;
* JSON lines and TREC files: ``line N`` of the file (1-based; blank lines are counted);
* a JSON array of records: ``record N`` (1-based); Rospatent JSON: ``hit N`` (1-based).

A loader either returns a complete, valid set or raises; nothing is loaded half.

Example:
    >>> import pandas as pd
    >>> rs = load_pairs(pd.DataFrame({"query": ["умный дом"], "title": ["СИСТЕМА УМНОГО ДОМА"]}))
    >>> rs.pairs()
    [('умный дом', 'СИСТЕМА УМНОГО ДОМА')]
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import io
import json
import math
import numbers
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "RetrievalSet",
    "ValidationReport",
    "demo",
    "describe",
    "load_corpus",
    "load_pairs",
    "load_qrels",
    "load_queries",
    "load_retrieval_set",
    "load_rospatent_json",
    "validate_files",
]

IPC_SECTIONS = "ABCDEFGH"
_TABLE_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}
_TREC_EXTENSIONS = (".trec", ".qrels", ".txt")
_GRADE_HINT = "an integer grade >= 0 (2 clearly relevant, 1 partially, 0 judged non-relevant)"
_BOM = b"\xef\xbb\xbf"
_MAX_SHOWN_ERRORS = 5
_IPC_COLUMNS = ("ipc", "doc_ipc")


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
# RetrievalSet
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


def _text_problem(value: Any) -> str | None:
    if _is_missing(value):
        return "missing value (NaN/null); expected non-empty text"
    if not isinstance(value, str):
        return f"expected text, got {value!r} ({type(value).__name__})"
    if value == "":
        return "empty text; expected non-empty text"
    if not value.strip():
        return f"whitespace-only text {value!r}; expected non-empty text"
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
            type(k) is str and k and k.strip() == k and type(v) is str and v and not v.isspace()
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
            if qid not in q_order:
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
                if did not in c_order:
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
    owner: dict[str, str] = {}
    if not isinstance(splits, Mapping):
        errors.append(
            f"splits: expected a mapping {{name: [query ids]}}, got {type(splits).__name__}"
        )
    else:
        for name, ids in splits.items():
            if not isinstance(name, str) or not name.strip():
                errors.append(f"splits: split name {name!r} is not non-empty text")
                continue
            if isinstance(ids, str) or not isinstance(ids, Iterable):
                errors.append(
                    f"splits[{name!r}]: expected a list of query ids, got {type(ids).__name__}"
                )
                continue
            seen: set[str] = set()
            for qid in ids:
                if not isinstance(qid, str) or qid not in q_order:
                    errors.append(f"splits[{name!r}]: unknown query id {qid!r} (not in queries)")
                elif qid in seen:
                    errors.append(f"splits[{name!r}]: query id {qid!r} is listed twice")
                elif qid in owner:
                    errors.append(f"query id {qid!r} is in two splits: {owner[qid]!r} and {name!r}")
                else:
                    seen.add(qid)
                    owner[qid] = name
            s[name] = tuple(sorted(seen, key=q_order.__getitem__))

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
        if (
            isinstance(df, pd.DataFrame)
            and len(df) == 0
            and {"query_id", "doc_id"} <= set(df.columns)
        ):
            return cls()  # the frame of an empty set
        tab = _read_table(df)
        _require_columns(tab, ["query_id", "doc_id"], "query_id, doc_id[, query, title, ...]")
        cols = list(tab.df.columns)
        qf_cols = [
            c for c in cols if isinstance(c, str) and c.startswith("query_") and c != "query_id"
        ]
        df_cols = [c for c in cols if isinstance(c, str) and c.startswith("doc_") and c != "doc_id"]
        b = _Builder(tab)
        data = {c: tab.df[c].tolist() for c in cols}
        for i in range(len(tab.df)):
            qid = tab.optional_id(i, "query_id", data["query_id"][i])
            did = tab.optional_id(i, "doc_id", data["doc_id"][i])
            if qid is None and did is None:
                raise tab.error(i, "query_id", "both query_id and doc_id are empty")
            if qid is not None:
                b.add_query(i, qid, tab.text(i, "query", _get(data, "query", i)))
                if "split" in data:
                    b.set_split(i, qid, tab.field(i, "split", data["split"][i]))
                for c in qf_cols:
                    b.set_query_field(i, qid, c[len("query_") :], tab.field(i, c, data[c][i]))
            if did is not None:
                b.add_doc(i, did, tab.text(i, "title", _get(data, "title", i)))
                for c in df_cols:
                    b.set_doc_field(i, did, c[len("doc_") :], tab.field(i, c, data[c][i]))
            if qid is not None and did is not None:
                b.add_qrel(i, qid, did, tab.grade(i, "relevance", _get(data, "relevance", i)))
        return b.build()

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
# Reading files into checked tables
# --------------------------------------------------------------------------------------------


@dataclass
class _Blob:
    """Raw bytes of one file plus the name shown in messages."""

    name: str
    suffix: str
    raw: bytes


@dataclass
class _Table:
    """A table read from one source; all cells are Python objects, positions 0-based."""

    df: pd.DataFrame
    name: str
    fmt: str  # csv | tsv | parquet | frame | jsonl | json | trec
    lines: list[int] | None = None  # 1-based file line per row, for jsonl / trec

    def row_number(self, i: int) -> int:
        if self.fmt in ("jsonl", "trec") and self.lines is not None:
            return self.lines[i]
        if self.fmt == "json":
            return i + 1
        return i + 2

    def where(self, i: int) -> str:
        n = self.row_number(i)
        if self.fmt in ("jsonl", "trec"):
            return f"line {n}"
        if self.fmt == "json":
            return f"record {n}"
        if self.fmt in ("parquet", "frame"):
            return f"row {n} (iloc[{i}])"
        return f"row {n}"

    def error(self, i: int, column: str, what: str) -> DataError:
        return DataError(
            f"{self.name}, {self.where(i)}, column {column!r}: {what}",
            source=self.name,
            row=self.row_number(i),
            column=column,
        )

    # Each cell reader starts with a fast path for the common valid value; the slow path
    # finds and words the problem.
    def text(self, i: int, column: str, value: Any) -> str:
        if type(value) is str and value and not value.isspace():
            return value
        problem = _text_problem(value)
        if problem:
            if isinstance(value, str) and value == "" and self.fmt in ("csv", "tsv"):
                problem = "empty cell; expected non-empty text"
            raise self.error(i, column, problem)
        return value

    def ident(self, i: int, column: str, value: Any) -> str:
        if type(value) is str and value and value.strip() == value:
            return value
        if _is_int(value):  # integer ids (JSON numbers, Parquet int columns) are lossless
            return str(int(value))
        if _is_missing(value) or value == "":
            raise self.error(i, column, "missing id; expected a non-empty id")
        problem = _id_problem(value)
        if problem:
            raise self.error(i, column, problem)
        return value

    def optional_id(self, i: int, column: str, value: Any) -> str | None:
        if _is_missing(value) or value == "":
            return None
        return self.ident(i, column, value)

    def grade(self, i: int, column: str, value: Any) -> int:
        if type(value) is str and value.isdigit() and value.isascii():
            return int(value)
        if type(value) is int and value >= 0:
            return value
        if _is_missing(value) or value == "":
            raise self.error(i, column, f"missing relevance; expected {_GRADE_HINT}")
        if isinstance(value, bool | np.bool_):
            raise self.error(i, column, f"expected {_GRADE_HINT}, got boolean {value!r}")
        if _is_int(value):
            grade = int(value)
        elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
            grade = int(value)
        elif isinstance(value, str) and re.fullmatch(r"-[0-9]+", value):
            grade = int(value)
        elif isinstance(value, float | np.floating):
            raise self.error(
                i,
                column,
                f"expected {_GRADE_HINT}, got {value!r} (a float; store grades as integers)",
            )
        else:
            raise self.error(i, column, f"expected {_GRADE_HINT}, got {value!r}")
        if grade < 0:
            raise self.error(i, column, f"negative relevance {grade}; expected {_GRADE_HINT}")
        return grade

    def field(self, i: int, column: str, value: Any) -> str | None:
        """Optional field cell: empty -> None; text kept; integers written as text."""
        if type(value) is str and value and not value.isspace() and column not in _IPC_COLUMNS:
            return value
        if _is_missing(value) or value == "":
            return None
        if _is_int(value):
            return str(int(value))
        if not isinstance(value, str):
            raise self.error(i, column, f"expected text, got {value!r} ({type(value).__name__})")
        if not value.strip():
            raise self.error(
                i,
                column,
                f"whitespace-only value {value!r}; leave the cell empty when the value is unknown",
            )
        if column in _IPC_COLUMNS and _ipc_problem(value):
            raise self.error(i, column, _ipc_problem(value) or "")
        return value


def _get(data: dict[str, list[Any]], column: str, i: int) -> Any:
    return data[column][i] if column in data else None


def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "to_pandas") and not isinstance(obj, pd.DataFrame | pd.Series)


def _blob(src: Any) -> _Blob:
    """Read a path (str / PathLike) or an importlib Traversable into bytes."""
    if isinstance(src, _Blob):
        return src
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        name = str(src)
        if not path.exists():
            raise DataError(f"{name}: file not found", source=name)
        if path.is_dir():
            raise DataError(f"{name}: is a folder; expected a data file", source=name)
        return _Blob(name, path.suffix.lower(), path.read_bytes())
    if hasattr(src, "read_bytes") and hasattr(src, "name"):
        name = str(src)
        return _Blob(name, Path(src.name).suffix.lower(), src.read_bytes())
    raise DataError(
        f"expected a file path, a pandas.DataFrame or a datasets.Dataset; got {type(src).__name__}"
    )


def _decode(blob: _Blob, unit: str) -> str:
    """Strict UTF-8; a leading BOM is dropped silently; the error gives offset and row."""
    raw = blob.raw
    skip = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = raw[:offset].count(b"\n") + 1
        raise DataError(
            f"{blob.name}, {unit} {line}: not UTF-8 text -- byte 0x{raw[offset]:02x} at byte "
            f"offset {offset} cannot be decoded; save the file as UTF-8",
            source=blob.name,
            row=line,
        ) from None


def _empty(blob: _Blob, expect: str) -> DataError:
    return DataError(f"{blob.name}: file is empty; expected {expect}", source=blob.name)


def _read_csv(blob: _Blob, text: str, sep: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,  # blank lines stay rows, so row numbers match the file
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{blob.name}: cannot parse as {'TSV' if sep == chr(9) else 'CSV'}: {exc}",
            source=blob.name,
        ) from None
    # trailing blank lines are dropped; a blank line between rows is an error later
    blank = (df == "").all(axis=1).to_numpy() if len(df.columns) else np.zeros(len(df), bool)
    end = len(df)
    while end > 0 and blank[end - 1]:
        end -= 1
    df = df.iloc[:end]
    for i in np.flatnonzero(blank[:end]):
        raise DataError(
            f"{blob.name}, row {i + 2}: blank row; expected values for columns "
            f"{', '.join(map(str, df.columns))}",
            source=blob.name,
            row=int(i) + 2,
        )
    return df


def _read_json_records(blob: _Blob, text: str) -> tuple[pd.DataFrame, str, list[int] | None]:
    # Parsed with the json module, not pandas.read_json: read_json turns an integer column
    # with a null into floats (1 -> 1.0) and skips blank lines, so neither the exact values
    # nor the line numbers in error messages would survive.
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{blob.name}, line {exc.lineno}: invalid JSON ({exc.msg})",
                source=blob.name,
                row=exc.lineno,
            ) from None
        for n, rec in enumerate(records, start=1):
            if not isinstance(rec, dict):
                raise DataError(
                    f"{blob.name}, record {n}: expected a JSON object, got {type(rec).__name__}",
                    source=blob.name,
                    row=n,
                )
        return pd.DataFrame(records, dtype=object), "json", None
    records, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{blob.name}, line {n}: invalid JSON ({exc.msg}, char {exc.colno})",
                source=blob.name,
                row=n,
            ) from None
        if not isinstance(rec, dict):
            raise DataError(
                f"{blob.name}, line {n}: expected one JSON object per line, got "
                f"{type(rec).__name__}",
                source=blob.name,
                row=n,
            )
        records.append(rec)
        lines.append(n)
    return pd.DataFrame(records, dtype=object), "jsonl", lines


def _looks_like_rospatent(obj: Any) -> bool:
    if isinstance(obj, dict) and isinstance(obj.get("hits"), list):
        return True
    return (
        isinstance(obj, list)
        and bool(obj)
        and isinstance(obj[0], dict)
        and ("biblio" in obj[0] or "snippet" in obj[0])
    )


class _TableSource:
    """Wraps an already read :class:`_Table` so a loader does not read the file again."""

    def __init__(self, tab: _Table) -> None:
        self.tab = tab


def _read_table(
    src: Any, *, expect: str = "a table", columns: Mapping[str, str] | None = None
) -> _Table:
    """Read any supported source into a :class:`_Table` (no column checks except renames)."""
    if isinstance(src, _TableSource):
        tab = _Table(src.tab.df, src.tab.name, src.tab.fmt, src.tab.lines)
    elif isinstance(src, pd.DataFrame):
        tab = _Table(src.reset_index(drop=True).astype(object), "<DataFrame>", "frame")
    elif _is_dataset(src):
        frame = src.to_pandas()
        if not isinstance(frame, pd.DataFrame):  # e.g. an iterable / batched Dataset
            raise DataError(f"{type(src).__name__}.to_pandas() did not return one DataFrame")
        tab = _Table(frame.reset_index(drop=True).astype(object), "<datasets.Dataset>", "frame")
    else:
        blob = _blob(src)
        fmt = _TABLE_EXTENSIONS.get(blob.suffix)
        if fmt is None:
            known = ", ".join(list(_TABLE_EXTENSIONS) + list(_TREC_EXTENSIONS))
            raise DataError(
                f"{blob.name}: unknown file extension {blob.suffix or '(none)'!r}; "
                f"expected one of {known}",
                source=blob.name,
            )
        if not blob.raw.strip(b" \t\r\n" + _BOM):
            raise _empty(blob, expect)
        if fmt == "parquet":
            try:
                frame = pd.read_parquet(io.BytesIO(blob.raw), dtype_backend="numpy_nullable")
            except Exception as exc:  # pyarrow raises several types for a corrupt file
                raise DataError(
                    f"{blob.name}: cannot read as Parquet: {exc}", source=blob.name
                ) from None
            tab = _Table(frame.astype(object), blob.name, "parquet")
        elif fmt in ("csv", "tsv"):
            text = _decode(blob, "row")
            frame = _read_csv(blob, text, "," if fmt == "csv" else "\t")
            tab = _Table(frame.astype(object), blob.name, fmt)
        else:
            text = _decode(blob, "line")
            if fmt == "json" and not text.lstrip().startswith("["):
                try:
                    whole = json.loads(text)
                except json.JSONDecodeError:
                    whole = None
                if _looks_like_rospatent(whole):
                    raise DataError(
                        f"{blob.name}: this is a Rospatent search response, not a "
                        f"table; read it with load_rospatent_json()",
                        source=blob.name,
                    )
            frame, kind, lines = _read_json_records(blob, text)
            tab = _Table(frame, blob.name, kind, lines)
    if len(tab.df.columns) == 0:
        raise DataError(f"{tab.name}: no columns; expected {expect}", source=tab.name)
    if len(tab.df) == 0:
        found = ", ".join(map(str, tab.df.columns))
        raise DataError(
            f"{tab.name}: header only ({found}) -- no data rows; expected {expect}", source=tab.name
        )
    if columns:
        _rename(tab, columns)
    return tab


def _rename(tab: _Table, columns: Mapping[str, str]) -> None:
    found = [str(c) for c in tab.df.columns]
    renames = {}
    for ours, theirs in columns.items():
        if theirs not in tab.df.columns:
            raise DataError(
                f"{tab.name}: column {theirs!r} (given for {ours!r} in columns=) "
                f"not found; columns found: {', '.join(found)}",
                source=tab.name,
                column=theirs,
            )
        if ours != theirs and ours in tab.df.columns and ours not in columns.values():
            raise DataError(
                f"{tab.name}: cannot rename {theirs!r} to {ours!r}: a column "
                f"{ours!r} exists already",
                source=tab.name,
                column=ours,
            )
        renames[theirs] = ours
    tab.df = tab.df.rename(columns=renames)


def _require_columns(tab: _Table, required: list[str], expect: str) -> None:
    missing = [c for c in required if c not in tab.df.columns]
    if missing:
        found = ", ".join(map(str, tab.df.columns))
        raise DataError(
            f"{tab.name}: missing required column(s) {', '.join(map(repr, missing))}; columns "
            f"found: {found}; expected {expect}",
            source=tab.name,
            column=missing[0],
        )


# --------------------------------------------------------------------------------------------
# Building a set row by row with file positions
# --------------------------------------------------------------------------------------------


_UNSET = object()


class _Builder:
    """Collect queries, docs, qrels and fields from rows; conflicting repeats are errors."""

    def __init__(self, tab: _Table) -> None:
        self.tab = tab
        self.queries: dict[str, str] = {}
        self.corpus: dict[str, str] = {}
        self.qrels: dict[str, dict[str, int]] = {}
        self.qrel_rows: dict[tuple[str, str], int] = {}
        self.split_of: dict[str, str | None] = {}
        self.query_fields: dict[str, dict[str, str | None]] = {}
        self.doc_fields: dict[str, dict[str, str | None]] = {}
        self.rows: dict[tuple[str, str], int] = {}  # first row of (kind, key)

    def _once(
        self,
        kind: str,
        key: str,
        store: dict[str, Any],
        value: Any,
        i: int,
        column: str,
        label: str,
    ) -> None:
        old = store.get(key, _UNSET)
        if old is value:  # the common repeat (same object) needs no comparison
            return
        if old is _UNSET:
            store[key] = value
            self.rows[(kind, key)] = i
        elif old != value:
            first = self.tab.where(self.rows[(kind, key)])
            raise self.tab.error(
                i, column, f"{label} {key!r} already has {column} {old!r} ({first}); got {value!r}"
            )

    def add_query(self, i: int, qid: str, text: str) -> None:
        self._once("query", qid, self.queries, text, i, "query", "query id")

    def add_doc(self, i: int, did: str, title: str, column: str = "title") -> None:
        self._once("doc", did, self.corpus, title, i, column, "document id")

    def set_split(self, i: int, qid: str, split: str | None, column: str = "split") -> None:
        old = self.split_of.get(qid, _UNSET)
        if old is not _UNSET and old != split:
            first = self.tab.where(self.rows[("split", qid)])
            raise self.tab.error(
                i, column, f"query id {qid!r} is in two splits: {old!r} ({first}) and {split!r}"
            )
        if old is _UNSET:
            self.split_of[qid] = split
            self.rows[("split", qid)] = i

    def set_query_field(
        self, i: int, qid: str, name: str, value: str | None, column: str | None = None
    ) -> None:
        self._once(
            f"qf:{name}",
            qid,
            self.query_fields.setdefault(name, {}),
            value,
            i,
            column or name,
            "query id",
        )

    def set_doc_field(
        self, i: int, did: str, name: str, value: str | None, column: str | None = None
    ) -> None:
        self._once(
            f"df:{name}",
            did,
            self.doc_fields.setdefault(name, {}),
            value,
            i,
            column or name,
            "document id",
        )

    def add_qrel(
        self,
        i: int,
        qid: str,
        did: str,
        grade: int,
        column: str = "relevance",
        label: str = "judgment",
    ) -> None:
        judged = self.qrels.setdefault(qid, {})
        if did in judged and judged[did] != grade:
            first = self.tab.where(self.qrel_rows[(qid, did)])
            raise self.tab.error(
                i,
                column,
                f"{label} ({qid!r}, {did!r}) already has grade "
                f"{judged[did]} ({first}); got {grade}",
            )
        if did not in judged:
            judged[did] = grade
            self.qrel_rows[(qid, did)] = i

    def doc_where(self, doc_id: str) -> str | None:
        i = self.rows.get(("doc", doc_id))
        return None if i is None else self.tab.where(i)

    def splits(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for qid, name in self.split_of.items():
            if name is not None:
                out.setdefault(name, []).append(qid)
        return out

    def build(self) -> RetrievalSet:
        def clean(fields: dict[str, dict[str, str | None]]) -> dict[str, dict[str, str]]:
            return {
                n: {k: v for k, v in vals.items() if v is not None} for n, vals in fields.items()
            }

        return RetrievalSet(
            queries=self.queries,
            corpus=self.corpus,
            qrels=self.qrels,
            splits=self.splits(),
            doc_fields=clean(self.doc_fields),
            query_fields=clean(self.query_fields),
        )


@functools.lru_cache(maxsize=65536)
def _text_id(prefix: str, text: str) -> str:
    return prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


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


# --------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------

_PAIRS_EXPECT = "columns query,title[,label,split,topic,ipc]"
_CORPUS_EXPECT = "columns doc_id,title[,ipc,topic,source,...]"
_QUERIES_EXPECT = "columns query_id,text[,split,topic,source,...]"
_QRELS_EXPECT = "columns query_id,doc_id,relevance or TREC lines 'qid 0 docid rel'"


def load_pairs(
    path_or_df: Any,
    *,
    dedupe: bool = False,
    columns: Mapping[str, str] | None = None,
) -> RetrievalSet:
    """Load ``query,title[,label]`` pairs into a :class:`RetrievalSet`.

    Identical query texts become one query and identical titles one document; ids are
    generated from the text, stably across runs: ``q-``/``d-`` + the first 10 hex digits of
    SHA-1 of the UTF-8 text. ``label`` (optional, default 1 for every row) is the grade; rows
    with label 0 are kept as judged non-relevant. Optional columns: ``split`` (a query's
    split; must agree on all its rows), ``topic`` (query field) and ``ipc`` (doc field, one
    section letter). Other columns are ignored. Texts are kept exactly as written.

    Args:
        path_or_df: ``.csv``, ``.tsv``, ``.jsonl``/``.json`` or ``.parquet`` path, a
            ``pandas.DataFrame`` or a ``datasets.Dataset``.
        dedupe: Merge titles that differ only in letter case or whitespace into the first
            one (see :meth:`RetrievalSet.dedupe_titles`); without it such twins trigger a
            ``UserWarning``.
        columns: Our column name -> the file's, e.g. ``{"query": "sentence_0",
            "title": "sentence_1"}``.

    Returns:
        The set; ``pairs()`` gives the positive pairs back.

    Raises:
        DataError: Naming file, row and column of the first problem.

    Example:
        >>> import pandas as pd
        >>> rs = load_pairs(pd.DataFrame({"query": ["a b", "a b"], "title": ["T1", "T2"],
        ...                               "label": [1, 0]}))
        >>> rs.describe()["relevant"], rs.describe()["judged_nonrelevant"]
        (1, 1)
    """
    tab = _read_table(path_or_df, expect=_PAIRS_EXPECT, columns=columns)
    _require_columns(tab, ["query", "title"], _PAIRS_EXPECT)
    data = {
        c: tab.df[c].tolist()
        for c in tab.df.columns
        if c in ("query", "title", "label", "split", "topic", "ipc")
    }
    b = _Builder(tab)
    for i in range(len(tab.df)):
        query = tab.text(i, "query", data["query"][i])
        title = tab.text(i, "title", data["title"][i])
        grade = tab.grade(i, "label", data["label"][i]) if "label" in data else 1
        # a 40-bit id collision (two texts, one id) would surface as "already has" errors
        qid, did = _text_id("q-", query), _text_id("d-", title)
        b.add_query(i, qid, query)
        b.add_doc(i, did, title)
        if "split" in data:
            b.set_split(i, qid, tab.field(i, "split", data["split"][i]))
        if "topic" in data:
            b.set_query_field(i, qid, "topic", tab.field(i, "topic", data["topic"][i]))
        if "ipc" in data:
            b.set_doc_field(i, did, "ipc", tab.field(i, "ipc", data["ipc"][i]))
        b.add_qrel(i, qid, did, grade, column="label", label="pair")
    return _finish(b.build(), tab.name, b.doc_where, dedupe)


def _extra_fields(tab: _Table, reserved: tuple[str, ...], kind: str) -> list[str]:
    """The table's columns beyond ``reserved``; each must be a usable field name."""
    extra = [c for c in tab.df.columns if c not in reserved]
    for c in extra:
        if not isinstance(c, str) or not c.strip() or c == "id":
            raise DataError(
                f"{tab.name}: column name {c!r} cannot be {kind}",
                source=tab.name,
                column=str(c),
            )
    return extra


def _corpus_builder(tab: _Table) -> tuple[_Builder, Callable[[str], str | None]]:
    _require_columns(tab, ["doc_id", "title"], _CORPUS_EXPECT)
    data = {c: tab.df[c].tolist() for c in tab.df.columns}
    extra = _extra_fields(tab, ("doc_id", "title"), "a document field")
    b = _Builder(tab)
    for i in range(len(tab.df)):
        did = tab.ident(i, "doc_id", data["doc_id"][i])
        b.add_doc(i, did, tab.text(i, "title", data["title"][i]))
        for c in extra:
            b.set_doc_field(i, did, c, tab.field(i, c, data[c][i]))
    return b, b.doc_where


def load_corpus(
    path_or_df: Any,
    *,
    dedupe: bool = False,
    columns: Mapping[str, str] | None = None,
) -> RetrievalSet:
    """Load a corpus table ``doc_id,title[,ipc,topic,source,...]`` into a corpus-only set.

    Every extra column becomes a document field (empty cell = no value); ``ipc`` must be
    one section letter A-H. A doc id repeated with a different title is an error. A
    ``.json`` file holding a Rospatent search response is read with
    :func:`load_rospatent_json`.

    Args:
        path_or_df: Path (``.csv``, ``.tsv``, ``.jsonl``/``.json``, ``.parquet``), DataFrame
            or Dataset.
        dedupe: Merge documents whose titles are equal up to case and whitespace (otherwise
            a ``UserWarning`` names them).
        columns: Our column name -> the file's, e.g. ``{"doc_id": "id"}``.

    Returns:
        A set with a corpus and document fields, no queries.
    """
    if _is_rospatent_path(path_or_df):
        return load_rospatent_json(path_or_df, dedupe=dedupe)
    tab = _read_table(path_or_df, expect=_CORPUS_EXPECT, columns=columns)
    b, where = _corpus_builder(tab)
    return _finish(b.build(), tab.name, where, dedupe)


def _queries_builder(tab: _Table) -> _Builder:
    _require_columns(tab, ["query_id", "text"], _QUERIES_EXPECT)
    data = {c: tab.df[c].tolist() for c in tab.df.columns}
    extra = _extra_fields(tab, ("query_id", "text", "split"), "a query field")
    b = _Builder(tab)
    for i in range(len(tab.df)):
        qid = tab.ident(i, "query_id", data["query_id"][i])
        b.add_query(i, qid, tab.text(i, "text", data["text"][i]))
        if "split" in data:
            b.set_split(i, qid, tab.field(i, "split", data["split"][i]))
        for c in extra:
            b.set_query_field(i, qid, c, tab.field(i, c, data[c][i]))
    return b


def load_queries(path_or_df: Any, *, columns: Mapping[str, str] | None = None) -> RetrievalSet:
    """Load a queries table ``query_id,text[,split,topic,source,...]`` into a queries-only set.

    ``split`` (empty = no split) defines the splits; every other extra column becomes a
    query field. A query id repeated with another text or in two splits is an error.

    Args:
        path_or_df: Path, DataFrame or Dataset.
        columns: Our column name -> the file's, e.g. ``{"text": "query"}``.

    Returns:
        A set with queries, query fields and splits, no corpus.
    """
    tab = _read_table(path_or_df, expect=_QUERIES_EXPECT, columns=columns)
    return _queries_builder(tab).build()


def _trec_first_line(text: str) -> list[str] | None:
    for line in text.splitlines():
        if line.strip():
            tokens = line.split()
            ok = len(tokens) == 4 and re.fullmatch(r"-?[0-9]+", tokens[3]) is not None
            return tokens if ok else None
    return None


def _read_trec(blob: _Blob, text: str) -> _Table:
    # Split by hand: one whitespace split per line is the whole format, and it keeps exact
    # line numbers (pandas' whitespace reader skips blank lines).
    rows, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split()
        if len(tokens) != 4:
            raise DataError(
                f"{blob.name}, line {n}: expected 4 whitespace-separated fields "
                f"'query_id iteration doc_id relevance', got {len(tokens)}",
                source=blob.name,
                row=n,
            )
        rows.append(tokens)
        lines.append(n)
    if not rows:
        raise _empty(blob, _QRELS_EXPECT)
    frame = pd.DataFrame(
        rows, columns=["query_id", "iteration", "doc_id", "relevance"], dtype=object
    )
    return _Table(frame, blob.name, "trec", lines)


def _qrels_table(src: Any, columns: Mapping[str, str] | None) -> _Table:
    if isinstance(src, str | os.PathLike) or hasattr(src, "read_bytes"):
        blob = _blob(src)
        if blob.suffix in _TREC_EXTENSIONS or blob.suffix in (".csv", ".tsv"):
            if not blob.raw.strip(b" \t\r\n" + _BOM):
                raise _empty(blob, _QRELS_EXPECT)
            text = _decode(blob, "line")
            first = _trec_first_line(text)
            if blob.suffix in _TREC_EXTENSIONS or (first and "query_id" not in first):
                return _read_trec(blob, text)
        src = blob
    return _read_table(src, expect=_QRELS_EXPECT, columns=columns)


def _qrels_builder(tab: _Table, b: _Builder | None = None) -> _Builder:
    _require_columns(tab, ["query_id", "doc_id", "relevance"], _QRELS_EXPECT)
    data = {c: tab.df[c].tolist() for c in ("query_id", "doc_id", "relevance")}
    b = b or _Builder(tab)
    for i in range(len(tab.df)):
        qid = tab.ident(i, "query_id", data["query_id"][i])
        did = tab.ident(i, "doc_id", data["doc_id"][i])
        b.add_qrel(i, qid, did, tab.grade(i, "relevance", data["relevance"][i]))
    return b


def load_qrels(
    path_or_df: Any, *, columns: Mapping[str, str] | None = None
) -> dict[str, dict[str, int]]:
    """Load judgments: TREC ``qid 0 docid rel`` lines or a ``query_id,doc_id,relevance`` table.

    TREC format is used for ``.trec``/``.qrels``/``.txt`` files and for a ``.csv``/``.tsv``
    whose first line is four whitespace-separated fields ending in an integer; the second
    field (iteration) is ignored, as trec_eval does. Other columns of a table are ignored.
    The same (query, doc) pair twice with different grades is an error. Ids are checked
    against queries and corpus by :func:`load_retrieval_set`.

    Args:
        path_or_df: Path, DataFrame or Dataset.
        columns: Our column name -> the file's, e.g. ``{"doc_id": "id",
            "relevance": "label"}``.

    Returns:
        ``{query_id: {doc_id: grade}}`` in file order (a plain dict).
    """
    b = _qrels_builder(_qrels_table(path_or_df, columns))
    return b.qrels


def _is_rospatent_path(src: Any) -> bool:
    """True for a ``.json`` file that parses as one document shaped like search hits."""
    if not isinstance(src, str | os.PathLike) or Path(src).suffix.lower() != ".json":
        return False
    path = Path(src)
    if not path.is_file():
        return False
    raw = path.read_bytes()
    try:
        whole = json.loads(raw[len(_BOM) :] if raw.startswith(_BOM) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False  # JSON lines or not UTF-8: the table reader reports it
    return _looks_like_rospatent(whole)


def _read_json_document(blob: _Blob, expect: str) -> Any:
    """Parse a whole-file JSON document; empty or invalid files raise with the line."""
    text = _decode(blob, "line")
    if not text.strip():
        raise _empty(blob, expect)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{blob.name}, line {exc.lineno}: invalid JSON ({exc.msg})",
            source=blob.name,
            row=exc.lineno,
        ) from None


def _splits_from(src: Any, known: Mapping[str, str]) -> tuple[dict[str, list[str]], str]:
    """Read ``{name: [query ids]}`` from a mapping or a JSON file; check ids with places."""
    if isinstance(src, Mapping):
        data, name = src, "splits"
    else:
        blob = _blob(src)
        if blob.suffix != ".json":
            raise DataError(
                f"{blob.name}: splits must be a .json file {{name: [query ids]}}", source=blob.name
            )
        data = _read_json_document(blob, "a JSON object {name: [query ids]}")
        name = blob.name
        if not isinstance(data, dict):
            raise DataError(
                f"{name}: expected a JSON object {{name: [query ids]}}, got {type(data).__name__}",
                source=name,
            )
    owner: dict[str, str] = {}
    out: dict[str, list[str]] = {}
    for split, ids in data.items():
        if isinstance(ids, str) or not isinstance(ids, list | tuple):
            raise DataError(
                f"{name}, split {split!r}: expected a list of query ids, got {type(ids).__name__}",
                source=name,
                column=str(split),
            )
        for n, qid in enumerate(ids, start=1):
            if not isinstance(qid, str) or qid not in known:
                raise DataError(
                    f"{name}, split {split!r}, item {n}: unknown query id {qid!r} "
                    f"(not in the queries)",
                    source=name,
                    row=n,
                    column=str(split),
                )
            if qid in owner:
                raise DataError(
                    f"{name}, split {split!r}, item {n}: query id {qid!r} is in "
                    f"two splits: {owner[qid]!r} and {split!r}",
                    source=name,
                    row=n,
                    column=str(split),
                )
            owner[qid] = split
        out[str(split)] = list(ids)
    return out, name


def load_retrieval_set(
    *,
    corpus: Any,
    queries: Any,
    qrels: Any,
    splits: Any = None,
    dedupe: bool = False,
) -> RetrievalSet:
    """Load corpus, queries and qrels (files or frames) into one checked :class:`RetrievalSet`.

    Args:
        corpus: Corpus table (see :func:`load_corpus`), a Rospatent ``.json``, or a set
            already loaded (its corpus and doc fields are used).
        queries: Queries table (see :func:`load_queries`) or a set already loaded.
        qrels: Qrels file/table (see :func:`load_qrels`) or ``{qid: {doc_id: grade}}``.
        splits: ``None`` takes splits from the queries' ``split`` column; otherwise
            ``{name: [query ids]}`` or a ``.json`` file holding that (then the queries may
            not have a ``split`` column).
        dedupe: Merge twin titles (see :meth:`RetrievalSet.dedupe_titles`) instead of warning.

    Returns:
        The combined set.

    Raises:
        DataError: Naming the file, row and column; e.g. a qrels row naming an unknown id.
    """
    # corpus
    if isinstance(corpus, RetrievalSet):
        c_set, c_name, doc_where = corpus, "corpus", _nowhere
    elif _is_rospatent_path(corpus):
        c_set = load_rospatent_json(corpus, dedupe=False, _warn_twins=False)
        c_name, doc_where = str(corpus), _nowhere
    else:
        c_tab = _read_table(corpus, expect=_CORPUS_EXPECT)
        cb, doc_where = _corpus_builder(c_tab)
        c_set, c_name = cb.build(), c_tab.name
    # queries
    if isinstance(queries, RetrievalSet):
        q_set, q_name = queries, "queries"
    else:
        q_tab = _read_table(queries, expect=_QUERIES_EXPECT)
        q_set, q_name = _queries_builder(q_tab).build(), q_tab.name
    # qrels, checked against both with file positions
    if isinstance(qrels, Mapping):
        judged = {q: dict(d) for q, d in qrels.items()}
        for q, d in judged.items():
            if q not in q_set.queries:
                raise DataError(
                    f"qrels: unknown query id {q!r} (not in {q_name})",
                    source="qrels",
                    column="query_id",
                )
            for did in d:
                if did not in c_set.corpus:
                    raise DataError(
                        f"qrels[{q!r}]: unknown document id {did!r} (not in {c_name})",
                        source="qrels",
                        column="doc_id",
                    )
    else:
        r_tab = _qrels_table(qrels, None)
        rb = _qrels_builder(r_tab)
        for (q, did), i in rb.qrel_rows.items():
            if q not in q_set.queries:
                raise r_tab.error(i, "query_id", f"unknown query id {q!r} (not in {q_name})")
            if did not in c_set.corpus:
                raise r_tab.error(i, "doc_id", f"unknown document id {did!r} (not in {c_name})")
        judged = rb.qrels
    # splits
    split_map: Mapping[str, Any] = q_set.splits
    if splits is not None:
        if q_set.splits:
            raise DataError(f"{q_name} has a 'split' column and splits= was given too; use one")
        split_map, _ = _splits_from(splits, q_set.queries)
    rs = RetrievalSet(
        queries=q_set.queries,
        corpus=c_set.corpus,
        qrels=judged,
        splits=split_map,
        doc_fields={f: dict(v) for f, v in c_set.doc_fields.items()},
        query_fields={f: dict(v) for f, v in q_set.query_fields.items()},
    )
    return _finish(rs, c_name, doc_where, dedupe)


def _dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def load_rospatent_json(
    path: Any,
    *,
    missing_title: Literal["error", "skip"] = "error",
    dedupe: bool = False,
    _warn_twins: bool = True,
) -> RetrievalSet:
    """Load saved Rospatent search-API hits into a corpus-only :class:`RetrievalSet`.

    The file (UTF-8, BOM accepted) is a JSON list of hits or an object ``{"hits": [...]}``
    (the search response as saved). From each hit exactly these fields are read:

    * ``id`` -- document id, e.g. ``RU2725023C1_20200629`` (required, text);
    * ``biblio.ru.title`` -- the Russian title, kept verbatim (required; see
      ``missing_title``);
    * ``snippet.description`` -- optional; stored as doc field ``description`` verbatim
      (it may contain the API's highlight markup);
    * IPC codes, optional: ``common.classification.ipc[].fullname`` (a list of objects, e.g.
      ``"H02J 3/14 (2006.01)"``) or, when that is absent, ``snippet.classification.ipc``
      (a string or a list of strings). The codes are stored verbatim as doc field
      ``ipc_codes`` (list items joined with ``"; "``) and the first code's first character
      as doc field ``ipc`` (the section letter, which must be A-H).

    Everything else in a hit is ignored. The same id in several hits (e.g. responses of
    several queries concatenated) is merged when the titles agree, an error otherwise.

    Args:
        path: Path to the ``.json`` file, or the already parsed list / dict.
        missing_title: ``"error"`` (default) raises on a hit without ``biblio.ru.title``;
            ``"skip"`` leaves such hits out with one ``UserWarning`` (foreign documents often
            have only ``biblio.en``).
        dedupe: Merge twin titles instead of warning (see :meth:`RetrievalSet.dedupe_titles`).
        _warn_twins: Internal; the combined loader warns itself.

    Returns:
        A set with ``corpus`` and doc fields, no queries.

    Raises:
        DataError: Naming the file, the hit (1-based) and the field.
    """
    if isinstance(path, list | dict):
        name, data = "<hits>", path
    else:
        blob = _blob(path)
        if blob.suffix != ".json":
            raise DataError(
                f"{blob.name}: unknown file extension {blob.suffix!r}; expected "
                f".json (a saved Rospatent search response)",
                source=blob.name,
            )
        data = _read_json_document(blob, 'a JSON list of hits or {"hits": [...]}')
        name = blob.name
    if isinstance(data, dict):
        if not isinstance(data.get("hits"), list):
            raise DataError(
                f'{name}: expected a list of hits or {{"hits": [...]}}; got an '
                f"object with keys {sorted(data)}",
                source=name,
            )
        hits = data["hits"]
    elif isinstance(data, list):
        hits = data
    else:
        raise DataError(
            f'{name}: expected a list of hits or {{"hits": [...]}}, got {type(data).__name__}',
            source=name,
        )
    if not hits:
        raise DataError(f"{name}: no hits", source=name)

    def fail(n: int, hid: Any, fld: str, what: str) -> DataError:
        ident = f" (id {hid!r})" if isinstance(hid, str) else ""
        return DataError(
            f"{name}, hit {n}{ident}, field {fld!r}: {what}", source=name, row=n, column=fld
        )

    corpus: dict[str, str] = {}
    first_hit: dict[str, int] = {}
    fields: dict[str, dict[str, str]] = {"ipc": {}, "ipc_codes": {}, "description": {}}
    skipped: list[str] = []
    for n, hit in enumerate(hits, start=1):
        if not isinstance(hit, dict):
            raise DataError(
                f"{name}, hit {n}: expected a JSON object, got {type(hit).__name__}",
                source=name,
                row=n,
            )
        hid = hit.get("id")
        problem = "missing" if hid is None else _id_problem(hid)
        if problem:
            raise fail(
                n, None, "id", f"{problem}; expected a document id such as 'RU2725023C1_20200629'"
            )
        title = _dig(hit, "biblio.ru.title")
        if title is None and missing_title == "skip":
            skipped.append(hid)
            continue
        if title is None:
            raise fail(
                n,
                hid,
                "biblio.ru.title",
                "missing; expected the Russian title "
                "(pass missing_title='skip' to leave such "
                "hits out)",
            )
        problem = _text_problem(title)
        if problem:
            raise fail(n, hid, "biblio.ru.title", problem)
        if hid in corpus:
            if corpus[hid] != title:
                raise fail(
                    n,
                    hid,
                    "biblio.ru.title",
                    f"document {hid!r} already has title {corpus[hid]!r} (hit "
                    f"{first_hit[hid]}); got {title!r}",
                )
        else:
            corpus[hid] = title
            first_hit[hid] = n
        description = _dig(hit, "snippet.description")
        if description is not None:
            if not isinstance(description, str):
                raise fail(
                    n,
                    hid,
                    "snippet.description",
                    f"expected text, got {type(description).__name__}",
                )
            if description.strip():
                fields["description"].setdefault(hid, description)
        codes = _ipc_codes(hit, lambda fld, what, n=n, hid=hid: fail(n, hid, fld, what))
        if codes is not None:
            joined, section, source_field = codes
            problem = _ipc_problem(section)
            if problem:
                raise fail(n, hid, source_field, f"IPC code {joined!r}: first character {problem}")
            fields["ipc"].setdefault(hid, section)
            fields["ipc_codes"].setdefault(hid, joined)
    if not corpus:
        raise DataError(f"{name}: no hit has biblio.ru.title ({len(skipped)} skipped)", source=name)
    if skipped:
        warnings.warn(
            f"{name}: skipped {len(skipped)} hit(s) without biblio.ru.title, e.g. {skipped[0]!r}",
            UserWarning,
            stacklevel=2,
        )
    rs = RetrievalSet(corpus=corpus, doc_fields={k: v for k, v in fields.items() if v})
    if not _warn_twins:
        return rs
    return _finish(rs, name, lambda d: f"hit {first_hit[d]}", dedupe)


def _ipc_codes(hit: dict[str, Any], fail: Any) -> tuple[str, str, str] | None:
    """Return (codes joined, section letter, field read) or None when the hit has no IPC."""
    common = _dig(hit, "common.classification.ipc")
    if common is not None:
        fld = "common.classification.ipc"
        if not isinstance(common, list):
            raise fail(
                fld, f"expected a list of objects with 'fullname', got {type(common).__name__}"
            )
        codes = []
        for k, item in enumerate(common):
            full = item.get("fullname") if isinstance(item, dict) else None
            if not isinstance(full, str) or not full.strip():
                raise fail(f"{fld}[{k}].fullname", f"expected an IPC code text, got {full!r}")
            codes.append(full)
        if codes:
            return "; ".join(codes), codes[0].strip()[:1], f"{fld}[0].fullname"
    snippet = _dig(hit, "snippet.classification.ipc")
    if snippet is not None:
        fld = "snippet.classification.ipc"
        items = snippet if isinstance(snippet, list) else [snippet]
        if not all(isinstance(x, str) and x.strip() for x in items):
            raise fail(fld, f"expected IPC code text or a list of texts, got {snippet!r}")
        if items:
            return "; ".join(items), items[0].strip()[:1], fld
    return None


# --------------------------------------------------------------------------------------------
# Demo dataset
# --------------------------------------------------------------------------------------------

_DEMO_FILES = ("corpus.csv", "queries.csv", "qrels.csv")


def _load_package_set(folder: Any, label: str | None = None) -> RetrievalSet:
    """Read ``corpus.csv``, ``queries.csv``, ``qrels.csv`` from a folder (Path or Traversable).

    Layout: ``corpus.csv`` ``doc_id,title,ipc,topic,source``; ``queries.csv``
    ``query_id,text,topic,source,split``; ``qrels.csv`` ``query_id,doc_id,relevance,source``
    (the qrels ``source`` column is ignored).
    """
    label = label or str(folder)
    missing = [n for n in _DEMO_FILES if not folder.joinpath(n).is_file()]
    if missing:
        raise DataError(f"{label}: dataset file(s) missing: {', '.join(missing)}", source=label)
    blobs = {n: _Blob(f"{label}/{n}", ".csv", folder.joinpath(n).read_bytes()) for n in _DEMO_FILES}
    return load_retrieval_set(
        corpus=blobs["corpus.csv"], queries=blobs["queries.csv"], qrels=blobs["qrels.csv"]
    )


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
    return _load_package_set(folder, label="toolkit/datasets")


# --------------------------------------------------------------------------------------------
# CLI helpers
# --------------------------------------------------------------------------------------------


def describe(rs: RetrievalSet) -> str:
    """Return a human summary of a set: sizes, grades, relevant per query, splits, IPC.

    Args:
        rs: The set.

    Returns:
        A few lines of text.
    """
    d = rs.describe()
    grades = ", ".join(f"grade {g}: {n}" for g, n in d["grades"].items()) or "none"
    lines = [
        f"queries: {d['queries']}, documents: {d['documents']}, judgments: {d['judgments']} "
        f"({d['relevant']} relevant, {d['judged_nonrelevant']} judged non-relevant)",
        f"grades: {grades}",
    ]
    rpq = d["relevant_per_query"]
    if rpq["mean"] is not None:
        lines.append(
            f"relevant per query: min {rpq['min']}, mean {rpq['mean']:.2f}, max {rpq['max']}"
        )
    if d["splits"]:
        per_split = []
        for name, ids in rs.splits.items():
            n_rel = sum(1 for q in ids for g in rs.qrels.get(q, {}).values() if g >= 1)
            per_split.append(f"{name} {len(ids)} queries / {n_rel} relevant")
        lines.append("splits: " + ", ".join(per_split))
    if d["ipc"]:
        unknown = d["documents"] - sum(d["ipc"].values())
        ipc = ", ".join(f"{s} {n}" for s, n in d["ipc"].items())
        lines.append(f"IPC sections: {ipc}" + (f" (no IPC: {unknown})" if unknown else ""))
    if d["doc_fields"] or d["query_fields"]:
        lines.append(
            f"doc fields: {', '.join(d['doc_fields']) or '-'}; query fields: "
            f"{', '.join(d['query_fields']) or '-'}"
        )
    return "\n".join(lines)


def _guess_kind(path: Any) -> tuple[str, Any]:
    """Return (kind, table-or-path) for one file, reading it once."""
    if _is_rospatent_path(path):
        return "rospatent", path
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".json" and Path(path).is_file():
        try:
            whole = json.loads(_decode(_blob(path), "line"))
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict) and all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in whole.values()
        ):
            return "splits", whole
    if suffix in _TREC_EXTENSIONS:
        return "qrels", _qrels_table(path, None)
    tab = _qrels_table(path, None)  # reads tables too; TREC-shaped .csv/.tsv become TREC
    if tab.fmt == "trec":
        return "qrels", tab
    cols = set(tab.df.columns)
    if {"query", "title"} <= cols:
        return "pairs", tab
    if {"doc_id", "title"} <= cols:
        return "corpus", tab
    if {"query_id", "doc_id", "relevance"} <= cols:
        return "qrels", tab
    if {"query_id", "text"} <= cols:
        return "queries", tab
    raise DataError(
        f"{tab.name}: cannot tell the kind of file from its columns "
        f"({', '.join(map(str, tab.df.columns))}); expected pairs (query,title), corpus "
        f"(doc_id,title), queries (query_id,text) or qrels (query_id,doc_id,relevance)",
        source=tab.name,
    )


def _part_summary(kind: str, result: Any) -> list[str]:
    """Counts for one file, with only the warnings that make sense for its kind."""
    if kind == "splits":
        return [f"{len(result)} split(s): " + ", ".join(f"{k} {len(v)}" for k, v in result.items())]
    if kind == "qrels":
        grades = Counter(g for judged in result.values() for g in judged.values())
        shown = ", ".join(f"grade {g}: {n}" for g, n in sorted(grades.items()))
        return [f"{len(result)} queries judged, {sum(grades.values())} judgments ({shown})"]
    if kind == "pairs":
        warns = [w for w in result.validate().warnings if "share a title" not in w]
        return describe(result).splitlines() + [f"warning: {w}" for w in warns]
    d = result.describe()
    if kind == "queries":
        out = [f"{d['queries']} queries"]
        if d["splits"]:
            outside = d["queries"] - sum(d["splits"].values())
            per = ", ".join(f"{n} {k}" for n, k in d["splits"].items())
            out.append(f"splits: {per}" + (f" (in no split: {outside})" if outside else ""))
    else:
        out = [f"{d['documents']} documents"]
        if d["ipc"]:
            unknown = d["documents"] - sum(d["ipc"].values())
            ipc = ", ".join(f"{k} {n}" for k, n in d["ipc"].items())
            out.append(f"IPC sections: {ipc}" + (f" (no IPC: {unknown})" if unknown else ""))
    names = d["query_fields"] if kind == "queries" else d["doc_fields"]
    if names:
        out.append(f"fields: {', '.join(names)}")
    return out


def validate_files(paths: Iterable[Any]) -> tuple[str, bool]:
    """Check data files, guessing each one's kind from its columns, and report.

    Kinds: pairs (``query,title``), corpus (``doc_id,title``), queries (``query_id,text``),
    qrels (``query_id,doc_id,relevance`` or TREC), rospatent (saved search hits), splits
    (a ``.json`` object ``{name: [query ids]}``). When the files include exactly one corpus
    (or Rospatent file), one queries and one qrels file, they are also checked together
    (ids in qrels must exist), with the splits file if there is exactly one.

    Args:
        paths: Files to check.

    Returns:
        ``(report text, ok)``; ``ok`` is False when any file (or the combination) has an
        error. Warnings do not make it False.
    """
    lines: list[str] = []
    ok = True
    by_kind: dict[str, list[Any]] = {}

    def run(label: str, fn: Any) -> Any:
        nonlocal ok
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn()
            except DataError as exc:
                ok = False
                lines.append(f"{label}: ERROR")
                lines.extend("  " + x for x in str(exc).splitlines())
                return None
        lines.append(f"{label}: OK")
        for w in caught:
            lines.append(f"  warning: {w.message}")
        return result

    for path in paths:
        guessed = run(str(path), lambda p=path: _guess_kind(p))
        if guessed is None:
            continue
        lines.pop()  # the "OK" of the guess; the load below reports
        kind, obj = guessed
        by_kind.setdefault(kind, []).append(path)
        if kind == "qrels":

            def loader(o=obj):  # noqa: ANN001, ANN202
                return _qrels_builder(o).qrels
        else:
            loader = {
                "splits": lambda o=obj: o,
                "rospatent": lambda o=obj: load_rospatent_json(o),
                "pairs": lambda o=obj: load_pairs(_TableSource(o)),
                "corpus": lambda o=obj: load_corpus(_TableSource(o)),
                "queries": lambda o=obj: load_queries(_TableSource(o)),
            }[kind]
        result = run(f"{path} [{kind}]", loader)
        if result is None:
            continue
        lines.extend("  " + x for x in _part_summary(kind, result))
    corpora = by_kind.get("corpus", []) + by_kind.get("rospatent", [])
    if (
        len(corpora) == 1
        and len(by_kind.get("queries", [])) == 1
        and len(by_kind.get("qrels", [])) == 1
    ):
        combined = run(
            "combined",
            lambda: load_retrieval_set(
                corpus=corpora[0],
                queries=by_kind["queries"][0],
                qrels=by_kind["qrels"][0],
                splits=by_kind["splits"][0] if len(by_kind.get("splits", [])) == 1 else None,
            ),
        )
        if combined is not None:
            lines.extend("  " + x for x in describe(combined).splitlines())
    lines.append("all files OK" if ok else "errors found")
    return "\n".join(lines), ok
