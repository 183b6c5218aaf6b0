"""How a run's learning rate depends on the warm-up length: one line per quantity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from toolkit._validation import check_int
from toolkit.plots._style import SERIES_COLORS, apply_layout, hover_text


def plot_warmup_sensitivity(
    warmup_steps: Sequence[int],
    series: Mapping[str, Sequence[float]],
    *,
    marked: int | None = None,
    marked_label: str = "",
    log_y: bool = True,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot quantities of a run (peak lr, sum of per-step lrs, ...) against its warm-up length.

    The warm-up values are drawn as evenly spaced categories labelled ``0``, ``100``,
    ``1,000``, ... (a log axis cannot show 0), one line with markers per series, in mapping
    order.

    Args:
        warmup_steps: Distinct warm-up lengths (ints >= 0), in the order to draw them.
        series: ``name -> one value per warm-up length``; values finite and ``>= 0`` (``> 0``
            on a log axis).
        marked: A warm-up length to mark with a dotted vertical line (e.g. fit()'s default).
        marked_label: Text of that line.
        log_y: Use a logarithmic value axis.
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure: one line per series, over the warm-up lengths as categories.

    Raises:
        TypeError: A warm-up length is not an integer.
        ValueError: Empty or repeated warm-up lengths, a negative one, a series of another
            length, a bad value (the message names the series and position), or ``marked``
            not among the warm-up lengths.

    Example:
        >>> fig = plot_warmup_sensitivity([0, 100], {"peak lr": [2e-5, 1.4e-5]})
        >>> list(fig.data[0].x), fig.data[0].name
        (['0', '100'], 'peak lr')
    """
    steps = _warmup_steps(warmup_steps)
    if not isinstance(series, Mapping) or not series:
        raise ValueError("series must be a non-empty mapping name -> values")
    labels = [f"{int(w):,}" for w in steps]
    fig = go.Figure()
    for k, (name, values) in enumerate(series.items()):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=_values(name, values, len(steps), log_y),
                mode="lines+markers",
                name=name,
                line={"color": SERIES_COLORS[k % len(SERIES_COLORS)], "width": 2},
                marker={"size": 8},
                hovertemplate=f"{hover_text(name)}<br>warm-up %{{x}} steps<br>%{{y:.3g}}"
                "<extra></extra>",
            )
        )
    if marked is not None:
        if marked not in steps:
            raise ValueError(f"marked={marked!r} is not one of warmup_steps {steps}")
        fig.add_vline(
            x=steps.index(marked), line={"dash": "dot", "color": "grey"},
            annotation_text=marked_label, annotation_position="top left",
        )  # fmt: skip
    fig.update_xaxes(title_text="warm-up steps passed to fit()", type="category")
    fig.update_yaxes(type="log" if log_y else "linear", exponentformat="e")
    return apply_layout(fig, title=title, width=width, height=height)


def _warmup_steps(warmup_steps: Sequence[int]) -> list[int]:
    """The warm-up lengths as a list, checked: non-empty, integers >= 0, no repeats."""
    steps = list(warmup_steps) if not isinstance(warmup_steps, str | bytes) else None
    if not steps:
        raise ValueError("warmup_steps must be a non-empty sequence of ints >= 0")
    for i, w in enumerate(steps):
        check_int(w, f"warmup_steps[{i}]", minimum=0)
    if len(set(steps)) != len(steps):
        raise ValueError(f"warmup_steps {steps} repeats a value")
    return steps


def _values(name: str, values: Sequence[float], n: int, log_y: bool) -> list[float]:
    """One series' values, checked: ``n`` finite numbers ``>= 0`` (``> 0`` on a log axis)."""
    if isinstance(values, str | bytes):
        raise ValueError(f"series[{name!r}] must be a sequence of numbers")
    y = np.asarray(list(values), dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"series[{name!r}] has {y.size} values but warmup_steps has {n}")
    for i, v in enumerate(y):
        if not np.isfinite(v) or v < 0 or (log_y and v == 0):
            need = "> 0 on a log axis" if log_y else ">= 0"
            raise ValueError(
                f"series[{name!r}][{i}] = {float(v)!r}; expected a finite value {need}"
            )
    return y.tolist()
