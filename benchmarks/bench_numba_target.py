"""What pinning numba to the portable ``generic`` target costs UMAP (one run per process).

Run it once per target and compare whole processes pair by pair, e.g. with
``/usr/bin/time -v`` or any A/B harness, alternating the two:

    TOOLKIT_NUMBA_CPU_NAME=generic python benchmarks/bench_numba_target.py --n 10000
    TOOLKIT_NUMBA_CPU_NAME=host    python benchmarks/bench_numba_target.py --n 10000

Data: 300-d Gaussian blobs (20 centres, ``make_blobs``, seed 0), as in bench_clustering.py.
The step is the one notebook 03 runs: ``toolkit.clustering.reduce(X, n_components=5,
min_dist=0.0, random_state=42, cache=False)`` (above 4,096 points: PCA to 50-d first, then
UMAP with pynndescent). It runs twice in the process: the first call includes numba's
compilation (or the load of its on-disk cache for this target), the second is the kernels
alone. Prints one JSON line: target, n, first s, second s.
"""

from __future__ import annotations

import argparse
import json
import time

import toolkit  # noqa: F401  (pins numba before umap is imported)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="points (default 1000)")
    args = parser.parse_args()

    import numpy as np
    from sklearn.datasets import make_blobs

    from toolkit._numerics import numba_target
    from toolkit.clustering import reduce

    X, _ = make_blobs(n_samples=args.n, n_features=300, centers=20, cluster_std=4.0, random_state=0)
    X = X.astype(np.float32)
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        reduce(X, n_components=5, min_dist=0.0, random_state=42, cache=False)
        times.append(time.perf_counter() - t0)
    row = {"target": numba_target().split("+")[0], "n": args.n}
    print(json.dumps(row | {"first s": round(times[0], 2), "second s": round(times[1], 2)}))


if __name__ == "__main__":
    main()
