"""How good, how stable and how far from chance a clustering is.

:func:`agreement` with reference classes, :func:`silhouette`, :func:`stability` over seeds,
:func:`shuffled_baseline` (chance level), :func:`seed_table` / :func:`seed_summary` (one row per
seed, then their spread) and :func:`perturb` (a robustness check of the input vectors).
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import as_matrix, check_int
from toolkit.clustering._checks import as_labels, check_same_length
from toolkit.clustering.partition import NOISE, cluster
from toolkit.clustering.reduction import reduce

__all__ = [
    "agreement",
    "perturb",
    "seed_summary",
    "seed_table",
    "shuffled_baseline",
    "silhouette",
    "stability",
]

# Methods of :func:`toolkit.clustering.partition.cluster` that ignore the seed.
_DETERMINISTIC = frozenset({"hdbscan", "agglomerative"})


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

    lab = as_labels(labels, "labels")
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

    sample_size = check_int(sample_size, "sample_size", allow_none=True)
    random_state = check_int(random_state, "random_state", minimum=0, allow_none=True)
    data = as_matrix(X, "X")
    lab = as_labels(labels, "labels")
    check_same_length(data, "X", lab, "labels")
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

    seeds = [check_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds)]
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

    lab = as_labels(labels, "labels")
    ref = _check_reference(reference, len(lab))
    n = check_int(n, "n")
    seed = check_int(seed, "seed", minimum=0)
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
    n_shuffles = check_int(n_shuffles, "n_shuffles", minimum=0)
    shuffle_seed = check_int(shuffle_seed, "shuffle_seed", minimum=0)
    runs = np.atleast_2d(np.asarray(labels_by_seed))
    index = list(range(len(runs))) if seeds is None else list(seeds)
    if len(index) != len(runs):
        raise ValueError(f"seeds: expected {len(runs)} seeds, one per row, got {len(index)}")
    rows = []
    for lab in runs:
        lab = as_labels(lab, "labels_by_seed")
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
    seed = check_int(seed, "seed", minimum=0)
    if relative == 0:
        return arr
    noise = np.random.default_rng(seed).standard_normal(arr.shape)
    return (arr * (1.0 + relative * noise)).astype(arr.dtype, copy=False)
