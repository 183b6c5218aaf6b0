"""toolkit.evaluation: the one scoring path and its zero-vector policy.

The comparison tables, notebook tables and the CLI are tested in test_evaluate.py (their
old home, kept for the deprecated import path); this module tests what is new: every route
of evaluate_system, compare_per_query, and one result for an all-zero vector.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.data import RetrievalSet
from toolkit.evaluation import (
    before_after,
    compare_per_query,
    compare_systems,
    evaluate_model,
    evaluate_system,
)

QUERIES = {"q1": "альфа", "q2": "бета", "q3": "пусто"}
CORPUS = {"d1": "АЛЬФА", "d2": "БЕТА", "d3": "ГАММА"}
QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}}
VECTORS = {
    "альфа": [1.0, 0.0, 0.0],
    "бета": [0.0, 1.0, 0.0],
    "пусто": [0.0, 0.0, 0.0],  # a text with no known word: encode returns a zero vector
    "АЛЬФА": [0.9, 0.1, 0.0],
    "БЕТА": [0.1, 0.9, 0.0],
    "ГАММА": [0.0, 0.2, 0.8],
}


class FakeModel:
    """Duck-typed model: fixed vectors per text (no torch), like a static model."""

    def encode(self, texts, **kw):
        return np.array([VECTORS[t] for t in texts], dtype=np.float32)

    def get_embedding_dimension(self):
        return 3

    def __len__(self):  # model_label() names the first module
        return 0


@pytest.fixture()
def rs():
    return RetrievalSet(queries=QUERIES, corpus=CORPUS, qrels=QRELS)


@pytest.fixture()
def no_cache(monkeypatch):
    """encode() without the on-disk cache (the fake model has no fingerprint)."""
    import toolkit.encoding as enc

    real = enc.encode
    monkeypatch.setattr(enc, "encode", lambda m, t, **kw: real(m, t, **{**kw, "cache": False}))


def _emb(texts):
    x = np.array([VECTORS[t] for t in texts], dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def test_all_zero_query_gives_one_result_through_every_route(rs, no_cache):
    qids, ks = rs.query_ids, (1, 3)
    q, d = _emb([rs.queries[i] for i in qids]), _emb(list(rs.corpus.values()))
    by_model = evaluate_system(FakeModel(), rs, None, ks=ks).set_index("query_id")
    by_emb = evaluate_system((q, d), rs, None, ks=ks).set_index("query_id")
    by_scores = evaluate_system(q @ d.T, rs, None, ks=ks).set_index("query_id")
    cmp = compare_systems(rs, FakeModel(), split=None, baselines=(), ks=ks, n_resamples=50)
    by_compare = cmp.per_query["dense"].set_index("query_id")
    by_before_after = evaluate_model(FakeModel(), rs, None, ks=ks).set_index("query_id")
    cols = ["mrr@1", "mrr@3", "ndcg@3", "first_relevant_rank"]
    for other in (by_emb, by_scores, by_compare, by_before_after):
        pd.testing.assert_frame_equal(by_model[cols], other.loc[by_model.index, cols])
    # the zero query scores 0 against every title: ranked by the tie rule (doc id descending)
    assert by_model.loc["q3", "first_relevant_rank"] == 1
    assert by_model.loc["q3", "mrr@3"] == 1.0


def test_evaluate_system_rejects_a_bad_pair(rs):
    with pytest.raises(ValueError, match="pair"):
        evaluate_system((np.eye(3),) * 3, rs, None)


def test_compare_per_query_is_what_before_after_and_compare_systems_build():
    qids = ["a", "b", "c", "d"]
    base = pd.DataFrame({"query_id": qids, "ndcg@10": [0.5, 0.2, 0.4, 0.1]})
    better = pd.DataFrame({"query_id": qids[::-1], "ndcg@10": [0.6, 0.9, 0.7, 1.0]})
    direct = compare_per_query({"base": base, "x": better}, ["ndcg@10"], reference="base")
    via = before_after(base, {"x": better}, metrics=("ndcg@10",))
    pd.testing.assert_frame_equal(direct, via)
    plain = compare_per_query({"base": base, "x": better})
    assert list(plain.columns) == ["system", "metric", "mean", "low", "high", "n"]
    with pytest.raises(ValueError, match="reference 'nope'"):
        compare_per_query({"base": base}, reference="nope")


@pytest.mark.parametrize("module", ["toolkit.evaluate", "toolkit.reproduction"])
def test_old_modules_warn_once_on_import_naming_the_new_home(module):
    import importlib
    import sys
    import warnings

    sys.modules.pop(module, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mod = importlib.import_module(module)
        for name in mod.__all__:  # every old name still resolves, without another warning
            getattr(mod, name)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == 1
    assert "toolkit.evaluation" in str(deprecations[0].message)
