"""Rank of the first relevant title per query, sorted, with k reference lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit._validation import check_int
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
        The figure: the ranked queries, then the queries without one (if any).

    Raises:
        TypeError: ``depth`` or a ``k`` in ``k_lines`` is not an integer.
        ValueError: On an empty mapping, a rank that is not a positive integer (or above
            ``depth``), or a ``depth`` or ``k`` below 1.

    Example:
        >>> fig = plot_rank({"q1": 3, "q2": 1, "q3": None})
        >>> list(fig.data[0].customdata), list(fig.data[1].customdata)
        (['q2', 'q1'], ['q3'])
    """
    found, missing, k_values = _checked(first_relevant_ranks, depth, k_lines)
    texts = query_texts or {}
    trace_cls = scatter_class(len(found) + len(missing))
    fig = go.Figure()
    hover = [_hover(texts, q, f"first relevant at rank {r}") for r, _, q in found]
    fig.add_trace(_ranked_trace(trace_cls, found, hover))
    top = max([r for r, _, _ in found] + k_values + [1])
    if depth is not None:
        missing_y, what = 1.5 * depth, f"no relevant title in top-{depth}"
    else:
        missing_y, what = (1.5 * top if log_y else top + 1), "no relevant title retrieved"
    if missing:
        hover = [_hover(texts, q, what) for q in missing]
        fig.add_trace(_missing_trace(trace_cls, missing, len(found), missing_y, hover))
        _hline(fig, missing_y, "not retrieved", WRONG_COLOR, "dot", log_y, top=True)
    for k in k_values:
        _hline(fig, k + 0.5, f"k={k}", "#555555", "dash", log_y, top=False)
    fig.update_xaxes(title_text="queries, sorted by rank")
    fig.update_yaxes(title_text="rank of first relevant title", type="log" if log_y else "linear")
    if log_y:  # up to the highest marker or line
        _log_rank_axis(fig, max(top + 0.5, missing_y if missing else 1.0))
    return apply_layout(fig, title=title, width=width, height=height)


def _checked(
    first_relevant_ranks: Mapping[str, int | None] | pd.Series,
    depth: int | None,
    k_lines: Sequence[int],
) -> tuple[list[tuple[int, int, object]], list[object], list[int]]:
    """Sorted ``[(rank, position, query id), ...]``, the ids without a rank, the k values."""
    if isinstance(first_relevant_ranks, pd.Series):
        first_relevant_ranks = dict(first_relevant_ranks.items())
    if not isinstance(first_relevant_ranks, Mapping) or not first_relevant_ranks:
        raise ValueError("first_relevant_ranks must be a non-empty mapping query_id -> rank")
    depth = check_int(depth, "depth", allow_none=True)
    k_values = [check_int(k, f"k_lines[{i}]") for i, k in enumerate(k_lines)]
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
    return found, missing, k_values


def _ranked_trace(trace_cls: type, found: list[tuple[int, int, object]], hover: list[str]):
    """The queries with a rank, at x = 1, 2, ... in ``found`` order."""
    return trace_cls(
        x=list(range(1, len(found) + 1)),
        y=[r for r, _, _ in found],
        mode="markers",
        name="first relevant rank",
        marker={"color": SERIES_COLORS[0], "size": 7},
        customdata=[q for _, _, q in found],
        hovertext=hover,
        hoverinfo="text",
    )


def _missing_trace(trace_cls: type, missing: list, after: int, y: float, hover: list[str]):
    """Red crosses for the queries without a relevant title, at height ``y`` after the rest."""
    return trace_cls(
        x=list(range(after + 1, after + len(missing) + 1)),
        y=[y] * len(missing),
        mode="markers",
        name=f"no relevant retrieved (n={len(missing)})",
        marker={"color": WRONG_COLOR, "symbol": "x", "size": 9},
        customdata=list(missing),
        hovertext=hover,
        hoverinfo="text",
    )


def _hover(texts: Mapping[str, str], qid: object, what: str) -> str:
    text = texts.get(qid)
    line = f"<br>{hover_text(text)}" if text is not None else ""
    return f"<b>query {hover_text(qid)}</b>{line}<br>{what}"


def _log_rank_axis(fig: go.Figure, y_top: float) -> None:
    """Label a log rank axis at 1, 2, 5, 10, ... only, from 0.8 to 1.25 x ``y_top``.

    Explicit 1-2-5 ticks over an explicit range: plotly's default log ticks label the minor
    ticks with single digits ("8 9 10 2 3"), unreadable on a rank axis.
    """
    ticks = log_ticks(1, y_top)
    fig.update_yaxes(
        range=[float(np.log10(0.8)), float(np.log10(y_top * 1.25))],
        tickmode="array",
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
        minor={"showgrid": False},
    )


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
