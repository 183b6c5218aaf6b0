"""toolkit.retrieval.search and ``python -m toolkit search``: orders worked out by hand.

BM25 corpus: every title has three words (equal lengths, so BM25's length normalisation is
the same for all) and none is a stop word. BM25 adds a positive contribution per query word
a title contains, so a title whose matched words are a superset of another's scores higher:
"РОБОТ ДОСТАВКА ТОВАР" (3 of 3) > "РОБОТ ДОСТАВКА ЛОПАТА" (2) > "РОБОТ КИРПИЧ ЛОПАТА" (1) >
the two titles with no query word (score 0, a tie). Ties go by the metrics' rule: doc id as
text, descending.

Dense: with any model a query identical to a title has cosine 1 with it, the maximum, so
that title is first; two identical titles tie and follow the same id rule.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from data_helpers import SEARCH_BM25_ORDER as BM25_ORDER
from data_helpers import SEARCH_QUERY as QUERY
from data_helpers import SEARCH_TITLES as TITLES

from toolkit.data import RetrievalSet
from toolkit.retrieval import COLUMNS, search


def test_bm25_order_by_hand_with_tie_rule():
    t = search(QUERY, TITLES, systems=["bm25"], k=5)
    assert list(t.columns) == COLUMNS
    assert t["doc_id"].tolist() == BM25_ORDER
    assert t["rank"].tolist() == [1, 2, 3, 4, 5]
    assert t["title"].tolist() == [TITLES[d] for d in BM25_ORDER]
    assert set(t["system"]) == {"bm25"} and set(t["query"]) == {QUERY}
    s = t["score"].to_numpy()
    assert s[0] > s[1] > s[2] > 0 and s[3] == s[4] == 0
    assert t["grade"].isna().all()  # no qrels: everything unjudged


def test_k_keeps_top_and_caps_at_corpus_size():
    assert search(QUERY, TITLES, systems=["bm25"], k=2)["doc_id"].tolist() == ["d1", "d3"]
    assert len(search(QUERY, TITLES, systems=["bm25"], k=50)) == 5


def test_list_corpus_ids_are_positions_and_ties_by_id_text():
    titles = list(TITLES.values())  # ids "0".."4" in the order above
    t = search(QUERY, titles, systems=["bm25"], k=5)
    assert t["doc_id"].tolist() == ["0", "2", "4", "3", "1"]


def test_series_and_dict_and_retrieval_set_corpora_agree():
    series = pd.Series(list(TITLES.values()), index=list(TITLES))
    rs = RetrievalSet(queries={"q1": QUERY}, corpus=TITLES, qrels={"q1": {"d1": 2, "d5": 0}})
    for corpus in (series, TITLES, rs):
        assert search(QUERY, corpus, systems=["bm25"])["doc_id"].tolist() == BM25_ORDER


def test_grades_from_retrieval_set_qrels():
    rs = RetrievalSet(queries={"q1": QUERY}, corpus=TITLES, qrels={"q1": {"d1": 2, "d5": 0}})
    t = search([QUERY, "бетон"], rs, systems=["bm25"], k=5)
    first = t[t["query"] == QUERY].set_index("doc_id")["grade"]
    assert first["d1"] == 2 and first["d5"] == 0
    assert first[["d3", "d4", "d2"]].isna().all()
    assert str(t["grade"].dtype) == "Int64"
    assert t[t["query"] == "бетон"]["grade"].isna().all()  # a text that is not a set query


def test_grades_from_qrels_argument():
    t = search(QUERY, TITLES, systems=["bm25"], qrels={QUERY: {"d3": 1}})
    grades = t.set_index("doc_id")["grade"]
    assert grades["d3"] == 1 and grades.drop("d3").isna().all()


def test_str_and_list_queries_and_row_order():
    one = search(QUERY, TITLES, systems=["bm25"], k=3)
    many = search([QUERY, "бетон лопата"], TITLES, systems=["bm25"], k=3)
    pd.testing.assert_frame_equal(many.iloc[:3].reset_index(drop=True), one)
    # "бетон лопата": d2 and d4 have both words (d2 < d4 by id -> d4 first); then the
    # titles with "лопата" only: d3, d5 -> "d5" first
    assert many.iloc[3:]["doc_id"].tolist() == ["d4", "d2", "d5"]


def test_dense_identical_title_first_and_duplicate_tie(tiny):
    corpus = {"a": "СТАЛЬНАЯ ТРУБА", "b": "ШИФРОВАНИЕ ДАННЫХ", "c": "ШИФРОВАНИЕ ДАННЫХ"}
    t = search("СТАЛЬНАЯ ТРУБА", corpus, systems={"tiny": tiny}, k=3)
    assert t["doc_id"].iloc[0] == "a"
    assert t["score"].iloc[0] == pytest.approx(1.0, abs=1e-5)
    assert t["doc_id"].iloc[1:].tolist() == ["c", "b"]  # identical titles tie: "c" > "b"
    assert t["system"].unique().tolist() == ["tiny"]


def test_fusion_rrf_score_by_hand(tiny):
    # d1 is the query's own text: first for the dense model and for BM25, so its RRF score
    # is 1/(60+1) + 1/(60+1)
    t = search("РОБОТ ДОСТАВКА ТОВАР", TITLES, systems={"d": tiny, "b": "bm25", "f": "rrf(k=60)"})
    top = t[t["rank"] == 1].set_index("system")
    assert top["doc_id"].tolist() == ["d1", "d1", "d1"]
    assert top.loc["f", "score"] == pytest.approx(2 / 61)
    assert t["system"].unique().tolist() == ["d", "b", "f"]


def test_list_system_names(tiny, tiny_bert_dir):
    t = search(QUERY, TITLES, systems=[tiny, "bm25", "fusion(w=0.5)"], k=1)
    assert t["system"].tolist() == ["dense", "bm25", "fusion(w=0.5)"]
    t = search(QUERY, TITLES, systems=[str(tiny_bert_dir)], k=1)
    assert t["system"].tolist() == [tiny_bert_dir.name]


def test_default_corpus_and_system_is_demo_with_default_model():
    from toolkit.data import demo

    rs = demo()
    qid, text = next(iter(rs.queries.items()))
    t = search(text, k=3)
    assert t["system"].unique().tolist() == ["dense"] and len(t) == 3
    for doc_id, grade in zip(t["doc_id"], t["grade"], strict=True):
        expected = rs.qrels.get(qid, {}).get(doc_id)
        assert (pd.isna(grade) and expected is None) or grade == expected


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"queries": ["ok", "  "]}, ValueError, "queries[1] is empty"),
        ({"queries": []}, TypeError, "queries: is empty"),
        ({"queries": ["ok", 3]}, TypeError, "queries[1] must be a str"),
        ({"systems": ["bm25", "bm52"]}, ValueError, "systems[1]: unknown system 'bm52'"),
        ({"systems": ["bm25", "bm25"]}, ValueError, "system name 'bm25' is given twice"),
        ({"systems": ["bm25", "rrf(k=60)"]}, ValueError, "list a dense model too"),
        ({"systems": [3]}, TypeError, "systems[0] must be"),
        ({"k": 0}, ValueError, "k must be an integer >= 1, got 0"),
        ({"k": 2.5}, TypeError, "k must be an integer, got 2.5"),
        ({"corpus": []}, ValueError, "corpus is empty"),
        ({"corpus": {"a": "T", "b": None}}, TypeError, "corpus['b'] must be a str title"),
        ({"corpus": "ТИТУЛ"}, TypeError, "corpus must be a RetrievalSet"),
        ({"qrels": {QUERY: {"d1": "high"}}}, ValueError, "grades must be numbers"),
    ],
)
def test_bad_inputs_name_argument_and_position(kwargs, exc, fragment):
    args = {"queries": QUERY, "corpus": TITLES, "systems": ["bm25"], **kwargs}
    queries = args.pop("queries")
    corpus = args.pop("corpus")
    with pytest.raises(exc) as info:
        search(queries, corpus, **args)
    assert fragment in str(info.value)


# ------------------------------------------------------------------------------------- cli


def _write_folder(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    rows = "\n".join(f"{d},{t}" for d, t in TITLES.items())
    (folder / "corpus.csv").write_text(f"doc_id,title\n{rows}\n", encoding="utf-8")
    (folder / "queries.csv").write_text(f"query_id,text\nq1,{QUERY}\n", encoding="utf-8")
    (folder / "qrels.csv").write_text(
        "query_id,doc_id,relevance\nq1,d1,2\nq1,d5,0\n", encoding="utf-8"
    )
    return folder


def test_cli_search_bm25_on_a_folder(tmp_path, capsys):
    from toolkit.__main__ import main

    rc = main(["search", QUERY, "--data", str(_write_folder(tmp_path)), "--system", "bm25",
               "--k", "5"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    lines = [ln for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert [ln.split()[-3:] for ln in lines] == [TITLES[d].split() for d in BM25_ORDER]
    grades = [ln.split()[2] for ln in lines]
    assert grades == ["2", "·", "0", "·", "·"]  # d1 graded 2, d5 graded 0, others unjudged
    assert "[bm25]" in out and "5 titles" in out


def test_cli_search_two_systems_blocks(tmp_path, capsys, tiny_bert_dir):
    from toolkit.__main__ import main

    folder = str(_write_folder(tmp_path))
    argv = ["search", QUERY, "--data", folder, "--model", str(tiny_bert_dir)]
    rc = main([*argv, "--system", "dense", "--system", "bm25", "--k", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.index("[dense]") < out.index("[bm25]")
    assert len([ln for ln in out.splitlines() if ln.strip()[:1].isdigit()]) == 4


def test_cli_search_long_title_is_cut(tmp_path, capsys):
    from toolkit.__main__ import main

    long = "РОБОТ " + "ОЧЕНЬ ДЛИННОЕ НАЗВАНИЕ " * 10
    pairs = tmp_path / "p.csv"
    pairs.write_text(f"query,title\nробот,{long}\nбетон,БЕТОН\n", encoding="utf-8")
    assert main(["search", "робот", "--data", str(pairs), "--system", "bm25", "--k", "1"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.strip().startswith("1"))
    assert line.endswith("…") and len(line.split("  ")[-1].strip()) <= 90


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["search", "q", "--system", "bm52"], "unknown system 'bm52'"),
        (["search", "q", "--k", "0"], "argument --k: expected an integer >= 1, got '0'"),
        (["search", " ", "--system", "bm25"], "queries[0] is empty"),
    ],
)
def test_cli_search_errors_one_line(argv, fragment, capsys):
    from toolkit.__main__ import main

    try:
        rc = main(argv)
    except SystemExit as exit_:
        rc = exit_.code
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


@pytest.mark.parametrize("first", ["import toolkit", "import toolkit.retrieval",
                                   "from toolkit.retrieval import format_results"])
def test_toolkit_search_is_the_function_whatever_was_imported_first(first):
    """``toolkit.search`` is the function, not a module, in any import order."""
    code = (f"{first}\nimport toolkit\nimport toolkit.retrieval\n"
            "t = toolkit.search('робот', {'a': 'Робот-доставщик', 'b': 'Шифр'}, "
            "systems=['bm25'], k=2)\n"
            "print(list(t['doc_id']), toolkit.search is toolkit.retrieval.search)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["['a',", "'b']", "True"]


def test_public_helpers_the_explorer_shares():
    from toolkit.retrieval import check_queries, is_model, resolve_systems

    assert check_queries("робот") == ["робот"]
    with pytest.raises(ValueError, match=r"queries\[0\] is empty"):
        check_queries(["  "])
    assert resolve_systems(["bm25"]) == {"bm25": "bm25"}
    assert not is_model("bm25")
