"""Time and memory of reduce -> cluster -> label at growing sizes (prints a markdown table).

Data: synthetic Gaussian blobs (300-d, 20 centres, sklearn.datasets.make_blobs) and short
synthetic Russian "titles" whose topic words follow the blob, so the keywords can be checked.

Each configuration runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own and
the numba JIT of umap-learn is paid once per row; it is timed separately ("jit s", warm-up
fits on 50 and 4200 points, covering both neighbour paths) and excluded from "reduce s".

Columns: reduce s = first ``reduce`` (cold coordinate cache); cached s = the same call
again (warm cache: fingerprint + load); cluster s = HDBSCAN on the 2-d map
(``--min-samples``); label s =
``label_clusters`` (lemmatise + c-TF-IDF); ARI = clusters vs blob ids (noise as a group).
The CPU is shared with other jobs: "(cpu s)" is the process CPU time of the reduce step,
steadier than wall time.

Usage:
    python benchmarks/bench_clustering.py                 # 1k, 10k, 100k; PCA on/off
    python benchmarks/bench_clustering.py --sizes 1000 10000 --modes pca none
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TOPIC_WORDS = [
    "аккумулятора", "батареи", "электрода", "хлеба", "муки", "теста", "моста", "опоры",
    "балки", "насоса", "клапана", "турбины", "робота", "манипулятора", "датчика", "лазера",
    "волокна", "световода", "бетона", "цемента", "арматуры", "полимера", "катализатора",
    "нефти", "скважины", "бурения", "двигателя", "поршня", "цилиндра", "антенны",
    "сигнала", "приёмника", "вакцины", "антитела", "белка", "зерна", "семян", "почвы",
    "удобрения", "ткани", "пряжи", "бумаги", "целлюлозы", "стекла", "керамики", "сплава",
    "стали", "алюминия", "сварки", "резьбы", "подшипника", "редуктора", "вагона", "рельса",
    "самолёта", "крыла", "ракеты", "спутника", "изображения", "кодирования",
]
COMMON = ["нового", "улучшенного", "высокой", "прочности", "контроля", "защиты", "обработки"]
BOILERPLATE = ["СПОСОБ ПОЛУЧЕНИЯ", "УСТРОЙСТВО ДЛЯ", "СИСТЕМА", "СПОСОБ ИЗГОТОВЛЕНИЯ"]


def make_data(n: int, seed: int = 0):
    import numpy as np
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n, n_features=300, centers=20, cluster_std=4.0, random_state=seed)
    rng = np.random.default_rng(seed)
    texts = []
    for label in y:
        topic = [TOPIC_WORDS[(3 * label + k) % len(TOPIC_WORDS)] for k in range(3)]
        words = list(rng.choice(topic, size=2, replace=False)) + [rng.choice(COMMON)]
        texts.append(f"{rng.choice(BOILERPLATE)} {' '.join(words)}".upper())
    return X.astype(np.float32), y, texts


def run_one(n: int, mode: str, min_samples: int | None) -> dict:
    import numpy as np

    from toolkit.clustering import agreement, cluster, label_clusters, reduce

    X, y, texts = make_data(n)
    out = {"n": n, "mode": mode}
    t = time.perf_counter()
    if mode != "pca-method":
        # numba JIT of both neighbour paths: exact (< 4096 points) and NN-descent (above)
        reduce(np.random.default_rng(1).normal(size=(50, 8)), cache=False)
        reduce(np.random.default_rng(1).normal(size=(4200, 8)), cache=False, n_epochs=5)
    out["jit_s"] = time.perf_counter() - t
    kwargs = {
        "pca": {"method": "umap", "pca_above": 0},
        "none": {"method": "umap", "pca_above": None},
        "pca-method": {"method": "pca"},
    }[mode]
    t, c = time.perf_counter(), time.process_time()
    xy = reduce(X, **kwargs)
    out["reduce_s"] = time.perf_counter() - t
    out["reduce_cpu_s"] = time.process_time() - c
    t = time.perf_counter()
    xy2 = reduce(X, **kwargs)
    out["cached_s"] = time.perf_counter() - t
    assert np.array_equal(xy, xy2)
    t = time.perf_counter()
    labels = cluster(xy, min_cluster_size=max(15, n // 100), min_samples=min_samples)
    out["cluster_s"] = time.perf_counter() - t
    t = time.perf_counter()
    table = label_clusters(labels, texts, top_n=5)
    out["label_s"] = time.perf_counter() - t
    out["ari"] = agreement(labels, y)["ari"]
    out["n_clusters"] = int(len(set(labels.tolist()) - {-1}))
    out["noise"] = float((labels == -1).mean())
    out["example"] = ", ".join(table.loc[table.cluster >= 0, "keywords"].iloc[0][:3])
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument(
        "--modes", nargs="+", default=["pca", "none", "pca-method"],
        choices=["pca", "none", "pca-method"],
        help="pca: PCA(50) then UMAP; none: UMAP on 300-d; pca-method: PCA only (fallback)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    parser.add_argument(
        "--min-samples", type=int, default=10,
        help="HDBSCAN min_samples (0: scikit-learn's default = min_cluster_size, which costs "
        "minutes and GBs at 100k points)",
    )
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        ms = int(args.one[2]) or None
        print(json.dumps(run_one(int(args.one[0]), args.one[1], ms)))
        return

    print(
        f"# bench_clustering  (cpus visible: {os.cpu_count()}; load avg {os.getloadavg()}; "
        f"HDBSCAN min_cluster_size=max(15, n/100), min_samples={args.min_samples or 'default'})"
    )
    print("| n | mode | jit s | reduce s (cpu s) | cached s | cluster s | label s | peak RSS MB "
          "| clusters | noise | ARI | keywords of cluster 0 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        for mode in args.modes:
            env = dict(os.environ, TOOLKIT_CACHE_DIR=tempfile.mkdtemp(prefix="bench-reduce-"))
            try:
                proc = subprocess.run(
                    [sys.executable, __file__, "--one", str(n), mode, str(args.min_samples)],
                    capture_output=True, text=True, timeout=args.timeout, env=env, cwd=REPO,
                )
            except subprocess.TimeoutExpired:
                print(f"| {n} | {mode} | timed out after {args.timeout:.0f} s |")
                continue
            if proc.returncode != 0:
                print(f"| {n} | {mode} | failed: {proc.stderr.strip().splitlines()[-1]} |")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"| {r['n']} | {r['mode']} | {r['jit_s']:.1f} | {r['reduce_s']:.2f} "
                f"({r['reduce_cpu_s']:.2f}) | "
                f"{r['cached_s']:.3f} | {r['cluster_s']:.2f} | {r['label_s']:.2f} | "
                f"{r['peak_rss_mb']:.0f} | {r['n_clusters']} | {r['noise']:.2f} | "
                f"{r['ari']:.3f} | {r['example']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
