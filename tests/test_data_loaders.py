"""Tests for toolkit.data.loaders: pairs, corpus, queries, qrels, splits, folders, demo, load()."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings

import pandas as pd
import pytest
from data_helpers import FIX, PKG_DATA, small_set, write

from toolkit.data import (
    DataError,
    RetrievalSet,
    demo,
    load,
    load_corpus,
    load_folder,
    load_pairs,
    load_qrels,
    load_queries,
    load_retrieval_set,
    select_split,
    text_id,
)


def test_load_pairs_fixture():
    rs = load_pairs(FIX / "pairs.csv")
    assert len(rs.queries) == 3 and len(rs.corpus) == 5
    # trailing spaces and the literal text "NA" are kept exactly
    assert "СИСТЕМА УПРАВЛЕНИЯ ЭНЕРГОПОТРЕБЛЕНИЕМ УМНОГО ДОМА " in rs.corpus.values()
    assert "NA" in rs.corpus.values()
    assert rs.describe()["judged_nonrelevant"] == 2
    # ids are q-/d- + first 10 hex of sha1 (value computed independently with hashlib)
    expected = "d-" + hashlib.sha1(b"NA").hexdigest()[:10]
    assert rs.corpus[expected] == "NA" and text_id("d-", "NA") == expected
    query = "умный дом"
    assert text_id("q-", query) == "q-" + hashlib.sha1(query.encode("utf-8")).hexdigest()[:10]


def test_full_set_round_trip_through_formats(tmp_path):
    base = load_retrieval_set(
        corpus=FIX / "corpus.csv", queries=FIX / "queries.csv", qrels=FIX / "qrels.csv"
    )
    assert dict(base.splits) == {"train": ("q1",), "test": ("q2",)}
    assert dict(base.ipc) == {
        "RU2725023C1_20200629": "H",
        "RU2802324C2_20230824": "A",
        "RU2757048C1_20211011": "A",
    }
    for ext in ("parquet", "jsonl"):
        paths = {}
        for name in ("corpus", "queries", "qrels"):
            df = pd.read_csv(FIX / f"{name}.csv", dtype=str, keep_default_na=False)
            if name == "qrels":
                df["relevance"] = df["relevance"].astype(int)
            df = df.replace("", None)
            paths[name] = tmp_path / f"{name}.{ext}"
            if ext == "parquet":
                df.to_parquet(paths[name])
            else:
                df.to_json(paths[name], orient="records", lines=True, force_ascii=False)
        other = load_retrieval_set(**paths)
        assert other == base
        assert other.doc_ids == base.doc_ids


def test_trec_qrels_and_splits_json(tmp_path):
    assert load_qrels(FIX / "qrels.trec") == load_qrels(FIX / "qrels.csv")
    # a TREC-shaped .tsv is recognised by its content
    tsv = write(tmp_path, "q.tsv", "q1\t0\td1\t1\nq1\t0\td2\t0\n")
    assert load_qrels(tsv) == {"q1": {"d1": 1, "d2": 0}}
    queries = write(tmp_path, "queries.csv", "query_id,text\nq1,а\nq2,б\nq3,в\n")
    corpus = FIX / "corpus.csv"
    qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,RU2725023C1_20200629,1\n")
    rs = load_retrieval_set(corpus=corpus, queries=queries, qrels=qrels, splits=FIX / "splits.json")
    assert dict(rs.splits) == {"train": ("q1", "q3"), "test": ("q2",)}


def test_columns_rename_reference_layout(tmp_path):
    # the origin project's layout: query,id,label (BOM at the start)
    p = write(tmp_path, "manual.csv", "\ufeffquery,id,label\nq1,RU1,1\nq1,RU2,0\n")
    assert load_qrels(p, columns={"query_id": "query", "doc_id": "id", "relevance": "label"}) == {
        "q1": {"RU1": 1, "RU2": 0}
    }
    with pytest.raises(DataError, match=r"column 'sentence_0' .* columns found: query, id, label"):
        load_pairs(p, columns={"query": "sentence_0"})


def test_duplicate_doc_id_different_titles(tmp_path):
    p = write(tmp_path, "corpus.csv", "doc_id,title\nd1,РОБОТ\nd2,ДОМ\nd1,ЛОПАТА\n")
    with pytest.raises(
        DataError,
        match=r"corpus\.csv, row 4, column 'title': "
        r"document id 'd1' already has title 'РОБОТ' \(row 2\)",
    ):
        load_corpus(p)


def test_same_title_different_ids_warns_and_dedupe_merges(tmp_path):
    corpus = write(tmp_path, "corpus.csv", "doc_id,title,ipc\nd1,РОБОТ,B\nd2,ДОМ,\nd3,Робот ,\n")
    queries = write(tmp_path, "queries.csv", "query_id,text\nq1,робот\nq2,дом\n")
    qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,d3,2\nq1,d1,1\nq2,d2,1\n")
    with pytest.warns(
        UserWarning, match=r"corpus\.csv: 1 group.*'d1' \(row 2\), 'd3' \(row 4\).*dedupe=True"
    ):
        rs = load_retrieval_set(corpus=corpus, queries=queries, qrels=qrels)
    assert rs.doc_ids == ["d1", "d2", "d3"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merged = load_retrieval_set(corpus=corpus, queries=queries, qrels=qrels, dedupe=True)
    assert merged.doc_ids == ["d1", "d2"]
    assert dict(merged.qrels["q1"]) == {"d1": 2}  # twin's judgment remapped, highest grade kept
    assert merged.ipc["d1"] == "B"
    with pytest.warns(UserWarning, match="share a title"):
        load_corpus(corpus)
    # pairs: titles equal up to case/whitespace are twins too
    pairs = pd.DataFrame({"query": ["а", "б"], "title": ["РОБОТ", "робот"]})
    with pytest.warns(UserWarning, match="share a title"):
        load_pairs(pairs)
    assert len(load_pairs(pairs, dedupe=True).corpus) == 1


@pytest.mark.parametrize(
    ("row", "column", "what"),
    [
        ("q9,RU2725023C1_20200629,1", "query_id", "unknown query id 'q9'"),
        ("q1,RU0,1", "doc_id", "unknown document id 'RU0'"),
    ],
)
def test_qrels_unknown_ids(tmp_path, row, column, what):
    qrels = write(
        tmp_path, "qrels.csv", f"query_id,doc_id,relevance\nq1,RU2725023C1_20200629,1\n{row}\n"
    )
    with pytest.raises(DataError, match=rf"qrels\.csv, row 3, column '{column}': {what}"):
        load_retrieval_set(corpus=FIX / "corpus.csv", queries=FIX / "queries.csv", qrels=qrels)


def test_query_in_two_splits(tmp_path):
    p = write(tmp_path, "queries.csv", "query_id,text,split\nq1,а,train\nq2,б,test\nq1,а,test\n")
    with pytest.raises(
        DataError,
        match=r"queries\.csv, row 4, column 'split': "
        r"query id 'q1' is in two splits: 'train' \(row 2\) and 'test'",
    ):
        load_queries(p)
    queries = write(tmp_path, "q2.csv", "query_id,text\nq1,а\nq2,б\n")
    splits = write(tmp_path, "splits.json", '{"train": ["q1"], "test": ["q2", "q1"]}')
    qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,RU2725023C1_20200629,1\n")
    with pytest.raises(
        DataError, match=r"splits\.json, split 'test', item 2: query id 'q1' is in two splits"
    ):
        load_retrieval_set(corpus=FIX / "corpus.csv", queries=queries, qrels=qrels, splits=splits)


def test_split_names_unknown_query(tmp_path):
    queries = write(tmp_path, "q.csv", "query_id,text\nq1,а\n")
    qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,RU2725023C1_20200629,1\n")
    splits = write(tmp_path, "splits.json", '{"test": ["q1", "q7"]}')
    with pytest.raises(
        DataError, match=r"splits\.json, split 'test', item 2: unknown query id 'q7'"
    ):
        load_retrieval_set(corpus=FIX / "corpus.csv", queries=queries, qrels=qrels, splits=splits)


def test_conflicting_pair_labels_and_bad_ipc(tmp_path):
    p = write(tmp_path, "pairs.csv", "query,title,label\nа,Т,1\nб,Д,1\nа,Т,0\n")
    with pytest.raises(
        DataError,
        match=r"pairs\.csv, row 4, column 'label': pair .* already has grade 1 \(row 2\); got 0",
    ):
        load_pairs(p)
    c = write(tmp_path, "corpus.csv", "doc_id,title,ipc\nd1,Т,G06F 16/33\n")
    with pytest.raises(
        DataError, match=r"corpus\.csv, row 2, column 'ipc': expected one IPC section letter"
    ):
        load_corpus(c)


def test_copy_of_fixture_folder_is_untouched(tmp_path):
    # loaders never write: load everything from a copy and compare bytes afterwards
    copy = tmp_path / "fx"
    shutil.copytree(FIX, copy)
    load_retrieval_set(
        corpus=copy / "corpus.csv", queries=copy / "queries.csv", qrels=copy / "qrels.csv"
    )
    for f in FIX.iterdir():
        assert (copy / f.name).read_bytes() == f.read_bytes()


def test_load_package_set_on_tmp_copy(tmp_path):
    write(
        tmp_path,
        "corpus.csv",
        "doc_id,title,ipc,topic,source\nd1,СИСТЕМА УМНОГО ДОМА ,H,energy,model_card\n"
        "d2,ЛОПАТА,A,garden,synthetic\nd3,НОСИМЫЙ ДАТЧИК,A,health,synthetic\n",
    )
    write(
        tmp_path,
        "queries.csv",
        "query_id,text,topic,source,split\nq1,умный дом,energy,model_card,train\n"
        "q2,датчик пульса,health,synthetic,test\n",
    )
    write(
        tmp_path,
        "qrels.csv",
        "query_id,doc_id,relevance,source\nq1,d1,2,model_card\nq1,d2,0,manual\nq2,d3,1,manual\n",
    )
    rs = load_folder(tmp_path, label="tmp")
    assert rs.corpus["d1"] == "СИСТЕМА УМНОГО ДОМА "
    assert dict(rs.splits) == {"train": ("q1",), "test": ("q2",)}
    assert set(rs.doc_fields) == {"ipc", "topic", "source"}
    assert set(rs.query_fields) == {"topic", "source"}
    assert rs.split("test").pairs() == [("датчик пульса", "НОСИМЫЙ ДАТЧИК")]
    (tmp_path / "qrels.csv").unlink()
    with pytest.raises(DataError, match="tmp: dataset file\\(s\\) missing: qrels.csv"):
        load_folder(tmp_path, label="tmp")


@pytest.mark.skipif(
    not all((PKG_DATA / n).is_file() for n in ("corpus.csv", "queries.csv", "qrels.csv")),
    reason="demo dataset files not in toolkit/datasets yet",
)
def test_demo():
    rs = demo()
    assert rs is demo()  # cached
    assert rs.queries and rs.corpus and rs.qrels and rs.splits
    assert set(rs.ipc.values()) <= set("ABCDEFGH")
    assert rs.validate().ok
    with pytest.raises(TypeError):
        rs.queries["x"] = "y"  # type: ignore[index]


# ------------------------------------------------------------------------------------------
# load() and select_split(): the entry the notebooks and the CLI use (evaluate.load_data's twin)
# (the old test_evaluate.py's test_load_data and test_select_split_without_splits_uses_all_queries
# asserted a subset of test_load / test_select_split, line for line: not copied here)
# ------------------------------------------------------------------------------------------


def test_load(tmp_path):
    assert load() is load(None)
    assert load() is demo()
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "missing.csv")
    rs = small_set()
    assert load(rs) is rs
    pairs = write(tmp_path, "p.csv", "query,title\nа,Т\n")
    assert load(pairs) == load_pairs(pairs) == load(str(pairs))
    assert load(pd.DataFrame({"query": ["а"], "title": ["Т"]})) == load_pairs(pairs)
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("corpus.csv", "queries.csv", "qrels.csv"):
        shutil.copy(FIX / name, folder / name)
    assert load(folder) == load_retrieval_set(
        corpus=FIX / "corpus.csv", queries=FIX / "queries.csv", qrels=FIX / "qrels.csv"
    )


def test_select_split():
    rs = RetrievalSet(queries={"a": "x y"}, corpus={"d": "X"}, qrels={"a": {"d": 1}})
    sub, note = select_split(rs, "test")
    assert sub is rs and "no splits" in note and "1 queries" in note
    sub, note = select_split(small_set(), None)
    assert sub == small_set() and note == "all 3 queries, 5 titles"
    sub, note = select_split(small_set(), "train")
    assert sub.query_ids == ["q1", "q3"] and note == "split 'train': 2 queries, 5 titles"
    with pytest.raises(DataError, match="no split 'dev'"):
        select_split(small_set(), "dev")


def test_public_names_of_toolkit_data():
    import toolkit.data as data

    for name in (
        "DataError",
        "RetrievalSet",
        "ValidationReport",
        "demo",
        "describe",
        "load_corpus",
        "load_pairs",
        "load_qrels",
        "load_queries",
        "load_retrieval_set",
        "load_rospatent_json",
        "validate_files",
        "IPC_SECTIONS",
        "load",
        "load_folder",
        "load_frame",
        "select_split",
        "text_id",
    ):
        assert name in data.__all__ and hasattr(data, name), name
    assert data.IPC_SECTIONS == "ABCDEFGH"


# ------------------------------------------------------------------------------------------
# Texts of control characters only; the column a repeated query id names
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pairs.csv", "pairs.jsonl"])
def test_title_of_control_characters_only(tmp_path, name):
    rows = [{"query": "а", "title": "Т"}, {"query": "б", "title": "\x00\x01"}]
    if name.endswith(".csv"):
        p = write(tmp_path, name, "query,title\nа,Т\nб,\x00\x01\n")
        where = "row 3"
    else:
        p = write(tmp_path, name, "".join(json.dumps(r) + "\n" for r in rows))
        where = "line 2"
    with pytest.raises(DataError) as e:
        load_pairs(p)
    assert str(e.value).endswith(
        f"{name}, {where}, column 'title': control characters only '\\x00\\x01'; "
        "expected text with at least one printable character"
    )
    assert e.value.column == "title"


def test_query_text_of_control_characters_only(tmp_path):
    p = write(tmp_path, "queries.csv", "query_id,text\nq1,а\nq2,\x07\x1b\n")
    with pytest.raises(DataError, match=r"queries\.csv, row 3, column 'text': control characters"):
        load_queries(p)


def test_control_characters_inside_text_are_kept(tmp_path):
    # a tab, a newline in a quoted cell and a stray control byte next to letters are legal
    p = write(tmp_path, "p.csv", 'query,title\n"а\tб","СИСТЕМА\nДОМА\x01"\n')
    assert load_pairs(p).pairs() == [("а\tб", "СИСТЕМА\nДОМА\x01")]


def test_repeated_query_id_names_the_text_column(tmp_path):
    p = write(tmp_path, "queries.csv", "query_id,text\nq1,а\nq2,б\nq1,в\n")
    with pytest.raises(
        DataError,
        match=r"queries\.csv, row 4, column 'text': query id 'q1' already has text 'а' "
        r"\(row 2\); got 'в'",
    ) as e:
        load_queries(p)
    assert e.value.column == "text"


def test_query_listed_twice_in_a_splits_file(tmp_path):
    queries = write(tmp_path, "q.csv", "query_id,text\nq1,а\nq2,б\n")
    qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,RU2725023C1_20200629,1\n")
    splits = write(tmp_path, "splits.json", '{"test": ["q1", "q2", "q1"]}')
    with pytest.raises(
        DataError, match=r"splits\.json, split 'test', item 3: query id 'q1' is listed twice"
    ):
        load_retrieval_set(corpus=FIX / "corpus.csv", queries=queries, qrels=qrels, splits=splits)
