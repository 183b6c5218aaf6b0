"""Tests for toolkit.data: RetrievalSet, loaders, the catalogue of bad inputs, demo access."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toolkit
from toolkit.data import (
    DataError,
    RetrievalSet,
    _load_package_set,
    demo,
    describe,
    load_corpus,
    load_pairs,
    load_qrels,
    load_queries,
    load_retrieval_set,
    load_rospatent_json,
    validate_files,
)

FIX = Path(__file__).parent / "fixtures" / "data"
PKG_DATA = Path(toolkit.__file__).parent / "datasets"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def small_set() -> RetrievalSet:
    return RetrievalSet(
        queries={"q1": "умный дом", "q2": "датчик пульса", "q3": "робот доставки"},
        corpus={
            "d1": "СИСТЕМА УМНОГО ДОМА ",
            "d2": "ЛОПАТА",
            "d3": "НОСИМЫЙ ДАТЧИК",
            "d4": "РОБОТ",
            "d5": "НЕОЦЕНЁННЫЙ",
        },
        qrels={"q1": {"d2": 0, "d1": 2}, "q2": {"d3": 1}, "q3": {"d4": 2}},
        splits={"train": ["q3", "q1"], "test": ["q2"]},
        doc_fields={"ipc": {"d1": "H", "d3": "A", "d4": "B"}, "topic": {"d1": "energy"}},
        query_fields={"topic": {"q1": "energy", "q2": "health", "q3": "robots"}},
    )


# ------------------------------------------------------------------------------------------
# RetrievalSet core
# ------------------------------------------------------------------------------------------


def test_construction_canonical_order_and_views():
    rs = small_set()
    assert rs.doc_ids == ["d1", "d2", "d3", "d4", "d5"]
    assert rs.query_ids == ["q1", "q2", "q3"]
    # inner qrels follow corpus order; splits follow query order
    assert list(rs.qrels["q1"]) == ["d1", "d2"]
    assert rs.splits["train"] == ("q1", "q3")
    assert dict(rs.ipc) == {"d1": "H", "d3": "A", "d4": "B"}


def test_immutability():
    source_queries = {"q1": "умный дом"}
    rs = RetrievalSet(queries=source_queries, corpus={"d1": "T"}, qrels={"q1": {"d1": 1}})
    with pytest.raises(TypeError):
        rs.queries["q1"] = "другое"  # type: ignore[index]
    with pytest.raises(TypeError):
        rs.qrels["q1"]["d1"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        rs.corpus["d2"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rs.queries = {}  # type: ignore[misc]
    source_queries["q1"] = "changed after construction"
    assert rs.queries["q1"] == "умный дом"
    # helpers return new sets and leave the original alone
    sub = small_set().split("test")
    assert sub.query_ids == ["q2"]
    assert small_set().query_ids == ["q1", "q2", "q3"]


def test_pickle_and_equality():
    rs = small_set()
    assert pickle.loads(pickle.dumps(rs)) == rs
    assert rs.fingerprint() == small_set().fingerprint()
    other = RetrievalSet(queries=dict(rs.queries), corpus=dict(rs.corpus), qrels={})
    assert other != rs


def test_pairs_order_and_min_grade():
    rs = small_set()
    assert rs.pairs() == [
        ("умный дом", "СИСТЕМА УМНОГО ДОМА "),
        ("датчик пульса", "НОСИМЫЙ ДАТЧИК"),
        ("робот доставки", "РОБОТ"),
    ]
    assert rs.pairs(min_grade=2) == [
        ("умный дом", "СИСТЕМА УМНОГО ДОМА "),
        ("робот доставки", "РОБОТ"),
    ]
    assert ("умный дом", "ЛОПАТА") in rs.pairs(min_grade=0)
    assert rs.pairs("train") == [("умный дом", "СИСТЕМА УМНОГО ДОМА "), ("робот доставки", "РОБОТ")]
    # the same content given in another insertion order gives the same pairs order
    shuffled = RetrievalSet(
        queries=dict(rs.queries),
        corpus=dict(rs.corpus),
        qrels={"q3": {"d4": 2}, "q2": {"d3": 1}, "q1": {"d1": 2, "d2": 0}},
    )
    assert shuffled.pairs() == rs.pairs()
    with pytest.raises(DataError, match="min_grade"):
        rs.pairs(min_grade=-1)


def test_split_helper():
    sub = small_set().split("train")
    assert sub.query_ids == ["q1", "q3"]
    assert set(sub.qrels) == {"q1", "q3"}
    assert sub.doc_ids == small_set().doc_ids  # full corpus
    assert dict(sub.splits) == {"train": ("q1", "q3")}
    assert dict(sub.query_fields["topic"]) == {"q1": "energy", "q3": "robots"}
    with pytest.raises(DataError, match="no split 'dev'"):
        small_set().split("dev")


def test_random_splits_deterministic_and_disjoint():
    queries = {f"q{i}": f"запрос {i}" for i in range(50)}
    topics = {f"q{i}": f"t{i % 7}" for i in range(50)}
    rs = RetrievalSet(queries=queries, corpus={"d": "T"}, query_fields={"topic": topics})
    a = rs.with_random_splits({"train": 0.7, "test": 0.3}, seed=1)
    b = rs.with_random_splits({"train": 0.7, "test": 0.3}, seed=1)
    assert a.splits == b.splits
    train, test = set(a.splits["train"]), set(a.splits["test"])
    assert not train & test and train | test == set(queries)
    assert (len(train), len(test)) == (35, 15)
    c = rs.with_random_splits({"train": 0.7, "test": 0.3}, seed=2)
    assert c.splits != a.splits
    # grouping keeps every topic inside one split
    g = rs.with_random_splits({"train": 0.5, "test": 0.5}, seed=0, group_by="topic")
    for name, ids in g.splits.items():
        for other, other_ids in g.splits.items():
            if other != name:
                assert not {topics[q] for q in ids} & {topics[q] for q in other_ids}
    with pytest.raises(DataError, match="sum to 1"):
        rs.with_random_splits({"train": 0.5, "test": 0.4})


def test_construction_errors_name_the_part():
    with pytest.raises(DataError, match=r"qrels\['q1'\]\['d9'\]: unknown document id"):
        RetrievalSet(queries={"q1": "a"}, corpus={"d1": "b"}, qrels={"q1": {"d9": 1}})
    with pytest.raises(DataError, match=r"qrels\['q1'\]\['d1'\]: expected an integer grade"):
        RetrievalSet(queries={"q1": "a"}, corpus={"d1": "b"}, qrels={"q1": {"d1": True}})
    with pytest.raises(DataError, match=r"corpus\['d1'\]: whitespace-only text"):
        RetrievalSet(corpus={"d1": "  "})
    with pytest.raises(DataError, match="query id 'q1' is in two splits"):
        RetrievalSet(queries={"q1": "a"}, splits={"a": ["q1"], "b": ["q1"]})
    with pytest.raises(DataError, match=r"splits\['a'\]: unknown query id 'q2'"):
        RetrievalSet(queries={"q1": "a"}, splits={"a": ["q2"]})
    with pytest.raises(DataError, match="IPC section letter"):
        RetrievalSet(corpus={"d1": "b"}, doc_fields={"ipc": {"d1": "G06F 16/33"}})


def test_describe_and_validate():
    d = small_set().describe()
    assert d["queries"] == 3 and d["documents"] == 5 and d["judgments"] == 4
    assert d["relevant"] == 3 and d["judged_nonrelevant"] == 1
    assert d["grades"] == {0: 1, 1: 1, 2: 2}
    assert d["relevant_per_query"] == {"min": 1, "mean": 1.0, "max": 1}
    assert d["splits"] == {"train": 2, "test": 1}
    assert d["ipc"] == {"A": 1, "B": 1, "H": 1}
    text = describe(small_set())
    assert "queries: 3, documents: 5" in text and "IPC sections: A 1, B 1, H 1 (no IPC: 2)" in text
    report = RetrievalSet(
        queries={"q1": "a", "q2": "a"},
        corpus={"d1": "Робот", "d2": "РОБОТ "},
        qrels={"q1": {"d1": 1}, "q2": {"d2": 0}},
    ).validate()
    assert report.ok
    joined = "\n".join(report.warnings)
    assert "'d1', 'd2' share a title" in joined
    assert "'q1', 'q2' have the same text" in joined
    assert "1 queries have no relevant document" in joined


# ------------------------------------------------------------------------------------------
# Loaders on good input
# ------------------------------------------------------------------------------------------


def test_load_pairs_fixture():
    rs = load_pairs(FIX / "pairs.csv")
    assert len(rs.queries) == 3 and len(rs.corpus) == 5
    # trailing spaces and the literal text "NA" are kept exactly
    assert "СИСТЕМА УПРАВЛЕНИЯ ЭНЕРГОПОТРЕБЛЕНИЕМ УМНОГО ДОМА " in rs.corpus.values()
    assert "NA" in rs.corpus.values()
    assert rs.describe()["judged_nonrelevant"] == 2
    # ids are q-/d- + first 10 hex of sha1 (value computed independently with hashlib)
    expected = "d-" + hashlib.sha1(b"NA").hexdigest()[:10]
    assert rs.corpus[expected] == "NA"


def test_load_pairs_null_like_titles_stay_text(tmp_path):
    p = write(tmp_path, "p.csv", "query,title\nа,null\nб,NaN\nв,None\n")
    assert sorted(load_pairs(p).corpus.values()) == ["NaN", "None", "null"]


def test_round_trip_csv_parquet_jsonl(tmp_path):
    base = load_pairs(FIX / "pairs.csv")
    frame = pd.read_csv(FIX / "pairs.csv", dtype=str, keep_default_na=False)
    frame["label"] = frame["label"].astype(int)
    frame.to_parquet(tmp_path / "p.parquet")
    frame.to_json(tmp_path / "p.jsonl", orient="records", lines=True, force_ascii=False)
    frame.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    from_parquet = load_pairs(tmp_path / "p.parquet")
    from_jsonl = load_pairs(tmp_path / "p.jsonl")
    for other in (from_parquet, from_jsonl, load_pairs(tmp_path / "p.tsv")):
        assert other == base
        assert other.doc_ids == base.doc_ids and other.pairs() == base.pairs()


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


def test_dataframe_and_dataset_inputs():
    datasets = pytest.importorskip("datasets")
    data = {"query": ["умный дом", "робот"], "title": ["ДОМ", "РОБОТ"]}
    from_df = load_pairs(pd.DataFrame(data))
    from_ds = load_pairs(datasets.Dataset.from_dict(data))
    assert from_ds == from_df
    assert from_ds.pairs() == [("умный дом", "ДОМ"), ("робот", "РОБОТ")]


def test_to_frame_from_frame_round_trip():
    rs = small_set()
    frame = rs.to_frame()
    assert list(frame.columns[:6]) == ["query_id", "query", "doc_id", "title", "relevance", "split"]
    assert {"query_topic", "doc_ipc", "doc_topic"} <= set(frame.columns)
    assert len(frame) == 5  # 4 judgments + the unjudged doc d5
    back = RetrievalSet.from_frame(frame)
    assert back == rs
    # unjudged query survives too
    rs2 = RetrievalSet(queries={"q1": "a", "q2": "b"}, corpus={"d1": "T"}, qrels={"q1": {"d1": 1}})
    assert RetrievalSet.from_frame(rs2.to_frame()) == rs2
    # conflicting repeated values name the row
    bad = frame.copy()
    bad.loc[1, "query"] = "другой текст"
    with pytest.raises(DataError, match=r"row 3 \(iloc\[1\]\), column 'query'"):
        RetrievalSet.from_frame(bad)


def test_rospatent_fixture():
    rs = load_rospatent_json(FIX / "rospatent_hits.json")
    assert rs.doc_ids == ["RU2725023C1_20200629", "RU2757048C1_20211011", "RU115630U1_20120510"]
    assert rs.corpus["RU2757048C1_20211011"] == "НОСИМЫЙ ДАТЧИК ПУЛЬСА "  # verbatim
    assert dict(rs.ipc) == {"RU2725023C1_20200629": "H", "RU2757048C1_20211011": "A"}
    assert rs.doc_fields["ipc_codes"]["RU2725023C1_20200629"] == (
        "H02J 3/14 (2006.01); G06Q 50/06 (2012.01)"
    )
    assert rs.doc_fields["ipc_codes"]["RU2757048C1_20211011"] == "A61B5/024"
    assert dict(rs.doc_fields["description"]) == {
        "RU2725023C1_20200629": "Изобретение относится к <em>управлению</em> энергопотреблением."
    }
    assert not rs.queries
    # load_corpus recognises the format; a bare list of hits works too
    assert load_corpus(FIX / "rospatent_hits.json") == rs
    hits = json.loads((FIX / "rospatent_hits.json").read_text(encoding="utf-8"))["hits"]
    assert load_rospatent_json(hits) == rs


def test_rospatent_errors(tmp_path):
    hits = [
        {"id": "RU1", "biblio": {"en": {"title": "ROBOT"}}},
        {"id": "RU2", "biblio": {"ru": {"title": "Т"}}},
    ]
    p = write(tmp_path, "h.json", json.dumps(hits))
    with pytest.raises(
        DataError, match=r"h\.json, hit 1 \(id 'RU1'\), field 'biblio.ru.title': missing"
    ):
        load_rospatent_json(p)
    with pytest.warns(UserWarning, match="skipped 1 hit"):
        rs = load_rospatent_json(p, missing_title="skip")
    assert rs.doc_ids == ["RU2"]
    bad_ipc = [
        {
            "id": "RU3",
            "biblio": {"ru": {"title": "Т"}},
            "snippet": {"classification": {"ipc": "Z01"}},
        }
    ]
    with pytest.raises(DataError, match=r"hit 1 .*field 'snippet.classification.ipc'.*A-H"):
        load_rospatent_json(write(tmp_path, "z.json", json.dumps(bad_ipc)))
    with pytest.raises(DataError, match=r"expected a list of hits .* keys \['results'\]"):
        load_rospatent_json(write(tmp_path, "r.json", '{"results": []}'))


# ------------------------------------------------------------------------------------------
# Catalogue of bad inputs: every message names file, row and column
# ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_pairs(tmp_path / "nope.csv")


def test_unknown_extension(tmp_path):
    p = write(tmp_path, "pairs.xlsx", "query,title\na,b\n")
    with pytest.raises(
        DataError, match=r"pairs\.xlsx: unknown file extension '\.xlsx'; expected one of \.csv"
    ):
        load_pairs(p)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    p = write(tmp_path, "pairs.csv", content)
    with pytest.raises(DataError, match=r"pairs\.csv: file is empty; expected columns query,title"):
        load_pairs(p)


def test_header_only(tmp_path):
    p = write(tmp_path, "pairs.csv", "query,title\n")
    with pytest.raises(
        DataError, match=r"pairs\.csv: header only \(query, title\) -- no data rows"
    ):
        load_pairs(p)


def test_required_column_missing_lists_found(tmp_path):
    p = write(tmp_path, "pairs.csv", "query,name\nа,б\n")
    with pytest.raises(
        DataError, match=r"missing required column\(s\) 'title'; columns found: query, name"
    ) as e:
        load_pairs(p)
    assert e.value.column == "title" and e.value.source.endswith("pairs.csv")


@pytest.mark.parametrize(
    ("body", "row", "what"),
    [
        ("а,Т\nб,\n", 3, "empty cell"),
        ("а,Т\nб,Т2\nв,   \n", 4, "whitespace-only text"),
    ],
)
def test_empty_or_whitespace_text(tmp_path, body, row, what):
    p = write(tmp_path, "pairs.csv", "query,title\n" + body)
    with pytest.raises(DataError, match=rf"pairs\.csv, row {row}, column 'title': {what}") as e:
        load_pairs(p)
    assert e.value.row == row


def test_blank_row_inside_csv_but_trailing_blank_lines_ok(tmp_path):
    assert len(load_pairs(write(tmp_path, "ok.csv", "query,title\nа,Т\n\n\n")).queries) == 1
    with pytest.raises(DataError, match=r"bad\.csv, row 3: blank row"):
        load_pairs(write(tmp_path, "bad.csv", "query,title\nа,Т\n\nб,Т2\n"))


def test_nan_in_text_column(tmp_path):
    df = pd.DataFrame({"query": ["а", "б"], "title": ["Т", np.nan]})
    with pytest.raises(
        DataError,
        match=r"<DataFrame>, row 3 \(iloc\[1\]\), column 'title': missing value \(NaN/null\)",
    ):
        load_pairs(df)
    df.to_parquet(tmp_path / "p.parquet")
    with pytest.raises(
        DataError, match=r"p\.parquet, row 3 \(iloc\[1\]\), column 'title': missing value"
    ):
        load_pairs(tmp_path / "p.parquet")
    p = write(
        tmp_path, "p.jsonl", '{"query": "а", "title": "Т"}\n\n{"query": "б", "title": null}\n'
    )
    with pytest.raises(DataError, match=r"p\.jsonl, line 3, column 'title': missing value"):
        load_pairs(p)


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


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("1.5", r"expected an integer grade >= 0 .*got '1\.5'"),
        ("-1", "negative relevance -1"),
        ("", "missing relevance"),
        ("one", r"expected an integer grade >= 0 .*got 'one'"),
        (" 1", r"expected an integer grade >= 0 .*got ' 1'"),
    ],
)
def test_bad_relevance(tmp_path, value, what):
    p = write(tmp_path, "qrels.csv", f"query_id,doc_id,relevance\nq1,d1,1\nq1,d2,{value}\n")
    with pytest.raises(DataError, match=rf"qrels\.csv, row 3, column 'relevance': {what}"):
        load_qrels(p)
    pairs = write(tmp_path, "pairs.csv", f"query,title,label\nа,Т,{value}\n")
    with pytest.raises(DataError, match=rf"pairs\.csv, row 2, column 'label': {what}"):
        load_pairs(pairs)


def test_bad_relevance_typed_sources(tmp_path):
    # JSON keeps 1 an int even when another record has null (no float coercion)
    p = write(
        tmp_path,
        "q.jsonl",
        '{"query_id":"q1","doc_id":"d1","relevance":1}\n{"query_id":"q1","doc_id":"d2","relevance":null}\n',
    )
    with pytest.raises(DataError, match=r"q\.jsonl, line 2, column 'relevance': missing relevance"):
        load_qrels(p)
    df = pd.DataFrame({"query_id": ["q1"], "doc_id": ["d1"], "relevance": [1.0]})
    with pytest.raises(DataError, match=r"got 1\.0 \(a float; store grades as integers\)"):
        load_qrels(df)
    trec = write(tmp_path, "q.trec", "q1 0 d1 1\nq1 0 d2\n")
    with pytest.raises(DataError, match=r"q\.trec, line 2: expected 4 whitespace-separated fields"):
        load_qrels(trec)


def test_not_utf8_names_offset_and_row(tmp_path):
    raw = "query,title\nа,Т\n".encode() + "б,ДОМ\n".encode("cp1251")
    p = write(tmp_path, "pairs.csv", raw)
    offset = len("query,title\nа,Т\n".encode())  # the cp1251 "б" is the first bad byte
    with pytest.raises(
        DataError, match=rf"pairs\.csv, row 3: not UTF-8 text -- byte 0xe1 at byte offset {offset}"
    ):
        load_pairs(p)


def test_bom_accepted_silently(tmp_path):
    p = write(tmp_path, "pairs.csv", b"\xef\xbb\xbf" + "query,title\nа,Т\n".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs = load_pairs(p)
    assert rs.pairs() == [("а", "Т")]


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


def test_invalid_jsonl_line(tmp_path):
    p = write(tmp_path, "p.jsonl", '{"query": "а", "title": "Т"}\n{"query": "б", "title": \n')
    with pytest.raises(DataError, match=r"p\.jsonl, line 2: invalid JSON"):
        load_pairs(p)


# ------------------------------------------------------------------------------------------
# Demo data and CLI helpers
# ------------------------------------------------------------------------------------------


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
    rs = _load_package_set(tmp_path, label="tmp")
    assert rs.corpus["d1"] == "СИСТЕМА УМНОГО ДОМА "
    assert dict(rs.splits) == {"train": ("q1",), "test": ("q2",)}
    assert set(rs.doc_fields) == {"ipc", "topic", "source"}
    assert set(rs.query_fields) == {"topic", "source"}
    assert rs.split("test").pairs() == [("датчик пульса", "НОСИМЫЙ ДАТЧИК")]
    (tmp_path / "qrels.csv").unlink()
    with pytest.raises(DataError, match="tmp: dataset file\\(s\\) missing: qrels.csv"):
        _load_package_set(tmp_path, label="tmp")


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


def test_validate_files(tmp_path):
    report, ok = validate_files(
        [FIX / "corpus.csv", FIX / "queries.csv", FIX / "qrels.trec", FIX / "pairs.csv"]
    )
    assert ok, report
    assert "corpus.csv [corpus]: OK" in report and "qrels.trec [qrels]: OK" in report
    assert "pairs.csv [pairs]: OK" in report and "combined: OK" in report
    bad_qrels = write(tmp_path, "qrels.csv", "query_id,doc_id,relevance\nq1,RU0,1\n")
    odd = write(tmp_path, "odd.csv", "a,b\n1,2\n")
    report, ok = validate_files([FIX / "corpus.csv", FIX / "queries.csv", bad_qrels, odd])
    assert not ok
    assert "combined: ERROR" in report and "unknown document id 'RU0'" in report
    assert "cannot tell the kind of file from its columns (a, b)" in report
    assert "rospatent_hits.json [rospatent]: OK" in validate_files([FIX / "rospatent_hits.json"])[0]
    report, ok = validate_files([FIX / "splits.json"])
    assert ok and "splits.json [splits]: OK" in report and "train 2, test 1" in report


# ------------------------------------------------------------------------------------------
# Property: arbitrary non-empty texts survive a CSV / Parquet round trip as pairs
# ------------------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"
    )
    | st.sampled_from([",", '"', "\n", " ", "\t"]),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() != "")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_text, _text), min_size=1, max_size=6))
def test_pairs_round_trip_property(tmp_path, pairs):
    frame = pd.DataFrame(pairs, columns=["query", "title"])
    expected = load_pairs(frame)
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.to_parquet(tmp_path / "p.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # twin-title warnings are expected for some draws
        for path in (tmp_path / "p.csv", tmp_path / "p.parquet"):
            assert load_pairs(path) == expected
    # every input pair is a positive pair of the set, and nothing else is
    assert set(expected.pairs()) == set(pairs)


def test_copy_of_fixture_folder_is_untouched(tmp_path):
    # loaders never write: load everything from a copy and compare bytes afterwards
    copy = tmp_path / "fx"
    shutil.copytree(FIX, copy)
    load_retrieval_set(
        corpus=copy / "corpus.csv", queries=copy / "queries.csv", qrels=copy / "qrels.csv"
    )
    for f in FIX.iterdir():
        assert (copy / f.name).read_bytes() == f.read_bytes()


def test_ragged_csv_row_names_file_and_line(tmp_path):
    p = write(tmp_path, "pairs.csv", "query,title\nа,Т\nб,Д,лишнее\n")
    with pytest.raises(DataError, match=r"pairs\.csv: cannot parse as CSV: .*line 3"):
        load_pairs(p)


def test_unsupported_input_type_and_hash():
    with pytest.raises(DataError, match="expected a file path, a pandas.DataFrame"):
        load_pairs([("а", "Т")])
    with pytest.raises(TypeError):
        hash(small_set())
    replaced = dataclasses.replace(small_set(), splits={})
    assert not replaced.splits and replaced.corpus == small_set().corpus
