"""Top c-TF-IDF keywords of each cluster as small horizontal bar charts (BERTopic-style)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from toolkit._validation import check_int
from toolkit.plots._style import apply_layout
from toolkit.plots.cluster_map import cluster_color


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

    Args:
        keyword_table: Output of ``toolkit.clustering.label_clusters`` (columns
            ``cluster``, ``size``, ``keywords``, ``scores``).
        top_n: Keywords per cluster.
        clusters: Which clusters to show, in this order (default: all, by id).
        include_noise: Also show the noise row (cluster ``-1``) when ``clusters`` is None.
        n_cols: Subplots per row.
        title: Figure title.
        width: Figure width in pixels.
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
    fig = make_subplots(
        rows=n_rows,
        cols=cols,
        subplot_titles=names,
        horizontal_spacing=0.25 / cols if cols > 1 else 0.0,
        vertical_spacing=0.35 / n_rows if n_rows > 1 else 0.0,
    )
    for k, c in enumerate(order):
        row = rows_by_cluster[c]
        words = list(row.keywords)[:top_n]
        scores = [float(s) for s in list(row.scores)[:top_n]]
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
    return apply_layout(
        fig,
        title=title,
        width=width,
        height=height if height is not None else 220 * n_rows + 80,
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
