"""Query x title similarity heatmap with relevant cells outlined."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from toolkit.plots._style import (
    WRONG_COLOR,
    aligned_list,
    apply_layout,
    hover_text,
    truncate_label,
)

OUTLINE_COLOR = WRONG_COLOR


def plot_similarity_heatmap(
    scores: Sequence[Sequence[float]] | np.ndarray,
    *,
    query_labels: Sequence[str],
    doc_labels: Sequence[str],
    relevant_mask: Sequence[Sequence[bool]] | np.ndarray | None = None,
    max_label_chars: int = 40,
    colorscale: str = "Viridis",
    zmin: float | None = None,
    zmax: float | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot a query x title score matrix as a heatmap, outlining the relevant cells.

    Cell ``(i, j)`` sits at ``x=j`` (title ``j``) and ``y=i`` (query ``i``, first query on top).
    Positions are numeric so that titles whose shortened labels coincide stay apart; tick
    labels are the labels cut to ``max_label_chars`` (ending in "…"), while the hover shows
    both full texts, the score and whether the pair is relevant. Each relevant cell gets one
    rectangle shape from ``(j - 0.5, i - 0.5)`` to ``(j + 0.5, i + 0.5)``, in row-major order.

    Args:
        scores: Score matrix, shape ``(n_queries, n_docs)``, finite numbers.
        query_labels: Full query texts (or ids), one per row.
        doc_labels: Full titles (or ids), one per column.
        relevant_mask: Boolean matrix of the same shape; ``True`` cells are outlined.
        max_label_chars: Longest tick label.
        colorscale: Any plotly colour scale name.
        zmin: Lower end of the colour scale (default: the smallest score).
        zmax: Upper end of the colour scale (default: the largest score).
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure: one heatmap trace, one rectangle shape per relevant cell.

    Raises:
        ValueError: When the shapes of ``scores``, the labels or ``relevant_mask`` disagree,
            or ``scores`` holds NaN/inf.

    Example:
        >>> fig = plot_similarity_heatmap([[0.9, 0.1]], query_labels=["насос"],
        ...     doc_labels=["Насос центробежный", "Робот"], relevant_mask=[[True, False]])
        >>> len(fig.layout.shapes)
        1
    """
    try:
        z = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores must be a 2-D array of numbers ({exc})") from None
    if z.ndim != 2 or 0 in z.shape:
        raise ValueError(f"scores must be a non-empty 2-D array, got shape {z.shape}")
    bad = np.argwhere(~np.isfinite(z))
    if bad.size:
        r, c = bad[0]
        raise ValueError(f"scores[{r}, {c}] is {z[r, c]}; expected a finite number")
    n_q, n_d = z.shape
    query_labels = _labels(query_labels, "query_labels", n_q, "rows")
    doc_labels = _labels(doc_labels, "doc_labels", n_d, "columns")
    if relevant_mask is None:
        mask = np.zeros_like(z, dtype=bool)
    else:
        mask_raw = np.asarray(relevant_mask)
        if mask_raw.shape != z.shape:
            raise ValueError(
                f"relevant_mask has shape {mask_raw.shape} but scores has shape {z.shape}"
            )
        if mask_raw.dtype != bool and not np.isin(mask_raw, (0, 1)).all():
            raise ValueError("relevant_mask must hold booleans (or 0/1)")
        mask = mask_raw.astype(bool)
    if max_label_chars < 2:
        raise ValueError(f"max_label_chars must be at least 2, got {max_label_chars}")

    q_hover = [hover_text(t) for t in query_labels]
    d_hover = [hover_text(t) for t in doc_labels]
    text = [
        [
            f"query: {q_hover[i]}<br>title: {d_hover[j]}"
            f"<br>relevant: {'yes' if mask[i, j] else 'no'}"
            for j in range(n_d)
        ]
        for i in range(n_q)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z.tolist(),
            x=list(range(n_d)),
            y=list(range(n_q)),
            text=text,
            hovertemplate="%{text}<br>score: %{z:.3f}<extra></extra>",
            colorscale=colorscale,
            zmin=float(z.min()) if zmin is None else zmin,
            zmax=float(z.max()) if zmax is None else zmax,
            colorbar={"title": {"text": "similarity"}},
        )
    )
    for i, j in np.argwhere(mask):
        fig.add_shape(
            type="rect",
            xref="x",
            yref="y",
            x0=float(j) - 0.5,
            x1=float(j) + 0.5,
            y0=float(i) - 0.5,
            y1=float(i) + 0.5,
            line={"color": OUTLINE_COLOR, "width": 2},
            fillcolor="rgba(0,0,0,0)",
        )
    fig.update_xaxes(
        tickmode="array",
        tickvals=list(range(n_d)),
        ticktext=[truncate_label(t, max_label_chars) for t in doc_labels],
        tickangle=-45,
        showgrid=False,
        title_text="title",
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(n_q)),
        ticktext=[truncate_label(t, max_label_chars) for t in query_labels],
        autorange="reversed",
        showgrid=False,
        title_text="query",
    )
    return apply_layout(fig, title=title, width=width, height=height)


def _labels(labels, name: str, n: int, what: str) -> list:
    return aligned_list(labels, name, n, of=f"scores has {n} {what}", what="sequence of labels")
