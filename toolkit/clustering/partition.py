"""Cluster points: :func:`cluster` (HDBSCAN, KMeans or agglomerative) and :data:`NOISE`."""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit._validation import as_matrix, check_int

__all__ = ["NOISE", "cluster"]

NOISE = -1
"""Label HDBSCAN gives to points that belong to no cluster."""


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 by decreasing size (ties: first appearance); keep -1."""
    out = np.full(labels.shape, NOISE, dtype=np.int64)
    kept = labels[labels != NOISE]
    if kept.size == 0:
        return out
    uniq, first, counts = np.unique(kept, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    mapping = {uniq[i]: new for new, i in enumerate(order)}
    for old, new in mapping.items():
        out[labels == old] = new
    return out


def _estimator(method: str, n: int, random_state: int | None, params: dict[str, Any]) -> Any:
    """The scikit-learn clusterer :func:`cluster` runs on ``n`` rows; fills in its defaults."""
    from sklearn import cluster as skc

    if method == "hdbscan":
        mcs = check_int(params.setdefault("min_cluster_size", 5), "min_cluster_size", minimum=2)
        if n < mcs:
            raise ValueError(
                f"X: has {n} rows, fewer than min_cluster_size={mcs}; lower min_cluster_size"
            )
        params.setdefault("copy", True)
        return skc.HDBSCAN(**params)
    if method == "kmeans":
        k = check_int(params.setdefault("n_clusters", 8), "n_clusters")
        if n < k:
            raise ValueError(f"n_clusters: {k} is more than the {n} rows of X")
        params.setdefault("n_init", 10)
        return skc.KMeans(random_state=random_state, **params)
    if method == "agglomerative":
        k = check_int(params.setdefault("n_clusters", 2), "n_clusters", allow_none=True)
        if k is not None and n < k:
            raise ValueError(f"n_clusters: {k} is more than the {n} rows of X")
        return skc.AgglomerativeClustering(**params)
    raise ValueError(f"method: expected 'hdbscan', 'kmeans' or 'agglomerative', got {method!r}")


def cluster(
    X: Any,
    *,
    method: str = "hdbscan",
    random_state: int | None = 42,
    clusterer: Any = None,
    **params: Any,
) -> np.ndarray:
    """Cluster the rows of ``X`` and return integer labels.

    * ``"hdbscan"`` (default): ``sklearn.cluster.HDBSCAN`` (its defaults:
      ``min_cluster_size=5``, euclidean metric). Points in no cluster get
      :data:`NOISE` (``-1``). Deterministic; ``random_state`` is not used.
      Cost: scikit-learn builds the spanning tree with Prim's algorithm, quadratic in
      the number of points (100k 2-d points: ~3.5 min CPU-shared here with
      ``min_samples=10``); ``min_samples`` defaults to ``min_cluster_size`` and
      costs memory and time as it grows (``min_cluster_size=1000`` at 100k: ~7.5 min,
      3.5 GB). For large inputs pass a small ``min_samples`` or use ``"kmeans"``.
    * ``"kmeans"``: ``sklearn.cluster.KMeans(n_clusters=8, n_init=10)`` seeded with
      ``random_state``. No noise.
    * ``"agglomerative"``: ``sklearn.cluster.AgglomerativeClustering(n_clusters=2,
      linkage="ward")``. Deterministic. No noise.

    ``params`` go straight to the estimator. Clusters are renumbered ``0..k-1`` by
    decreasing size (as BERTopic does: cluster 0 is the largest); ``-1`` stays noise.

    Args:
        X: ``(n_samples, n_features)`` array, e.g. the output of :func:`reduce`.
        method: ``"hdbscan"``, ``"kmeans"`` or ``"agglomerative"``.
        random_state: Seed for methods that use one.
        clusterer: Optional estimator with ``fit_predict`` (any scikit-learn
            clusterer); used instead of ``method``/``params``.
        **params: Estimator parameters (``min_cluster_size``, ``n_clusters``, ...).

    Returns:
        ``int64`` labels of length ``n_samples``.

    Example:
        >>> import numpy as np
        >>> X = np.r_[np.zeros((6, 2)), np.ones((6, 2))] + np.arange(12)[:, None] * 1e-3
        >>> cluster(X, method="agglomerative", n_clusters=2).tolist()
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    """
    data = as_matrix(X, "X")
    if clusterer is None:
        random_state = check_int(random_state, "random_state", minimum=0, allow_none=True)
        clusterer = _estimator(method, data.shape[0], random_state, params)
    return _relabel_by_size(np.asarray(clusterer.fit_predict(data)).astype(np.int64))
