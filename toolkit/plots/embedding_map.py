"""2-D map of patent titles (by IPC section) with queries, relevance links and wrong top-1 hits.

:func:`plot_embedding_map` draws these traces, in this order (a trace is left out when it
would be empty):

1. ``"relevant links"``: grey lines from each query to each of its relevant titles, all
   segments in one trace as ``[query, doc, NaN, ...]`` in ``links`` order (float32 arrays,
   which plotly stores as base64; NaN breaks the line as ``None`` would), without a hover of
   their own: both ends are markers whose hover names the query and the title.
2. ``"wrong top-1 links"``: dashed red lines from a query to its top-1 title when that title
   is not among the query's ``links`` (no hover either: the red circle at the title end names
   the pair).
3. Titles, one trace per IPC section present, in the fixed order A..H, then ``"IPC unknown"``
   (grey) for missing/unrecognised codes; without ``doc_ipc`` one trace ``"titles"``. Hover
   shows the doc id (``customdata``), the section (trace name), the full title and the IPC
   code when it says more than the section letter.
4. ``"wrong top-1"``: red open circles around wrongly retrieved top-1 titles.
5. ``"queries"``: black diamonds; hover shows the query id (``customdata``) and full text.

Every trace uses ``go.Scattergl`` when titles + queries exceed 2,000 points, else
``go.Scatter`` (one class for the whole figure keeps the drawing order intact). Axes have no
tick labels, since reduced coordinates have no units; coordinates are rounded to 1e-4 of
their span (:func:`~toolkit.plots._style.round_coords`), and the points fill the frame: axis
ranges are their extent and the figure's size follows their aspect ratio
(:func:`~toolkit.plots._style.fit_map_frame`), so both axes have the same scale unless
``width`` and ``height`` are both given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from toolkit.data.types import IPC_SECTIONS
from toolkit.plots._style import (
    IPC_COLORS,
    IPC_NAMES,
    LINK_COLOR,
    QUERY_COLOR,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    WRONG_COLOR,
    aligned_list,
    check_finite,
    hover_text,
    ipc_section,
    layout_map,
    round_coords,
    scatter_class,
    segment_xy,
)

UNKNOWN_IPC_NAME = "IPC unknown"


@dataclass(frozen=True)
class _MapData:
    """The checked inputs of one map: rounded coordinates, ids, texts and the pairs to draw."""

    doc_xy: np.ndarray
    doc_ids: list
    doc_texts: list
    doc_ipc: Sequence[str | None] | Mapping[str, str | None] | None
    sections: list[str | None]
    query_xy: np.ndarray
    query_ids: list
    query_texts: list
    doc_index: dict  # doc id -> row
    query_index: dict  # query id -> row
    links: Mapping[str, Sequence[str]]
    wrong: list[tuple[str, str]]  # (query id, wrongly retrieved top-1 doc id)


def plot_embedding_map(
    doc_xy: Sequence[Sequence[float]] | np.ndarray,
    *,
    doc_ids: Sequence[str],
    doc_texts: Sequence[str],
    doc_ipc: Sequence[str | None] | Mapping[str, str | None] | None = None,
    query_xy: Sequence[Sequence[float]] | np.ndarray | None = None,
    query_ids: Sequence[str] | None = None,
    query_texts: Sequence[str] | None = None,
    links: Mapping[str, Sequence[str]] | None = None,
    top1: Mapping[str, str | None] | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot titles and queries on a 2-D map (coordinates already reduced by UMAP/PCA/...).

    The traces, their order and their hover are listed in the module docstring
    (:mod:`toolkit.plots.embedding_map`): relevance links, wrong top-1 links, titles by IPC
    section, wrong top-1 markers, queries.

    Args:
        doc_xy: Title coordinates, shape ``(n_docs, 2)``.
        doc_ids: Title ids, one per row of ``doc_xy``, unique.
        doc_texts: Full titles, one per row of ``doc_xy``.
        doc_ipc: IPC codes (e.g. ``"G06F 16/33"``; only the section letter is used), either
            aligned with ``doc_ids`` or a mapping ``doc_id -> code`` (missing ids are unknown).
        query_xy: Query coordinates, shape ``(n_queries, 2)``.
        query_ids: Query ids, one per row of ``query_xy``, unique (required with ``query_xy``).
        query_texts: Query texts aligned with ``query_ids`` (default: the ids).
        links: ``query_id -> [relevant doc_id, ...]``; needs ``query_xy``.
        top1: ``query_id -> doc_id`` retrieved first (``None``: nothing retrieved); needs
            ``links``, which decide whether the hit is wrong.
        title: Figure title.
        width: Figure width in pixels (``None``: from the points' aspect ratio).
        height: Figure height in pixels (``None``: from the points' aspect ratio).

    Returns:
        The figure, its points filling the frame.

    Raises:
        ValueError: On mismatched lengths or shapes, duplicate ids, unknown ids in
            ``links``/``top1``, or ``links``/``top1`` without the queries they need.

    Example:
        >>> fig = plot_embedding_map(
        ...     [[0, 0], [1, 1]], doc_ids=["d1", "d2"], doc_texts=["насос", "робот"],
        ...     doc_ipc=["F04B", "B25J"], query_xy=[[0.9, 1.0]], query_ids=["q1"],
        ...     links={"q1": ["d2"]})
        >>> [t.name for t in fig.data]
        ['relevant links', 'B: Operations; transporting', 'F: Mechanical eng.; heating', 'queries']
    """
    m = _map_data(
        doc_xy, doc_ids, doc_texts, doc_ipc, query_xy, query_ids, query_texts, links, top1
    )
    trace_cls = scatter_class(len(m.doc_ids) + len(m.query_ids))
    fig = go.Figure()
    relevant = [(q, d) for q, docs in m.links.items() for d in docs]
    if relevant:
        style = {"line": {"color": LINK_COLOR, "width": 1}, "opacity": 0.6}
        fig.add_trace(_segments(trace_cls, m, relevant, "relevant links", **style))
    if m.wrong:
        style = {"line": {"color": WRONG_COLOR, "width": 1.5, "dash": "dash"}}
        fig.add_trace(_segments(trace_cls, m, m.wrong, "wrong top-1 links", **style))
    for name, color, members in _title_groups(m):
        if members:
            fig.add_trace(_titles(trace_cls, m, name, color, members))
    if m.wrong:
        fig.add_trace(_wrong_markers(trace_cls, m))
    if m.query_ids:
        fig.add_trace(_queries(trace_cls, m))
    return layout_map(
        fig,
        np.vstack([m.doc_xy, m.query_xy]),
        title=title,
        width=width,
        height=height,
        legend_names=[t.name for t in fig.data],
    )


# ----------------------------------------------------------------------------------- checks


def _map_data(
    doc_xy, doc_ids, doc_texts, doc_ipc, query_xy, query_ids, query_texts, links, top1
) -> _MapData:
    """Check every input (the first problem raises) and return them together."""
    doc_xy_arr = _coords(doc_xy, "doc_xy")
    n_docs = doc_xy_arr.shape[0]
    doc_ids = _ids(doc_ids, "doc_ids", n_docs, "doc_xy")
    doc_texts = _aligned(doc_texts, "doc_texts", n_docs, "doc_xy")
    sections = _sections(doc_ipc, doc_ids)
    doc_index = {d: i for i, d in enumerate(doc_ids)}
    query_xy_arr, query_ids, query_texts = _query_inputs(
        query_xy, query_ids, query_texts, links, top1
    )
    query_index = {q: j for j, q in enumerate(query_ids)}
    if top1 is not None and links is None:
        raise ValueError("top1 needs links (the relevant titles) to tell wrong hits apart")
    _check_links(links, query_index, doc_index)
    _check_top1(top1, query_index, doc_index)
    doc_xy_arr, query_xy_arr = round_coords(doc_xy_arr, query_xy_arr)
    relevant = {qid: set(docs) for qid, docs in (links or {}).items()}
    wrong = [
        (qid, doc_id)
        for qid, doc_id in (top1 or {}).items()
        if doc_id is not None and doc_id not in relevant.get(qid, set())
    ]
    return _MapData(
        doc_xy=doc_xy_arr,
        doc_ids=doc_ids,
        doc_texts=doc_texts,
        doc_ipc=doc_ipc,
        sections=sections,
        query_xy=query_xy_arr,
        query_ids=query_ids,
        query_texts=query_texts,
        doc_index=doc_index,
        query_index=query_index,
        links=links or {},
        wrong=wrong,
    )


def _query_inputs(query_xy, query_ids, query_texts, links, top1) -> tuple[np.ndarray, list, list]:
    """Query coordinates, ids and texts (none: an empty ``(0, 2)`` array and empty lists)."""
    if query_xy is None:
        for name, value in (("query_ids", query_ids), ("query_texts", query_texts)):
            if value is not None:
                raise ValueError(f"{name} given without query_xy")
        if links is not None or top1 is not None:
            raise ValueError("links and top1 need the queries: pass query_xy and query_ids")
        return np.zeros((0, 2)), [], []
    query_xy_arr = _coords(query_xy, "query_xy")
    if query_ids is None:
        raise ValueError("query_ids is required with query_xy")
    n_queries = query_xy_arr.shape[0]
    query_ids = _ids(query_ids, "query_ids", n_queries, "query_xy")
    if query_texts is None:
        return query_xy_arr, query_ids, list(query_ids)
    return query_xy_arr, query_ids, _aligned(query_texts, "query_texts", n_queries, "query_xy")


# ----------------------------------------------------------------------------------- traces


def _segments(trace_cls, m: _MapData, pairs: list[tuple[str, str]], name: str, **style):
    """One line trace of query -> title segments, without a hover of its own.

    The markers at both ends carry the hover (for a wrong top-1, the red circle at the title
    end names the pair).
    """
    j = [m.query_index[q] for q, _ in pairs]
    i = [m.doc_index[d] for _, d in pairs]
    x, y = segment_xy(
        m.query_xy[j, 0], m.query_xy[j, 1], m.doc_xy[i, 0], m.doc_xy[i, 1], dtype=np.float32
    )
    return trace_cls(x=x, y=y, mode="lines", name=name, hoverinfo="skip", **style)


def _title_groups(m: _MapData) -> list[tuple[str, str, list[int]]]:
    """``(trace name, colour, rows)`` per IPC section A..H then unknown (or one group)."""
    n_docs = len(m.doc_ids)
    if m.doc_ipc is None:
        return [("titles", SERIES_COLORS[0], list(range(n_docs)))]
    groups = [
        (IPC_NAMES[s], IPC_COLORS[s], [i for i in range(n_docs) if m.sections[i] == s])
        for s in IPC_SECTIONS
    ]
    groups.append(
        (UNKNOWN_IPC_NAME, UNKNOWN_COLOR, [i for i in range(n_docs) if m.sections[i] is None])
    )
    return groups


def _titles(trace_cls, m: _MapData, name: str, color: str, members: list[int]):
    """The marker trace of one group of titles."""
    return trace_cls(
        x=m.doc_xy[members, 0].astype(np.float32),  # stored as base64 "bdata"
        y=m.doc_xy[members, 1].astype(np.float32),
        mode="markers",
        name=name,
        marker={"color": color, "size": 7, "opacity": 0.8},
        customdata=[m.doc_ids[i] for i in members],
        # id (customdata) and IPC section (trace name) are stored once, not per label
        hovertext=[
            hover_text(m.doc_texts[i]) + _ipc_detail(m.doc_ipc, m.doc_ids, i, m.sections[i])
            for i in members
        ],
        hovertemplate="<b>%{customdata}</b> · %{fullData.name}<br>%{hovertext}<extra></extra>",
    )


def _wrong_markers(trace_cls, m: _MapData):
    """Red open circles around the wrongly retrieved top-1 titles, naming query and title."""
    rows = [m.doc_index[d] for _, d in m.wrong]
    hover = []
    for q, d in m.wrong:
        j, i = m.query_index[q], m.doc_index[d]
        query = f"query {hover_text(m.query_ids[j])}: {hover_text(m.query_texts[j])}"
        doc = f"{hover_text(m.doc_ids[i])}: {hover_text(m.doc_texts[i])}"
        hover.append(f"wrong top-1 for {query}<br>→ {doc}")
    return trace_cls(
        x=[float(m.doc_xy[i, 0]) for i in rows],
        y=[float(m.doc_xy[i, 1]) for i in rows],
        mode="markers",
        name="wrong top-1",
        marker={
            "symbol": "circle-open",
            "size": 16,
            "color": WRONG_COLOR,
            "line": {"width": 2, "color": WRONG_COLOR},
        },
        customdata=[[q, d] for q, d in m.wrong],
        hovertext=hover,
        hoverinfo="text",
    )


def _queries(trace_cls, m: _MapData):
    """Black diamonds, one per query."""
    return trace_cls(
        x=m.query_xy[:, 0].astype(np.float32),
        y=m.query_xy[:, 1].astype(np.float32),
        mode="markers",
        name="queries",
        marker={
            "symbol": "diamond",
            "size": 10,
            "color": QUERY_COLOR,
            "line": {"width": 1, "color": "white"},
        },
        customdata=list(m.query_ids),
        hovertext=[hover_text(text) for text in m.query_texts],
        hovertemplate="<b>query %{customdata}</b><br>%{hovertext}<extra></extra>",
    )


# ---------------------------------------------------------------------------------- helpers


def _coords(xy, name: str) -> np.ndarray:
    try:
        arr = np.asarray(xy, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an (n, 2) array of numbers ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {arr.shape}")
    check_finite(arr, name)
    return arr


def _aligned(values, name: str, n: int, against: str) -> list:
    return aligned_list(values, name, n, of=f"{against} has {n} rows")


def _ids(values, name: str, n: int, against: str) -> list[str]:
    values = _aligned(values, name, n, against)
    seen: set = set()
    for pos, value in enumerate(values):
        if value in seen:
            raise ValueError(f"{name}[{pos}] = {value!r} is a duplicate; ids must be unique")
        seen.add(value)
    return values


def _sections(doc_ipc, doc_ids: list) -> list[str | None]:
    if doc_ipc is None:
        return [None] * len(doc_ids)
    if isinstance(doc_ipc, Mapping):
        return [ipc_section(doc_ipc.get(d)) for d in doc_ids]
    codes = _aligned(doc_ipc, "doc_ipc", len(doc_ids), "doc_xy")
    return [ipc_section(c) for c in codes]


def _ipc_detail(doc_ipc, doc_ids: list, i: int, section: str | None) -> str:
    """``"<br>IPC <code>"`` when the code says more than its section (the trace name)."""
    code = _ipc_display(doc_ipc, doc_ids, i)
    if code == "—" or code.strip().upper() == (section or ""):
        return ""
    return f"<br>IPC {code}"


def _ipc_display(doc_ipc, doc_ids: list, i: int) -> str:
    if doc_ipc is None:
        return "—"
    code = doc_ipc.get(doc_ids[i]) if isinstance(doc_ipc, Mapping) else doc_ipc[i]
    if code is None or (isinstance(code, float) and code != code) or not str(code).strip():
        return "—"
    return hover_text(code)


def _check_links(links, query_index: dict, doc_index: dict) -> None:
    if links is None:
        return
    for qid, docs in links.items():
        if qid not in query_index:
            raise ValueError(f"links has query id {qid!r} that is not in query_ids")
        if isinstance(docs, (str, bytes)):
            raise ValueError(f"links[{qid!r}] must be a list of doc ids, not a single string")
        for doc_id in docs:
            if doc_id not in doc_index:
                raise ValueError(f"links[{qid!r}] has doc id {doc_id!r} that is not in doc_ids")


def _check_top1(top1, query_index: dict, doc_index: dict) -> None:
    if top1 is None:
        return
    for qid, doc_id in top1.items():
        if qid not in query_index:
            raise ValueError(f"top1 has query id {qid!r} that is not in query_ids")
        if doc_id is not None and doc_id not in doc_index:
            raise ValueError(f"top1[{qid!r}] = {doc_id!r} is not in doc_ids")
