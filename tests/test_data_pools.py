"""Tests for toolkit.data.pools and the demo's judged pool (judgments.csv's zeros in qrels)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from data_helpers import PKG_DATA

from toolkit.data import (
    DataError,
    RetrievalSet,
    demo,
    load_folder,
    load_qrels,
    merge_judgments,
    pool,
    runs_from_scores,
    write_pool_csv,
)
from toolkit.metrics import retrieval_metrics


def small() -> RetrievalSet:
    return RetrievalSet(
        queries={"q1": "умный дом", "q2": "датчик пульса"},
        corpus={"d1": "СИСТЕМА УМНОГО ДОМА ", "d2": "ЛОПАТА", "d3": "ДАТЧИК, ПУЛЬСА", "d4": "Т4"},
        qrels={"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1}},
    )


RUNS = {
    "dense": {"q1": ["d1", "d3", "d4"], "q2": ["d3", "d1"]},
    "bm25": {"q1": ["d2", "d1", "d3"], "q2": ["d4", "d3"]},
}


def test_pool_union_systems_and_grades():
    p = pool(RUNS, k=2, judged=small())
    assert list(p.columns) == ["query_id", "doc_id", "systems", "n_systems", "best_rank", "grade"]
    rows = [tuple(r) for r in p[["query_id", "doc_id", "systems", "best_rank"]].values]
    assert rows == [
        ("q1", "d1", "dense,bm25", 1),
        ("q1", "d2", "bm25", 1),
        ("q1", "d3", "dense", 2),
        ("q2", "d3", "dense,bm25", 1),
        ("q2", "d4", "bm25", 1),
        ("q2", "d1", "dense", 2),
    ]
    grades = p["grade"].tolist()
    assert grades[:2] == [2.0, 0.0] and math.isnan(grades[2]) and grades[3] == 1.0
    assert math.isnan(grades[4]) and math.isnan(grades[5])
    assert p["n_systems"].tolist() == [2, 1, 1, 2, 1, 1]
    # without judgments every grade is NaN; k=3 adds d4 for q1 and d1 for q2
    p3 = pool(RUNS, k=3)
    assert len(p3) == 7 and p3["grade"].isna().all()


def test_pool_accepts_tables_and_score_matrices():
    # ranks and scores; equal scores are broken by doc id descending (d3 before d1)
    by_rank = pd.DataFrame(
        {"query_id": ["q1", "q1", "q1"], "doc_id": ["d1", "d2", "d3"], "rank": [3, 1, 2]}
    )
    by_score = pd.DataFrame(
        {"query_id": ["q1", "q1", "q1"], "doc_id": ["d1", "d2", "d3"], "score": [0.5, 0.9, 0.5]}
    )
    a = pool({"x": by_rank}, k=2)
    b = pool({"x": by_score}, k=2)
    assert a["doc_id"].tolist() == ["d2", "d3"] == b["doc_id"].tolist()
    scores = {"x": np.array([[0.5, 0.9, 0.5, 0.1]])}
    assert runs_from_scores(scores, ["q1"], ["d1", "d2", "d3", "d4"], k=3) == {
        "x": {"q1": ["d2", "d3", "d1"]}
    }
    cmp = SimpleNamespace(scores=scores, query_ids=["q1"], doc_ids=["d1", "d2", "d3", "d4"])
    assert pool(cmp, k=2)["doc_id"].tolist() == ["d2", "d3"]


@pytest.mark.parametrize(
    ("runs", "k", "message"),
    [
        ({"x": {"q1": ["d1", "d2", "d1"]}}, 10, "runs['x']['q1'][2]: doc id 'd1' is ranked twice"),
        ({"x": {"q1": "d1"}}, 10, "runs['x']['q1']: expected a list of doc ids"),
        ({"x": pd.DataFrame({"query_id": ["q"], "doc_id": ["d"]})}, 10, "rank (1 = best) or"),
        ({}, 10, "runs: expected a non-empty mapping"),
    ],
)
def test_pool_bad_inputs(runs, k, message):
    with pytest.raises(DataError) as info:
        pool(runs, k=k)
    assert message in str(info.value)


def test_pool_depth_is_a_positive_integer():
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        pool(RUNS, k=0)
    with pytest.raises(TypeError, match="k must be an integer, got 2.0"):
        pool(RUNS, k=2.0)
    with pytest.raises(TypeError, match="k must be an integer or None, got True"):
        runs_from_scores({"x": np.zeros((1, 2))}, ["q1"], ["d1", "d2"], k=True)


def test_write_sheet_then_merge_back(tmp_path):
    rs = small()
    sheet = write_pool_csv(pool(RUNS, k=2, judged=rs), tmp_path / "sub" / "pool.csv", rs)
    assert sheet == tmp_path / "sub" / "pool.csv"
    assert sheet.read_text(encoding="utf-8") == (
        "query_id,query,doc_id,title,systems,relevance\n"
        "q1,умный дом,d3,\"ДАТЧИК, ПУЛЬСА\",dense,\n"
        "q2,датчик пульса,d4,Т4,bm25,\n"
        "q2,датчик пульса,d1,СИСТЕМА УМНОГО ДОМА ,dense,\n"
    )
    assert [p.name for p in sheet.parent.iterdir()] == ["pool.csv"]  # no temp file left
    judged = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    judged["relevance"] = ["0", "1", "0"]
    judged.loc[3] = ["q1", "", "d1", "", "", "1"]  # a regrade of (q1, d1): 2 -> 1
    judged.loc[4] = ["q2", "", "d3", "", "", "1"]  # the same grade again
    judged.to_csv(tmp_path / "judged.csv", index=False)
    new, counts = merge_judgments(rs, tmp_path / "judged.csv")
    assert counts == {"added": 3, "regraded": 1, "unchanged": 1}
    assert dict(new.qrels["q1"]) == {"d1": 1, "d2": 0, "d3": 0}
    assert dict(new.qrels["q2"]) == {"d1": 0, "d3": 1, "d4": 1}
    assert dict(rs.qrels["q1"]) == {"d1": 2, "d2": 0}  # the input set is unchanged
    # grade 0 counts as judged for judged@k, and as not relevant for everything else
    scores = np.array([[0.9, 0.1, 0.8, 0.2], [0.1, 0.2, 0.9, 0.8]])
    ids = {"query_ids": ["q1", "q2"], "doc_ids": ["d1", "d2", "d3", "d4"], "ks": (2,)}
    before, _ = retrieval_metrics(scores, rs.qrels, judged=True, **ids)
    after, _ = retrieval_metrics(scores, new.qrels, judged=True, **ids)
    assert before["judged@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)  # q1: d1; q2: d3
    assert after["judged@2"] == 1.0
    assert after["precision@2"] == pytest.approx((1 / 2 + 2 / 2) / 2)


def _sheet(tmp_path, body: str):
    path = tmp_path / "judged.csv"
    path.write_text("query_id,doc_id,relevance\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("q1,d3,1\nq9,d1,0\n", "judged.csv, row 3, column 'query_id': unknown query id 'q9'"),
        ("q1,d9,1\n", "judged.csv, row 2, column 'doc_id': unknown document id 'd9'"),
        ("q1,d3,1\nq1,d4,3\n", "judged.csv, row 3, column 'relevance': grade 3 is not 0, 1 or 2"),
        ("q1,d3,1\nq1,d3,2\n", "judged.csv, row 3, column 'relevance': judgment ('q1', 'd3') "
                               "already has grade 1 (row 2); got 2"),
        ("q1,d3,\n", "judged.csv, row 2, column 'relevance': empty grade; judge the pair"),
        ("q1,d3,-1\n", "judged.csv, row 2, column 'relevance': negative relevance -1"),
    ],
)  # fmt: skip
def test_merge_errors_name_file_row_column(tmp_path, body, message):
    with pytest.raises(DataError) as info:
        merge_judgments(small(), _sheet(tmp_path, body))
    assert message in str(info.value)


def test_merge_content_is_read_as_the_file_at_path(tmp_path):
    path = tmp_path / "judged.csv"  # not written: the bytes are checked first
    new, counts = merge_judgments(small(), path, content=b"query_id,doc_id,relevance\nq1,d3,1\n")
    assert counts == {"added": 1, "regraded": 0, "unchanged": 0} and new.qrels["q1"]["d3"] == 1
    assert not path.exists()
    with pytest.raises(DataError, match=r"judged\.csv, row 2, column 'doc_id': unknown document"):
        merge_judgments(small(), path, content=b"query_id,doc_id,relevance\nq1,d9,1\n")
    # the extension gives the format: TREC lines in a .trec file, as load_qrels reads them
    trec, _ = merge_judgments(small(), tmp_path / "j.trec", content=b"q1 0 d3 2\n")
    assert trec.qrels["q1"]["d3"] == 2
    with pytest.raises(TypeError, match="content must be bytes"):
        merge_judgments(small(), path, content="query_id,doc_id,relevance\n")


def test_write_sheet_unknown_id(tmp_path):
    p = pool({"x": {"q1": ["d1", "zz"]}}, k=2)
    with pytest.raises(DataError, match="pooled, row 1 \\(iloc\\), column 'doc_id': unknown"):
        write_pool_csv(p, tmp_path / "p.csv", small())
    assert not (tmp_path / "p.csv").exists()


# ---- the demo's judged pool ---------------------------------------------------------------


def test_demo_exposes_the_judged_zeros_and_keeps_relevant_pairs():
    rs = demo()
    qrels_csv = load_qrels(PKG_DATA / "qrels.csv")
    judgments = load_qrels(PKG_DATA / "judgments.csv")
    relevant = {(q, d): g for q, j in rs.qrels.items() for d, g in j.items() if g >= 1}
    assert relevant == {(q, d): g for q, j in qrels_csv.items() for d, g in j.items()}
    zeros = {(q, d) for q, j in rs.qrels.items() for d, g in j.items() if g == 0}
    assert zeros == {(q, d) for q, j in judgments.items() for d, g in j.items() if g == 0}
    assert len(zeros) == 2488  # the data card's count
    assert len(rs.split("train").pairs()) == 50  # the card's run, unchanged
    # the relevant judgments.csv rows left out are exactly the train pool's 55 (data card)
    left_out = {
        (q, d) for q, j in judgments.items() for d, g in j.items() if g >= 1
    } - relevant.keys()
    assert len(left_out) == 55 and {q for q, _ in left_out} <= set(rs.splits["train"])


def test_folder_judgments_must_agree_with_qrels(tmp_path):
    (tmp_path / "corpus.csv").write_text("doc_id,title\nd1,Т1\nd2,Т2\n", encoding="utf-8")
    (tmp_path / "queries.csv").write_text("query_id,text\nq1,а\n", encoding="utf-8")
    (tmp_path / "qrels.csv").write_text("query_id,doc_id,relevance\nq1,d1,2\n", encoding="utf-8")
    (tmp_path / "judgments.csv").write_text(
        "query_id,doc_id,relevance\nq1,d2,0\nq1,d1,1\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as info:
        load_folder(tmp_path, label="f")
    assert "f/judgments.csv, row 3, column 'relevance': judgment ('q1', 'd1') has grade 1" in str(
        info.value
    )
    (tmp_path / "judgments.csv").write_text(
        "query_id,doc_id,relevance\nq1,d2,0\nq1,d9,0\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match="judgments.csv, row 3, column 'doc_id': unknown document"):
        load_folder(tmp_path, label="f")
    (tmp_path / "judgments.csv").write_text(
        "query_id,doc_id,relevance\nq1,d2,0\nq1,d1,2\n", encoding="utf-8"
    )
    assert dict(load_folder(tmp_path).qrels["q1"]) == {"d1": 2, "d2": 0}
