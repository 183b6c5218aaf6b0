"""Top c-TF-IDF keywords of each cluster as small horizontal bar charts (BERTopic-style)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from toolkit._validation import check_int
from toolkit.plots._style import apply_layout, label_px
from toolkit.plots.cluster_map import cluster_color

KEYWORD_FONT_PX = 11  # keyword labels left of each panel's bars
BAR_AREA_PX = 110  # default width of each panel's bars
LABEL_GAP_PX = 6  # between a label and its bar (plotly's tick padding)
PANEL_GAP_PX = 16  # between a panel's bars and the labels of the panel to its right
_MARGIN = {"t": 90, "b": 40, "r": 20}  # title + subplot titles above, x ticks below


def plot_cluster_keywords(
    keyword_table: pd.DataFrame,
    *,
    top_n: int = 8,
    clusters: Sequence[int] | None = None,
    include_noise: bool = False,
    n_cols: int = 4,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Draw one bar chart per cluster with its keywords and c-TF-IDF scores.

    Each subplot is titled ``"<cluster> (n=<size>)"`` and shows up to ``top_n``
    keywords, the best on top, bar length = score, coloured like the cluster map.

    The keyword labels sit left of their bars, so the gap between two panels of a row holds
    the right panel's labels: its width (and the left margin, for the first column) is the
    estimated width of the longest keyword shown (11 px font, see
    :func:`~toolkit.plots._style.label_px`) plus :data:`PANEL_GAP_PX`, and no label reaches
    the bars of the panel to its left. Without ``width`` each panel's bars get
    :data:`BAR_AREA_PX` pixels; with a ``width`` too narrow for that, the bars get what
    is left after the labels (at least a quarter of their share of the width).

    Args:
        keyword_table: Output of ``toolkit.clustering.label_clusters`` (columns
            ``cluster``, ``size``, ``keywords``, ``scores``).
        top_n: Keywords per cluster.
        clusters: Which clusters to show, in this order (default: all, by id).
        include_noise: Also show the noise row (cluster ``-1``) when ``clusters`` is None.
        n_cols: Subplots per row.
        title: Figure title.
        width: Figure width in pixels (default: room for the labels plus
            :data:`BAR_AREA_PX` of bars per panel).
        height: Figure height in pixels (default: 220 per row of subplots).

    Returns:
        The figure (one ``go.Bar`` trace per cluster).

    Example:
        >>> table = pd.DataFrame({"cluster": [0], "size": [3], "keywords": [["мост"]],
        ...                       "scores": [[0.5]]})
        >>> plot_cluster_keywords(table).data[0].y
        ('мост',)
    """
    rows_by_cluster, order = _checked(keyword_table, top_n, clusters, include_noise, n_cols)
    cols = min(n_cols, len(order))
    n_rows = math.ceil(len(order) / cols)
    names = [f"{'noise' if c < 0 else c} (n={int(rows_by_cluster[c].size)})" for c in order]
    panels = _panels(rows_by_cluster, order, top_n)
    margin, width, spacing = _frame(panels, cols, width)
    fig = make_subplots(
        rows=n_rows,
        cols=cols,
        subplot_titles=names,
        horizontal_spacing=spacing,
        vertical_spacing=0.35 / n_rows if n_rows > 1 else 0.0,
    )
    _add_bars(fig, panels, names, cols)
    fig.update_yaxes(tickfont={"size": KEYWORD_FONT_PX})
    fig.update_xaxes(nticks=3, tickangle=0, tickfont={"size": 10})  # 0, 0.1, 0.2: upright
    return apply_layout(
        fig,
        title=title,
        width=width,
        height=height if height is not None else 220 * n_rows + 80,
        margin=margin,
    )


def _panels(
    rows_by_cluster: dict[int, Any], order: list[int], top_n: int
) -> list[tuple[int, list[str], list[float]]]:
    """``(cluster, keywords, scores)`` of each panel, in order, at most ``top_n`` of each."""
    panels = []
    for c in order:
        row = rows_by_cluster[c]
        words = [str(w) for w in list(row.keywords)[:top_n]]
        panels.append((c, words, [float(s) for s in list(row.scores)[:top_n]]))
    return panels


def _frame(
    panels: list[tuple[int, list[str], list[float]]], cols: int, width: int | None
) -> tuple[dict[str, int], int, float]:
    """``(margin, width, horizontal_spacing)`` that leave room for the keyword labels.

    The left margin and the gap between two panels of a row hold the longest keyword shown
    (plus its padding); without ``width`` each panel's bars get :data:`BAR_AREA_PX`.
    """
    labels_px = max((label_px(w, KEYWORD_FONT_PX) for _, ws, _ in panels for w in ws), default=0)
    labels_px = math.ceil(labels_px + LABEL_GAP_PX)  # the longest label and its padding
    margin = {**_MARGIN, "l": labels_px + 10}
    gap_px = labels_px + PANEL_GAP_PX
    if width is None:
        width = margin["l"] + cols * BAR_AREA_PX + (cols - 1) * gap_px + margin["r"]
    plot_px = max(width - margin["l"] - margin["r"], 1)
    # the labels' share of the plotting width, capped so each panel keeps 1/4 of its share
    spacing = min(gap_px / plot_px, 0.75 / cols) if cols > 1 else 0.0
    return margin, width, spacing


def _add_bars(
    fig: go.Figure,
    panels: list[tuple[int, list[str], list[float]]],
    names: list[str],
    cols: int,
) -> None:
    """One horizontal bar trace per panel, the best keyword on top, row by row."""
    for k, (c, words, scores) in enumerate(panels):
        fig.add_trace(
            go.Bar(
                x=scores[::-1],
                y=words[::-1],
                orientation="h",
                name=names[k],
                marker={"color": cluster_color(c)},
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
                showlegend=False,
            ),
            row=k // cols + 1,
            col=k % cols + 1,
        )


def _checked(
    keyword_table: pd.DataFrame,
    top_n: int,
    clusters: Sequence[int] | None,
    include_noise: bool,
    n_cols: int,
) -> tuple[dict[int, Any], list[int]]:
    """The table's rows by cluster id and the clusters to show, in order (inputs checked)."""
    if not isinstance(keyword_table, pd.DataFrame):
        raise ValueError(
            f"keyword_table: expected a DataFrame from label_clusters(), got "
            f"{type(keyword_table).__name__}"
        )
    missing = {"cluster", "size", "keywords", "scores"} - set(keyword_table.columns)
    if missing:
        raise ValueError(f"keyword_table: lacks column(s) {sorted(missing)}")
    check_int(top_n, "top_n")
    check_int(n_cols, "n_cols")
    rows_by_cluster = {int(r.cluster): r for r in keyword_table.itertuples(index=False)}
    if clusters is None:
        order = sorted(c for c in rows_by_cluster if include_noise or c >= 0)
    else:
        order = [int(c) for c in clusters]
        unknown = [c for c in order if c not in rows_by_cluster]
        if unknown:
            raise ValueError(f"clusters: {unknown} not in keyword_table")
    if not order:
        raise ValueError("keyword_table: no clusters to show")
    return rows_by_cluster, order
