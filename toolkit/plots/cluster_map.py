"""2-D map of clustered titles: colour = cluster (noise grey), marker symbol = IPC section."""

from __future__ import annotations

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
    SERIES_COLORS,
    UNKNOWN_COLOR,
    hover_text,
    ipc_section,
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
# Cluster colours: the series colours without grey (reserved for noise), then Dark24.
CLUSTER_COLORS: tuple[str, ...] = tuple(
    c for c in (*SERIES_COLORS, *plotly.colors.qualitative.Dark24) if c.upper() != NOISE_COLOR
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
) -> go.Figure:
    """Plot reduced coordinates coloured by cluster, with the IPC section as marker symbol.

    One trace per cluster in increasing id order, named ``"<id>: kw1, kw2, ..."`` when
    keywords are given (else ``"cluster <id>"``); noise (``-1``) is one grey trace named
    ``"noise"``, drawn first so clusters lie on top. With ``ipc`` each point's symbol shows
    its IPC section (A circle, B square, C diamond, D cross, E x, F triangle, G star,
    H pentagon, unknown open circle) and legend-only traces ``"IPC A: ..."`` explain the
    symbols. Hover shows the title, doc id, IPC code and, beside it, the trace name: the
    cluster and its keywords (stored once per cluster, not once per title).

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

    Returns:
        The figure.

    Example:
        >>> fig = plot_cluster_map([[0, 0], [1, 1], [5, 5]], [0, 0, -1],
        ...                        texts=["мост", "опора моста", "хлеб"],
        ...                        ipc=["E01D", "E01D", "A21D"])
        >>> [t.name for t in fig.data][:2]
        ['noise', 'cluster 0']
    """
    coords, lab, texts, ipc, ids = _checked(xy, labels, texts, ipc, doc_ids)
    kw = _keyword_lookup(keywords)
    max_keywords = check_int(max_keywords, "max_keywords", minimum=0)
    sections = [ipc_section(c) for c in ipc] if ipc is not None else [None] * len(ids)
    trace_cls = scatter_class(len(ids))
    fig = go.Figure()
    for c in sorted(set(lab.tolist())):  # -1 sorts first
        members = np.flatnonzero(lab == c)
        fig.add_trace(
            trace_cls(
                x=coords[members, 0].astype(np.float32),  # stored as base64 "bdata"
                y=coords[members, 1].astype(np.float32),
                mode="markers",
                name=_cluster_name(c, kw.get(c, [])[:max_keywords]),
                legendgroup="clusters",
                marker=_marker(c, [sections[i] for i in members] if ipc is not None else None),
                opacity=0.5 if c < 0 else 0.85,
                hovertext=[_point_hover(texts[i], ids[i], ipc, i) for i in members],
                # the cluster and its keywords come from the trace name, stored once
                hoverinfo="text+name",
                customdata=[ids[i] for i in members],
            )
        )
    if ipc is not None:
        fig.add_traces(_symbol_legend(sections))
    return layout_map(
        fig,
        coords,
        title=title,
        width=width,
        height=height,
        legend_names=[t.name for t in fig.data if t.showlegend is not False],
    )


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
    marker: dict[str, Any] = {"color": cluster_color(cluster), "size": 7 if cluster >= 0 else 5}
    if sections is not None:
        marker["symbol"] = [IPC_SYMBOLS.get(s, UNKNOWN_SYMBOL) for s in sections]
    return marker


def _point_hover(text: str, doc_id: str, ipc: list | None, i: int) -> str:
    code = hover_text(ipc[i]) if ipc is not None and ipc[i] is not None else "—"
    return f"{hover_text(text)}<br>id: {hover_text(doc_id)} | IPC: {code}"


def _symbol_legend(sections: list[str | None]) -> list[go.Scatter]:
    """Legend-only traces ``"IPC A: ..."`` explaining the marker symbols present."""
    present = [s for s in IPC_SECTIONS if s in sections]
    if any(s is None for s in sections):
        present.append(None)
    return [
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=f"IPC {IPC_NAMES[s]}" if s else "IPC unknown",
            legendgroup="ipc",
            marker={"symbol": IPC_SYMBOLS.get(s, UNKNOWN_SYMBOL), "color": "#444444"},
            hoverinfo="skip",
        )
        for s in present
    ]
