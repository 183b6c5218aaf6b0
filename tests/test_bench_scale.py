"""benchmarks/bench_scale.py runs end to end at a tiny size and prints its table.

No timing is asserted (times on a shared machine mean nothing); what is checked is that
every step runs in its own process, reports wall time and peak RSS, and that the step
registry picks up ``step_<name>`` functions from a ``scale_steps.py`` module.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scale"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_scale", None)


@pytest.mark.slow
def test_tiny_run_prints_one_row_per_step(bench, tmp_path, capsys):
    steps = ["data", "index_exact", "index_approx", "search", "threshold", "metrics"]
    bench.main(["--n", "1500", "--dim", "16", "--queries", "40", "--workdir", str(tmp_path),
                "--steps", *steps])
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("| 20")]
    assert [ln.split(" | ")[3] for ln in lines] == steps
    head = next(ln for ln in out.splitlines() if ln.startswith("| date"))
    for col in ("wall s", "peak RSS MiB", "recall@10", "speed-up", "break-even queries"):
        assert col in head
    for ln in lines:
        wall, rss = ln.split(" | ")[4:6]
        assert float(wall) >= 0 and float(rss.replace(",", "")) > 0


def test_unknown_step_is_refused(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--n", "10", "--steps", "data", "encdoe"])
    assert "unknown step(s) ['encdoe']" in capsys.readouterr().err


def test_registry_takes_steps_from_scale_steps_module(bench, tmp_path):
    module = tmp_path / "scale_steps.py"
    module.write_text(
        "def step_encode(n, workdir, seed):\n    return {'titles': n, 'seed': seed}\n"
        "def helper():\n    return None\n"
    )
    real = bench.STEPS.pop("encode", None)  # the shipped scale_steps.py registered one at import
    bench._external_steps(module)
    try:
        assert bench.STEPS["encode"](7, tmp_path, 3) == {"titles": 7, "seed": 3}
        assert "helper" not in bench.STEPS
    finally:
        bench.STEPS.pop("encode", None)
        if real is not None:
            bench.STEPS["encode"] = real
