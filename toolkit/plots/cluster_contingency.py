"""Cluster x reference-class (e.g. IPC section) heatmap with the counts written in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.data.types import IPC_SECTIONS
from toolkit.plots._style import apply_layout


def plot_cluster_contingency(
    contingency: pd.DataFrame,
    *,
    normalize: str | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Heatmap of a contingency table: clusters as rows, reference classes as columns.

    Every cell is annotated with its count. Colour is the count, or with ``normalize``
    the share of the row (``"row"``: where a cluster's points come from) or of the column
    (``"column"``: where a class's points went). Rows are ordered by cluster id with noise
    (``-1``) labelled ``"noise"``; columns that are IPC sections come in A..H order,
    others after them in sorted order.

    Args:
        contingency: ``agreement(...)["contingency"]`` or any ``pandas.crosstab`` of counts.
        normalize: ``None``, ``"row"`` or ``"column"``.
        title: Figure title.
        width: Figure width in pixels.
        height: Figure height in pixels.

    Returns:
        The figure (one ``go.Heatmap`` trace).

    Example:
        >>> table = pd.crosstab(pd.Series([0, 0, 1], name="cluster"),
        ...                     pd.Series(["A", "B", "B"], name="reference"))
        >>> plot_cluster_contingency(table).data[0].text.tolist()
        [['1', '1'], ['0', '1']]
    """
    if not isinstance(contingency, pd.DataFrame):
        raise ValueError(
            f"contingency: expected a pandas DataFrame, got {type(contingency).__name__}"
        )
    if contingency.empty:
        raise ValueError("contingency: is empty")
    counts = contingency.to_numpy()
    if not np.issubdtype(counts.dtype, np.number) or (counts < 0).any():
        raise ValueError("contingency: expected non-negative counts")
    if normalize not in (None, "row", "column"):
        raise ValueError(f"normalize: expected None, 'row' or 'column', got {normalize!r}")

    table = _ordered(contingency)
    counts = table.to_numpy().astype(np.float64)
    z, colorbar = _coloured(counts, normalize)
    y_labels = ["noise" if _is_number(r) and r == -1 else str(r) for r in table.index]
    x_labels = [str(c) for c in table.columns]
    fig = go.Figure(
        go.Heatmap(
            z=z.tolist(),
            x=x_labels,
            y=y_labels,
            text=np.vectorize(lambda v: f"{int(v)}")(counts),
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar={"title": {"text": colorbar}},
            hovertemplate="cluster %{y} × %{x}: %{text}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_yaxes(
        autorange="reversed", type="category", title=str(contingency.index.name or "cluster")
    )
    fig.update_xaxes(type="category", side="top", title=str(contingency.columns.name or "class"))
    return apply_layout(fig, title=title, width=width, height=height)


def _ordered(contingency: pd.DataFrame) -> pd.DataFrame:
    """Rows by cluster id; IPC-section columns in A..H order, then the others sorted."""
    columns = list(contingency.columns)
    ipc_cols = [c for s in IPC_SECTIONS for c in columns if str(c) == s]
    other = sorted((c for c in columns if c not in ipc_cols), key=str)
    rows = sorted(contingency.index, key=_row_key)
    return contingency.loc[rows, ipc_cols + other]


def _coloured(counts: np.ndarray, normalize: str | None) -> tuple[np.ndarray, str]:
    """The heatmap's colour values and the colour bar's title."""
    if normalize == "row":
        return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1), "share of row"
    if normalize == "column":
        return counts / np.maximum(counts.sum(axis=0, keepdims=True), 1), "share of column"
    return counts, "count"


def _row_key(row: object) -> tuple[bool, object]:
    """Numbers first (by value), then anything else by its string."""
    return (not _is_number(row), row if _is_number(row) else str(row))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating)
