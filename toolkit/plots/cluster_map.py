"""2-D map of clustered titles: colour = cluster (noise grey), marker symbol = IPC section."""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from toolkit._validation import check_int
from toolkit.data.types import IPC_SECTIONS
from toolkit.plots._style import (
    IPC_NAMES,
    MAP_PAD,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    apply_layout,
    hover_text,
    ipc_section,
    label_px,
    layout_map,
    round_coords,
    scatter_class,
)

NOISE_COLOR = UNKNOWN_COLOR
# One marker symbol per IPC section A..H; unknown sections get an open circle.
IPC_SYMBOLS: dict[str, str] = {
    "A": "circle",
    "B": "square",
    "C": "diamond",
    "D": "cross",
    "E": "x",
    "F": "triangle-up",
    "G": "star",
    "H": "pentagon",
}
UNKNOWN_SYMBOL = "circle-open"
SYMBOL_KEY_COLOR = "#444444"  # the neutral colour of the IPC symbol key
CLUSTER_MARKER_PX = 9  # big enough to tell the eight symbols apart
NOISE_MARKER_PX = 6
# noise: grey, yet dark enough to keep its own colour in a 32-colour notebook PNG (at 0.5
# the light grey it made was merged into the white background)
NOISE_OPACITY = 0.8
# legend_position="auto": a legend wider than this (a third of the 900 px a notebook PNG is
# shown at, see toolkit.plots.notebook) goes below the map
MAX_SIDE_LEGEND_PX = 300
BOTTOM_MAP_W = 900  # default figure width with the legends below the map
_LEGEND_FONT_PX = 12
_LEGEND_ITEM_PX = 19  # height of one legend row at a 12 px font (measured, plotly 7)
_LEGEND_ICON_PX = 44  # per entry beside its ``entrywidth``: symbol and gaps (measured)
_BOTTOM_MARGIN = {"l": 20, "r": 20, "t": 60}
LEGEND_POSITIONS = ("auto", "right", "bottom")


def _saturation(color: str) -> float:
    """HLS saturation of a ``#RRGGBB`` colour (0 for greys)."""
    r, g, b = (int(color[k : k + 2], 16) / 255 for k in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[2]


# Cluster colours: the series colours, then Dark24, without greys and near-greys (saturation
# below 0.3: grey is reserved for noise, and #222A2A, #778AAE, #B2828D read as grey once a
# notebook PNG is reduced to 32 colours): 28 colours.
CLUSTER_COLORS: tuple[str, ...] = tuple(
    c for c in (*SERIES_COLORS, *plotly.colors.qualitative.Dark24) if _saturation(c) >= 0.3
)


def cluster_color(cluster: int) -> str:
    """Colour of a cluster id (noise ``-1`` is grey); shared by the cluster figures.

    Args:
        cluster: Cluster id.

    Returns:
        A hex colour.
    """
    if cluster < 0:
        return NOISE_COLOR
    return CLUSTER_COLORS[cluster % len(CLUSTER_COLORS)]


def _keyword_lookup(keywords: Any) -> dict[int, list[str]]:
    if keywords is None:
        return {}
    if isinstance(keywords, pd.DataFrame):
        missing = {"cluster", "keywords"} - set(keywords.columns)
        if missing:
            raise ValueError(f"keywords: DataFrame lacks column(s) {sorted(missing)}")
        pairs = zip(keywords["cluster"], keywords["keywords"], strict=True)
        return {int(c): list(k) for c, k in pairs}
    if isinstance(keywords, Mapping):
        return {int(c): list(k) for c, k in keywords.items()}
    raise ValueError(
        "keywords: expected label_clusters()'s DataFrame or a mapping cluster -> keywords, "
        f"got {type(keywords).__name__}"
    )


def plot_cluster_map(
    xy: Sequence[Sequence[float]] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    texts: Sequence[str],
    ipc: Sequence[str | None] | None = None,
    keywords: pd.DataFrame | Mapping[int, Sequence[str]] | None = None,
    doc_ids: Sequence[str] | None = None,
    max_keywords: int = 5,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
    legend_position: str = "auto",
) -> go.Figure:
    """Plot reduced coordinates coloured by cluster, with the IPC section as marker symbol.

    One trace per cluster in increasing id order, named ``"<id>: kw1, kw2, ..."`` when
    keywords are given (else ``"cluster <id>"``); noise (``-1``) is one grey trace named
    ``"noise"``, drawn first so clusters lie on top. With ``ipc`` each point's symbol shows
    its IPC section (A circle, B square, C diamond, D cross, E x, F triangle, G star,
    H pentagon, unknown open circle) and legend-only traces ``"IPC A: ..."`` explain the
    symbols. Hover shows the title, doc id, IPC code and, beside it, the trace name: the
    cluster and its keywords (stored once per cluster, not once per title).

    The legend has one entry per cluster (and noise) and, apart from it, one grey entry per
    IPC section present: it never lists colour x symbol combinations. A cluster's entry shows
    its colour with the symbol of its most common IPC section (plotly draws a legend entry
    with the trace's first marker, so each cluster's points are stored most common section
    first, in their input order otherwise). ``legend_position="bottom"`` puts the clusters'
    legend below the map in as many columns as fit, titled, and the IPC symbol key in a
    second legend below it (``layout.legend2``); the figure is then :data:`BOTTOM_MAP_W`
    pixels wide unless ``width`` is given and the map keeps one scale on both axes.
    ``"right"`` keeps one legend right of the map. ``"auto"`` (default) takes ``"bottom"``
    when the right-hand legend would be wider than :data:`MAX_SIDE_LEGEND_PX` (e.g.
    keywords in the names), else ``"right"``.

    Args:
        xy: Coordinates, shape ``(n, 2)`` (e.g. ``reduce(embeddings)``).
        labels: Cluster id per point (``-1`` = noise).
        texts: Title per point.
        ipc: IPC code per point (only the section letter is used; ``None`` = unknown).
        keywords: ``label_clusters()`` output or a mapping ``cluster -> keywords``.
        doc_ids: Document id per point (default: the row number).
        max_keywords: Keywords shown in legend names and hover (an integer >= 0).
        title: Figure title.
        width: Figure width in pixels (``None``: from the points' aspect ratio and the
            legend; see :func:`~toolkit.plots._style.fit_map_frame`).
        height: Figure height in pixels (``None``: likewise).
        legend_position: ``"auto"``, ``"right"`` or ``"bottom"`` (see above).

    Returns:
        The figure.

    Raises:
        ValueError: On misaligned inputs, non-finite ``xy`` or an unknown
            ``legend_position``.

    Example:
        >>> fig = plot_cluster_map([[0, 0], [1, 1], [5, 5]], [0, 0, -1],
        ...                        texts=["мост", "опора моста", "хлеб"],
        ...                        ipc=["E01D", "E01D", "A21D"])
        >>> [t.name for t in fig.data][:2]
        ['noise', 'cluster 0']
    """
    coords, lab, texts, ipc, ids = _checked(xy, labels, texts, ipc, doc_ids)
    kw, max_keywords = _checked_options(keywords, max_keywords, legend_position)
    clusters = sorted(set(lab.tolist()))  # -1 sorts first
    names = [_cluster_name(c, kw.get(c, [])[:max_keywords]) for c in clusters]
    if legend_position == "auto":
        legend_position = _auto_position(names)
    fig = _map_figure(coords, lab, clusters, names, texts=texts, ids=ids, ipc=ipc,
                      legend_position=legend_position)  # fmt: skip
    if legend_position == "bottom":
        what = _bottom_legend_title(bool(kw and max_keywords), ipc is not None)
        return _layout_bottom(
            fig, coords, title=title, width=width, height=height, legend_title=what
        )
    shown = [t.name for t in fig.data if t.showlegend is not False]
    return layout_map(fig, coords, title=title, width=width, height=height, legend_names=shown)


def _checked_options(
    keywords: Any, max_keywords: int, legend_position: str
) -> tuple[dict[int, list[str]], int]:
    """The keywords by cluster and ``max_keywords``, checked; ``legend_position`` checked."""
    kw = _keyword_lookup(keywords)
    max_keywords = check_int(max_keywords, "max_keywords", minimum=0)
    if legend_position not in LEGEND_POSITIONS:
        raise ValueError(
            f"legend_position must be one of {LEGEND_POSITIONS}, got {legend_position!r}"
        )
    return kw, max_keywords


def _auto_position(names: list[str]) -> str:
    """``"bottom"`` when a legend of ``names`` right of the map would be too wide, else "right".

    Too wide: over :data:`MAX_SIDE_LEGEND_PX`, the longest name and 50 px for its symbol.
    """
    side_px = 50 + max((label_px(n, _LEGEND_FONT_PX) for n in names), default=0)
    return "bottom" if side_px > MAX_SIDE_LEGEND_PX else "right"


def _map_figure(
    coords: np.ndarray,
    lab: np.ndarray,
    clusters: list[int],
    names: list[str],
    *,
    texts: list,
    ids: list[str],
    ipc: list | None,
    legend_position: str,
) -> go.Figure:
    """The figure with one marker trace per cluster and, with ``ipc``, the symbol key.

    ``names``: the clusters' legend names, in the order of ``clusters``. ``legend_position``
    ("right" or "bottom"): on the right the clusters share the legend group ``"clusters"``;
    below the map the symbol key is a legend of its own.
    """
    sections = [ipc_section(c) for c in ipc] if ipc is not None else [None] * len(ids)
    trace_cls = scatter_class(len(ids))
    grouped = legend_position == "right"
    fig = go.Figure()
    for c, name in zip(clusters, names, strict=True):
        members = _most_common_section_first(np.flatnonzero(lab == c), sections)
        fig.add_trace(
            trace_cls(
                x=coords[members, 0].astype(np.float32),  # stored as base64 "bdata"
                y=coords[members, 1].astype(np.float32),
                mode="markers",
                name=name,
                legendgroup="clusters" if grouped else None,
                marker=_marker(c, [sections[i] for i in members] if ipc is not None else None),
                opacity=NOISE_OPACITY if c < 0 else 0.85,
                hovertext=[_point_hover(texts[i], ids[i], ipc, i) for i in members],
                # the cluster and its keywords come from the trace name, stored once
                hoverinfo="text+name",
                customdata=[ids[i] for i in members],
            )
        )
    if ipc is not None:
        fig.add_traces(_symbol_legend(sections, separate=legend_position == "bottom"))
    return fig


def _bottom_legend_title(keywords: bool, symbols: bool) -> str:
    """Title of the clusters' legend below the map: what the colours and names show.

    Args:
        keywords: The names list the clusters' top keywords.
        symbols: The points' symbols show IPC sections.
    """
    what = "Clusters (colour)"
    if keywords:
        what += ": top keywords"
    if symbols:
        what += "; entry symbol: the cluster's most common IPC section"
    return what


def _most_common_section_first(members: np.ndarray, sections: list[str | None]) -> np.ndarray:
    """``members`` with the points of their most common IPC section first (stable).

    Plotly draws a trace's legend entry with its first point's symbol, so the entry shows
    the cluster's most common section (ties: the section first in A..H, unknown last).
    """
    secs = [sections[i] for i in members]
    counts = {s: secs.count(s) for s in secs}
    rank = {s: k for k, s in enumerate([*IPC_SECTIONS, None])}
    top = min(counts, key=lambda s: (-counts[s], rank.get(s, len(rank))))
    first = [i for i, s in zip(members, secs, strict=True) if s == top]
    rest = [i for i, s in zip(members, secs, strict=True) if s != top]
    return np.asarray(first + rest, dtype=np.int64)


def _legend_rows(names: list[str], width_px: float) -> tuple[int, int]:
    """``(entrywidth, rows)`` of a horizontal legend of ``names`` in ``width_px``.

    ``entrywidth`` (plotly's, the text's share of an entry) fits the longest name; each
    entry takes that plus :data:`_LEGEND_ICON_PX`, and as many as fit share a row.
    """
    text = int(np.ceil(max((label_px(n, _LEGEND_FONT_PX) for n in names), default=0))) + 6
    per_row = max(1, int((width_px - 10) // (text + _LEGEND_ICON_PX)))  # 10: legend padding
    return text, -(-len(names) // per_row)


def _layout_bottom(
    fig: go.Figure,
    coords: np.ndarray,
    *,
    title: str | None,
    width: int | None,
    height: int | None,
    legend_title: str,
) -> go.Figure:
    """The map over the whole width, the clusters' legend and the IPC symbol key below it."""
    width = BOTTOM_MAP_W if width is None else width
    plot_w = width - _BOTTOM_MARGIN["l"] - _BOTTOM_MARGIN["r"]
    clusters = [t.name for t in fig.data if t.legend in (None, "legend")]
    keys = [t.name for t in fig.data if t.legend == "legend2"]
    gap = 16  # between the map and a legend, and between the two legends
    legends = {}
    blocks = [("legend", legend_title, clusters)]  # (legend id, title, names), top to bottom
    if keys:
        blocks.append(("legend2", "IPC section (marker symbol)", keys))
    heights = []
    for name, text, names in blocks:
        entry, rows = _legend_rows(names, plot_w)
        heights.append(_LEGEND_ITEM_PX * (rows + 1) + 10)  # + the title row and padding
        legends[name] = {
            "title": {"text": text, "side": "top"},  # "top left" shifts the entries
            "orientation": "h",
            "entrywidth": entry,
            "entrywidthmode": "pixels",
            "x": 0.0,
            "xanchor": "left",
            "yanchor": "top",
            "itemsizing": "constant",
            "font": {"size": _LEGEND_FONT_PX},
        }
    below = sum(heights) + gap * len(heights) + 10
    margin = {**_BOTTOM_MARGIN, "b": below}
    # the map's own frame: ranges with a pad and, unless given, one scale on both axes
    span = np.ptp(coords, axis=0) if coords.size else np.zeros(2)
    span = np.where(span > 0, span, max(float(span.max()), 1.0))
    aspect = float(span[1] / span[0])  # height per width of the padded points
    if height is None:
        plot_h = float(np.clip(plot_w * aspect, 240, 760))
        height = int(round(plot_h + margin["t"] + margin["b"]))
    plot_h = height - margin["t"] - margin["b"]
    _equal_scale(fig, coords, plot_w, plot_h)
    offset = gap
    for (name, _, _), h in zip(blocks, heights, strict=True):
        legends[name]["y"] = -offset / max(plot_h, 1)
        offset += h + gap
    fig.update_layout(margin=margin)
    return apply_layout(fig, title=title, width=width, height=height, **legends)


def _equal_scale(fig: go.Figure, coords: np.ndarray, plot_w: float, plot_h: float) -> None:
    """The map's axes over the points and :data:`MAP_PAD`, at one scale on both axes.

    The x or y range is widened about its centre so one unit is as long on both; the axes
    are bare (no tick labels, grid or zero line), as :func:`~toolkit.plots._style.fit_map_frame`
    draws the other maps.
    """
    lo, hi = (coords.min(axis=0), coords.max(axis=0)) if coords.size else (np.zeros(2),) * 2
    span = np.where(hi - lo > 0, hi - lo, 1.0) * (1 + 2 * MAP_PAD)
    per_px = max(span[0] / max(plot_w, 1), span[1] / max(plot_h, 1))  # units per pixel
    mid = (lo + hi) / 2
    half_x, half_y = per_px * plot_w / 2, per_px * plot_h / 2
    bare = {"showticklabels": False, "zeroline": False, "showgrid": False}
    fig.update_xaxes(range=[float(mid[0] - half_x), float(mid[0] + half_x)], **bare)
    fig.update_yaxes(range=[float(mid[1] - half_y), float(mid[1] + half_y)], **bare)


def _checked(xy, labels, texts, ipc, doc_ids) -> tuple[np.ndarray, np.ndarray, list, list, list]:
    """Rounded coordinates, labels, texts, IPC codes (or ``None``) and ids, checked."""
    coords = np.asarray(xy, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"xy: expected shape (n, 2), got {coords.shape}")
    if not np.isfinite(coords).all():
        raise ValueError(f"xy: row {int(np.argwhere(~np.isfinite(coords))[0, 0])} is not finite")
    n = coords.shape[0]
    (coords,) = round_coords(coords)  # 1e-4 of the span: far below a pixel, far fewer bytes
    lab = np.asarray(labels)
    if lab.ndim != 1 or len(lab) != n:
        raise ValueError(f"labels: expected {n} labels (one per row of xy), got shape {lab.shape}")
    texts = list(texts)
    if len(texts) != n:
        raise ValueError(f"texts: expected {n} texts (one per row of xy), got {len(texts)}")
    if ipc is not None:
        ipc = list(ipc)
        if len(ipc) != n:
            raise ValueError(f"ipc: expected {n} codes (one per row of xy), got {len(ipc)}")
    ids = [str(i) for i in range(n)] if doc_ids is None else [str(d) for d in doc_ids]
    if len(ids) != n:
        raise ValueError(f"doc_ids: expected {n} ids (one per row of xy), got {len(ids)}")
    return coords, lab.astype(np.int64), texts, ipc, ids


def _cluster_name(cluster: int, words: list[str]) -> str:
    """Legend name: ``"noise"``, ``"<id>: kw1, kw2, ..."`` or ``"cluster <id>"``."""
    if cluster < 0:
        return "noise"
    return f"{cluster}: {', '.join(words)}" if words else f"cluster {cluster}"


def _marker(cluster: int, sections: list[str | None] | None) -> dict[str, Any]:
    """Cluster colour (noise smaller); with IPC codes, one symbol per point's section."""
    size = CLUSTER_MARKER_PX if cluster >= 0 else NOISE_MARKER_PX
    marker: dict[str, Any] = {"color": cluster_color(cluster), "size": size}
    if sections is not None:
        marker["symbol"] = [IPC_SYMBOLS.get(s, UNKNOWN_SYMBOL) for s in sections]
    return marker


def _point_hover(text: str, doc_id: str, ipc: list | None, i: int) -> str:
    code = hover_text(ipc[i]) if ipc is not None and ipc[i] is not None else "—"
    return f"{hover_text(text)}<br>id: {hover_text(doc_id)} | IPC: {code}"


def _symbol_legend(sections: list[str | None], *, separate: bool = False) -> list[go.Scatter]:
    """Legend-only traces ``"IPC A: ..."`` explaining the marker symbols present.

    ``separate``: in their own legend (``layout.legend2``), apart from the clusters.
    """
    present = [s for s in IPC_SECTIONS if s in sections]
    if any(s is None for s in sections):
        present.append(None)
    return [
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=f"IPC {IPC_NAMES[s]}" if s else "IPC unknown",
            # grouped, a horizontal legend would stack the entries in one column
            legendgroup=None if separate else "ipc",
            marker={"symbol": IPC_SYMBOLS.get(s, UNKNOWN_SYMBOL), "color": SYMBOL_KEY_COLOR},
            hoverinfo="skip",
            **({"legend": "legend2"} if separate else {}),
        )
        for s in present
    ]
