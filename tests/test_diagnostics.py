"""toolkit.diagnostics: embedding-space diagnostics (nearest titles, kNN label agreement,
anisotropy, hubness).

Moved here from test_evaluate.py (nearest_titles, neighbour_agreement) and test_metrics.py
(anisotropy, hubness); query_margins and pair_similarities (also in toolkit.diagnostics) are
tested in test_metrics.py, next to the metrics cases they share.
"""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.diagnostics import anisotropy, hubness, nearest_titles, neighbour_agreement


def test_nearest_titles_one_hot():
    emb = np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    texts = ["a", "b", "c", "d"]
    nn = nearest_titles(emb, texts, rows=[0], k=2)
    assert list(nn["neighbour"]) == ["b", "c"]  # c (0.0) ties d (0.0): lower position wins
    assert nn["cosine"].round(6).tolist() == [0.8, 0.0]


def test_neighbour_agreement_by_hand():
    # rows 0,1 point one way, rows 2,3 another; row 4 sits next to row 0 but is labelled "b"
    emb = np.array([[1, 0], [0.99, 0.141], [0, 1], [0.141, 0.99], [0.995, -0.0999]])
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    labels = ["a", "a", "b", "b", "b"]
    # k=1 nearest: 0->4 (b, miss), 1->0 (hit), 2->3 (hit), 3->2 (hit), 4->0 (a, miss)
    assert neighbour_agreement(emb, labels, k=1) == pytest.approx(3 / 5)
    assert neighbour_agreement(emb, ["a", "a", None, None, "b"], k=1) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="labels has 2 entries"):
        neighbour_agreement(emb, ["a", "b"])


def test_anisotropy_against_sklearn():
    from sklearn.metrics.pairwise import cosine_similarity

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(300, 16)) + 2.0  # shifted: a narrow cone
    c = cosine_similarity(emb)
    ref = c[~np.eye(300, dtype=bool)].mean()
    assert anisotropy(emb, sample=1000) == pytest.approx(ref, abs=1e-6)
    sub = anisotropy(emb, sample=100, seed=1)
    assert sub == anisotropy(emb, sample=100, seed=1)
    assert abs(sub - ref) < 0.05
    assert abs(anisotropy(rng.normal(size=(500, 64)))) < 0.01  # isotropic


def test_hubness_against_sklearn_neighbours():
    from scipy.stats import skew
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(400, 20))
    out = hubness(emb, k=10, chunk_size=64)
    nn = NearestNeighbors(n_neighbors=11, metric="cosine", algorithm="brute").fit(emb)
    idx = nn.kneighbors(emb, return_distance=False)
    neigh = [[j for j in row if j != i][:10] for i, row in enumerate(idx)]
    ref = np.bincount(np.ravel(neigh), minlength=400)
    np.testing.assert_array_equal(out["k_occurrence"], ref)
    assert out["skewness"] == pytest.approx(skew(ref))
    assert out["k_occurrence"].sum() == 400 * 10 and out["n"] == 400
    hubs = out["hubs"]
    assert hubs["k_occurrence"].iloc[0] == ref.max()
    assert list(hubs.columns) == ["index", "k_occurrence"] and len(hubs) == 10
