"""Fault injection on the embedding cache: kills, damaged files, concurrency, no space, no rights.

Every test checks the same promise: ``encode()`` returns the vectors a fresh uncached encode
returns (up to float rounding from different batching, ``atol=1e-6``), whatever state the cache
is in, and a cache it cannot use degrades to "no cache" with a :class:`CacheWarning`, never an
exception. Child processes run ``tests``' tiny BERT folder model with one torch thread (on a
busy 2-core machine two threads are ~10x slower, not faster).

Faults injected:
* SIGKILL of a process encoding 20,000 texts after >= 1 committed 4096-text chunk (at a seeded
  random moment after it); the re-run serves only whole committed chunks and encodes the rest;
* one bit flipped at a random offset of a random page of the SQLite file (8 seeds), and one bit
  flipped in a random page's b-tree header (8 seeds);
* the file truncated to 25 / 50 / 90 % of its size;
* two processes encoding overlapping text sets at the same time, and four processes opening
  one new cache file at the same moment (40 rounds);
* a read-only cache folder holding a healthy cache file (``chattr +i`` as root, ``chmod``
  otherwise), a directory where the cache file should be;
* a full disk: ``RLIMIT_FSIZE`` of 64 KiB in a child, and (as root, where ``mount`` works) a
  64 KiB tmpfs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from toolkit.encoding import _CHUNK, CacheWarning, EmbeddingCache, encode
from toolkit.models import load_model, model_fingerprint

REPO = Path(__file__).resolve().parents[1]

# Runs in a child: encode the texts of a JSON file and save the vectors; prints how many texts
# reached the model and the warnings raised. `fsize` caps the size of any file it writes.
CHILD = r"""
import json, resource, signal, sys, time, warnings
from pathlib import Path
cfg = json.loads(sys.argv[1])
import numpy as np, torch
torch.set_num_threads(1)
from toolkit.encoding import EmbeddingCache, encode
from toolkit.models import load_model
model = load_model(cfg["model"], device="cpu")
real, seen = model.encode, []
def counting(texts, **kw):
    seen.append(len(texts))
    return real(texts, **kw)
model.encode = counting
texts = json.loads(Path(cfg["texts"]).read_text(encoding="utf-8"))
if cfg.get("fsize"):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write returns EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["fsize"], resource.RLIM_INFINITY))
print("started", flush=True)
while cfg.get("go") and not Path(cfg["go"]).exists():  # a start line shared by several children
    time.sleep(0.005)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = encode(model, texts, cache=EmbeddingCache(cfg["cache"]), show_progress=False)
if cfg.get("fsize"):
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
np.save(cfg["out"], out)
print(json.dumps({"encoded": sum(seen), "warnings": [str(w.message) for w in caught]}))
"""


def _texts(n: int, start: int = 0) -> list[str]:
    return [f"патент {i}: способ и устройство номер {i % 97}" for i in range(start, start + n)]


@pytest.fixture(scope="module")
def one_thread():
    """Encode in this process with one torch thread (see the module docstring)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model(tiny_bert_dir, one_thread):
    return load_model(tiny_bert_dir, device="cpu")


def _fresh(model, texts):
    """A fresh uncached encode: the reference every cached result must match."""
    return encode(model, texts, cache=False, show_progress=False)


def _start_child(tmp: Path, name: str, model_dir: Path, cache: Path, texts: list[str], **cfg):
    texts_file = tmp / f"{name}.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    config = dict(
        model=str(model_dir), cache=str(cache), texts=str(texts_file), out=str(tmp / f"{name}.npy")
    )
    config.update(cfg)
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(config)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, tmp: Path, name: str, timeout: float = 300):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    return np.load(tmp / f"{name}.npy"), report


def _rows(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0]


# ---- a process killed mid-run ----------------------------------------------------------------
def test_sigkill_mid_run_keeps_whole_chunks_and_serves_nothing_stale(
    tiny_bert_dir, model, tmp_path
):
    rng = np.random.default_rng(7)
    distinct = _texts(20_000)
    texts = distinct + [distinct[i] for i in rng.integers(0, len(distinct), 1_000)]
    texts = [texts[i] for i in rng.permutation(len(texts))]
    n_distinct = len(set(texts))
    cache_root = tmp_path / "emb"
    db = EmbeddingCache(cache_root).path_for(model_fingerprint(model))

    proc = _start_child(tmp_path, "killed", tiny_bert_dir, cache_root, texts)
    committed, deadline = 0, time.monotonic() + 240
    while committed < _CHUNK:
        if proc.poll() is not None:
            pytest.fail(f"child ended before a chunk was committed: {proc.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, "no chunk committed within 240 s"
        try:
            committed = _rows(db) if db.exists() else 0
        except sqlite3.DatabaseError:  # file being created
            committed = 0
        time.sleep(0.02)
    time.sleep(float(rng.uniform(0, 1.0)))  # a seeded random moment after the first commit
    assert proc.poll() is None, "child finished before it could be killed; use more texts"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    assert _integrity(db) == "ok"
    at_kill = _rows(db)
    # Chunks commit atomically: only whole chunks of 4096 distinct texts can be in the file.
    assert at_kill % _CHUNK == 0 and _CHUNK <= at_kill < n_distinct, at_kill

    rerun = _start_child(tmp_path, "rerun", tiny_bert_dir, cache_root, texts)
    reference = _fresh(model, texts)  # computed here while the child runs
    out, report = _finish(rerun, tmp_path, "rerun")
    assert report["encoded"] == n_distinct - at_kill  # committed chunks were reused, once each
    assert not report["warnings"]
    np.testing.assert_allclose(out, reference, atol=1e-6, rtol=0)
    assert _rows(db) == n_distinct


# ---- damaged files ---------------------------------------------------------------------------
N_FLIP_TEXTS = 3000


@pytest.fixture(scope="module")
def populated(model, tmp_path_factory):
    """A checkpointed cache file (no -wal) holding N_FLIP_TEXTS vectors, and the reference."""
    texts = _texts(N_FLIP_TEXTS, start=100_000)
    root = tmp_path_factory.mktemp("populated")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        encode(model, texts, cache=root, show_progress=False)
    db = EmbeddingCache(root).path_for(model_fingerprint(model))
    assert not Path(str(db) + "-wal").exists()  # the last connection checkpointed it
    return root, db.name, texts, _fresh(model, texts)


def _damaged_copy(populated, tmp_path: Path, damage) -> tuple[Path, Path]:
    root, name, _, _ = populated
    copy = tmp_path / "emb"
    shutil.copytree(root, copy)
    db = copy / name
    raw = bytearray(db.read_bytes())
    db.write_bytes(bytes(damage(raw)))
    return copy, db


def _encode_recording(model, texts, root):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = encode(model, texts, cache=root, show_progress=False)
    return out, [w for w in caught if issubclass(w.category, CacheWarning)]


def _flip(seed: int, header_only: bool):
    def damage(raw: bytearray) -> bytearray:
        rng = np.random.default_rng(seed)
        page_size = int.from_bytes(raw[16:18], "big")
        page = int(rng.integers(1, len(raw) // page_size))  # any page but the file header's
        within = int(rng.integers(0, 12 if header_only else page_size))
        raw[page * page_size + within] ^= 1 << int(rng.integers(0, 8))
        return raw

    return damage


@pytest.mark.parametrize(
    ("seed", "header_only"),
    [(s, False) for s in range(8)] + [(s, True) for s in range(100, 108)],
    ids=[f"anywhere-{s}" for s in range(8)] + [f"page-header-{s}" for s in range(100, 108)],
)
def test_bit_flip_in_a_random_page_never_serves_a_wrong_vector(
    model, populated, tmp_path, seed, header_only
):
    _, _, texts, reference = populated
    root, db = _damaged_copy(populated, tmp_path, _flip(seed, header_only))
    out, caught = _encode_recording(model, texts, root)
    np.testing.assert_allclose(out, reference, atol=1e-6, rtol=0)
    again, _ = _encode_recording(model, texts, root)
    np.testing.assert_allclose(again, reference, atol=1e-6, rtol=0)
    # What happened is recorded for the reader: a damaged row is recomputed with a warning,
    # a damaged b-tree page moves the file aside; a flip in unused space changes nothing.
    print(seed, header_only, [str(w.message)[:80] for w in caught])


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9])
def test_truncated_file_is_detected_and_recomputed(model, populated, tmp_path, fraction):
    _, _, texts, reference = populated
    root, db = _damaged_copy(populated, tmp_path, lambda raw: raw[: int(len(raw) * fraction)])
    out, caught = _encode_recording(model, texts, root)
    np.testing.assert_allclose(out, reference, atol=1e-6, rtol=0)
    assert caught, "a truncated cache file went unnoticed"
    again, caught_again = _encode_recording(model, texts, root)
    np.testing.assert_allclose(again, reference, atol=1e-6, rtol=0)
    assert not caught_again  # rebuilt
    assert _rows(db) == len(texts)


# ---- two writers -----------------------------------------------------------------------------
def test_two_processes_with_overlapping_texts(tiny_bert_dir, model, tmp_path):
    a_texts, b_texts = _texts(3000, start=200_000), _texts(3000, start=201_500)
    cache_root = tmp_path / "emb"
    go = tmp_path / "go"
    pa = _start_child(tmp_path, "a", tiny_bert_dir, cache_root, a_texts, go=str(go))
    pb = _start_child(tmp_path, "b", tiny_bert_dir, cache_root, b_texts, go=str(go))
    for proc in (pa, pb):  # both loaded their model: let them encode at the same moment
        assert proc.stdout.readline().strip() == "started", proc.stderr.read()[-2000:]
    go.touch()
    a, ra = _finish(pa, tmp_path, "a")
    b, rb = _finish(pb, tmp_path, "b")
    assert not ra["warnings"] and not rb["warnings"]
    np.testing.assert_allclose(a[1500:], b[:1500], atol=1e-6, rtol=0)  # the shared texts
    np.testing.assert_allclose(a, _fresh(model, a_texts), atol=1e-6, rtol=0)
    np.testing.assert_allclose(b, _fresh(model, b_texts), atol=1e-6, rtol=0)
    db = EmbeddingCache(cache_root).path_for(model_fingerprint(model))
    assert _integrity(db) == "ok" and _rows(db) == 4500


def _open_new_cache(root: str, go: str) -> str:
    """Child: wait for ``go``, then open (create) the cache file and write one row."""
    while not os.path.exists(go):
        time.sleep(0.0005)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        con = EmbeddingCache(root)._connect("f" * 64, create=True)
    if con is None:
        return "; ".join(str(w.message) for w in caught) or "no connection"
    with con:
        con.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (str(os.getpid()), "x"))
    con.close()
    return ""


def test_processes_creating_one_new_cache_file_at_once_all_get_it(tmp_path):
    # Switching a new file to WAL answers SQLITE_BUSY at once, without SQLite's busy handler;
    # before the retry in _open, about 1 opening in 11 here degraded to "no cache".
    import multiprocessing

    problems = []
    with multiprocessing.get_context("fork").Pool(4) as pool:
        for round_ in range(40):
            root, go = tmp_path / f"r{round_}", tmp_path / f"go{round_}"
            jobs = [pool.apply_async(_open_new_cache, (str(root), str(go))) for _ in range(4)]
            time.sleep(0.05)
            go.touch()
            problems += [f"round {round_}: {p}" for p in (job.get(60) for job in jobs) if p]
    assert not problems, problems[:3]


# ---- no rights, no space -------------------------------------------------------------------
def _make_read_only(folder: Path) -> tuple[str, list[str]] | None:
    """Make a folder read-only for this process; return how, and the undo command."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return "chmod", []
    if shutil.which("chattr"):
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
        if done.returncode == 0:
            return "chattr", ["chattr", "-i", str(folder)]
    return None


def test_read_only_folder_with_a_healthy_cache_degrades_to_no_cache(model, populated, tmp_path):
    _, name, texts, reference = populated
    root = tmp_path / "ro"
    shutil.copytree(populated[0], root)
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    how = _make_read_only(root)
    if how is None:
        pytest.skip("cannot make a folder read-only here (root without chattr support)")
    try:
        probe = root / "probe"
        with pytest.raises(OSError):
            probe.write_text("x")
        with pytest.warns(CacheWarning, match="not usable"):
            out = encode(model, texts, cache=root, show_progress=False)
    finally:
        if how[1]:
            subprocess.run(how[1], check=True)
        root.chmod(0o755)
    np.testing.assert_allclose(out, reference, atol=1e-6, rtol=0)
    # a healthy file in a read-only folder is neither moved aside nor changed
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before


def test_directory_in_place_of_the_cache_file(model, tmp_path):
    texts = _texts(300, start=300_000)
    root = tmp_path / "emb"
    EmbeddingCache(root).path_for(model_fingerprint(model)).mkdir(parents=True)
    with pytest.warns(CacheWarning):
        out = encode(model, texts, cache=root, show_progress=False)
    np.testing.assert_allclose(out, _fresh(model, texts), atol=1e-6, rtol=0)


def test_full_disk_by_file_size_limit_degrades_with_warning(tiny_bert_dir, model, tmp_path):
    texts = _texts(3000, start=400_000)  # ~0.5 MB of cache rows; the limit is 256 KiB
    proc = _start_child(tmp_path, "full", tiny_bert_dir, tmp_path / "emb", texts, fsize=262144)
    out, report = _finish(proc, tmp_path, "full")
    np.testing.assert_allclose(out, _fresh(model, texts), atol=1e-6, rtol=0)
    assert report["encoded"] == len(texts)
    assert any("could not write the embedding cache" in w for w in report["warnings"]), report


def test_full_tmpfs_degrades_with_warning(model, tmp_path):
    mnt = tmp_path / "tiny-fs"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs not permitted here: {done.stderr.decode()[:200]}")
    try:
        texts = _texts(3000, start=500_000)
        for _ in range(2):  # the second run meets the half-written, full cache
            with pytest.warns(CacheWarning, match="disk is full"):
                out = encode(model, texts, cache=mnt, show_progress=False)
            np.testing.assert_allclose(out, _fresh(model, texts), atol=1e-6, rtol=0)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
