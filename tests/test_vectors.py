"""Precomputed vectors as a model (``toolkit.models.vectors``, ``python -m toolkit encode``).

The round trip uses the default model on the demo set: encode -> file -> ``load_model`` must
give, through ``toolkit.encode``, the vectors the default model gives: bitwise for the texts
in the batches they were written in (the file stores the model's own output and
``toolkit.encode`` normalises both the same way; storing already normalised rows would not be
bitwise, which ``test_storing_normalised_rows_would_not_be_bitwise`` shows on this very set),
and within ``VECTOR_TOL`` for other batches (the model's vectors depend on the batch on some
CPUs; see below).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import toolkit
from toolkit.__main__ import main
from toolkit.data import demo
from toolkit.models import ModelNotAvailable, load_model, model_fingerprint
from toolkit.models.vectors import (
    METADATA_KEY,
    UnknownTextError,
    VectorsFileError,
    VectorsNotTrainable,
    encode_to_file,
    read_vectors,
    texts_of,
    write_vectors,
)

PAIRS = "query,title\nроботы доставки,РОБОТ ДЛЯ ДОСТАВКИ\nшифрование,СПОСОБ ШИФРОВАНИЯ\n"


@pytest.fixture(scope="module")
def default_model():
    return load_model("default", device="cpu")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory, default_model):
    path = tmp_path_factory.mktemp("vectors") / "demo.parquet"
    encode_to_file(default_model, texts_of(demo()), path, model_spec="default", data="demo set")
    return path


# --- round trip ----------------------------------------------------------------------------


# The default model's vectors depend on the batch a text is encoded in, on some CPUs: an Intel
# Xeon with AVX-512/AMX gave differences up to 1.8e-7 between batch sizes 32 and 64 (other
# machines none). So the file reproduces the model bitwise where the batches are the same
# (the texts it was written from, in that order), and within VECTOR_TOL elsewhere: five times
# the largest batch effect measured, and far below what a real change does (another text's
# vector is ~0.5 away, see the last assertion).
VECTOR_TOL = 1e-6


def test_round_trip_is_the_default_models_vectors(demo_file, default_model):
    rs = demo()
    vec_model = load_model(str(demo_file))
    stored = texts_of(rs)
    expected = toolkit.encode(default_model, stored, cache=False)
    got = toolkit.encode(vec_model, stored, cache=False)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got, expected)  # the same batches: bitwise
    for texts in (list(rs.corpus.values()), list(rs.queries.values())):  # other batches
        expected = toolkit.encode(default_model, texts, cache=False)
        got = toolkit.encode(vec_model, texts, cache=False)
        np.testing.assert_allclose(got, expected, rtol=0, atol=VECTOR_TOL)
    swapped = got[::-1]
    assert np.abs(swapped - expected).max() > 100 * VECTOR_TOL  # the check sees a real change


def test_storing_normalised_rows_would_not_be_bitwise(default_model):
    """Why the file keeps the model's own output: toolkit.encode is not idempotent bitwise."""
    texts = texts_of(demo())
    once = toolkit.encode(default_model, texts, cache=False)
    from toolkit._validation import unit_rows

    twice = unit_rows(once, zero_rows="keep")
    assert np.allclose(once, twice, rtol=0, atol=1e-7)
    assert not np.array_equal(once, twice)  # if this ever holds, either layout would do


def test_metadata_records_the_source(demo_file, default_model):
    import sentence_transformers

    meta = json.loads(pq.read_schema(demo_file).metadata[METADATA_KEY])
    assert meta["format"] == "toolkit-vectors/1"
    assert meta["model"] == "default" and meta["model_name"] == "usem3-torch"
    assert meta["revision"] is None  # a builtin model has no hub revision
    assert meta["fingerprint"] == model_fingerprint(default_model)
    assert meta["dim"] == default_model.get_embedding_dimension()
    assert meta["normalised"] is True  # USE's module returns unit rows itself
    assert meta["versions"]["toolkit"] == toolkit.__version__
    assert meta["versions"]["sentence-transformers"] == sentence_transformers.__version__
    created = meta["created"]
    assert created["data"] == "demo set" and created["texts"] == len(texts_of(demo()))
    assert set(created) >= {"at", "command", "device", "python"}
    table = pq.read_table(demo_file)
    assert table.schema.field("vector").type == pa.list_(pa.float32(), meta["dim"])
    assert table.column("text").to_pylist() == texts_of(demo())


def test_fingerprint_is_stable_and_its_own(demo_file, default_model, tmp_path):
    a, b = load_model(str(demo_file)), load_model(str(demo_file))
    fp = model_fingerprint(a)
    assert fp == model_fingerprint(b) and len(fp) == 64
    assert fp != model_fingerprint(default_model)
    # a copy of the file elsewhere is the same vectors: same fingerprint
    copy = tmp_path / "copy.parquet"
    copy.write_bytes(demo_file.read_bytes())
    assert model_fingerprint(load_model(str(copy))) == fp
    # other texts (a subset) -> other fingerprint
    texts, vectors, meta = read_vectors(demo_file)
    write_vectors(tmp_path / "sub.parquet", texts[:10], vectors[:10], meta)
    assert model_fingerprint(load_model(str(tmp_path / "sub.parquet"))) != fp


def test_is_a_sentence_transformer_usable_by_search_and_save(demo_file, tmp_path):
    from sentence_transformers import SentenceTransformer

    model = load_model(str(demo_file))
    assert isinstance(model, SentenceTransformer)
    assert model.get_embedding_dimension() == 512
    assert toolkit.models.model_label(model) == "vectors:usem3-torch"
    rs = demo()
    query = next(iter(rs.queries.values()))
    table = toolkit.search(query, rs, systems={"vec": model}, k=3)
    assert len(table) == 3 and set(table["doc_id"]) <= set(rs.corpus)
    folder = tmp_path / "saved"
    model.save(str(folder))
    again = load_model(folder)
    texts = list(rs.queries.values())
    assert np.array_equal(toolkit.encode(again, texts), toolkit.encode(model, texts))


def test_load_models_names_a_vectors_file_by_its_file_name(demo_file):
    from toolkit.evaluation import load_models

    models = load_models(str(demo_file))
    assert list(models) == ["demo.parquet"]  # not the whole temporary path in tables


# --- errors --------------------------------------------------------------------------------


def test_unknown_text_names_it_and_the_file(demo_file):
    model = load_model(str(demo_file))
    with pytest.raises(UnknownTextError) as info:
        toolkit.encode(model, ["робот", "РОБОТ-ПЫЛЕСОС"], cache=False)  # in input order
    msg = str(info.value)
    assert "2 text(s) not in the vectors file" in msg and str(demo_file) in msg
    assert "'робот', 'РОБОТ-ПЫЛЕСОС'" in msg
    many = [f"нет {i}" for i in range(7)]
    with pytest.raises(UnknownTextError, match=r"^7 text.*'нет 0', 'нет 1', 'нет 2' and 4 more"):
        toolkit.encode(model, many, cache=False)
    # more unknown texts than one batch holds: all are counted, not one batch's
    known = next(iter(demo().corpus.values()))
    with pytest.raises(UnknownTextError, match=r"^100 text\(s\) not in"):
        model.encode([known] + [f"x{i}" for i in range(100)], batch_size=8)


def test_finetune_refuses_vectors(demo_file):
    from toolkit import training

    model = load_model(str(demo_file))
    pairs = demo().pairs("train")
    with pytest.raises(VectorsNotTrainable) as info:
        training.finetune(model, pairs)
    msg = str(info.value)
    assert "vectors cannot be fine-tuned" in msg and str(demo_file) in msg
    assert "Fine-tune the model they came from" in msg and "BASE_MODEL='default'" in msg


def _write_raw(path, texts, vectors, meta, vec_type=None):
    vec = pa.array([list(map(float, v)) if v is not None else None for v in vectors], vec_type)
    table = pa.table({"text": pa.array(texts, pa.string()), "vector": vec})
    if meta is not None:
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})
    pq.write_table(table, path)
    return path


@pytest.fixture
def meta(demo_file):
    return read_vectors(demo_file)[2] | {"dim": 2, "normalised": True}


@pytest.mark.parametrize(
    "texts, vectors, edit, fragment",
    [
        (["а", "б", "а"], [[1, 0], [0, 1], [0, 1]], None,
         "row 2 (counting from 0), text 'а': the same text as row 0 with a different vector"),
        (["а", "б"], [[1, 0], [0, 1, 0]], None,
         "row 1 (counting from 0), text 'б': the vector has 3 values; the metadata says dim=2"),
        (["а", "б"], [[1, 0], [float("nan"), 1]], None,
         "row 1 (counting from 0), text 'б': the vector holds NaN or infinite values"),
        (["а", "б"], [[1, 0], [3, 4]], None, "row 1 (counting from 0), text 'б': the vector's "
         "length is 5, not 1, although the metadata says normalised=true"),
        (["а", None], [[1, 0], [0, 1]], None, "row 1 (counting from 0): the text is null"),
        (["а", "б"], [[1, 0], None], None, "text 'б': the vector is null"),
        (["а"], [[1, 0]], "drop", "no 'toolkit.vectors' metadata"),
        (["а"], [[1, 0]], "no-fingerprint", "metadata lacks fingerprint"),
        (["а"], [[1, 0]], "dim-zero", "metadata dim must be an integer >= 1, got 0"),
        ([], [], None, ": no rows"),
    ],
)
def test_bad_files_are_named(tmp_path, meta, texts, vectors, edit, fragment):
    if edit == "drop":
        meta = None
    elif edit == "no-fingerprint":
        meta = {k: v for k, v in meta.items() if k != "fingerprint"}
    elif edit == "dim-zero":
        meta = meta | {"dim": 0}
    path = _write_raw(tmp_path / "bad.parquet", texts, vectors, meta, pa.list_(pa.float32()))
    with pytest.raises(VectorsFileError) as info:
        load_model(str(path))
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert isinstance(info.value, ModelNotAvailable)  # what load_model raises for bad models


def test_exact_duplicates_are_kept_once(tmp_path, meta):
    path = _write_raw(tmp_path / "d.parquet", ["а", "б", "а"], [[1, 0], [0, 1], [1, 0]], meta)
    texts, vectors, _ = read_vectors(path)
    assert texts == ["а", "б"] and vectors.tolist() == [[1, 0], [0, 1]]


def test_missing_and_non_parquet_files(tmp_path):
    with pytest.raises(VectorsFileError, match="nope.parquet: no such file"):
        load_model(str(tmp_path / "nope.parquet"))
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(VectorsFileError, match="x.parquet: cannot read it as Parquet"):
        load_model(str(bad))


def test_encode_to_file_checks_batch_size_before_encoding(tmp_path, tiny_bert_dir):
    tiny = load_model(tiny_bert_dir)
    out = tmp_path / "v.parquet"
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        encode_to_file(tiny, ["а"], out, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an integer, got '8'"):
        encode_to_file(tiny, ["а"], out, batch_size="8")
    assert not out.exists()


# --- CLI -----------------------------------------------------------------------------------


def test_cli_encode_data_and_texts(tmp_path, tiny_bert_dir, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(PAIRS, encoding="utf-8")
    extra = tmp_path / "extra.txt"
    extra.write_text("новый запрос\n\nРОБОТ ДЛЯ ДОСТАВКИ\n", encoding="utf-8")
    out = tmp_path / "v.parquet"
    argv = ["encode", "--model", str(tiny_bert_dir), "--data", str(pairs), "--texts", str(extra),
            "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"to {out}" in printed and "wrote 5 texts" in printed
    texts, vectors, meta = read_vectors(out)
    rs = toolkit.data.load(pairs)
    assert texts == texts_of(rs) + ["новый запрос"]  # the title in extra.txt is stored once
    tiny = load_model(tiny_bert_dir)
    assert np.array_equal(
        toolkit.encode(load_model(str(out)), texts, cache=False),
        toolkit.encode(tiny, texts, cache=False),
    )
    assert meta["model"] == str(tiny_bert_dir) and meta["fingerprint"] == model_fingerprint(tiny)
    assert meta["created"]["command"] == "python -m toolkit " + " ".join(argv)
    assert meta["created"]["data"] == f"{pairs} + {extra}"
    # only --texts: only those texts
    assert main(["encode", "--model", str(tiny_bert_dir), "--texts", str(extra), "--out",
                 str(out)]) == 0
    assert read_vectors(out)[0] == ["новый запрос", "РОБОТ ДЛЯ ДОСТАВКИ"]


@pytest.mark.parametrize(
    "argv_tail, fragment",
    [
        (["--out", "v.csv"], "--out v.csv: expected a file name ending in .parquet"),
        (["--texts", "empty.txt", "--out", "v.parquet"], "empty.txt: no texts"),
    ],
)
def test_cli_encode_errors_are_one_line(tmp_path, tiny_bert_dir, capsys, monkeypatch,
                                        argv_tail, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("\n\n", encoding="utf-8")
    assert main(["encode", "--model", str(tiny_bert_dir), *argv_tail]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and fragment in err
    assert not (tmp_path / "v.parquet").exists()


# --- the notebooks on a vectors file (slow) ------------------------------------------------


@pytest.mark.slow
def test_notebooks_run_on_vectors_and_02_refuses(demo_file, tmp_path):
    """01, 03, 04 execute on the vectors file and say so; 02 stops with the refusal."""
    import nbformat

    from toolkit.report import ReportError, build_report

    repo = toolkit.__file__.rsplit("/toolkit/", 1)[0]
    names = ["01_embedding_space", "02_finetuning_reproduction", "03_patent_clusters",
             "04_query_title_alignment"]
    notebooks = [f"{repo}/notebooks/{n}.ipynb" for n in names]
    vec = str(demo_file)
    parameters = {
        "MODELS": [vec], "MODEL": vec, "BASE_MODEL": vec,
        "N_BOOTSTRAP": 50, "N_PERMUTATIONS": 20, "MAP_METHOD": "pca",
        "SEEDS": [0, 1], "N_SHUFFLES": 5,
    }
    out = tmp_path / "reports"
    with pytest.raises(ReportError, match=r"1 notebook\(s\) failed: 02_finetuning_reproduction"):
        build_report(out, notebooks, parameters=parameters, timeout=600)

    def outputs(name, after=None):
        nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
        start = 0
        if after:
            start = next(i for i, c in enumerate(nb.cells) if after in c.source)
        texts = []
        for cell in nb.cells[start:]:
            for o in cell.get("outputs", []):
                texts.append(o.get("text", "") + o.get("ename", "") + o.get("evalue", "")
                             + str(o.get("data", {}).get("text/plain", "")))
        return "\n".join(texts)

    found = {n: outputs(n, "## What we found") for n in (names[0], names[2], names[3])}
    assert "demo.parquet" in found[names[0]]  # the model column of the summary table
    assert "vectors:usem3-torch" in found[names[2]] or vec in found[names[2]]
    # 04 calls the system "dense"; it reflects the vectors model through its numbers: the mean
    # nDCG@10 it states equals the default model's, computed here on the same split
    import re

    from toolkit.evaluation import evaluate_system

    assert f"model: {vec}" in outputs(names[3])
    pattern = r"nDCG@10 \(mean \[95% bootstrap CI\]\): dense (\d\.\d{3}) "
    stated = re.search(pattern, found[names[3]])
    assert stated, found[names[3]][:300]
    own = evaluate_system(load_model("default"), demo(), "test")["ndcg@10"].mean()
    assert stated.group(1) == f"{own:.3f}"
    refusal = outputs(names[1])
    assert "VectorsNotTrainable" in refusal and "vectors cannot be fine-tuned" in refusal
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "vectors cannot be fine-tuned" in index
