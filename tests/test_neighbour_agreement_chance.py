"""toolkit.diagnostics.neighbour_agreement_chance: kNN label agreement with labels permuted.

Reference: the exact expectation under permutation, computed by hand or by counting, and an
explicit permutation loop over neighbour_agreement itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.diagnostics import neighbour_agreement, neighbour_agreement_chance


def _emb(n: int = 40, dim: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_expected_by_hand_and_permutation_mean_matches_it():
    # 4 points, labels a a b b: a point's neighbour is one of the 3 others, 1 of which shares
    # its label -> 1/3 whatever the neighbour graph
    out = neighbour_agreement_chance(np.eye(4), ["a", "a", "b", "b"], k=1, n_permutations=3000)
    assert out["expected"] == pytest.approx(1 / 3)
    assert out["mean"] == pytest.approx(1 / 3, abs=0.02)
    # unequal classes, k = 3: sum_c n_c (n_c - 1) / (n (n - 1)) = (20*19 + 15*14 + 5*4) / (40*39)
    labels = ["x"] * 20 + ["y"] * 15 + ["z"] * 5
    out = neighbour_agreement_chance(_emb(), labels, k=3, n_permutations=2000, seed=1)
    assert out["expected"] == pytest.approx((380 + 210 + 20) / 1560)
    assert abs(out["mean"] - out["expected"]) < 3 * out["sd"] / np.sqrt(2000) + 1e-3
    assert out["sd"] > 0 and out["n_permutations"] == 2000


def test_each_permutation_is_neighbour_agreement_of_shuffled_labels():
    emb = _emb(n=25, seed=2)
    labels = ["p", "q", "r", None, "p"] * 5  # None: never scored, never a match
    out = neighbour_agreement_chance(emb, labels, k=2, n_permutations=50, seed=4)
    rng = np.random.default_rng(4)
    values = []
    for _ in range(50):
        perm = rng.permutation(len(labels))
        values.append(neighbour_agreement(emb, [labels[i] for i in perm], k=2))
    assert out["mean"] == pytest.approx(np.mean(values))
    assert out["sd"] == pytest.approx(np.std(values, ddof=1))
    # expected with unknown labels: 15 labelled 'p' 10, 'q' 5, 'r' 5 -> (10*9 + 5*4 + 5*4) /
    # (20 labelled * 24 others)
    assert out["expected"] == pytest.approx((90 + 20 + 20) / (20 * 24))


def test_observed_structure_is_far_above_chance():
    # two tight clusters, labels follow them: agreement 1, chance about 0.47
    emb = np.vstack([np.tile([1.0, 0.0], (10, 1)), np.tile([0.0, 1.0], (10, 1))])
    emb = emb + np.random.default_rng(0).normal(0, 0.01, emb.shape)
    labels = ["a"] * 10 + ["b"] * 10
    assert neighbour_agreement(emb, labels, k=3) == 1.0
    out = neighbour_agreement_chance(emb, labels, k=3, seed=0)
    assert out["expected"] == pytest.approx(2 * 10 * 9 / (20 * 19))
    assert 1.0 > out["mean"] + 5 * out["sd"]


def test_bad_input():
    with pytest.raises(ValueError, match="n_permutations must be an integer >= 2"):
        neighbour_agreement_chance(np.eye(3), ["a", "b", "a"], k=1, n_permutations=1)
    with pytest.raises(ValueError, match="all None"):
        neighbour_agreement_chance(np.eye(3), [None] * 3, k=1)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        neighbour_agreement_chance(np.eye(3), ["a", "b"], k=1)
