"""nbval as users run it: sanitize.cfg hides what changes by itself, conftest.py compares meaning.

tests/fixtures/notebooks/sanitize_check.ipynb was executed once for real; its stored outputs
hold a memory address, a temporary path, timings, %time lines and a tqdm bar, which all differ
on the next run. Its last cells are controls whose stored outputs were edited by hand: one
number moved by one printed unit (what another host can do: must pass by meaning, fails
byte for byte), and three changed *results* (a step count, a metric moved by 100 printed
units, a verdict word) that must fail however nbval is run.

nbval runs on a copy of the fixture laid out like ``notebooks/`` (with ``sanitize.cfg`` and
``conftest.py``), three ways: as users run it, without the sanitize file, and without the
conftest (plain nbval, byte for byte after sanitizing).
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
CONFTEST = REPO / "notebooks" / "conftest.py"
FIXTURE = Path(__file__).parent / "fixtures" / "notebooks" / "sanitize_check.ipynb"
VOLATILE_CELLS = {0, 1, 2, 3, 4}  # nbval numbers code cells from 0
PROGRESS_CELL = 4  # its bar goes to stderr, which the check by meaning does not compare
WITHIN_TOLERANCE = 5
CHANGED_RESULTS = {6, 7, 8}
ALL_CELLS = VOLATILE_CELLS | {WITHIN_TOLERANCE} | CHANGED_RESULTS


def _start_nbval(tmp_path: Path, *, sanitize: bool, meaning: bool) -> subprocess.Popen:
    """Start nbval like `make nb` on a copy of the fixture (cwd = that copy's root)."""
    work = tmp_path / f"sanitize-{sanitize}-meaning-{meaning}"
    (work / "notebooks").mkdir(parents=True)
    shutil.copy(FIXTURE, work / "notebooks" / FIXTURE.name)
    shutil.copy(SANITIZE, work / "notebooks" / "sanitize.cfg")
    if meaning:
        shutil.copy(CONFTEST, work / "notebooks" / "conftest.py")
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
    assert len(outcomes) == len(ALL_CELLS), stdout[-3000:]
    return outcomes


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three nbval runs, started side by side: (sanitize file?, conftest?) -> outcomes."""
    tmp = tmp_path_factory.mktemp("nbval")
    ways = [(True, True), (False, True), (True, False)]
    procs = {w: _start_nbval(tmp, sanitize=w[0], meaning=w[1]) for w in ways}
    return {w: _outcomes(proc) for w, proc in procs.items()}


def _pick(outcomes: dict[int, str], cells: set[int]) -> dict[int, str]:
    return {c: outcomes[c] for c in sorted(cells)}


def test_as_users_run_it_volatile_outputs_and_host_digits_pass(runs):
    assert _pick(runs[True, True], VOLATILE_CELLS | {WITHIN_TOLERANCE}) == dict.fromkeys(
        sorted(VOLATILE_CELLS | {WITHIN_TOLERANCE}), "PASSED"
    )


def test_changed_results_fail_however_nbval_is_run(runs):
    for way, outcomes in runs.items():
        expected = dict.fromkeys(sorted(CHANGED_RESULTS), "FAILED")
        assert _pick(outcomes, CHANGED_RESULTS) == expected, way


def test_without_the_sanitize_file_the_volatile_stdout_fails(runs):
    stdout_cells = VOLATILE_CELLS - {PROGRESS_CELL}
    assert _pick(runs[False, True], stdout_cells) == dict.fromkeys(sorted(stdout_cells), "FAILED")


def test_without_the_conftest_nbval_compares_digits_byte_for_byte(runs):
    assert runs[True, False][WITHIN_TOLERANCE] == "FAILED"
    expected = dict.fromkeys(sorted(VOLATILE_CELLS), "PASSED")
    assert _pick(runs[True, False], VOLATILE_CELLS) == expected


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
