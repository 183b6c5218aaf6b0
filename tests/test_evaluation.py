"""toolkit.evaluation: the one scoring path and its zero-vector policy, system comparison,
before/after tables, the notebook tables and the evaluate CLI.

First what is new with the module (every route of evaluate_system, compare_per_query, one
result for an all-zero vector, the deprecated old modules); then the tests moved here from
test_evaluate.py and test_reproduction.py.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from toolkit.data import DataError, RetrievalSet
from toolkit.evaluation import (
    before_after,
    compare_per_query,
    compare_systems,
    evaluate_system,
    failure_gallery,
    heatmap_block,
    top1,
)
from toolkit.metrics import retrieval_metrics
from toolkit.stats import paired_test

# the all-zero-vector set (QUERIES / CORPUS / QRELS further down belong to the moved tests)
ZERO_QUERIES = {"q1": "альфа", "q2": "бета", "q3": "пусто"}
ZERO_CORPUS = {"d1": "АЛЬФА", "d2": "БЕТА", "d3": "ГАММА"}
ZERO_QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}}
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
    return RetrievalSet(queries=ZERO_QUERIES, corpus=ZERO_CORPUS, qrels=ZERO_QRELS)


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
    by_before_after = evaluate_system(FakeModel(), rs, None, ks=ks).set_index("query_id")
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


# ================================================================== moved from test_evaluate.py
# system comparison (compare_systems / SystemComparison), notebook tables, the evaluate CLI

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
    from toolkit.fusion import rrf_fuse

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


def _rows(g, qid):
    part = g[g["query_id"] == qid]
    grades = [None if pd.isna(x) else int(x) for x in part["grade"]]
    return list(zip(part["rank"], part["doc_id"], part["score"], grades, part["role"], strict=True))


def test_failure_gallery_long_format_by_hand(small_set):
    g = failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_queries=8, max_distractors=2)
    assert list(g.columns) == [
        "query_id", "query", "rank", "title", "doc_id", "score", "grade", "role"
    ]  # fmt: skip
    # worst relevant rank first (q4: 5, q2: 3, q3: 2); q1 succeeds; a query's rows together
    assert list(dict.fromkeys(g["query_id"])) == ["q4", "q2", "q3"]
    assert g["query_id"].tolist() == ["q4"] * 3 + ["q2"] * 3 + ["q3"] * 2
    # d5 beats d3 in the 0.7 tie (larger id first); d6 is unjudged for q4 (<NA>)
    assert _rows(g, "q4") == [
        (1, "d6", 0.8, None, "distractor"),
        (2, "d5", 0.7, None, "distractor"),
        (5, "d4", 0.2, 2, "relevant"),
    ]
    # d5 is judged non-relevant for q2 (grade 0), d6 unjudged
    assert _rows(g, "q2") == [
        (1, "d6", 0.9, None, "distractor"),
        (2, "d5", 0.8, 0, "distractor"),
        (3, "d2", 0.7, 2, "relevant"),
    ]
    assert _rows(g, "q3") == [(1, "d1", 0.6, None, "distractor"), (2, "d3", 0.5, 1, "relevant")]
    assert str(g["grade"].dtype) == "Int64"
    assert (g["title"] == g["doc_id"].map(CORPUS)).all()
    assert (g["query"] == g["query_id"].map(QUERIES)).all()
    # the relevant rows' ranks are the metrics' first relevant ranks (same tie rule)
    _, per_query = retrieval_metrics(SCORES, QRELS, query_ids=IDS_Q, doc_ids=IDS_D, ks=(1,))
    ranks = dict(zip(per_query["query_id"], per_query["first_relevant_rank"], strict=True))
    rel = g[g["role"] == "relevant"]
    assert dict(zip(rel["query_id"], rel["rank"], strict=True)) == {
        q: ranks[q] for q in rel["query_id"]
    }


def test_failure_gallery_limits(small_set):
    one = failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_queries=1)
    assert one["query_id"].unique().tolist() == ["q4"]
    assert one["rank"].tolist() == [1, 2, 3, 5]  # three distractors, then the relevant title
    bare = failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_distractors=0)
    assert bare["role"].eq("relevant").all() and bare["rank"].tolist() == [5, 3, 2]
    empty = failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_queries=0)
    assert empty.empty and "role" in empty.columns


def test_failure_gallery_orders_equal_ranks_by_the_lower_relevant_score():
    rs = RetrievalSet(
        queries={"a": "альфа", "b": "бета", "c": "гамма"},
        corpus={"x": "ИКС", "y": "ИГРЕК", "z": "ЗЕТ"},
        qrels={"a": {"y": 1}, "b": {"y": 1, "z": 2}, "c": {"z": 1}},
    )
    scores = np.array([[0.9, 0.5, 0.0], [0.9, 0.4, 0.3], [0.9, 0.0, 0.6]])
    g = failure_gallery(rs, scores, ["a", "b", "c"], ["x", "y", "z"])
    rel = g[g["role"] == "relevant"]
    # all at rank 2; b (0.4) before a (0.5), then c (0.6); b shows only its best relevant, y
    assert rel["query_id"].tolist() == ["b", "a", "c"]
    assert rel["doc_id"].tolist() == ["y", "y", "z"]
    assert g[g["query_id"] == "b"]["doc_id"].tolist() == ["x", "y"]


def test_failure_gallery_bad_arguments(small_set):
    with pytest.raises(ValueError, match="max_queries must be an integer >= 0"):
        failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_queries=-1)
    with pytest.raises(TypeError, match="max_distractors must be an integer"):
        failure_gallery(small_set, SCORES, IDS_Q, IDS_D, max_distractors=1.5)
    with pytest.raises(ValueError, match="scores has shape"):
        failure_gallery(small_set, SCORES[:2], IDS_Q, IDS_D)


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


# ================================================================== moved from test_reproduction.py
# evaluate_system with a model and before_after, on the 12-query topic_set


def test_evaluate_model_matches_sentence_transformers_evaluator(tiny, topic_set):
    small_set = topic_set  # conftest's 12-query set; this module's small_set is another one
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )

    table = evaluate_system(tiny, small_set, "test", ks=(10,), cache=False)
    test = small_set.split("test")
    assert sorted(table["query_id"]) == sorted(test.query_ids)
    evaluator = InformationRetrievalEvaluator(
        queries=dict(test.queries),
        corpus=dict(small_set.corpus),
        relevant_docs={q: set(d) for q, d in test.qrels.items()},
        mrr_at_k=[10],
        accuracy_at_k=[10],
        precision_recall_at_k=[10],
        ndcg_at_k=[10],
        map_at_k=[10],
        show_progress_bar=False,
        name="t",
    )
    st = evaluator(tiny)
    assert table["mrr@10"].mean() == pytest.approx(st["t_cosine_mrr@10"], abs=1e-6)
    assert table["recall@10"].mean() == pytest.approx(st["t_cosine_recall@10"], abs=1e-6)
    with pytest.raises(ValueError, match="'nope'"):
        evaluate_system(tiny, small_set, query_ids=["q00", "nope"])


def test_before_after_by_hand():
    qids = ["a", "b", "c", "d"]
    base = pd.DataFrame({"query_id": qids, "ndcg@10": [0.5, 0.2, 0.4, 0.1]})
    better = pd.DataFrame({"query_id": qids[::-1], "ndcg@10": [0.6, 0.9, 0.7, 1.0]})  # +0.5 each
    out = before_after(base, {"better": better}, metrics=("ndcg@10",), n_resamples=20000)
    b = out[out["system"] == "base"].iloc[0]
    t = out[out["system"] == "better"].iloc[0]
    assert b["mean"] == pytest.approx(0.3) and math.isnan(b["p_value"])
    assert t["mean"] == pytest.approx(0.8) and t["n"] == 4
    assert t["diff"] == pytest.approx(0.5)
    assert t["diff_low"] == pytest.approx(0.5) and t["diff_high"] == pytest.approx(0.5)
    # all 4 differences positive: |mean| is reached only by all-same signs, 2 of 16 flips
    assert t["p_value"] == pytest.approx(2 / 16, abs=0.01)
    assert b["low"] <= b["mean"] <= b["high"]


def test_before_after_rejects_mismatched_queries_and_names():
    base = pd.DataFrame({"query_id": ["a", "b"], "ndcg@10": [0.5, 0.2]})
    other = pd.DataFrame({"query_id": ["a", "c"], "ndcg@10": [0.5, 0.2]})
    with pytest.raises(ValueError, match="other queries"):
        before_after(base, {"x": other}, metrics=("ndcg@10",))
    with pytest.raises(ValueError, match="'base'"):
        before_after(base, {"base": base}, metrics=("ndcg@10",))
    with pytest.raises(ValueError, match="'mrr@10'"):
        before_after(base, {"x": base}, metrics=("mrr@10",))
