"""Training/evaluation loss curves of one or more runs on one figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from toolkit._validation import check_int
from toolkit.plots._style import (
    SERIES_COLORS,
    apply_layout,
    hover_text,
    scatter_class,
    series_xy,
)


def plot_loss_curve(
    curves: Mapping[str, Sequence[float] | Sequence[tuple[int, float]]],
    *,
    smooth: int | None = None,
    log_y: bool = False,
    y_title: str = "loss",
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot loss curves (e.g. ``"train"`` per step and ``"eval"`` every N steps) on one figure.

    A series is a plain sequence of losses at steps ``0, 1, 2, ...`` or a sequence of
    ``(step, loss)`` pairs with strictly increasing steps (use pairs for sparse evaluation
    losses). Without ``smooth`` there is one trace per series, in mapping order. With
    ``smooth=w`` each series gets two traces: the raw values, faint and out of the legend,
    then the trailing moving average over up to ``w`` points (the first points average what is
    available), named ``"<name> (mean of w)"``; both share a legend group and colour.

    Args:
        curves: ``name -> losses`` or ``name -> [(step, loss), ...]``; values must be finite.
        smooth: Moving-average window in points (``None`` or 1: no smoothing).
        log_y: Use a logarithmic y axis.
        y_title: Y-axis title.
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure: one trace per series, or two with ``smooth``.

    Raises:
        TypeError: ``smooth`` is not an integer or ``None``.
        ValueError: On an empty mapping or series, non-finite values, steps that do not
            increase, or a ``smooth`` below 1.

    Example:
        >>> fig = plot_loss_curve({"train": [2.1, 1.7, 1.2, 1.0], "eval": [(0, 2.0), (3, 1.1)]})
        >>> [t.name for t in fig.data]
        ['train', 'eval']
    """
    smooth = check_int(smooth, "smooth", allow_none=True)
    series = series_xy(curves, "curves")
    trace_cls = scatter_class(max(len(x) for _, x, _ in series))
    fig = go.Figure()
    for k, (name, x, y) in enumerate(series):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        fig.add_traces(_series_traces(trace_cls, name, x, y, color, smooth, y_title))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear")
    return apply_layout(fig, title=title, width=width, height=height)


def _series_traces(
    trace_cls: type,
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    color: str,
    smooth: int | None,
    y_title: str,
) -> list:
    """One series: its losses, or (with ``smooth`` > 1) faint raw values and their mean."""
    label = hover_text(name)
    template = f"{label}<br>step %{{x}}<br>{hover_text(y_title)} %{{y:.4g}}<extra></extra>"
    mode = "lines+markers" if len(x) <= 50 else "lines"
    if smooth is None or smooth == 1:
        return [
            trace_cls(
                x=x.tolist(),
                y=y.tolist(),
                mode=mode,
                name=name,
                line={"color": color, "width": 2},
                marker={"size": 5},
                hovertemplate=template,
            )
        ]
    raw = trace_cls(
        x=x.tolist(),
        y=y.tolist(),
        mode=mode,
        name=f"{name} (raw)",
        legendgroup=name,
        showlegend=False,
        opacity=0.3,
        line={"color": color, "width": 1},
        marker={"size": 3},
        hovertemplate=template,
    )
    mean = trace_cls(
        x=x.tolist(),
        y=_trailing_mean(y, smooth).tolist(),
        mode="lines",
        name=f"{name} (mean of {smooth})",
        legendgroup=name,
        line={"color": color, "width": 2},
        hovertemplate=f"{label} (mean of {smooth})<br>step %{{x}}<br>"
        f"{hover_text(y_title)} %{{y:.4g}}<extra></extra>",
    )
    return [raw, mean]


def _trailing_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    csum = np.concatenate([[0.0], np.cumsum(y)])
    idx = np.arange(1, y.size + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)
