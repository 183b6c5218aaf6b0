"""Scale steps for benchmarks/bench_scale.py: streaming encode and clustering of n rows.

Each ``step_*(n, workdir, seed)`` builds its seeded synthetic input under ``workdir``, runs
the toolkit on it and returns a dict of measured fields (rows, seconds, rows/s,
agreement...). Wall time and peak RSS around a whole step are measured by the caller in a
subprocess (bench_scale.py); the seconds here time the toolkit call alone.

    python benchmarks/scale_steps.py encode 5000 /tmp/scale      # one step, prints JSON
    python benchmarks/scale_steps.py cluster 5000 /tmp/scale --full

Synthetic data:

* titles: words of the bundled demo titles recombined at random (4-14 words, the demo's
  own case), plus the row number so every title is distinct and none is a cache hit;
* vectors: ``k = 20`` Gaussian clusters in 512-d with unequal sizes (Dirichlet shares),
  centres ~ N(0, I), spread ``sd = 0.6`` per coordinate: separated, but not by a trivial
  margin after UMAP. The true cluster of each row is known.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

VECTOR_DIM = 512
N_CLUSTERS = 20
SPREAD = 0.6


def synthetic_titles(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct Russian-looking titles: demo-title words recombined, seeded."""
    from toolkit.data import demo

    words = sorted({w for t in demo().corpus.values() for w in t.split() if len(w) > 1})
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, 15, size=n)
    picks = rng.integers(0, len(words), size=int(lengths.sum()))
    out, at = [], 0
    for i, k in enumerate(lengths):
        out.append(" ".join(words[j] for j in picks[at : at + k]) + f" {i}")
        at += k
    return out


def write_corpus(n: int, path: Path, seed: int = 0) -> Path:
    """Write ``n`` synthetic titles as a Parquet corpus with ``id`` and ``title`` columns."""
    import pandas as pd

    from toolkit._io import write_atomic

    frame = pd.DataFrame({"id": [f"S{i:08d}" for i in range(n)],
                          "title": synthetic_titles(n, seed)})
    return write_atomic(path, lambda fh: frame.to_parquet(fh, index=False))


def synthetic_vectors(n: int, seed: int = 0, spread: float = SPREAD
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors float32 (n, 512), true cluster per row)``; see the module docstring."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(N_CLUSTERS, VECTOR_DIM))
    shares = rng.dirichlet(np.full(N_CLUSTERS, 2.0))
    truth = rng.choice(N_CLUSTERS, size=n, p=shares)
    vectors = np.empty((n, VECTOR_DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # float64 noise one block at a time
        stop = min(n, start + 100_000)
        noise = rng.normal(scale=spread, size=(stop - start, VECTOR_DIM))
        vectors[start:stop] = centres[truth[start:stop]] + noise
    return vectors, truth


def step_encode(n: int, workdir: str | Path, seed: int = 0, *, model: str | None = None,
                chunk_size: int = 4096) -> dict:
    """Stream-encode ``n`` synthetic titles (fresh embedding cache) into a store.

    Returns:
        ``rows``, ``dim``, ``chunk_size``, ``encode_s`` (the ``encode_corpus`` call, model
        loaded before), ``rows_per_s``, ``load_s``, ``vector_block_mb`` (the per-chunk
        vector block, ``chunk_size x dim x 4``) and ``store_mb``.
    """
    from toolkit.encoding import EmbeddingCache
    from toolkit.models import load_model
    from toolkit.streaming import encode_corpus

    work = Path(workdir)
    corpus = write_corpus(n, work / f"corpus-{n}-{seed}.parquet", seed)
    t0 = time.perf_counter()
    loaded = load_model(model, device="cpu")
    load_s = time.perf_counter() - t0
    store = work / f"store-{n}-{seed}-{time.time_ns()}"
    t0 = time.perf_counter()
    result = encode_corpus(corpus, store, loaded, chunk_size=chunk_size,
                           cache=EmbeddingCache(store / "emb"), show_progress=False)
    seconds = time.perf_counter() - t0
    return {
        "step": "encode", "rows": result.rows, "dim": result.dim, "chunk_size": chunk_size,
        "load_s": round(load_s, 3), "encode_s": round(seconds, 3),
        "rows_per_s": round(result.rows / seconds, 1),
        "vector_block_mb": round(chunk_size * result.dim * 4 / 2**20, 1),
        "store_mb": round((store / "vectors.npy").stat().st_size / 2**20, 1),
    }


def step_cluster(n: int, workdir: str | Path, seed: int = 0, *, sample_size: int = 20_000,
                 full: bool = False, assign: str = "input", spread: float = SPREAD) -> dict:
    """``cluster_large`` on ``n`` synthetic clustered vectors (memory-mapped from disk).

    HDBSCAN with ``min_samples=10`` and ``min_cluster_size`` = 0.25% of the points fitted
    (so the sample and a full fit look for clusters of the same share).

    Args:
        n: Rows.
        workdir: Folder for the vectors file.
        seed: Seed of the data and of the fit.
        sample_size: Rows fitted.
        full: Also fit on all rows (quadratic HDBSCAN: minutes at 100k) and report the
            agreement of the sample-fitted labels with the full-fitted ones.
        assign: ``cluster_large``'s ``assign`` (``"input"`` or ``"umap"``).
        spread: Per-coordinate sd of the clusters (larger: more overlap, harder).

    Returns:
        ``rows``, ``sample_size``, ``cluster_s``, ``rows_per_s``, ``n_clusters``,
        ``noise_share``, ``ari_truth``/``nmi_truth`` (vs the true clusters, noise as one
        group) and with ``full``: ``full_s``, ``full_n_clusters``, ``ari_full``/``nmi_full``.
    """
    from toolkit.clustering import agreement, cluster_large

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"vectors-{n}-{seed}-{spread}.npy"
    vectors, truth = synthetic_vectors(n, seed, spread)
    np.save(path, vectors)
    del vectors
    mapped = np.load(path, mmap_mode="r")
    fit = min(sample_size, n)

    def run(size: int):
        t0 = time.perf_counter()
        res = cluster_large(mapped, sample_size=size, seed=seed, min_samples=10, assign=assign,
                            min_cluster_size=max(5, round(0.0025 * min(size, n))))
        return res, time.perf_counter() - t0

    sampled, seconds = run(fit)
    vs_truth = agreement(sampled.labels, truth)
    out = {
        "step": "cluster", "rows": n, "sample_size": fit, "assign": sampled.assign,
        "spread": spread,
        "cluster_s": round(seconds, 3),
        "rows_per_s": round(n / seconds, 1), "n_clusters": sampled.n_clusters,
        "noise_share": round(float(np.mean(sampled.labels == -1)), 4),
        "ari_truth": round(vs_truth["ari"], 4), "nmi_truth": round(vs_truth["nmi"], 4),
    }
    if full:
        whole, full_s = run(n)
        vs_full = agreement(sampled.labels, whole.labels)
        out.update(full_s=round(full_s, 3), full_n_clusters=whole.n_clusters,
                   ari_full=round(vs_full["ari"], 4), nmi_full=round(vs_full["nmi"], 4),
                   full_ari_truth=round(agreement(whole.labels, truth)["ari"], 4))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["encode", "cluster"])
    parser.add_argument("n", type=int)
    parser.add_argument("workdir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-size", type=int, default=20_000)
    parser.add_argument("--full", action="store_true", help="cluster: also fit on all rows")
    parser.add_argument("--assign", choices=["input", "umap"], default="input")
    parser.add_argument("--spread", type=float, default=SPREAD, help="cluster: per-coordinate sd")
    parser.add_argument("--chunk-size", type=int, default=4096, help="encode: rows per chunk")
    args = parser.parse_args()
    if args.step == "encode":
        result = step_encode(args.n, args.workdir, args.seed, chunk_size=args.chunk_size)
    else:
        result = step_cluster(args.n, args.workdir, args.seed, sample_size=args.sample_size,
                              full=args.full, assign=args.assign, spread=args.spread)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
