"""Retrieval metrics: trec_eval/ranx metrics of a score matrix or of embeddings.

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

Ranks follow the tie rule of :mod:`toolkit.ranking` (trec_eval's: score descending,
then ``str(doc_id)`` descending) and are exact: the rank of a relevant document is ``1 +``
the number of documents ranked ahead of it, however deep it lies, so the per-query table
can be used for any cut-off.  All ranking metrics are functions of these ranks, so no top-k
list is materialised: scores are processed in query chunks whose memory is bounded by
``chunk_size x n_docs`` and a full float64 ``n_queries x n_docs`` matrix is never built.

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

import numbers
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import as_float32_matrix, check_int, chunk_rows, unit_rows
from toolkit.ranking import (
    RankPlan,
    RowGetter,
    check_scores_matrix,
    embedding_rows,
    matrix_rows,
    rank_plan,
    relevant_ranks,
)

__all__ = ["retrieval_metrics", "retrieval_metrics_from_embeddings"]

METRIC_NAMES = ("mrr", "recall", "precision", "ndcg", "map", "hit")
DEFAULT_KS = (1, 3, 5, 10, 100)


# ----------------------------------------------------------------------------- arguments


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    if isinstance(ks, numbers.Integral):
        ks = (ks,)
    out = [check_int(k, f"ks[{i}]") for i, k in enumerate(ks)]
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



def _evaluated_queries(plan: RankPlan) -> np.ndarray:
    """Mask of the queries with a relevant document; raise when nothing can be scored.

    Warns when relevant documents are missing from the corpus (they count, never retrieved).
    """
    n_q = len(plan.query_ids)
    evaluated = np.array([len(g) > 0 for g in plan.all_grades], dtype=bool)
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
            stacklevel=4,
        )
    return evaluated


def _per_query_table(
    plan: RankPlan, ev: np.ndarray, rank_lists: list, score_lists: list
) -> pd.DataFrame:
    """The per-query columns before the metrics: ids, counts and the relevant docs by rank."""
    sorted_docs, sorted_ranks, sorted_scores, first = [], [], [], []
    for q, r, s in zip(ev, rank_lists, score_lists, strict=True):
        o = np.argsort(r, kind="stable")
        sorted_docs.append([plan.rel_docs[q][i] for i in o])
        sorted_ranks.append([int(x) for x in r[o]])
        sorted_scores.append([float(x) for x in s[o]])
        first.append(int(r[o[0]]) if len(r) else pd.NA)
    return pd.DataFrame(
        {
            "query_id": [plan.query_ids[q] for q in ev],
            "n_relevant": [len(plan.all_grades[q]) for q in ev],
            "first_relevant_rank": pd.array(first, dtype="Int64"),
            "relevant_doc_ids": sorted_docs,
            "relevant_ranks": sorted_ranks,
            "relevant_scores": sorted_scores,
        }
    )


def _judged_at_k(
    plan: RankPlan, ev: np.ndarray, judged_ranks: dict[int, np.ndarray], ks: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """``judged@k`` per evaluated query: judged docs in the top k / min(k, docs ranked)."""
    empty_i = np.zeros(0, dtype=np.int64)
    n_ranked = np.array(
        [len(plan.doc_ids) - len(plan.excluded_cols[q]) for q in ev], dtype=np.float64
    )
    out = {}
    for k in ks:
        in_top = np.array(
            [np.count_nonzero(judged_ranks.get(q, empty_i) <= k) for q in ev], dtype=np.float64
        )
        # ir_measures divides by min(k, documents ranked); nothing ranked -> 0, not 0/0
        denom = np.minimum(float(k), n_ranked)
        out[f"judged@{k}"] = np.divide(in_top, denom, out=np.zeros_like(in_top), where=denom > 0)
    return out


def _evaluate(
    plan: RankPlan, get_block: RowGetter, ks, gains, chunk_size, check_nan: bool = True
) -> tuple[dict, pd.DataFrame]:
    ks = _check_ks(ks)
    gain = _gain_fn(gains)
    evaluated = _evaluated_queries(plan)
    skipped = [plan.query_ids[i] for i in np.flatnonzero(~evaluated)]
    has_cols = np.array([len(p) > 0 for p in plan.rel_cols])
    if plan.judged_cols is not None:  # judged@k also needs queries whose relevant docs are absent
        has_cols |= np.array([len(p) > 0 for p in plan.judged_cols])
    rows = np.flatnonzero(evaluated & has_cols)
    ranks, scores, judged_ranks = relevant_ranks(plan, rows, get_block, chunk_size, check_nan)
    ev = np.flatnonzero(evaluated)
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0, dtype=np.float64)
    rank_lists = [ranks.get(q, empty_i) for q in ev]
    score_lists = [scores.get(q, empty_f) for q in ev]
    per_metric = _metrics_from_ranks(
        rank_lists, [plan.rel_grades[q] for q in ev], [plan.all_grades[q] for q in ev], ks, gain
    )
    table = _per_query_table(plan, ev, rank_lists, score_lists)
    names = METRIC_NAMES
    if plan.judged_cols is not None:
        per_metric.update(_judged_at_k(plan, ev, judged_ranks, ks))
        names = (*METRIC_NAMES, "judged")
    summary: dict[str, float] = {}
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
    plan = rank_plan(query_ids, doc_ids, qrels, exclude, judged_cols=_check_flag(judged, "judged"))
    arr = check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    chunk = chunk_rows(len(plan.doc_ids), chunk_size)
    return _evaluate(plan, matrix_rows(arr), ks, gains, chunk)


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
    plan = rank_plan(query_ids, doc_ids, qrels, exclude, judged_cols=_check_flag(judged, "judged"))
    q = as_float32_matrix(query_emb, "query_emb")
    d = as_float32_matrix(doc_emb, "doc_emb")
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
    chunk = chunk_rows(len(plan.doc_ids), chunk_size, cap=1024)
    # finite inputs were checked, so the float32 scores hold no NaN: skip that per-chunk pass
    return _evaluate(plan, embedding_rows(q, d), ks, gains, chunk, check_nan=False)
