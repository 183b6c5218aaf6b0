"""Tests for toolkit.data.types: RetrievalSet construction, views, derived sets, checks."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from data_helpers import small_set

from toolkit.data import (
    DataError,
    RetrievalSet,
    describe,
    load_frame,
)


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
    with pytest.raises(ValueError, match="min_grade must be an integer >= 0, got -1"):
        rs.pairs(min_grade=-1)
    with pytest.raises(TypeError, match="min_grade must be an integer, got 1.0"):
        rs.pairs(min_grade=1.0)


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


def test_to_frame_load_frame_round_trip():
    rs = small_set()
    frame = rs.to_frame()
    assert list(frame.columns[:6]) == ["query_id", "query", "doc_id", "title", "relevance", "split"]
    assert {"query_topic", "doc_ipc", "doc_topic"} <= set(frame.columns)
    assert len(frame) == 5  # 4 judgments + the unjudged doc d5
    back = load_frame(frame)
    assert back == rs
    # unjudged query survives too
    rs2 = RetrievalSet(queries={"q1": "a", "q2": "b"}, corpus={"d1": "T"}, qrels={"q1": {"d1": 1}})
    assert load_frame(rs2.to_frame()) == rs2
    # conflicting repeated values name the row
    bad = frame.copy()
    bad.loc[1, "query"] = "другой текст"
    with pytest.raises(DataError, match=r"row 3 \(iloc\[1\]\), column 'query'"):
        load_frame(bad)


def test_texts_need_a_printable_character():
    with pytest.raises(DataError, match=r"corpus\['d1'\]: control characters only '\\x00\\x01'"):
        RetrievalSet(corpus={"d1": "\x00\x01"})
    with pytest.raises(DataError, match=r"queries\['q1'\]: control characters only"):
        RetrievalSet(queries={"q1": " \x7f\x85 "})
    # control characters next to printable ones are kept verbatim
    assert RetrievalSet(corpus={"d1": "\x00A\t"}).corpus["d1"] == "\x00A\t"


def test_load_frame_reads_the_frame_of_an_empty_set():
    assert load_frame(RetrievalSet().to_frame()) == RetrievalSet()


def test_with_queries_and_with_qrels():
    rs = small_set()
    more = rs.with_queries({"q9": "новый запрос", "q1": "умный дом 2"})
    assert more.query_ids == ["q1", "q2", "q3", "q9"]
    assert more.queries["q1"] == "умный дом 2" and more.qrels == rs.qrels
    assert rs.with_queries({}) is rs and rs.queries["q1"] == "умный дом"
    with pytest.raises(DataError, match="queries: empty id"):
        rs.with_queries({"": "x"})
    judged = rs.with_qrels({"q2": {"d5": 1}})
    assert dict(judged.qrels) == {"q2": {"d5": 1}} and judged.splits == rs.splits
    with pytest.raises(DataError, match=r"qrels\['q1'\]\['d9'\]: unknown document id"):
        rs.with_qrels({"q1": {"d9": 1}})
