"""2-D map of clustered titles: colour = cluster (noise grey), marker symbol = IPC section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from toolkit.plots._style import (
    IPC_NAMES,
    IPC_SECTIONS,
    SERIES_COLORS,
    UNKNOWN_COLOR,
    apply_layout,
    fit_map_frame,
    hover_text,
    ipc_section,
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
        max_keywords: Keywords shown in legend names and hover.
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
    lab = lab.astype(np.int64)
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
    kw = _keyword_lookup(keywords)

    sections = [ipc_section(c) for c in ipc] if ipc is not None else [None] * n
    trace_cls = scatter_class(n)
    fig = go.Figure()
    clusters = sorted(set(lab.tolist()))
    for c in clusters:  # -1 sorts first
        members = np.flatnonzero(lab == c)
        words = kw.get(c, [])[:max_keywords]
        if c < 0:
            name = "noise"
        elif words:
            name = f"{c}: {', '.join(words)}"
        else:
            name = f"cluster {c}"
        hover = [
            f"{hover_text(texts[i])}<br>id: {hover_text(ids[i])}"
            f" | IPC: {hover_text(ipc[i]) if ipc is not None and ipc[i] is not None else '—'}"
            for i in members
        ]
        marker: dict[str, Any] = {"color": cluster_color(c), "size": 7 if c >= 0 else 5}
        if ipc is not None:
            marker["symbol"] = [IPC_SYMBOLS.get(sections[i], UNKNOWN_SYMBOL) for i in members]
        fig.add_trace(
            trace_cls(
                x=coords[members, 0].astype(np.float32),  # stored as base64 "bdata"
                y=coords[members, 1].astype(np.float32),
                mode="markers",
                name=name,
                legendgroup="clusters",
                marker=marker,
                opacity=0.5 if c < 0 else 0.85,
                hovertext=hover,
                # the cluster and its keywords come from the trace name, stored once
                hoverinfo="text+name",
                customdata=[ids[i] for i in members],
            )
        )
    if ipc is not None:
        present = [s for s in IPC_SECTIONS if s in sections]
        if any(s is None for s in sections):
            present.append(None)
        for s in present:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=f"IPC {IPC_NAMES[s]}" if s else "IPC unknown",
                    legendgroup="ipc",
                    marker={"symbol": IPC_SYMBOLS.get(s, UNKNOWN_SYMBOL), "color": "#444444"},
                    hoverinfo="skip",
                )
            )
    width, height = fit_map_frame(
        fig,
        coords,
        width=width,
        height=height,
        legend_names=[t.name for t in fig.data if t.showlegend is not False],
    )
    return apply_layout(
        fig, title=title, width=width, height=height, legend={"itemsizing": "constant"}
    )
