"""Tests of toolkit.plots: every check reads ``fig.to_dict()`` of small hand-made inputs."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.basedatatypes import BaseFigure

import toolkit.plots as plots
from toolkit.plots import (
    plot_embedding_map,
    plot_loss_curve,
    plot_lr_schedule,
    plot_margins,
    plot_model_comparison,
    plot_rank,
    plot_similarity_distribution,
    plot_similarity_heatmap,
)
from toolkit.plots._style import (
    IPC_COLORS,
    IPC_NAMES,
    NONRELEVANT_COLOR,
    RELEVANT_COLOR,
    hover_text,
    ipc_section,
    truncate_label,
)


@pytest.fixture(autouse=True)
def _forbid_show(monkeypatch):
    """Any ``.show()`` during a test fails it."""

    def _raise(*args, **kwargs):
        raise AssertionError("a plot function called .show()")

    monkeypatch.setattr(BaseFigure, "show", _raise)
    monkeypatch.setattr(go.Figure, "show", _raise)
    monkeypatch.setattr(pio, "show", _raise)


def _vals(value):
    """A to_dict() array as a list (plotly 6+ may store numpy arrays as base64 'bdata')."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            arr = arr.reshape([int(s) for s in str(value["shape"]).split(",")])
        return arr.tolist()
    return list(value)


def _segments(trace: dict) -> list[tuple[tuple, tuple]]:
    """Split a None-separated line trace into ((x0, y0), (x1, y1)) segments."""
    xs, ys = _vals(trace["x"]), _vals(trace["y"])
    assert len(xs) == len(ys) and len(xs) % 3 == 0
    segs = []
    gap = lambda v: v is None or (isinstance(v, float) and np.isnan(v))  # noqa: E731
    for k in range(0, len(xs), 3):
        assert gap(xs[k + 2]) and gap(ys[k + 2]), "segments must be None/NaN-separated"
        segs.append(((xs[k], ys[k]), (xs[k + 1], ys[k + 1])))
    return segs


def _flat(text: str) -> str:
    return text.replace("<br>", " ")


# ----------------------------------------------------------------------------- style helpers
def test_hover_text_keeps_everything_and_escapes():
    long = "Способ   получения " + "очень длинного названия патента " * 6 + "a<b & c>d"
    out = hover_text(long)
    assert "<br>" in out
    assert all(len(line) <= 80 for line in out.split("<br>"))
    assert _flat(out) == " ".join(long.split()).replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;"
    )
    assert hover_text(None) == ""


def test_truncate_label_and_ipc_section():
    assert truncate_label("short", 10) == "short"
    cut = truncate_label("Устройство для измерения давления", 12)
    assert len(cut) <= 12 and cut.endswith("…") and cut.startswith("Устройство")
    assert ipc_section("g06f 16/33") == "G"
    assert ipc_section(" H04L") == "H"
    assert ipc_section("Z99") is None
    assert ipc_section(None) is None
    assert ipc_section(float("nan")) is None
    assert ipc_section("") is None


# ----------------------------------------------------------------------------- embedding map
LONG_TITLE = (
    "Способ и система семантического поиска патентных документов на основе векторных "
    "представлений коротких запросов на русском языке с использованием нейронной сети"
)
DOC_IDS = ["d1", "d2", "d3", "d4", "d5"]
DOC_TEXTS = [LONG_TITLE, "Фармацевтическая композиция", "Насос <центробежный>", "Нейросеть", "Х"]
DOC_IPC = ["G06F 16/33", "A61K 9/00", None, "G06N 3/08", "Z99"]
DOC_XY = [[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [4.0, 3.0]]
QUERY_IDS = ["q1", "q2", "q3"]
QUERY_TEXTS = ["поиск патентов", "лекарство", "насос"]
QUERY_XY = [[0.5, 5.0], [1.5, 6.0], [2.5, 7.0]]
LINKS = {"q1": ["d1", "d4"], "q2": ["d2"], "q3": []}
TOP1 = {"q1": "d1", "q2": "d3", "q3": "d5"}  # q1 right; q2, q3 wrong (q3 has no relevant)


def _map(**kw):
    args = dict(
        doc_ids=DOC_IDS,
        doc_texts=DOC_TEXTS,
        doc_ipc=DOC_IPC,
        query_xy=QUERY_XY,
        query_ids=QUERY_IDS,
        query_texts=QUERY_TEXTS,
        links=LINKS,
        top1=TOP1,
        title="map",
    )
    args.update(kw)
    return plot_embedding_map(np.array(DOC_XY), **args)


def _xy_of(kind: str, ident: str) -> tuple:
    ids, xy = (DOC_IDS, DOC_XY) if kind == "doc" else (QUERY_IDS, QUERY_XY)
    return tuple(xy[ids.index(ident)])


def test_embedding_map_trace_order_and_types():
    d = _map().to_dict()
    names = [t["name"] for t in d["data"]]
    assert names == [
        "relevant links",
        "wrong top-1 links",
        IPC_NAMES["A"],
        IPC_NAMES["G"],
        "IPC unknown",
        "wrong top-1",
        "queries",
    ]
    assert {t["type"] for t in d["data"]} == {"scatter"}
    assert d["layout"]["title"]["text"] == "map"


def test_embedding_map_every_relevant_pair_has_a_segment():
    d = _map().to_dict()
    link = d["data"][0]
    segs = _segments(link)
    expected = [(q, doc) for q, docs in LINKS.items() for doc in docs]
    assert len(segs) == len(expected) == 3
    assert segs == [(_xy_of("query", q), _xy_of("doc", doc)) for q, doc in expected]
    # no hover copy on the segments: both ends are markers that carry the hover
    assert link["hoverinfo"] == "skip" and "hovertext" not in link
    assert link["mode"] == "lines"


def test_embedding_map_wrong_top1_marked():
    d = _map().to_dict()
    seg_trace, marker_trace = d["data"][1], d["data"][5]
    assert seg_trace["line"]["dash"] == "dash"
    assert _segments(seg_trace) == [
        (_xy_of("query", "q2"), _xy_of("doc", "d3")),
        (_xy_of("query", "q3"), _xy_of("doc", "d5")),
    ]
    assert list(zip(_vals(marker_trace["x"]), _vals(marker_trace["y"]), strict=True)) == [
        _xy_of("doc", "d3"),
        _xy_of("doc", "d5"),
    ]
    assert marker_trace["marker"]["symbol"] == "circle-open"
    assert _vals(marker_trace["customdata"]) == [["q2", "d3"], ["q3", "d5"]]


def test_embedding_map_no_wrong_trace_when_all_top1_right():
    names = [t["name"] for t in _map(top1={"q1": "d4", "q2": "d2", "q3": None}).to_dict()["data"]]
    assert "wrong top-1" not in names and "wrong top-1 links" not in names


def test_embedding_map_docs_grouped_by_ipc_with_full_hover():
    d = _map().to_dict()
    by_name = {t["name"]: t for t in d["data"]}
    groups = {IPC_NAMES["A"]: ["d2"], IPC_NAMES["G"]: ["d1", "d4"], "IPC unknown": ["d3", "d5"]}
    for name, members in groups.items():
        t = by_name[name]
        assert _vals(t["customdata"]) == members
        pts = list(zip(_vals(t["x"]), _vals(t["y"]), strict=True))
        assert pts == [_xy_of("doc", m) for m in members]
    assert by_name[IPC_NAMES["G"]]["marker"]["color"] == IPC_COLORS["G"]
    hover_g = _vals(by_name[IPC_NAMES["G"]]["hovertext"])
    template = by_name[IPC_NAMES["G"]]["hovertemplate"]
    assert "%{customdata}" in template and "%{fullData.name}" in template  # id, section
    assert "G06F 16/33" in hover_g[0]  # the code says more than "G": shown too
    assert LONG_TITLE in _flat(hover_g[0])  # the full title, wrapped but not cut
    hover_unknown = _vals(by_name["IPC unknown"]["hovertext"])
    assert "Насос &lt;центробежный&gt;" in hover_unknown[0]
    q = by_name["queries"]
    assert q["marker"]["symbol"] == "diamond" and q["marker"]["color"] == "#000000"
    assert _vals(q["hovertext"]) == QUERY_TEXTS and _vals(q["customdata"]) == QUERY_IDS
    assert q["hovertemplate"].startswith("<b>query %{customdata}</b><br>%{hovertext}")


def test_embedding_map_ipc_mapping_and_no_ipc():
    ipc = dict(zip(DOC_IDS, DOC_IPC, strict=True))
    assert _map(doc_ipc=ipc).to_dict() == _map().to_dict()
    names = [t["name"] for t in _map(doc_ipc=None).to_dict()["data"]]
    assert names == ["relevant links", "wrong top-1 links", "titles", "wrong top-1", "queries"]
    only_docs = plot_embedding_map(DOC_XY, doc_ids=DOC_IDS, doc_texts=DOC_TEXTS).to_dict()
    assert [t["name"] for t in only_docs["data"]] == ["titles"]


@pytest.mark.parametrize(("n_docs", "expected"), [(1999, "scatter"), (2000, "scattergl")])
def test_embedding_map_webgl_above_2000_points(n_docs, expected):
    rng = np.random.default_rng(0)
    ids = [f"d{i}" for i in range(n_docs)]
    fig = plot_embedding_map(
        rng.normal(size=(n_docs, 2)),
        doc_ids=ids,
        doc_texts=ids,
        doc_ipc=["ABCDEFGH"[i % 8] for i in range(n_docs)],
        query_xy=[[0.0, 0.0]],  # 1 query: n_docs + 1 points in all
        query_ids=["q"],
        links={"q": ["d0", "d1"]},
        top1={"q": "d2"},
    )
    assert {t["type"] for t in fig.to_dict()["data"]} == {expected}


def test_embedding_map_bad_input():
    with pytest.raises(ValueError, match="doc_texts has 4 entries but doc_xy has 5"):
        _map(doc_texts=DOC_TEXTS[:4])
    with pytest.raises(ValueError, match="doc_xy must have shape"):
        plot_embedding_map([[0, 0, 0]], doc_ids=["d"], doc_texts=["t"])
    with pytest.raises(ValueError, match=r"doc_ids\[1\] = 'd1' is a duplicate"):
        plot_embedding_map([[0, 0], [1, 1]], doc_ids=["d1", "d1"], doc_texts=["a", "b"])
    with pytest.raises(ValueError, match=r"links\['q1'\] has doc id 'dX'"):
        _map(links={"q1": ["dX"]}, top1=None)
    with pytest.raises(ValueError, match="links has query id 'qX'"):
        _map(links={"qX": ["d1"]}, top1=None)
    with pytest.raises(ValueError, match="top1 needs links"):
        _map(links=None)
    with pytest.raises(ValueError, match=r"top1\['q1'\] = 'dX'"):
        _map(top1={"q1": "dX"})
    with pytest.raises(ValueError, match="query_ids is required"):
        _map(query_ids=None, query_texts=None, links=None, top1=None)
    with pytest.raises(ValueError, match=r"doc_xy\[1, 0\] is nan"):
        plot_embedding_map([[0, 0], [np.nan, 1]], doc_ids=["a", "b"], doc_texts=["a", "b"])


# ----------------------------------------------------------------------------- heatmap
Q_LABELS = ["насос для перекачки нефти из скважины", "лекарство от гриппа", "робот-доставщик"]
D_LABELS = [
    "Насос центробежный многоступенчатый для добычи нефти из глубоких скважин",
    "Насос центробежный многоступенчатый для воды",  # same first 20 chars as the first
    "Противовирусное средство",
    "Мобильный робот для доставки товаров",
]
SCORES = np.array(
    [[0.9, 0.7, 0.1, 0.2], [0.1, 0.05, 0.8, 0.0], [0.3, 0.2, 0.1, 0.6]], dtype=np.float64
)
MASK = np.zeros((3, 4), dtype=bool)
MASK[0, 0] = MASK[0, 1] = MASK[1, 2] = MASK[2, 3] = True


def test_heatmap_outlines_relevant_cells():
    d = plot_similarity_heatmap(
        SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS, relevant_mask=MASK
    ).to_dict()
    shapes = d["layout"]["shapes"]
    assert len(shapes) == int(MASK.sum()) == 4
    got = sorted((s["x0"], s["x1"], s["y0"], s["y1"]) for s in shapes)
    want = sorted(
        (j - 0.5, j + 0.5, i - 0.5, i + 0.5) for i, j in zip(*np.nonzero(MASK), strict=True)
    )
    assert got == want
    assert all(s["type"] == "rect" and s["xref"] == "x" and s["yref"] == "y" for s in shapes)
    (trace,) = d["data"]
    assert trace["type"] == "heatmap"
    assert np.allclose(np.array(_vals(trace["z"]), dtype=float), SCORES)
    # categorical axes: position j of x is title j, position i of y is query i
    assert [_flat(x) for x in _vals(trace["x"])] == D_LABELS
    assert [_flat(y) for y in _vals(trace["y"])] == Q_LABELS
    assert d["layout"]["xaxis"]["type"] == d["layout"]["yaxis"]["type"] == "category"
    assert d["layout"]["yaxis"]["autorange"] == "reversed"


def test_heatmap_hover_full_text_and_truncated_ticks():
    d = plot_similarity_heatmap(
        SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS, relevant_mask=MASK, max_label_chars=20
    ).to_dict()
    trace = d["data"][0]
    assert "text" not in trace  # each full text is stored once (as a category), not per cell
    template = trace["hovertemplate"]
    assert "%{x}" in template and "%{y}" in template and "%{customdata}" in template
    # what the hover shows for cell (i, j): %{y} = query i, %{x} = title j, customdata = relevant
    flags = np.array(_vals(trace["customdata"]))
    assert flags.shape == (3, 4) and (flags.astype(bool) == MASK).all()
    for i in range(3):
        assert _flat(_vals(trace["y"])[i]) == Q_LABELS[i]
    for j in range(4):
        assert _flat(_vals(trace["x"])[j]) == D_LABELS[j]
    assert "%{z" in d["data"][0]["hovertemplate"]
    ticks = d["layout"]["xaxis"]["ticktext"]
    assert ticks == [
        "Насос центробежный…",
        "Насос центробежный…",
        "Противовирусное сре…",
        "Мобильный робот для…",
    ]
    assert _vals(d["layout"]["xaxis"]["tickvals"]) == _vals(trace["x"])  # one tick per column
    assert ticks[0] == ticks[1]  # equal cut labels, yet two columns


def test_heatmap_repeated_labels_stay_apart():
    d = plot_similarity_heatmap(
        SCORES, query_labels=["a", "a", "a (2)"], doc_labels=["t", "t", "t", "u"]
    ).to_dict()
    xs, ys = _vals(d["data"][0]["x"]), _vals(d["data"][0]["y"])
    assert len(set(xs)) == 4 and len(set(ys)) == 3
    assert xs[:3] == ["t", "t (2)", "t (3)"]
    assert d["layout"]["yaxis"]["ticktext"] == ["a", "a", "a (2)"]  # ticks show the labels


def test_heatmap_grows_with_the_matrix():
    small = plot_similarity_heatmap(SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS).to_dict()
    assert small["layout"]["width"] >= 700 and small["layout"]["height"] >= 450
    rng = np.random.default_rng(0)
    big = plot_similarity_heatmap(
        rng.random((40, 120)),
        query_labels=[f"запрос {i}" for i in range(40)],
        doc_labels=[f"название {j}" for j in range(120)],
    ).to_dict()["layout"]
    font = big["xaxis"]["tickfont"]["size"]
    # every label has at least its font size of room: 120 columns, 40 rows, plus the frame
    assert big["width"] > 120 * font and big["height"] > 40 * (font + 4)


def test_heatmap_without_mask_and_bad_input():
    d = plot_similarity_heatmap(SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS).to_dict()
    assert not d["layout"].get("shapes")
    with pytest.raises(ValueError, match="doc_labels has 3 entries but scores has 4 columns"):
        plot_similarity_heatmap(SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS[:3])
    with pytest.raises(ValueError, match=r"relevant_mask has shape \(2, 4\)"):
        plot_similarity_heatmap(
            SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS, relevant_mask=MASK[:2]
        )
    bad = SCORES.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"scores\[1, 2\] is inf"):
        plot_similarity_heatmap(bad, query_labels=Q_LABELS, doc_labels=D_LABELS)


# ----------------------------------------------------------------------------- rank
RANKS = {"q1": 3, "q2": 1, "q3": None, "q4": 12, "q5": 1}
RANK_TEXTS = {"q1": "насос", "q2": "робот", "q3": "лекарство", "q4": "двигатель", "q5": "лазер"}


def test_rank_sorted_with_missing_and_k_lines():
    d = plot_rank(RANKS, query_texts=RANK_TEXTS).to_dict()
    found, missing = d["data"]
    assert _vals(found["customdata"]) == ["q2", "q5", "q1", "q4"]  # ties keep input order
    assert _vals(found["x"]) == [1, 2, 3, 4]
    assert _vals(found["y"]) == [1, 1, 3, 12]
    assert _vals(missing["customdata"]) == ["q3"]
    assert _vals(missing["x"]) == [5]
    assert _vals(missing["y"]) == [1.5 * 12]  # above every rank (max rank 12 > k=10)
    assert missing["name"] == "no relevant retrieved (n=1)"
    assert "лекарство" in missing["hovertext"][0] and "no relevant" in missing["hovertext"][0]
    assert "q4" in found["hovertext"][3] and "двигатель" in found["hovertext"][3]
    assert d["layout"]["yaxis"]["type"] == "log"
    line_ys = sorted(s["y0"] for s in d["layout"]["shapes"])
    assert line_ys == [1.5, 10.5, 18.0]  # k=1, k=10 cuts and the "not retrieved" row
    # on a log axis plotly reads annotation y as log10 while shapes take data values
    labels = {a["text"]: a["y"] for a in d["layout"]["annotations"]}
    assert labels == pytest.approx(
        {"k=1": np.log10(1.5), "k=10": np.log10(10.5), "not retrieved": np.log10(18.0)}
    )


def test_rank_accepts_series_with_missing_values():
    ranks = pd.Series(pd.array([4, pd.NA, 2], dtype="Int64"), index=["a", "b", "c"])
    d = plot_rank(ranks).to_dict()
    assert _vals(d["data"][0]["customdata"]) == ["c", "a"]
    assert _vals(d["data"][0]["y"]) == [2, 4]
    assert _vals(d["data"][1]["customdata"]) == ["b"]
    assert _vals(d["data"][1]["y"]) == [15.0]  # 1.5 x max(4, k=10)


def test_rank_linear_depth_and_bad_input():
    d = plot_rank({"a": 2, "b": None}, log_y=False, depth=20).to_dict()
    assert d["layout"]["yaxis"]["type"] == "linear"
    assert _vals(d["data"][1]["y"]) == [30.0]
    labels = {a["text"]: a["y"] for a in d["layout"]["annotations"]}
    assert labels == {"k=1": 1.5, "k=10": 10.5, "not retrieved": 30.0}
    assert "top-20" in d["data"][1]["hovertext"][0]
    assert len(plot_rank({"a": 2}).to_dict()["data"]) == 1  # nothing missing: one trace
    with pytest.raises(ValueError, match=r"first_relevant_ranks\['b'\] = 0"):
        plot_rank({"a": 1, "b": 0})
    with pytest.raises(ValueError, match="non-empty mapping"):
        plot_rank({})
    with pytest.raises(ValueError, match="above depth=10"):
        plot_rank({"a": 11}, depth=10)


# ----------------------------------------------------------------------------- margins
def _margin_table():
    return pd.DataFrame(
        {
            "query_id": ["q1", "q2", "q3", "q4"],
            "query": ["насос для нефти из глубоких скважин и шахт", "робот", "лекарство", "лазер"],
            "best_positive": [0.8, 0.5, 0.6, 0.3],
            "hardest_negative": [0.6, 0.6, 0.55, 0.6],
            "margin": [0.2, -0.1, 0.05, -0.3],
            "hardest_negative_title": ["Насос", "Манипулятор", "Вакцина", "Лазерный диод"],
        }
    )


def test_margins_sorted_dumbbells():
    d = plot_margins(_margin_table(), max_label_chars=15).to_dict()
    names = [t["name"] for t in d["data"]]
    assert names == ["margin ≥ 0 (n=2)", "margin < 0 (n=2)", "best positive", "hardest negative"]
    best, hardest = d["data"][2], d["data"][3]
    assert _vals(best["customdata"]) == ["q4", "q2", "q3", "q1"]  # margin ascending
    assert _vals(best["y"]) == [0, 1, 2, 3]
    assert _vals(best["x"]) == [0.3, 0.5, 0.6, 0.8]
    assert _vals(hardest["x"]) == [0.6, 0.6, 0.55, 0.6]
    assert _segments(d["data"][1]) == [((0.6, 0), (0.3, 0)), ((0.6, 1), (0.5, 1))]
    assert _segments(d["data"][0]) == [((0.55, 2), (0.6, 2)), ((0.6, 3), (0.8, 3))]
    assert d["data"][1]["line"]["color"] != d["data"][0]["line"]["color"]
    hover_q1 = _flat(best["hovertext"][3])
    assert "q1" in hover_q1 and "насос для нефти из глубоких скважин и шахт" in hover_q1
    assert "hardest_negative_title: Насос" in hover_q1 and "+0.200" in hover_q1
    ticks = d["layout"]["yaxis"]["ticktext"]
    assert ticks == ["лазер", "робот", "лекарство", "насос для нефт…"]
    assert d["layout"]["yaxis"]["autorange"] == "reversed"


def test_margins_all_positive_and_bad_input():
    t = _margin_table()
    t["margin"] = [0.2, 0.1, 0.05, 0.3]
    assert [x["name"] for x in plot_margins(t).to_dict()["data"]][0] == "margin ≥ 0 (n=4)"
    assert len(plot_margins(t).to_dict()["data"]) == 3
    with pytest.raises(ValueError, match="table lacks column 'margin'"):
        plot_margins(t.drop(columns="margin"))
    t2 = _margin_table()
    t2.loc[2, "best_positive"] = np.nan
    with pytest.raises(ValueError, match="row 2, column 'best_positive'"):
        plot_margins(t2)
    with pytest.raises(ValueError, match="query_id 'q1' repeats"):
        plot_margins(pd.concat([t, t.iloc[:1]], ignore_index=True))


def test_margins_accept_query_margins_output():
    from toolkit.diagnostics import query_margins

    scores = np.array([[0.9, 0.2, 0.5], [0.3, 0.8, 0.1], [0.4, 0.6, 0.7]])
    qrels = {"q1": {"a": 1}, "q2": {"a": 1}, "q3": {"a": 1, "b": 1, "c": 1}}
    table = query_margins(scores, qrels, query_ids=["q1", "q2", "q3"], doc_ids=["a", "b", "c"])
    d = plot_margins(table).to_dict()
    names = [t["name"] for t in d["data"]]
    assert names == ["margin ≥ 0 (n=1)", "margin < 0 (n=1)", "best positive", "hardest negative"]
    best, hardest = d["data"][2], d["data"][3]
    assert _vals(best["customdata"]) == ["q2", "q1", "q3"]  # q3 has no negative: last
    assert np.allclose(_vals(best["x"]), [0.3, 0.9, 0.7])
    hx = _vals(hardest["x"])
    assert np.allclose(hx[:2], [0.8, 0.5]) and hx[2] is None
    assert _segments(d["data"][1]) == [((0.8, 0), (0.3, 0))]
    assert "no non-relevant title" in best["hovertext"][2]
    assert "hardest_negative_doc_id: b" in best["hovertext"][0]
    bad = table.copy()
    bad.loc[0, "margin"] = np.nan  # margin missing although a hardest negative exists
    with pytest.raises(ValueError, match="must be missing together"):
        plot_margins(bad)


# ----------------------------------------------------------------------------- model comparison
def _results():
    return pd.DataFrame(
        {
            "system": ["USE-m3", "USE-m3", "BM25", "BM25", "navec"],
            "metric": ["mrr@10", "ndcg@10", "mrr@10", "ndcg@10", "mrr@10"],
            "mean": [0.695, 0.644, 0.445, 0.324, 0.411],
            "low": [0.60, 0.55, 0.35, 0.25, 0.30],
            "high": [0.78, 0.72, 0.55, 0.40, 0.50],
            "n": [60, 60, 60, 60, 60],
            "model": ["usem3", "usem3", "bm25s", "bm25s", "navec"],
        }
    )


def test_model_comparison_bars_and_ci():
    d = plot_model_comparison(_results()).to_dict()
    assert [t["name"] for t in d["data"]] == ["USE-m3", "BM25", "navec"]  # given order
    assert all(t["type"] == "bar" for t in d["data"])
    assert d["layout"]["barmode"] == "group"
    use, bm25, navec = d["data"]
    assert _vals(use["x"]) == ["mrr@10", "ndcg@10"]
    assert _vals(use["y"]) == [0.695, 0.644]
    assert use["error_y"]["symmetric"] is False
    assert np.allclose(_vals(use["error_y"]["array"]), [0.78 - 0.695, 0.72 - 0.644])
    assert np.allclose(_vals(use["error_y"]["arrayminus"]), [0.695 - 0.60, 0.644 - 0.55])
    assert np.allclose(_vals(bm25["error_y"]["arrayminus"]), [0.445 - 0.35, 0.324 - 0.25])
    assert _vals(navec["y"]) == [0.411, None]  # navec has no ndcg@10 row: a gap
    assert _vals(navec["error_y"]["array"])[1] is None
    hover = use["hovertext"][0]
    assert "n = 60" in hover and "CI [0.600, 0.780]" in hover and "usem3" in hover
    assert d["data"][0]["marker"]["color"] != d["data"][1]["marker"]["color"]


def test_model_comparison_order_and_bad_input():
    d = plot_model_comparison(_results(), systems=["navec", "USE-m3"], metrics=["ndcg@10"])
    d = d.to_dict()
    assert [t["name"] for t in d["data"]] == ["navec", "USE-m3"]
    assert _vals(d["data"][1]["y"]) == [0.644]
    bad = _results()
    bad.loc[3, "low"] = 0.9
    with pytest.raises(ValueError, match=r"row 3: expected low <= mean <= high"):
        plot_model_comparison(bad)
    with pytest.raises(ValueError, match=r"\('BM25', 'mrr@10'\) repeats"):
        plot_model_comparison(pd.concat([_results(), _results().iloc[2:3]], ignore_index=True))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['n'\]"):
        plot_model_comparison(_results().drop(columns="n"))
    with pytest.raises(ValueError, match="systems names \\['GPT'\\]"):
        plot_model_comparison(_results(), systems=["GPT"])


# ----------------------------------------------------------------------------- distributions
REL = [0.55, 0.65, 0.75, 0.95]
NONREL = [0.05, 0.15, 0.15, 0.25, 0.55]


def test_similarity_histogram_densities_by_hand():
    d = plot_similarity_distribution(REL, NONREL, bins=[0.0, 0.5, 1.0]).to_dict()
    rel, non = d["data"]
    assert (rel["name"], non["name"]) == ("relevant (n=4)", "non-relevant (n=5)")
    assert rel["marker"]["color"] == RELEVANT_COLOR and non["marker"]["color"] == NONRELEVANT_COLOR
    assert _vals(rel["x"]) == [0.25, 0.75] and _vals(rel["width"]) == [0.5, 0.5]
    # density = count / (n * bin width)
    assert np.allclose(_vals(rel["y"]), [0 / 2, 4 / 2])
    assert np.allclose(_vals(non["y"]), [4 / 2.5, 1 / 2.5])
    assert d["layout"]["barmode"] == "overlay"
    assert "count 4 of 5" in non["hovertext"][0]


def test_similarity_histogram_integer_bins_integrate_to_one():
    rng = np.random.default_rng(1)
    d = plot_similarity_distribution(rng.normal(0.7, 0.1, 50), rng.normal(0.2, 0.1, 400), bins=12)
    for t in d.to_dict()["data"]:
        y, w = np.array(_vals(t["y"])), np.array(_vals(t["width"]))
        assert len(y) == 12 and np.isclose((y * w).sum(), 1.0)


def test_similarity_distribution_several_systems_and_violin():
    systems = {"USE": (REL, NONREL), "BM25": ([0.4, 0.5], [0.1, 0.2, 0.3])}
    d = plot_similarity_distribution(systems).to_dict()
    assert [t["name"] for t in d["data"]] == [
        "USE · relevant (n=4)",
        "USE · non-relevant (n=5)",
        "BM25 · relevant (n=2)",
        "BM25 · non-relevant (n=3)",
    ]
    assert [t.get("xaxis", "x") for t in d["data"]] == ["x", "x", "x2", "x2"]
    v = plot_similarity_distribution(REL, NONREL, kind="violin").to_dict()
    assert [t["type"] for t in v["data"]] == ["violin", "violin"]
    assert _vals(v["data"][0]["y"]) == REL and _vals(v["data"][1]["y"]) == NONREL
    assert v["data"][0]["name"] == "relevant (n=4)"
    vs = plot_similarity_distribution(systems, kind="violin").to_dict()
    assert [t["x0"] for t in vs["data"]] == ["USE", "USE", "BM25", "BM25"]


def test_similarity_distribution_bad_input():
    with pytest.raises(ValueError, match=r"relevant_scores\[1\] is nan"):
        plot_similarity_distribution([0.1, float("nan")], NONREL)
    with pytest.raises(ValueError, match="nonrelevant_scores is empty"):
        plot_similarity_distribution(REL, [])
    with pytest.raises(ValueError, match="nonrelevant_scores is required"):
        plot_similarity_distribution(REL)
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_similarity_distribution(REL, NONREL, kind="box")
    with pytest.raises(ValueError, match="must be None when relevant_scores is a mapping"):
        plot_similarity_distribution({"a": (REL, NONREL)}, NONREL)
    with pytest.raises(ValueError, match="bins must be"):
        plot_similarity_distribution(REL, NONREL, bins=[0.5, 0.2])


# ----------------------------------------------------------------------------- lr / loss
def test_lr_schedule_series():
    sched = {"warmup 10000": [0.0, 2e-9, 4e-9], "pairs": [(0, 1e-5), (10, 5e-6)]}
    d = plot_lr_schedule(sched, log_y=True).to_dict()
    a, b = d["data"]
    assert (a["name"], b["name"]) == ("warmup 10000", "pairs")
    assert _vals(a["x"]) == [0, 1, 2] and _vals(a["y"]) == [0.0, 2e-9, 4e-9]
    assert _vals(b["x"]) == [0, 10] and _vals(b["y"]) == [1e-5, 5e-6]
    assert d["layout"]["yaxis"]["type"] == "log"
    assert plot_lr_schedule(sched).to_dict()["layout"]["yaxis"]["type"] == "linear"
    big = plot_lr_schedule({"long": np.linspace(0, 1e-5, 2001)}).to_dict()
    assert big["data"][0]["type"] == "scattergl"


def test_lr_schedule_bad_input():
    with pytest.raises(ValueError, match=r"schedules\['a'\]\[1\] = -1.0 is negative"):
        plot_lr_schedule({"a": [0.1, -1.0]})
    with pytest.raises(ValueError, match=r"schedules\['a'\]\[1\] has step 3 after step 5"):
        plot_lr_schedule({"a": [(5, 0.1), (3, 0.2)]})
    with pytest.raises(ValueError, match="non-empty mapping"):
        plot_lr_schedule({})
    with pytest.raises(ValueError, match=r"schedules\['a'\] is empty"):
        plot_lr_schedule({"a": []})


def test_loss_curve_raw_and_smoothed():
    d = plot_loss_curve({"train": [4.0, 2.0, 3.0, 1.0], "eval": [(0, 3.5), (3, 1.5)]}).to_dict()
    assert [t["name"] for t in d["data"]] == ["train", "eval"]
    assert _vals(d["data"][1]["x"]) == [0, 3]
    s = plot_loss_curve({"train": [4.0, 2.0, 3.0, 1.0]}, smooth=2).to_dict()
    raw, smooth = s["data"]
    assert raw["showlegend"] is False and raw["legendgroup"] == smooth["legendgroup"] == "train"
    assert _vals(raw["y"]) == [4.0, 2.0, 3.0, 1.0]
    assert np.allclose(_vals(smooth["y"]), [4.0, 3.0, 2.5, 2.0])  # trailing mean of 2
    assert smooth["name"] == "train (mean of 2)"
    with pytest.raises(ValueError, match="smooth must be an integer >= 1, got 0"):
        plot_loss_curve({"train": [1.0]}, smooth=0)
    with pytest.raises(ValueError, match=r"curves\['t'\]\[0\] is not finite"):
        plot_loss_curve({"t": [float("inf")]})


# ----------------------------------------------------------------------------- all figures
BUILDERS = {
    "embedding_map": lambda: _map(),
    "heatmap": lambda: plot_similarity_heatmap(
        SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS, relevant_mask=MASK
    ),
    "rank": lambda: plot_rank(RANKS, query_texts=RANK_TEXTS),
    "margins": lambda: plot_margins(_margin_table()),
    "model_comparison": lambda: plot_model_comparison(_results()),
    "histogram": lambda: plot_similarity_distribution(REL, NONREL),
    "violin": lambda: plot_similarity_distribution({"a": (REL, NONREL)}, kind="violin"),
    "lr": lambda: plot_lr_schedule({"a": [0.0, 1e-5]}),
    "loss": lambda: plot_loss_curve({"a": [1.0, 0.5]}, smooth=2),
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_figures_are_deterministic_and_serialise(name):
    fig = BUILDERS[name]()
    assert isinstance(fig, go.Figure)
    assert fig.to_dict() == BUILDERS[name]().to_dict()
    data = json.loads(fig.to_json())
    assert data["data"] and data["layout"]["template"]
    assert pio.from_json(fig.to_json()).to_dict()["data"] == fig.to_dict()["data"]
    html = pio.to_html(fig, include_plotlyjs=False, full_html=False)
    assert "Plotly.newPlot" in html and "<script" in html


def test_size_and_title_applied_everywhere():
    fig = plot_rank({"a": 1}, title="Ранги", width=640, height=320).to_dict()["layout"]
    assert (fig["title"]["text"], fig["width"], fig["height"]) == ("Ранги", 640, 320)


def test_public_exports():
    assert sorted(plots.__all__) == sorted(
        [
            "plot_cluster_contingency",
            "plot_cluster_keywords",
            "plot_cluster_map",
            "plot_embedding_map",
            "plot_loss_curve",
            "plot_lr_schedule",
            "plot_margins",
            "plot_model_comparison",
            "plot_rank",
            "plot_similarity_distribution",
            "plot_similarity_heatmap",
            "plot_warmup_sensitivity",
            "setup_notebook",
        ]
    )
    assert all(callable(getattr(plots, n)) for n in plots.__all__)


# ----------------------------------------------------------------------------- readability fixes
def test_rank_log_axis_has_clean_1_2_5_ticks():
    ranks = {f"q{i}": r for i, r in enumerate([1] * 40 + [2, 3, 4, 6, 8, 9, 13, 17, 27, 63])}
    ranks["q_missing"] = None
    y_axis = plot_rank(ranks, depth=350).to_dict()["layout"]["yaxis"]
    ticks = _vals(y_axis["tickvals"])
    assert y_axis["tickmode"] == "array" and y_axis["ticktext"] == [str(t) for t in ticks]
    for t in ticks:  # only 1, 2, 5 times a power of ten: no "8 9 10 2 3" minor digits
        mantissa = t / 10 ** np.floor(np.log10(t))
        assert round(mantissa, 9) in (1, 2, 5), t
    assert ticks[0] == 1 and ticks == sorted(ticks)
    low, high = y_axis["range"]  # log10 units: every rank and the "not retrieved" row inside
    assert low < 0 < np.log10(63) and np.log10(1.5 * 350) < high
    assert all(10**low <= t <= 10**high for t in ticks)
    assert ticks[-1] * 10 > 1.5 * 350  # the ticks reach the top decade
    linear = plot_rank({"a": 2}, log_y=False).to_dict()["layout"]["yaxis"]
    assert "tickvals" not in linear  # a linear axis keeps plotly's own ticks


def test_margins_height_grows_with_queries_so_labels_do_not_overprint():
    n = 83
    rng = np.random.default_rng(0)
    pos, neg = rng.uniform(0.3, 0.9, n), rng.uniform(0.2, 0.8, n)
    table = pd.DataFrame({
        "query_id": [f"q{i}" for i in range(n)],
        "query": [f"запрос номер {i} о доставке товаров роботами" for i in range(n)],
        "best_positive": pos, "hardest_negative": neg, "margin": pos - neg,
    })
    layout = plot_margins(table).to_dict()["layout"]
    font = layout["yaxis"]["tickfont"]["size"]
    assert len(layout["yaxis"]["ticktext"]) == n
    # the rows alone (without title and axis) give each label more than its font height
    assert (layout["height"] - 150) / n > font
    small = plot_margins(_margin_table()).to_dict()["layout"]
    assert small["height"] >= 450
    assert plot_margins(table, height=600).to_dict()["layout"]["height"] == 600


def test_margin_segments_carry_no_copy_of_the_hover():
    d = plot_margins(_margin_table()).to_dict()
    for seg in d["data"][:2]:
        assert seg["hoverinfo"] == "skip" and "hovertext" not in seg
    best, hardest = d["data"][2:]
    assert len(_vals(best["hovertext"])) == 4  # the full hover, once per row
    assert "hovertext" not in hardest and "%{customdata}" in hardest["hovertemplate"]


def _plot_area(layout):
    m = layout["margin"]
    return layout["width"] - m["l"] - m["r"], layout["height"] - m["t"] - m["b"]


def _spans(layout):
    (x0, x1), (y0, y1) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    return x1 - x0, y1 - y0


@pytest.mark.parametrize("stretch", [1.0, 0.3, 3.0])
def test_embedding_map_points_fill_the_frame(stretch):
    doc_xy = np.array(DOC_XY) * [1.0, stretch]
    query_xy = np.array(QUERY_XY) * [1.0, stretch]
    layout = plot_embedding_map(
        doc_xy, doc_ids=DOC_IDS, doc_texts=DOC_TEXTS, doc_ipc=DOC_IPC, query_xy=query_xy,
        query_ids=QUERY_IDS, query_texts=QUERY_TEXTS, links=LINKS, top1=TOP1,
    ).to_dict()["layout"]
    pts = np.vstack([doc_xy, query_xy])
    data_w, data_h = np.ptp(pts, axis=0)
    range_w, range_h = _spans(layout)
    (x0, x1), (y0, y1) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    assert x0 <= pts[:, 0].min() and pts[:, 0].max() <= x1
    assert y0 <= pts[:, 1].min() and pts[:, 1].max() <= y1
    assert data_w / range_w > 0.9 and data_h / range_h > 0.9  # little empty border
    assert "scaleanchor" not in layout["yaxis"]  # no shrinking into a fixed frame
    area_w, area_h = _plot_area(layout)
    # one data unit is as many pixels across as up: the frame has the points' shape
    assert area_w / range_w == pytest.approx(area_h / range_h, rel=0.02)


def test_embedding_map_explicit_size_is_kept():
    layout = _map(width=800, height=500).to_dict()["layout"]
    assert (layout["width"], layout["height"]) == (800, 500)
    assert "range" in layout["xaxis"] and "range" in layout["yaxis"]


def test_cluster_map_fills_frame_and_shows_its_legend():
    from toolkit.plots import plot_cluster_map

    rng = np.random.default_rng(1)
    xy = rng.normal(size=(300, 2)) * [10.0, 2.0]  # a wide, flat cloud
    labels = rng.integers(-1, 30, size=300)
    fig = plot_cluster_map(xy, labels, texts=[f"t{i}" for i in range(300)])
    layout = fig.to_dict()["layout"]
    entries = sum(t.showlegend is not False for t in fig.data)
    area_w, area_h = _plot_area(layout)
    assert area_h >= 20 * entries  # every legend entry fits beside the map
    range_w, range_h = _spans(layout)
    assert np.ptp(xy[:, 0]) / range_w > 0.9 and np.ptp(xy[:, 1]) / range_h > 0.9


def test_figures_carry_a_slim_template_with_the_same_look():
    full = pio.templates["plotly_white"].to_plotly_json()
    fig = plot_rank(RANKS, query_texts=RANK_TEXTS)
    tmpl = fig.to_dict()["layout"]["template"]
    assert set(tmpl["data"]) == {t["type"] for t in fig.to_dict()["data"]} == {"scatter"}
    assert tmpl["data"]["scatter"] == full["data"]["scatter"]
    for key in ("plot_bgcolor", "paper_bgcolor", "xaxis", "yaxis", "colorway", "font"):
        assert tmpl["layout"][key] == full["layout"][key]
    assert len(json.dumps(tmpl)) < len(json.dumps(full)) / 2


# ----------------------------------------------------------------------------- legible at 900 px
# A notebook shows each figure as a PNG at most 900 px wide (toolkit.plots.notebook): a wider
# figure is scaled down, its text with it. The three figures below were illegible there.
CYRILLIC_EM = 0.55  # a lower bound of the drawn width of a Cyrillic character, in em


def _px_at_least(text: str, font: float) -> float:
    """A lower bound of the drawn width of ``text`` (kaleido draws Cyrillic at >= 0.55 em)."""
    return len(text) * CYRILLIC_EM * font


def _heatmap_block(n_q=15, n_d=59, seed=0):
    rng = np.random.default_rng(seed)
    queries = [f"запрос номер {i} о доставке товаров автономными роботами" for i in range(n_q)]
    titles = [
        f"СПОСОБ И УСТРОЙСТВО {j} ДЛЯ ОБНАРУЖЕНИЯ ВТОРЖЕНИЙ В КОМПЬЮТЕРНЫЕ СЕТИ С ПОМОЩЬЮ "
        "НЕЙРОННОЙ СЕТИ"
        for j in range(n_d)
    ]
    mask = np.zeros((n_q, n_d), dtype=bool)
    for i in range(n_q):
        mask[i, (4 * i) % n_d] = mask[i, (4 * i + 1) % n_d] = True
    return rng.random((n_q, n_d)), queries, titles, mask


def test_heatmap_many_titles_are_rows_with_whole_labels_and_full_hover():
    scores, queries, titles, mask = _heatmap_block()  # notebook 04: 15 queries x 59 titles
    d = plot_similarity_heatmap(
        scores, query_labels=queries, doc_labels=titles, relevant_mask=mask
    ).to_dict()
    (trace,) = d["data"]
    layout = d["layout"]
    # titles are the rows (horizontal labels), queries the columns; hover keeps full texts
    assert [_flat(y) for y in _vals(trace["y"])] == titles
    assert [_flat(x) for x in _vals(trace["x"])] == queries
    assert "query: %{x}" in trace["hovertemplate"] and "title: %{y}" in trace["hovertemplate"]
    assert np.allclose(np.array(_vals(trace["z"]), dtype=float), scores.T)
    assert (np.array(_vals(trace["customdata"])).astype(bool) == mask.T).all()
    got = sorted((s["x0"], s["y0"]) for s in layout["shapes"])
    assert got == sorted((i - 0.5, j - 0.5) for i, j in zip(*np.nonzero(mask), strict=True))
    y_axis, x_axis = layout["yaxis"], layout["xaxis"]
    assert y_axis["autorange"] == "reversed" and y_axis.get("tickangle", 0) == 0
    ticks = y_axis["ticktext"]
    assert len(ticks) == 59 and all(len(t) <= 40 for t in ticks)
    assert ticks[0] == truncate_label(titles[0], 40)
    font = y_axis["tickfont"]["size"]
    m = layout["margin"]
    # each title row is taller than its label; the left margin holds the longest label
    assert (layout["height"] - m["t"] - m["b"]) / 59 >= font + 4
    assert m["l"] >= max(_px_at_least(t, font) for t in ticks)
    # the figure fits a 900 px page unscaled, with a legible font and 15 separate columns
    assert layout["width"] <= 900 and font >= 11
    assert (layout["width"] - m["l"] - m["r"]) / 15 >= np.sqrt(2) * x_axis["tickfont"]["size"]
    # the slanted query labels fit below the cells
    slant = max(_px_at_least(t, x_axis["tickfont"]["size"]) for t in x_axis["ticktext"])
    assert m["b"] >= slant / np.sqrt(2)


def test_heatmap_titles_on_picks_the_axis():
    scores, queries, titles, mask = _heatmap_block()
    old = plot_similarity_heatmap(
        scores, query_labels=queries, doc_labels=titles, relevant_mask=mask, titles_on="x"
    ).to_dict()
    assert [_flat(x) for x in _vals(old["data"][0]["x"])] == titles  # the former layout
    assert old["layout"]["xaxis"]["tickangle"] == -45
    small = plot_similarity_heatmap(
        SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS, relevant_mask=MASK, titles_on="y"
    ).to_dict()
    assert [_flat(y) for y in _vals(small["data"][0]["y"])] == D_LABELS
    assert len(small["layout"]["shapes"]) == 4
    many_queries = plot_similarity_heatmap(  # both axes long: the titles stay the columns
        np.zeros((40, 59)), query_labels=[f"q{i}" for i in range(40)], doc_labels=titles
    ).to_dict()
    assert [_flat(x) for x in _vals(many_queries["data"][0]["x"])] == titles
    with pytest.raises(ValueError, match="titles_on must be one of"):
        plot_similarity_heatmap(SCORES, query_labels=Q_LABELS, doc_labels=D_LABELS, titles_on="z")


KEYWORDS_LONG = [
    "теплоизоляционный", "роботизированный", "робот-манипулятор", "газ", "мост", "вода",
]  # fmt: skip


def _keyword_table(n=12, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        words = [f"{KEYWORDS_LONG[(c + k) % 6]}" for k in range(6)]
        rows.append({"cluster": c, "size": 20 - c, "keywords": words,
                     "scores": sorted(rng.uniform(0.02, 0.2, 6), reverse=True)})  # fmt: skip
    return pd.DataFrame(rows)


def _panel_gaps(layout: dict, n_panels: int, n_cols: int) -> list[tuple[float, float]]:
    """``(room in px left of panel k's bars, font)`` for each panel."""
    width = layout.get("width") or 700  # plotly's defaults where unset
    margin = {"l": 80, "r": 80, **layout.get("margin", {})}
    plot_w = width - margin["l"] - margin["r"]
    out = []
    for k in range(n_panels):
        suffix = "" if k == 0 else str(k + 1)
        start = layout[f"xaxis{suffix}"]["domain"][0]
        if k % n_cols == 0:
            room = margin["l"] + start * plot_w
        else:
            prev_end = layout[f"xaxis{k if k > 1 else ''}"]["domain"][1]
            room = (start - prev_end) * plot_w
        font = layout[f"yaxis{suffix}"].get("tickfont", {}).get("size", 12)
        out.append((room, font))
    return out


@pytest.mark.parametrize("width", [None, 900])
def test_cluster_keywords_labels_stay_in_their_own_panel(width):
    from toolkit.plots import plot_cluster_keywords

    table = _keyword_table()  # notebook 03: 12 panels, 6 keywords each, 4 per row
    fig = plot_cluster_keywords(table, top_n=6, clusters=list(range(12)), n_cols=4, width=width)
    d = fig.to_dict()
    layout = d["layout"]
    for k, (room, font) in enumerate(_panel_gaps(layout, 12, 4)):
        longest = max(d["data"][k]["y"], key=len)
        # the room left of a panel's bars holds its longest keyword (plus tick padding)
        assert room >= _px_at_least(longest, font) + 6, (k, room, longest)
    assert layout["width"] <= 1000  # scaled to 900 px, the 11 px labels stay >= 10 px
    assert all(layout[f"xaxis{s}"]["tickangle"] == 0 for s in ["", *map(str, range(2, 13))])


def _cluster_map_inputs(n_clusters=27, per_cluster=9, n_noise=40, seed=0):
    """Notebook 03's shape: 27 clusters with 3 keywords each, noise, all 8 IPC sections."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_clusters), per_cluster)
    labels = np.concatenate([labels, np.full(n_noise, -1)])
    rng.shuffle(labels)
    n = len(labels)
    xy = rng.normal(size=(n, 2)) * [7.0, 5.0]
    sections = np.array(list("ABCDEFGH"))
    # every cluster's first point is of another section than most of its points
    ipc = [f"{sections[(c + 1) % 8]}01B 1/00" for c in labels]
    seen = set()
    for i, c in enumerate(labels):
        if c not in seen:
            seen.add(c)
            ipc[i] = f"{sections[c % 8]}99Z 9/99"
    keywords = {c: ["теплоизоляционный", "роботизированный", "робот-манипулятор"]
                for c in range(n_clusters)}  # fmt: skip
    ids = [f"RU{i}" for i in range(n)]
    return xy, labels, ipc, keywords, ids


def test_cluster_map_legend_one_entry_per_cluster_and_a_separate_symbol_key():
    from toolkit.plots import plot_cluster_map
    from toolkit.plots.cluster_map import IPC_SYMBOLS

    xy, labels, ipc, keywords, ids = _cluster_map_inputs()
    fig = plot_cluster_map(xy, labels, texts=[f"t{i}" for i in range(len(ids))], ipc=ipc,
                           keywords=keywords, doc_ids=ids, max_keywords=3)  # fmt: skip
    d = fig.to_dict()
    layout = d["layout"]
    shown = [t for t in d["data"] if t.get("showlegend", True)]
    clusters = [t for t in shown if t.get("legend", "legend") == "legend"]
    keys = [t for t in shown if t.get("legend") == "legend2"]
    # one entry per cluster (and noise) in one legend, one per IPC section in another
    assert [t["name"] for t in clusters][:2] == ["noise", "0: теплоизоляционный, "
                                                "роботизированный, робот-манипулятор"]  # fmt: skip
    assert len(clusters) == 27 + 1 and len({t["name"] for t in clusters}) == 28
    assert [t["name"] for t in keys] == [f"IPC {IPC_NAMES[s]}" for s in "ABCDEFGH"]
    assert all(t["marker"]["color"] == "#444444" and t["x"] == [None] for t in keys)
    assert layout["legend2"]["title"]["text"] and layout["legend"]["title"]["text"]
    # a cluster's entry shows its colour and its most common section's symbol
    for t, c in zip(clusters[1:], range(27), strict=True):
        symbols = list(t["marker"]["symbol"])
        assert symbols[0] == IPC_SYMBOLS["ABCDEFGH"[(c + 1) % 8]]
        assert isinstance(t["marker"]["color"], str)
    # each point keeps its own position, id, hover and symbol after the reordering
    row = {i: k for k, i in enumerate(ids)}
    for t in fig.data[1:28]:
        for x, y, doc, hover, sym in zip(t.x, t.y, t.customdata, t.hovertext, t.marker.symbol,
                                         strict=True):  # fmt: skip
            k = row[doc]
            assert (x, y) == pytest.approx(tuple(xy[k]), abs=1e-3)
            assert doc in hover and sym == IPC_SYMBOLS[ipc[k][0]]
    # both legends below the map, the symbol key under the clusters, in a 900 px figure
    assert layout["legend"]["orientation"] == layout["legend2"]["orientation"] == "h"
    assert layout["legend2"]["y"] < layout["legend"]["y"] < 0
    assert layout["width"] <= 900
    assert layout["margin"]["b"] >= 19 * (14 + 1 + 3 + 1)  # 28 entries in 2 columns, 8 in 3


def test_cluster_map_noise_is_the_only_grey():
    import colorsys

    from toolkit.plots import plot_cluster_map

    xy, labels, ipc, keywords, ids = _cluster_map_inputs()
    d = plot_cluster_map(xy, labels, texts=ids, ipc=ipc, keywords=keywords).to_dict()
    noise, *clusters = [t for t in d["data"] if t.get("legend", "legend") == "legend"]
    assert noise["name"] == "noise" and noise["marker"]["color"] == "#999999"
    assert noise["opacity"] >= 0.75  # lighter, it was lost in the 32-colour notebook PNG
    for t in clusters:
        color = t["marker"]["color"]
        r, g, b = (int(color[k : k + 2], 16) / 255 for k in (1, 3, 5))
        assert colorsys.rgb_to_hls(r, g, b)[2] >= 0.3, (t["name"], color)  # not a grey


def test_cluster_map_legend_position():
    from toolkit.plots import plot_cluster_map

    xy, labels, ipc, keywords, ids = _cluster_map_inputs()
    right = plot_cluster_map(xy, labels, texts=ids, ipc=ipc, keywords=keywords,
                             legend_position="right").to_dict()  # fmt: skip
    assert "legend2" not in right["layout"] and all("legend" not in t for t in right["data"])
    assert right["layout"]["legend"].get("orientation", "v") == "v"
    short = plot_cluster_map(xy, labels, texts=ids, ipc=ipc).to_dict()  # "cluster 3": short
    assert "legend2" not in short["layout"]
    bottom = plot_cluster_map(xy, labels, texts=ids, legend_position="bottom").to_dict()
    assert bottom["layout"]["legend"]["orientation"] == "h" and "legend2" not in bottom["layout"]
    assert "IPC" not in bottom["layout"]["legend"]["title"]["text"]  # no symbols to explain
    with pytest.raises(ValueError, match="legend_position must be one of"):
        plot_cluster_map(xy, labels, texts=ids, legend_position="left")
