"""clustering.cluster_large: fit on a seeded sample, assign the rest; agreement with a full fit."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.clustering import agreement, cluster_large


def _blobs(n: int = 2400, k: int = 5, d: int = 64, sd: float = 0.3, seed: int = 0):
    """Well-separated Gaussian blobs (centres ~ N(0, I), spread ``sd``) and their truth."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    truth = rng.integers(0, k, n)
    return (centres[truth] + sd * rng.normal(size=(n, d))).astype(np.float32), truth


@pytest.fixture(scope="module")
def fitted():
    X, truth = _blobs()
    sampled = cluster_large(X, sample_size=500, seed=0, min_cluster_size=25)
    full = cluster_large(X, sample_size=len(X), seed=0, min_cluster_size=120)
    return X, truth, sampled, full


def test_sample_fit_agrees_with_full_fit_and_truth(fitted):
    X, truth, sampled, full = fitted
    assert sampled.labels.shape == (len(X),) and sampled.coords.shape == (len(X), 5)
    assert len(sampled.sample_index) == 500 and np.all(np.diff(sampled.sample_index) > 0)
    assert len(full.sample_index) == len(X)
    # the bound: blobs this far apart must be recovered; a random assignment scores ~0
    vs_full = agreement(sampled.labels, full.labels)
    vs_truth = agreement(sampled.labels, truth)
    assert vs_full["ari"] > 0.9 and vs_full["nmi"] > 0.9
    assert vs_truth["ari"] > 0.9 and vs_truth["nmi"] > 0.9
    shuffled = np.random.default_rng(1).permutation(sampled.labels)
    assert agreement(shuffled, truth)["ari"] < 0.1


def test_assigned_rows_take_their_neighbours_label(fitted):
    X, _, sampled, _ = fitted
    assert sampled.assign == "input"
    rows = np.setdiff1d(np.arange(len(X)), sampled.sample_index)[:50]
    placed = sampled.reducer[:-1].transform(X[rows])  # the space UMAP reads
    np.testing.assert_array_equal(sampled.assigner.predict(placed), sampled.labels[rows])
    assert np.isnan(sampled.coords[rows]).all()  # only the sample was laid out
    assert np.isfinite(sampled.coords[sampled.sample_index]).all()


def test_umap_transform_assignment_agrees_and_lays_out_every_row(fitted):
    X, truth, sampled, _ = fitted
    by_umap = cluster_large(X, sample_size=500, seed=0, min_cluster_size=25, assign="umap")
    np.testing.assert_array_equal(by_umap.labels[by_umap.sample_index],
                                  sampled.labels[sampled.sample_index])  # same sample fit
    assert np.isfinite(by_umap.coords).all()
    assert agreement(by_umap.labels, sampled.labels)["ari"] > 0.9
    assert agreement(by_umap.labels, truth)["ari"] > 0.9


def test_same_seed_same_labels_and_kmeans(fitted):
    X, truth, _, _ = fitted
    a = cluster_large(X[:900], sample_size=300, seed=4, method="kmeans", n_clusters=5,
                      batch_size=128)
    b = cluster_large(X[:900], sample_size=300, seed=4, method="kmeans", n_clusters=5)
    np.testing.assert_array_equal(a.labels, b.labels)  # batch size does not matter
    assert a.n_clusters == 5 and agreement(a.labels, truth[:900])["ari"] > 0.9


def test_bad_input_names_argument_or_row():
    X, _ = _blobs(n=300, d=8)
    X[250, 3] = np.nan
    with pytest.raises(ValueError, match="sample_size must be an integer >= 1"):
        cluster_large(X, sample_size=0)
    with pytest.raises(ValueError, match="assign: expected 'input' or 'umap', got 'tsne'"):
        cluster_large(X, assign="tsne")
    with pytest.raises(ValueError, match=r"vectors: expected a 2-D"):
        cluster_large(X[0])
    with pytest.raises(ValueError, match="row 250 contains NaN"):
        # whether row 250 falls in the sample or among the assigned rows, it is named
        cluster_large(X, sample_size=200, seed=0, method="kmeans", n_clusters=3)
