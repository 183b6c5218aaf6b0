"""Embedding-space diagnostics: neighbours, hubs, anisotropy, margins, pair similarities.

What the embedding space looks like, independent of one retrieval metric:

* :func:`nearest_titles`, :func:`neighbour_agreement` -- nearest titles and how often they
  share a label (topic, IPC section); :func:`neighbour_agreement_chance` -- the same
  statistic with the labels permuted (its chance level). Neighbours are selected with
  :func:`toolkit.ranking.top_k` (score descending, ties to the lower index);
* :func:`auc_bootstrap` -- AUC of relevant vs non-relevant pair scores with a CI from a
  bootstrap over queries;
* :func:`hubness`, :func:`anisotropy` -- hubs of the kNN graph and the narrow-cone effect;
* :func:`query_margins`, :func:`pair_similarities` -- best relevant vs hardest non-relevant
  score per query, and the score distributions of relevant and non-relevant pairs. They rank
  with the retrieval metrics' tie rule (:mod:`toolkit.ranking`);
* :func:`failure_types` -- each wrong top-1 title as a near miss (a relevant title's topic),
  a lexical lure (another topic, a stem shared with the query: :func:`toolkit.lexical.stems`) or
  other; :func:`by_topic` -- a metric's mean per topic and system, with its n.

All cosine computations refuse all-zero rows (they have no direction); see
:mod:`toolkit._validation` for the toolkit's zero-vector policy.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import (
    as_float32_matrix,
    check_int,
    check_resampling,
    chunk_rows,
    unit_rows,
)
from toolkit.lexical import stems as lexical_stems
from toolkit.ranking import (
    RankPlan,
    check_scores_matrix,
    matrix_rows,
    rank_plan,
    row_ranks,
    score_blocks,
    top_k,
)
from toolkit.stats import bootstrap_ci

__all__ = [
    "FAILURE_TYPES",
    "anisotropy",
    "auc_bootstrap",
    "by_topic",
    "failure_types",
    "hubness",
    "nearest_titles",
    "neighbour_agreement",
    "neighbour_agreement_chance",
    "pair_similarities",
    "query_margins",
]


def _l2_normalise(arr: np.ndarray, name: str) -> np.ndarray:
    return unit_rows(arr, name, zero_rows="raise").astype(np.float32, copy=False)


def nearest_titles(
    emb: Any,
    texts: Sequence[str],
    *,
    rows: Sequence[int],
    k: int = 3,
    max_chars: int | None = 60,
) -> pd.DataFrame:
    """The ``k`` nearest other titles (cosine) of some titles, one row per (title, neighbour).

    Args:
        emb: ``n x dim`` L2-normalised embeddings of ``texts``.
        texts: The titles.
        rows: Positions of the titles to look up.
        k: Neighbours per title (the title itself is excluded; ties go to the lower position).
        max_chars: Cut texts to this many characters (``None``: whole).

    Returns:
        Columns ``title``, ``neighbour``, ``rank`` (1..k), ``cosine``.
    """
    x = np.asarray(emb, dtype=np.float32)
    if x.shape[0] != len(texts):
        raise ValueError(f"emb has {x.shape[0]} rows but texts has {len(texts)} entries")
    k = check_int(k, "k", maximum=len(texts) - 1)
    max_chars = check_int(max_chars, "max_chars", allow_none=True)

    def cut(t: str) -> str:
        t = " ".join(t.split())
        return t if max_chars is None or len(t) <= max_chars else t[: max_chars - 1] + "…"

    records = []
    for r in rows:
        sims = x @ x[r]
        sims[r] = -np.inf
        nn = top_k(sims[None, :], k)[0]
        for rank, j in enumerate(nn, start=1):
            records.append(
                {"title": cut(texts[r]), "neighbour": cut(texts[j]), "rank": rank,
                 "cosine": float(sims[j])}
            )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=["title", "neighbour", "rank", "cosine"])


def neighbour_agreement(emb: Any, labels: Sequence[Any], *, k: int = 3) -> float:
    """Share of the ``k`` nearest neighbours (cosine) that carry the same label as the point.

    A simple purity check of the space: with topic or IPC labels, how often a title's
    nearest titles are about the same thing. Points whose label is ``None`` are neither
    scored nor counted as neighbours' matches (a neighbour without a label is a mismatch).

    Args:
        emb: ``n x dim`` L2-normalised embeddings.
        labels: One label per row (``None`` = unknown).
        k: Neighbours per point (the point itself excluded; ties go to the lower position).

    Returns:
        The mean over labelled points of (same-label neighbours / ``k``).

    Example:
        >>> import numpy as np
        >>> neighbour_agreement(np.eye(3)[[0, 0, 1, 1]], ["a", "a", "b", "b"], k=1)
        1.0
    """
    labels = list(labels)
    neighbours = _neighbours(emb, labels, k)
    scores = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        scores.append(sum(labels[j] == label for j in neighbours[i]) / k)
    if not scores:
        raise ValueError("labels are all None")
    return float(np.mean(scores))


def _neighbours(emb: Any, labels: list, k: int) -> np.ndarray:
    x = np.asarray(emb, dtype=np.float32)
    if x.shape[0] != len(labels):
        raise ValueError(f"emb has {x.shape[0]} rows but labels has {len(labels)} entries")
    k = check_int(k, "k", maximum=len(labels) - 1)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return top_k(sims, k)


def neighbour_agreement_chance(
    emb: Any, labels: Sequence[Any], *, k: int = 3, n_permutations: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Chance level of :func:`neighbour_agreement`: the same statistic with labels permuted.

    The neighbour graph is computed once from ``emb``; the labels are then shuffled over the
    points ``n_permutations`` times (``numpy.random.default_rng(seed)``) and the agreement
    recomputed. Permuting keeps each label's frequency, so a corpus with a few large classes
    gets the high chance level it deserves; the spread (sd) says how far above chance an
    observed agreement must be to mean anything. The exact expectation under permutation is
    also returned: a labelled point's neighbour is another point drawn without replacement,
    so ``expected = sum_c n_c (n_c - 1) / (n_labelled (n - 1))`` (the ``sum p_c^2`` of large
    samples, corrected for excluding the point itself); the permutation mean must match it.

    Args:
        emb: ``n x dim`` L2-normalised embeddings.
        labels: One label per row (``None`` = unknown, as in :func:`neighbour_agreement`).
        k: Neighbours per point.
        n_permutations: Label permutations.
        seed: Seed of the permutations.

    Returns:
        ``{"mean", "sd", "expected", "n_permutations"}`` (sd: sample standard deviation over
        the permutations).

    Example:
        >>> import numpy as np
        >>> out = neighbour_agreement_chance(np.eye(4), ["a", "a", "b", "b"], k=1)
        >>> round(out["expected"], 4)
        0.3333
    """
    labels = list(labels)
    neighbours = _neighbours(emb, labels, k)
    n_permutations = check_int(n_permutations, "n_permutations", minimum=2)  # 2 for an sd
    # labels as integer codes; None is -1 (never scored, never a match)
    codes = pd.factorize(pd.Series(labels, dtype=object))[0]
    if not (codes >= 0).any():
        raise ValueError("labels are all None")
    rng = np.random.default_rng(seed)
    stats = np.empty(n_permutations)
    for i in range(n_permutations):
        c = codes[rng.permutation(len(codes))]
        scored = c >= 0
        stats[i] = (c[neighbours] == c[:, None])[scored].mean()
    counts = np.bincount(codes[codes >= 0]).astype(np.float64)
    n = len(codes)
    expected = float((counts * (counts - 1)).sum() / (counts.sum() * (n - 1)))
    return {
        "mean": float(stats.mean()),
        "sd": float(stats.std(ddof=1)),
        "expected": expected,
        "n_permutations": int(n_permutations),
    }


def _weighted_auc(
    order: np.ndarray, groups: np.ndarray, relevant: np.ndarray, weights: np.ndarray
) -> float:
    """AUC (Mann-Whitney, ties count 1/2) of pairs weighted by ``weights``.

    ``order`` sorts the pairs by score ascending and ``groups`` numbers the distinct scores
    in that order (equal scores share a group), so one pass counts, for every relevant pair,
    the non-relevant weight strictly below it plus half the weight tied with it.
    """
    w = weights[order]
    rel = relevant[order]
    n_groups = int(groups[-1]) + 1
    pos = np.bincount(groups, weights=np.where(rel, w, 0.0), minlength=n_groups)
    neg = np.bincount(groups, weights=np.where(rel, 0.0, w), minlength=n_groups)
    w_pos, w_neg = pos.sum(), neg.sum()
    if w_pos == 0 or w_neg == 0:
        return np.nan
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (w_pos * w_neg))


def auc_bootstrap(
    pairs: pd.DataFrame,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """AUC of relevant vs non-relevant pair scores, with a bootstrap CI over queries.

    The AUC is the chance that a random relevant (query, title) pair outscores a random
    non-relevant one (ties count 1/2; the same number as
    ``sklearn.metrics.roc_auc_score(pairs.relevant, pairs.score)``). Pairs of one query are
    not independent (they share the query's vector), so the interval resamples *queries*
    with replacement and recomputes the AUC from all pairs of the drawn queries (a query
    drawn twice counts twice): a pair-level bootstrap over tens of thousands of pairs would
    give a far too narrow interval. Percentile interval, ``numpy.random.default_rng(seed)``.
    Hand-written rather than ``scipy.stats.bootstrap`` because the statistic needs the
    query clusters; each resample is one weighted pass over the pairs sorted once.

    Args:
        pairs: :func:`pair_similarities` output (columns ``query_id``, ``score``,
            ``relevant``).
        n_resamples: Bootstrap resamples.
        confidence: Two-sided confidence level.
        seed: Seed of the resampling.

    Returns:
        ``{"auc", "low", "high", "n_queries", "n_pairs", "n_relevant", "samples"}``:
        ``samples`` holds the resampled AUCs (NaN for a resample without a relevant or
        without a non-relevant pair; the interval ignores those).

    Raises:
        ValueError: A missing column, no relevant or no non-relevant pair, a NaN score.

    Example:
        >>> import pandas as pd
        >>> p = pd.DataFrame({"query_id": ["a", "a", "b", "b"], "score": [0.9, 0.1, 0.8, 0.2],
        ...                   "relevant": [True, False, True, False]})
        >>> out = auc_bootstrap(p, n_resamples=50)
        >>> out["auc"], out["low"], out["high"], out["n_queries"]
        (1.0, 1.0, 1.0, 2)
    """
    missing = [
        c for c in ("query_id", "score", "relevant") if c not in getattr(pairs, "columns", ())
    ]
    if missing:
        raise ValueError(f"pairs: missing column(s) {missing}; pass pair_similarities' output")
    check_resampling(n_resamples, confidence)
    score = pairs["score"].to_numpy(dtype=np.float64)
    relevant = pairs["relevant"].to_numpy(dtype=bool)
    bad = np.flatnonzero(~np.isfinite(score))
    if len(bad):
        raise ValueError(f"pairs: score at row {bad[0]} is {score[bad[0]]}; scores must be finite")
    if relevant.all() or not relevant.any():
        raise ValueError("pairs: the AUC needs both relevant and non-relevant pairs")
    qcodes, qids = pd.factorize(pairs["query_id"], sort=False)
    n_q = len(qids)
    order = np.argsort(score, kind="stable")
    s_sorted = score[order]
    groups = np.concatenate([[0], np.cumsum(s_sorted[1:] != s_sorted[:-1])])
    auc = _weighted_auc(order, groups, relevant, np.ones(len(score)))
    rng = np.random.default_rng(seed)
    samples = np.empty(n_resamples)
    for i in range(n_resamples):
        times = np.bincount(rng.integers(0, n_q, size=n_q), minlength=n_q).astype(np.float64)
        samples[i] = _weighted_auc(order, groups, relevant, times[qcodes])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(samples, [alpha, 1.0 - alpha])
    return {
        "auc": auc,
        "low": float(low),
        "high": float(high),
        "n_queries": int(n_q),
        "n_pairs": int(len(score)),
        "n_relevant": int(relevant.sum()),
        "samples": samples,
    }


def anisotropy(emb: Any, *, sample: int = 2000, seed: int = 0) -> float:
    """Mean pairwise cosine similarity over distinct pairs of a random sample of rows.

    Values near 0 mean directions spread evenly; values near 1 mean the embeddings occupy a
    narrow cone (anisotropy, Ethayarajh 2019).

    Args:
        emb: ``n x dim`` embeddings (n >= 2); zero rows are rejected.
        sample: Rows drawn without replacement (all rows when ``n <= sample``).
        seed: Seed of ``numpy.random.default_rng`` for the sample.

    Returns:
        Mean cosine over the ``m (m - 1) / 2`` distinct pairs of the ``m`` sampled rows.

    Example:
        >>> import numpy as np
        >>> round(anisotropy(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), 4)
        0.4714
    """
    x = as_float32_matrix(emb, "emb").astype(np.float64)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"emb needs at least 2 rows for pairwise cosines, got {n}")
    sample = check_int(sample, "sample", minimum=2)
    if n > sample:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
        x = x[idx]
    x = _l2_normalise(x, "emb").astype(np.float64)
    m = x.shape[0]
    s = x.sum(axis=0)
    total = float(s @ s)  # sum over all ordered pairs incl. i == j
    diag = float((x * x).sum())
    return (total - diag) / (m * (m - 1))


def hubness(
    emb: Any, *, k: int = 10, top: int = 10, chunk_size: int | None = None
) -> dict[str, Any]:
    """Hubness of the cosine k-nearest-neighbour graph (Radovanović et al. 2010).

    The k-occurrence ``N_k(x)`` of a point is how many other points list it among their k
    nearest neighbours (cosine, the point itself excluded; ties go to the lower row index).
    A strongly right-skewed ``N_k`` distribution means a few hubs crowd many neighbour lists.

    Args:
        emb: ``n x dim`` embeddings, ``n > k``; zero rows are rejected.
        k: Neighbourhood size.
        top: Number of hubs listed.
        chunk_size: Rows per similarity chunk (``None``: about 128 MiB of float32).

    Returns:
        ``{"skewness": scipy.stats.skew(N_k), "k": k, "n": n, "k_occurrence": ndarray,
        "hubs": DataFrame(index, k_occurrence)}`` with the ``top`` largest k-occurrences
        (ties by index).

    Example:
        >>> import numpy as np
        >>> out = hubness(np.random.default_rng(0).normal(size=(50, 8)), k=5)
        >>> int(out["k_occurrence"].sum()) == 50 * 5
        True
    """
    from scipy.stats import skew

    x = _l2_normalise(as_float32_matrix(emb, "emb"), "emb")
    n = x.shape[0]
    k = check_int(k, "k")
    top = check_int(top, "top", minimum=0)
    if n <= k:
        raise ValueError(f"hubness needs more than k={k} rows, got {n}")
    chunk = chunk_rows(n, chunk_size)
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, n, chunk):
        block = x[start : start + chunk] @ x.T
        rows = np.arange(block.shape[0])
        block[rows, start + rows] = -np.inf  # a point is not its own neighbour
        nn = top_k(block, k)
        counts += np.bincount(nn.ravel(), minlength=n)
    order = np.lexsort((np.arange(n), -counts))[: min(top, n)]
    hubs = pd.DataFrame({"index": order, "k_occurrence": counts[order]})
    return {
        "skewness": float(skew(counts)),
        "k": int(k),
        "n": int(n),
        "k_occurrence": counts,
        "hubs": hubs,
    }


# ----------------------------------------------------------------- margins and pair scores


def _hardest_negative(row: np.ndarray, q: int, plan: RankPlan) -> tuple[Any, float]:
    """``(doc_id, score)`` of the top non-relevant, non-excluded doc of one query's row.

    Several maxima: the first under the tie rule. ``(None, nan)`` when there is none.
    """
    valid = np.ones(len(row), dtype=bool)
    valid[plan.rel_cols[q]] = False
    valid[plan.excluded_cols[q]] = False
    if not valid.any():
        return None, float("nan")
    cand = np.flatnonzero(valid)
    top = row[cand].max()
    tied = cand[row[cand] == top]  # several maxima: first under the tie rule
    h = int(tied[np.argmin(plan.tie_pos[tied])]) if len(tied) > 1 else int(tied[0])
    return plan.doc_ids[h], float(row[h])


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
    :func:`toolkit.metrics.retrieval_metrics`, so ``best_positive_rank`` equals its
    ``first_relevant_rank``.

    Args:
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        qrels: ``{query_id: {doc_id: grade}}``.
        query_ids: Unique query ids.
        doc_ids: Unique doc ids.
        exclude: Per-query docs left out of the ranking (as in the retrieval metrics).
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
    plan = rank_plan(query_ids, doc_ids, qrels, exclude)
    arr = check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    chunk = chunk_rows(len(plan.doc_ids), chunk_size)
    rows = np.flatnonzero([len(p) > 0 for p in plan.rel_cols])
    records = []
    for r, block in score_blocks(rows, matrix_rows(arr), plan, chunk):
        for i, q in enumerate(r):
            row = block[i]
            rp = plan.rel_cols[q]
            ranks = row_ranks(row, rp, plan.excluded_cols[q], plan)
            b = int(np.argmin(ranks))
            best = float(row[rp[b]])
            neg_id, neg_score = _hardest_negative(row, q, plan)
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


def _pair_cells(
    plan: RankPlan, n_q: int, n_d: int, max_negatives: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``row * n_d + col`` of the pairs kept, ascending, and which of them are relevant.

    Every relevant pair; the non-relevant ones all, or ``max_negatives`` drawn with ``seed``.
    """
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
    return flat[o], relevant[o]


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
    plan = rank_plan(query_ids, doc_ids, qrels, exclude, need_judged=True)
    arr = check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    max_negatives = check_int(max_negatives, "max_negatives", minimum=0)
    n_q, n_d = arr.shape
    flat, relevant = _pair_cells(plan, n_q, n_d, max_negatives, seed)
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


# ------------------------------------------------------------------ failure types, topics

FAILURE_TYPES = ("near miss", "lexical lure", "other", "unknown topic")
"""The types of :func:`failure_types`, in the order of its docstring."""


def _failure_type(top: Any, relevant: list[Any], shared: tuple[str, ...]) -> str:
    if top is not None and top in relevant:
        return "near miss"
    if top is None or None in relevant:
        return "unknown topic"
    return "lexical lure" if shared else "other"


def failure_types(
    rs: Any, scores: Any, query_ids: Sequence[str], doc_ids: Sequence[str], *, field: str = "topic"
) -> pd.DataFrame:
    """Why a query's top-1 title is wrong: a near miss, a lexical lure or something else.

    A query counts when it has a relevant title (grade >= 1) in ``doc_ids`` and its top-1
    title (tie rule of :func:`toolkit.evaluation.top1`) has grade < 1 or is unjudged. Types:
    ``"near miss"`` -- the top-1 title has the ``field`` value (topic) of one of the query's
    relevant titles (the model found the field, missed a facet); ``"lexical lure"`` --
    another topic than every relevant title, sharing a stem with the query
    (:func:`toolkit.lexical.stems`, BM25's stemming); ``"other"`` -- another topic, no shared stem;
    ``"unknown topic"`` -- not a near miss, and the top-1 or a relevant title has no value.

    Args:
        rs: The :class:`toolkit.data.RetrievalSet` (texts, titles, qrels, doc fields).
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        query_ids: Row ids (of ``rs.queries``).
        doc_ids: Column ids (of ``rs.corpus``).
        field: The doc field compared (``rs.doc_fields[field]``), e.g. ``"ipc"``.

    Returns:
        One row per such query, in ``query_ids`` order: ``query_id``, ``query``, the top-1
        ``doc_id`` and ``title``, its ``grade`` (``Int64``: 0 judged non-relevant, ``<NA>``
        unjudged), its ``topic`` (NaN if it has none), ``relevant_topics`` (tuple), ``type``
        and ``shared_stems`` (query stems in the title, tuple). Count with
        ``out["type"].value_counts()``.

    Raises:
        ValueError: ``rs`` has no doc field ``field``, unknown ids, a wrongly shaped matrix.
    """
    labels = rs.doc_fields.get(field)
    if not labels:
        raise ValueError(
            f"field: rs has no doc field {field!r} (doc fields: "
            f"{sorted(rs.doc_fields)}); failure_types needs the titles' {field!r}"
        )
    plan = rank_plan(query_ids, doc_ids, rs.qrels, None, need_judged=True)
    arr = check_scores_matrix(scores, len(plan.query_ids), len(plan.doc_ids))
    for name, ids, known in [("query_ids", plan.query_ids, rs.queries),
                             ("doc_ids", plan.doc_ids, rs.corpus)]:  # fmt: skip
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ValueError(f"{name}: expected ids of the set, got unknown {unknown[:3]}")
    top = top_k(arr, 1, tie_pos=plan.tie_pos)[:, 0] if arr.size else []
    wrong = [
        (q, plan.doc_ids[top[q]])
        for q in range(arr.shape[0])
        if len(plan.rel_cols[q]) and plan.judged[q].get(plan.doc_ids[top[q]], 0) < 1
    ]
    stems = lexical_stems([rs.queries[plan.query_ids[q]] for q, _ in wrong]
                        + [rs.corpus[d] for _, d in wrong])  # fmt: skip
    records = []
    for n, (q, d) in enumerate(wrong):
        in_title = set(stems[len(wrong) + n])
        shared = tuple(s for s in stems[n] if s in in_title)
        rel = [labels.get(r) for r in plan.rel_docs[q]]
        grade = plan.judged[q].get(d)
        records.append([plan.query_ids[q], rs.queries[plan.query_ids[q]], d, rs.corpus[d],
                        None if grade is None else int(grade), labels.get(d),
                        tuple(dict.fromkeys(rel)), _failure_type(labels.get(d), rel, shared),
                        shared])  # fmt: skip
    columns = ["query_id", "query", "doc_id", "title", "grade", "topic", "relevant_topics",
               "type", "shared_stems"]  # fmt: skip
    out = pd.DataFrame.from_records(records, columns=columns)
    return out.astype({"grade": "Int64"})


def _metric_table(per_query: Any, systems: list[str], metric: str) -> pd.DataFrame:
    """``query_id x system`` values of ``metric``: one row per query, finite, same queries."""
    cols: dict[str, pd.Series] = {}
    for s in systems:
        t = per_query[s]
        missing = [c for c in ("query_id", metric) if c not in getattr(t, "columns", ())]
        if missing:
            raise ValueError(f"per_query[{s!r}]: missing column(s) {missing}")
        v = t.set_index("query_id")[metric].astype(np.float64)
        if v.index.duplicated().any() or not np.isfinite(v.to_numpy()).all():
            raise ValueError(f"per_query[{s!r}]: expected one finite {metric!r} per query_id")
        if cols and set(v.index) != set(cols[systems[0]].index):
            raise ValueError(f"per_query: {s!r} and {systems[0]!r} cover different queries")
        cols[s] = v
    if cols[systems[0]].empty:
        raise ValueError("per_query: the tables have no query")
    return pd.DataFrame(cols).loc[cols[systems[0]].index]


def by_topic(
    per_query: Mapping[str, pd.DataFrame],
    topics: Mapping[str, Any],
    *,
    metric: str = "ndcg@10",
    systems: Sequence[str] | None = None,
    ci_min_n: int | None = 10,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean of one metric per topic and system, with the number of queries behind it.

    A description, not a test: with one to four queries per topic (the demo test split has
    63 queries over 25 topics) a topic's mean is that of a handful of queries, and
    differences between topics (or between systems inside one topic) are not findings;
    read ``n`` first. A percentile bootstrap CI (:func:`toolkit.stats.bootstrap_ci`) of a
    topic's mean is given only where ``n >= ci_min_n``: the bootstrap can only reshuffle the
    values it has (with n = 2 the interval is about their range), so below some ten queries
    its coverage falls well short of the nominal level and the interval looks surer than
    it is.

    Args:
        per_query: ``{system: table}`` with ``query_id`` and ``metric`` columns, every
            system on the same queries (e.g. ``SystemComparison.per_query``).
        topics: ``{query_id: topic}``, e.g. ``rs.query_fields["topic"]``; queries without
            one share a row whose ``topic`` is missing (NaN).
        metric: The per-query column averaged.
        systems: Systems shown, in this order (default: all of ``per_query``).
        ci_min_n: Smallest ``n`` given a CI (>= 2); ``None``: no CI columns.
        n_resamples: Bootstrap resamples.
        confidence: Two-sided confidence level.
        seed: Seed of each interval's resampling.

    Returns:
        One row per topic: ``topic``, ``n``, the mean per system (a column named after it)
        and, with ``ci_min_n``, ``<system>_low`` and ``<system>_high`` (NaN where
        ``n < ci_min_n``). Sorted by ``n`` descending, then the first system's mean
        descending, then topic.
    """
    if not isinstance(per_query, Mapping) or not per_query:
        raise TypeError("per_query must be a non-empty dict {system: per-query DataFrame}")
    if not isinstance(topics, Mapping):
        raise TypeError(f"topics must be a dict {{query_id: topic}}, got {type(topics).__name__}")
    systems = list(per_query) if systems is None else list(systems)
    if not systems or any(s not in per_query or s in ("topic", "n") for s in systems):
        raise ValueError(f"systems: expected names of per_query {list(per_query)}, got {systems}")
    ci_min_n = check_int(ci_min_n, "ci_min_n", minimum=2, allow_none=True)
    check_resampling(n_resamples, confidence)
    values = _metric_table(per_query, systems, metric)
    groups: dict[Any, list[Any]] = {}
    for q in values.index:
        groups.setdefault(topics.get(q), []).append(q)
    records = []
    for topic, ids in groups.items():
        row: dict[str, Any] = {"topic": topic, "n": len(ids)}
        for s in systems:
            v = values.loc[ids, s]
            row[s] = float(v.mean())
            if ci_min_n is not None:
                ci = (bootstrap_ci(v, n_resamples=n_resamples, confidence=confidence, seed=seed)
                      if len(v) >= ci_min_n else {"low": np.nan, "high": np.nan})  # fmt: skip
                row[f"{s}_low"], row[f"{s}_high"] = ci["low"], ci["high"]
        records.append(row)
    records.sort(key=lambda r: (-r["n"], -r[systems[0]], r["topic"] is None, str(r["topic"])))
    return pd.DataFrame.from_records(records)
