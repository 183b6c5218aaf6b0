"""Tests of toolkit.lexical_vectors (TF-IDF lemma vectors for the lexical clustering baseline)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from toolkit.lexical_vectors import tfidf_vectors

BRIDGES = ["ОПОРА МОСТА", "ВИСЯЧИЙ МОСТ", "СПОСОБ УСИЛЕНИЯ ОПОРЫ МОСТА", "ПРОЛЁТ МОСТА"]
BREAD = ["ХЛЕБ ИЗ РЖАНОЙ МУКИ", "ТЕСТО ДЛЯ ХЛЕБА", "ЗАКВАСКА ДЛЯ ХЛЕБА", "ПШЕНИЧНАЯ МУКА"]


def test_values_match_the_tfidf_formula_by_hand():
    # doc 0: мост x2, опора x1; doc 1: хлеб x1.  n = 2, every df = 1.
    X, vocab = tfidf_vectors(["МОСТ МОСТА ОПОРА", "ХЛЕБ"])
    assert vocab == ["мост", "опора", "хлеб"]
    idf = math.log(3 / 2) + 1  # smoothed idf, the same for all three lemmas
    raw = np.array([(1 + math.log(2)) * idf, 1 * idf])  # sublinear tf
    expected = raw / np.linalg.norm(raw)
    np.testing.assert_allclose(X[0], [expected[0], expected[1], 0.0], rtol=1e-6)
    np.testing.assert_allclose(X[1], [0.0, 0.0, 1.0], rtol=1e-6)
    assert X.dtype == np.float32


def test_raw_counts_without_sublinear_tf():
    X, _ = tfidf_vectors(["МОСТ МОСТА ОПОРА", "ХЛЕБ"], sublinear_tf=False)
    np.testing.assert_allclose(X[0, :2], np.array([2, 1]) / math.sqrt(5), rtol=1e-6)


def test_boilerplate_only_title_gets_a_zero_row_and_others_are_unit():
    X, vocab = tfidf_vectors(["СПОСОБ И УСТРОЙСТВО", *BRIDGES])
    assert "способ" not in vocab and "устройство" not in vocab
    norms = np.linalg.norm(X, axis=1)
    assert norms[0] == 0
    np.testing.assert_allclose(norms[1:], 1.0, rtol=1e-6)


def test_custom_analyzer_is_used():
    X, vocab = tfidf_vectors(["a b", "b c"], analyzer=str.split)
    assert vocab == ["a", "b", "c"] and X.shape == (2, 3)


def test_svd_reduction_keeps_the_two_topics_apart():
    texts = BRIDGES + BREAD
    exact, vocab = tfidf_vectors(texts)
    reduced, vocab2 = tfidf_vectors(texts, max_dense=1, n_components=4, random_state=0)
    assert vocab2 == vocab
    assert reduced.shape == (8, 4) and exact.shape == (8, len(vocab))
    np.testing.assert_allclose(np.linalg.norm(reduced, axis=1), 1.0, rtol=1e-5)
    # every title's nearest other title is from its own topic, before and after LSA
    for X in (exact, reduced):
        S = X @ X.T
        np.fill_diagonal(S, -np.inf)
        nearest = S.argmax(axis=1)
        assert ((nearest < 4) == (np.arange(8) < 4)).all()


def test_reduction_is_clamped_and_seeded():
    a, _ = tfidf_vectors(BRIDGES + BREAD, max_dense=1, n_components=500, random_state=3)
    b, _ = tfidf_vectors(BRIDGES + BREAD, max_dense=1, n_components=500, random_state=3)
    assert a.shape[1] <= 8
    np.testing.assert_array_equal(a, b)


def test_no_reduction_below_max_dense_or_when_disabled():
    X, vocab = tfidf_vectors(BRIDGES + BREAD, max_dense=None)
    assert X.shape == (8, len(vocab))


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        ("ОПОРА МОСТА", "texts: expected a sequence of strings"),
        ([], "texts: is empty"),
        (["ОПОРА", None], "texts: position 1 is NoneType"),
        (["СПОСОБ И УСТРОЙСТВО", "и"], "none of the 2 texts has a token"),
    ],
)
def test_bad_texts_are_named(texts, match):
    with pytest.raises(ValueError, match=match):
        tfidf_vectors(texts)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_dense": 0}, "max_dense"), ({"n_components": 0}, "n_components")],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tfidf_vectors(BRIDGES, **kwargs)
