"""Tests for toolkit.data._tables: strict reading of each format; errors name file, row, column."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from data_helpers import FIX, small_set, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.data import (
    DataError,
    load_pairs,
    load_qrels,
)


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


def test_dataframe_and_dataset_inputs():
    datasets = pytest.importorskip("datasets")
    data = {"query": ["умный дом", "робот"], "title": ["ДОМ", "РОБОТ"]}
    from_df = load_pairs(pd.DataFrame(data))
    from_ds = load_pairs(datasets.Dataset.from_dict(data))
    assert from_ds == from_df
    assert from_ds.pairs() == [("умный дом", "ДОМ"), ("робот", "РОБОТ")]


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


def test_invalid_jsonl_line(tmp_path):
    p = write(tmp_path, "p.jsonl", '{"query": "а", "title": "Т"}\n{"query": "б", "title": \n')
    with pytest.raises(DataError, match=r"p\.jsonl, line 2: invalid JSON"):
        load_pairs(p)


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
