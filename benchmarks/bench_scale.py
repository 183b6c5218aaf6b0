"""Scale benchmark: index build, exact vs approximate search, metrics -- wall time and peak RSS.

Synthetic, seeded corpora stand in for the Rospatent titles: ``n`` unit vectors (512-d by
default) around ``n / 200`` random topic centres, and 10k queries that are noisy copies of
corpus vectors (the copied doc is the query's relevant doc for the metrics step). Every step
runs in its own subprocess, so its peak RSS (``ru_maxrss`` of that process) is its own;
"wall s" is the step's own time (imports excluded), measured inside the child.

Steps (``--steps``; a registry, ``STEPS``):

* ``data``          write the seeded vectors and queries to ``--workdir`` (memory-mapped, chunked).
* ``index_exact``   :class:`toolkit.index.ExactIndex` over the vectors (load + tie order).
* ``index_approx``  :func:`toolkit.index.build_index` (faiss HNSW) incl. its recall@10 check
  (on 1,000 corpus vectors and the first 1,000 queries, as ``search`` does), saved with
  :func:`toolkit.index.save_index`.
* ``search``        ``--queries`` queries, exact vs the saved approximate index: both times,
  speed-up, recall@10 of approximate against exact.
* ``threshold``     1,000 queries: exact ms/query, HNSW ms/query, build s and the number of
  queries after which the build pays for itself -- run it at several ``--n`` to re-measure
  :data:`toolkit.index.AUTO_EXACT_BELOW`.
* ``metrics``       :func:`toolkit.retrieval_metrics_from_embeddings`, ``--queries`` x n.
* ``encode``, ``cluster`` (and any other ``step_<name>(n, workdir, seed) -> dict``) come from
  ``benchmarks/scale_steps.py`` when that module exists.

Each step function has the signature ``step(n, workdir, seed) -> dict``; the dict's keys
become extra table columns. Output: one markdown table on stdout (date, machine, n, step,
wall s, peak RSS MiB, extras). Run it with nothing else on the machine for real numbers.

Usage:
    python benchmarks/bench_scale.py --n 20000                     # tiny check that it works
    python benchmarks/bench_scale.py --n 100000 1000000             # the issue's sizes
    python benchmarks/bench_scale.py --n 4000000 --steps data index_approx search
    python benchmarks/bench_scale.py --n 25000 50000 100000 200000 --steps data threshold
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DIM = 512
N_QUERIES = 10_000
STEPS: dict[str, Callable[[int, Path, int], dict]] = {}
DEFAULT_STEPS = ("data", "index_exact", "index_approx", "search", "metrics")


def step(name: str):
    """Register ``fn(n, workdir, seed) -> dict`` as a benchmark step."""

    def register(fn):
        STEPS[name] = fn
        return fn

    return register


# ------------------------------------------------------------------------------------ data


def _paths(n: int, workdir: Path, seed: int) -> dict[str, Path]:
    stem = workdir / f"n{n}-d{_dim()}-s{seed}"
    return {"docs": stem.with_suffix(".docs.npy"), "queries": stem.with_suffix(".queries.npy"),
            "source": stem.with_suffix(".source.npy"), "index": stem.with_suffix(".tkindex")}


def _dim() -> int:
    return int(os.environ.get("BENCH_SCALE_DIM", DIM))


def _n_queries() -> int:
    return int(os.environ.get("BENCH_SCALE_QUERIES", N_QUERIES))


@step("data")
def step_data(n: int, workdir: Path, seed: int) -> dict:
    """Seeded clustered unit vectors, written in 100k-row chunks to a .npy memmap."""
    p = _paths(n, workdir, seed)
    dim, rng = _dim(), np.random.default_rng(seed)
    centres = rng.standard_normal((max(n // 200, 10), dim)).astype(np.float32)
    docs = np.lib.format.open_memmap(p["docs"], mode="w+", dtype=np.float32, shape=(n, dim))
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = centres[rng.integers(0, len(centres), m)]
        x += 0.9 * rng.standard_normal((m, dim), dtype=np.float32)
        docs[start : start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    docs.flush()
    nq = min(_n_queries(), n)
    source = np.sort(rng.choice(n, size=nq, replace=False))
    # noise of norm ~0.9 on a unit vector: cosine ~0.75 with its source doc, like a query
    # with the title it was written for (the source is its one relevant doc in 'metrics')
    q = docs[source] + (0.9 / np.sqrt(dim)) * rng.standard_normal((nq, dim), dtype=np.float32)
    np.save(p["queries"], q / np.linalg.norm(q, axis=1, keepdims=True))
    np.save(p["source"], source)
    del docs
    return {"GiB on disk": round(p["docs"].stat().st_size / 2**30, 2), "queries": nq}


def _load(n: int, workdir: Path, seed: int):
    p = _paths(n, workdir, seed)
    if not p["docs"].exists():
        raise SystemExit(f"{p['docs']} is missing: run the 'data' step first (--steps data ...)")
    return np.load(p["docs"], mmap_mode="r"), np.load(p["queries"]), np.load(p["source"]), p


# ----------------------------------------------------------------------------------- steps


@step("index_exact")
def step_index_exact(n: int, workdir: Path, seed: int) -> dict:
    from toolkit.index import ExactIndex

    docs, *_ = _load(n, workdir, seed)
    ExactIndex(np.asarray(docs))
    return {}


@step("index_approx")
def step_index_approx(n: int, workdir: Path, seed: int) -> dict:
    from toolkit.index import build_index, save_index

    docs, queries, _, p = _load(n, workdir, seed)
    # as search() does: its queries (here the first 1,000) join the recall sample
    idx = build_index(np.asarray(docs), kind="approx", seed=seed, verbose=False,
                      recall_queries=queries[:1000])
    save_index(idx, p["index"], key=f"bench-{n}-{seed}")
    m = idx.meta
    return {"build s": m["build_s"], "recall check s": m["recall_s"],
            "recall@10": m["recall_at_10"], "recall@10 corpus sample": m["recall_at_10_corpus"],
            "efSearch": m["ef_search"]}


def _exact_vs_approx(n: int, workdir: Path, seed: int, n_queries: int) -> dict:
    from toolkit.index import ExactIndex, load_index

    docs, queries, _, p = _load(n, workdir, seed)
    queries = queries[:n_queries]
    if not p["index"].exists():
        raise SystemExit(f"{p['index']} is missing: run the 'index_approx' step first")
    approx = load_index(p["index"])
    exact = ExactIndex(np.asarray(docs))
    t0 = time.perf_counter()
    _, want = exact.search(queries, 10)
    exact_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, got = approx.search(queries, 10)
    approx_s = time.perf_counter() - t0
    hits = [len(np.intersect1d(a, b)) for a, b in zip(got, want, strict=True)]
    recall = float(np.mean(hits)) / 10
    return {"queries": len(queries), "exact s": round(exact_s, 3), "approx s": round(approx_s, 3),
            "speed-up": round(exact_s / approx_s, 1), "recall@10": round(recall, 4),
            "build s": approx.meta["build_s"]}


@step("search")
def step_search(n: int, workdir: Path, seed: int) -> dict:
    return _exact_vs_approx(n, workdir, seed, _n_queries())


@step("threshold")
def step_threshold(n: int, workdir: Path, seed: int) -> dict:
    """Exact vs HNSW per-query cost at this n, and queries until the build pays off."""
    p = _paths(n, workdir, seed)
    if not p["index"].exists():
        step_index_approx(n, workdir, seed)
    r = _exact_vs_approx(n, workdir, seed, 1000)
    per_exact, per_approx = r["exact s"] / r["queries"], r["approx s"] / r["queries"]
    gain = per_exact - per_approx
    return {"exact ms/q": round(1e3 * per_exact, 3), "approx ms/q": round(1e3 * per_approx, 3),
            "build s": r["build s"], "recall@10": r["recall@10"],
            "break-even queries": round(r["build s"] / gain) if gain > 0 else "never"}


@step("metrics")
def step_metrics(n: int, workdir: Path, seed: int) -> dict:
    from toolkit.metrics import retrieval_metrics_from_embeddings

    docs, queries, source, _ = _load(n, workdir, seed)
    qids = [f"q{i}" for i in range(len(queries))]
    qrels = {q: {int(s): 1} for q, s in zip(qids, source.tolist(), strict=True)}
    summary, _ = retrieval_metrics_from_embeddings(
        queries, np.asarray(docs), qrels, query_ids=qids, doc_ids=range(n), similarity="dot"
    )
    return {"queries": len(queries), "mrr@10": round(summary["mrr@10"], 4)}


def _external_steps(path: Path | None = None) -> None:
    """Register ``step_<name>`` functions of benchmarks/scale_steps.py (encode, cluster, ...)."""
    path = path or Path(__file__).with_name("scale_steps.py")
    if not path.exists():
        return
    spec = importlib.util.spec_from_file_location("scale_steps", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in dir(module):
        if name.startswith("step_") and callable(getattr(module, name)):
            STEPS.setdefault(name.removeprefix("step_"), getattr(module, name))


_external_steps()


# ---------------------------------------------------------------------------------- runner


def _worker(name: str, n: int, workdir: Path, seed: int) -> None:
    t0 = time.perf_counter()
    extra = STEPS[name](n, workdir, seed)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"wall_s": wall, "peak_rss_mib": peak, "extra": extra}, default=str))


def run_step(name: str, n: int, workdir: Path, seed: int) -> dict:
    """Run one step in a fresh interpreter; return its JSON record."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--n", str(n), "--workdir", str(workdir),
         "--seed", str(seed), "--dim", str(_dim()), "--queries", str(_n_queries())],
        capture_output=True, text=True, env=env, check=False,
    )
    if out.returncode:
        raise SystemExit(f"step {name} at n={n} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    """CPU model, cores and memory of this machine, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        mem = ""
    return f"{cpu}, {os.cpu_count()} cores{mem}"


def table(rows: list[dict]) -> str:
    """Markdown table of the step records (extra keys become columns, in first-seen order)."""
    extras: list[str] = []
    for r in rows:
        extras += [k for k in r["extra"] if k not in extras]
    head = ["date", "machine", "n", "step", "wall s", "peak RSS MiB", *extras]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in rows:
        cells = [r["date"], r["machine"], f"{r['n']:,}", r["step"], f"{r['wall_s']:.2f}",
                 f"{r['peak_rss_mib']:,.0f}", *(str(r["extra"].get(k, "")) for k in extras)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--steps", nargs="+", default=None,
                    help=f"steps to run, in order (default {' '.join(DEFAULT_STEPS)}"
                    " + encode/cluster when benchmarks/scale_steps.py exists)")
    ap.add_argument("--queries", type=int, default=N_QUERIES)
    ap.add_argument("--dim", type=int, default=DIM)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where data and indexes go (default: a temporary folder, removed)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.environ["BENCH_SCALE_DIM"] = str(args.dim)
    os.environ["BENCH_SCALE_QUERIES"] = str(args.queries)
    if args.worker:
        _worker(args.worker, args.n[0], args.workdir, args.seed)
        return
    steps = args.steps or [*DEFAULT_STEPS, *(s for s in ("encode", "cluster") if s in STEPS)]
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        ap.error(f"unknown step(s) {unknown}; known: {sorted(STEPS)}")
    with tempfile.TemporaryDirectory(prefix="bench_scale-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = []
        where = machine()
        for n in args.n:
            for name in steps:
                rec = run_step(name, n, workdir, args.seed)
                rec.update(date=dt.date.today().isoformat(), machine=where, n=n, step=name)
                rows.append(rec)
                print(f"# {name} n={n:,}: {rec['wall_s']:.2f} s, {rec['peak_rss_mib']:,.0f} MiB",
                      file=sys.stderr, flush=True)
    print(f"\nbench_scale: dim={args.dim}, queries={args.queries:,}, seed={args.seed}; each step "
          "in its own process, wall s excludes imports\n")
    print(table(rows))


if __name__ == "__main__":
    main()
