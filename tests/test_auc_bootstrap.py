"""toolkit.diagnostics.auc_bootstrap: AUC of pair scores with a CI from resampling queries.

References: ``sklearn.metrics.roc_auc_score`` for the point estimate, and for every resample
the AUC of the drawn queries' pairs stacked explicitly (a query drawn twice appears twice).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from toolkit.diagnostics import auc_bootstrap


def _pairs(seed: int = 0, n_queries: int = 6, per_query: int = 8, shift_sd: float = 0.5):
    rng = np.random.default_rng(seed)
    rows = []
    for q in range(n_queries):
        shift = rng.normal(0, shift_sd)  # queries differ: pairs of one query are correlated
        for j in range(per_query):
            rel = j < 2
            score = round(float(shift + (1.0 if rel else 0.0) + rng.normal(0, 0.7)), 1)  # ties
            rows.append({"query_id": f"q{q}", "score": score, "relevant": rel})
    return pd.DataFrame(rows)


def test_point_estimate_is_sklearn_auc_with_ties():
    p = _pairs()
    assert p["score"].duplicated().any()  # rounding made ties: they count 1/2
    out = auc_bootstrap(p, n_resamples=20)
    assert out["auc"] == pytest.approx(roc_auc_score(p["relevant"], p["score"]), abs=1e-12)
    assert (out["n_queries"], out["n_pairs"], out["n_relevant"]) == (6, 48, 12)


def test_every_resample_is_the_auc_of_some_multiset_of_queries():
    # two queries: a resample is {a, a}, {a, b} or {b, b}; compute the three AUCs by stacking
    p = pd.DataFrame({"query_id": ["a"] * 3 + ["b"] * 3,
                      "score": [0.9, 0.5, 0.1, 0.4, 0.6, 0.2],
                      "relevant": [True, False, False, True, False, False]})  # fmt: skip
    possible = set()
    for combo in itertools.combinations_with_replacement(["a", "b"], 2):
        stacked = pd.concat([p[p["query_id"] == q] for q in combo])
        possible.add(round(roc_auc_score(stacked["relevant"], stacked["score"]), 12))
    # by hand: a alone 1 (0.9 beats 0.5, 0.1), b alone 1/2 (0.4 beats 0.2, not 0.6); both:
    # 0.9 beats all four negatives, 0.4 beats 0.1 and 0.2 -> 6 of 8
    assert possible == {1.0, 0.5, 0.75}
    out = auc_bootstrap(p, n_resamples=300, seed=1)
    assert {round(s, 12) for s in out["samples"]} == possible
    assert out["auc"] == pytest.approx(0.75)


def test_interval_is_the_percentile_interval_of_the_resamples_and_seeded():
    p = _pairs(seed=3, n_queries=10)
    a = auc_bootstrap(p, n_resamples=400, seed=7)
    b = auc_bootstrap(p, n_resamples=400, seed=7)
    np.testing.assert_array_equal(a["samples"], b["samples"])
    lo, hi = np.quantile(a["samples"], [0.025, 0.975])
    assert (a["low"], a["high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert a["low"] <= a["auc"] <= a["high"] and a["high"] - a["low"] > 0.01
    c = auc_bootstrap(p, n_resamples=400, seed=8)
    assert not np.array_equal(a["samples"], c["samples"])


def test_resampling_queries_is_wider_than_resampling_pairs():
    # half the queries separate their pairs perfectly, half not at all: which queries are drawn
    # moves the AUC a lot, which a pair-level bootstrap (pairs as if independent) cannot see
    rng = np.random.default_rng(5)
    rows = [
        {"query_id": f"q{q}", "relevant": j < 10,
         "score": float(rng.normal(0, 0.3) + (3.0 if (j < 10 and q % 2) else 0.0))}
        for q in range(10) for j in range(30)
    ]  # fmt: skip
    p = pd.DataFrame(rows)
    by_query = auc_bootstrap(p, n_resamples=500, seed=0)
    pair_level = []
    for _ in range(500):
        s = p.iloc[rng.integers(0, len(p), len(p))]
        pair_level.append(roc_auc_score(s["relevant"], s["score"]))
    assert np.std(by_query["samples"]) > 2 * np.std(pair_level)


def test_bad_pairs():
    with pytest.raises(ValueError, match="missing column"):
        auc_bootstrap(pd.DataFrame({"score": [1.0], "relevant": [True]}))
    with pytest.raises(ValueError, match="score at row 1 is nan"):
        auc_bootstrap(pd.DataFrame({"query_id": ["a", "a"], "score": [1.0, np.nan],
                                    "relevant": [True, False]}))  # fmt: skip
    with pytest.raises(ValueError, match="n_resamples must be an integer >= 1"):
        auc_bootstrap(_pairs(), n_resamples=0)
