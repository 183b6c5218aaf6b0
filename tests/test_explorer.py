"""toolkit.explorer: the controller (search, grade marks, judging) and its widget, no browser.

The corpus is test_search's: three-word titles, so the BM25 order can be worked out by hand
("РОБОТ ДОСТАВКА ТОВАР" matches 3 query words > "РОБОТ ДОСТАВКА ЛОПАТА" 2 > "РОБОТ КИРПИЧ
ЛОПАТА" 1 > two titles with none, tied at 0 and ordered by doc id descending).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from data_helpers import SEARCH_BM25_ORDER as BM25_ORDER
from data_helpers import SEARCH_QUERY as QUERY
from data_helpers import SEARCH_TITLES as TITLES

from toolkit.data import DataError, RetrievalSet, load_pairs, load_qrels, merge_judgments
from toolkit.data.pools import SHEET_COLUMNS
from toolkit.explorer import Explorer

REPO = Path(__file__).resolve().parents[1]


def _rs() -> RetrievalSet:
    return RetrievalSet(
        queries={"q1": QUERY, "q2": "бетон шифер"},
        corpus=TITLES,
        qrels={"q1": {"d1": 2, "d2": 0}},
    )


def _ex(tmp_path: Path, **kwargs) -> Explorer:
    kwargs.setdefault("judgments", tmp_path / "judged.csv")
    return Explorer(_rs(), ["bm25"], 5, **kwargs)


# ------------------------------------------------------------------------- search and marks


def test_search_ranks_with_toolkit_search_and_marks_qrels_grades(tmp_path):
    table = _ex(tmp_path).search(QUERY)
    assert table["doc_id"].tolist() == BM25_ORDER
    grades = dict(zip(table["doc_id"], table["grade"], strict=True))
    assert grades["d1"] == 2 and grades["d2"] == 0  # the set's qrels
    assert all(pd.isna(grades[d]) for d in ("d3", "d4", "d5"))  # never judged


def test_judge_appends_a_valid_sheet_row_and_shows_the_grade_at_once(tmp_path):
    ex = _ex(tmp_path)
    ex.search(QUERY)
    assert ex.judge(QUERY, "d3", 1) == "added"
    # the new grade is in the current results without a new search
    assert ex.results.set_index("doc_id").loc["d3", "grade"] == 1
    path = tmp_path / "judged.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert df.columns.tolist() == list(SHEET_COLUMNS)
    assert df.to_dict("records") == [
        {
            "query_id": "q1",
            "query": QUERY,
            "doc_id": "d3",
            "title": TITLES["d3"],
            "systems": "bm25",
            "relevance": "1",
        }
    ]
    # the file reads back with the toolkit's own loaders
    assert load_qrels(path) == {"q1": {"d3": 1}}
    merged, counts = merge_judgments(_rs(), path)
    assert counts == {"added": 1, "regraded": 0, "unchanged": 0}
    assert merged.qrels["q1"]["d3"] == 1
    # a new explorer (a new kernel) reads the grade back and knows who gave it
    again = _ex(tmp_path)
    assert again.search(QUERY).set_index("doc_id").loc["d3", "grade"] == 1
    assert again.source(QUERY, "d3") == "judgments"
    assert again.source(QUERY, "d1") == "qrels"
    assert again.source(QUERY, "d4") is None


def test_typed_query_gets_the_pairs_loader_id_and_joins_the_set(tmp_path):
    ex = _ex(tmp_path)
    text = "лопата для бетона"
    ex.search(text)
    ex.judge(text, "d4", 2)
    expected_id = next(iter(load_pairs(pd.DataFrame({"query": [text], "title": ["X"]})).queries))
    assert ex.query_id(text) == expected_id
    rs = ex.retrieval_set()
    assert rs.queries[expected_id] == text
    assert rs.qrels[expected_id] == {"d4": 2}
    assert rs.qrels["q1"] == {"d1": 2, "d2": 0}  # the set's own judgments kept


def test_regrade_replaces_the_row_and_same_grade_writes_nothing(tmp_path):
    ex = _ex(tmp_path)
    ex.search(QUERY)
    assert ex.judge(QUERY, "d3", 1) == "added"
    assert ex.judge(QUERY, "d3", 2) == "regraded"
    path = tmp_path / "judged.csv"
    before = path.stat().st_mtime_ns, path.read_bytes()
    assert ex.judge(QUERY, "d3", 2) == "unchanged"
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    assert load_qrels(path) == {"q1": {"d3": 2}}  # one row per pair


def test_qrels_pairs_are_read_only(tmp_path):
    ex = _ex(tmp_path)
    assert ex.judge(QUERY, "d1", 2) == "unchanged"  # agrees with the qrels: nothing to do
    with pytest.raises(DataError, match=r"judged 2 by the set's qrels.*edit the qrels"):
        ex.judge(QUERY, "d1", 0)
    assert not (tmp_path / "judged.csv").exists()


@pytest.mark.parametrize(
    ("doc_id", "grade", "fragment"),
    [
        ("d3", 3, "grade: expected 0, 1 or 2, got 3"),
        ("d3", -1, "grade: expected 0, 1 or 2, got -1"),
        ("d3", True, "grade: expected 0, 1 or 2, got True"),
        ("d3", "2", "grade: expected 0, 1 or 2, got '2'"),
        ("d3", 1.5, "grade: expected 0, 1 or 2, got 1.5"),
        ("d9", 1, "doc_id: 'd9' is not a document id of the corpus"),
        (3, 1, "doc_id: 3 is not a document id"),
    ],
)
def test_bad_judgment_is_a_clear_error_and_the_file_is_unchanged(tmp_path, doc_id, grade, fragment):
    ex = _ex(tmp_path)
    ex.judge(QUERY, "d5", 0)
    path = tmp_path / "judged.csv"
    before = path.read_bytes()
    with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        ex.judge(QUERY, doc_id, grade)
    assert path.read_bytes() == before


def test_blank_query_is_refused(tmp_path):
    with pytest.raises(ValueError, match="is empty; type a query"):
        _ex(tmp_path).judge("  ", "d3", 1)


# -------------------------------------------------------------------- existing files, crashes


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("query_id,doc_id,relevance\nq1,d3,1\nq1,d4,3\n", "row 3, column 'relevance': grade 3"),
        ("query_id,doc_id,relevance\nq1,d3,1\nq1,d3,2\n", "row 3, column 'relevance'"),
        ("query_id,doc_id,relevance\nq1,d3,\n", "row 2, column 'relevance': empty grade"),
        ("query_id,doc_id,relevance\nq1,d9,1\n", "row 2, column 'doc_id': unknown document"),
        ("query_id,doc_id,relevance\nq7,d3,1\n", "row 2, column 'query_id': unknown query id"),
        ("query_id,doc_id\nq1,d3\n", "lacks column(s) relevance"),
        ("query_id,query,doc_id,relevance\nq1,другой текст,d3,1\n", "row 2, column 'query'"),
    ],
)
def test_an_invalid_existing_file_is_refused_naming_row_and_column(tmp_path, content, fragment):
    path = tmp_path / "judged.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match="judged.csv") as info:
        _ex(tmp_path)
    assert fragment in str(info.value)


def test_other_columns_of_an_existing_file_are_kept(tmp_path):
    path = tmp_path / "judged.csv"
    path.write_text('query_id,doc_id,relevance,note\nq1,d5,0,"off topic, clearly"\n', "utf-8")
    ex = _ex(tmp_path)
    ex.search(QUERY)
    ex.judge(QUERY, "d3", 2)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert df["note"].tolist() == ["off topic, clearly", ""]
    assert load_qrels(path) == {"q1": {"d5": 0, "d3": 2}}


def test_failed_rename_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    import toolkit._io

    ex = _ex(tmp_path)
    ex.judge(QUERY, "d5", 0)
    path = tmp_path / "judged.csv"
    before = path.read_bytes()

    def boom(src, dst):
        raise KeyboardInterrupt  # the user interrupts the kernel between write and rename

    monkeypatch.setattr(toolkit._io.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        ex.judge(QUERY, "d3", 2)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judged.csv"]


def test_kernel_killed_mid_write_leaves_the_old_file_whole(tmp_path):
    """A process that dies (no clean-up at all) after writing the temp file, before the rename."""
    folder = tmp_path / "set"
    folder.mkdir()
    pd.DataFrame({"doc_id": list(TITLES), "title": list(TITLES.values())}).to_csv(
        folder / "corpus.csv", index=False
    )
    pd.DataFrame({"query_id": ["q1"], "text": [QUERY]}).to_csv(folder / "queries.csv", index=False)
    pd.DataFrame({"query_id": ["q1"], "doc_id": ["d1"], "relevance": [2]}).to_csv(
        folder / "qrels.csv", index=False
    )
    path = tmp_path / "judged.csv"
    Explorer(str(folder), ["bm25"], 5, judgments=path).judge(QUERY, "d5", 0)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, toolkit._io
        from toolkit.explorer import Explorer
        ex = Explorer({str(folder)!r}, ["bm25"], 5, judgments={str(path)!r})
        toolkit._io.os.replace = lambda src, dst: os._exit(9)  # SIGKILL-like: no clean-up
        ex.judge({QUERY!r}, "d3", 2)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, timeout=300)
    assert proc.returncode == 9
    assert path.read_bytes() == before
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the torn temp file is beside it, never in its place
    ex = Explorer(str(folder), ["bm25"], 5, judgments=path)  # still loads and validates
    assert ex.judge(QUERY, "d3", 2) == "added"
    assert load_qrels(path) == {"q1": {"d5": 0, "d3": 2}}


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"judgments": "judged.txt"}, ValueError, "expected a .csv file"),
        ({"judgments": 3}, TypeError, "judgments must be a CSV path"),
        ({"map_method": "umap"}, ValueError, "map_method must be 'pca'"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        Explorer(_rs(), ["bm25"], 5, **kwargs)


# ---------------------------------------------------------------------- map and widget


def test_map_places_a_title_text_on_its_own_point(tmp_path, tiny_bert_dir):
    import numpy as np

    ex = Explorer(_rs(), [str(tiny_bert_dir), "bm25"], 3, judgments=tmp_path / "j.csv")
    xy = ex.map_coordinates()
    assert xy.shape == (len(TITLES), 2)
    # the same text has the same vector, so PCA.transform puts it on the title's point
    np.testing.assert_allclose(ex.query_point(TITLES["d4"]), xy[3], atol=1e-5)


def test_widget_search_click_and_map_without_a_browser(tmp_path, tiny_bert_dir):
    from toolkit.explorer_widget import explore

    path = tmp_path / "j.csv"
    widget = explore(_rs(), {"tiny": str(tiny_bert_dir), "bm25": "bm25"}, 3, judgments=path)
    widget.query_box.value = QUERY  # what pressing Enter in the box does
    assert [c._dom_classes for c in widget.columns.children] == [("toolkit-results",)] * 2
    bm25 = widget.columns.children[1]
    rows = bm25.children[1:]
    assert len(rows) == 3
    assert "РОБОТ ДОСТАВКА ТОВАР" in rows[0].children[0].value  # d1, judged 2 by the qrels
    assert len(rows[0].children) == 1  # qrels grades are read-only: no buttons
    second = rows[1]  # d3, unjudged
    assert "unjudged" in second.children[0].value
    second.children[3].click()  # grade 2
    assert load_qrels(path) == {"q1": {"d3": 2}}
    assert "added" in widget.status.value
    now = widget.columns.children[1].children[2].children[0].value
    assert "2 · you" in now and "unjudged" not in now
    # the map: the bm25 top 3 can be highlighted, and the query is a star
    widget.map_system.value = "bm25"
    assert len(widget.figure.data[1].x) == 3
    assert len(widget.figure.data[2].x) == 1
    bundle = widget._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Explorer: 5 titles, systems tiny, bm25")
    static = bundle["text/html"]  # what GitHub / nbviewer / an HTML export show
    assert TITLES["d3"] in static and "2 · you" in static and "<script" not in static
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"].startswith(
        "toolkit-explorer-"
    )


def test_widget_shows_a_refused_judgment_instead_of_raising(tmp_path):
    from toolkit.explorer_widget import explore

    path = tmp_path / "j.csv"
    widget = explore(_rs(), ["bm25"], 5, judgments=path, query=QUERY, show_map=False)
    widget.grade("d9", 1)
    assert "not saved" in widget.status.value and "d9" in widget.status.value
    assert not path.exists()


def test_a_file_edited_by_hand_between_clicks_is_read_again(tmp_path):
    ex = _ex(tmp_path)
    ex.search(QUERY)
    ex.judge(QUERY, "d3", 1)
    path = tmp_path / "judged.csv"
    with path.open("a", encoding="utf-8") as fh:  # another judge, in an editor
        fh.write("q1,,d4,,,0\n")
    ex.judge(QUERY, "d5", 2)
    assert load_qrels(path) == {"q1": {"d3": 1, "d4": 0, "d5": 2}}
    with path.open("a", encoding="utf-8") as fh:
        fh.write("q1,,d4,,,2\n")  # the same pair with another grade: refused, file kept
    before = path.read_bytes()
    with pytest.raises(DataError, match="judged.csv, row 5, column 'relevance'"):
        ex.judge(QUERY, "d3", 2)
    assert path.read_bytes() == before
