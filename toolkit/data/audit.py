"""Leakage audit of a set's splits: shared relevant titles, duplicate queries, duplicate titles.

A split is only a held-out test when nothing learnable crosses it. Splitting by *query* (what
every toolkit does) is not enough for retrieval: a title relevant to a train query and to a
test query is trained on and then retrieved in test. None of ranx, ir_measures, MTEB or
sentence-transformers audits splits (they evaluate or train on the splits they are given), so
the toolkit does it here.

:func:`audit_splits` reports, for every pair of splits:

* ``shared_relevant_title`` -- a title relevant (grade >= 1) to queries of both splits
  (``detail`` names the queries on each side);
* ``exact_duplicate_query`` -- two queries of different splits with the same *normalised*
  text: case-folded, ``ё`` read as ``е``, every run of punctuation and whitespace collapsed to
  one space (:func:`normalise_text`);
* ``near_duplicate_query`` -- two queries of different splits whose normalised word sets have
  a Jaccard similarity >= ``jaccard_threshold`` (default 0.6: with 3-5 word queries it means
  "one word added, dropped or swapped"; surface words, no stemming, so inflected variants
  such as «датчик» / «датчики» are only caught by the embedding check);
* ``similar_query_embedding`` -- with ``model=``, two queries of different splits whose
  embedding cosine (:func:`toolkit.encode`, cached) is >= ``near_threshold``;
* ``duplicate_title`` -- documents with the same normalised title under different ids (not
  split-specific: a retrieved twin of a relevant title counts as a miss).

A query pair that is an exact duplicate is not listed again as near. Queries in no split are
not compared. A finding that involves the split named ``excluded`` (queries kept out of
evaluation because they would leak, as in the demo set) is listed but is not leakage, and the
verdict says so.

Example:
    >>> from toolkit.data import RetrievalSet
    >>> rs = RetrievalSet(queries={"a": "Умный дом", "b": "умный  дом!"},
    ...                   corpus={"d": "Т"}, qrels={"a": {"d": 1}, "b": {"d": 2}},
    ...                   splits={"train": ["a"], "test": ["b"]})
    >>> audit = audit_splits(rs)
    >>> audit.ok, audit.table["kind"].tolist()
    (False, ['shared_relevant_title', 'exact_duplicate_query'])
    >>> audit.verdict.split(";")[0]
    'LEAKAGE: 1 title relevant in two splits (train-test: 1 title, 1 train / 1 test queries)'
"""

from __future__ import annotations

import itertools
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.data.types import DataError, RetrievalSet

__all__ = ["EXCLUDED_SPLIT", "KINDS", "SplitAudit", "audit_splits", "normalise_text"]

EXCLUDED_SPLIT = "excluded"
KINDS = (
    "shared_relevant_title",
    "exact_duplicate_query",
    "near_duplicate_query",
    "similar_query_embedding",
    "duplicate_title",
)
COLUMNS = ("kind", "split_a", "split_b", "item", "detail")
JACCARD_THRESHOLD = 0.6
_SPLIT_RANK = {"train": 0, "dev": 1, "validation": 1, "val": 1, "test": 2}
_NON_WORD = re.compile(r"[\W_]+")
_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


def normalise_text(text: str) -> str:
    """Case-fold, read ``ё`` as ``е``, collapse punctuation and whitespace runs to one space.

    Example:
        >>> normalise_text("  Ёмкость — для ХРАНЕНИЯ, ё!")
        'емкость для хранения е'
    """
    return _NON_WORD.sub(" ", text.casefold().replace("ё", "е")).strip()


@dataclass(frozen=True)
class SplitAudit:
    """Result of :func:`audit_splits`.

    Attributes:
        table: One row per finding: ``kind`` (one of :data:`KINDS`), ``split_a``,
            ``split_b`` (``None`` for ``duplicate_title``), ``item`` (the title id, the query
            ids or the doc ids) and ``detail`` (what is shared, in words).
        counts: One row per (kind, split pair) with findings: ``kind``, ``split_a``,
            ``split_b``, ``n`` (findings), ``queries_a`` / ``queries_b`` (distinct queries of
            each split involved; for duplicate titles, the documents) and ``status``:
            ``"leakage"`` (shared relevant titles and exact duplicate queries between
            evaluated splits), ``"check"`` (near duplicates: read them), ``"excluded"`` (a
            split is ``excluded``) or ``"warning"`` (duplicate titles).
        verdict: One line: ``"no leakage: ..."`` or ``"LEAKAGE: ..."`` naming the worst finding.
        settings: The thresholds and model used.
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    verdict: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no finding has status ``"leakage"``."""
        return not (self.counts["status"] == "leakage").any()

    def to_text(self, max_rows: int = 40) -> str:
        """The verdict, the counts and the first ``max_rows`` findings, for a terminal."""
        lines = [f"leakage audit: {self.verdict}"]
        if len(self.counts):
            lines.append(self.counts.fillna("-").to_string(index=False))
        if len(self.table):
            shown = self.table.head(max_rows).fillna("-")
            with pd.option_context("display.max_colwidth", 120, "display.width", 200):
                lines.append(shown.to_string(index=False))
            if len(self.table) > max_rows:
                lines.append(f"... and {len(self.table) - max_rows} more findings")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _check_threshold(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0.0 < float(value) <= 1.0)
    ):
        raise DataError(f"{name}: expected a number in (0, 1], got {value!r}")
    return float(value)


def _ordered_splits(rs: RetrievalSet) -> list[str]:
    names = list(rs.splits)
    return sorted(
        names,
        key=lambda n: (
            9 if n == EXCLUDED_SPLIT else _SPLIT_RANK.get(n.casefold(), 5),
            names.index(n),
        ),
    )


def _split_pair(a: str, b: str, order: Mapping[str, int]) -> tuple[str, str]:
    return (a, b) if order[a] <= order[b] else (b, a)


def _queries_text(ids: list[str]) -> str:
    shown = ", ".join(ids[:5]) + (f", ... ({len(ids)})" if len(ids) > 5 else "")
    return f"{len(ids)} quer{'y' if len(ids) == 1 else 'ies'} ({shown})"


def audit_splits(
    rs: RetrievalSet,
    *,
    model: Any = None,
    near_threshold: float = 0.9,
    jaccard_threshold: float = JACCARD_THRESHOLD,
) -> SplitAudit:
    """Audit a set's splits for leakage; see the module docstring for what is checked.

    Args:
        rs: The set (its ``splits``; a set without splits gets only the title check).
        model: A ``SentenceTransformer``: also compare query embeddings across splits
            (vectors from :func:`toolkit.encode`, with its on-disk cache). ``None``: skip.
        near_threshold: Cosine at or above which two queries of different splits are
            reported as ``similar_query_embedding`` (only with ``model``).
        jaccard_threshold: Word-set Jaccard at or above which two queries of different
            splits are ``near_duplicate_query``.

    Returns:
        A :class:`SplitAudit` (``table``, ``counts``, ``verdict``).

    Raises:
        DataError: ``rs`` is not a :class:`RetrievalSet`, a threshold is not in (0, 1], or
            ``model`` has no ``encode``.
    """
    if not isinstance(rs, RetrievalSet):
        raise DataError(f"rs: expected a RetrievalSet, got {type(rs).__name__}")
    near_threshold = _check_threshold(near_threshold, "near_threshold")
    jaccard_threshold = _check_threshold(jaccard_threshold, "jaccard_threshold")
    if model is not None and (isinstance(model, str | bytes) or not hasattr(model, "encode")):
        raise DataError(
            f"model: expected a SentenceTransformer (with encode()), got "
            f"{type(model).__name__} (load one with toolkit.load_model)"
        )
    findings = _Findings(rs)
    findings.shared_relevant_titles()
    exact_pairs = findings.duplicate_queries(jaccard_threshold)
    if model is not None and findings.qids:
        findings.similar_embeddings(model, near_threshold, exact_pairs)
    findings.duplicate_titles()
    table = findings.table()
    counts = _counts(table, findings.involved, findings.order, _KIND_RANK)
    verdict = _verdict(counts, has_splits=bool(findings.splits))
    settings = {
        "jaccard_threshold": jaccard_threshold,
        "near_threshold": near_threshold if model is not None else None,
        "model": None if model is None else type(model).__name__,
    }
    return SplitAudit(table=table, counts=counts, verdict=verdict, settings=settings)


class _Findings:
    """The findings of one audit, each kind found by one method, in :data:`KINDS` order."""

    def __init__(self, rs: RetrievalSet) -> None:
        self.rs = rs
        self.splits = _ordered_splits(rs)
        self.order = {n: i for i, n in enumerate(self.splits)}
        self.split_of = {q: n for n in self.splits for q in rs.splits[n]}
        self.qids = [q for n in self.splits for q in rs.splits[n]]  # queries in some split
        self.rows: list[dict[str, Any]] = []
        self.involved: dict[tuple[str, str | None, str | None], tuple[set[str], set[str]]] = {}

    def add(self, kind: str, a: str | None, b: str | None, item: str, detail: str, qa=(), qb=()):
        self.rows.append({"kind": kind, "split_a": a, "split_b": b, "item": item, "detail": detail})
        sa, sb = self.involved.setdefault((kind, a, b), (set(), set()))
        sa.update(qa)
        sb.update(qb)

    def _ordered(self, q1: str, q2: str) -> tuple[str, str, str, str]:
        """``(q1, q2, split of q1, split of q2)`` with the earlier split first."""
        s1, s2 = self.split_of[q1], self.split_of[q2]
        return (q2, q1, s2, s1) if self.order[s1] > self.order[s2] else (q1, q2, s1, s2)

    def shared_relevant_titles(self) -> None:
        """(a) Titles relevant in more than one split."""
        relevant_in: dict[str, dict[str, list[str]]] = {}
        for qid, judged in self.rs.qrels.items():
            if qid not in self.split_of:
                continue
            for did, grade in judged.items():
                if grade >= 1:
                    relevant_in.setdefault(did, {}).setdefault(self.split_of[qid], []).append(qid)
        doc_order = {d: i for i, d in enumerate(self.rs.corpus)}
        for did in sorted(relevant_in, key=doc_order.__getitem__):
            by_split = relevant_in[did]
            for a, b in itertools.combinations(sorted(by_split, key=self.order.__getitem__), 2):
                detail = f"{a}: {_queries_text(by_split[a])}; {b}: {_queries_text(by_split[b])}"
                self.add("shared_relevant_title", a, b, did, detail, by_split[a], by_split[b])

    def duplicate_queries(self, jaccard_threshold: float) -> set[tuple[str, str]]:
        """(b) Duplicate and near-duplicate queries across splits; the exact pairs."""
        queries = self.rs.queries
        norm = {q: normalise_text(queries[q]) for q in self.qids}
        words = {q: frozenset(norm[q].split()) for q in self.qids}
        exact_pairs: set[tuple[str, str]] = set()
        for q1, q2 in itertools.combinations(self.qids, 2):
            if self.split_of[q1] == self.split_of[q2]:
                continue
            q1, q2, s1, s2 = self._ordered(q1, q2)
            pair = f"{q1} / {q2}"
            if norm[q1] == norm[q2]:
                exact_pairs.add((q1, q2))
                self.add(
                    "exact_duplicate_query", s1, s2, pair, f"same text {norm[q1]!r}", [q1], [q2]
                )
                continue
            union = words[q1] | words[q2]
            jac = len(words[q1] & words[q2]) / len(union) if union else 0.0
            if jac >= jaccard_threshold:
                detail = f"jaccard {jac:.2f}: {queries[q1]!r} ~ {queries[q2]!r}"
                self.add("near_duplicate_query", s1, s2, pair, detail, [q1], [q2])
        return exact_pairs

    def similar_embeddings(
        self, model: Any, near_threshold: float, exact_pairs: set[tuple[str, str]]
    ) -> None:
        """Query pairs across splits whose embedding cosine is >= ``near_threshold``."""
        from toolkit.encoding import encode

        queries = self.rs.queries
        emb = np.asarray(encode(model, [queries[q] for q in self.qids], show_progress=False))
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        unit = np.divide(emb, norms, out=np.zeros_like(emb), where=norms > 0)  # zero row: cos 0
        cos = unit @ unit.T
        for i, j in zip(*np.triu_indices(len(self.qids), k=1), strict=True):
            if self.split_of[self.qids[i]] == self.split_of[self.qids[j]]:
                continue
            if cos[i, j] < near_threshold:
                continue
            q1, q2, s1, s2 = self._ordered(self.qids[i], self.qids[j])
            if (q1, q2) in exact_pairs:
                continue
            detail = f"cosine {cos[i, j]:.3f}: {queries[q1]!r} ~ {queries[q2]!r}"
            self.add("similar_query_embedding", s1, s2, f"{q1} / {q2}", detail, [q1], [q2])

    def duplicate_titles(self) -> None:
        """(c) Documents with the same normalised title (not split-specific)."""
        groups: dict[str, list[str]] = {}
        for did, title in self.rs.corpus.items():
            groups.setdefault(normalise_text(title), []).append(did)
        for key, ids in groups.items():
            if len(ids) > 1:
                self.add("duplicate_title", None, None, " / ".join(ids), f"same title {key!r}", ids)

    def table(self) -> pd.DataFrame:
        """The findings, by kind and then by split pair."""
        table = pd.DataFrame(self.rows, columns=list(COLUMNS))
        order = self.order
        return table.sort_values(
            by=["kind", "split_a", "split_b"],
            key=lambda col: col.map(_KIND_RANK) if col.name == "kind" else col.map(order),
            kind="stable",
        ).reset_index(drop=True)


def _counts(table, involved, order, kind_rank) -> pd.DataFrame:
    records = []
    for (kind, a, b), group in table.groupby(["kind", "split_a", "split_b"], dropna=False):
        a = None if pd.isna(a) else a
        b = None if pd.isna(b) else b
        qa, qb = involved[(kind, a, b)]
        if kind == "duplicate_title":
            status = "warning"
        elif EXCLUDED_SPLIT in (a, b):
            status = "excluded"
        elif kind in ("shared_relevant_title", "exact_duplicate_query"):
            status = "leakage"
        else:
            status = "check"
        records.append(
            {
                "kind": kind,
                "split_a": a,
                "split_b": b,
                "n": len(group),
                "queries_a": len(qa),
                "queries_b": len(qb),
                "status": status,
            }
        )
    records.sort(
        key=lambda r: (
            kind_rank[r["kind"]],
            order.get(r["split_a"], -1),
            order.get(r["split_b"], -1),
        )
    )
    cols = ["kind", "split_a", "split_b", "n", "queries_a", "queries_b", "status"]
    return pd.DataFrame(records, columns=cols)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _verdict(counts: pd.DataFrame, *, has_splits: bool) -> str:
    def total(kind: str) -> int:
        c = counts[(counts["kind"] == kind) & (counts["status"] != "excluded")]
        return int(c["n"].sum())

    n_titles = total("shared_relevant_title")
    n_exact = total("exact_duplicate_query")
    n_near = total("near_duplicate_query") + total("similar_query_embedding")
    n_twins = total("duplicate_title")
    excluded = counts[counts["status"] == "excluded"]
    tail = ""
    if len(excluded):
        tail = (
            f" ({int(excluded['n'].sum())} finding(s) involve the '{EXCLUDED_SPLIT}' split: "
            f"listed, not leakage, as long as it is never evaluated)"
        )
    if not has_splits:
        return f"no splits to audit; {_plural(n_twins, 'duplicate title')}"
    if n_titles:
        c = counts[(counts["kind"] == "shared_relevant_title") & (counts["status"] == "leakage")]
        worst = c.sort_values("n", ascending=False, kind="stable").iloc[0]
        head = (
            f"LEAKAGE: {_plural(n_titles, 'title')} relevant in two splits "
            f"({worst['split_a']}-{worst['split_b']}: {_plural(int(worst['n']), 'title')}, "
            f"{worst['queries_a']} {worst['split_a']} / {worst['queries_b']} "
            f"{worst['split_b']} queries)"
        )
        rest = (
            f"; also {_plural(n_exact, 'exact duplicate query', 'exact duplicate queries')} "
            f"across splits, {_plural(n_near, 'near-duplicate query', 'near-duplicate queries')}"
            f", {_plural(n_twins, 'duplicate title')}"
        )
        return head + rest + tail
    if n_exact:
        return (
            f"LEAKAGE: {_plural(n_exact, 'exact duplicate query', 'exact duplicate queries')} "
            f"across splits; 0 shared relevant titles, "
            f"{_plural(n_near, 'near-duplicate query', 'near-duplicate queries')}, "
            f"{_plural(n_twins, 'duplicate title')}" + tail
        )
    head = (
        f"no leakage: 0 shared relevant titles, 0 duplicate queries across splits, "
        f"{_plural(n_twins, 'duplicate title')}"
    )
    if n_near:
        head += (
            f"; check {_plural(n_near, 'near-duplicate query', 'near-duplicate queries')} "
            f"across splits"
        )
    return head + tail
