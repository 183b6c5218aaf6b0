"""Bad-input catalogue: every user mistake we know of, what it raises and what the message names.

One table (``CASES``) drives the tests. Each case is an input that a researcher could plausibly
pass by mistake, the exception type it must raise and a fragment of the message that names the
place (file / row / column, argument, position). Many cases also have a unit test next to the
module they belong to; this module is the one place that lists them all, and
docs/RELIABILITY.md renders the same table (``test_docs_list_every_case_with_its_message`` keeps
them in step).

CLI cases run ``toolkit.__main__.main(argv)`` in-process and check the contract of the command
line: a non-zero exit, exactly one line on stderr, starting with ``error:``, with the fragment,
and no traceback. A few of them are re-run as a real ``python -m toolkit`` subprocess.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "RELIABILITY.md"
PAIRS_OK = "query,title\nроботы доставки,РОБОТ ДЛЯ ДОСТАВКИ\nшифрование,СПОСОБ ШИФРОВАНИЯ\n"


class Ctx:
    """What a case needs: a temp folder to write files into and the tiny model (lazily)."""

    def __init__(self, tmp_path: Path, tiny_dir: Path) -> None:
        self.tmp = tmp_path
        self.tiny_dir = tiny_dir

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    @property
    def model(self):
        return _tiny_model(self.tiny_dir)

    def broken_model(self, how: str) -> Path:
        """A copy of the tiny model folder damaged in one way."""
        folder = self.tmp / f"model-{how}"
        shutil.copytree(self.tiny_dir, folder)
        if how == "weights":
            (folder / "model.safetensors").write_bytes(b"not a safetensors file")
        elif how == "no-weights":
            (folder / "model.safetensors").unlink()
        elif how == "modules-json":
            (folder / "modules.json").write_text("{", encoding="utf-8")
        return folder


_MODELS: dict[Path, Any] = {}


def _tiny_model(folder: Path):
    if folder not in _MODELS:
        from toolkit.models import load_model

        _MODELS[folder] = load_model(folder, device="cpu")
    return _MODELS[folder]


@dataclass(frozen=True)
class Case:
    """One catalogue row.

    ``call`` gets a :class:`Ctx`; for API cases it performs the bad call, for CLI cases it
    returns the argv list. ``exc`` is the exception type (for the CLI: ``SystemExit``, read as
    "non-zero exit with one ``error:`` line"); ``fragment`` is a literal piece of the message.
    """

    id: str
    area: str
    given: str  # the bad input in words (rendered in docs/RELIABILITY.md)
    call: Callable[[Ctx], Any]
    exc: type[BaseException]
    fragment: str
    env: tuple[tuple[str, str], ...] = ()


def _data():
    from toolkit import data

    return data


def _metrics():
    from toolkit import metrics

    return metrics


def _stats():
    from toolkit import stats

    return stats


def _training():
    from toolkit import training

    return training


def _clustering():
    from toolkit import clustering

    return clustering


def _streaming():
    from toolkit import streaming

    return streaming


def _search(queries, corpus=("РОБОТ ДЛЯ ДОСТАВКИ", "БЕТОН"), systems=("bm25",), k=10):
    from toolkit.retrieval import search

    return search(queries, list(corpus) if isinstance(corpus, tuple) else corpus,
                  systems=list(systems), k=k)  # fmt: skip


def _explorer(c, content=None):
    from toolkit.data import RetrievalSet
    from toolkit.explorer import Explorer

    path = c.tmp / "judged.csv"
    if content is not None:
        c.file("judged.csv", content)
    rs = RetrievalSet(queries={"q": "робот"}, corpus={"a": "РОБОТ", "b": "БЕТОН"})
    return Explorer(rs, ["bm25"], 2, judgments=path)


def _DataError():
    return _data().DataError


def _folder_with_judgments(c):
    c.file("ds/corpus.csv", "doc_id,title\nd1,Т1\n")
    c.file("ds/queries.csv", "query_id,text\nq1,а\n")
    c.file("ds/qrels.csv", "query_id,doc_id,relevance\nq1,d1,2\n")
    c.file("ds/judgments.csv", "query_id,doc_id,relevance\nq1,d1,0\n")
    return c.tmp / "ds"


def _param_nb(c):
    """A one-cell notebook whose ``parameters`` cell declares MODEL."""
    import nbformat

    cell = nbformat.v4.new_code_cell('MODEL = "default"', metadata={"tags": ["parameters"]})
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata = {"kernelspec": {"name": "python3", "language": "python"}}
    return c.file("01_p.ipynb", nbformat.writes(nb))


def _vec_file(c, texts=("а", "б"), vectors=((1.0, 0.0), (0.0, 1.0)), drop=None, name="v"):
    """A small vectors file written with pyarrow directly (any defect the writer would refuse)."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from toolkit.models.vectors import FORMAT, METADATA_KEY

    meta = {"format": FORMAT, "model": "m", "revision": None, "fingerprint": "0" * 64, "dim": 2,
            "normalised": True, "versions": {}, "created": {}}
    table = pa.table({"text": pa.array(list(texts), pa.string()),
                      "vector": pa.array([list(v) for v in vectors], pa.list_(pa.float32()))})
    if drop != "all":
        meta = {k: v for k, v in meta.items() if k != drop}
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})
    path = c.tmp / f"{name}.parquet"
    pq.write_table(table, path)
    return path


def _vec_model(c):
    from toolkit.models import load_model

    return load_model(str(_vec_file(c)))


def _eye_scores():
    return np.eye(2, dtype=np.float32)


QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1}}
IDS = {"query_ids": ["q1", "q2"], "doc_ids": ["d1", "d2"]}


class _Lazy:
    """Exception types resolved at test time, so collecting this module imports nothing heavy."""

    def __init__(self, resolve: Callable[[], type[BaseException]], name: str) -> None:
        self.resolve, self.__name__ = resolve, name


DataError = _Lazy(_DataError, "DataError")
ModelNotAvailable = _Lazy(
    lambda: __import__("toolkit.models", fromlist=["x"]).ModelNotAvailable, "ModelNotAvailable"
)


def _vectors_exc(name: str) -> _Lazy:
    return _Lazy(lambda: getattr(__import__("toolkit.models.vectors", fromlist=["x"]), name), name)


VectorsFileError = _vectors_exc("VectorsFileError")
UnknownTextError = _vectors_exc("UnknownTextError")
VectorsNotTrainable = _vectors_exc("VectorsNotTrainable")

# fmt: off
CASES: list[Case] = [
    # ---- toolkit.data loaders -------------------------------------------------------------
    Case("pairs-missing-file", "data", "load_pairs on a path that does not exist",
         lambda c: _data().load_pairs(c.tmp / "nope.csv"), DataError, "nope.csv: file not found"),
    Case("pairs-folder", "data", "load_pairs on a folder",
         lambda c: _data().load_pairs(c.tmp), DataError, "is a folder; expected a data file"),
    Case("pairs-empty-file", "data", "empty pairs.csv",
         lambda c: _data().load_pairs(c.file("pairs.csv", "")), DataError,
         "pairs.csv: file is empty"),
    Case("pairs-header-only", "data", "pairs.csv with a header and no rows",
         lambda c: _data().load_pairs(c.file("pairs.csv", "query,title\n")), DataError,
         "pairs.csv: header only"),
    Case("pairs-missing-column", "data", "pairs.csv with columns query,name",
         lambda c: _data().load_pairs(c.file("pairs.csv", "query,name\nа,б\n")), DataError,
         "missing required column(s) 'title'; columns found: query, name"),
    Case("pairs-empty-cell", "data", "pairs.csv whose row 3 has an empty title",
         lambda c: _data().load_pairs(c.file("pairs.csv", "query,title\nа,Т\nб,\n")), DataError,
         "pairs.csv, row 3, column 'title': empty cell"),
    Case("pairs-blank-row", "data", "pairs.csv with a blank line between rows",
         lambda c: _data().load_pairs(c.file("pairs.csv", "query,title\nа,Т\n\nб,Д\n")),
         DataError, "pairs.csv, row 3: blank row"),
    Case("pairs-not-utf8", "data", "pairs.csv in cp1251",
         lambda c: _data().load_pairs(
             c.file("pairs.csv", "query,title\nа,Т\nб,Д\n".encode("cp1251"))),
         DataError, "pairs.csv, row 2: not UTF-8 text"),
    Case("pairs-broken-quote", "data", "pairs.csv with an unclosed quote",
         lambda c: _data().load_pairs(c.file("pairs.csv", 'query,title\n"а,Т\n')), DataError,
         "pairs.csv: cannot parse as CSV"),
    Case("pairs-ragged-row", "data", "pairs.csv whose line 3 has a third field",
         lambda c: _data().load_pairs(c.file("pairs.csv", "query,title\nа,Т\nб,Д,лишнее\n")),
         DataError, "line 3"),
    Case("pairs-bad-jsonl", "data", "pairs.jsonl whose line 2 is not JSON",
         lambda c: _data().load_pairs(
             c.file("pairs.jsonl", '{"query": "а", "title": "Т"}\n{"query": \n')),
         DataError, "pairs.jsonl, line 2"),
    Case("pairs-unknown-extension", "data", "pairs.xlsx",
         lambda c: _data().load_pairs(c.file("pairs.xlsx", "query,title\nа,Т\n")), DataError,
         "unknown file extension '.xlsx'"),
    Case("pairs-not-a-path", "data", "load_pairs([('а', 'Т')]) (a list instead of a file)",
         lambda c: _data().load_pairs([("а", "Т")]), DataError,
         "expected a file path, a pandas.DataFrame or a datasets.Dataset; got list"),
    Case("pairs-nan-title", "data", "DataFrame whose 2nd title is NaN",
         lambda c: _data().load_pairs(pd.DataFrame({"query": ["а", "б"], "title": ["Т", np.nan]})),
         DataError, "row 3 (iloc[1]), column 'title': missing value"),
    Case("pairs-control-chars-title", "data",
         "pairs.csv whose row 3 title is only control characters ('\\x00\\x01')",
         lambda c: _data().load_pairs(c.file("pairs.csv", "query,title\nа,Т\nб,\x00\x01\n")),
         DataError, "pairs.csv, row 3, column 'title': control characters only '\\x00\\x01'; "
         "expected text with at least one printable character"),
    Case("queries-control-chars-text", "data", "DataFrame of queries whose text is '\\x07'",
         lambda c: _data().load_queries(pd.DataFrame({"query_id": ["q1"], "text": ["\x07"]})),
         DataError, "row 2 (iloc[0]), column 'text': control characters only"),
    Case("queries-repeated-id", "data", "queries.csv repeating id q1 with another text on row 4",
         lambda c: _data().load_queries(
             c.file("queries.csv", "query_id,text\nq1,а\nq2,б\nq1,в\n")),
         DataError, "queries.csv, row 4, column 'text': query id 'q1' already has text 'а'"),
    Case("qrels-negative-grade", "data", "qrels.csv with relevance -1 on row 2",
         lambda c: _data().load_qrels(
             c.file("qrels.csv", "query_id,doc_id,relevance\nq1,d1,-1\n")),
         DataError, "qrels.csv, row 2, column 'relevance': negative relevance -1"),
    Case("qrels-float-grade", "data", "qrels.csv with relevance 0.5",
         lambda c: _data().load_qrels(
             c.file("qrels.csv", "query_id,doc_id,relevance\nq1,d1,0.5\n")),
         DataError, "column 'relevance'"),
    Case("qrels-trec-short-line", "data", "qrels.trec whose line 2 has three fields",
         lambda c: _data().load_qrels(c.file("qrels.trec", "q1 0 d1 1\nq2 0 d2\n")), DataError,
         "qrels.trec, line 2"),
    Case("set-unknown-doc", "data", "qrels naming a doc id that is not in the corpus",
         lambda c: _data().load_retrieval_set(
             corpus=c.file("corpus.csv", "doc_id,title\nd1,Т\n"),
             queries=c.file("queries.csv", "query_id,text\nq1,а\n"),
             qrels=c.file("qrels.csv", "query_id,doc_id,relevance\nq1,d9,1\n")),
         DataError, "row 2, column 'doc_id': unknown document id 'd9'"),
    Case("rospatent-no-title", "data", "Rospatent JSON whose hit 1 lacks biblio.ru.title",
         lambda c: _data().load_rospatent_json(
             c.file("hits.json", '{"hits": [{"id": "RU1", "biblio": {"ru": {}}}]}')),
         DataError, "hits.json"),
    Case("split-unknown", "data", "RetrievalSet.split('nosuch')",
         lambda c: _data().demo().split("nosuch"), DataError, "no split 'nosuch'"),
    Case("random-splits-sum", "data", "with_random_splits({'a': 0.5, 'b': 0.2})",
         lambda c: _data().demo().with_random_splits({"a": 0.5, "b": 0.2}), DataError,
         "fractions: must sum to 1"),
    Case("audit-threshold", "data", "audit_splits(rs, near_threshold=1.5)",
         lambda c: _data().audit_splits(_data().demo(), near_threshold=1.5), DataError,
         "near_threshold: expected a number in (0, 1], got 1.5"),
    Case("audit-model-name", "data", "audit_splits(rs, model='default') (a name, not a model)",
         lambda c: _data().audit_splits(_data().demo(), model="default"), DataError,
         "model: expected a SentenceTransformer (with encode()), got str"),
    Case("pool-repeated-doc", "data", "pool() with a run that ranks one doc twice",
         lambda c: _data().pool({"bm25": {"q1": ["d1", "d2", "d1"]}}), DataError,
         "runs['bm25']['q1'][2]: doc id 'd1' is ranked twice"),
    Case("judgments-unknown-query", "data", "merge_judgments: judged.csv row 2 names query q9",
         lambda c: _data().merge_judgments(_data().demo(), c.file(
             "judged.csv", "query_id,doc_id,relevance\nq9,card-01,1\n")), DataError,
         "judged.csv, row 2, column 'query_id': unknown query id 'q9'"),
    Case("judgments-grade-3", "data", "merge_judgments: judged.csv with grade 3 on row 2",
         lambda c: _data().merge_judgments(_data().demo(), c.file(
             "judged.csv", "query_id,doc_id,relevance\nq-b-001,card-01,3\n")), DataError,
         "judged.csv, row 2, column 'relevance': grade 3 is not 0, 1 or 2"),
    Case("judgments-empty-grade", "data", "merge_judgments: judged.csv whose row 2 is not judged",
         lambda c: _data().merge_judgments(_data().demo(), c.file(
             "judged.csv", "query_id,doc_id,relevance\nq-b-001,card-01,\n")), DataError,
         "judged.csv, row 2, column 'relevance': empty grade; judge the pair (0, 1 or 2)"),
    Case("judgments-two-grades", "data", "merge_judgments: one pair judged 1 (row 2) and 2 (row 3)",
         lambda c: _data().merge_judgments(_data().demo(), c.file(
             "judged.csv",
             "query_id,doc_id,relevance\nq-b-001,card-01,1\nq-b-001,card-01,2\n")),
         DataError, "judged.csv, row 3, column 'relevance': judgment ('q-b-001', 'card-01') "
         "already has grade 1 (row 2); got 2"),
    Case("folder-judgments-disagree", "data",
         "folder whose judgments.csv grades a qrels.csv pair differently",
         lambda c: _data().load_folder(_folder_with_judgments(c), label="f"), DataError,
         "f/judgments.csv, row 2, column 'relevance': judgment ('q1', 'd1') has grade 0 but "
         "f/qrels.csv gives it 2"),
    # ---- encode ------------------------------------------------------------------------------
    Case("encode-one-string", "encode", "encode(model, 'one text') (a string, not a list)",
         lambda c: __import__("toolkit").encode(c.model, "one text", cache=False), TypeError,
         "wrap one text in a list"),
    Case("encode-none-item", "encode", "encode(model, ['ok', None])",
         lambda c: __import__("toolkit").encode(c.model, ["ok", None], cache=False), TypeError,
         "texts[1] must be a str, got NoneType"),
    Case("encode-lone-surrogate", "encode", "encode(model, ['\\ud800abc']) (a lone surrogate)",
         lambda c: __import__("toolkit").encode(c.model, ["\ud800abc"], cache=False),
         ValueError, "texts[0] is not valid Unicode: surrogates not allowed at character 0"),
    Case("encode-batch-size", "encode", "encode(..., batch_size=0)",
         lambda c: __import__("toolkit").encode(c.model, ["ok"], batch_size=0, cache=False),
         ValueError, "batch_size must be an integer >= 1, got 0"),
    Case("encode-out-shape", "encode", "encode(model, 2 texts, out=<float32 array of 3 rows>)",
         lambda c: __import__("toolkit").encode(
             c.model, ["a", "b"], cache=False, out=np.zeros((3, 32), np.float32)),
         ValueError, "out must be a writable C-contiguous float32 array of shape (2, 32)"),
    Case("stream-missing-column", "encode", "encode_corpus on a CSV without the text column",
         lambda c: _streaming().encode_corpus(
             c.file("corpus.csv", "id,name\n1,а\n"), c.tmp / "s", c.model), ValueError,
         "corpus.csv: column(s) 'title' not found; the file has 'id', 'name'"),
    Case("stream-empty-id", "encode", "encode_corpus on a CSV whose row 3 has no id",
         lambda c: _streaming().encode_corpus(
             c.file("corpus.csv", "id,title\n1,а\n,б\n"), c.tmp / "s", c.model), ValueError,
         "corpus.csv: row 3, column 'id': empty id"),
    Case("stream-bad-json-line", "encode", "encode_corpus on a JSONL file with a broken line 2",
         lambda c: _streaming().encode_corpus(
             c.file("corpus.jsonl", '{"id": 1, "title": "а"}\n{"id": 2, title}\n'),
             c.tmp / "s", c.model), ValueError, "corpus.jsonl: line 2: not valid JSON"),
    # ---- precomputed vectors (toolkit.models.vectors) ------------------------------------------
    Case("vectors-missing-file", "vectors", "load_model('nope.parquet') (no such file)",
         lambda c: __import__("toolkit").load_model(str(c.tmp / "nope.parquet")),
         VectorsFileError, "nope.parquet: no such file"),
    Case("vectors-not-parquet", "vectors", "load_model('x.parquet') holding text",
         lambda c: __import__("toolkit").load_model(str(c.file("x.parquet", "text"))),
         VectorsFileError, "x.parquet: cannot read it as Parquet"),
    Case("vectors-no-metadata", "vectors", "a vectors file without its toolkit.vectors record",
         lambda c: __import__("toolkit").load_model(str(_vec_file(c, drop="all"))),
         VectorsFileError, "v.parquet: no 'toolkit.vectors' metadata"),
    Case("vectors-metadata-incomplete", "vectors", "a vectors file whose record lacks fingerprint",
         lambda c: __import__("toolkit").load_model(str(_vec_file(c, drop="fingerprint"))),
         VectorsFileError, "v.parquet: metadata lacks fingerprint"),
    Case("vectors-wrong-dim", "vectors", "row 1 has 3 values, the record says dim=2",
         lambda c: __import__("toolkit").load_model(
             str(_vec_file(c, vectors=((1.0, 0.0), (0.0, 1.0, 0.0))))),
         VectorsFileError, "row 1 (counting from 0), text 'б': the vector has 3 values; the "
         "metadata says dim=2"),
    Case("vectors-nan", "vectors", "row 1 holds NaN",
         lambda c: __import__("toolkit").load_model(
             str(_vec_file(c, vectors=((1.0, 0.0), (float("nan"), 1.0))))),
         VectorsFileError, "row 1 (counting from 0), text 'б': the vector holds NaN"),
    Case("vectors-duplicate-text", "vectors", "text 'а' twice with different vectors",
         lambda c: __import__("toolkit").load_model(
             str(_vec_file(c, texts=("а", "а"), vectors=((1.0, 0.0), (0.0, 1.0))))),
         VectorsFileError, "row 1 (counting from 0), text 'а': the same text as row 0 with a "
         "different vector"),
    Case("vectors-unknown-text", "vectors", "encode(vectors model, ['в']) ('в' not in the file)",
         lambda c: __import__("toolkit").encode(_vec_model(c), ["а", "в"], cache=False),
         UnknownTextError, "1 text(s) not in the vectors file"),
    Case("vectors-finetune", "vectors", "finetune(load_model('v.parquet'), pairs)",
         lambda c: _training().finetune(_vec_model(c), [("а", "б"), ("б", "а")]),
         VectorsNotTrainable, "not a model: vectors cannot be fine-tuned"),
    # ---- load_model --------------------------------------------------------------------------
    Case("model-missing-folder", "load_model", "load_model('/nonexistent/model')",
         lambda c: __import__("toolkit").load_model(str(c.tmp / "nope" / "model")),
         ModelNotAvailable, "does not exist"),
    Case("model-not-a-model-folder", "load_model", "load_model(<empty folder>)",
         lambda c: __import__("toolkit").load_model(c.tmp), ModelNotAvailable,
         "is not a model folder: expected a sentence-transformers folder"),
    Case("model-corrupt-weights", "load_model", "model folder whose model.safetensors is garbage",
         lambda c: __import__("toolkit").load_model(c.broken_model("weights"), device="cpu"),
         ModelNotAvailable, "model-weights: cannot load the model folder (SafetensorError"),
    Case("model-missing-weights", "load_model", "model folder without its weights file",
         lambda c: __import__("toolkit").load_model(c.broken_model("no-weights"), device="cpu"),
         ModelNotAvailable, "model-no-weights: cannot load the model folder (OSError"),
    Case("model-bad-modules-json", "load_model", "model folder whose modules.json is not JSON",
         lambda c: __import__("toolkit").load_model(c.broken_model("modules-json"), device="cpu"),
         ModelNotAvailable, "model-modules-json: cannot load the model folder"),
    Case("model-offline-hub-id", "load_model", "uncached hub id with HF_HUB_OFFLINE=1",
         lambda c: __import__("toolkit").load_model("nope-org/nope-model"), ModelNotAvailable,
         "'nope-org/nope-model' is not in the local Hugging Face cache",
         env=(("HF_HUB_OFFLINE", "1"),)),
    # ---- metrics -----------------------------------------------------------------------------
    Case("metrics-1d-scores", "metrics", "retrieval_metrics with a 1-D score vector",
         lambda c: _metrics().retrieval_metrics(np.ones(2), QRELS, **IDS), ValueError,
         "scores must be 2-D"),
    Case("metrics-shape-mismatch", "metrics", "2x2 scores with 3 doc_ids",
         lambda c: _metrics().retrieval_metrics(
             _eye_scores(), QRELS, query_ids=["q1", "q2"], doc_ids=["d1", "d2", "d3"]),
         ValueError, "scores"),
    Case("metrics-nan-score", "metrics", "a NaN in the score matrix",
         lambda c: _metrics().retrieval_metrics(
             np.array([[1.0, np.nan], [0.0, 1.0]]), QRELS, **IDS), ValueError, "NaN"),
    Case("metrics-inf-score", "metrics", "a +inf in the score matrix",
         lambda c: _metrics().retrieval_metrics(
             np.array([[1.0, np.inf], [0.0, 1.0]]), QRELS, **IDS), ValueError,
         "scores contain +inf for query 'q1' and doc 'd2' (scores[0, 1])"),
    Case("metrics-duplicate-ids", "metrics", "query_ids ['q1', 'q1']",
         lambda c: _metrics().retrieval_metrics(
             _eye_scores(), QRELS, query_ids=["q1", "q1"], doc_ids=["d1", "d2"]),
         ValueError, "query_ids"),
    Case("metrics-judged-flag", "metrics", "retrieval_metrics(..., judged='yes')",
         lambda c: _metrics().retrieval_metrics(_eye_scores(), QRELS, judged="yes", **IDS),
         TypeError, "judged must be True or False, got 'yes'"),
    Case("metrics-bad-k", "metrics", "ks=[10, 0]",
         lambda c: _metrics().retrieval_metrics(_eye_scores(), QRELS, ks=[10, 0], **IDS),
         ValueError, "ks[1] must be an integer >= 1, got 0"),
    Case("metrics-bad-gains", "metrics", "gains='log'",
         lambda c: _metrics().retrieval_metrics(_eye_scores(), QRELS, gains="log", **IDS),
         ValueError, "gains must be 'linear' or 'exponential', got 'log'"),
    Case("metrics-nan-grade", "metrics", "qrels grade NaN",
         lambda c: _metrics().retrieval_metrics(
             _eye_scores(), {"q1": {"d1": float("nan")}}, **IDS), ValueError,
         "qrels['q1']['d1'] = nan"),
    Case("metrics-zero-embedding", "metrics", "an all-zero document embedding (cosine)",
         lambda c: _metrics().retrieval_metrics_from_embeddings(
             np.eye(2), np.array([[1.0, 0.0], [0.0, 0.0]]), QRELS, **IDS), ValueError,
         "doc_emb row 1 is all zeros"),
    Case("metrics-dim-mismatch", "metrics", "query and doc embeddings of different width",
         lambda c: _metrics().retrieval_metrics_from_embeddings(
             np.eye(2), np.eye(2, 3), QRELS, **IDS), ValueError,
         "query_emb dim 2 != doc_emb dim 3"),
    Case("bootstrap-empty", "metrics", "bootstrap_ci([])",
         lambda c: _stats().bootstrap_ci([]), ValueError, "is empty"),
    Case("bootstrap-nan", "metrics", "bootstrap_ci([0.5, nan])",
         lambda c: _stats().bootstrap_ci([0.5, float("nan")]), ValueError, "values"),
    Case("bootstrap-confidence", "metrics", "bootstrap_ci(..., confidence=1.5)",
         lambda c: _stats().bootstrap_ci([0.1, 0.2], confidence=1.5), ValueError,
         "confidence must be in (0, 1), got 1.5"),
    Case("paired-length", "metrics", "paired_test with 3 and 2 values",
         lambda c: _stats().paired_test([0.1, 0.2, 0.3], [0.1, 0.2]), ValueError,
         "a has 3 values but b has 2; the test is paired"),
    Case("paired-resamples", "metrics", "paired_test(..., n_resamples=0)",
         lambda c: _stats().paired_test([0.1, 0.2], [0.2, 0.1], n_resamples=0), ValueError,
         "n_resamples must be an integer >= 1, got 0"),
    Case("warmup-plot-length", "metrics", "plot_warmup_sensitivity(2 warm-ups, 1 value)",
         lambda c: __import__("toolkit.plots").plots.plot_warmup_sensitivity([0, 1], {"a": [1.0]}),
         ValueError, "series['a'] has 1 values but warmup_steps has 2"),
    Case("figures-png-colors", "metrics", "plots.setup_notebook(colors=300)",
         lambda c: __import__("toolkit.plots").plots.setup_notebook(colors=300),
         ValueError, "colors must be an integer in 2..256, got 300"),
    Case("figures-png-not-image", "metrics", "quantize_png(b'<html>') (not PNG bytes)",
         lambda c: __import__("toolkit.plots.notebook").plots.notebook.quantize_png(b"<html>"),
         ValueError, "png is not a readable image"),
    # ---- training ----------------------------------------------------------------------------
    Case("recipe-lr", "training", "Recipe(name='x', learning_rate=0)",
         lambda c: _training().Recipe(name="x", learning_rate=0), ValueError,
         "Recipe 'x': learning_rate=0, expected a positive number"),
    Case("recipe-batch-size", "training", "Recipe(..., batch_size=0)",
         lambda c: _training().Recipe(name="x", learning_rate=1e-5, batch_size=0), ValueError,
         "batch_size must be an integer >= 1, got 0"),
    Case("recipe-scheduler", "training", "Recipe(..., scheduler='warmuplinear') in trainer mode",
         lambda c: _training().Recipe(name="x", learning_rate=1e-5, scheduler="warmuplinear"),
         ValueError, "scheduler='warmuplinear', expected one of"),
    Case("finetune-empty-title", "training", "finetune pairs whose 2nd title is ''",
         lambda c: _training().finetune(c.model, [("а", "Т"), ("б", "")]), ValueError,
         "train_pairs[1]: expected a (query, title) tuple of two non-empty strings"),
    Case("finetune-no-pairs", "training", "finetune(model, [])",
         lambda c: _training().finetune(c.model, []), ValueError, "train_pairs: no pairs"),
    Case("finetune-one-pair", "training", "finetune(model, [one pair]) (MNRL has no negatives)",
         lambda c: _training().finetune(c.model, [("а", "Т")]), ValueError,
         "train_pairs: 1 pair gives batches of one; MNRL"),
    Case("finetune-output-file", "training", "finetune(..., output_dir=<an existing file>)",
         lambda c: _training().finetune(
             c.model, [("а", "Т"), ("б", "У")], output_dir=c.file("model.bin", "x")),
         ValueError, "is an existing file; expected a folder"),
    Case("finetune-string", "training", "finetune(model, 'pairs.csv') (a path string)",
         lambda c: _training().finetune(c.model, "pairs.csv"), TypeError,
         "train_pairs: expected a list of (query, title) tuples"),
    Case("finetune-frame-columns", "training", "finetune on a DataFrame without 'title'",
         lambda c: _training().finetune(c.model, pd.DataFrame({"query": ["а"], "doc": ["Т"]})),
         ValueError, "DataFrame lacks column(s) ['title']"),
    Case("recipe-hard-negatives", "training", "Recipe(..., hard_negatives=-1)",
         lambda c: _training().Recipe(name="x", learning_rate=1e-5, hard_negatives=-1),
         ValueError, "hard_negatives must be an integer >= 0, got -1"),
    Case("recipe-negative-margin", "training", "Recipe(..., hard_negative_margin=1.5)",
         lambda c: _training().Recipe(name="x", learning_rate=1e-5, hard_negative_margin=1.5),
         ValueError, "hard_negative_margin=1.5, expected a number in [0, 1)"),
    Case("select-recipe-seeds", "training", "select_recipe(..., seeds=(1, 2)) (2 seeds)",
         lambda c: __import__("toolkit.training.experiments").training.experiments.select_recipe(
             c.model, [("а", "Т"), ("б", "У")], None, seeds=(1, 2)),
         ValueError, "expected at least 3 distinct seeds"),
    Case("kfold-groups-length", "training", "kfold_by_query(2 ids, groups=[0])",
         lambda c: __import__("toolkit.training.experiments").training.experiments.kfold_by_query(
             ["a", "b"], 2, groups=[0]),
         ValueError, "groups: 1 labels for 2 query ids"),
    Case("kfold-too-few-groups", "training", "kfold_by_query(3 ids in 2 groups, n_folds=3)",
         lambda c: __import__("toolkit.training.experiments").training.experiments.kfold_by_query(
             ["a", "b", "c"], 3, groups=[0, 0, 1]),
         ValueError, "n_folds=3: expected an int in [2, 2] (the number of query groups"),
    # ---- clustering --------------------------------------------------------------------------
    Case("reduce-method", "clustering", "reduce(X, method='tsne')",
         lambda c: _clustering().reduce(np.eye(5), method="tsne"), ValueError,
         "method: expected 'umap' or 'pca', got 'tsne'"),
    Case("reduce-nan", "clustering", "reduce on embeddings with a NaN",
         lambda c: _clustering().reduce(np.where(np.eye(6) == 1, np.nan, 0.5), method="pca"),
         ValueError, "embeddings"),
    Case("reduce-1d", "clustering", "reduce on a 1-D array",
         lambda c: _clustering().reduce(np.ones(5), method="pca"), ValueError, "embeddings"),
    Case("cluster-too-many", "clustering", "cluster(X of 4 rows, method='kmeans', n_clusters=9)",
         lambda c: _clustering().cluster(np.eye(4), method="kmeans", n_clusters=9), ValueError,
         "n_clusters: 9 is more than the 4 rows of X"),
    Case("cluster-method", "clustering", "cluster(X, method='dbscan2')",
         lambda c: _clustering().cluster(np.eye(4), method="dbscan2"), ValueError, "method"),
    Case("cluster-large-nan-row", "clustering", "cluster_large on vectors whose row 7 is NaN",
         lambda c: _clustering().cluster_large(
             np.where(np.arange(10)[:, None] == 7, np.nan, np.eye(10)), sample_size=4),
         ValueError, "vectors: row 7 contains NaN or infinite values"),
    Case("agreement-length", "clustering", "agreement with 3 labels and 2 references",
         lambda c: _clustering().agreement([0, 1, 1], ["A", "B"]), ValueError,
         "labels and reference must have the same length, got 3 and 2"),
    Case("agreement-noise", "clustering", "agreement(..., noise='drop')",
         lambda c: _clustering().agreement([0, 1], ["A", "B"], noise="drop"), ValueError,
         "noise: expected 'cluster' or 'exclude', got 'drop'"),
    # ---- lexical -----------------------------------------------------------------------------
    Case("bm25-empty-docs", "lexical", "bm25_scores(['q'], [])",
         lambda c: __import__("toolkit").bm25_scores(["запрос"], []), ValueError,
         "docs is empty"),
    Case("bm25-non-string", "lexical", "bm25_scores(['q'], ['ok', 3])",
         lambda c: __import__("toolkit").bm25_scores(["запрос"], ["ok", 3]), TypeError,
         "docs[1] must be a string"),
    Case("fusion-spec", "lexical", "compare_systems(..., fusions=['rrf(60)'])",
         lambda c: __import__("toolkit.fusion", fromlist=["x"]).Fusion.parse("rrf(60)"),
         ValueError, "fusions: cannot read 'rrf(60)'"),
    Case("fusion-weight", "lexical", "select_fusion(..., weights=[1.5])",
         lambda c: __import__("toolkit.fusion", fromlist=["x"]).Fusion("weighted", w=1.5),
         ValueError, "w must be a number in [0, 1], got 1.5"),
    Case("holm-range", "metrics", "holm([0.1, 1.5])",
         lambda c: _stats().holm([0.1, 1.5]), ValueError,
         "p_values[1] = 1.5: a p-value must be in [0, 1]"),
    Case("auc-one-class", "metrics", "auc_bootstrap on pairs that are all relevant",
         lambda c: __import__("toolkit.diagnostics", fromlist=["x"]).auc_bootstrap(
             pd.DataFrame({"query_id": ["a"], "score": [0.5], "relevant": [True]})),
         ValueError, "needs both relevant and non-relevant pairs"),
    # ---- toolkit.search --------------------------------------------------------------------
    Case("search-empty-query", "search", "search(['ok', '  '], ...): a blank query",
         lambda c: _search(["ok", "  "]), ValueError, "queries[1] is empty"),
    Case("search-query-not-str", "search", "search(['ok', 3], ...)",
         lambda c: _search(["ok", 3]), TypeError, "queries[1] must be a str, got int"),
    Case("search-unknown-system", "search", "search(..., systems=['bm25', 'bm52'])",
         lambda c: _search("q", systems=["bm25", "bm52"]), ValueError,
         "systems[1]: unknown system 'bm52'"),
    Case("search-fusion-without-dense", "search", "search(..., systems=['bm25', 'rrf(k=60)'])",
         lambda c: _search("q", systems=["bm25", "rrf(k=60)"]), ValueError,
         "list a dense model too"),
    Case("search-k-zero", "search", "search(..., k=0)",
         lambda c: _search("q", k=0), ValueError, "k must be an integer >= 1, got 0"),
    Case("search-empty-corpus", "search", "search('q', [])",
         lambda c: _search("q", corpus=[]), ValueError, "corpus is empty"),
    Case("search-title-not-str", "search", "search('q', {'a': 'T', 'b': None})",
         lambda c: _search("q", corpus={"a": "T", "b": None}), TypeError,
         "corpus['b'] must be a str title"),
    # ---- toolkit.explorer ------------------------------------------------------------------
    Case("explorer-grade", "explorer", "Explorer.judge(query, doc, 3)",
         lambda c: _explorer(c).judge("робот", "a", 3), _DataError(),
         "grade: expected 0, 1 or 2, got 3"),
    Case("explorer-unknown-doc", "explorer", "Explorer.judge(query, 'zz', 1)",
         lambda c: _explorer(c).judge("робот", "zz", 1), _DataError(),
         "doc_id: 'zz' is not a document id of the corpus"),
    Case("explorer-bad-file", "explorer", "Explorer(..., judgments=a file with grade 3 in row 3)",
         lambda c: _explorer(c, "query_id,doc_id,relevance\nq,a,1\nq,b,3\n"), _DataError(),
         "judged.csv, row 3, column 'relevance': grade 3 is not 0, 1 or 2"),
    Case("search-unknown-index", "search", "search(..., index='hnsw')",
         lambda c: __import__("toolkit.retrieval", fromlist=["x"]).search(
             "q", ["A", "B"], systems=["bm25"], index="hnsw"),
         ValueError, "index must be one of ('auto', 'exact', 'approx'), got 'hnsw'"),
    Case("index-damaged-file", "search", "load_index(<a file that is not an index>)",
         lambda c: __import__("toolkit.index", fromlist=["x"]).load_index(
             c.file("x.tkindex", b"not an index" * 10)),
         ValueError, "x.tkindex: not a toolkit index file"),
    Case("index-query-dim", "search", "ExactIndex(2-d vectors).search(3-d queries)",
         lambda c: __import__("toolkit.index", fromlist=["x"]).ExactIndex(
             np.eye(2, dtype=np.float32)).search(np.ones((1, 3), dtype=np.float32)),
         ValueError, "queries have dim 3 but the index holds dim 2"),
    # ---- command line (one `error:` line on stderr, non-zero exit, no traceback) -------------
    Case("cli-validate-missing", "cli", "data validate missing.csv",
         lambda c: ["data", "validate", str(c.tmp / "missing.csv")], SystemExit,
         "missing.csv: file not found"),
    Case("cli-validate-broken-csv", "cli", "data validate broken.csv (unclosed quote)",
         lambda c: ["data", "validate", str(c.file("broken.csv", 'query,title\n"а,Т\n'))],
         SystemExit, "broken.csv: cannot parse as CSV"),
    Case("cli-validate-no-files", "cli", "data validate (no FILE)",
         lambda c: ["data", "validate"], SystemExit, "data validate needs at least one FILE"),
    Case("cli-evaluate-missing-model", "cli", "evaluate --model /nonexistent",
         lambda c: ["evaluate", "--model", "/nonexistent"], SystemExit,
         "model folder '/nonexistent' does not exist"),
    Case("cli-demo-offline-hub-id", "cli", "demo --model nope/x with HF_HUB_OFFLINE=1",
         lambda c: ["demo", "--model", "nope/x"], SystemExit,
         "'nope/x' is not in the local Hugging Face cache", env=(("HF_HUB_OFFLINE", "1"),)),
    Case("cli-demo-corrupt-model", "cli", "demo --model <folder with garbage weights>",
         lambda c: ["demo", "--model", str(c.broken_model("weights"))], SystemExit,
         "cannot load the model folder"),
    Case("cli-evaluate-bad-data", "cli", "evaluate --data bad.csv (empty title on row 3)",
         lambda c: ["evaluate", "--data", str(c.file("bad.csv", "query,title\nа,Т\nб,\n"))],
         SystemExit, "bad.csv, row 3, column 'title': empty cell"),
    Case("cli-evaluate-unknown-split", "cli", "evaluate --split nosuch",
         lambda c: ["evaluate", "--split", "nosuch"], SystemExit, "no split 'nosuch'"),
    Case("cli-evaluate-baseline-none", "cli", "evaluate --baseline none --baseline bm25",
         lambda c: ["evaluate", "--baseline", "none", "--baseline", "bm25",
                    "--model", str(c.tiny_dir), "--data", str(c.file("p.csv", PAIRS_OK))],
         SystemExit, "--baseline none cannot be combined"),
    Case("cli-evaluate-out-is-folder", "cli", "evaluate --out <an existing folder>",
         lambda c: ["evaluate", "--model", str(c.tiny_dir), "--baseline", "bm25",
                    "--data", str(c.file("p.csv", PAIRS_OK)), "--out", str(c.tmp)],
         SystemExit, "Is a directory"),
    Case("cli-demo-top-zero", "cli", "demo --top 0",
         lambda c: ["demo", "--top", "0"], SystemExit,
         "argument --top: expected an integer >= 1, got '0'"),
    Case("cli-unknown-command", "cli", "python -m toolkit frobnicate",
         lambda c: ["frobnicate"], SystemExit, "invalid choice: 'frobnicate'"),
    Case("cli-report-missing-notebook", "cli", "report missing.ipynb",
         lambda c: ["report", "--out", str(c.tmp / "r"), str(c.tmp / "missing.ipynb")],
         SystemExit, "no such notebook"),
    Case("cli-report-unknown-parameter", "cli", "report -p MODLE=x NB (NB declares MODEL)",
         lambda c: ["report", "--out", str(c.tmp / "r"), "-p", "MODLE=x", str(_param_nb(c))],
         SystemExit, "unknown parameter(s) MODLE (did you mean MODEL?)"),
    Case("cli-report-parameter-no-value", "cli", "report -p MODEL (no =VALUE)",
         lambda c: ["report", "-p", "MODEL"],
         SystemExit, "argument -p/--parameter: expected NAME=VALUE, got 'MODEL'"),
    Case("cli-report-parameters-file-list", "cli", "report -f p.yaml (a YAML list, not a mapping)",
         lambda c: ["report", "--out", str(c.tmp / "r"), "-f", str(c.file("p.yaml", "- MODEL\n")),
                    str(_param_nb(c))],
         SystemExit, "p.yaml: expected a mapping NAME: value at the top level, got a list"),
    Case("cli-report-parameters-file-unknown-key", "cli", "report -f p.yaml (key MODLE; NB "
         "declares MODEL)",
         lambda c: ["report", "--out", str(c.tmp / "r"), "-f",
                    str(c.file("p.yaml", "MODLE: x\n")), str(_param_nb(c))],
         SystemExit, "p.yaml; did you mean MODEL?)"),
    Case("cli-encode-out-not-parquet", "cli", "encode --out v.csv",
         lambda c: ["encode", "--out", str(c.tmp / "v.csv")], SystemExit,
         "v.csv: expected a file name ending in .parquet"),
    Case("cli-search-unknown-system", "cli", "search q --system bm52",
         lambda c: ["search", "q", "--system", "bm52"], SystemExit, "unknown system 'bm52'"),
    Case("cli-encode-corpus-no-column", "cli", "encode-corpus F.csv --out D --text-column nope",
         lambda c: ["encode-corpus", str(c.file("c.csv", "id,title\n1,а\n")), "--out",
                    str(c.tmp / "s"), "--text-column", "nope"],
         SystemExit, "c.csv: column(s) 'nope' not found"),
    Case("cli-search-k-zero", "cli", "search q --k 0",
         lambda c: ["search", "q", "--k", "0"], SystemExit,
         "argument --k: expected an integer >= 1, got '0'"),
    Case("cli-search-blank-query", "cli", "search ' ' --system bm25",
         lambda c: ["search", " ", "--system", "bm25"], SystemExit, "queries[0] is empty"),
]
# fmt: on

# The CLI cases that are also run as a real subprocess (cheap ones: no model is loaded).
SUBPROCESS_CASES = {"cli-validate-missing", "cli-evaluate-missing-model", "cli-demo-top-zero"}


def _resolve(exc):
    return exc.resolve() if isinstance(exc, _Lazy) else exc


@pytest.fixture()
def ctx(tmp_path, tiny_bert_dir):
    return Ctx(tmp_path, tiny_bert_dir)


_PROGRESS = re.compile(r"\d+%\|")  # tqdm bars (e.g. transformers' "Loading weights") are not errors


def _check_cli_stderr(err: str, fragment: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip() and not _PROGRESS.search(ln)]
    assert "Traceback" not in err, err
    assert len(lines) == 1, f"expected one stderr line, got:\n{err}"
    assert lines[0].startswith("error: "), lines[0]
    assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, ctx: Ctx, capsys, monkeypatch):
    for key, value in case.env:
        monkeypatch.setenv(key, value)
    if case.area == "cli":
        from toolkit.__main__ import main

        argv = case.call(ctx)
        capsys.readouterr()
        try:
            rc = main(argv)
        except SystemExit as exit_:  # argparse usage errors
            rc = exit_.code
        err = capsys.readouterr().err
        assert rc not in (0, None), f"exit status {rc}"
        _check_cli_stderr(err, case.fragment)
        return
    with pytest.raises(_resolve(case.exc)) as info:
        case.call(ctx)
    assert case.fragment in str(info.value), f"{case.fragment!r} not in {str(info.value)!r}"


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.id in SUBPROCESS_CASES], ids=sorted(SUBPROCESS_CASES)
)
def test_cli_subprocess_prints_one_error_line(case: Case, ctx: Ctx):
    env = dict(os.environ, **dict(case.env), HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-m", "toolkit", *case.call(ctx)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0, proc.stdout
    _check_cli_stderr(proc.stderr, case.fragment)


def test_catalogue_is_big_and_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 30
    assert {c.area for c in CASES} >= {
        "data", "encode", "load_model", "metrics", "training", "clustering", "cli", "vectors"
    }


def _doc_table() -> str:
    """The markdown table of docs/RELIABILITY.md, rendered from CASES."""
    rows = ["| id | area | input | raises | message contains |", "|---|---|---|---|---|"]
    for c in CASES:
        exc = "exit ≠ 0, one `error:` line" if c.area == "cli" else c.exc.__name__
        frag = c.fragment.replace("|", "\\|")
        rows.append(f"| {c.id} | {c.area} | {c.given} | {exc} | `{frag}` |")
    return "\n".join(rows)


def test_docs_list_every_case_with_its_message():
    assert _doc_table() in DOC.read_text(encoding="utf-8"), (
        "docs/RELIABILITY.md's table is not the one CASES renders; regenerate it with "
        "`python -c 'import tests.test_bad_inputs as t; print(t._doc_table())'`"
    )
