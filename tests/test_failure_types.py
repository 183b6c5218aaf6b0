"""toolkit.diagnostics.failure_types and lexical.stems: why a wrong top-1 title is wrong.

Each query of the hand-made set is built to land in one type (or to be left out); the
stems are checked against BM25 itself, whose stemming they must reproduce.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.data import RetrievalSet
from toolkit.diagnostics import FAILURE_TYPES, failure_types
from toolkit.evaluation import top1
from toolkit.lexical import bm25_scores, stems

CORPUS = {
    "d1": "СПОСОБ СВАРКИ АЛЮМИНИЕВЫХ ЛИСТОВ",
    "d2": "АППАРАТ ДЛЯ ДУГОВОЙ СВАРКИ",
    "d3": "ОЧИСТКА СТОЧНЫХ ВОД",
    "d4": "ОЧИСТКА ВОЗДУХА ОТ ПЫЛИ",
    "d5": "КОМПОЗИЦИЯ ДЛЯ ОКРАСКИ ФАСАДОВ",
    "d6": "ТЕПЛИЦА С АВТОМАТИЧЕСКИМ ПОЛИВОМ",  # no topic
}
TOPIC = {"d1": "welding", "d2": "welding", "d3": "water", "d4": "air", "d5": "paint"}
QUERIES = {
    "q1": "сварка алюминия",  # top d2, same topic as d1: near miss (shares a stem too)
    "q2": "очистка воды",  # top d4, air vs water, shares "очистк": lexical lure
    "q3": "фильтр для пыли",  # top d5, paint vs air, nothing shared: other
    "q4": "автоматический полив",  # top d6 has no topic: unknown topic
    "q5": "дуговая сварка",  # top d2 is relevant: left out
    "q6": "покраска",  # no relevant title: left out
    "q7": "очистка стоков",  # d3 and d4 tie; the larger id d4 is top: lexical lure
    "q8": "теплица",  # relevant d6 has no topic, top d5: unknown topic
    "q9": "сварочный аппарат",  # relevant d6 (no topic) and d1 (welding), top d2: near miss
}
QRELS = {
    "q1": {"d1": 2, "d2": 0},
    "q2": {"d3": 2},
    "q3": {"d4": 1},
    "q4": {"d3": 1},
    "q5": {"d2": 2},
    "q6": {"d5": 0},
    "q7": {"d3": 2},
    "q8": {"d6": 2},
    "q9": {"d6": 1, "d1": 1},
}
TOP = {"q1": "d2", "q2": "d4", "q3": "d5", "q4": "d6", "q5": "d2", "q6": "d1", "q7": "d4",
       "q8": "d5", "q9": "d2"}  # fmt: skip
QIDS, DIDS = list(QUERIES), list(CORPUS)


def _scores() -> np.ndarray:
    s = np.full((len(QIDS), len(DIDS)), 0.1)
    for i, q in enumerate(QIDS):
        s[i, DIDS.index(TOP[q])] = 0.9
    s[QIDS.index("q7"), DIDS.index("d3")] = 0.9  # a tie with d4
    return s


@pytest.fixture(scope="module")
def rs() -> RetrievalSet:
    return RetrievalSet(queries=QUERIES, corpus=CORPUS, qrels=QRELS, doc_fields={"topic": TOPIC})


def test_each_query_gets_the_type_it_was_built_for(rs):
    out = failure_types(rs, _scores(), QIDS, DIDS)
    assert list(out.columns) == [
        "query_id", "query", "doc_id", "title", "grade", "topic", "relevant_topics", "type",
        "shared_stems",
    ]  # fmt: skip
    got = dict(zip(out["query_id"], out["type"], strict=True))
    assert got == {
        "q1": "near miss",
        "q2": "lexical lure",
        "q3": "other",
        "q4": "unknown topic",
        "q7": "lexical lure",
        "q8": "unknown topic",
        "q9": "near miss",
    }
    assert out["query_id"].tolist() == ["q1", "q2", "q3", "q4", "q7", "q8", "q9"]  # query order
    by = out.set_index("query_id")
    assert by.loc["q1", "shared_stems"] == ("сварк",)  # near miss wins over a shared stem
    assert by.loc["q2", "shared_stems"] == ("очистк",)
    assert by.loc["q3", "shared_stems"] == ()
    assert by.loc["q2", "topic"] == "air" and by.loc["q2", "relevant_topics"] == ("water",)
    assert pd.isna(by.loc["q4", "topic"])
    assert by.loc["q9", "relevant_topics"] == ("welding", None)  # relevant titles, corpus order
    assert by.loc["q1", "title"] == CORPUS["d2"] and by.loc["q1", "query"] == QUERIES["q1"]
    # grade: 0 judged non-relevant, <NA> unjudged
    assert str(out["grade"].dtype) == "Int64"
    assert by.loc["q1", "grade"] == 0 and pd.isna(by.loc["q2", "grade"])
    counts = out["type"].value_counts().reindex(FAILURE_TYPES, fill_value=0)
    assert counts.to_dict() == {"near miss": 2, "lexical lure": 2, "other": 1, "unknown topic": 2}


def test_top1_follows_the_tie_rule_of_evaluation_top1(rs):
    s = _scores()
    out = failure_types(rs, s, QIDS, DIDS)
    first = top1(s, QIDS, DIDS)
    assert first["q7"] == "d4"  # the tie goes to the larger id
    assert all(first[q] == d for q, d in zip(out["query_id"], out["doc_id"], strict=True))
    # every tie-heavy random matrix: the listed queries are exactly the wrong top-1 ones
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = rng.integers(0, 3, size=s.shape).astype(float)
        first = top1(s, QIDS, DIDS)
        wrong = {q: d for q, d in first.items()
                 if any(g >= 1 for g in QRELS[q].values()) and QRELS[q].get(d, 0) < 1}  # fmt: skip
        out = failure_types(rs, s, QIDS, DIDS)
        assert dict(zip(out["query_id"], out["doc_id"], strict=True)) == wrong


def test_another_field_and_no_failure(rs):
    ipc = RetrievalSet(queries=QUERIES, corpus=CORPUS, qrels=QRELS,
                       doc_fields={"ipc": {d: "B" for d in CORPUS}})  # fmt: skip
    out = failure_types(ipc, _scores(), QIDS, DIDS, field="ipc")
    assert set(out["type"]) == {"near miss"}  # one section for all: every miss is near
    best = {q: max(QRELS[q], key=QRELS[q].get) for q in QIDS}
    perfect = np.array([[1.0 if d == best[q] else 0.0 for d in DIDS] for q in QIDS])
    none = failure_types(rs, perfect[[4]], ["q5"], DIDS)
    assert none.empty and "type" in none.columns


def test_bad_inputs(rs):
    bare = RetrievalSet(queries=QUERIES, corpus=CORPUS, qrels=QRELS)
    with pytest.raises(ValueError, match="no doc field 'topic'"):
        failure_types(bare, _scores(), QIDS, DIDS)
    with pytest.raises(ValueError, match="field: rs has no doc field 'ipc'"):
        failure_types(rs, _scores(), QIDS, DIDS, field="ipc")
    with pytest.raises(ValueError, match="scores has shape"):
        failure_types(rs, _scores()[:3], QIDS, DIDS)
    with pytest.raises(ValueError, match=r"query_ids: expected ids of the set.*'qx'"):
        failure_types(rs, _scores(), [*QIDS[:-1], "qx"], DIDS)
    with pytest.raises(ValueError, match="doc_ids"):
        failure_types(rs, _scores(), QIDS, [*DIDS[:-1], "d1"])  # a repeated id


def test_query_stems_are_bm25s_stems():
    assert stems(["Очистка сточных вод очистка", "и в на", "Ёлка"]) == [
        ["очистк", "сточн", "вод"], [], ["елк"]
    ]  # fmt: skip
    assert stems([]) == []
    with pytest.raises(TypeError, match=r"texts\[1\] must be a string"):
        stems(["a", 3])


def test_a_shared_stem_is_exactly_a_positive_bm25_score():
    from toolkit import data

    rs = data.load(None)
    queries, titles = list(rs.queries.values()), list(rs.corpus.values())
    bm25 = bm25_scores(queries, titles)
    q_stems, t_stems = stems(queries), [set(t) for t in stems(titles)]
    shared = np.array([[bool(set(q) & t) for t in t_stems] for q in q_stems])
    assert shared.any() and not shared.all()
    np.testing.assert_array_equal(shared, bm25 > 0)
