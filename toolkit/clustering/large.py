"""Cluster up to millions of vectors: :func:`cluster_large` fits a sample, assigns the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolkit._validation import check_int
from toolkit.clustering.partition import NOISE, cluster
from toolkit.clustering.reduction import PCA_COMPONENTS

__all__ = ["LargeClustering", "cluster_large"]


@dataclass(frozen=True)
class LargeClustering:
    """What :func:`cluster_large` returns.

    Attributes:
        labels: ``int64`` label per input row (``-1`` noise), clusters numbered by
            decreasing size in the sample.
        coords: ``float32`` ``(n, n_components)`` reduced coordinates: every row with
            ``assign="umap"``; with ``assign="input"`` only the sample's rows are filled
            (the rest are NaN; ``reducer.transform`` gives them when needed, e.g. to plot).
        sample_index: Sorted row numbers of the fitted sample.
        reducer: The fitted reducer (``Normalizer -> PCA -> UMAP`` pipeline by default);
            ``reducer.transform`` places new vectors in the same space.
        assigner: The fitted ``KNeighborsClassifier`` that labels rows outside the sample
            (fitted on the sample in the space named by ``assign``).
        assign: ``"input"`` or ``"umap"``, the space the rows outside the sample were
            assigned in.
    """

    labels: np.ndarray
    coords: np.ndarray
    sample_index: np.ndarray
    reducer: Any
    assigner: Any
    assign: str

    @property
    def n_clusters(self) -> int:
        """Clusters, noise excluded."""
        return int(len(set(np.unique(self.labels).tolist()) - {NOISE}))


def _finite_rows(arr: Any, rows: np.ndarray) -> np.ndarray:
    """``arr[rows]`` as float64, or ``ValueError`` naming the first non-finite row of ``arr``."""
    batch = np.asarray(arr[rows], dtype=np.float64)
    finite = np.isfinite(batch).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"vectors: row {int(rows[np.argmin(finite)])} contains NaN or infinite values"
        )
    return batch


def _large_reducer(d: int, n_components: int, seed: int, umap_kwargs: dict[str, Any]):
    """Unit rows -> PCA (wide inputs) -> UMAP, as :func:`reduce` does above 4,096 points.

    A scikit-learn pipeline rather than :func:`reduce` because the rows outside the sample
    need the fitted transform (``reduce`` returns coordinates only).
    """
    import umap
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    steps: list[Any] = [Normalizer()]
    if d > PCA_COMPONENTS:
        steps.append(PCA(n_components=PCA_COMPONENTS, random_state=seed))
    params: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.0,
                              "metric": "euclidean" if d > PCA_COMPONENTS else "cosine"}
    params.update(umap_kwargs)
    params["n_jobs"] = 1  # what umap-learn forces under a seed; say so, no warning
    steps.append(umap.UMAP(n_components=n_components, random_state=seed, **params))
    return make_pipeline(*steps)


def _check_arguments(
    assign: str, seed: Any, sample_size: Any, n_components: Any, n_neighbors: Any, batch_size: Any
) -> None:
    """Raise naming the argument: every count an integer >= 1, ``seed`` >= 0, a known space."""
    for name, value in (("sample_size", sample_size), ("n_components", n_components),
                        ("n_neighbors", n_neighbors), ("batch_size", batch_size)):
        check_int(value, name)
    check_int(seed, "seed", minimum=0)
    if assign not in ("input", "umap"):
        raise ValueError(f"assign: expected 'input' or 'umap', got {assign!r}")


def _as_rows(vectors: Any) -> Any:
    """``vectors`` as a 2-D array (a memory map stays one) of at least two rows."""
    arr = vectors if isinstance(vectors, np.ndarray) else np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(f"vectors: expected a 2-D (n >= 2, d) array, got shape {arr.shape}")
    return arr


def _sample_rows(n: int, sample_size: int, seed: int) -> np.ndarray:
    """Sorted row numbers of the seeded sample (every row when ``sample_size >= n``)."""
    rng = np.random.default_rng(seed)
    if sample_size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, sample_size, replace=False))


def _to_space(fitted: Any, assign: str):
    """The transform to the space rows are assigned in: what UMAP reads, or UMAP's own."""
    return fitted[:-1].transform if assign == "input" else fitted.transform


def _fit_sample(
    arr: Any, sample_index: np.ndarray, fitted: Any, assign: str, n_neighbors: int,
    method: str, seed: int, params: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Fit the reducer, the clusterer and the assigner on the sample rows.

    Returns the sample's labels, its ``float32`` coordinates and the fitted
    ``KNeighborsClassifier`` (in the space named by ``assign``).
    """
    from sklearn.neighbors import KNeighborsClassifier

    sample = _finite_rows(arr, sample_index)
    sample_coords = np.asarray(fitted.fit_transform(sample), dtype=np.float32)
    sample_labels = cluster(sample_coords, method=method, random_state=seed, **params)
    space = _to_space(fitted, assign)(sample) if assign == "input" else sample_coords
    assigner = KNeighborsClassifier(n_neighbors=min(n_neighbors, len(sample_index)))
    assigner.fit(space, sample_labels)
    return sample_labels, sample_coords, assigner


def _assign_rest(
    arr: Any, sample_index: np.ndarray, sample_labels: np.ndarray, sample_coords: np.ndarray,
    assigner: Any, to_space: Any, batch_size: int, keep_coords: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels (and, with ``keep_coords``, coordinates) of every row, batch by batch.

    Why k-nearest-neighbour assignment: scikit-learn's ``HDBSCAN`` (1.x) has no
    ``predict`` or ``approximate_predict`` (only ``fit``/``fit_predict``), and the
    ``hdbscan`` package's ``approximate_predict`` is itself a nearest-neighbour look-up in
    the sample's space; a kNN vote works for every ``method`` (HDBSCAN, KMeans,
    agglomerative), while HDBSCAN on all rows is quadratic (150-210 s at 100k, out of
    reach at 1M). Why ``"input"`` by default: UMAP's ``transform`` places a new row from
    its nearest sample points in that same input space and then optimises the layout
    (measured on 100k synthetic rows, it was most of the run's time), so voting among
    those neighbours directly gives the label ``transform`` would lead to, at a fraction
    of the cost, unless the layout moves a point across a cluster border.
    """
    n = arr.shape[0]
    labels = np.empty(n, dtype=np.int64)
    coords = np.full((n, sample_coords.shape[1]), np.nan, dtype=np.float32)
    labels[sample_index], coords[sample_index] = sample_labels, sample_coords
    rest = np.ones(n, dtype=bool)
    rest[sample_index] = False
    rest_index = np.flatnonzero(rest)
    del rest
    for start in range(0, len(rest_index), batch_size):
        rows = rest_index[start : start + batch_size]
        placed = np.asarray(to_space(_finite_rows(arr, rows)))
        if keep_coords:
            coords[rows] = placed
        labels[rows] = assigner.predict(placed)
    return labels, coords


def cluster_large(
    vectors: Any,
    *,
    sample_size: int = 20_000,
    seed: int = 0,
    n_components: int = 5,
    method: str = "hdbscan",
    assign: str = "input",
    n_neighbors: int = 15,
    batch_size: int = 50_000,
    reducer: Any = None,
    umap_kwargs: dict[str, Any] | None = None,
    **params: Any,
) -> LargeClustering:
    """Cluster up to millions of vectors: fit on a seeded sample, assign the rest.

    1. Draw ``sample_size`` rows without replacement (``numpy.random.default_rng(seed)``).
    2. Fit the reducer on the sample: unit rows, PCA to 50 dimensions for wide inputs,
       UMAP to ``n_components`` (``min_dist=0``, as BERTopic clusters), seeded.
    3. Cluster the sample's coordinates with :func:`cluster` (``method``, ``**params``).
    4. Give every other row the majority label of its ``n_neighbors`` nearest sample
       points (scikit-learn ``KNeighborsClassifier``; noise is a label like any other, so
       a row among noise points is noise), in batches of ``batch_size`` rows, found

       * ``assign="input"`` (default): in the space UMAP reads (unit rows after PCA);
       * ``assign="umap"``: in the UMAP space, after placing the row with UMAP's
         out-of-sample ``transform`` (also gives every row's coordinates).

    Memory: ``vectors`` may be a memory map (e.g. :func:`toolkit.streaming.open_store`);
    only the sample and one batch of rows are read at a time, plus ``n x n_components``
    coordinates and ``n`` labels. With ``sample_size >= n`` every row is fitted and nothing
    is assigned. Scale a ``min_cluster_size`` chosen for the full set by ``sample_size / n``
    (HDBSCAN's sizes count points).

    Args:
        vectors: ``(n, d)`` array or memory map, finite.
        sample_size: Rows the reducer and the clusterer are fitted on.
        seed: Seed of the sample, PCA, UMAP and (KMeans) clusterer.
        n_components: UMAP output dimensionality.
        method: Clusterer, as in :func:`cluster`.
        assign: ``"input"`` or ``"umap"`` (see above); a custom ``reducer`` that is not
            a scikit-learn ``Pipeline`` always uses ``"umap"`` (its own output space).
        n_neighbors: Sample neighbours voting on each assigned row's label.
        batch_size: Rows assigned per batch (memory bound of the assignment).
        reducer: Optional scikit-learn style transformer (``fit_transform`` and
            ``transform``) used instead of the default pipeline.
        umap_kwargs: Overrides of the UMAP parameters (``n_neighbors``, ``min_dist``...).
        **params: Clusterer parameters (``min_cluster_size``, ``n_clusters``...).

    Returns:
        A :class:`LargeClustering`.

    Raises:
        TypeError: An integer argument is not an integer (the message names it).
        ValueError: ``vectors`` is not a 2-D finite array (the message names the row), an
            integer argument is out of range or ``assign`` is unknown (the message names it).

    Example:
        >>> import numpy as np
        >>> X = np.repeat(np.eye(4, 32), 250, axis=0)
        >>> X += 0.05 * np.random.default_rng(0).normal(size=X.shape)
        >>> result = cluster_large(X, sample_size=300, method="kmeans", n_clusters=4)
        >>> result.labels.shape, result.n_clusters
        ((1000,), 4)
    """
    from sklearn.pipeline import Pipeline

    _check_arguments(assign, seed, sample_size, n_components, n_neighbors, batch_size)
    arr = _as_rows(vectors)
    sample_index = _sample_rows(arr.shape[0], sample_size, seed)
    fitted = reducer if reducer is not None else _large_reducer(
        arr.shape[1], n_components, seed, dict(umap_kwargs or {})
    )
    assign = assign if isinstance(fitted, Pipeline) else "umap"
    sample_labels, sample_coords, assigner = _fit_sample(
        arr, sample_index, fitted, assign, n_neighbors, method, seed, params
    )
    labels, coords = _assign_rest(arr, sample_index, sample_labels, sample_coords, assigner,
                                  _to_space(fitted, assign), batch_size, assign == "umap")
    return LargeClustering(labels, coords, sample_index, fitted, assigner, assign)
