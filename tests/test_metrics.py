"""Tests of toolkit.metrics: hand-checked cases, ranx and sentence-transformers parity, ties,
exclusions, chunking; and of toolkit.stats (bootstrap, paired test, seeds) and
toolkit.diagnostics' query margins and pair similarities, which share the metrics' cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit.diagnostics import pair_similarities, query_margins
from toolkit.metrics import retrieval_metrics, retrieval_metrics_from_embeddings
from toolkit.stats import aggregate_seeds, bootstrap_ci, paired_test

KS = (1, 3, 5, 10, 100)
L2 = math.log2


def brute_ranks(scores_row, doc_ids, excluded=()):
    """Independent reference for the tie rule: sort by (score, str(doc_id)) both descending."""
    cols = [j for j in range(len(doc_ids)) if doc_ids[j] not in excluded]
    ranked = sorted(cols, key=lambda j: (scores_row[j], str(doc_ids[j])), reverse=True)
    return {doc_ids[j]: r + 1 for r, j in enumerate(ranked)}


# ----------------------------------------------------------------------------- hand-checked


# Four one-hot documents d1..d4 (unit vectors e1..e4), so a query's cosine with d_i is its
# i-th component (the query vectors below already have unit norm).
DOCS = ["d1", "d2", "d3", "d4"]
DOC_EMB = np.eye(4, dtype=np.float32)
QUERIES = ["qa", "qb", "qc"]
QUERY_EMB = np.array(
    [
        [0.1, 0.7, 0.5, 0.5],  # qa: d2 .7, then d3/d4 tie at .5 -> d4 first ("d4" > "d3"), d1 .1
        [0.6, 0.0, 0.8, 0.0],  # qb: d3 .8, d1 .6, then d2/d4 tie at 0 -> d4 before d2
        [0.0, 0.0, 0.0, 1.0],  # qc: judged non-relevant only -> skipped
    ],
    dtype=np.float32,
)
QRELS = {"qa": {"d3": 2, "d1": 1, "d2": 0}, "qb": {"d4": 1}, "qc": {"d1": 0}}

# qa ranking: d2(1) d4(2) d3(3) d1(4); relevant d3 (grade 2) at rank 3, d1 (grade 1) at rank 4.
#   IDCG@3 = 2/log2(2) + 1/log2(3)            = 2.6309298
#   k=1: nothing relevant in the top 1       -> all metrics 0
#   k=3: mrr 1/3, recall 1/2, P 1/3, DCG 2/log2(4) = 1 -> nDCG 1/2.6309 = 0.3801,
#        AP (1/3)/2 = 1/6, hit 1
#   k=5 (> 4 docs): recall 1, P 2/5, DCG 1 + 1/log2(5) = 1.4307 -> nDCG 0.5438,
#        AP (1/3 + 2/4)/2 = 5/12
# qb ranking: d3(1) d1(2) d4(3) d2(4); relevant d4 at rank 3 (tie with d2 broken by id desc).
#   k=3: mrr 1/3, recall 1, P 1/3, nDCG (1/log2 4)/(1/log2 2) = 0.5, AP 1/3, hit 1
#   k=5: P 1/5, the rest as at k=3
IDCG_A = 2 + 1 / L2(3)
EXPECTED = {
    "mrr@1": 0.0,
    "recall@1": 0.0,
    "precision@1": 0.0,
    "ndcg@1": 0.0,
    "map@1": 0.0,
    "hit@1": 0.0,
    "mrr@3": (1 / 3 + 1 / 3) / 2,
    "recall@3": (1 / 2 + 1) / 2,
    "precision@3": (1 / 3 + 1 / 3) / 2,
    "ndcg@3": (1 / IDCG_A + 0.5) / 2,
    "map@3": (1 / 6 + 1 / 3) / 2,
    "hit@3": 1.0,
    "mrr@5": 1 / 3,
    "recall@5": 1.0,
    "precision@5": (2 / 5 + 1 / 5) / 2,
    "ndcg@5": ((1 + 1 / L2(5)) / IDCG_A + 0.5) / 2,
    "map@5": (5 / 12 + 1 / 3) / 2,
    "hit@5": 1.0,
    "n_queries": 2,
    "n_queries_skipped": 1,
}


@pytest.mark.parametrize("path", ["embeddings", "scores"])
def test_hand_checked_one_hot(path):
    if path == "embeddings":
        summary, table = retrieval_metrics_from_embeddings(
            QUERY_EMB, DOC_EMB, QRELS, query_ids=QUERIES, doc_ids=DOCS, ks=(1, 3, 5)
        )
    else:
        summary, table = retrieval_metrics(
            QUERY_EMB @ DOC_EMB.T, QRELS, query_ids=QUERIES, doc_ids=DOCS, ks=(1, 3, 5)
        )
    assert summary.keys() == EXPECTED.keys()
    for key, value in EXPECTED.items():
        assert summary[key] == pytest.approx(value, abs=1e-12), key
    assert table["query_id"].tolist() == ["qa", "qb"]
    assert table["n_relevant"].tolist() == [2, 1]
    assert table["first_relevant_rank"].tolist() == [3, 3]
    assert table["relevant_doc_ids"].tolist() == [["d3", "d1"], ["d4"]]
    assert table["relevant_ranks"].tolist() == [[3, 4], [3]]
    assert table["relevant_scores"].iloc[0] == pytest.approx([0.5, 0.1], abs=1e-6)
    assert table.attrs["skipped_query_ids"] == ["qc"]
    # the table's column means are the summary
    for key in ("ndcg@5", "map@3", "mrr@3"):
        assert table[key].mean() == pytest.approx(summary[key], abs=1e-15)


def test_exponential_gains_hand_checked():
    # qa with gains 2^g - 1: d3 -> 3, d1 -> 1. IDCG@5 = 3/log2(2) + 1/log2(3); DCG@5 = 3/log2(4)
    # + 1/log2(5). qb is binary (gain 1 either way): nDCG@5 = 0.5.
    summary, _ = retrieval_metrics(
        QUERY_EMB @ DOC_EMB.T, QRELS, query_ids=QUERIES, doc_ids=DOCS, ks=(5,), gains="exponential"
    )
    qa = (3 / 2 + 1 / L2(5)) / (3 + 1 / L2(3))
    assert summary["ndcg@5"] == pytest.approx((qa + 0.5) / 2, abs=1e-12)


def test_exclude_removes_docs_from_ranking_and_qrels():
    scores = QUERY_EMB @ DOC_EMB.T
    # qb without d3: ranking d1(1) d4(2) d2(3) -> relevant d4 at rank 2, MRR@3 = 1/2.
    # qa without d3 (its grade-2 relevant doc): only d1 is relevant; ranking d2 d4 d1 -> rank 3;
    #   recall@3 = 1/1, nDCG@3 = (1/log2 4) / (1/log2 2) = 0.5 -- the ideal uses d1 alone.
    summary, table = retrieval_metrics(
        scores,
        QRELS,
        query_ids=QUERIES,
        doc_ids=DOCS,
        ks=(3,),
        exclude={"qa": {"d3"}, "qb": {"d3", "not-in-corpus"}},
    )
    rows = table.set_index("query_id")
    assert rows.loc["qb", "relevant_ranks"] == [2]
    assert rows.loc["qb", "mrr@3"] == 0.5
    assert rows.loc["qa", "relevant_ranks"] == [3]
    assert rows.loc["qa", "n_relevant"] == 1
    assert rows.loc["qa", "recall@3"] == 1.0
    assert rows.loc["qa", "ndcg@3"] == pytest.approx(0.5, abs=1e-12)
    # excluding the only relevant doc skips the query instead of scoring it 0
    summary, table = retrieval_metrics(
        scores, QRELS, query_ids=QUERIES, doc_ids=DOCS, ks=(3,), exclude={"qb": ["d4"]}
    )
    assert summary["n_queries"] == 1 and summary["n_queries_skipped"] == 2
    assert table.attrs["skipped_query_ids"] == ["qb", "qc"]


# ----------------------------------------------------------------------------- ties


def test_tie_rule_is_trec_eval_doc_id_descending():
    tied = np.zeros((1, 3))
    # string ids: order c, b, a
    _, t = retrieval_metrics(tied, {"q": {"a": 1}}, query_ids=["q"], doc_ids=["a", "b", "c"])
    assert t["relevant_ranks"][0] == [3]
    _, t = retrieval_metrics(tied, {"q": {"c": 1}}, query_ids=["q"], doc_ids=["a", "b", "c"])
    assert t["relevant_ranks"][0] == [1]
    # ids are compared as strings, as trec_eval reads them from a run file: "2" > "10" > "1"
    _, t = retrieval_metrics(tied, {"q": {10: 1}}, query_ids=["q"], doc_ids=[1, 2, 10])
    assert t["relevant_ranks"][0] == [2]
    # a strictly higher score always wins over the tie rule
    s = np.array([[0.5, 0.4, 0.4]])
    _, t = retrieval_metrics(s, {"q": {"a": 1, "c": 1}}, query_ids=["q"], doc_ids=["a", "b", "c"])
    assert t["relevant_ranks"][0] == [1, 2]


def test_tie_rule_does_not_depend_on_column_order():
    rng = np.random.default_rng(1)
    n_q, n_d = 6, 40
    scores = rng.integers(0, 4, size=(n_q, n_d)).astype(np.float64)  # many ties
    docs = [f"doc{j}" for j in range(n_d)]
    qrels = {q: {f"doc{j}": 1 for j in rng.choice(n_d, 5, replace=False)} for q in range(n_q)}
    perm = rng.permutation(n_d)
    s1, t1 = retrieval_metrics(scores, qrels, query_ids=range(n_q), doc_ids=docs)
    s2, t2 = retrieval_metrics(
        scores[:, perm], qrels, query_ids=range(n_q), doc_ids=[docs[j] for j in perm]
    )
    assert s1 == s2
    assert t1["relevant_ranks"].tolist() == t2["relevant_ranks"].tolist()


@pytest.mark.parametrize("seed", range(12))
def test_exact_ranks_match_brute_force(seed):
    """Ties, -inf, exclusions, many relevant docs (sorting path) vs an independent sort."""
    rng = np.random.default_rng(seed)
    n_q, n_d = 5, int(rng.integers(1, 120))
    scores = rng.integers(-3, 4, size=(n_q, n_d)).astype(np.float32) / 2
    scores[rng.random(scores.shape) < 0.05] = -np.inf
    docs = [f"x{j}" if j % 3 else j for j in range(n_d)]  # mixed id types on purpose
    qrels, exclude = {}, {}
    for q in range(n_q):
        m = int(rng.integers(1, n_d + 1))
        rel = rng.choice(n_d, size=m, replace=False)
        qrels[q] = {docs[j]: int(rng.integers(0, 3)) for j in rel}
        exclude[q] = {docs[j] for j in rng.choice(n_d, size=int(rng.integers(0, 4)), replace=True)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _, table = retrieval_metrics(
                scores, qrels, query_ids=range(n_q), doc_ids=docs, exclude=exclude, chunk_size=2
            )
        except ValueError as err:  # every query lost its relevant docs: legitimately refused
            assert "relevant" in str(err)
            return
    for _, row in table.iterrows():
        q = row["query_id"]
        ref = brute_ranks(scores[q], docs, exclude[q])
        expected = sorted(ref[d] for d, g in qrels[q].items() if g >= 1 and d not in exclude[q])
        assert row["relevant_ranks"] == expected
        assert [ref[d] for d in row["relevant_doc_ids"]] == row["relevant_ranks"]


def test_chunked_equals_unchunked_and_embeddings_path():
    rng = np.random.default_rng(7)
    n_q, n_d, dim = 23, 300, 6
    q = rng.integers(-2, 3, size=(n_q, dim)).astype(np.float32)  # integer dot products: exact,
    d = rng.integers(-2, 3, size=(n_d, dim)).astype(np.float32)  # and full of ties
    scores = q.astype(np.float64) @ d.T.astype(np.float64)
    docs = [f"p{j:04d}" for j in rng.permutation(n_d)]
    qrels = {i: {docs[j]: int(rng.integers(1, 3)) for j in rng.choice(n_d, 4)} for i in range(n_q)}
    ref = retrieval_metrics(scores, qrels, query_ids=range(n_q), doc_ids=docs, chunk_size=n_q)
    for chunk in (1, 5, None):
        got = retrieval_metrics(scores, qrels, query_ids=range(n_q), doc_ids=docs, chunk_size=chunk)
        assert got[0] == ref[0]
        pd.testing.assert_frame_equal(got[1], ref[1])
        emb = retrieval_metrics_from_embeddings(
            q, d, qrels, query_ids=range(n_q), doc_ids=docs, similarity="dot", chunk_size=chunk
        )
        assert emb[0] == ref[0]
        assert emb[1]["relevant_ranks"].tolist() == ref[1]["relevant_ranks"].tolist()


def test_k_larger_than_corpus_and_missing_relevant_docs():
    scores = np.array([[0.3, 0.2]])
    with pytest.warns(UserWarning, match="not in doc_ids"):
        summary, table = retrieval_metrics(
            scores, {"q": {"a": 1, "gone": 1}}, query_ids=["q"], doc_ids=["a", "b"], ks=(1, 10)
        )
    # "gone" counts as relevant but is never retrieved (trec_eval): recall 1/2, P@10 = 1/10,
    # IDCG@10 has two ones: 1 + 1/log2(3); DCG@10 = 1.
    assert summary["recall@10"] == 0.5
    assert summary["precision@10"] == 0.1
    assert summary["ndcg@10"] == pytest.approx(1 / (1 + 1 / L2(3)), abs=1e-12)
    assert summary["map@10"] == 0.5
    assert table["n_relevant"][0] == 2


# ----------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    s = np.zeros((2, 2))
    kw = {"query_ids": ["a", "b"], "doc_ids": ["x", "y"]}
    qrels = {"a": {"x": 1}}
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*\(3, 2\)"):
        retrieval_metrics(s, qrels, query_ids=["a", "b", "c"], doc_ids=["x", "y"])
    with pytest.raises(ValueError, match="doc_ids must be unique: 'x'"):
        retrieval_metrics(s, qrels, query_ids=["a", "b"], doc_ids=["x", "x"])
    bad = s.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN for query 'a' and doc 'y'"):
        retrieval_metrics(bad, qrels, **kw)
    with pytest.raises(ValueError, match=r"qrels\['a'\]\['x'\]"):
        retrieval_metrics(s, {"a": {"x": "high"}}, **kw)
    with pytest.raises(ValueError, match=r"ks\[1\] must be an integer >= 1, got 0"):
        retrieval_metrics(s, qrels, ks=(1, 0), **kw)
    with pytest.raises(ValueError, match="gains"):
        retrieval_metrics(s, qrels, gains="log", **kw)
    with pytest.raises(ValueError, match="same id type"):
        retrieval_metrics(s, {"a": {1: 1}}, **kw)
    with pytest.raises(ValueError, match="none of the 2 queries"):
        retrieval_metrics(s, {"zz": {"x": 1}}, **kw)
    with pytest.raises(ValueError, match="doc_emb row 1 is all zeros"):
        retrieval_metrics_from_embeddings(np.ones((2, 3)), np.array([[1, 0, 0], [0, 0, 0]]),
                                          qrels, **kw)


# ----------------------------------------------------------------------------- ranx parity


def _random_case(rng):
    n_q, n_d = int(rng.integers(1, 7)), int(rng.integers(1, 60))
    scores = rng.random((n_q, n_d))  # continuous: tie-free
    docs = [f"c{j}" for j in range(n_d)]
    qrels = {}
    for q in range(n_q):
        judged = {}
        for j in rng.choice(n_d, size=int(rng.integers(0, min(n_d, 12) + 1)), replace=False):
            judged[docs[j]] = int(rng.integers(0, 3))  # grades 0 (non-relevant), 1, 2
        if rng.random() < 0.2:
            judged["missing-doc"] = int(rng.integers(1, 3))  # relevant but not in the corpus
        qrels[f"q{q}"] = judged
    return scores, docs, qrels


@pytest.fixture(scope="session")
def ranx_api():
    ranx = pytest.importorskip("ranx")
    # First call JIT-compiles ranx's numba kernels (tens of seconds, cached on disk afterwards).
    warnings.filterwarnings("ignore", category=Warning, module="ranx")
    ranx.evaluate(ranx.Qrels({"q": {"a": 1}}), ranx.Run({"q": {"a": 1.0, "b": 0.5}}), "ndcg@5")
    return ranx


@pytest.mark.slow
@pytest.mark.parametrize("gains", ["linear", "exponential"])
def test_parity_with_ranx_on_200_random_cases(ranx_api, gains):
    rng = np.random.default_rng(2024)
    all_qrels, all_run, ours = {}, {}, {}
    for case in range(200):
        scores, docs, qrels = _random_case(rng)
        query_ids = list(qrels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                summary, table = retrieval_metrics(
                    scores, qrels, query_ids=query_ids, doc_ids=docs, ks=KS, gains=gains
                )
            except ValueError:  # no query of this case has a relevant doc in the corpus
                assert all(d == "missing-doc" for j in qrels.values() for d, g in j.items() if g)
                continue
        n_eval = sum(any(g >= 1 for g in j.values()) for j in qrels.values())
        assert summary["n_queries"] == n_eval
        assert summary["n_queries_skipped"] == len(query_ids) - n_eval
        for _, row in table.iterrows():
            key = f"case{case}-{row['query_id']}"
            qi = query_ids.index(row["query_id"])
            all_qrels[key] = qrels[row["query_id"]]
            all_run[key] = {d: float(scores[qi, j]) for j, d in enumerate(docs)}
            ours[key] = row
    assert len(ours) > 400
    names = {"mrr": "mrr", "recall": "recall", "precision": "precision", "map": "map",
             "hit": "hit_rate", "ndcg": "ndcg" if gains == "linear" else "ndcg_burges"}
    metrics = [f"{names[m]}@{k}" for m in names for k in KS]
    run = ranx_api.Run(all_run)
    ranx_api.evaluate(ranx_api.Qrels(all_qrels), run, metrics)
    worst = 0.0
    for ours_name, ranx_name in names.items():
        for k in KS:
            for key, row in ours.items():
                diff = abs(row[f"{ours_name}@{k}"] - run.scores[f"{ranx_name}@{k}"][key])
                worst = max(worst, diff)
                assert diff <= 1e-9, (key, ours_name, k)
    assert worst <= 1e-9


# ----------------------------------------------------------------------------- ST parity


class _GivenQueryEncoder:
    """Stand-in for a SentenceTransformer in InformationRetrievalEvaluator.compute_all_metrics.

    Query "texts" are row numbers as strings; ``encode_query`` returns one-hot rows, and the
    corpus embeddings passed to the evaluator are ``scores.T``, so the evaluator's
    ``dot_score`` reproduces the given score matrix exactly (one-hot x column, no rounding).
    """

    def __init__(self, n_queries):
        import torch

        self._eye = torch.eye(n_queries, dtype=torch.float32)

    def encode_query(self, sentences, **kwargs):
        return self._eye[[int(s) for s in sentences]]


@pytest.mark.slow
def test_parity_with_sentence_transformers_evaluator():
    torch = pytest.importorskip("torch")
    ir = pytest.importorskip("sentence_transformers.sentence_transformer.evaluation")
    from sentence_transformers.util import dot_score

    rng = np.random.default_rng(11)
    n_q, n_d = 60, 400
    scores = rng.random((n_q, n_d)).astype(np.float32)  # tie-free
    docs = [f"doc{j}" for j in range(n_d)]
    qids = [f"q{i}" for i in range(n_q)]
    relevant = {}
    for i, q in enumerate(qids):
        if i % 10 == 9:
            continue  # no relevant doc: ST drops it from the evaluation, we skip and count it
        rel = {docs[j] for j in rng.choice(n_d, size=int(rng.integers(1, 25)), replace=False)}
        # bias some relevant docs upwards so that the metrics are not all near zero
        for d in list(rel)[:2]:
            scores[i, docs.index(d)] += 0.5
        relevant[q] = rel
    ks = [1, 3, 5, 10, 100]
    evaluator = ir.InformationRetrievalEvaluator(
        queries={q: str(i) for i, q in enumerate(qids)},
        corpus={d: d for d in docs},
        relevant_docs=relevant,
        mrr_at_k=ks, ndcg_at_k=ks, accuracy_at_k=ks, precision_recall_at_k=ks, map_at_k=ks,
        score_functions={"dot": dot_score},
    )
    st = evaluator.compute_all_metrics(
        _GivenQueryEncoder(n_q), corpus_embeddings=torch.from_numpy(scores.T.copy())
    )["dot"]
    evaluated = [q for q in qids if q in relevant]
    summary, table = retrieval_metrics(scores, relevant, query_ids=qids, doc_ids=docs, ks=ks)
    assert summary["n_queries"] == len(evaluated) and summary["n_queries_skipped"] == 6
    for k in ks:
        assert summary[f"hit@{k}"] == pytest.approx(st["accuracy@k"][k], abs=1e-6)
        assert summary[f"precision@{k}"] == pytest.approx(st["precision@k"][k], abs=1e-6)
        assert summary[f"recall@{k}"] == pytest.approx(st["recall@k"][k], abs=1e-6)
        assert summary[f"mrr@{k}"] == pytest.approx(st["mrr@k"][k], abs=1e-6)
        assert summary[f"ndcg@{k}"] == pytest.approx(st["ndcg@k"][k], abs=1e-6)
        # Definitional difference: ST's MAP@k divides the summed precisions by
        # min(k, n_relevant); trec_eval/ranx (and we) divide by n_relevant. Per query,
        # AP_ST = AP_ours * n_relevant / min(k, n_relevant); equal whenever n_relevant <= k.
        n_rel = table["n_relevant"].to_numpy()
        st_style = (table[f"map@{k}"] * n_rel / np.minimum(k, n_rel)).mean()
        assert st_style == pytest.approx(st["map@k"][k], abs=1e-6)
        if k >= n_rel.max():
            assert summary[f"map@{k}"] == pytest.approx(st["map@k"][k], abs=1e-6)
        elif k == 1:
            assert summary["map@1"] < st["map@k"][1]  # the difference is real, not cosmetic


# ----------------------------------------------------------------------------- statistics


def test_bootstrap_ci_contains_mean_shrinks_and_is_seeded():
    rng = np.random.default_rng(3)
    small = rng.random(40)
    large = rng.random(4000)
    a = bootstrap_ci(small, seed=5)
    assert a["low"] < a["mean"] < a["high"] and a["n"] == 40
    assert a["mean"] == pytest.approx(small.mean())
    assert bootstrap_ci(small, seed=5) == a
    assert bootstrap_ci(small, seed=6) != a
    b = bootstrap_ci(large, seed=5)
    assert (b["high"] - b["low"]) < (a["high"] - a["low"]) / 5  # ~ 1/sqrt(100) = 1/10
    # against scipy's percentile bootstrap (different draws, same estimator)
    from scipy.stats import bootstrap

    ref = bootstrap((small,), np.mean, n_resamples=4000, method="percentile",
                    rng=np.random.default_rng(0)).confidence_interval
    c = bootstrap_ci(small, n_resamples=4000)
    assert c["low"] == pytest.approx(ref.low, abs=0.015)
    assert c["high"] == pytest.approx(ref.high, abs=0.015)
    with pytest.raises(ValueError, match=r"values\[1\] = nan"):
        bootstrap_ci([0.1, float("nan")])


def test_paired_test_identical_and_clearly_better():
    rng = np.random.default_rng(4)
    b = rng.random(200)
    same = paired_test(b, b.copy())
    assert same["diff"] == 0 and same["p_value"] == 1.0 and same["n"] == 200
    a = np.clip(b + 0.15 + rng.normal(0, 0.1, 200), 0, 1)
    out = paired_test(a, b, n_resamples=5000)
    assert out["p_value"] == pytest.approx(1 / 5001)  # smallest possible with +1 correction
    assert 0 < out["low"] < out["diff"] < out["high"]
    assert out == paired_test(a, b, n_resamples=5000)
    # noisy, small difference: compare with scipy's paired permutation test
    from scipy.stats import permutation_test

    x = rng.random(30)
    y = x + rng.normal(0.05, 0.3, 30)
    ours = paired_test(x, y, n_resamples=20000)["p_value"]
    ref = permutation_test((x, y), lambda u, v: np.mean(u - v), permutation_type="samples",
                           n_resamples=20000, rng=np.random.default_rng(1)).pvalue
    assert ours == pytest.approx(ref, abs=0.02)
    with pytest.raises(ValueError, match="paired"):
        paired_test([1.0, 2.0], [1.0])


def test_aggregate_seeds():
    runs = [{"mrr@10": 0.5, "model": "m", "n_queries": 10},
            {"mrr@10": 0.7, "model": "m", "n_queries": 10}]
    out = aggregate_seeds(runs)
    assert out["mrr@10"]["mean"] == pytest.approx(0.6)
    assert out["mrr@10"]["sd"] == pytest.approx(math.sqrt(0.02))  # ((.1^2 + .1^2) / 1)^.5
    assert out["mrr@10"]["n"] == 2
    assert "model" not in out
    assert math.isnan(aggregate_seeds([{"x": 1.0}])["x"]["sd"])


# ----------------------------------------------------------------------------- diagnostics


def test_query_margins_hand_checked():
    scores = QUERY_EMB @ DOC_EMB.T
    m = query_margins(scores, QRELS, query_ids=QUERIES, doc_ids=DOCS).set_index("query_id")
    # qa: best relevant d3 (.5, rank 3); hardest negative d2 (.7) -> margin -.2
    assert m.loc["qa", "best_positive_doc_id"] == "d3"
    assert m.loc["qa", "best_positive_rank"] == 3
    assert m.loc["qa", "hardest_negative_doc_id"] == "d2"
    assert m.loc["qa", "margin"] == pytest.approx(-0.2, abs=1e-6)
    # qb: relevant d4 (0); hardest negative d3 (.8); qc has no relevant doc -> absent
    assert m.loc["qb", "hardest_negative_doc_id"] == "d3"
    assert m.loc["qb", "margin"] == pytest.approx(-0.8, abs=1e-6)
    assert "qc" not in m.index
    # a hardest negative tied with another: trec_eval tie rule picks the larger id
    t = query_margins(np.array([[1.0, 0.5, 0.5]]), {"q": {"a": 1}}, query_ids=["q"],
                      doc_ids=["a", "b", "c"])
    assert t.loc[0, "hardest_negative_doc_id"] == "c" and t.loc[0, "margin"] == 0.5


def test_pair_similarities_all_and_sampled():
    scores = QUERY_EMB @ DOC_EMB.T
    df = pair_similarities(scores, QRELS, query_ids=QUERIES, doc_ids=DOCS)
    assert len(df) == 12 and df["relevant"].sum() == 3
    rel = df[df["relevant"]]
    assert set(zip(rel["query_id"], rel["doc_id"], strict=True)) == {
        ("qa", "d3"), ("qa", "d1"), ("qb", "d4")}
    row = df[(df["query_id"] == "qa") & (df["doc_id"] == "d2")].iloc[0]
    assert row["score"] == pytest.approx(0.7) and row["grade"] == 0 and not row["relevant"]
    assert df["grade"].isna().sum() == 12 - 5  # 5 judged pairs (3 for qa, 1 each for qb, qc)
    s = np.random.default_rng(0).random((50, 200))
    qrels = {i: {i: 1} for i in range(50)}
    a = pair_similarities(s, qrels, query_ids=range(50), doc_ids=range(200), max_negatives=500)
    assert a["relevant"].sum() == 50 and (~a["relevant"]).sum() == 500
    b = pair_similarities(s, qrels, query_ids=range(50), doc_ids=range(200), max_negatives=500)
    pd.testing.assert_frame_equal(a, b)
    assert not a.duplicated(["query_id", "doc_id"]).any()
