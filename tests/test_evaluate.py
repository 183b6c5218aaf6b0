"""Tests for toolkit.evaluate: system comparison, notebook tables and the evaluate CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.data import DataError, RetrievalSet
from toolkit.evaluate import (
    compare_systems,
    failure_gallery,
    heatmap_block,
    load_data,
    nearest_titles,
    neighbour_agreement,
    select_split,
    top1,
)
from toolkit.metrics import paired_test, retrieval_metrics

# Each query shares one distinctive word with exactly its relevant title, so BM25 ranks the
# relevant title first for q1..q4 (checked by hand: every other title lacks that stem).
QUERIES = {
    "q1": "сварка алюминия",
    "q2": "очистка сточных вод",
    "q3": "беспилотный летательный аппарат",
    "q4": "шифрование данных",
    "q5": "вакцина от гриппа",  # no judgment: must be skipped
}
CORPUS = {
    "d1": "СПОСОБ СВАРКИ АЛЮМИНИЕВЫХ ЛИСТОВ",
    "d2": "УСТАНОВКА ДЛЯ ОЧИСТКИ СТОЧНЫХ ВОД",
    "d3": "БЕСПИЛОТНЫЙ ЛЕТАТЕЛЬНЫЙ АППАРАТ САМОЛЕТНОГО ТИПА",
    "d4": "СПОСОБ ШИФРОВАНИЯ ДАННЫХ В СЕТИ",
    "d5": "ТЕПЛИЦА С АВТОМАТИЧЕСКИМ ПОЛИВОМ",
    "d6": "КОМПОЗИЦИЯ ДЛЯ ОКРАСКИ ФАСАДОВ",
}
QRELS = {"q1": {"d1": 2}, "q2": {"d2": 2, "d5": 0}, "q3": {"d3": 1}, "q4": {"d4": 2}}


@pytest.fixture(scope="module")
def small_set() -> RetrievalSet:
    return RetrievalSet(
        queries=QUERIES,
        corpus=CORPUS,
        qrels=QRELS,
        splits={"test": ["q1", "q2", "q3", "q4", "q5"]},
        doc_fields={"ipc": {"d1": "B", "d2": "C", "d3": "B", "d4": "H", "d5": "A", "d6": "C"}},
    )


@pytest.fixture(scope="module")
def tiny_model(tiny_bert_dir):
    from toolkit.models import load_model

    return load_model(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="module")
def comparison(small_set, tiny_model):
    return compare_systems(small_set, {"tiny": tiny_model}, n_resamples=200, seed=3)


def test_table_shape_systems_and_metrics(comparison):
    t = comparison.table
    assert list(t.columns) == ["system", "metric", "mean", "low", "high", "n"]
    assert comparison.systems == ["tiny", "bm25", "hybrid"]
    expected = {f"{m}@{k}" for m in ("mrr", "recall", "precision", "ndcg", "map", "hit")
                for k in (1, 3, 5, 10)}  # fmt: skip
    for system in comparison.systems:
        assert set(t.loc[t["system"] == system, "metric"]) == expected
    assert len(t) == 3 * len(expected)


def test_ci_brackets_mean_and_n_counts_evaluated_queries(comparison):
    t = comparison.table
    assert (t["low"] <= t["mean"] + 1e-12).all() and (t["mean"] <= t["high"] + 1e-12).all()
    assert (t["n"] == 4).all()  # q5 has no relevant title
    assert comparison.skipped_query_ids == ["q5"]
    assert comparison.query_ids == ["q1", "q2", "q3", "q4", "q5"]
    assert all(s.shape == (5, 6) for s in comparison.scores.values())


def test_bm25_ranks_the_word_sharing_title_first(comparison):
    t = comparison.table.set_index(["system", "metric"])
    assert t.loc[("bm25", "mrr@1"), "mean"] == 1.0
    assert t.loc[("bm25", "recall@1"), "low"] == 1.0  # every resample is all ones


def test_dense_scores_are_cosines_of_encoded_texts(comparison, small_set, tiny_model):
    q = tiny_model.encode(list(small_set.queries.values()), normalize_embeddings=True)
    d = tiny_model.encode(list(small_set.corpus.values()), normalize_embeddings=True)
    np.testing.assert_allclose(comparison.scores["tiny"], q @ d.T, atol=1e-5)
    mean = comparison.table.query("system == 'tiny' and metric == 'ndcg@10'")["mean"].item()
    summary, _ = retrieval_metrics(
        q @ d.T, QRELS, query_ids=list(QUERIES), doc_ids=list(CORPUS), ks=(10,)
    )
    assert mean == pytest.approx(summary["ndcg@10"], abs=1e-6)


def test_hybrid_is_rrf_of_dense_and_bm25(comparison):
    from toolkit.lexical import rrf_fuse

    fused = rrf_fuse(
        [comparison.scores["tiny"], comparison.scores["bm25"]], k=60, doc_ids=comparison.doc_ids
    )
    np.testing.assert_allclose(comparison.scores["hybrid"], fused)


def test_paired_matches_paired_test(comparison):
    out = comparison.paired("tiny", "bm25", "ndcg@10", n_resamples=500)
    a = comparison.per_query["tiny"]["ndcg@10"].to_numpy()
    b = comparison.per_query["bm25"]["ndcg@10"].to_numpy()
    assert out == paired_test(a, b, n_resamples=500, seed=3)
    same = comparison.paired("bm25", "bm25", "mrr@10")
    assert same["diff"] == 0.0 and same["p_value"] == 1.0
    with pytest.raises(KeyError, match="no system 'x'"):
        comparison.paired("x", "bm25")


def test_summary_formats_ci_and_n(comparison):
    s = comparison.summary(["mrr@10", "hit@1"])
    assert list(s.index) == ["tiny", "bm25", "hybrid"]
    assert s.loc["bm25", "hit@1"] == "1.000 [1.000, 1.000]"
    assert (s["n"] == 4).all()
    with pytest.raises(ValueError, match="not in the table"):
        comparison.summary(["mrr@100"])


def test_bad_arguments(small_set, tiny_model):
    with pytest.raises(ValueError, match="unknown \\['bm52'\\]"):
        compare_systems(small_set, tiny_model, baselines=("bm52",))
    with pytest.raises(ValueError, match="reserved"):
        compare_systems(small_set, {"bm25": tiny_model})
    with pytest.raises(DataError, match="no split 'dev'"):
        compare_systems(small_set, tiny_model, split="dev")
    with pytest.raises(TypeError, match="mapping"):
        compare_systems(small_set, ["not a model"])


def test_select_split_without_splits_uses_all_queries():
    rs = RetrievalSet(queries={"a": "x y"}, corpus={"d": "X"}, qrels={"a": {"d": 1}})
    sub, note = select_split(rs, "test")
    assert sub is rs and "no splits" in note and "1 queries" in note


# ------------------------------------------------------------------ tables for the notebooks

IDS_Q = ["q1", "q2", "q3", "q4"]
IDS_D = ["d1", "d2", "d3", "d4", "d5", "d6"]
# q1: d1 first (no failure). q2: d2 at rank 3 behind d6 (0.9) and d5 (0.8).
# q3: d3 at rank 2 behind d1. q4: d4 at rank 5 behind d6, d5 (tie at 0.7: d5 > d3 by the
# id-descending tie rule ... d5 wins over d3), then d3, then d1.
SCORES = np.array(
    [
        [0.9, 0.1, 0.2, 0.3, 0.4, 0.5],
        [0.1, 0.7, 0.2, 0.3, 0.8, 0.9],
        [0.6, 0.1, 0.5, 0.3, 0.2, 0.1],
        [0.6, 0.1, 0.7, 0.2, 0.7, 0.8],
    ]
)


def test_failure_gallery_by_hand(small_set):
    g = failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_queries=8, max_distractors=2)
    assert list(g["query_id"]) == ["q4", "q2", "q3"]  # worst rank first; q1 succeeds
    assert list(g["relevant_rank"]) == [5, 3, 2]
    row = g.iloc[0]
    assert row["relevant_title"] == CORPUS["d4"] and row["relevant_score"] == 0.2
    assert (row["distractor_1"], row["distractor_1_score"]) == (CORPUS["d6"], 0.8)
    assert row["distractor_2"] == CORPUS["d5"]  # tie with d3 at 0.7 goes to the larger id
    q3 = g.iloc[2]
    assert q3["distractor_1"] == CORPUS["d1"] and pd.isna(q3["distractor_2"])
    assert np.isnan(q3["distractor_2_score"])
    # ranks agree with the metrics' first relevant rank (same tie rule)
    _, per_query = retrieval_metrics(SCORES, QRELS, query_ids=IDS_Q, doc_ids=IDS_D, ks=(1,))
    ranks = dict(zip(per_query["query_id"], per_query["first_relevant_rank"], strict=True))
    assert all(ranks[q] == r for q, r in zip(g["query_id"], g["relevant_rank"], strict=True))
    assert len(failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_queries=1)) == 1


def test_top1_tie_rule():
    assert top1(SCORES, IDS_Q, IDS_D) == {"q1": "d1", "q2": "d6", "q3": "d1", "q4": "d6"}
    tied = np.array([[0.5, 0.5, 0.1]])
    assert top1(tied, ["q"], ["a", "b", "c"]) == {"q": "b"}  # trec_eval: larger id first


def test_heatmap_block(small_set):
    block = heatmap_block(small_set, SCORES, IDS_Q, IDS_D, n_queries=10, negatives_per_query=1)
    assert block["query_labels"] == [QUERIES[q] for q in IDS_Q]
    # relevant titles d1..d4 first, then each query's hardest negative once: d6 (q1, q2, q4)
    # and d1 is already in (q3's hardest negative)
    assert block["doc_labels"] == [CORPUS[d] for d in ["d1", "d2", "d3", "d4", "d6"]]
    assert block["relevant_mask"].sum() == 4 and block["relevant_mask"][1, 1]
    assert block["scores"][3, 4] == 0.8
    small = heatmap_block(small_set, SCORES, IDS_Q, IDS_D, n_queries=2, seed=1)
    assert len(small["query_labels"]) == 2 and small["relevant_mask"].shape[0] == 2


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


def test_load_data(tmp_path):
    assert load_data() is load_data(None)
    with pytest.raises(DataError, match="no such file"):
        load_data(tmp_path / "missing.csv")


# ------------------------------------------------------------------ CLI


def _pairs_csv(path, split: bool):
    rows = []
    for q, judged in QRELS.items():
        for d, g in judged.items():
            rows.append({"query": QUERIES[q], "title": CORPUS[d], "label": g})
    df = pd.DataFrame(rows)
    if split:
        df["split"] = ["test", "dev", "dev", "dev", "test"]
    df.to_csv(path, index=False)
    return path


def test_cli_prints_table_and_writes_json(tmp_path, tiny_bert_dir, capsys):
    from toolkit.__main__ import main

    data = _pairs_csv(tmp_path / "pairs.csv", split=False)
    out = tmp_path / "res" / "results.json"
    argv = ["evaluate", "--model", str(tiny_bert_dir), "--data", str(data), "--out", str(out)]
    assert main([*argv, "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert "no splits" in printed and "all 4 queries" in printed
    header = next(line for line in printed.splitlines() if "mrr@10" in line)
    assert header.split() == ["mrr@10", "ndcg@10", "recall@10", "hit@1", "n"]
    for system in ("bm25", "hybrid", "dense (st)"):
        assert any(line.startswith(system) for line in printed.splitlines())
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["n_queries"] == 4 and result["seed"] == 1 and result["split"] is None
    records = pd.DataFrame(result["results"])
    assert set(records["system"]) == {"dense (st)", "bm25", "hybrid"}
    assert (records["low"] <= records["mean"] + 1e-12).all()
    assert set(result["paired_ndcg@10"]) == {"dense (st) - bm25", "dense (st) - hybrid"}


def test_cli_split_and_baseline(tmp_path, tiny_bert_dir, capsys):
    from toolkit.__main__ import main

    data = _pairs_csv(tmp_path / "pairs.csv", split=True)
    argv = ["evaluate", "--model", str(tiny_bert_dir), "--data", str(data)]
    assert main([*argv, "--split", "dev", "--baseline", "bm25"]) == 0
    printed = capsys.readouterr().out
    assert "split 'dev': 2 queries" in printed
    lines = printed.splitlines()
    assert any(line.startswith("bm25") for line in lines)
    assert not any(line.startswith("hybrid") for line in lines)
    assert main([*argv, "--baseline", "none", "--baseline", "bm25"]) == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert main([*argv, "--split", "nope"]) == 2
    assert "no split 'nope'" in capsys.readouterr().err
