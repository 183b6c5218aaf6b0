"""Tests of toolkit.lexical (Russian BM25) and toolkit.fusion's score fusion functions."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.fusion import normalized_fuse, rrf_fuse
from toolkit.lexical import bm25_scores
from toolkit.metrics import retrieval_metrics

TITLES = [
    "РОБОТ ДЛЯ ДОСТАВКИ",
    "Способ производства стали",
    "Устройство доставки почтовых отправлений",
    "Робототехнический комплекс для сварки",
]


def test_russian_morphology_matches_via_stemming():
    s = bm25_scores(["роботы доставки"], TITLES)
    assert s.shape == (1, 4) and s.dtype == np.float32
    # "роботы"/"РОБОТ" -> "робот", "доставки"/"ДОСТАВКИ" -> "доставк": title 0 matches both
    assert int(np.argmax(s[0])) == 0
    assert s[0, 0] > s[0, 2] > 0  # title 2 shares only "доставки"
    assert s[0, 1] == 0
    # without stemming the inflected query word "роботы" no longer matches "робот"
    raw = bm25_scores(["роботы"], TITLES, stemmer=None)
    assert not raw.any()
    assert bm25_scores(["роботы"], TITLES)[0, 0] > 0


def test_stop_words_are_ignored():
    base = bm25_scores(["роботы доставки"], TITLES)
    with_stop = bm25_scores(["роботы для доставки и в"], TITLES)
    np.testing.assert_array_equal(base, with_stop)
    assert not bm25_scores(["для"], TITLES).any()  # stop word only: no evidence, all zeros
    # keeping stop words changes the scores: "для" occurs in two titles
    kept = bm25_scores(["роботы для доставки"], TITLES, stopwords=None)
    assert kept[0, 3] > 0 == base[0, 3]


def test_unknown_words_and_empty_inputs():
    s = bm25_scores(["квантовый компьютер", ""], TITLES)
    assert s.shape == (2, 4) and not s.any()
    assert bm25_scores([], TITLES).shape == (0, 4)
    with pytest.raises(TypeError, match=r"docs\[1\] must be a string"):
        bm25_scores(["x"], ["ok", None])
    with pytest.raises(ValueError, match="stemmer 'klingon'"):
        bm25_scores(["x"], ["y"], stemmer="klingon")


def test_bm25_feeds_retrieval_metrics():
    queries = ["роботы доставки", "производство стали", "комплексы для сварки"]
    s = bm25_scores(queries, TITLES)
    qrels = {"q0": {"t0": 1}, "q1": {"t1": 1}, "q2": {"t3": 1}}
    summary, _ = retrieval_metrics(
        s, qrels, query_ids=["q0", "q1", "q2"], doc_ids=["t0", "t1", "t2", "t3"], ks=(1,)
    )
    assert summary["mrr@1"] == 1.0


def test_rrf_hand_checked_and_tie_rule():
    a = np.array([[3.0, 2.0, 1.0]])
    b = np.array([[1.0, 2.0, 3.0]])
    # k=60: doc0 ranks (1, 3) -> 1/61 + 1/63; doc1 (2, 2) -> 2/62; doc2 (3, 1) -> 1/63 + 1/61
    fused = rrf_fuse([a, b])
    np.testing.assert_allclose(fused, [[1 / 61 + 1 / 63, 2 / 62, 1 / 63 + 1 / 61]], rtol=1e-15)
    # ties inside one system get distinct ranks by doc id descending (trec_eval rule)
    tied = np.array([[1.0, 1.0, 0.0]])
    f = rrf_fuse([tied], k=0, doc_ids=["a", "b", "c"])  # b ranks 1st, a 2nd, c 3rd
    np.testing.assert_allclose(f, [[1 / 2, 1.0, 1 / 3]])
    with pytest.raises(ValueError, match=r"score_matrices\[1\] has shape"):
        rrf_fuse([a, np.zeros((2, 3))])


def test_rrf_matches_brute_force_reference():
    rng = np.random.default_rng(0)
    mats = [rng.integers(0, 5, size=(4, 30)).astype(float) for _ in range(3)]  # many ties
    ids = [f"d{j}" for j in range(30)]
    fused = rrf_fuse(mats, k=10, doc_ids=ids)
    for q in range(4):
        expected = np.zeros(30)
        for m in mats:
            ranked = sorted(range(30), key=lambda j, m=m: (m[q, j], ids[j]), reverse=True)
            for r, j in enumerate(ranked, start=1):
                expected[j] += 1 / (10 + r)
        np.testing.assert_allclose(fused[q], expected, rtol=1e-15)


def test_normalized_fuse():
    a = np.array([[0.0, 5.0, 10.0], [2.0, 2.0, 2.0]])
    b = np.array([[4.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    # row 0: minmax a -> (0, .5, 1), b -> (1, .5, 0); row 1: a constant -> 0, b -> (0, 1/3, 1)
    out = normalized_fuse([a, b], weights=[0.25, 0.75])
    np.testing.assert_allclose(out, [[0.75, 0.5, 0.25], [0.0, 0.25, 0.75]])
    z = normalized_fuse([a], norm="zscore")
    np.testing.assert_allclose(z[0], (a[0] - 5) / np.std(a[0]))
    np.testing.assert_array_equal(z[1], 0)
    with pytest.raises(ValueError, match="weights needs 2"):
        normalized_fuse([a, b], weights=[1.0])
    with pytest.raises(ValueError, match="norm must be"):
        normalized_fuse([a], norm="l2")


def test_hybrid_fusion_beats_each_system_on_a_constructed_case():
    # dense finds doc 0 for q0 but fails q1; BM25 the other way round; fusion gets both in the
    # top 2 while each single system misses one query entirely.
    dense = np.array([[0.9, 0.1, 0.5], [0.8, 0.2, 0.7]])
    lexical = np.array([[0.0, 0.0, 1.0], [0.0, 3.0, 1.0]])
    qrels = {0: {0: 1}, 1: {1: 1}}
    kw = {"query_ids": [0, 1], "doc_ids": [0, 1, 2], "ks": (2,)}
    hit = {
        name: retrieval_metrics(s, qrels, **kw)[0]["hit@2"]
        for name, s in {
            "dense": dense,
            "bm25": lexical,
            "rrf": rrf_fuse([dense, lexical], doc_ids=[0, 1, 2]),
            "minmax": normalized_fuse([dense, lexical]),
        }.items()
    }
    assert hit == {"dense": 0.5, "bm25": 0.5, "rrf": 1.0, "minmax": 1.0}
