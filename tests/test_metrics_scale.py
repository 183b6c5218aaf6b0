"""Metrics at scale: the chunked embedding path agrees with ranx and sentence-transformers.

``retrieval_metrics_from_embeddings`` scores queries chunk by chunk and never builds the
full ``n_queries x n_docs`` matrix; here the chunk is forced down to 1 and 7 queries so
every chunk boundary is crossed, and the metrics are checked against ranx (top-k run built
from the full matrix) and against sentence-transformers' ``InformationRetrievalEvaluator``
fed the same embeddings. Data: seeded random unit vectors (tie-free in practice), queries
placed near 1-5 relevant docs so the metrics are not all zero.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from toolkit.metrics import retrieval_metrics_from_embeddings

KS = (1, 3, 5, 10, 50)
N_Q, N_D, DIM = 40, 700, 24


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    d = rng.standard_normal((N_D, DIM)).astype(np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    rel = [rng.choice(N_D, size=int(rng.integers(1, 6)), replace=False) for _ in range(N_Q)]
    q = np.stack([d[r].sum(axis=0) for r in rel])
    q += 0.6 * rng.standard_normal(q.shape).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    qids, dids = [f"q{i}" for i in range(N_Q)], [f"d{j}" for j in range(N_D)]
    qrels = {qids[i]: {dids[j]: 1 for j in r.tolist()} for i, r in enumerate(rel)}
    return q.astype(np.float32), d, qrels, qids, dids


@pytest.mark.parametrize("chunk_size", [1, 7])
def test_chunked_equals_unchunked(data, chunk_size):
    q, d, qrels, qids, dids = data
    kw = {"query_ids": qids, "doc_ids": dids, "ks": KS, "similarity": "dot"}
    whole, t1 = retrieval_metrics_from_embeddings(q, d, qrels, chunk_size=N_Q, **kw)
    small, t2 = retrieval_metrics_from_embeddings(q, d, qrels, chunk_size=chunk_size, **kw)
    assert small == whole
    assert t1["relevant_ranks"].tolist() == t2["relevant_ranks"].tolist()


@pytest.mark.slow
def test_chunked_equals_ranx(data):
    ranx = pytest.importorskip("ranx")
    warnings.filterwarnings("ignore", category=Warning, module="ranx")
    q, d, qrels, qids, dids = data
    ours, _ = retrieval_metrics_from_embeddings(
        q, d, qrels, query_ids=qids, doc_ids=dids, ks=KS, similarity="dot", chunk_size=3
    )
    full = q @ d.T
    run = {}
    for i, qid in enumerate(qids):
        top = np.argsort(-full[i])[: max(KS)]
        run[qid] = {dids[j]: float(full[i, j]) for j in top}
    names = {"mrr": "mrr", "recall": "recall", "precision": "precision", "ndcg": "ndcg",
             "map": "map", "hit": "hit_rate"}
    metrics = [f"{names[m]}@{k}" for m in names for k in KS]
    res = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), metrics)
    for m, rname in names.items():
        for k in KS:
            assert ours[f"{m}@{k}"] == pytest.approx(res[f"{rname}@{k}"], abs=1e-9), (m, k)


@pytest.mark.slow
def test_chunked_equals_sentence_transformers_evaluator(data):
    torch = pytest.importorskip("torch")
    ir = pytest.importorskip("sentence_transformers.sentence_transformer.evaluation")
    from sentence_transformers.util import dot_score

    q, d, qrels, qids, dids = data

    class GivenQueries:  # "encodes" query i as its embedding
        def encode_query(self, sentences, **kwargs):
            return torch.from_numpy(q)[[int(s) for s in sentences]]

    ks = list(KS)
    evaluator = ir.InformationRetrievalEvaluator(
        queries={qid: str(i) for i, qid in enumerate(qids)},
        corpus={x: x for x in dids},
        relevant_docs={k: set(v) for k, v in qrels.items()},
        mrr_at_k=ks, ndcg_at_k=ks, accuracy_at_k=ks, precision_recall_at_k=ks, map_at_k=ks,
        score_functions={"dot": dot_score}, corpus_chunk_size=97,
    )
    st = evaluator.compute_all_metrics(GivenQueries(), corpus_embeddings=torch.from_numpy(d))
    st = st["dot"]
    ours, table = retrieval_metrics_from_embeddings(
        q, d, qrels, query_ids=qids, doc_ids=dids, ks=KS, similarity="dot", chunk_size=3
    )
    n_rel = table["n_relevant"].to_numpy()
    for k in KS:
        assert ours[f"mrr@{k}"] == pytest.approx(st["mrr@k"][k], abs=1e-6)
        assert ours[f"ndcg@{k}"] == pytest.approx(st["ndcg@k"][k], abs=1e-6)
        assert ours[f"hit@{k}"] == pytest.approx(st["accuracy@k"][k], abs=1e-6)
        assert ours[f"recall@{k}"] == pytest.approx(st["recall@k"][k], abs=1e-6)
        assert ours[f"precision@{k}"] == pytest.approx(st["precision@k"][k], abs=1e-6)
        # ST divides MAP@k by min(k, n_relevant), trec_eval/ranx by n_relevant
        st_style = (table[f"map@{k}"] * n_rel / np.minimum(k, n_rel)).mean()
        assert st_style == pytest.approx(st["map@k"][k], abs=1e-6)
