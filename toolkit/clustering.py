"""Reduce, cluster and label patent embeddings (UMAP / HDBSCAN / Russian c-TF-IDF).

The pipeline follows BERTopic's shape, with every part pluggable and a documented
default:

1. :func:`reduce` — UMAP (cosine metric) to a few dimensions, with an optional PCA
   pre-reduction for large inputs and an on-disk cache of the coordinates.
2. :func:`cluster` — scikit-learn HDBSCAN (default), KMeans or agglomerative clustering.
3. :func:`label_clusters` — class-based TF-IDF over lemmatised Russian tokens, with
   Russian stop words and a patent boilerplate list removed.
4. :func:`agreement`, :func:`silhouette`, :func:`stability`, :func:`shuffled_baseline` —
   how good, how stable and how far from chance a clustering is.

Noise: HDBSCAN marks points that belong to no cluster with the label ``-1``
(:data:`NOISE`). Every function states what it does with them.

Example:
    >>> import numpy as np
    >>> from toolkit.clustering import cluster, label_clusters
    >>> X = np.repeat(np.eye(2), 5, axis=0) + 0.01 * np.random.default_rng(0).normal(size=(10, 2))
    >>> labels = cluster(X, method="kmeans", n_clusters=2)
    >>> len(set(labels))
    2
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit import _config
from toolkit._io import write_atomic
from toolkit._validation import as_matrix as _as_matrix
from toolkit._validation import unit_rows
from toolkit.text_ru import PATENT_STOP_WORDS, RUSSIAN_STOP_WORDS, lemmatize

__all__ = [
    "NOISE",
    "PATENT_STOP_WORDS",
    "RUSSIAN_STOP_WORDS",
    "LargeClustering",
    "agreement",
    "cluster",
    "cluster_large",
    "label_clusters",
    "lemmatize",
    "reduce",
    "shuffled_baseline",
    "silhouette",
    "stability",
]

logger = logging.getLogger(__name__)

NOISE = -1
"""Label HDBSCAN gives to points that belong to no cluster."""

# Default PCA pre-reduction: above this many points, inputs wider than
# ``pca_components`` are first projected with PCA. 4096 is also where umap-learn
# switches from exact neighbours to NN-descent, whose cost grows with dimensionality.
PCA_ABOVE = 4096
PCA_COMPONENTS = 50
_CACHE_VERSION = 2  # 2: exact neighbours from our own float32-rounded distances

# --------------------------------------------------------------------------- validation


def _as_labels(labels: Any, name: str) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of labels, got shape {arr.shape}")
    return arr


def _check_same_length(a: Any, a_name: str, b: Any, b_name: str) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"{a_name} and {b_name} must have the same length, got {len(a)} and {len(b)}"
        )


def _unit_rows(X: np.ndarray, name: str) -> np.ndarray:
    """L2-normalise rows; a zero row has no direction here, so it raises (see _validation)."""
    return unit_rows(X, name, zero_rows="raise")


# --------------------------------------------------------------------------- reduce


def _fingerprint(X: np.ndarray) -> str:
    """sha256 of the array's bytes, shape and dtype."""
    arr = np.ascontiguousarray(X)
    h = hashlib.sha256()
    h.update(f"{arr.shape}|{arr.dtype.str}|".encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _cache_path(key_parts: dict[str, Any]) -> Path:
    blob = json.dumps(key_parts, sort_keys=True, default=repr).encode()
    return _config.cache_dir() / "reduce" / f"{hashlib.sha256(blob).hexdigest()}.npy"


def _load_cached(path: Path, n_rows: int, n_components: int) -> np.ndarray | None:
    if not path.exists():
        return None
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # any unreadable file is simply recomputed
        logger.warning("ignoring unreadable reduce cache file %s (%s)", path, exc)
        return None
    if arr.shape != (n_rows, n_components) or not np.isfinite(arr).all():
        logger.warning("ignoring reduce cache file %s with unexpected content", path)
        return None
    return arr


def _save_cached(path: Path, arr: np.ndarray) -> None:
    """Write ``arr`` atomically (:func:`toolkit._io.write_atomic`); a read-only cache only warns."""
    try:
        write_atomic(path, lambda fh: np.save(fh, arr, allow_pickle=False))
    except OSError as exc:  # a read-only cache must not break the analysis
        logger.warning("could not write reduce cache %s (%s)", path, exc)


# Below this many points umap-learn ranks exact neighbours from a full distance matrix (its
# ``_small_data`` path); above it, NN-descent (numba-compiled, so pinned with the rest).
_UMAP_EXACT_BELOW = 4096
# umap-learn's own disconnection distances for the metrics we precompute (umap_.py).
_PORTABLE_METRICS = {"cosine": 2.0, "euclidean": np.inf}


def _portable_distances(U: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, dict]:
    """The distance matrix umap-learn would compute, made independent of the BLAS kernel.

    umap-learn computes it with scikit-learn on float32 input, i.e. a BLAS matrix product
    whose last bits depend on the kernel OpenBLAS picks for the CPU (``OPENBLAS_CORETYPE``):
    on the demo's TF-IDF vectors, with many near-equal distances, that alone changed which
    neighbours were chosen and so the layout. Here the distances are computed in float64 and
    rounded to float32, which absorbs kernel differences (~1e-16) except in the rare case of
    a value sitting on a float32 rounding boundary; umap-learn then ranks them as before
    (``metric="precomputed"``, same disconnection distance as the metric's).
    """
    from sklearn.metrics import pairwise_distances

    metric = params["metric"]
    D = pairwise_distances(np.asarray(U, dtype=np.float64), metric=metric)
    if metric == "cosine":
        np.clip(D, 0.0, 2.0, out=D)
    np.fill_diagonal(D, 0.0)
    params = dict(params, metric="precomputed", disconnection_distance=_PORTABLE_METRICS[metric])
    return D.astype(np.float32), params


def _portable_spectral_init(
    D: np.ndarray, params: dict[str, Any], n_components: int, random_state: int | None
) -> np.ndarray | None:
    """umap-learn's spectral initialisation, solved exactly so the BLAS kernel cannot move it.

    umap-learn finds the smallest eigenvectors of the graph's normalised Laplacian with ARPACK
    at tolerance 1e-4: the answer depends on the rounding along ARPACK's iterations, hence on
    the BLAS kernel, and with close eigenvalues (the demo's TF-IDF vectors) the layouts under
    two OpenBLAS kernels differed. A dense symmetric eigensolver (LAPACK) is exact to ~1e-15
    instead; signs are fixed (largest entry positive) and the result is scaled and jittered
    as umap-learn does (max |coordinate| 10, N(0, 1e-4) noise), then passed as ``init``.
    The graph is umap-learn's own fuzzy simplicial set of the same distances (umap-learn
    rebuilds the identical graph in ``fit``). Returns ``None`` (keep umap-learn's own
    initialisation) for a graph in several pieces, which it lays out component by component.
    """
    import scipy.linalg
    import scipy.sparse.csgraph
    from umap.umap_ import fuzzy_simplicial_set

    rng = np.random.RandomState(random_state)
    dist = np.where(D >= params["disconnection_distance"], np.inf, D)
    graph = fuzzy_simplicial_set(
        dist,
        params["n_neighbors"],
        rng,
        "precomputed",
        set_op_mix_ratio=params.get("set_op_mix_ratio", 1.0),
        local_connectivity=params.get("local_connectivity", 1.0),
    )[0]
    if scipy.sparse.csgraph.connected_components(graph)[0] > 1:
        return None
    inv_sqrt_deg = 1.0 / np.sqrt(np.asarray(graph.sum(axis=0)).ravel())
    L = np.eye(graph.shape[0]) - inv_sqrt_deg[:, None] * graph.toarray() * inv_sqrt_deg[None, :]
    _, vectors = scipy.linalg.eigh(L, subset_by_index=[0, n_components])
    layout = vectors[:, 1:]  # the first eigenvector is sqrt(degree), constant information
    peak = np.abs(layout).argmax(axis=0)
    layout = layout * np.sign(layout[peak, np.arange(layout.shape[1])])
    layout = (layout * (10.0 / np.abs(layout).max())).astype(np.float32)
    return layout + rng.normal(scale=0.0001, size=layout.shape).astype(np.float32)


def reduce(
    embeddings: Any,
    *,
    method: str = "umap",
    n_components: int = 2,
    random_state: int | None = 42,
    cache: bool = True,
    pca_above: int | None = PCA_ABOVE,
    pca_components: int = PCA_COMPONENTS,
    reducer: Any = None,
    **kwargs: Any,
) -> np.ndarray:
    """Project embeddings to ``n_components`` dimensions (default: UMAP, cosine metric).

    Rows are treated as directions: they are L2-normalised before any PCA, so every
    path approximates cosine geometry.

    * ``method="umap"`` (default): ``umap.UMAP(n_neighbors=15, min_dist=0.1,
      metric="cosine")``; ``kwargs`` override these (BERTopic clusters on
      ``n_components=5, min_dist=0.0``). ``n_neighbors`` is clamped to
      ``n_samples - 1``; UMAP needs at least ``n_components + 2`` points (fewer
      raise ``ValueError``; use ``method="pca"``). With an integer ``random_state``
      the result is reproducible, **but umap-learn then runs single-threaded**
      (``n_jobs=1``); ``random_state=None`` uses all cores, is not reproducible and
      is not cached. The first UMAP call in a process costs ~25 s of numba JIT.
    * Portable results: ``import toolkit`` pins numba to the ``generic`` CPU target
      (``toolkit/_numerics.py``), and below 4,096 points (umap-learn's exact-neighbour path),
      without PCA pre-reduction and with the cosine or euclidean metric, the toolkit computes
      the distance matrix (float64,
      rounded to float32) and the spectral initialisation (a dense eigensolver instead of
      ARPACK at tolerance 1e-4) itself, so neither the CPU nor the BLAS kernel changes the
      coordinates. Above 4,096 points PCA and umap-learn's ARPACK initialisation still use
      BLAS, so last-bit differences between machines remain possible there.
    * PCA pre-reduction: with more than ``pca_above`` points (default 4096) and more
      than ``pca_components`` (default 50) columns, the unit rows are first projected
      by PCA to ``pca_components`` dimensions, and UMAP then uses the *euclidean*
      metric (on unit vectors euclidean distance is monotone in cosine distance, and
      PCA preserves euclidean distances, not angles after centring). ``pca_above=None``
      disables it, ``pca_above=0`` always applies it.
    * ``method="pca"``: scikit-learn PCA on the unit rows — a fast, deterministic,
      linear fallback (seconds at 100k points) that keeps less local structure.
    * ``reducer``: any object with ``fit_transform`` (e.g. a configured ``umap.UMAP``
      or ``sklearn.decomposition.TruncatedSVD``); used as is on the raw
      ``embeddings``; ``method``, ``kwargs`` and the cache are then ignored.

    Cache: with ``cache=True`` the coordinates are stored under
    ``toolkit._config.cache_dir() / "reduce"``, keyed by a sha256 of the array bytes,
    shape and dtype plus every parameter and the library versions. Files are written
    atomically; an unreadable or inconsistent file is ignored and recomputed.

    Args:
        embeddings: ``(n_samples, n_features)`` array, finite, rows not all equal.
        method: ``"umap"`` or ``"pca"``.
        n_components: Output dimensionality.
        random_state: Seed (``None``: non-deterministic, multi-threaded, uncached).
        cache: Read and write the on-disk coordinate cache.
        pca_above: Point count above which PCA pre-reduction is applied (umap only).
        pca_components: Dimensionality of the PCA pre-reduction.
        reducer: Optional ready-made reducer object (see above).
        **kwargs: Passed to ``umap.UMAP`` or ``sklearn.decomposition.PCA``.

    Returns:
        ``float32`` array of shape ``(n_samples, n_components)``.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(20, 8))
        >>> reduce(X, method="pca", cache=False).shape
        (20, 2)
    """
    if reducer is not None:
        X = _as_matrix(embeddings, "embeddings")
        return np.asarray(reducer.fit_transform(X), dtype=np.float32)
    if method not in ("umap", "pca"):
        raise ValueError(f"method: expected 'umap' or 'pca', got {method!r}")
    if not isinstance(n_components, int | np.integer) or n_components < 1:
        raise ValueError(f"n_components: expected a positive integer, got {n_components!r}")
    X = _as_matrix(embeddings, "embeddings")
    n, d = X.shape
    if method == "pca" and n_components > min(n, d):
        raise ValueError(
            f"n_components: PCA can give at most min(n_samples, n_features) = {min(n, d)} "
            f"components, got {n_components}"
        )
    if method == "umap" and n < n_components + 2:
        raise ValueError(
            f"embeddings: UMAP needs at least n_components + 2 = {n_components + 2} rows, "
            f"got {n}; use method='pca' for tiny inputs"
        )
    pre_pca = (
        method == "umap" and pca_above is not None and n > pca_above and d > pca_components
    )

    path = None
    if cache and random_state is not None:
        import sklearn

        versions = {"sklearn": sklearn.__version__}
        if method == "umap":
            import umap

            from toolkit._numerics import numba_target

            versions["umap"] = umap.__version__
            versions["numba target"] = numba_target()  # coordinates depend on it
        path = _cache_path(
            {
                "v": _CACHE_VERSION,
                "data": _fingerprint(X),
                "method": method,
                "n_components": int(n_components),
                "random_state": int(random_state),
                "pca": int(pca_components) if pre_pca else None,
                "kwargs": kwargs,
                "versions": versions,
            }
        )
        hit = _load_cached(path, n, n_components)
        if hit is not None:
            return hit

    from sklearn.decomposition import PCA

    U = _unit_rows(X.astype(np.float64, copy=False), "embeddings")
    if method == "pca":
        pca = PCA(n_components=n_components, random_state=random_state, **kwargs)
        coords = pca.fit_transform(U)
    else:
        import umap

        params: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1}
        params.update(kwargs)
        params.setdefault("metric", "euclidean" if pre_pca else "cosine")
        params["n_neighbors"] = max(2, min(int(params["n_neighbors"]), n - 1))
        if random_state is not None:
            params["n_jobs"] = 1  # what umap-learn forces anyway under a seed; say so, no warning
        if pre_pca:
            U = PCA(n_components=pca_components, random_state=random_state).fit_transform(U)
        if not pre_pca and n < _UMAP_EXACT_BELOW and params["metric"] in _PORTABLE_METRICS:
            U, params = _portable_distances(U, params)
            if "init" not in params:
                init = _portable_spectral_init(U, params, n_components, random_state)
                if init is not None:
                    params["init"] = init
        model = umap.UMAP(n_components=n_components, random_state=random_state, **params)
        with warnings.catch_warnings():  # reduce never offers inverse_transform
            warnings.filterwarnings("ignore", message="using precomputed metric")
            coords = model.fit_transform(U)
    coords = np.asarray(coords, dtype=np.float32)
    if path is not None:
        _save_cached(path, coords)
    return coords


# --------------------------------------------------------------------------- cluster

_DETERMINISTIC = frozenset({"hdbscan", "agglomerative"})


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
    data = _as_matrix(X, "X")
    n = data.shape[0]
    if clusterer is not None:
        return _relabel_by_size(np.asarray(clusterer.fit_predict(data)).astype(np.int64))
    from sklearn import cluster as skc

    if method == "hdbscan":
        mcs = params.setdefault("min_cluster_size", 5)
        if n < mcs:
            raise ValueError(
                f"X: has {n} rows, fewer than min_cluster_size={mcs}; lower min_cluster_size"
            )
        params.setdefault("copy", True)
        est = skc.HDBSCAN(**params)
    elif method == "kmeans":
        k = params.setdefault("n_clusters", 8)
        if n < k:
            raise ValueError(f"n_clusters: {k} is more than the {n} rows of X")
        params.setdefault("n_init", 10)
        est = skc.KMeans(random_state=random_state, **params)
    elif method == "agglomerative":
        k = params.setdefault("n_clusters", 2)
        if k is not None and n < k:
            raise ValueError(f"n_clusters: {k} is more than the {n} rows of X")
        est = skc.AgglomerativeClustering(**params)
    else:
        raise ValueError(
            f"method: expected 'hdbscan', 'kmeans' or 'agglomerative', got {method!r}"
        )
    return _relabel_by_size(np.asarray(est.fit_predict(data)).astype(np.int64))


# --------------------------------------------------------------------------- labelling


def _c_tf_idf(counts, classes: np.ndarray, class_of_doc: np.ndarray):
    """Class-based TF-IDF (BERTopic): tf per class x log(1 + A / f_t).

    ``counts`` is a sparse doc x term count matrix. Each class is one document:
    tf is the L1-normalised term count of the class, f_t the term's total count over
    all classes, A the average number of (kept) words per class. Unlike BERTopic, A
    is not truncated to an integer.
    """
    from scipy import sparse

    n_docs = counts.shape[0]
    rows = np.searchsorted(classes, class_of_doc)
    membership = sparse.csr_matrix(
        (np.ones(n_docs), (rows, np.arange(n_docs))), shape=(len(classes), n_docs)
    )
    class_counts = (membership @ counts).toarray().astype(np.float64)
    words_per_class = class_counts.sum(axis=1)
    f_t = class_counts.sum(axis=0)
    avg = words_per_class.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        idf = np.where(f_t > 0, np.log1p(avg / np.where(f_t > 0, f_t, 1)), 0.0)
        tf = np.where(words_per_class[:, None] > 0, class_counts / words_per_class[:, None], 0.0)
    return tf * idf


def label_clusters(
    labels: Any,
    texts: Sequence[str],
    *,
    top_n: int = 8,
    embeddings: Any = None,
    extra_stop_words: Iterable[str] = (),
    analyzer: Callable[[str], list[str]] | None = None,
) -> pd.DataFrame:
    """Describe each cluster by its c-TF-IDF keywords and a representative title.

    Titles are split into lemmas by :func:`lemmatize` (pymorphy3; Russian stop words
    and the patent boilerplate :data:`PATENT_STOP_WORDS` removed), counted with
    scikit-learn's ``CountVectorizer``, and scored by class-based TF-IDF as in
    BERTopic: one document per cluster, ``tf`` = term count / words in the cluster,
    ``idf = log(1 + A / f_t)`` with ``A`` the average number of words per cluster and
    ``f_t`` the term's count over all clusters.

    Noise (``-1``) is kept as a class of its own (as BERTopic does), so it takes part in
    ``A`` and ``f_t`` and gets its own row, listed first.

    The representative title: with ``embeddings``, the member whose (unit) embedding is
    closest in cosine to the cluster's mean unit embedding; without, the member that
    covers the most keyword weight (sum of the c-TF-IDF scores of the distinct top
    keywords it contains; ties go to the shorter title, then the first one).

    Args:
        labels: Cluster label per text (``-1`` = noise).
        texts: The titles, same length as ``labels``.
        top_n: Number of keywords per cluster.
        embeddings: Optional ``(n, d)`` array aligned with ``texts`` (original or reduced).
        extra_stop_words: More lemmas to exclude from keywords.
        analyzer: Optional ``text -> list of tokens`` replacing :func:`lemmatize`.

    Returns:
        DataFrame with columns ``cluster``, ``size``, ``keywords`` (list of lemmas),
        ``scores`` (list of floats, same order), ``representative`` (a title) and
        ``representative_index`` (its position in ``texts``).

    Example:
        >>> df = label_clusters([0, 0, 1], ["МОСТ", "ОПОРА МОСТА", "ХЛЕБ"], top_n=2)
        >>> df.loc[df.cluster == 1, "keywords"].item()
        ['хлеб']
    """
    from sklearn.feature_extraction.text import CountVectorizer

    lab = _as_labels(labels, "labels")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels: expected integer cluster ids, got dtype {lab.dtype}")
    if isinstance(texts, str):
        raise ValueError("texts: expected a sequence of strings, got a single string")
    texts = list(texts)
    _check_same_length(lab, "labels", texts, "texts")
    if len(texts) == 0:
        raise ValueError("texts: is empty")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"texts: position {i} is {type(t).__name__}, expected a string")
    if not isinstance(top_n, int | np.integer) or top_n < 1:
        raise ValueError(f"top_n: expected a positive integer, got {top_n!r}")
    unit = None
    if embeddings is not None:
        emb = _as_matrix(embeddings, "embeddings", min_rows=1)
        _check_same_length(emb, "embeddings", texts, "texts")
        unit = _unit_rows(emb.astype(np.float64, copy=False), "embeddings")

    extra = tuple(extra_stop_words)
    tokenize = analyzer or (lambda t: lemmatize(t, extra_stop_words=extra))
    vectorizer = CountVectorizer(analyzer=tokenize, lowercase=False)
    try:
        counts = vectorizer.fit_transform(texts).tocsr()
        vocab = vectorizer.get_feature_names_out()
    except ValueError:  # empty vocabulary: every token was a stop word
        from scipy import sparse

        counts = sparse.csr_matrix((len(texts), 0))
        vocab = np.array([], dtype=object)

    classes = np.unique(lab)
    scores = _c_tf_idf(counts, classes, lab)

    rows = []
    for ci, c in enumerate(classes):
        members = np.flatnonzero(lab == c)
        row_scores = scores[ci]
        positive = np.flatnonzero(row_scores > 0)
        # highest score first; ties broken alphabetically for reproducibility
        top = sorted(positive, key=lambda j: (-row_scores[j], vocab[j]))[:top_n]
        keywords = [str(vocab[j]) for j in top]
        kw_scores = [float(row_scores[j]) for j in top]
        if unit is not None:
            centroid = unit[members].mean(axis=0)
            best = members[int(np.argmax(unit[members] @ centroid))]
        else:
            sub = counts[members]
            weight = (sub[:, top] > 0).astype(np.float64) @ np.asarray(kw_scores)
            n_tokens = np.asarray(sub.sum(axis=1)).ravel()
            order = np.lexsort((np.arange(len(members)), n_tokens, -np.asarray(weight).ravel()))
            best = members[order[0]]
        rows.append(
            {
                "cluster": int(c),
                "size": int(members.size),
                "keywords": keywords,
                "scores": kw_scores,
                "representative": texts[best],
                "representative_index": int(best),
            }
        )
    return pd.DataFrame(rows, columns=list(rows[0]))


# --------------------------------------------------------------------------- evaluation


def _check_reference(reference: Any, n: int) -> np.ndarray:
    ref = np.asarray(reference, dtype=object)
    if ref.ndim != 1:
        raise ValueError(f"reference: expected a 1-D sequence, got shape {ref.shape}")
    if len(ref) != n:
        raise ValueError(f"labels and reference must have the same length, got {n} and {len(ref)}")
    missing = pd.isna(pd.Series(ref)).to_numpy()
    if missing.any():
        raise ValueError(
            f"reference: missing value at position {int(np.argmax(missing))}; drop those "
            "points from both labels and reference first"
        )
    return ref


def _purities(lab: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics.cluster import contingency_matrix

    table = contingency_matrix(pd.factorize(ref, sort=True)[0], lab)  # classes x clusters
    total = table.sum()
    return float(table.max(axis=0).sum() / total), float(table.max(axis=1).sum() / total)


def agreement(labels: Any, reference: Any, *, noise: str = "cluster") -> dict[str, Any]:
    """Compare a clustering with reference classes (e.g. IPC sections).

    Metrics: adjusted Rand index and normalised mutual information (scikit-learn,
    arithmetic normalisation); purity = share of points in their cluster's majority
    class; inverse purity = share of points in their class's majority cluster.

    Noise (``-1``): with ``noise="cluster"`` (default, the conservative choice) all
    noise points form one more group, so heavy noise lowers every score; with
    ``noise="exclude"`` they are dropped before every metric and from the table
    (which flatters the result: report ``n_noise`` beside it).

    Args:
        labels: Cluster label per point.
        reference: Reference class per point (any hashable values, no missing ones).
        noise: ``"cluster"`` or ``"exclude"``.

    Returns:
        Dict with ``ari``, ``nmi``, ``purity``, ``inverse_purity`` (floats), ``n``
        (points scored), ``n_clusters`` (excluding noise), ``n_noise`` (points labelled
        -1 in the input) and ``contingency`` (``pandas.crosstab``: clusters as rows,
        reference classes as columns).

    Example:
        >>> agreement([0, 0, 1, 1], ["A", "A", "B", "B"])["ari"]
        1.0
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    lab = _as_labels(labels, "labels")
    ref = _check_reference(reference, len(lab))
    if noise not in ("cluster", "exclude"):
        raise ValueError(f"noise: expected 'cluster' or 'exclude', got {noise!r}")
    is_noise = lab == NOISE
    n_noise = int(is_noise.sum())
    if noise == "exclude":
        lab, ref = lab[~is_noise], ref[~is_noise]
    if len(lab) == 0:
        raise ValueError("labels: no points left to score (all are noise or input is empty)")
    ref_codes = pd.factorize(ref, sort=True)[0]
    purity, inverse = _purities(lab, ref)
    contingency = pd.crosstab(
        pd.Series(lab, name="cluster"), pd.Series(ref, name="reference")
    )
    return {
        "ari": float(adjusted_rand_score(ref_codes, lab)),
        "nmi": float(normalized_mutual_info_score(ref_codes, lab)),
        "purity": purity,
        "inverse_purity": inverse,
        "n": int(len(lab)),
        "n_clusters": int(len(set(lab.tolist()) - {NOISE})),
        "n_noise": n_noise,
        "contingency": contingency,
    }


def silhouette(
    X: Any,
    labels: Any,
    metric: str = "cosine",
    *,
    sample_size: int | None = None,
    random_state: int = 42,
) -> float:
    """Mean silhouette coefficient of a clustering (scikit-learn), noise excluded.

    Points labelled ``-1`` are dropped first (noise is not a cluster). Needs at least
    two clusters and fewer clusters than points after that.

    Args:
        X: ``(n_samples, n_features)`` array the distances are measured in.
        labels: Cluster label per row.
        metric: Any scikit-learn pairwise metric (default cosine).
        sample_size: Score a random sample of this many points (large inputs).
        random_state: Seed of that sample.

    Returns:
        Silhouette in [-1, 1].

    Example:
        >>> round(silhouette([[1, 0], [1, 0.1], [0, 1], [0.1, 1]], [0, 0, 1, 1]), 2)
        0.99
    """
    from sklearn.metrics import silhouette_score

    data = _as_matrix(X, "X")
    lab = _as_labels(labels, "labels")
    _check_same_length(data, "X", lab, "labels")
    keep = lab != NOISE
    data, lab = data[keep], lab[keep]
    k = len(np.unique(lab))
    if k < 2 or k >= len(lab):
        raise ValueError(
            f"labels: silhouette needs 2 <= clusters < points (noise excluded), got {k} "
            f"clusters over {len(lab)} points"
        )
    if sample_size is not None and sample_size >= len(lab):
        sample_size = None
    score = silhouette_score(
        data, lab, metric=metric, sample_size=sample_size, random_state=random_state
    )
    return float(score)


def stability(
    X: Any,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    method: str = "kmeans",
    reduce_method: str | None = None,
    reduce_kwargs: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """How much a clustering changes with the seed: pairwise ARI across seeds.

    For each seed ``s``: optionally ``Y = reduce(X, method=reduce_method,
    random_state=s, **reduce_kwargs)`` (pass the embeddings as ``X`` and
    ``reduce_method="umap"`` to test the whole UMAP + clustering pipeline), then
    ``cluster(Y, method=method, random_state=s, **params)``. Every pair of runs is
    compared by adjusted Rand index, noise (``-1``) counted as one group. HDBSCAN and
    agglomerative clustering ignore the seed, so without ``reduce_method`` they score 1
    trivially (a warning says so).

    Args:
        X: Input to cluster (or to reduce first).
        seeds: At least two seeds.
        method: Clustering method (see :func:`cluster`).
        reduce_method: ``None`` (cluster ``X`` directly), ``"umap"`` or ``"pca"``.
        reduce_kwargs: Extra arguments for :func:`reduce` (e.g. ``n_components=5``).
        **params: Clustering parameters (see :func:`cluster`).

    Returns:
        Dict with ``ari_mean``, ``ari_sd``, ``ari_min``, ``ari_max``, ``aris`` (every
        pair's ARI), ``n_pairs``, ``n_clusters`` (list per seed), ``seeds`` and ``labels``
        (seeds x points array).

    Example:
        >>> import numpy as np
        >>> noise = 0.05 * np.random.default_rng(0).normal(size=(30, 3))
        >>> X = np.repeat(np.eye(3), 10, axis=0) + noise
        >>> stability(X, method="kmeans", n_clusters=3)["ari_min"]
        1.0
    """
    from sklearn.metrics import adjusted_rand_score

    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds: need at least two seeds, got {len(seeds)}")
    if reduce_method is None and method in _DETERMINISTIC:
        warnings.warn(
            f"stability: {method} ignores the seed, so the runs are identical; pass "
            "reduce_method='umap' to measure the reduce + cluster pipeline",
            stacklevel=2,
        )
    runs = []
    for s in seeds:
        Y = X
        if reduce_method is not None:
            Y = reduce(X, method=reduce_method, random_state=s, **(reduce_kwargs or {}))
        runs.append(cluster(Y, method=method, random_state=s, **params))
    aris = [adjusted_rand_score(a, b) for a, b in itertools.combinations(runs, 2)]
    return {
        "ari_mean": float(np.mean(aris)),
        "ari_sd": float(np.std(aris, ddof=1)) if len(aris) > 1 else 0.0,
        "aris": [float(a) for a in aris],
        "ari_min": float(np.min(aris)),
        "ari_max": float(np.max(aris)),
        "n_pairs": len(aris),
        "n_clusters": [int(len(set(r.tolist()) - {NOISE})) for r in runs],
        "seeds": seeds,
        "labels": np.vstack(runs),
    }


def shuffled_baseline(
    labels: Any, reference: Any, *, n: int = 100, seed: int = 0
) -> dict[str, float]:
    """Agreement of the clustering with randomly permuted reference labels: chance level.

    The reference is shuffled ``n`` times (class sizes kept), and ARI, NMI and purity are
    computed against each, noise counted as one group as in :func:`agreement`'s default.
    ARI is ~0 by construction; NMI and purity are not chance-corrected, so their
    baseline shows how much of the observed value is free.

    Args:
        labels: Cluster label per point.
        reference: Reference class per point.
        n: Number of shuffles.
        seed: Seed of the permutations.

    Returns:
        Dict with ``ari_mean``, ``ari_sd``, ``nmi_mean``, ``nmi_sd``, ``purity_mean``,
        ``purity_sd`` and ``n``.

    Example:
        >>> out = shuffled_baseline([0] * 5 + [1] * 5, list("AAAAABBBBB"), n=20)
        >>> out["ari_mean"] < 0.2
        True
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    lab = _as_labels(labels, "labels")
    ref = _check_reference(reference, len(lab))
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n: expected a positive integer, got {n!r}")
    codes = pd.factorize(ref, sort=True)[0]
    rng = np.random.default_rng(seed)
    ari, nmi, pur = [], [], []
    for _ in range(n):
        perm = rng.permutation(codes)
        ari.append(adjusted_rand_score(perm, lab))
        nmi.append(normalized_mutual_info_score(perm, lab))
        pur.append(_purities(lab, perm)[0])
    sd = functools.partial(np.std, ddof=1) if n > 1 else (lambda _x: 0.0)
    return {
        "ari_mean": float(np.mean(ari)),
        "ari_sd": float(sd(ari)),
        "nmi_mean": float(np.mean(nmi)),
        "nmi_sd": float(sd(nmi)),
        "purity_mean": float(np.mean(pur)),
        "purity_sd": float(sd(pur)),
        "n": int(n),
    }


# --------------------------------------------------------------------------- over seeds


def seed_table(
    labels_by_seed: Any,
    references: dict[str, Any],
    *,
    seeds: Sequence[int] | None = None,
    n_shuffles: int = 0,
    shuffle_seed: int = 0,
) -> pd.DataFrame:
    """One row per seed's clustering: its size, noise and agreement with each reference.

    The unit of a finding about a seeded pipeline (UMAP + HDBSCAN, k-means) is the
    distribution over seeds, not one run: feed this the ``labels`` of :func:`stability`
    and summarise the columns with :func:`seed_summary`.

    Args:
        labels_by_seed: ``(n_seeds, n_points)`` labels, e.g. ``stability(...)["labels"]``.
        references: ``{name: class per point}`` (e.g. IPC section, topic).
        seeds: Row index (default ``0 .. n_seeds-1``).
        n_shuffles: With ``> 0``, also the shuffled-reference chance level of ARI, NMI and
            purity for each run (:func:`shuffled_baseline`, ``n=n_shuffles``).
        shuffle_seed: Seed of those shuffles.

    Returns:
        DataFrame indexed by ``seed`` with ``clusters``, ``noise`` (points), ``noise share``
        and per reference ``{name} ari|nmi|purity|inverse_purity`` (noise as one group),
        plus ``{name} chance ari|nmi|purity`` with ``n_shuffles``.

    Example:
        >>> seed_table([[0, 0, 1, 1], [0, 1, 1, -1]], {"ipc": list("AABB")})["clusters"].tolist()
        [2, 2]
    """
    runs = np.atleast_2d(np.asarray(labels_by_seed))
    index = list(range(len(runs))) if seeds is None else list(seeds)
    if len(index) != len(runs):
        raise ValueError(f"seeds: expected {len(runs)} seeds, one per row, got {len(index)}")
    rows = []
    for lab in runs:
        lab = _as_labels(lab, "labels_by_seed")
        row: dict[str, float] = {
            "clusters": len(set(lab.tolist()) - {NOISE}),
            "noise": int((lab == NOISE).sum()),
            "noise share": float(np.mean(lab == NOISE)),
        }
        for name, ref in references.items():
            a = agreement(lab, ref)
            row |= {f"{name} {m}": a[m] for m in ("ari", "nmi", "purity", "inverse_purity")}
            if n_shuffles:
                ch = shuffled_baseline(lab, ref, n=n_shuffles, seed=shuffle_seed)
                row |= {f"{name} chance {m}": ch[f"{m}_mean"] for m in ("ari", "nmi", "purity")}
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(index, name="seed"))


def seed_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation, minimum and maximum of every column over the seeds.

    Args:
        table: One row per seed (e.g. :func:`seed_table`).

    Returns:
        DataFrame with one row per column of ``table`` and columns ``mean``, ``sd``
        (ddof=1; 0 for one seed), ``min``, ``max``, ``n_seeds``.
    """
    if len(table) == 0:
        raise ValueError("table: no seeds to summarise")
    num = table.select_dtypes("number").astype(float)
    return pd.DataFrame(
        {
            "mean": num.mean(),
            "sd": num.std(ddof=1).fillna(0.0) if len(num) > 1 else 0.0 * num.mean(),
            "min": num.min(),
            "max": num.max(),
            "n_seeds": len(num),
        }
    )


def perturb(X: Any, relative: float, *, seed: int = 0) -> np.ndarray:
    """``X`` with independent Gaussian noise of ``relative`` times each entry's size.

    A robustness check: vectors from another machine (torch's pre-AVX2 kernels, another
    BLAS, another batch composition) differ from ours by ~1e-7 relative; a finding that
    changes under ``perturb(X, 1e-6)`` is not one to print. ``relative=0`` returns ``X``.
    """
    arr = np.asarray(X)
    if not np.isfinite(relative) or relative < 0:
        raise ValueError(f"relative: expected a finite number >= 0, got {relative!r}")
    if relative == 0:
        return arr
    noise = np.random.default_rng(seed).standard_normal(arr.shape)
    return (arr * (1.0 + relative * noise)).astype(arr.dtype, copy=False)


# --------------------------------------------------------------------------- at scale


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

    Memory: the input may be a memory map (e.g. :func:`toolkit.streaming.open_store`);
    only the sample and one batch of rows are read into memory at a time, plus
    ``n x n_components`` coordinates and ``n`` labels.

    With ``sample_size >= n`` every row is fitted and nothing is assigned. A
    ``min_cluster_size`` chosen for the full set should be scaled by ``sample_size / n``
    for the sample (HDBSCAN's sizes count points).

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
        ValueError: ``vectors`` is not a 2-D finite array (the message names the row),
            an integer argument is below 1 or ``assign`` is unknown (the message names it).

    Example:
        >>> import numpy as np
        >>> X = np.repeat(np.eye(4, 32), 250, axis=0)
        >>> X += 0.05 * np.random.default_rng(0).normal(size=X.shape)
        >>> result = cluster_large(X, sample_size=300, method="kmeans", n_clusters=4)
        >>> result.labels.shape, result.n_clusters
        ((1000,), 4)
    """
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    for name, value in (("sample_size", sample_size), ("n_components", n_components),
                        ("n_neighbors", n_neighbors), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if assign not in ("input", "umap"):
        raise ValueError(f"assign: expected 'input' or 'umap', got {assign!r}")
    arr = vectors if isinstance(vectors, np.ndarray) else np.asarray(vectors)
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(f"vectors: expected a 2-D (n >= 2, d) array, got shape {arr.shape}")
    n, d = arr.shape
    rng = np.random.default_rng(seed)
    sample_index = (
        np.arange(n) if sample_size >= n else np.sort(rng.choice(n, sample_size, replace=False))
    )
    sample = _finite_rows(arr, sample_index)
    fitted = reducer if reducer is not None else _large_reducer(
        d, n_components, seed, dict(umap_kwargs or {})
    )
    sample_coords = np.asarray(fitted.fit_transform(sample), dtype=np.float32)
    sample_labels = cluster(sample_coords, method=method, random_state=seed, **params)
    if not isinstance(fitted, Pipeline):
        assign = "umap"
    # the space rows are assigned in: what UMAP reads (pipeline minus its last step) or UMAP's
    to_space = fitted[:-1].transform if assign == "input" else fitted.transform
    space = to_space(sample) if assign == "input" else sample_coords
    del sample

    labels = np.empty(n, dtype=np.int64)
    coords = np.full((n, sample_coords.shape[1]), np.nan, dtype=np.float32)
    labels[sample_index], coords[sample_index] = sample_labels, sample_coords
    assigner = KNeighborsClassifier(n_neighbors=min(n_neighbors, len(sample_index)))
    assigner.fit(space, sample_labels)
    del space
    rest = np.ones(n, dtype=bool)
    rest[sample_index] = False
    rest_index = np.flatnonzero(rest)
    del rest
    for start in range(0, len(rest_index), batch_size):
        rows = rest_index[start : start + batch_size]
        placed = np.asarray(to_space(_finite_rows(arr, rows)))
        if assign == "umap":
            coords[rows] = placed
        labels[rows] = assigner.predict(placed)
    return LargeClustering(labels, coords, sample_index, fitted, assigner, assign)
