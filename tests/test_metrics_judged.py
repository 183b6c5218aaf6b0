"""judged@k in toolkit.metrics: hand-computed cases and ir_measures' definition.

ir_measures (``Judged@k``) is not installed in the project's environment, so its definition is
checked through its documented equivalence instead ("P@k with a rel lower than any judgment"):
shifting every grade up by one and asking for precision@k (itself tested against ranx in
test_metrics.py) must give judged@k whenever k <= the number of ranked documents.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.data import RetrievalSet
from toolkit.evaluation import evaluate_system
from toolkit.metrics import retrieval_metrics, retrieval_metrics_from_embeddings

DOCS = ["d1", "d2", "d3", "d4", "d5"]
SCORES = np.array([[0.9, 0.8, 0.7, 0.6, 0.5]])  # ranking d1 > d2 > d3 > d4 > d5


def _judged(scores, qrels, ks, **kw):
    summary, table = retrieval_metrics(
        scores, qrels, query_ids=["q"], doc_ids=DOCS, ks=ks, judged=True, **kw
    )
    return summary, table


def test_hand_computed_shares():
    # judged: d1 (grade 0), d2 (grade 1), d5 (grade 0)
    summary, table = _judged(SCORES, {"q": {"d2": 1, "d1": 0, "d5": 0}}, (1, 2, 3, 5))
    assert summary["judged@1"] == 1.0  # d1 is judged (non-relevant counts as judged)
    assert summary["judged@2"] == 1.0  # d1, d2
    assert summary["judged@3"] == pytest.approx(2 / 3)  # d3 unjudged
    assert summary["judged@5"] == pytest.approx(3 / 5)
    assert table.loc[0, "judged@3"] == pytest.approx(2 / 3)
    # the other metrics still treat grade 0 as not relevant
    assert summary["precision@1"] == 0.0 and summary["mrr@5"] == 0.5


def test_k_beyond_the_ranking_divides_by_documents_ranked():
    # ir_measures: value = judged / min(k, len(run)); the run here is the whole corpus (5)
    summary, _ = _judged(SCORES, {"q": {"d2": 1, "d1": 0, "d5": 0}}, (10,))
    assert summary["judged@10"] == pytest.approx(3 / 5)
    # precision@10 keeps trec_eval's k denominator: only judged@k follows ir_measures here
    assert summary["precision@10"] == pytest.approx(1 / 10)


def test_excluded_documents_are_not_ranked():
    # d1 excluded: ranking d2 d3 d4 d5 (4 documents ranked)
    qrels = {"q": {"d2": 1, "d1": 0, "d5": 0}}
    summary, _ = _judged(SCORES, qrels, (1, 3, 10), exclude={"q": {"d1"}})
    assert summary["judged@1"] == 1.0
    assert summary["judged@3"] == pytest.approx(1 / 3)
    assert summary["judged@10"] == pytest.approx(2 / 4)


def test_ties_follow_the_metrics_tie_rule():
    # all tied: doc id descending -> c, b, a
    s = np.array([[0.5, 0.5, 0.5]])
    summary, _ = retrieval_metrics(
        s, {"q": {"a": 1, "c": 0}}, query_ids=["q"], doc_ids=["a", "b", "c"], ks=(1, 2),
        judged=True,
    )  # fmt: skip
    assert summary["judged@1"] == 1.0 and summary["judged@2"] == 0.5


def test_queries_scored_like_the_other_metrics():
    scores = np.array([[0.9, 0.8, 0.7, 0.6, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]])
    qrels = {
        "a": {"d1": 0, "d2": 0},  # no relevant document: skipped by every metric
        "b": {"zz": 1, "d5": 0},  # relevant doc not in the corpus: scored, judged@1 = 1
    }
    # (with b alone no relevant doc is in the corpus and every metric refuses; add c)
    qrels["c"] = {"d1": 2}
    scores = np.vstack([scores, SCORES])
    with pytest.warns(UserWarning, match="not in doc_ids"):
        summary, table = retrieval_metrics(
            scores, qrels, query_ids=["a", "b", "c"], doc_ids=DOCS, ks=(1, 2), judged=True
        )
    assert table["query_id"].tolist() == ["b", "c"]
    assert table.attrs["skipped_query_ids"] == ["a"]
    assert table["judged@1"].tolist() == [1.0, 1.0]  # b: d5 first; c: d1 first
    assert table["judged@2"].tolist() == [0.5, 0.5]


def test_off_by_default_and_flag_checked():
    summary, table = retrieval_metrics(SCORES, {"q": {"d1": 1}}, query_ids=["q"], doc_ids=DOCS)
    assert not [c for c in table.columns if c.startswith("judged")]
    assert not [k for k in summary if k.startswith("judged")]
    with pytest.raises(TypeError, match="judged must be True or False, got 'yes'"):
        retrieval_metrics(SCORES, {"q": {"d1": 1}}, query_ids=["q"], doc_ids=DOCS, judged="yes")


@pytest.mark.parametrize("seed", range(5))
def test_equals_precision_with_every_judgment_made_relevant(seed):
    """ir_measures: Judged@k is "P@k with a rel lower than any judgment"."""
    rng = np.random.default_rng(seed)
    n_q, n_d = 12, 40
    scores = rng.integers(0, 6, size=(n_q, n_d)).astype(np.float64)  # many ties on purpose
    qids, dids = [f"q{i}" for i in range(n_q)], [f"d{j:02d}" for j in range(n_d)]
    qrels = {}
    for q in qids:
        judged = rng.choice(n_d, size=rng.integers(1, 15), replace=False)
        grades = rng.integers(0, 3, size=len(judged))
        grades[0] = max(grades[0], 1)  # every query has a relevant document
        qrels[q] = {dids[j]: int(g) for j, g in zip(judged, grades, strict=True)}
    shifted = {q: {d: g + 1 for d, g in j.items()} for q, j in qrels.items()}
    ks = (1, 3, 5, 10, 40)
    ours, _ = retrieval_metrics(scores, qrels, query_ids=qids, doc_ids=dids, ks=ks, judged=True)
    ref, _ = retrieval_metrics(scores, shifted, query_ids=qids, doc_ids=dids, ks=ks)
    for k in ks:
        assert ours[f"judged@{k}"] == pytest.approx(ref[f"precision@{k}"], abs=1e-12)
    # the embedding route computes the same
    q = rng.normal(size=(n_q, 8)).astype(np.float32)
    d = rng.normal(size=(n_d, 8)).astype(np.float32)
    a, _ = retrieval_metrics_from_embeddings(
        q, d, qrels, query_ids=qids, doc_ids=dids, ks=ks, judged=True
    )
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    dn = d / np.linalg.norm(d, axis=1, keepdims=True)
    b, _ = retrieval_metrics(qn @ dn.T, shifted, query_ids=qids, doc_ids=dids, ks=ks)
    for k in ks:
        assert a[f"judged@{k}"] == pytest.approx(b[f"precision@{k}"], abs=1e-12)


def test_evaluate_system_passes_the_flag():
    rs = RetrievalSet(
        queries={"q": "а"},
        corpus=dict(zip(DOCS, ["А", "Б", "В", "Г", "Д"], strict=True)),
        qrels={"q": {"d2": 1, "d1": 0}},
        splits={"test": ["q"]},
    )
    table = evaluate_system(SCORES, rs, "test", ks=(1, 3), judged=True)
    assert isinstance(table, pd.DataFrame)
    assert table["judged@1"].tolist() == [1.0]
    assert table["judged@3"].tolist() == [pytest.approx(2 / 3)]
    assert "judged@3" not in evaluate_system(SCORES, rs, "test", ks=(3,)).columns
