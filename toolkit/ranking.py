"""Ranking under the toolkit's tie rule: tie order, rankings, top k and exact ranks.

The one home of how the toolkit orders documents; :mod:`toolkit.metrics`,
:mod:`toolkit.diagnostics`, :mod:`toolkit.index`, :mod:`toolkit.fusion` and the search and
pooling code all rank with what is here:

* :func:`tie_order`, :func:`tie_positions` -- the tie rule;
* :func:`rank_columns` -- one score row ranked in full;
* :func:`top_k` -- the best k columns of each row (the one top-k selection);
* :func:`rank_plan`, :func:`score_blocks`, :func:`row_ranks`, :func:`relevant_ranks` --
  exact ranks of the judged documents, from score blocks of a few queries at a time.

Tie rule (trec_eval's): documents are ranked by score descending and equal
scores are broken by document id *descending*, comparing ``str(doc_id)``
(trec_eval's ``comp_sim_docno`` does ``strcmp(docno2, docno1)``; UTF-8 byte order
equals Python's code-point order, so exported runs rank identically).  ranx has
no tie rule of its own: it sorts each run with numba's unstable quicksort, so
the order of tied documents depends on the dict's insertion order and its size.
sentence-transformers' evaluator breaks ties by ascending corpus id.  On tie-free
scores all three agree. Neighbour searches over the rows of one matrix
(:mod:`toolkit.diagnostics`) have no ids: :func:`top_k` then breaks ties by the lower
column index.

Ranks are exact: the rank of a relevant document is ``1 +`` the number of
documents ranked ahead of it under the tie rule, however deep it lies, so the
per-query table can be used for any cut-off.  No top-k list is materialised for them:
scores are processed in query chunks whose memory is bounded by ``chunk_size x n_docs``
and a full float64 ``n_queries x n_docs`` matrix is never built.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int

__all__ = [
    "RankPlan",
    "RowGetter",
    "check_scores_matrix",
    "embedding_rows",
    "matrix_rows",
    "rank_candidates",
    "rank_columns",
    "rank_plan",
    "relevant_ranks",
    "row_ranks",
    "score_blocks",
    "tie_order",
    "tie_positions",
    "top_k",
]

_DIRECT_RANK_LIMIT = 16  # above this many relevant docs per query, rank by sorting


# ----------------------------------------------------------------------------- tie rule


def tie_order(doc_ids: Sequence[Hashable]) -> np.ndarray:
    """Column order of the trec_eval tie rule: ``order[p]`` is the column ranked p-th among ties.

    Columns are sorted by ``str(doc_id)`` descending; ranking by score descending and then by
    position in this order reproduces trec_eval's ``comp_sim_docno``.
    """
    n = len(doc_ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keys = np.array([str(d) for d in doc_ids])
    # stable ascending sort, reversed -> descending id; equal strings keep reverse input order
    return np.argsort(keys, kind="stable")[::-1].astype(np.int64)


def tie_positions(doc_ids: Sequence[Hashable]) -> np.ndarray:
    """``pos[col]``: place of each column under the tie rule (0 wins ties).

    The inverse of :func:`tie_order`; pass it to :func:`top_k` as ``tie_pos``.
    """
    order = tie_order(doc_ids)
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    return pos


def rank_columns(row: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Column indices of one score row, best first, under the tie rule of :func:`tie_order`.

    Args:
        row: Scores of one query (one per column).
        order: ``tie_order(doc_ids)`` of the columns.

    Returns:
        Column indices by score descending, ties in tie order (as
        :func:`toolkit.metrics.retrieval_metrics` ranks them).
    """
    return order[np.argsort(-row[order], kind="stable")]


def rank_candidates(
    scores: Mapping[str, Any],
    query_ids: Sequence[Hashable],
    doc_ids: Sequence[Hashable],
    candidates: Mapping[Hashable, Sequence[Hashable]],
) -> pd.DataFrame:
    """Rank each query's own short list of candidates, for every system, under the tie rule.

    What a model card's widget shows: a query and a few candidate texts ordered by the model.
    Scores come from whole score matrices (so BM25 keeps the corpus statistics of the full
    index); only the columns of a query's candidates are ranked, among themselves.

    Args:
        scores: ``{system: n_queries x n_docs scores}`` (rows ``query_ids``, columns
            ``doc_ids``), e.g. ``SystemComparison.scores``.
        query_ids: Row ids.
        doc_ids: Column ids.
        candidates: ``{query_id: [doc_id, ...]}``: the candidates of each query, each a doc id
            of ``doc_ids`` (no repeats).

    Returns:
        One row per system x query x candidate: ``system``, ``query_id``, ``doc_id``,
        ``rank`` (1 = best of the query's candidates), ``score`` and ``tied`` (another
        candidate of the query has the same score, so the tie rule, not the system, set
        their order), in the order of ``scores``, then ``candidates``, then rank.

    Raises:
        ValueError: A query or candidate id that is not a row or column, a repeated
            candidate, or a score matrix of the wrong shape.
    """
    rows = {q: i for i, q in enumerate(_as_id_list(query_ids, "query_ids"))}
    doc_ids = _as_id_list(doc_ids, "doc_ids")
    cols = {d: j for j, d in enumerate(doc_ids)}
    picked: dict[Hashable, list[int]] = {}
    for qid, docs in candidates.items():
        if qid not in rows:
            raise ValueError(f"candidates: query {qid!r} is not one of query_ids")
        missing = [d for d in docs if d not in cols]
        if missing:
            raise ValueError(f"candidates[{qid!r}]: {missing[0]!r} is not one of doc_ids")
        if len(set(docs)) != len(docs):
            raise ValueError(f"candidates[{qid!r}]: a doc id is repeated")
        picked[qid] = [cols[d] for d in docs]
    records = []
    for system, matrix in scores.items():
        arr = np.asarray(check_scores_matrix(matrix, len(rows), len(cols), f"scores[{system!r}]"))
        for qid, js in picked.items():
            sub = np.asarray(js, dtype=np.int64)
            row = np.asarray(arr[rows[qid]], dtype=np.float64)[sub]
            ranked = rank_columns(row, tie_order([doc_ids[j] for j in sub]))
            for rank, c in enumerate(ranked, start=1):
                tied = bool(np.count_nonzero(row == row[c]) > 1)
                records.append((system, qid, doc_ids[sub[c]], rank, float(row[c]), tied))
    return pd.DataFrame.from_records(
        records, columns=["system", "query_id", "doc_id", "rank", "score", "tied"]
    )


def top_k(scores: np.ndarray, k: int, tie_pos: np.ndarray | None = None) -> np.ndarray:
    """The toolkit's one top-k selection: the best ``k`` columns of each row, best first.

    Columns are ranked by score descending, then by ``tie_pos`` ascending (also at the
    boundary of the k kept). ``tie_pos=None`` breaks ties by the lower column index -- the
    k-nearest-neighbour rule of :func:`toolkit.diagnostics.hubness`,
    :func:`toolkit.diagnostics.neighbour_agreement` and
    :func:`toolkit.training.drift.embedding_drift`
    (each computes its own similarities; set a point's own column to ``-inf`` to exclude
    it); :func:`tie_positions` of the doc ids gives the retrieval tie rule instead, as
    :class:`toolkit.index.ExactIndex` uses, and then row ``i`` of the result is
    ``rank_columns(scores[i], tie_order(doc_ids))[:k]``.

    Args:
        scores: ``n x m`` scores (no NaN), ``1 <= k <= m``.
        k: Columns kept per row.
        tie_pos: ``m`` tie positions (lower wins a tie); ``None``: the column index.

    Returns:
        ``n x k`` column indices.

    Example:
        >>> top_k(np.array([[0.5, 0.9, 0.5, 0.1]]), 2).tolist()
        [[1, 0]]
    """
    block = np.asarray(scores)
    n = block.shape[1]
    k = check_int(k, "k", maximum=n)
    part = np.argpartition(block, n - k, axis=1)[:, n - k :]
    vals = np.take_along_axis(block, part, axis=1)
    thr = vals.min(axis=1)
    n_ge = np.count_nonzero(block >= thr[:, None], axis=1)
    for i in np.flatnonzero(n_ge > k):  # ties at the boundary: keep those that win the tie
        gt = np.flatnonzero(block[i] > thr[i])
        eq = np.flatnonzero(block[i] == thr[i])
        if tie_pos is not None:
            eq = eq[np.argsort(tie_pos[eq], kind="stable")]
        part[i] = np.concatenate([gt, eq[: k - len(gt)]])
    vals = np.take_along_axis(block, part, axis=1)
    ties = part if tie_pos is None else tie_pos[part]
    o = np.lexsort((ties, -vals), axis=-1)
    return np.take_along_axis(part, o, axis=1)


# ----------------------------------------------------------------------------- the plan


def _as_id_list(ids: Sequence[Hashable], name: str) -> list:
    if isinstance(ids, str | bytes) or not hasattr(ids, "__len__"):
        raise TypeError(f"{name} must be a sequence of ids, got {type(ids).__name__}")
    ids = list(ids)
    seen: dict = {}
    for i, x in enumerate(ids):
        try:
            if x in seen:
                raise ValueError(
                    f"{name} must be unique: {x!r} occurs at positions {seen[x]} and {i}"
                )
        except TypeError as err:
            raise TypeError(f"{name}[{i}] = {x!r} is not hashable") from err
        seen[x] = i
    return ids


def check_scores_matrix(scores: Any, n_rows: int, n_cols: int, name: str = "scores") -> Any:
    """``scores`` as an ``n_rows x n_cols`` real array (no copy for an ndarray or memmap)."""
    if hasattr(scores, "detach"):  # torch tensor
        scores = scores.detach().cpu().numpy()
    arr = np.asarray(scores)  # no copy for ndarray / memmap
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_queries x n_docs), got shape {arr.shape}")
    if arr.shape != (n_rows, n_cols):
        raise ValueError(
            f"{name} has shape {arr.shape} but query_ids/doc_ids give ({n_rows}, {n_cols})"
        )
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def _normalise_qrels_entry(qid, judged) -> dict:
    if isinstance(judged, Mapping):
        items = judged.items()
    elif isinstance(judged, set | frozenset | list | tuple):
        items = ((d, 1) for d in judged)  # sentence-transformers style: a set of relevant ids
    else:
        raise TypeError(
            f"qrels[{qid!r}] must be a dict {{doc_id: grade}} (or a set of relevant doc ids), "
            f"got {type(judged).__name__}"
        )
    out = {}
    for d, g in items:
        if isinstance(g, bool) or not isinstance(g, numbers.Real) or not math.isfinite(g):
            raise ValueError(f"qrels[{qid!r}][{d!r}] = {g!r}: grades must be finite numbers")
        out[d] = float(g)
    return out


@dataclass
class RankPlan:
    """Everything about ids, qrels and exclusions that the chunked rank loops need.

    Built by :func:`rank_plan`; the per-query lists follow ``query_ids``.
    """

    query_ids: list
    doc_ids: list
    rel_cols: list  # columns of relevant docs in the corpus (np.int64 arrays)
    rel_docs: list  # their doc ids
    rel_grades: list  # their grades (float arrays)
    all_grades: list  # grades of all relevant docs, including docs missing from the corpus
    excluded_cols: list  # columns of excluded docs (np.int64 arrays)
    judged: list  # {doc_id: grade} after exclusion (for diagnostics)
    judged_cols: list | None = None  # columns of every judged doc, grade 0 included (judged@k)
    _tie_pos: np.ndarray | None = None

    @property
    def tie_pos(self) -> np.ndarray:
        """``tie_pos[col]``: position of the column under the tie rule (0 wins ties).

        Built on first use only: ties are rare with dense float scores, so the sort of all
        ``str(doc_id)`` is usually never paid.
        """
        if self._tie_pos is None:
            self._tie_pos = tie_positions(self.doc_ids)
        return self._tie_pos


def rank_plan(
    query_ids: Sequence[Hashable],
    doc_ids: Sequence[Hashable],
    qrels: Mapping[Hashable, Any],
    exclude: Mapping[Hashable, Any] | None,
    *,
    need_judged: bool = False,
    judged_cols: bool = False,
) -> RankPlan:
    """Check ids, qrels and exclusions and lay them out per query as a :class:`RankPlan`.

    Args:
        query_ids: Unique query ids (rows).
        doc_ids: Unique doc ids (columns).
        qrels: ``{query_id: {doc_id: grade}}`` (or a set of relevant doc ids per query).
        exclude: ``{query_id: doc_ids}`` removed from that query's ranking and qrels.
        need_judged: Keep each query's ``{doc_id: grade}`` (``RankPlan.judged``).
        judged_cols: Keep the columns of every judged doc (``RankPlan.judged_cols``).
    """
    query_ids = _as_id_list(query_ids, "query_ids")
    doc_ids = _as_id_list(doc_ids, "doc_ids")
    if not isinstance(qrels, Mapping):
        raise TypeError(f"qrels must be a dict {{query_id: {{doc_id: grade}}}}, got {type(qrels)}")
    if exclude is not None and not isinstance(exclude, Mapping):
        raise TypeError(f"exclude must be a dict {{query_id: set(doc_ids)}}, got {type(exclude)}")
    col = {d: j for j, d in enumerate(doc_ids)}
    plan = RankPlan(
        query_ids=query_ids,
        doc_ids=doc_ids,
        rel_cols=[],
        rel_docs=[],
        rel_grades=[],
        all_grades=[],
        excluded_cols=[],
        judged=[],
        judged_cols=[] if judged_cols else None,
    )
    for qid in query_ids:
        judged = _normalise_qrels_entry(qid, qrels[qid]) if qid in qrels else {}
        excl = exclude.get(qid, ()) if exclude is not None else ()
        if isinstance(excl, str | bytes):
            raise TypeError(f"exclude[{qid!r}] must be a collection of doc ids, got a string")
        excl = set(excl)
        if excl:
            judged = {d: g for d, g in judged.items() if d not in excl}
        rel = [(d, g) for d, g in judged.items() if g >= 1]
        in_corpus = [(d, g) for d, g in rel if d in col]
        plan.rel_docs.append([d for d, _ in in_corpus])
        plan.rel_cols.append(np.array([col[d] for d, _ in in_corpus], dtype=np.int64))
        plan.rel_grades.append(np.array([g for _, g in in_corpus], dtype=np.float64))
        plan.all_grades.append(np.array([g for _, g in rel], dtype=np.float64))
        plan.excluded_cols.append(
            np.sort(np.array([col[d] for d in excl if d in col], dtype=np.int64))
        )
        plan.judged.append(judged if need_judged else None)
        if judged_cols:
            plan.judged_cols.append(np.array([col[d] for d in judged if d in col], dtype=np.int64))
    return plan


# ----------------------------------------------------------------------------- chunked ranks


#: ``get(rows) -> block``: the score rows of those queries, as a fresh array.
RowGetter = Callable[[np.ndarray], np.ndarray]


def matrix_rows(arr: Any) -> RowGetter:
    """Row getter of a score matrix: ``get(rows)`` copies only those rows."""

    def get(rows: np.ndarray) -> np.ndarray:
        return np.asarray(arr[rows])  # fancy indexing copies only these rows

    return get


def embedding_rows(q: np.ndarray, d: np.ndarray) -> RowGetter:
    """Row getter of the scores ``q @ d.T``, computed for the rows asked for only."""

    def get(rows: np.ndarray) -> np.ndarray:
        return q[rows] @ d.T

    return get


def score_blocks(
    rows: np.ndarray, get_block: RowGetter, plan: RankPlan, chunk_size: int, check_nan: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(rows, block)``: score rows of those queries, excluded docs set to -inf.

    ``get_block(rows)`` returns a fresh float32/float64 array of at most ``chunk_size`` rows.
    With ``check_nan``, NaN and ``+inf`` scores raise, naming the query and the doc.
    """
    for start in range(0, len(rows), chunk_size):
        r = rows[start : start + chunk_size]
        block = get_block(r)
        if not np.issubdtype(block.dtype, np.floating):
            block = block.astype(np.float64)
        if check_nan and np.isnan(block).any():
            i, p = np.argwhere(np.isnan(block))[0]
            raise ValueError(
                f"scores contain NaN for query {plan.query_ids[r[i]]!r} "
                f"and doc {plan.doc_ids[p]!r}"
            )
        if check_nan and np.isposinf(block).any():
            i, p = np.argwhere(np.isposinf(block))[0]
            raise ValueError(
                f"scores contain +inf for query {plan.query_ids[r[i]]!r} and doc "
                f"{plan.doc_ids[p]!r} (scores[{int(r[i])}, {int(p)}]); +inf would rank that doc "
                "first whatever the others score -- use finite scores (-inf means never retrieve)"
            )
        for i, q in enumerate(r):
            ex = plan.excluded_cols[q]
            if len(ex):
                block[i, ex] = -np.inf
        yield r, block


def row_ranks(
    row: np.ndarray, rel_cols: np.ndarray, excluded_cols: np.ndarray, plan: RankPlan
) -> np.ndarray:
    """Exact ranks (1-based) of the docs at ``rel_cols`` in one score row.

    rank = 1 + #(score > s) + #(score == s and ahead under the tie rule). Only docs scoring at
    least the lowest relevant score can be ahead, so they are gathered once; ties are
    resolved with the (lazily built) tie positions. Excluded docs (-inf) are never ahead.
    """
    s = row[rel_cols]
    cand = row[row >= s.min()]
    if len(rel_cols) <= _DIRECT_RANK_LIMIT:
        gt = np.array([np.count_nonzero(cand > v) for v in s], dtype=np.int64)
        eq = np.array([np.count_nonzero(cand == v) for v in s], dtype=np.int64)
    else:
        cand.sort()
        right = np.searchsorted(cand, s, side="right")
        gt = len(cand) - right
        eq = right - np.searchsorted(cand, s, side="left")
    ranks = gt + 1
    for i in np.flatnonzero(eq > 1):  # tied with other docs: count those ahead in tie order
        pos = plan.tie_pos
        tied = np.flatnonzero(row == s[i])
        ranks[i] += np.count_nonzero(pos[tied] < pos[rel_cols[i]])
        if s[i] == -np.inf and len(excluded_cols):  # excluded docs are removed, not tied
            ranks[i] -= np.count_nonzero(pos[excluded_cols] < pos[rel_cols[i]])
    return ranks


def relevant_ranks(
    plan: RankPlan, rows: np.ndarray, get_block: RowGetter, chunk_size: int, check_nan: bool
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Ranks and scores of the relevant in-corpus docs of each query in ``rows``.

    Returns ``(ranks, scores, judged_ranks)``, each ``{query position: array}``. With
    ``plan.judged_cols`` set, ``judged_ranks`` holds the ranks of every judged in-corpus doc
    (for ``judged@k``), from the same score blocks.
    """
    ranks: dict[int, np.ndarray] = {}
    scores: dict[int, np.ndarray] = {}
    judged_ranks: dict[int, np.ndarray] = {}
    for r, block in score_blocks(rows, get_block, plan, chunk_size, check_nan):
        for i, q in enumerate(r):
            rp = plan.rel_cols[q]
            if len(rp):
                ranks[q] = row_ranks(block[i], rp, plan.excluded_cols[q], plan)
                scores[q] = block[i, rp].astype(np.float64)
            if plan.judged_cols is not None and len(plan.judged_cols[q]):
                jc = plan.judged_cols[q]
                judged_ranks[q] = row_ranks(block[i], jc, plan.excluded_cols[q], plan)
    return ranks, scores, judged_ranks
