"""The notebook executions of one test session, shared by every check that reads them.

Each notebook is executed once as users run it (``plain``) and once on a simulated other host
(``another-host``), with papermill through ``toolkit.report.build_report`` (as ``make report``
runs them), each plan in its own process with its own empty ``TOOLKIT_CACHE_DIR`` (no run can
read another's vectors or UMAP coordinates back) and the network blocked in the kernel
(``tests/netblock.py``). Both plans start when pytest has collected a test that asks for the
``notebook_runs`` fixture, and run while the rest of the suite does; the fixture waits for them.

``another-host`` applies at once every difference measured between the project's machines:

* ``TOOLKIT_PERTURB_VECTORS=1e-6``: every vector ``toolkit.encode`` returns carries Gaussian
  noise of 1e-6 relative, fixed per text; on the 512-d unit vectors that is up to ~2e-7
  absolute, the size measured between batch compositions on an Intel Xeon (1.8e-7);
* ``TOOLKIT_ENCODE_BATCH_SIZE=7``: other batches (and other padding) than the default 64;
* ``ATEN_CPU_CAPABILITY=default``: torch's pre-AVX2 kernels, for inference and fine-tuning;
* ``OMP_NUM_THREADS=1``: one thread instead of the machine's two (other reduction orders);
* ``TOOLKIT_NUMBA_CPU_NAME=haswell``: UMAP's numba kernels compiled for another CPU;
* ``OPENBLAS_CORETYPE=Prescott``: OpenBLAS's oldest x86-64 kernels.

``TOOLKIT_TEST_PERTURBATIONS=each`` adds one plan per perturbation alone (six more executions
of every notebook; for a session that changes the tolerances, not for every ``make test``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from netblock import netblock_env

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_TIMEOUT_S = 2400

PERTURBATIONS = {
    "noise": {"TOOLKIT_PERTURB_VECTORS": "1e-6"},
    "batch": {"TOOLKIT_ENCODE_BATCH_SIZE": "7"},
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},
    "one-thread": {"OMP_NUM_THREADS": "1"},
    "numba-haswell": {"TOOLKIT_NUMBA_CPU_NAME": "haswell"},
    "openblas-prescott": {"OPENBLAS_CORETYPE": "Prescott"},
}
ANOTHER_HOST = {k: v for env in PERTURBATIONS.values() for k, v in env.items()}


def plans() -> dict[str, dict[str, str]]:
    """Plan name -> environment it adds."""
    chosen = {"plain": {}, "another-host": ANOTHER_HOST}
    if os.environ.get("TOOLKIT_TEST_PERTURBATIONS") == "each":
        chosen |= PERTURBATIONS
    return chosen


RUNNER = r"""
import sys, time
from pathlib import Path
from toolkit.report import ReportError, build_report
out = Path(sys.argv[1])
for nb in sys.argv[2:]:
    start = time.perf_counter()
    try:
        build_report(out_dir=out, notebooks=[nb])
    except ReportError as exc:
        print(exc, flush=True)
    print(f"TIMING {Path(nb).stem} {time.perf_counter() - start:.1f}", flush=True)
"""


@dataclass
class Runs:
    """Executions under way; :meth:`wait` gives each plan's folder of executed notebooks."""

    root: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    net_logs: dict[str, Path] = field(default_factory=dict)
    result: dict[str, Path] | None = None

    def wait(self) -> dict[str, Path]:
        if self.result is None:
            for name, proc in self.procs.items():
                try:
                    proc.wait(timeout=RUN_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    for p in self.procs.values():
                        p.kill()
                    raise RuntimeError(f"plan {name!r} ran over {RUN_TIMEOUT_S} s") from None
            self.result = {name: self.root / name / "report" for name in self.procs}
        return self.result

    def log(self, plan: str) -> str:
        return self.logs[plan].read_text(encoding="utf-8", errors="replace")

    def timings(self, plan: str) -> dict[str, float]:
        lines = [x.split() for x in self.log(plan).splitlines() if x.startswith("TIMING ")]
        return {name: float(s) for _, name, s in lines}

    def net_attempts(self, plan: str) -> list[dict]:
        text = self.net_logs[plan].read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line]


def start(root: Path) -> Runs:
    """Start every plan's process (all notebooks, one after another, in each)."""
    runs = Runs(root)
    shared_numba = root / "numba"  # numba's on-disk cache is keyed by the target: safe to share
    for name, extra in plans().items():
        folder = root / name
        folder.mkdir(parents=True)
        block, runs.net_logs[name] = netblock_env(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "TOOLKIT_"))}
        env |= {
            "TOOLKIT_CACHE_DIR": str(folder / "cache"),
            "NUMBA_CACHE_DIR": str(shared_numba),
            **block,
            **extra,
        }
        env.pop("HF_HUB_OFFLINE", None)  # the real unreachable-hub path, as test_offline wants
        runs.logs[name] = folder / "log.txt"
        with open(runs.logs[name], "w") as log:
            runs.procs[name] = subprocess.Popen(
                [sys.executable, "-c", RUNNER, str(folder / "report"), *map(str, NOTEBOOKS)],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    return runs
