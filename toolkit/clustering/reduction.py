"""Reduce embeddings to a few dimensions: :func:`reduce` (UMAP or PCA, cached on disk).

UMAP runs with the cosine metric, after a PCA pre-reduction for large wide inputs; below 4,096
points the distance matrix and the spectral initialisation are computed here so that neither the
CPU nor the BLAS kernel moves the coordinates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from toolkit._config import cache_dir
from toolkit._io import write_atomic
from toolkit._validation import as_matrix, check_int, unit_rows

__all__ = ["PCA_ABOVE", "PCA_COMPONENTS", "reduce"]

logger = logging.getLogger(__name__)

# Default PCA pre-reduction: above this many points, inputs wider than
# ``pca_components`` are first projected with PCA. 4096 is also where umap-learn
# switches from exact neighbours to NN-descent, whose cost grows with dimensionality.
PCA_ABOVE = 4096
PCA_COMPONENTS = 50
_CACHE_VERSION = 2  # 2: exact neighbours from our own float32-rounded distances



def _fingerprint(X: np.ndarray) -> str:
    """sha256 of the array's bytes, shape and dtype."""
    arr = np.ascontiguousarray(X)
    h = hashlib.sha256()
    h.update(f"{arr.shape}|{arr.dtype.str}|".encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _cache_path(key_parts: dict[str, Any]) -> Path:
    blob = json.dumps(key_parts, sort_keys=True, default=repr).encode()
    return cache_dir() / "reduce" / f"{hashlib.sha256(blob).hexdigest()}.npy"


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


@dataclass(frozen=True)
class _Plan:
    """What :func:`reduce` will run, its arguments checked."""

    method: str
    n_components: int
    random_state: int | None
    pre_pca: int | None  # dimensions of the PCA pre-reduction before UMAP, None for none
    kwargs: dict[str, Any]


def _prepare(
    embeddings: Any,
    method: str,
    n_components: Any,
    random_state: Any,
    pca_above: Any,
    pca_components: Any,
    kwargs: dict[str, Any],
) -> tuple[np.ndarray, _Plan]:
    """Check :func:`reduce`'s arguments; return the embeddings as a matrix and the plan."""
    if method not in ("umap", "pca"):
        raise ValueError(f"method: expected 'umap' or 'pca', got {method!r}")
    n_components = check_int(n_components, "n_components")
    random_state = check_int(random_state, "random_state", minimum=0, allow_none=True)
    pca_above = check_int(pca_above, "pca_above", minimum=0, allow_none=True)
    pca_components = check_int(pca_components, "pca_components")
    X = as_matrix(embeddings, "embeddings")
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
    plan = _Plan(method, n_components, random_state, pca_components if pre_pca else None, kwargs)
    return X, plan


def _cache_key(X: np.ndarray, plan: _Plan) -> dict[str, Any]:
    """Everything the coordinates depend on: the data, every parameter, the library versions."""
    import sklearn

    versions = {"sklearn": sklearn.__version__}
    if plan.method == "umap":
        import umap

        from toolkit._numerics import numba_target

        versions["umap"] = umap.__version__
        versions["numba target"] = numba_target()  # coordinates depend on it
    return {
        "v": _CACHE_VERSION,
        "data": _fingerprint(X),
        "method": plan.method,
        "n_components": plan.n_components,
        "random_state": plan.random_state,
        "pca": plan.pre_pca,
        "kwargs": plan.kwargs,
        "versions": versions,
    }


def _umap(U: np.ndarray, plan: _Plan) -> np.ndarray:
    """UMAP of the unit rows ``U``, made portable where umap-learn's exact path allows.

    Below 4,096 points (umap-learn's exact-neighbour path), without PCA pre-reduction and
    with the cosine or euclidean metric, the distance matrix (:func:`_portable_distances`)
    and the spectral initialisation (:func:`_portable_spectral_init`) are computed here, so
    neither the CPU nor the BLAS kernel changes the coordinates. Above 4,096 points PCA and
    umap-learn's ARPACK initialisation still use BLAS, so last-bit differences between
    machines remain possible there.
    """
    import umap
    from sklearn.decomposition import PCA

    n = U.shape[0]
    params: dict[str, Any] = {"n_neighbors": 15, "min_dist": 0.1}
    params.update(plan.kwargs)
    params.setdefault("metric", "euclidean" if plan.pre_pca else "cosine")
    params["n_neighbors"] = max(2, min(int(params["n_neighbors"]), n - 1))
    if plan.random_state is not None:
        params["n_jobs"] = 1  # what umap-learn forces anyway under a seed; say so, no warning
    if plan.pre_pca:
        U = PCA(n_components=plan.pre_pca, random_state=plan.random_state).fit_transform(U)
    if not plan.pre_pca and n < _UMAP_EXACT_BELOW and params["metric"] in _PORTABLE_METRICS:
        U, params = _portable_distances(U, params)
        if "init" not in params:
            init = _portable_spectral_init(U, params, plan.n_components, plan.random_state)
            if init is not None:
                params["init"] = init
    model = umap.UMAP(n_components=plan.n_components, random_state=plan.random_state, **params)
    with warnings.catch_warnings():  # reduce never offers inverse_transform
        warnings.filterwarnings("ignore", message="using precomputed metric")
        return model.fit_transform(U)


def _project(X: np.ndarray, plan: _Plan) -> np.ndarray:
    """Run the plan on the L2-normalised rows of ``X``; ``float32`` coordinates."""
    from sklearn.decomposition import PCA

    U = unit_rows(X.astype(np.float64, copy=False), "embeddings", zero_rows="raise")
    if plan.method == "pca":
        pca = PCA(n_components=plan.n_components, random_state=plan.random_state, **plan.kwargs)
        coords = pca.fit_transform(U)
    else:
        coords = _umap(U, plan)
    return np.asarray(coords, dtype=np.float32)


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
    * Portable results: ``import toolkit`` pins numba to the ``generic`` CPU target, and
      below 4,096 points (without PCA pre-reduction, cosine or euclidean metric) the
      distances and the spectral initialisation are computed exactly here, so neither the
      CPU nor the BLAS kernel changes the coordinates (docs/numerics.md).
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
        X = as_matrix(embeddings, "embeddings")
        return np.asarray(reducer.fit_transform(X), dtype=np.float32)
    X, plan = _prepare(
        embeddings, method, n_components, random_state, pca_above, pca_components, kwargs
    )
    path = _cache_path(_cache_key(X, plan)) if cache and plan.random_state is not None else None
    hit = None if path is None else _load_cached(path, X.shape[0], plan.n_components)
    if hit is not None:
        return hit
    coords = _project(X, plan)
    if path is not None:
        _save_cached(path, coords)
    return coords
