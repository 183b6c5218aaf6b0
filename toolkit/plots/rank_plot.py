"""Rank of the first relevant title per query, sorted, with k reference lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.plots._style import (
    SERIES_COLORS,
    WRONG_COLOR,
    apply_layout,
    hover_text,
    log_ticks,
    scatter_class,
)


def plot_rank(
    first_relevant_ranks: Mapping[str, int | None] | pd.Series,
    *,
    query_texts: Mapping[str, str] | None = None,
    log_y: bool = True,
    k_lines: Sequence[int] = (1, 10),
    depth: int | None = None,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot the rank of the first relevant title for every query, best queries first.

    Queries are sorted by rank (ties keep the input order) and placed at x = 1, 2, ... in
    that order. Trace 0, ``"first relevant rank"``, holds the queries with a rank; trace 1,
    ``"no relevant retrieved (n=...)"`` (red crosses, only when there are such queries), holds the
    queries whose value is ``None``, drawn after the ranked ones at a height above every rank:
    ``1.5 x depth`` when ``depth`` is given, else ``1.5 x`` the largest rank or k line (log
    axis) / that value + 1 (linear axis). A dotted line labelled "not retrieved" marks that
    height. Each ``k`` in ``k_lines`` adds a dashed horizontal line labelled ``k=...`` at
    ``y = k + 0.5`` (so "rank <= k" lies below it; the label tells the cut). Hover shows the
    query id, the full query text and the rank. A log axis is labelled at 1, 2, 5, 10, 20,
    50, ... only (no minor-tick digits) and spans from 0.8 to 1.25 x the highest marker or line.

    Args:
        first_relevant_ranks: ``query_id -> 1-based rank`` of the first relevant title, or
            ``None``/NaN/``pd.NA`` when no relevant title was retrieved. A pandas Series
            indexed by query id works too, e.g. ``per_query.set_index("query_id")
            ["first_relevant_rank"]`` from :func:`toolkit.metrics.retrieval_metrics`.
        query_texts: ``query_id -> text`` for the hover (ids missing here show the id only).
        log_y: Use a logarithmic rank axis (default ``True``).
        k_lines: Cut-offs drawn as reference lines (default ``(1, 10)``).
        depth: The ranking depth, if the ranks come from a top-``depth`` list (hover of missing
            queries then says "not in top-depth"); every rank must be ``<= depth``.
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure.

    Raises:
        ValueError: On an empty mapping, a rank that is not a positive integer (or above
            ``depth``), or a non-positive ``k`` in ``k_lines``.

    Example:
        >>> fig = plot_rank({"q1": 3, "q2": 1, "q3": None})
        >>> list(fig.data[0].customdata), list(fig.data[1].customdata)
        (['q2', 'q1'], ['q3'])
    """
    if isinstance(first_relevant_ranks, pd.Series):
        first_relevant_ranks = dict(first_relevant_ranks.items())
    if not isinstance(first_relevant_ranks, Mapping) or not first_relevant_ranks:
        raise ValueError("first_relevant_ranks must be a non-empty mapping query_id -> rank")
    if depth is not None and (not _is_int(depth) or depth < 1):
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    k_values = []
    for k in k_lines:
        if not _is_int(k) or k < 1:
            raise ValueError(f"k_lines must hold positive integers, got {k!r}")
        k_values.append(int(k))
    found: list[tuple[int, int, object]] = []
    missing: list[object] = []
    for pos, (qid, rank) in enumerate(first_relevant_ranks.items()):
        if rank is None or rank is pd.NA or (isinstance(rank, float) and np.isnan(rank)):
            missing.append(qid)
            continue
        if not _is_int(rank) or rank < 1:
            raise ValueError(
                f"first_relevant_ranks[{qid!r}] = {rank!r}; expected a positive integer or None"
            )
        if depth is not None and rank > depth:
            raise ValueError(f"first_relevant_ranks[{qid!r}] = {rank} is above depth={depth}")
        found.append((int(rank), pos, qid))
    found.sort()
    texts = query_texts or {}

    def hover(qid, what: str) -> str:
        text = texts.get(qid)
        line = f"<br>{hover_text(text)}" if text is not None else ""
        return f"<b>query {hover_text(qid)}</b>{line}<br>{what}"

    trace_cls = scatter_class(len(first_relevant_ranks))
    fig = go.Figure()
    fig.add_trace(
        trace_cls(
            x=list(range(1, len(found) + 1)),
            y=[r for r, _, _ in found],
            mode="markers",
            name="first relevant rank",
            marker={"color": SERIES_COLORS[0], "size": 7},
            customdata=[q for _, _, q in found],
            hovertext=[hover(q, f"first relevant at rank {r}") for r, _, q in found],
            hoverinfo="text",
        )
    )
    top = max([r for r, _, _ in found] + k_values + [1])
    if depth is not None:
        missing_y = 1.5 * depth
        missing_what = f"no relevant title in top-{depth}"
    else:
        missing_y = 1.5 * top if log_y else top + 1
        missing_what = "no relevant title retrieved"
    if missing:
        fig.add_trace(
            trace_cls(
                x=list(range(len(found) + 1, len(found) + len(missing) + 1)),
                y=[missing_y] * len(missing),
                mode="markers",
                name=f"no relevant retrieved (n={len(missing)})",
                marker={"color": WRONG_COLOR, "symbol": "x", "size": 9},
                customdata=list(missing),
                hovertext=[hover(q, missing_what) for q in missing],
                hoverinfo="text",
            )
        )
        _hline(fig, missing_y, "not retrieved", WRONG_COLOR, "dot", log_y, top=True)
    for k in k_values:
        _hline(fig, k + 0.5, f"k={k}", "#555555", "dash", log_y, top=False)
    fig.update_xaxes(title_text="queries, sorted by rank")
    fig.update_yaxes(title_text="rank of first relevant title", type="log" if log_y else "linear")
    if log_y:
        # explicit 1-2-5 ticks over an explicit range: plotly's default log ticks label the
        # minor ticks with single digits ("8 9 10 2 3"), unreadable on a rank axis
        y_top = max(top + 0.5, missing_y if missing else 1.0)  # highest marker or line
        ticks = log_ticks(1, y_top)
        fig.update_yaxes(
            range=[float(np.log10(0.8)), float(np.log10(y_top * 1.25))],
            tickmode="array",
            tickvals=ticks,
            ticktext=[str(t) for t in ticks],
            minor={"showgrid": False},
        )
    return apply_layout(fig, title=title, width=width, height=height)


def _is_int(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and float(value).is_integer()


def _hline(fig: go.Figure, y: float, text: str, color: str, dash: str, log_y: bool, *, top: bool):
    """Full-width horizontal line at data value ``y`` with a label.

    Written by hand rather than with ``fig.add_hline(annotation_text=...)``: on a log axis
    plotly places shapes at data values but annotations at log10 values, and ``add_hline``
    gives both the same number (plotly.py issues #2580, #4012), which misplaces the label.
    """
    fig.add_shape(
        type="line",
        xref="x domain",
        yref="y",
        x0=0,
        x1=1,
        y0=y,
        y1=y,
        line={"color": color, "dash": dash, "width": 1},
    )
    fig.add_annotation(
        xref="x domain",
        yref="y",
        x=0 if top else 1,
        y=float(np.log10(y)) if log_y else y,
        xanchor="left" if top else "right",
        yanchor="bottom" if top else "top",
        text=text,
        showarrow=False,
        font={"color": color, "size": 11},
    )
