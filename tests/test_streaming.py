"""Streaming encode (toolkit.streaming): formats, bad input, resume after SIGKILL, memory bound."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.encoding import EmbeddingCache, encode
from toolkit.models import load_model
from toolkit.streaming import encode_corpus, open_store

REPO = Path(__file__).resolve().parents[1]
WORDS = "робот доставка товар шифрование данные облако теплоизоляция бетон насос клапан".split()


def _corpus(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    titles = [" ".join(rng.choice(WORDS, size=rng.integers(2, 7))) + f" {i}" for i in range(n)]
    return pd.DataFrame({"doc": [f"D{i:05d}" for i in range(n)], "title": titles,
                         "year": np.arange(n)})


def _write(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    return path


@pytest.fixture(scope="module")
def model(tiny_bert_dir):
    return load_model(tiny_bert_dir, device="cpu")


class Counting:
    """Wraps a model's encode to record every call's size (the model stays the same)."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self._real = model.encode

    def __enter__(self):
        def encode_and_count(texts, **kwargs):
            self.calls.append(list(texts))
            return self._real(texts, **kwargs)

        self.model.encode = encode_and_count
        return self

    def __exit__(self, *exc):
        del self.model.encode


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_store_equals_one_shot_encode(tmp_path, model, suffix):
    df = _corpus(37)
    src = _write(df, tmp_path / f"corpus{suffix}")
    result = encode_corpus(src, tmp_path / "store", model, id_column="doc", chunk_size=8,
                           cache=False, show_progress=False)
    assert (result.rows, result.rows_encoded, result.rows_reused) == (37, 37, 0)
    vectors, ids = open_store(tmp_path / "store")
    assert ids == df["doc"].tolist()
    expected = encode(model, df["title"].tolist(), cache=False)
    assert vectors.dtype == np.float32 and vectors.shape == expected.shape
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    manifest = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert manifest["rows_done"] == 37 and manifest["complete"] and manifest["dim"] == 32


def test_vectors_also_go_to_the_embedding_cache(tmp_path, model):
    src = _write(_corpus(12), tmp_path / "c.csv")
    cache = EmbeddingCache(tmp_path / "emb")
    encode_corpus(src, tmp_path / "s", model, id_column="doc", chunk_size=5, cache=cache,
                  show_progress=False)
    with Counting(model) as counting:
        encode(model, _corpus(12)["title"].tolist(), cache=cache)
    assert counting.calls == []  # every title was a cache hit


def test_chunks_bound_what_reaches_the_model(tmp_path, model):
    src = _write(_corpus(50), tmp_path / "c.parquet")
    with Counting(model) as counting:
        encode_corpus(src, tmp_path / "s", model, id_column="doc", chunk_size=7, cache=False,
                      show_progress=False)
    sizes = [len(c) for c in counting.calls]
    assert max(sizes) <= 7 and sum(sizes) == 50


def test_complete_store_is_reused_and_other_input_is_refused(tmp_path, model):
    df = _corpus(10)
    src = _write(df, tmp_path / "c.csv")
    encode_corpus(src, tmp_path / "s", model, id_column="doc", cache=False, show_progress=False)
    again = encode_corpus(src, tmp_path / "s", model, id_column="doc", cache=False,
                          show_progress=False)
    assert (again.rows_encoded, again.rows_reused) == (0, 10)
    with pytest.raises(ValueError, match="text_column"):
        encode_corpus(src, tmp_path / "s", model, id_column="doc", text_column="year",
                      cache=False, show_progress=False)


def test_progress_bar_shows_rate_and_eta(tmp_path, model, capsys):
    src = _write(_corpus(20), tmp_path / "c.csv")
    encode_corpus(src, tmp_path / "s", model, id_column="doc", chunk_size=5, cache=False,
                  show_progress=True)
    err = capsys.readouterr().err
    assert "encoding c.csv" in err and "20/20" in err
    assert "row/s" in err and "<" in err  # rate and tqdm's elapsed<remaining


# ---------------------------------------------------------------------------- bad input


def test_missing_column_names_file_and_columns(tmp_path, model):
    for suffix in (".csv", ".parquet"):
        src = _write(_corpus(5), tmp_path / f"c{suffix}")
        with pytest.raises(ValueError, match=r"c\.(csv|parquet).*'headline' not found.*'doc'"):
            encode_corpus(src, tmp_path / "s", model, id_column="doc", text_column="headline",
                          show_progress=False)


def test_bad_rows_name_file_row_and_column(tmp_path, model):
    src = tmp_path / "c.csv"
    src.write_text("doc,title\nA,робот\n,бетон\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.csv: row 3, column 'doc': empty id"):
        encode_corpus(src, tmp_path / "s1", model, id_column="doc", show_progress=False)
    src.write_text("doc,title\nA,робот\nB,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.csv: row 3, column 'title': empty text"):
        encode_corpus(src, tmp_path / "s2", model, id_column="doc", show_progress=False)
    pq = tmp_path / "c.parquet"
    pd.DataFrame({"doc": ["A", "B", "C"], "title": ["робот", None, "насос"]}).to_parquet(pq)
    with pytest.raises(ValueError,
                       match=r"c\.parquet: row 2, column 'title': expected text, got a miss"):
        encode_corpus(pq, tmp_path / "s3", model, id_column="doc", show_progress=False)


def test_bad_json_line_is_named(tmp_path, model):
    src = tmp_path / "c.jsonl"
    src.write_text('{"doc": "A", "title": "робот"}\n{"doc": "B", title}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.jsonl: line 2: not valid JSON"):
        encode_corpus(src, tmp_path / "s", model, id_column="doc", show_progress=False)
    src.write_text('{"doc": "A", "title": "робот"}\n{"doc": "B"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: column 'title' not found"):
        encode_corpus(src, tmp_path / "s2", model, id_column="doc", show_progress=False)
    src.write_text('{"doc": "A", "title": "робот"}\n\n{"doc": "B", "title": 7}\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.jsonl: line 3, column 'title': expected text, got 7"):
        encode_corpus(src, tmp_path / "s3", model, id_column="doc", show_progress=False)


def test_unknown_format_and_bad_chunk_size(tmp_path, model):
    src = tmp_path / "c.tsv"
    src.write_text("doc\ttitle\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"c\.tsv: unknown corpus format '.tsv'"):
        encode_corpus(src, tmp_path / "s", model)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1, got 0"):
        encode_corpus(src, tmp_path / "s", model, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an integer, got True"):
        encode_corpus(src, tmp_path / "s", model, chunk_size=True)


def test_cli_encode_corpus(tmp_path, tiny_bert_dir, capsys):
    from toolkit.__main__ import main

    src = _write(_corpus(9), tmp_path / "c.csv")
    argv = ["encode-corpus", str(src), "--out", str(tmp_path / "s"), "--model",
            str(tiny_bert_dir), "--id-column", "doc", "--chunk-size", "4", "--quiet"]
    assert main(argv) == 0
    assert "9 rows x 32" in capsys.readouterr().out
    assert main([*argv, "--text-column", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "'nope' not found" in err


# ---------------------------------------------------------------------------- kill -9

_SLOW_RUN = """
import sys, time
from toolkit.models import load_model
from toolkit.streaming import encode_corpus
model = load_model(sys.argv[1], device="cpu")
real = model.encode
def slow(texts, **kw):
    time.sleep(0.4)  # slow enough to be killed between chunks and inside one
    return real(texts, **kw)
model.encode = slow
encode_corpus(sys.argv[2], sys.argv[3], model, id_column="doc", chunk_size=6, cache=False,
              show_progress=False)
"""


def test_resume_after_sigkill_equals_one_shot(tmp_path, model, tiny_bert_dir):
    df = _corpus(60, seed=3)
    src = _write(df, tmp_path / "c.csv")
    store = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, str(tiny_bert_dir), str(src),
                             str(store)], env=env)
    manifest = store / "manifest.json"
    deadline = time.monotonic() + 300
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.exists():
                done = json.loads(manifest.read_text())["rows_done"]
                if done >= 18:
                    break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = json.loads(manifest.read_text())["rows_done"]
    assert 18 <= killed_at < 60
    # the unfinished store refuses to open unless asked for the partial rows
    with pytest.raises(ValueError, match="unfinished"):
        open_store(store)
    partial, partial_ids = open_store(store, allow_partial=True)
    assert len(partial) == len(partial_ids) == killed_at

    with Counting(model) as counting:
        result = encode_corpus(src, store, model, id_column="doc", chunk_size=6, cache=False,
                               show_progress=False)
    assert result.rows_reused == killed_at and result.rows_encoded == 60 - killed_at
    assert sum(len(c) for c in counting.calls) == 60 - killed_at  # written rows not redone
    vectors, ids = open_store(store)
    assert ids == df["doc"].tolist()
    np.testing.assert_allclose(vectors, encode(model, df["title"].tolist(), cache=False),
                               atol=1e-6)


def test_device_list_encodes_through_a_multi_process_pool(tmp_path, model, monkeypatch):
    """Two CPU workers stand in for two GPUs: same vectors, and the pool is used."""
    df = _corpus(40)
    src = _write(df, tmp_path / "c.csv")
    started = []
    cls = type(model)
    real_start = cls.start_multi_process_pool

    def start(self, target_devices=None):  # on the class: the model is pickled to workers
        started.append(target_devices)
        return real_start(self, target_devices=target_devices)

    monkeypatch.setattr(cls, "start_multi_process_pool", start)
    encode_corpus(src, tmp_path / "s", model, id_column="doc", chunk_size=16,
                  device="cpu, cpu", cache=False, show_progress=False)
    assert started == [["cpu", "cpu"]]
    vectors, ids = open_store(tmp_path / "s")
    assert ids == df["doc"].tolist()
    np.testing.assert_allclose(vectors, encode(model, df["title"].tolist(), cache=False),
                               atol=1e-6)
