"""2-D map of patent titles (by IPC section) with queries, relevance links and wrong top-1 hits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from toolkit.plots._style import (
    IPC_COLORS,
    IPC_NAMES,
    IPC_SECTIONS,
    LINK_COLOR,
    QUERY_COLOR,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    WRONG_COLOR,
    aligned_list,
    apply_layout,
    fit_map_frame,
    hover_text,
    ipc_section,
    round_coords,
    scatter_class,
)

UNKNOWN_IPC_NAME = "IPC unknown"


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

    Traces, in this order (a trace is left out when it would be empty):

    1. ``"relevant links"``: grey lines from each query to each of its relevant titles, all
       segments in one trace as ``[query, doc, NaN, ...]`` in ``links`` order (float32 arrays,
       which plotly stores as base64; NaN breaks the line as ``None`` would), without a
       hover of their own: both ends are markers whose hover names the query and the title.
    2. ``"wrong top-1 links"``: dashed red lines from a query to its top-1 title when that title
       is not among the query's ``links`` (no hover either: the red circle at the title end
       names the pair).
    3. Titles, one trace per IPC section present, in the fixed order A..H, then
       ``"IPC unknown"`` (grey) for missing/unrecognised codes; without ``doc_ipc`` one trace
       ``"titles"``. Hover shows the doc id (``customdata``), the section (trace name), the
       full title and the IPC code when it says more than the section letter.
    4. ``"wrong top-1"``: red open circles around wrongly retrieved top-1 titles.
    5. ``"queries"``: black diamonds; hover shows the query id (``customdata``) and full text.

    Every trace uses ``go.Scattergl`` when titles + queries exceed 2,000 points, else
    ``go.Scatter`` (one class for the whole figure keeps the drawing order intact). Axes have
    no tick labels, since reduced coordinates have no units; coordinates are rounded to
    1e-4 of their span (:func:`~toolkit.plots._style.round_coords`), and the points fill the
    frame: axis ranges are their extent and the figure's size follows their aspect ratio
    (:func:`~toolkit.plots._style.fit_map_frame`), so both axes have the same scale unless
    ``width`` and ``height`` are both given.

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
        The figure.

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
    doc_xy_arr = _coords(doc_xy, "doc_xy")
    n_docs = doc_xy_arr.shape[0]
    doc_ids = _ids(doc_ids, "doc_ids", n_docs, "doc_xy")
    doc_texts = _aligned(doc_texts, "doc_texts", n_docs, "doc_xy")
    sections = _sections(doc_ipc, doc_ids)
    doc_index = {d: i for i, d in enumerate(doc_ids)}

    if query_xy is None:
        for name, value in (("query_ids", query_ids), ("query_texts", query_texts)):
            if value is not None:
                raise ValueError(f"{name} given without query_xy")
        if links is not None or top1 is not None:
            raise ValueError("links and top1 need the queries: pass query_xy and query_ids")
        query_xy_arr = np.zeros((0, 2))
        query_ids = []
    else:
        query_xy_arr = _coords(query_xy, "query_xy")
        if query_ids is None:
            raise ValueError("query_ids is required with query_xy")
        query_ids = _ids(query_ids, "query_ids", query_xy_arr.shape[0], "query_xy")
    n_queries = len(query_ids)
    query_texts = (
        list(query_ids)
        if query_texts is None
        else _aligned(query_texts, "query_texts", n_queries, "query_xy")
    )
    query_index = {q: i for i, q in enumerate(query_ids)}
    if top1 is not None and links is None:
        raise ValueError("top1 needs links (the relevant titles) to tell wrong hits apart")
    _check_links(links, query_index, doc_index)
    _check_top1(top1, query_index, doc_index)
    doc_xy_arr, query_xy_arr = round_coords(doc_xy_arr, query_xy_arr)

    trace_cls = scatter_class(n_docs + n_queries)
    fig = go.Figure()

    def doc_label(i: int) -> str:
        return f"{hover_text(doc_ids[i])}: {hover_text(doc_texts[i])}"

    def query_label(j: int) -> str:
        return f"query {hover_text(query_ids[j])}: {hover_text(query_texts[j])}"

    # 1. relevant links
    if links:
        xs: list[float | None] = []
        ys: list[float | None] = []
        for qid, docs in links.items():
            j = query_index[qid]
            for doc_id in docs:
                i = doc_index[doc_id]
                xs += [float(query_xy_arr[j, 0]), float(doc_xy_arr[i, 0]), None]
                ys += [float(query_xy_arr[j, 1]), float(doc_xy_arr[i, 1]), None]
        if xs:
            fig.add_trace(
                trace_cls(
                    x=_gapped(xs),
                    y=_gapped(ys),
                    mode="lines",
                    name="relevant links",
                    line={"color": LINK_COLOR, "width": 1},
                    opacity=0.6,
                    hoverinfo="skip",  # the markers at both ends carry the hover
                )
            )

    # 2. wrong top-1 (segments now, markers after the titles)
    relevant = {qid: set(docs) for qid, docs in (links or {}).items()}
    wrong = [
        (qid, doc_id)
        for qid, doc_id in (top1 or {}).items()
        if doc_id is not None and doc_id not in relevant.get(qid, set())
    ]
    if wrong:
        xs, ys = [], []
        for qid, doc_id in wrong:
            j, i = query_index[qid], doc_index[doc_id]
            xs += [float(query_xy_arr[j, 0]), float(doc_xy_arr[i, 0]), None]
            ys += [float(query_xy_arr[j, 1]), float(doc_xy_arr[i, 1]), None]
        fig.add_trace(
            trace_cls(
                x=_gapped(xs),
                y=_gapped(ys),
                mode="lines",
                name="wrong top-1 links",
                line={"color": WRONG_COLOR, "width": 1.5, "dash": "dash"},
                hoverinfo="skip",  # the red circle at the title end names the pair
            )
        )

    # 3. titles by IPC section
    if doc_ipc is None:
        groups = [("titles", SERIES_COLORS[0], list(range(n_docs)))]
    else:
        groups = [
            (IPC_NAMES[s], IPC_COLORS[s], [i for i in range(n_docs) if sections[i] == s])
            for s in IPC_SECTIONS
        ]
        groups.append(
            (UNKNOWN_IPC_NAME, UNKNOWN_COLOR, [i for i in range(n_docs) if sections[i] is None])
        )
    for name, color, members in groups:
        if not members:
            continue
        fig.add_trace(
            trace_cls(
                x=doc_xy_arr[members, 0].astype(np.float32),  # stored as base64 "bdata"
                y=doc_xy_arr[members, 1].astype(np.float32),
                mode="markers",
                name=name,
                marker={"color": color, "size": 7, "opacity": 0.8},
                customdata=[doc_ids[i] for i in members],
                # id (customdata) and IPC section (trace name) are stored once, not per label
                hovertext=[
                    hover_text(doc_texts[i]) + _ipc_detail(doc_ipc, doc_ids, i, sections[i])
                    for i in members
                ],
                hovertemplate="<b>%{customdata}</b> · %{fullData.name}<br>%{hovertext}"
                "<extra></extra>",
            )
        )

    # 4. wrong top-1 markers
    if wrong:
        fig.add_trace(
            trace_cls(
                x=[float(doc_xy_arr[doc_index[d], 0]) for _, d in wrong],
                y=[float(doc_xy_arr[doc_index[d], 1]) for _, d in wrong],
                mode="markers",
                name="wrong top-1",
                marker={
                    "symbol": "circle-open",
                    "size": 16,
                    "color": WRONG_COLOR,
                    "line": {"width": 2, "color": WRONG_COLOR},
                },
                customdata=[[q, d] for q, d in wrong],
                hovertext=[
                    f"wrong top-1 for {query_label(query_index[q])}<br>→ {doc_label(doc_index[d])}"
                    for q, d in wrong
                ],
                hoverinfo="text",
            )
        )

    # 5. queries
    if n_queries:
        fig.add_trace(
            trace_cls(
                x=query_xy_arr[:, 0].astype(np.float32),
                y=query_xy_arr[:, 1].astype(np.float32),
                mode="markers",
                name="queries",
                marker={
                    "symbol": "diamond",
                    "size": 10,
                    "color": QUERY_COLOR,
                    "line": {"width": 1, "color": "white"},
                },
                customdata=list(query_ids),
                hovertext=[hover_text(query_texts[j]) for j in range(n_queries)],
                hovertemplate="<b>query %{customdata}</b><br>%{hovertext}<extra></extra>",
            )
        )
    width, height = fit_map_frame(
        fig,
        np.vstack([doc_xy_arr, query_xy_arr]),
        width=width,
        height=height,
        legend_names=[t.name for t in fig.data],
    )
    return apply_layout(
        fig, title=title, width=width, height=height, legend={"itemsizing": "constant"}
    )


def _gapped(values: list[float | None]) -> np.ndarray:
    """Segment coordinates with ``None`` gaps as a float32 array with NaN gaps.

    Plotly stores a numeric array as one base64 string; a list holding ``None`` would be
    stored as one JSON line per number. plotly.js breaks a line at NaN as at ``None``.
    """
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


def _coords(xy, name: str) -> np.ndarray:
    try:
        arr = np.asarray(xy, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an (n, 2) array of numbers ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {arr.shape}")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        r, c = bad[0]
        raise ValueError(f"{name}[{r}, {c}] is {arr[r, c]}; expected a finite number")
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
