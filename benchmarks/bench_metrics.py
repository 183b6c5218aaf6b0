"""Benchmark: toolkit.metrics vs ranx vs sentence-transformers' InformationRetrievalEvaluator.

Measures wall time and peak RSS of each system in its own subprocess on the same seeded data
(random L2-normalised float32 embeddings, binary qrels with 1-5 relevant docs per query,
queries placed near their relevant docs so the metrics are not all ~0), and the largest
absolute difference between their metric values. Then runs the toolkit alone on a large
corpus. This is a script that prints a markdown table, not a timed test.

What each system is timed on (imports and data loading excluded):
* toolkit: ``retrieval_metrics_from_embeddings(similarity="dot")`` -- scoring + exact ranks.
* sentence-transformers: ``InformationRetrievalEvaluator.compute_all_metrics`` with the
  embeddings passed in (``corpus_embeddings`` and a stub whose ``encode_query`` returns the
  query embeddings) and ``dot_score`` -- scoring + top-k + metrics.
* ranx: numpy scoring + top-100 (``argpartition``), building the ``Run``/``Qrels`` and
  ``evaluate`` (ranx needs a ready run; its numba JIT is warmed up before timing).

Usage:
    python benchmarks/bench_metrics.py                      # 1k x 50k (3 rounds), 10k x 1M
    python benchmarks/bench_metrics.py --large-docs 200000  # scale the large run down
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KS = (1, 3, 5, 10, 100)
METRICS = ("mrr", "recall", "precision", "ndcg", "map", "hit")


def make_data(out: Path, n_q: int, n_d: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    docs = rng.standard_normal((n_d, dim), dtype=np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    n_rel = rng.integers(1, 6, size=n_q)
    rel = [rng.choice(n_d, size=int(m), replace=False) for m in n_rel]
    queries = np.stack([docs[r].sum(axis=0) for r in rel])
    queries += rng.standard_normal(queries.shape, dtype=np.float32) * 0.2 * np.sqrt(n_rel)[:, None]
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    np.save(out / "queries.npy", queries.astype(np.float32))
    np.save(out / "docs.npy", docs)
    qrels = {f"q{i}": {f"d{j}": 1 for j in r.tolist()} for i, r in enumerate(rel)}
    (out / "qrels.json").write_text(json.dumps(qrels))


def load(data: Path):
    q = np.load(data / "queries.npy")
    d = np.load(data / "docs.npy")
    qrels = json.loads((data / "qrels.json").read_text())
    return q, d, qrels, [f"q{i}" for i in range(len(q))], [f"d{j}" for j in range(len(d))]


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def worker(system: str, data: Path) -> dict:
    t0 = time.perf_counter()
    if system == "toolkit":
        from toolkit.metrics import retrieval_metrics_from_embeddings
    elif system == "ranx":
        import warnings

        warnings.filterwarnings("ignore")
        from ranx import Qrels, Run, evaluate

        warm = [f"{m}@{k}" for m in ("mrr", "recall", "precision", "ndcg", "map", "hit_rate")
                for k in KS]
        evaluate(Qrels({"q": {"a": 1}}), Run({"q": {"a": 1.0, "b": 0.5}}), warm)  # numba JIT
    else:
        import torch
        from sentence_transformers.sentence_transformer.evaluation import (
            InformationRetrievalEvaluator,
        )
        from sentence_transformers.util import dot_score
    import_s = time.perf_counter() - t0
    q, d, qrels, qids, dids = load(data)
    rss_before = rss_mib()
    t0 = time.perf_counter()
    values: dict[str, float] = {}
    extra = ""
    if system == "toolkit":
        summary, _ = retrieval_metrics_from_embeddings(
            q, d, qrels, query_ids=qids, doc_ids=dids, ks=KS, similarity="dot"
        )
        values = {k: v for k, v in summary.items() if "@" in k}
    elif system == "ranx":
        top = max(KS)
        run = {}
        for s in range(0, len(q), 256):
            block = q[s : s + 256] @ d.T
            idx = np.argpartition(block, block.shape[1] - top, axis=1)[:, -top:]
            vals = np.take_along_axis(block, idx, axis=1)
            for i in range(block.shape[0]):
                run[qids[s + i]] = {dids[j]: float(v) for j, v in zip(idx[i], vals[i], strict=True)}
        t_run = time.perf_counter() - t0
        names = {"mrr": "mrr", "recall": "recall", "precision": "precision", "ndcg": "ndcg",
                 "map": "map", "hit": "hit_rate"}
        res = evaluate(Qrels(qrels), Run(run), [f"{names[m]}@{k}" for m in METRICS for k in KS])
        values = {f"{m}@{k}": float(res[f"{names[m]}@{k}"]) for m in METRICS for k in KS}
        t_eval = time.perf_counter() - t0 - t_run
        extra = f"scoring+top-{top} {t_run:.2f} s, Run+evaluate {t_eval:.2f} s"
    else:
        class GivenQueries:  # stands in for the model: "encodes" query i as its embedding
            def __init__(self, emb):
                self.emb = torch.from_numpy(emb)

            def encode_query(self, sentences, **kwargs):
                return self.emb[[int(s) for s in sentences]]

        ev = InformationRetrievalEvaluator(
            queries={qid: str(i) for i, qid in enumerate(qids)},
            corpus={did: did for did in dids},
            relevant_docs={k: set(v) for k, v in qrels.items()},
            mrr_at_k=list(KS), ndcg_at_k=list(KS), accuracy_at_k=list(KS),
            precision_recall_at_k=list(KS), map_at_k=list(KS),
            score_functions={"dot": dot_score}, corpus_chunk_size=len(dids),
        )
        st = ev.compute_all_metrics(GivenQueries(q), corpus_embeddings=torch.from_numpy(d))["dot"]
        names = {"mrr": "mrr@k", "recall": "recall@k", "precision": "precision@k",
                 "ndcg": "ndcg@k", "map": "map@k", "hit": "accuracy@k"}
        values = {f"{m}@{k}": float(st[names[m]][k]) for m in METRICS for k in KS}
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"system": system, "wall_s": wall, "import_s": import_s, "peak_rss_mib": peak,
            "rss_before_mib": rss_before, "values": values, "note": extra}


def run_worker(system: str, data: Path) -> dict:
    env = dict(os.environ)
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--worker", system, "--data", str(data)],
        capture_output=True, text=True, env=env, check=False,
    )
    if out.returncode:
        raise SystemExit(f"{system} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (its values and memory are reported with it)."""
    return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]


def max_diff(a: dict, b: dict, skip=()) -> float:
    return max(abs(a[k] - b[k]) for k in a if k in b and k not in skip)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--docs", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--large-queries", type=int, default=10_000)
    ap.add_argument("--large-docs", type=int, default=1_000_000)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds (toolkit, ranx, st, toolkit, ...) for the ratios")
    ap.add_argument("--worker", choices=["toolkit", "ranx", "st"])
    ap.add_argument("--data", type=Path)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.data)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        make_data(data, args.queries, args.docs, args.dim, args.seed)
        # A B C A B C ...: each round runs every system once, so a drift of the machine's
        # speed hits all three alike; ratios are per round, the table shows the median round.
        rounds = [{s: run_worker(s, data) for s in ("toolkit", "ranx", "st")}
                  for _ in range(args.rounds)]
        res = {s: _median_run([r[s] for r in rounds]) for s in ("toolkit", "ranx", "st")}
        base = res["toolkit"]["values"]
        # ST divides MAP@k by min(k, n_relevant); with 1-5 relevant docs that differs at k < 5
        st_skip = {"map@1", "map@3"}
        for s, label in (("toolkit", "toolkit"), ("ranx", "ranx"), ("st", "sentence-transformers")):
            r = res[s]
            skip = st_skip if s == "st" else ()
            diff = 0.0 if s == "toolkit" else max_diff(base, r["values"], skip)
            rows.append((label, f"{args.queries:,} x {args.docs:,}", r, diff))
        ratio = {s: [r[s]["wall_s"] / r["toolkit"]["wall_s"] for r in rounds]
                 for s in ("st", "ranx")}
        st_map = {k: (base[k], res["st"]["values"][k]) for k in sorted(st_skip)}
    if not args.skip_large:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp)
            make_data(data, args.large_queries, args.large_docs, args.dim, args.seed + 1)
            r = run_worker("toolkit", data)
            rows.append(("toolkit", f"{args.large_queries:,} x {args.large_docs:,}", r, None))

    print(f"\nnproc={os.cpu_count()}, dim={args.dim}, ks={KS}, seed={args.seed}; "
          "times exclude imports and data loading\n")
    print("| system | queries x docs | wall (s) | peak RSS (MiB) | RSS before eval (MiB) "
          "| max abs diff vs toolkit | note |")
    print("|---|---|---:|---:|---:|---:|---|")
    for label, size, r, diff in rows:
        d = "—" if diff is None else f"{diff:.2e}"
        print(f"| {label} | {size} | {r['wall_s']:.2f} | {r['peak_rss_mib']:,.0f} | "
              f"{r['rss_before_mib']:,.0f} | {d} | {r['note']} |")
    per_round = {s: ", ".join(f"{x:.2f}" for x in ratio[s]) for s in ratio}
    print(f"\nwall s: median of {args.rounds} interleaved rounds. toolkit speed-up per round "
          f"(scoring + top-k + evaluate): vs sentence-transformers {per_round['st']} "
          f"(median {statistics.median(ratio['st']):.2f}x); vs ranx {per_round['ranx']} "
          f"(median {statistics.median(ratio['ranx']):.2f}x)")
    print("ST MAP@k for k < max relevant (definitions differ, excluded from the diff): "
          + ", ".join(f"{k} toolkit {a:.4f} / ST {b:.4f}" for k, (a, b) in st_map.items()))
    print(f"toolkit mrr@10 = {base['mrr@10']:.4f}, ndcg@10 = {base['ndcg@10']:.4f} "
          f"on {args.queries:,} queries")


if __name__ == "__main__":
    main()
