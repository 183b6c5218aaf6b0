"""notebooks/sanitize.cfg: nbval really applies it, and it hides only what it should.

tests/fixtures/notebooks/sanitize_check.ipynb was executed once for real; its stored outputs
hold a memory address, a temporary path, timings, %time lines and a tqdm bar, which all differ
on the next run. Its last two cells are controls whose stored outputs were edited by hand to a
different *result* (a metric, a step count): those must fail even with the sanitize file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

REPO = Path(__file__).resolve().parents[1]
SANITIZE = REPO / "notebooks" / "sanitize.cfg"
FIXTURE = Path(__file__).parent / "fixtures" / "notebooks" / "sanitize_check.ipynb"
VOLATILE_CELLS = {0, 1, 2, 3, 4}  # nbval numbers code cells from 0
CONTROL_CELLS = {5, 6}


def _start_nbval(tmp_path: Path, *, sanitize: bool) -> subprocess.Popen:
    """Start nbval like `make nb` on a copy of the fixture (cwd = that copy's root)."""
    work = tmp_path / ("with" if sanitize else "without")
    (work / "notebooks").mkdir(parents=True)
    shutil.copy(FIXTURE, work / "notebooks" / FIXTURE.name)
    shutil.copy(SANITIZE, work / "notebooks" / "sanitize.cfg")
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--nbval"]
    cmd += ["--nbval-current-env"]
    if sanitize:
        cmd += ["--nbval-sanitize-with", "notebooks/sanitize.cfg"]
    cmd += ["notebooks"]
    return subprocess.Popen(
        cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _outcomes(proc: subprocess.Popen) -> dict[int, str]:
    """Wait for an nbval run; return {code cell number: PASSED/FAILED}."""
    try:
        stdout, _ = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, _ = proc.communicate()
        pytest.fail(f"nbval did not finish in 180 s:\n{stdout[-3000:]}")
    outcomes = {
        int(m.group(1)): m.group(2) for m in re.finditer(r"::Cell (\d+) (PASSED|FAILED)", stdout)
    }
    assert len(outcomes) == len(VOLATILE_CELLS | CONTROL_CELLS), stdout[-3000:]
    return outcomes


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both nbval runs, with and without the sanitize file, started side by side."""
    tmp = tmp_path_factory.mktemp("nbval")
    procs = {flag: _start_nbval(tmp, sanitize=flag) for flag in (True, False)}
    return {flag: _outcomes(proc) for flag, proc in procs.items()}


def test_with_sanitize_file_volatile_outputs_pass(runs):
    assert {c: runs[True][c] for c in VOLATILE_CELLS} == dict.fromkeys(VOLATILE_CELLS, "PASSED")


def test_without_sanitize_file_the_same_cells_fail(runs):
    assert {c: runs[False][c] for c in VOLATILE_CELLS} == dict.fromkeys(VOLATILE_CELLS, "FAILED")


def test_changed_results_still_fail_with_sanitize_file(runs):
    assert {c: runs[True][c] for c in CONTROL_CELLS} == dict.fromkeys(CONTROL_CELLS, "FAILED")


# --- the patterns themselves, parsed by nbval's own reader ------------------------------------


def _sanitize(text: str) -> str:
    patterns = get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def test_nbval_reads_every_pattern_in_the_file():
    sections = re.findall(r"^\[regex\d+\]$", SANITIZE.read_text(encoding="utf-8"), re.M)
    patterns = get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))
    assert len(patterns) == len(sections) >= 8
    for regex, replace in patterns:
        re.compile(regex)
        assert regex == regex.strip() and replace == replace.strip() and replace


@pytest.mark.parametrize(
    ("run1", "run2"),
    [
        # transformers 5 "Loading weights" bar, as printed when loading all-MiniLM-L6-v2 here
        (
            "Loading weights: 100%|██████████| 103/103 [00:00<00:00, 3375.61it/s]\n",
            "Loading weights: 100%|██████████| 103/103 [00:00<00:00, 812.20it/s]\n",
        ),
        ("Batches:   0%|          | 0/4 [00:00<?, ?it/s]", "Batches:   0%|          | 0/4"),
        ("Wall time: 2.49 ms\n", "Wall time: 1min 3s\n"),
        ("CPU times: user 2.16 ms, sys: 320 μs, total: 2.48 ms", "CPU times: user 1 s, sys: 0 ns"),
        ("encoded 280 titles in 3.52 s", "encoded 280 titles in 11.9s"),
        ("epoch 1 took 0.5 sec, elapsed 12.31", "epoch 1 took 1.25 seconds, elapsed 9.8"),
        ("<object object at 0x7f8c7f8c73c0>", "<object object at 0x7fa0d1e2b470>"),
        (
            "cache: /tmp/pytest-of-root/pytest-3/toolkit-cache0/abc.npy",
            "cache: /home/runner/work/toolkit/.cache/abc.npy",
        ),
        (
            "/work/main/.venv/lib/python3.11/site-packages/umap/umap_.py: UserWarning",
            "/root/.venv/lib/python3.12/site-packages/umap/umap_.py: UserWarning",
        ),
        (r"saved to C:\Users\anna\AppData\Local\Temp\run1", r"saved to D:\a\toolkit\run7"),
        (
            '<div id="6334ba5c-8ba3-4e2a-81b9-1363a981c1fe" class="plotly-graph-div">',
            '<div id="0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b" class="plotly-graph-div">',
        ),
        ("run at 2026-01-02T10:11:12.5Z", "run at 2026-11-27 14:11:00+0300"),
    ],
)
def test_volatile_text_sanitizes_to_the_same_string(run1, run2):
    assert run1 != run2
    assert _sanitize(run1) == _sanitize(run2)


@pytest.mark.parametrize(
    "text",
    [
        "mrr@10 = 0.695, ndcg@10 = 0.644",
        "trained for 10 steps, 5 слов, top 10 sentences",
        "n_docs=280 dim=1024 seed=0",
        "see https://cdn.plot.ly/plotly-4.1.1.min.js and notebooks/01_embedding_space.ipynb",
        "ratio 3:4, IPC G06F 16/33",
    ],
)
def test_results_are_left_alone(text):
    assert _sanitize(text) == text
