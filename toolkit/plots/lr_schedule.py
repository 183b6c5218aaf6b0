"""Learning-rate schedules of one or more training runs on one figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from toolkit.plots._style import (
    SERIES_COLORS,
    apply_layout,
    hover_text,
    scatter_class,
    series_xy,
)


def plot_lr_schedule(
    schedules: Mapping[str, Sequence[float] | Sequence[tuple[int, float]]],
    *,
    log_y: bool = False,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot per-step learning rates of several named schedules as lines on one figure.

    A series may be a plain sequence of learning rates, read as steps ``0, 1, 2, ...`` (value
    ``i`` is the rate used by the ``i``-th optimizer update, 0-based, as a torch ``LambdaLR``
    gives it), or a sequence of ``(step, lr)`` pairs with strictly increasing steps. One line
    trace per series, in mapping order, coloured from the fixed series palette. On a log axis
    (``log_y=True``) steps with a rate of 0 (e.g. the first warm-up step) are not drawn.

    Args:
        schedules: ``name -> learning rates`` (or ``(step, lr)`` pairs); rates must be finite
            and ``>= 0``.
        log_y: Use a logarithmic learning-rate axis.
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure: one line trace per schedule.

    Raises:
        ValueError: On an empty mapping or series, negative or non-finite rates, or steps that
            do not increase (the message names the series and position).

    Example:
        >>> fig = plot_lr_schedule({"warmup 10000": [0.0, 2e-9, 4e-9], "constant": [2e-5] * 3})
        >>> [t.name for t in fig.data]
        ['warmup 10000', 'constant']
    """
    series = series_xy(schedules, "schedules", nonnegative=True)
    fig = go.Figure()
    trace_cls = scatter_class(max(len(x) for _, x, _ in series))
    for k, (name, x, y) in enumerate(series):
        fig.add_trace(
            trace_cls(
                x=x.tolist(),
                y=y.tolist(),
                mode="lines+markers" if len(x) <= 50 else "lines",
                name=name,
                line={"color": SERIES_COLORS[k % len(SERIES_COLORS)], "width": 2},
                marker={"size": 4},
                hovertemplate=f"{hover_text(name)}<br>step %{{x}}<br>lr %{{y:.3g}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="optimizer step")
    fig.update_yaxes(
        title_text="learning rate",
        type="log" if log_y else "linear",
        exponentformat="e",
    )
    return apply_layout(fig, title=title, width=width, height=height)
