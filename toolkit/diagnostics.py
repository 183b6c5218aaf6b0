"""Embedding-space diagnostics: neighbours, hubs, anisotropy, margins, pair similarities.

What the embedding space looks like, independent of one retrieval metric:

* :func:`top_k` -- the one k-nearest-neighbour rule (score descending, ties to the lower
  index) that every neighbour search here and in :mod:`toolkit.training` uses;
* :func:`nearest_titles`, :func:`neighbour_agreement` -- nearest titles and how often they
  share a label (topic, IPC section);
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
    "hubness",
    "nearest_titles",
    "neighbour_agreement",
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
    x = np.asarray(emb, dtype=np.float32)
    labels = list(labels)
    if x.shape[0] != len(labels):
        raise ValueError(f"emb has {x.shape[0]} rows but labels has {len(labels)} entries")
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be in 1..{len(labels) - 1}, got {k}")
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    neighbours = top_k(sims, k)
    scores = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        scores.append(sum(labels[j] == label for j in neighbours[i]) / k)
    if not scores:
        raise ValueError("labels are all None")
    return float(np.mean(scores))


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
    :func:`toolkit.training.embedding_drift` -- selects with it; each computes its own
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
