"""One cold encode of N titles, for paired runs (toolkit vs plain) under a benchmark driver.

One process = one measurement; run it as many times as you like, alternating the modes
(A B A B ...) with nothing else on the machine, and compare the medians of ``encode_s``:

    python benchmarks/bench_cold_encode.py --mode toolkit --n 10000
    python benchmarks/bench_cold_encode.py --mode plain   --n 10000
    python benchmarks/bench_cold_encode.py --pairs 3      # without --mode (as `make bench`):
                                                          # 3 x (toolkit, plain), one process each

* ``plain``: ``SentenceTransformer.encode(titles, batch_size=64, convert_to_numpy=True)``.
* ``toolkit``: ``toolkit.encode(model, titles, batch_size=64)`` on an empty embedding
  cache: every process gets a fresh temporary ``TOOLKIT_CACHE_DIR`` (set before the toolkit
  is imported), removed at exit. That includes the model fingerprint: with no fingerprint
  record the weights are hashed once (the first-ever run of a model on a machine);
  ``--fingerprint-first`` computes it before the clock starts, as every later process
  that loads the same model folder finds it recorded (``toolkit.models.model_fingerprint``).

Both modes load the model the same way (``toolkit.load_model``, CPU unless ``--device``),
then encode ``--warmup`` other titles with the plain model (first-call allocations, thread
pools), then time the one call. Titles: the demo titles with a running number (distinct,
as in bench_encoding.py). Prints one JSON line: mode, n, load_s, encode_s, texts_per_s,
peak_rss_mb (VmHWM of this process), model_s (time inside the model's ``encode`` calls) and
outside_model_s (encode_s - model_s: what the toolkit adds around the model; ~0 for plain).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _titles(n: int, offset: int = 0) -> list[str]:
    from toolkit.data import demo

    base = list(demo().corpus.values())
    return [f"{base[i % len(base)].strip()} {i}" for i in range(offset, offset + n)]


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["toolkit", "plain"], default=None,
                        help="one measurement in this process; without it, run --pairs pairs")
    parser.add_argument("--pairs", type=int, default=1,
                        help="without --mode: alternating (toolkit, plain) processes (1)")
    parser.add_argument("--n", type=int, default=10_000, help="titles to encode (10000)")
    parser.add_argument("--model", default=None, help="model spec for load_model (default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=64, help="titles encoded before timing")
    parser.add_argument("--fingerprint-first", action="store_true",
                        help="toolkit: hash the model before the clock starts")
    args = parser.parse_args()
    if args.mode is None:
        import subprocess

        passed = ["--n", str(args.n), "--device", args.device, "--batch-size",
                  str(args.batch_size), "--warmup", str(args.warmup)]
        passed += ["--model", args.model] if args.model else []
        passed += ["--fingerprint-first"] if args.fingerprint_first else []
        for _ in range(args.pairs):
            for mode in ("toolkit", "plain"):
                done = subprocess.run([sys.executable, __file__, "--mode", mode, *passed],
                                      capture_output=True, text=True, check=True)
                print(done.stdout.strip().splitlines()[-1], flush=True)
        return

    tmp = tempfile.mkdtemp(prefix="bench-cold-")
    os.environ["TOOLKIT_CACHE_DIR"] = tmp  # before any toolkit import: a cold cache
    try:
        from toolkit.encoding import EmbeddingCache, encode
        from toolkit.models import load_model, model_fingerprint

        texts = _titles(args.n)
        t0 = time.perf_counter()
        model = load_model(args.model, device=args.device)
        load_s = time.perf_counter() - t0
        if args.warmup:
            model.encode(_titles(args.warmup, offset=args.n), batch_size=args.batch_size)
        if args.mode == "toolkit" and args.fingerprint_first:
            model_fingerprint(model)

        # Time inside the model's own encode calls, so "toolkit" also reports the time it
        # spends around them (hashing, cache look-ups and writes, normalising): a figure that,
        # unlike the toolkit-vs-plain ratio, does not move with the machine's drift.
        model_s = [0.0]
        real_encode = model.encode

        def timed_encode(*a, **kw):
            t = time.perf_counter()
            try:
                return real_encode(*a, **kw)
            finally:
                model_s[0] += time.perf_counter() - t

        model.encode = timed_encode
        t0 = time.perf_counter()
        if args.mode == "plain":
            model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
        else:
            encode(model, texts, batch_size=args.batch_size,
                   cache=EmbeddingCache(Path(tmp) / "embeddings"), show_progress=False)
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({
        "mode": args.mode, "n": args.n, "fingerprint_first": args.fingerprint_first,
        "load_s": round(load_s, 3), "encode_s": round(seconds, 4),
        "texts_per_s": round(args.n / seconds, 1), "peak_rss_mb": round(_peak_rss_mb(), 1),
        "model_s": round(model_s[0], 4), "outside_model_s": round(seconds - model_s[0], 4),
    }))


if __name__ == "__main__":
    main()
