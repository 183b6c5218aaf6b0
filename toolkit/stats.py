"""Statistics over queries, seeds and folds: bootstrap intervals, paired tests, Holm, spreads.

Every function here is a pure function of plain numbers (one value per query, per seed or
per fold), seeded where it resamples:

* :func:`bootstrap_ci` -- percentile bootstrap confidence interval of a mean;
* :func:`paired_test` -- paired sign-flip test of a difference of means, with its interval;
* :func:`holm` -- Holm-adjusted p-values of one family of tests;
* :func:`aggregate_seeds` -- mean, sd and count of each metric across seeds or folds.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_resampling

__all__ = ["aggregate_seeds", "bootstrap_ci", "holm", "paired_test"]


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
            :func:`toolkit.metrics.retrieval_metrics`). Non-numeric values (names, paths) are
            skipped; a metric missing from some results is aggregated over those that have it.

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
