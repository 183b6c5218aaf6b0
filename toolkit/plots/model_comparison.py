"""Grouped bar chart of retrieval metrics per system with bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.plots._style import SERIES_COLORS, apply_layout, finite_column, hover_text

REQUIRED_COLUMNS = ("system", "metric", "mean", "low", "high", "n")


def plot_model_comparison(
    results: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    systems: Sequence[str] | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot metric means per system as grouped bars with asymmetric confidence intervals.

    The x axis holds the metrics; each system is one bar trace, in the order the systems first
    appear in ``results`` (or the order of ``systems``), coloured from the fixed series palette
    by that position. Error bars are ``error_y.array = high - mean`` and
    ``error_y.arrayminus = mean - low``. A (system, metric) pair absent from ``results`` gives
    a gap (``None``). Hover shows system, metric, mean, the CI, ``n`` and ``model`` when that
    column exists.

    Args:
        results: One row per (system, metric) with columns ``system``, ``metric``, ``mean``,
            ``low``, ``high``, ``n`` (queries behind the estimate) and optionally ``model``.
        metrics: Metrics to show, in this order (default: all, in order of appearance).
        systems: Systems to show, in this order (default: all, in order of appearance).
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure: one bar trace per system, grouped by metric.

    Raises:
        ValueError: When ``results`` is not a non-empty DataFrame, lacks a column, repeats a
            (system, metric) pair, holds a non-finite number or ``low <= mean <= high`` fails
            (the message names the row), or ``metrics``/``systems`` name unknown values.

    Example:
        >>> import pandas as pd
        >>> r = pd.DataFrame({"system": ["USE", "BM25"], "metric": ["mrr@10"] * 2,
        ...     "mean": [0.69, 0.45], "low": [0.6, 0.36], "high": [0.78, 0.55], "n": [60, 60]})
        >>> [t.name for t in plot_model_comparison(r).data]
        ['USE', 'BM25']
    """
    values = _checked(results)
    metric_order = _order(results["metric"], metrics, "metrics")
    system_order = _order(results["system"], systems, "systems")
    fig = go.Figure()
    for k, system in enumerate(system_order):
        fig.add_trace(_system_bars(results, values, system, metric_order, k))
    fig.update_xaxes(
        title_text="metric", categoryorder="array", categoryarray=[str(m) for m in metric_order]
    )
    fig.update_yaxes(title_text="mean (bootstrap CI)", rangemode="tozero")
    return apply_layout(fig, title=title, width=width, height=height, barmode="group")


def _checked(results: pd.DataFrame) -> dict[str, np.ndarray]:
    """Check the table; return its ``mean``, ``low``, ``high`` and ``n`` columns as float64."""
    if not isinstance(results, pd.DataFrame):
        raise ValueError(f"results must be a pandas DataFrame, got {type(results).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(
            f"results lacks column(s) {missing}; expected {list(REQUIRED_COLUMNS)} "
            "(+ optional model)"
        )
    if results.empty:
        raise ValueError("results has no rows")
    dup = results.duplicated(subset=["system", "metric"])
    if dup.any():
        row = results.index[int(np.argmax(dup.to_numpy()))]
        raise ValueError(
            f"results row {row!r}: (system, metric) = "
            f"({results.at[row, 'system']!r}, {results.at[row, 'metric']!r}) repeats"
        )
    values = {col: finite_column(results, col, "results") for col in ("mean", "low", "high", "n")}
    bad = np.flatnonzero((values["low"] > values["mean"]) | (values["mean"] > values["high"]))
    if bad.size:
        row = results.index[bad[0]]
        raise ValueError(
            f"results row {row!r}: expected low <= mean <= high, got "
            f"{values['low'][bad[0]]} / {values['mean'][bad[0]]} / {values['high'][bad[0]]}"
        )
    return values


def _system_bars(
    results: pd.DataFrame, values: dict[str, np.ndarray], system: str, metric_order: list, k: int
) -> go.Bar:
    """One system's bars over ``metric_order`` (a gap where it lacks a metric), CI as error bars."""
    rows = {
        m: i
        for i, (s, m) in enumerate(zip(results["system"], results["metric"], strict=True))
        if s == system
    }
    y, plus, minus, hover = [], [], [], []
    for metric in metric_order:
        i = rows.get(metric)
        if i is None:
            y.append(None)
            plus.append(None)
            minus.append(None)
            hover.append(None)
            continue
        mean, low, high, n = (values[c][i] for c in ("mean", "low", "high", "n"))
        y.append(float(mean))
        plus.append(float(high - mean))
        minus.append(float(mean - low))
        lines = [
            f"<b>{hover_text(system)}</b> · {hover_text(metric)}",
            f"mean {mean:.3f}, CI [{low:.3f}, {high:.3f}]",
            f"n = {int(n) if float(n).is_integer() else n}",
        ]
        if "model" in results.columns:
            lines.append(f"model: {hover_text(results['model'].iloc[i])}")
        hover.append("<br>".join(lines))
    return go.Bar(
        x=[str(m) for m in metric_order],
        y=y,
        name=str(system),
        marker={"color": SERIES_COLORS[k % len(SERIES_COLORS)]},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": plus,
            "arrayminus": minus,
            "thickness": 1.5,
            "width": 4,
        },
        hovertext=hover,
        hoverinfo="text",
    )


def _order(column: pd.Series, chosen: Sequence[str] | None, name: str) -> list:
    """``chosen`` checked against the values of ``column`` (default: them, first-seen order)."""
    present = list(dict.fromkeys(column.tolist()))
    if chosen is None:
        return present
    if isinstance(chosen, str):
        raise ValueError(f"{name} must be a sequence of names, not a single string")
    unknown = [c for c in chosen if c not in present]
    if unknown:
        raise ValueError(f"{name} names {unknown} not found in results; known: {present}")
    return list(chosen)
