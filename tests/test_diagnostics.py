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


# ------------------------------------------------------------------------------- by_topic


def _per_query():
    import pandas as pd

    a = pd.DataFrame(
        {"query_id": ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"],
         "ndcg@10": [1.0, 0.0, 0.5, 0.5, 1.0, 0.2, 0.2, 0.2],
         "mrr@10": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}
    )  # fmt: skip
    b = a.iloc[::-1].copy()  # another row order: values must be matched by query_id
    b["ndcg@10"] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2][::-1]
    return {"a": a, "b": b}


def _topics(table):
    return [None if isinstance(t, float) and np.isnan(t) else t for t in table["topic"]]


# x: q1, q2 (a 0.5); y: q3 (a 0.5); z: q4 (a 0.5); t: q6, q7, q8 (a 0.2); q5: no topic (a 1.0)
TOPICS = {"q1": "x", "q2": "x", "q3": "y", "q4": "z", "q6": "t", "q7": "t", "q8": "t"}


def test_by_topic_by_hand():
    import pandas as pd

    from toolkit.diagnostics import by_topic
    from toolkit.stats import bootstrap_ci

    out = by_topic(_per_query(), TOPICS, ci_min_n=None)
    assert list(out.columns) == ["topic", "n", "a", "b"]
    # n descending first (t has the lowest mean but the most queries), then a's mean
    # descending (None 1.0 before the 0.5 ties), then topic
    assert _topics(out) == ["t", "x", None, "y", "z"]
    assert out["n"].tolist() == [3, 2, 1, 1, 1]
    assert out["a"].tolist() == pytest.approx([0.2, 0.5, 1.0, 0.5, 0.5])
    # b is matched by query_id, not by row: q1 0.9, q2 0.8 -> x 0.85; q6..q8 0.4, 0.3, 0.2
    assert out["b"].tolist() == pytest.approx([0.3, 0.85, 0.5, 0.7, 0.6])
    assert out["n"].sum() == 8
    # CIs only where n >= ci_min_n, equal to bootstrap_ci of that topic's values
    ci = by_topic(_per_query(), TOPICS, ci_min_n=3, n_resamples=500, seed=4)
    assert list(ci.columns) == ["topic", "n", "a", "a_low", "a_high", "b", "b_low", "b_high"]
    ref = bootstrap_ci([0.4, 0.3, 0.2], n_resamples=500, seed=4)
    assert (ci.loc[0, "b_low"], ci.loc[0, "b_high"]) == (ref["low"], ref["high"])
    assert ci.loc[1:, ["a_low", "a_high", "b_low", "b_high"]].isna().all().all()
    assert by_topic(_per_query(), TOPICS)[["a_low", "b_high"]].isna().all().all()  # default 10
    # one system, another metric; the order follows that system
    one = by_topic(_per_query(), TOPICS, metric="mrr@10", systems=["b"], ci_min_n=None)
    assert list(one.columns) == ["topic", "n", "b"] and (one["b"] == 1.0).all()
    assert _topics(one) == ["t", "x", "y", "z", None]  # equal means: by topic, None last
    assert isinstance(out, pd.DataFrame)


def test_by_topic_bad_inputs():
    from toolkit.diagnostics import by_topic

    pq = _per_query()
    with pytest.raises(TypeError, match="per_query must be a non-empty dict"):
        by_topic({}, TOPICS)
    with pytest.raises(TypeError, match="topics must be a dict"):
        by_topic(pq, ["x"])
    with pytest.raises(ValueError, match=r"systems: expected names of per_query \['a', 'b'\]"):
        by_topic(pq, TOPICS, systems=["c"])
    with pytest.raises(ValueError, match="ci_min_n must be an integer >= 2"):
        by_topic(pq, TOPICS, ci_min_n=1)
    with pytest.raises(ValueError, match=r"per_query\['a'\]: missing column\(s\) \['hit@1'\]"):
        by_topic(pq, TOPICS, metric="hit@1")
    short = {"a": pq["a"], "b": pq["b"].iloc[1:]}
    with pytest.raises(ValueError, match="'b' and 'a' cover different queries"):
        by_topic(short, TOPICS)
    nan = {"a": pq["a"].assign(**{"ndcg@10": np.nan})}
    with pytest.raises(ValueError, match="one finite 'ndcg@10' per query_id"):
        by_topic(nan, TOPICS)
    twice = {"a": pq["a"].iloc[[0, 0, 1]]}
    with pytest.raises(ValueError, match="one finite 'ndcg@10' per query_id"):
        by_topic(twice, TOPICS)
    with pytest.raises(ValueError, match="the tables have no query"):
        by_topic({"a": pq["a"].iloc[:0]}, TOPICS)
