"""Retrieval metrics, bootstrap statistics and embedding-space diagnostics.

Every function here is a pure function of plain arrays, dicts and pandas objects.

Definitions follow ``trec_eval`` and ``ranx`` (checked against ranx's source and
tested to 1e-9 against it):

* A document is relevant when its grade is ``>= 1``; grade 0 means judged
  non-relevant and counts exactly like an unjudged document.
* ``mrr@k`` is ``1 / rank`` of the first relevant document when that rank is
  ``<= k``, else 0.  ``hit@k`` is 1 when any relevant document is in the top k
  (ranx ``hit_rate``, trec_eval ``success``).
* ``recall@k`` = relevant retrieved in the top k / all relevant documents of the
  query.  ``precision@k`` = relevant retrieved in the top k / ``k``, even when
  ``k`` is larger than the corpus (as trec_eval's ``P_k`` and ranx).
* ``map@k`` = sum over relevant documents ranked ``<= k`` of precision at their
  rank, divided by the number of relevant documents of the query (trec_eval
  ``map_cut``, ranx ``map@k``).  sentence-transformers divides by
  ``min(k, n_relevant)`` instead; the two agree whenever ``n_relevant <= k``.
* ``ndcg@k`` = DCG@k / ideal DCG@k with gain = grade (``gains="linear"``,
  trec_eval ``ndcg_cut`` and ranx ``ndcg``) or ``2**grade - 1``
  (``gains="exponential"``, ranx ``ndcg_burges``) and discount
  ``1 / log2(rank + 1)``.  The ideal ranking is built from *all* relevant
  documents of the query, including relevant documents that are not in the
  corpus (they can never be retrieved but still count, as in trec_eval).
* Queries without any relevant document are not scored: they are counted in
  ``n_queries_skipped`` (trec_eval and ranx drop them too) and never averaged
  in as zeros.
* ``judged@k`` (only with ``judged=True``) = the share of the top-k ranked documents
  that have *any* judgment in qrels, grade 0 included: ir_measures' ``Judged@k``
  (checked against its source, ``providers/judged_provider.py``), which divides by
  ``min(k, documents ranked)`` -- here the corpus minus the query's excluded documents.
  It is not a measure of quality but of how far the other metrics can be trusted: an
  unjudged document counts as non-relevant in all of them. It is reported for the same
  queries as the other metrics (queries without a relevant document are skipped, where
  ir_measures would score any query with a judgment).

Tie rule (trec_eval's): documents are ranked by score descending and equal
scores are broken by document id *descending*, comparing ``str(doc_id)``
(trec_eval's ``comp_sim_docno`` does ``strcmp(docno2, docno1)``; UTF-8 byte order
equals Python's code-point order, so exported runs rank identically).  ranx has
no tie rule of its own: it sorts each run with numba's unstable quicksort, so
the order of tied documents depends on the dict's insertion order and its size.
sentence-transformers' evaluator breaks ties by ascending corpus id.  On tie-free
scores all three agree.

Ranks are exact: the rank of a relevant document is ``1 +`` the number of
documents ranked ahead of it under the tie rule, however deep it lies, so the
per-query table can be used for any cut-off.  All ranking metrics are functions
of these ranks, so no top-k list is materialised: scores are processed in query
chunks whose memory is bounded by ``chunk_size x n_docs`` and a full float64
``n_queries x n_docs`` matrix is never built.

Example:
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1, 0.5]])
    >>> summary, per_query = retrieval_metrics(
    ...     scores, {"q1": {"d3": 1}}, query_ids=["q1"], doc_ids=["d1", "d2", "d3"], ks=(1, 3)
    ... )
    >>> summary["mrr@3"], int(per_query.loc[0, "first_relevant_rank"])
    (0.5, 2)
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import as_float32_matrix as _as_float32_matrix
from toolkit._validation import check_resampling, unit_rows
from toolkit._validation import chunk_rows as _auto_chunk

__all__ = [
    "retrieval_metrics",
    "retrieval_metrics_from_embeddings",
    "bootstrap_ci",
    "paired_test",
    "holm",
    "aggregate_seeds",
    "query_margins",
    "pair_similarities",
    "rank_columns",
    "tie_order",
]

METRIC_NAMES = ("mrr", "recall", "precision", "ndcg", "map", "hit")
DEFAULT_KS = (1, 3, 5, 10, 100)
_DIRECT_RANK_LIMIT = 16  # above this many relevant docs per query, rank by sorting


# ----------------------------------------------------------------------------- validation


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


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    if isinstance(ks, numbers.Integral):
        ks = (ks,)
    out = []
    for i, k in enumerate(ks):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"ks[{i}] = {k!r}: every k must be an integer >= 1")
        out.append(int(k))
    if not out:
        raise ValueError("ks must contain at least one cut-off")
    return tuple(sorted(set(out)))


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _gain_fn(gains: str):
    if gains == "linear":
        return lambda g: g
    if gains == "exponential":
        return lambda g: np.exp2(g) - 1.0
    raise ValueError(f"gains must be 'linear' or 'exponential', got {gains!r}")


def _check_scores_matrix(scores: Any, n_rows: int, n_cols: int, name: str = "scores"):
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


def rank_columns(row: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Column indices of one score row, best first, under the tie rule of :func:`tie_order`.

    Args:
        row: Scores of one query (one per column).
        order: ``tie_order(doc_ids)`` of the columns.

    Returns:
        Column indices by score descending, ties in tie order (as
        :func:`retrieval_metrics` ranks them).
    """
    return order[np.argsort(-row[order], kind="stable")]


_tie_order = tie_order  # old private name, kept for code that imported it


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
class _Plan:
    """Everything about ids, qrels and exclusions that the chunked loops need."""

    query_ids: list
    doc_ids: list
    # per query (same order as query_ids)
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
            order = tie_order(self.doc_ids)
            pos = np.empty(len(order), dtype=np.int64)
            pos[order] = np.arange(len(order))
            self._tie_pos = pos
        return self._tie_pos


def _plan(
    query_ids, doc_ids, qrels, exclude, *, need_judged: bool = False, judged_cols: bool = False
) -> _Plan:
    query_ids = _as_id_list(query_ids, "query_ids")
    doc_ids = _as_id_list(doc_ids, "doc_ids")
    if not isinstance(qrels, Mapping):
        raise TypeError(f"qrels must be a dict {{query_id: {{doc_id: grade}}}}, got {type(qrels)}")
    if exclude is not None and not isinstance(exclude, Mapping):
        raise TypeError(f"exclude must be a dict {{query_id: set(doc_ids)}}, got {type(exclude)}")
    col = {d: j for j, d in enumerate(doc_ids)}
    plan = _Plan(
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


# ----------------------------------------------------------------------------- chunked scoring


def _blocks(
    rows: np.ndarray, get_block, plan: _Plan, chunk_size: int, check_nan: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(rows, block)``: score rows of those queries, excluded docs set to -inf.

    ``get_block(rows)`` returns a fresh float32/float64 array of at most ``chunk_size`` rows.
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


def _matrix_getter(arr: np.ndarray, plan: _Plan):
    def get(rows: np.ndarray) -> np.ndarray:
        return np.asarray(arr[rows])  # fancy indexing copies only these rows

    return get


def _embedding_getter(q: np.ndarray, d: np.ndarray):
    def get(rows: np.ndarray) -> np.ndarray:
        return q[rows] @ d.T

    return get


def _row_ranks(
    row: np.ndarray, rel_cols: np.ndarray, excluded_cols: np.ndarray, plan: _Plan
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


def _compute_ranks(plan: _Plan, rows: np.ndarray, get_block, chunk_size: int, check_nan: bool):
    """Ranks and scores of the relevant in-corpus docs of each query in ``rows``.

    With ``plan.judged_cols`` set, also the ranks of every judged in-corpus doc (for
    ``judged@k``), from the same score blocks.
    """
    ranks: dict[int, np.ndarray] = {}
    scores: dict[int, np.ndarray] = {}
    judged_ranks: dict[int, np.ndarray] = {}
    for r, block in _blocks(rows, get_block, plan, chunk_size, check_nan):
        for i, q in enumerate(r):
            rp = plan.rel_cols[q]
            if len(rp):
                ranks[q] = _row_ranks(block[i], rp, plan.excluded_cols[q], plan)
                scores[q] = block[i, rp].astype(np.float64)
            if plan.judged_cols is not None and len(plan.judged_cols[q]):
                jc = plan.judged_cols[q]
                judged_ranks[q] = _row_ranks(block[i], jc, plan.excluded_cols[q], plan)
    return ranks, scores, judged_ranks


# ----------------------------------------------------------------------------- metrics


def _metrics_from_ranks(rank_lists, grade_lists, ideal_lists, ks, gain) -> dict[str, np.ndarray]:
    """Vectorised metrics over queries from padded rank/grade arrays."""
    n = len(rank_lists)
    m = max([len(r) for r in rank_lists] + [1])
    mi = max(len(g) for g in ideal_lists)
    R = np.full((n, m), np.inf)
    G = np.zeros((n, m))
    Gi = np.zeros((n, max(mi, 1)))
    for i, (r, g, gi) in enumerate(zip(rank_lists, grade_lists, ideal_lists, strict=True)):
        o = np.argsort(r, kind="stable")
        R[i, : len(r)] = r[o]
        G[i, : len(r)] = gain(g[o])
        Gi[i, : len(gi)] = np.sort(gain(gi))[::-1]
    n_rel = np.array([len(g) for g in ideal_lists], dtype=np.float64)
    discount = 1.0 / np.log2(R + 1.0)  # 0 for padding (rank inf)
    ideal_discount = 1.0 / np.log2(np.arange(Gi.shape[1]) + 2.0)
    position = np.arange(1, m + 1, dtype=np.float64)  # i-th relevant doc in rank order
    out: dict[str, np.ndarray] = {}
    for k in ks:
        in_k = R <= k
        hits = in_k.sum(axis=1)
        first = R[:, 0]
        out[f"mrr@{k}"] = np.where(first <= k, 1.0 / first, 0.0)
        out[f"recall@{k}"] = hits / n_rel
        out[f"precision@{k}"] = hits / float(k)
        dcg = np.where(in_k, G * discount, 0.0).sum(axis=1)
        kk = min(k, Gi.shape[1])
        idcg = (Gi[:, :kk] * ideal_discount[:kk]).sum(axis=1)
        out[f"ndcg@{k}"] = dcg / idcg
        out[f"map@{k}"] = np.where(in_k, position / R, 0.0).sum(axis=1) / n_rel
        out[f"hit@{k}"] = (hits > 0).astype(np.float64)
    return out


def _evaluate(
    plan: _Plan, get_block, ks, gains, chunk_size, check_nan: bool = True
) -> tuple[dict, pd.DataFrame]:
    ks = _check_ks(ks)
    gain = _gain_fn(gains)
    n_q = len(plan.query_ids)
    evaluated = np.array([len(g) > 0 for g in plan.all_grades], dtype=bool)
    skipped = [plan.query_ids[i] for i in np.flatnonzero(~evaluated)]
    if not evaluated.any():
        raise ValueError(
            f"none of the {n_q} queries in query_ids has a relevant document (grade >= 1) in "
            "qrels after exclusions; check that qrels uses the same query ids"
        )
    n_missing = sum(len(plan.all_grades[i]) - len(plan.rel_cols[i]) for i in range(n_q))
    n_present = sum(len(plan.rel_cols[i]) for i in range(n_q))
    if n_present == 0:
        ex_q = plan.query_ids[int(np.flatnonzero(evaluated)[0])]
        raise ValueError(
            "none of the relevant documents in qrels occurs in doc_ids (e.g. query "
            f"{ex_q!r}); check that qrels and doc_ids use the same id type"
        )
    if n_missing:
        warnings.warn(
            f"{n_missing} relevant (query, doc) pairs name docs that are not in doc_ids; they "
            "count as relevant but never retrieved (as trec_eval does)",
            stacklevel=3,
        )
    has_cols = np.array([len(p) > 0 for p in plan.rel_cols])
    if plan.judged_cols is not None:  # judged@k also needs queries whose relevant docs are absent
        has_cols |= np.array([len(p) > 0 for p in plan.judged_cols])
    rows = np.flatnonzero(evaluated & has_cols)
    ranks, scores, judged_ranks = _compute_ranks(plan, rows, get_block, chunk_size, check_nan)
    ev = np.flatnonzero(evaluated)
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0, dtype=np.float64)
    rank_lists = [ranks.get(q, empty_i) for q in ev]
    score_lists = [scores.get(q, empty_f) for q in ev]
    per_metric = _metrics_from_ranks(
        rank_lists, [plan.rel_grades[q] for q in ev], [plan.all_grades[q] for q in ev], ks, gain
    )
    sorted_docs, sorted_ranks, sorted_scores, first = [], [], [], []
    for q, r, s in zip(ev, rank_lists, score_lists, strict=True):
        o = np.argsort(r, kind="stable")
        sorted_docs.append([plan.rel_docs[q][i] for i in o])
        sorted_ranks.append([int(x) for x in r[o]])
        sorted_scores.append([float(x) for x in s[o]])
        first.append(int(r[o[0]]) if len(r) else pd.NA)
    table = pd.DataFrame(
        {
            "query_id": [plan.query_ids[q] for q in ev],
            "n_relevant": [len(plan.all_grades[q]) for q in ev],
            "first_relevant_rank": pd.array(first, dtype="Int64"),
            "relevant_doc_ids": sorted_docs,
            "relevant_ranks": sorted_ranks,
            "relevant_scores": sorted_scores,
        }
    )
    if plan.judged_cols is not None:
        n_ranked = np.array(
            [len(plan.doc_ids) - len(plan.excluded_cols[q]) for q in ev], dtype=np.float64
        )
        for k in ks:
            in_top = np.array(
                [np.count_nonzero(judged_ranks.get(q, empty_i) <= k) for q in ev], dtype=np.float64
            )
            # ir_measures divides by min(k, documents ranked); nothing ranked -> 0, not 0/0
            denom = np.minimum(float(k), n_ranked)
            per_metric[f"judged@{k}"] = np.divide(
                in_top, denom, out=np.zeros_like(in_top), where=denom > 0
            )
    summary: dict[str, float] = {}
    names = (*METRIC_NAMES, "judged") if plan.judged_cols is not None else METRIC_NAMES
    for name in names:
        for k in ks:
            key = f"{name}@{k}"
            table[key] = per_metric[key]
            summary[key] = float(per_metric[key].mean())
    summary["n_queries"] = int(len(ev))
    summary["n_queries_skipped"] = int(len(skipped))
    table.attrs["skipped_query_ids"] = skipped
    return summary, table


def retrieval_metrics(
    scores: Any,
    qrels: Mapping[Hashable, Mapping[Hashable, float]],
    *,
    query_ids: Sequence[Hashable],
    doc_ids: Sequence[Hashable],
    ks: Sequence[int] = DEFAULT_KS,
    exclude: Mapping[Hashable, Any] | None = None,
    gains: str = "linear",
    chunk_size: int | None = None,
    judged: bool = False,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Rank every document for every query and compute trec_eval/ranx retrieval metrics.

    Args:
        scores: ``n_queries x n_docs`` similarity matrix (numpy array, memmap or CPU tensor);
            row i is ``query_ids[i]``, column j is ``doc_ids[j]``; higher is better. NaN and
            ``+inf`` in the row of a scored query are rejected; ``-inf`` is allowed. It is read
            one query chunk at a time in its own dtype (never converted as a whole).
        qrels: ``{query_id: {doc_id: grade}}``; grade ``>= 1`` is relevant, ``0`` judged
            non-relevant. A set of doc ids is read as grade 1 for each. Queries of ``qrels``
            that are not in ``query_ids`` are ignored.
        query_ids: Unique query ids, one per row of ``scores``.
        doc_ids: Unique doc ids, one per column of ``scores``.
        ks: Cut-offs; every metric is reported at each.
        exclude: ``{query_id: doc_ids}`` that must not be retrieved for that query (e.g. the
            query's own source document). They are removed from the ranking (no document is
            ranked behind them) and from the query's qrels, so an excluded relevant document
            no longer counts in recall, MAP or the ideal DCG.
        gains: ``"linear"`` (gain = grade, trec_eval/ranx ``ndcg``) or ``"exponential"``
            (gain = 2**grade - 1, ranx ``ndcg_burges``).
        chunk_size: Queries scored per chunk; ``None`` picks ``max(1, 2**25 // n_docs)``
            (about 128 MiB of float32 per chunk).
        judged: Also report ``judged@k`` at every k: the share of the top k that has any
            judgment in ``qrels`` (grade 0 included; ir_measures' ``Judged@k``, see the
            module docstring). Pass qrels *with* the judged-non-relevant pairs.

    Returns:
        ``(summary, per_query)``. ``summary`` is a flat dict with ``mrr@k``, ``recall@k``,
        ``precision@k``, ``ndcg@k``, ``map@k`` and ``hit@k`` for every k (means over the
        evaluated queries) plus ``n_queries`` (evaluated) and ``n_queries_skipped`` (no relevant
        document). ``per_query`` has one row per evaluated query: ``query_id``,
        ``n_relevant`` (including relevant docs missing from the corpus),
        ``first_relevant_rank`` (nullable Int64), ``relevant_doc_ids``, ``relevant_ranks`` and
        ``relevant_scores`` (lists sorted by rank; ranks are exact, not capped at max k) and
        one column per metric; ``per_query.attrs["skipped_query_ids"]`` lists skipped queries.

    Raises:
        ValueError: Shapes disagree with the ids, ids repeat, NaN or +inf scores, bad grades or ks,
            or no query has a relevant document.

    Example:
        >>> import numpy as np
        >>> s = np.array([[0.2, 0.9, 0.4], [0.7, 0.1, 0.3]])
        >>> qrels = {"a": {"x": 1, "z": 2}, "b": {"y": 1}}
        >>> summary, table = retrieval_metrics(
        ...     s, qrels, query_ids=["a", "b"], doc_ids=["x", "y", "z"], ks=(1, 3)
        ... )
        >>> summary["hit@1"], table["relevant_ranks"].tolist()
        (0.0, [[2, 3], [3]])
    """
    plan = _plan(query_ids, doc_ids, qrels, exclude, judged_cols=_check_flag(judged, "judged"))
    arr = _check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    chunk = _auto_chunk(len(plan.doc_ids), chunk_size)
    return _evaluate(plan, _matrix_getter(arr, plan), ks, gains, chunk)


def retrieval_metrics_from_embeddings(
    query_emb: Any,
    doc_emb: Any,
    qrels: Mapping[Hashable, Mapping[Hashable, float]],
    *,
    query_ids: Sequence[Hashable],
    doc_ids: Sequence[Hashable],
    ks: Sequence[int] = DEFAULT_KS,
    exclude: Mapping[Hashable, Any] | None = None,
    gains: str = "linear",
    similarity: str = "cosine",
    chunk_size: int | None = None,
    zero_rows: str = "raise",
    judged: bool = False,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Retrieval metrics straight from embeddings, scoring query chunks on the fly.

    Scores are float32 dot products (after L2 normalisation for ``"cosine"``), computed one
    chunk of queries at a time, so 10k queries x 1M docs never materialise the full matrix.
    Metrics, tie rule and outputs are those of :func:`retrieval_metrics`.

    Args:
        query_emb: ``n_queries x dim`` array or tensor, rows follow ``query_ids``.
        doc_emb: ``n_docs x dim`` array or tensor, rows follow ``doc_ids``.
        qrels: ``{query_id: {doc_id: grade}}`` as in :func:`retrieval_metrics`.
        query_ids: Unique query ids.
        doc_ids: Unique doc ids.
        ks: Cut-offs.
        exclude: Per-query docs removed from the ranking and the qrels.
        gains: ``"linear"`` or ``"exponential"`` nDCG gains.
        similarity: ``"cosine"`` (default; rows are L2-normalised in float32) or ``"dot"``.
        chunk_size: Queries per chunk; ``None`` picks ``min(1024, max(1, 2**25 // n_docs))``.
            Memory bound: the embeddings themselves (for ``"cosine"`` plus one normalised
            float32 copy of each; ``"dot"`` uses float32 input as is) plus about
            ``2 x chunk_size x n_docs x 4`` bytes for a score block and its comparisons
            (~256 MiB with the default chunk, whatever the number of queries) and a few
            integers per relevant doc. Measured (``benchmarks/bench_scale.py --steps
            metrics``, 2026-12-02): 2,000 queries x 1,000,000 docs x 512-d, ``"dot"``: peak
            RSS 2.31 GiB, of which 1.91 GiB are the doc vectors; 10,000 queries add 20 MiB of
            query vectors, not another block.
        zero_rows: For ``"cosine"``: ``"raise"`` (default) refuses an all-zero row, whose
            cosine is undefined; ``"keep"`` applies the toolkit's zero-vector policy (see
            :mod:`toolkit._validation`): the row stays zero and scores 0 against everything,
            as :mod:`toolkit.evaluation` does for every system.
        judged: Also report ``judged@k`` (see :func:`retrieval_metrics`).

    Returns:
        ``(summary, per_query)`` exactly as :func:`retrieval_metrics`.

    Example:
        >>> import numpy as np
        >>> q = np.eye(2, dtype=np.float32)
        >>> summary, _ = retrieval_metrics_from_embeddings(
        ...     q, q, {0: {0: 1}, 1: {1: 1}}, query_ids=[0, 1], doc_ids=[0, 1], ks=(1,)
        ... )
        >>> summary["mrr@1"]
        1.0
    """
    plan = _plan(query_ids, doc_ids, qrels, exclude, judged_cols=_check_flag(judged, "judged"))
    q = _as_float32_matrix(query_emb, "query_emb")
    d = _as_float32_matrix(doc_emb, "doc_emb")
    if q.shape[0] != len(plan.query_ids):
        raise ValueError(f"query_emb has {q.shape[0]} rows but {len(plan.query_ids)} query_ids")
    if d.shape[0] != len(plan.doc_ids):
        raise ValueError(f"doc_emb has {d.shape[0]} rows but {len(plan.doc_ids)} doc_ids")
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"query_emb dim {q.shape[1]} != doc_emb dim {d.shape[1]}")
    if similarity not in ("cosine", "dot"):
        raise ValueError(f"similarity must be 'cosine' or 'dot', got {similarity!r}")
    if similarity == "cosine":
        q = unit_rows(q, "query_emb", zero_rows=zero_rows)
        d = unit_rows(d, "doc_emb", zero_rows=zero_rows)  # float32 copies; "dot" uses input as is
    chunk = _auto_chunk(len(plan.doc_ids), chunk_size, cap=1024)
    # finite inputs were checked, so the float32 scores hold no NaN: skip that per-chunk pass
    return _evaluate(plan, _embedding_getter(q, d), ks, gains, chunk, check_nan=False)


# ----------------------------------------------------------------------------- statistics


def _as_values(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per query), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    bad = np.flatnonzero(~np.isfinite(arr))
    if len(bad):
        raise ValueError(
            f"{name}[{bad[0]}] = {arr[bad[0]]}: values must be finite "
            "(drop skipped queries before resampling)"
        )
    return arr


def _bootstrap_means(x: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    means = np.empty(n_resamples)
    step = max(1, 2**22 // n)  # bound the index matrix to ~32 MiB
    for start in range(0, n_resamples, step):
        stop = min(start + step, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = x[idx].mean(axis=1)
    return means


def bootstrap_ci(
    values: Any, *, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Percentile bootstrap confidence interval of the mean over queries.

    Plain numpy (not ``scipy.stats.bootstrap``) so the resampling is explicit: each of
    ``n_resamples`` resamples draws ``n`` query indices with replacement from
    ``numpy.random.default_rng(seed)``; the interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the resampled means.

    Args:
        values: One finite value per query (e.g. ``per_query["ndcg@10"]``).
        n_resamples: Number of bootstrap resamples.
        confidence: Two-sided confidence level.
        seed: Seed of the resampling generator; the same seed gives the same interval.

    Returns:
        ``{"mean", "low", "high", "n"}`` where ``n`` is the number of queries.

    Example:
        >>> ci = bootstrap_ci([0.0, 1.0, 1.0, 0.5])
        >>> ci["mean"], ci["n"], ci["low"] <= ci["mean"] <= ci["high"]
        (0.625, 4, True)
    """
    x = _as_values(values, "values")
    check_resampling(n_resamples, confidence)
    means = _bootstrap_means(x, n_resamples, np.random.default_rng(seed))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return {"mean": float(x.mean()), "low": float(low), "high": float(high), "n": int(len(x))}


def paired_test(
    a: Any, b: Any, *, n_resamples: int = 10000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Two-sided paired randomisation (sign-flip) test of ``mean(a - b)`` over queries.

    Under the null hypothesis the two systems are exchangeable per query, so each
    difference ``a_i - b_i`` keeps or flips its sign with probability 1/2. The p-value is
    ``(1 + #{|mean(flipped)| >= |mean(d)|}) / (1 + n_resamples)`` (the +1 correction keeps
    it a valid, never-zero p-value). The interval is a paired percentile bootstrap of the
    mean difference (queries resampled with replacement), from the same seeded generator.

    Args:
        a: Per-query values of system A (same queries, same order as ``b``). Two pandas
            Series must share their index.
        b: Per-query values of system B.
        n_resamples: Sign-flip permutations and bootstrap resamples.
        confidence: Confidence level of the interval of the difference.
        seed: Seed of ``numpy.random.default_rng``.

    Returns:
        ``{"diff", "low", "high", "p_value", "n"}`` with ``diff = mean(a - b)``.

    Example:
        >>> out = paired_test([0.5, 0.7, 0.9, 0.8], [0.5, 0.7, 0.9, 0.8])
        >>> out["diff"], out["p_value"], out["n"]
        (0.0, 1.0, 4)
    """
    if isinstance(a, pd.Series) and isinstance(b, pd.Series) and not a.index.equals(b.index):
        raise ValueError("a and b are Series with different indexes; align them on query_id")
    x = _as_values(a, "a")
    y = _as_values(b, "b")
    if len(x) != len(y):
        raise ValueError(f"a has {len(x)} values but b has {len(y)}; the test is paired")
    check_resampling(n_resamples, confidence)
    d = x - y
    n = len(d)
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    count = 0
    step = max(1, 2**22 // n)
    tol = 1e-12 * max(1.0, observed)
    for start in range(0, n_resamples, step):
        m = min(step, n_resamples - start)
        signs = rng.integers(0, 2, size=(m, n)) * 2 - 1
        flipped = np.abs((signs * d).mean(axis=1))
        count += int(np.count_nonzero(flipped >= observed - tol))
    p = (count + 1) / (n_resamples + 1)
    means = _bootstrap_means(d, n_resamples, rng)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return {
        "diff": float(d.mean()),
        "low": float(low),
        "high": float(high),
        "p_value": float(p),
        "n": int(n),
    }


def holm(p_values: Any) -> np.ndarray:
    """Holm-adjusted p-values of several tests of one family (e.g. every system vs one).

    Holm (1979), "A simple sequentially rejective multiple test procedure", Scand. J. Statist.
    6: 65-70. With the ``m`` p-values sorted ascending, the i-th (0-based) is multiplied by
    ``m - i``, a running maximum keeps the order, and values are capped at 1. Rejecting where
    the adjusted p-value is below alpha controls the family-wise error rate at alpha under any
    dependence between the tests. Written by hand because statsmodels
    (``multipletests(method="holm")``) is not a dependency of the toolkit; it is five lines.

    Args:
        p_values: One p-value in [0, 1] per test (NaN entries are left NaN and not counted).

    Returns:
        ``float64`` adjusted p-values in the input order.

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}")
    bad = np.flatnonzero((p < 0) | (p > 1))
    if len(bad):
        raise ValueError(f"p_values[{bad[0]}] = {p[bad[0]]}: a p-value must be in [0, 1]")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    order = idx[np.argsort(p[idx], kind="stable")]  # ascending; ties keep input order
    m = len(order)
    out[order] = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    return out


def aggregate_seeds(results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean, sample standard deviation and count of each metric across seeds or folds.

    Args:
        results: One flat metrics dict per seed/fold (e.g. the summaries of
            :func:`retrieval_metrics`). Non-numeric values (names, paths) are skipped; a
            metric missing from some results is aggregated over those that have it.

    Returns:
        ``{metric: {"mean": ..., "sd": ..., "n": ...}}``; ``sd`` uses ``ddof=1`` and is NaN
        when ``n == 1``.

    Example:
        >>> aggregate_seeds([{"mrr@10": 0.5}, {"mrr@10": 0.7}])["mrr@10"]["n"]
        2
    """
    if isinstance(results, Mapping) or not hasattr(results, "__iter__"):
        raise TypeError("results must be a list of metric dicts")
    collected: dict[str, list[float]] = {}
    for i, res in enumerate(results):
        if not isinstance(res, Mapping):
            raise TypeError(f"results[{i}] must be a dict of metrics, got {type(res).__name__}")
        for key, value in res.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                continue
            collected.setdefault(key, []).append(float(value))
    if not collected:
        raise ValueError("results hold no numeric metric")
    out = {}
    for key, vals in collected.items():
        v = np.asarray(vals)
        out[key] = {
            "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
            "n": int(len(v)),
        }
    return out


# ----------------------------------------------------------------------------- diagnostics


def query_margins(
    scores: Any,
    qrels: Mapping[Hashable, Mapping[Hashable, float]],
    *,
    query_ids: Sequence[Hashable],
    doc_ids: Sequence[Hashable],
    exclude: Mapping[Hashable, Any] | None = None,
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """Per-query margin between the best relevant doc and the hardest non-relevant doc.

    Non-relevant means grade < 1 or unjudged (and not excluded). Ties follow the tie rule of
    :func:`retrieval_metrics`, so ``best_positive_rank`` equals its ``first_relevant_rank``.

    Args:
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        qrels: ``{query_id: {doc_id: grade}}``.
        query_ids: Unique query ids.
        doc_ids: Unique doc ids.
        exclude: Per-query docs left out of the ranking (as in :func:`retrieval_metrics`).
        chunk_size: Queries per chunk (``None``: about 128 MiB per chunk).

    Returns:
        One row per query that has a relevant doc in the corpus: ``query_id``,
        ``best_positive_doc_id``, ``best_positive_score``, ``best_positive_rank``,
        ``hardest_negative_doc_id``, ``hardest_negative_score`` and ``margin``
        (best positive minus hardest negative; > 0 means the query is ranked first). The
        negative columns are NaN/None when every doc is relevant or excluded.

    Example:
        >>> import numpy as np
        >>> m = query_margins(np.array([[0.2, 0.9, 0.4]]), {"q": {"c": 1}},
        ...                   query_ids=["q"], doc_ids=["a", "b", "c"])
        >>> m.loc[0, "hardest_negative_doc_id"], round(float(m.loc[0, "margin"]), 2)
        ('b', -0.5)
    """
    plan = _plan(query_ids, doc_ids, qrels, exclude)
    arr = _check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    chunk = _auto_chunk(len(plan.doc_ids), chunk_size)
    rows = np.flatnonzero([len(p) > 0 for p in plan.rel_cols])
    records = []
    for r, block in _blocks(rows, _matrix_getter(arr, plan), plan, chunk):
        for i, q in enumerate(r):
            row = block[i]
            rp = plan.rel_cols[q]
            ranks = _row_ranks(row, rp, plan.excluded_cols[q], plan)
            b = int(np.argmin(ranks))
            valid = np.ones(len(row), dtype=bool)
            valid[rp] = False
            valid[plan.excluded_cols[q]] = False
            best = float(row[rp[b]])
            if valid.any():
                cand = np.flatnonzero(valid)
                top = row[cand].max()
                tied = cand[row[cand] == top]  # several maxima: first under the tie rule
                h = int(tied[np.argmin(plan.tie_pos[tied])]) if len(tied) > 1 else int(tied[0])
                neg_id, neg_score = plan.doc_ids[h], float(row[h])
            else:
                neg_id, neg_score = None, float("nan")
            records.append(
                {
                    "query_id": plan.query_ids[q],
                    "best_positive_doc_id": plan.rel_docs[q][b],
                    "best_positive_score": best,
                    "best_positive_rank": int(ranks[b]),
                    "hardest_negative_doc_id": neg_id,
                    "hardest_negative_score": neg_score,
                    "margin": best - neg_score,
                }
            )
    columns = [
        "query_id",
        "best_positive_doc_id",
        "best_positive_score",
        "best_positive_rank",
        "hardest_negative_doc_id",
        "hardest_negative_score",
        "margin",
    ]
    return pd.DataFrame.from_records(records, columns=columns)


def pair_similarities(
    scores: Any,
    qrels: Mapping[Hashable, Mapping[Hashable, float]],
    *,
    query_ids: Sequence[Hashable],
    doc_ids: Sequence[Hashable],
    exclude: Mapping[Hashable, Any] | None = None,
    max_negatives: int = 100_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Scores of relevant and non-relevant (query, doc) pairs, for similarity histograms.

    All relevant pairs (grade >= 1, doc in the corpus, not excluded) are kept. Non-relevant
    pairs (grade < 1 or unjudged, not excluded) are all kept when there are at most
    ``max_negatives`` of them; otherwise exactly ``max_negatives`` are drawn uniformly
    without replacement with ``numpy.random.default_rng(seed)``.

    Args:
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        qrels: ``{query_id: {doc_id: grade}}``.
        query_ids: Unique query ids.
        doc_ids: Unique doc ids.
        exclude: Per-query doc ids whose pairs are dropped.
        max_negatives: Cap on the number of non-relevant pairs.
        seed: Seed for sampling non-relevant pairs.

    Returns:
        DataFrame with ``query_id``, ``doc_id``, ``score``, ``relevant`` (bool) and ``grade``
        (NaN when unjudged), ordered by query then doc position.

    Example:
        >>> import numpy as np
        >>> df = pair_similarities(np.array([[0.9, 0.1]]), {"q": {"a": 1}},
        ...                        query_ids=["q"], doc_ids=["a", "b"])
        >>> df["relevant"].tolist()
        [True, False]
    """
    plan = _plan(query_ids, doc_ids, qrels, exclude, need_judged=True)
    arr = _check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    if isinstance(max_negatives, bool) or not isinstance(max_negatives, numbers.Integral):
        raise TypeError(f"max_negatives must be an integer, got {max_negatives!r}")
    if max_negatives < 0:
        raise ValueError(f"max_negatives must be >= 0, got {max_negatives}")
    n_q, n_d = arr.shape
    # relevant and excluded pairs as flat indices row * n_d + col
    rel_flat, skip_flat = [], []
    for q in range(n_q):
        rel_flat.append(q * n_d + plan.rel_cols[q])
        skip_flat.append(q * n_d + plan.excluded_cols[q])
    rel_flat = np.sort(np.concatenate(rel_flat)) if rel_flat else np.zeros(0, np.int64)
    skip = np.union1d(rel_flat, np.concatenate(skip_flat) if skip_flat else [])
    skip = skip.astype(np.int64)
    total = n_q * n_d
    n_neg = total - len(skip)
    if n_neg <= max_negatives:
        neg_flat = np.setdiff1d(np.arange(total, dtype=np.int64), skip, assume_unique=True)
    else:
        rng = np.random.default_rng(seed)
        draw = rng.choice(total, size=min(total, max_negatives + len(skip)), replace=False)
        draw = draw[~np.isin(draw, skip)][:max_negatives]
        neg_flat = np.sort(draw)
    flat = np.concatenate([rel_flat, neg_flat])
    relevant = np.concatenate([np.ones(len(rel_flat), bool), np.zeros(len(neg_flat), bool)])
    o = np.argsort(flat, kind="stable")
    flat, relevant = flat[o], relevant[o]
    r, c = np.divmod(flat, n_d)
    values = np.asarray(arr[r, c], dtype=np.float64)
    nan = np.flatnonzero(np.isnan(values))
    if len(nan):
        i = nan[0]
        raise ValueError(
            f"scores contain NaN for query {plan.query_ids[r[i]]!r} and doc {plan.doc_ids[c[i]]!r}"
        )
    grades = [plan.judged[qi].get(plan.doc_ids[ci], np.nan) for qi, ci in zip(r, c, strict=True)]
    return pd.DataFrame(
        {
            "query_id": [plan.query_ids[i] for i in r],
            "doc_id": [plan.doc_ids[j] for j in c],
            "score": values,
            "relevant": relevant,
            "grade": np.asarray(grades, dtype=np.float64),
        }
    )
