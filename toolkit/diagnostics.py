"""Embedding-space diagnostics: neighbours, hubs, anisotropy, margins, pair similarities.

What the embedding space looks like, independent of one retrieval metric:

* :func:`top_k` -- the one k-nearest-neighbour rule (score descending, ties to the lower
  index) that every neighbour search here and in :mod:`toolkit.training` uses;
* :func:`nearest_titles`, :func:`neighbour_agreement` -- nearest titles and how often they
  share a label (topic, IPC section); :func:`neighbour_agreement_chance` -- the same
  statistic with the labels permuted (its chance level);
* :func:`auc_bootstrap` -- AUC of relevant vs non-relevant pair scores with a CI from a
  bootstrap over queries;
* :func:`hubness`, :func:`anisotropy` -- hubs of the kNN graph and the narrow-cone effect;
* :func:`query_margins`, :func:`pair_similarities` -- best relevant vs hardest non-relevant
  score per query, and the score distributions of relevant and non-relevant pairs. These
  two rank with the retrieval metrics' tie rule and are implemented next to it in
  :mod:`toolkit.metrics`; they are listed here so this module is the one to read.

All cosine computations refuse all-zero rows (they have no direction); see
:mod:`toolkit._validation` for the toolkit's zero-vector policy.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import as_float32_matrix, chunk_rows, unit_rows
from toolkit.metrics import pair_similarities, query_margins

__all__ = [
    "anisotropy",
    "auc_bootstrap",
    "hubness",
    "nearest_titles",
    "neighbour_agreement",
    "neighbour_agreement_chance",
    "pair_similarities",
    "query_margins",
    "top_k",
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
    if not 1 <= k < len(texts):
        raise ValueError(f"k must be in 1..{len(texts) - 1}, got {k}")

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
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k < len(labels):
        raise ValueError(f"k must be in 1..{len(labels) - 1}, got {k}")
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
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, numbers.Integral):
        raise TypeError(f"n_permutations must be an integer, got {n_permutations!r}")
    if n_permutations < 2:
        raise ValueError(f"n_permutations must be >= 2 (for an sd), got {n_permutations}")
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
    from toolkit._validation import check_resampling

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
    if isinstance(sample, bool) or not isinstance(sample, numbers.Integral) or sample < 2:
        raise ValueError(f"sample must be an integer >= 2, got {sample!r}")
    if n > sample:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
        x = x[idx]
    x = _l2_normalise(x, "emb").astype(np.float64)
    m = x.shape[0]
    s = x.sum(axis=0)
    total = float(s @ s)  # sum over all ordered pairs incl. i == j
    diag = float((x * x).sum())
    return (total - diag) / (m * (m - 1))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The toolkit's one k-nearest-neighbour rule: top-k columns per row, best first.

    Columns are ranked by score descending; ties go to the lower column index (also at the
    boundary of the k kept). Every neighbour search of the toolkit -- :func:`hubness`,
    :func:`neighbour_agreement`, :func:`nearest_titles`,
    :func:`toolkit.drift.embedding_drift` -- selects with it; each computes its own
    similarities (set a point's own column to ``-inf`` to exclude it).

    Args:
        scores: ``n x m`` similarities (no NaN), ``1 <= k <= m``.
        k: Neighbours kept per row.

    Returns:
        ``n x k`` column indices.

    Example:
        >>> top_k(np.array([[0.5, 0.9, 0.5, 0.1]]), 2).tolist()
        [[1, 0]]
    """
    block = np.asarray(scores)
    n = block.shape[1]
    part = np.argpartition(block, n - k, axis=1)[:, n - k :]
    vals = np.take_along_axis(block, part, axis=1)
    thr = vals.min(axis=1)
    n_ge = np.count_nonzero(block >= thr[:, None], axis=1)
    for i in np.flatnonzero(n_ge > k):  # ties at the boundary: keep the lowest indices
        gt = np.flatnonzero(block[i] > thr[i])
        eq = np.flatnonzero(block[i] == thr[i])[: k - len(gt)]
        part[i] = np.concatenate([gt, eq])
    vals = np.take_along_axis(block, part, axis=1)
    o = np.lexsort((part, -vals), axis=-1)
    return np.take_along_axis(part, o, axis=1)


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
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
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
