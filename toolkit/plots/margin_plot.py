"""Per-query best positive vs hardest negative score (dumbbell chart), sorted by margin.

:func:`plot_margins` draws these traces, in this order (an empty one is left out):

1. ``"margin ≥ 0 (n=...)"``: light grey segments from hardest negative to best positive;
2. ``"margin < 0 (n=...)"``: thick red segments for queries whose hardest negative
   out-scores their best positive (segments in one trace, NaN between them);
3. ``"best positive"``: green circles;
4. ``"hardest negative"``: dark grey diamonds.

Hover on the green marker shows the query id, full query text, both scores, the margin, and
every other column of the table (e.g. the ids or titles of the two documents); on the grey
marker, the query id and the hardest negative's score (the rest is stored once, on the green
marker of the same row); the segments carry no hover of their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit._validation import check_int
from toolkit.plots._style import (
    RELEVANT_COLOR,
    WRONG_COLOR,
    apply_layout,
    finite_column,
    hover_text,
    scatter_class,
    segment_xy,
    truncate_label,
)

# accepted column names, first match wins (``*_score`` is what ``toolkit.diagnostics.query_margins``
# returns)
_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "query_id": ("query_id",),
    "best_positive": ("best_positive", "best_positive_score"),
    "hardest_negative": ("hardest_negative", "hardest_negative_score"),
    "margin": ("margin",),
}
NEGATIVE_COLOR = "#555555"  # hardest-negative markers
SEGMENT_COLOR = "#BBBBBB"  # segments of queries with margin >= 0
ROW_PX = 16  # default height per query row: room for one 11 px tick label
LABEL_FONT_PX = 11
_FRAME_PX = 170  # title, x axis and margins around the rows


def plot_margins(
    table: pd.DataFrame,
    *,
    max_label_chars: int = 40,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot, per query, the best relevant score against the hardest non-relevant score.

    One row per query on the y axis, sorted by ``margin`` ascending (stable), the most
    negative margin on top; queries without a hardest negative (every title relevant:
    ``hardest_negative`` and ``margin`` both missing) come last with the green marker only.
    Row ``i`` of the sorted table sits at ``y=i`` (the axis is reversed). Tick labels are the
    ``query`` column cut to ``max_label_chars`` when present, else the ``query_id``, in an
    11 px font; without ``height`` the figure grows by :data:`ROW_PX` (16 px) per query, so
    the labels never overprint (83 queries: 1,498 px).
    The traces and their hover are listed in the module docstring
    (:mod:`toolkit.plots.margin_plot`).

    Args:
        table: One row per query with columns ``query_id``, ``best_positive``,
            ``hardest_negative``, ``margin`` and optionally ``query`` (text) and others. The
            ``best_positive_score``/``hardest_negative_score`` names of
            :func:`toolkit.diagnostics.query_margins` are accepted too, so its output (joined
            with the query texts if wanted) can be passed as is.
        max_label_chars: Longest tick label.
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: ``ROW_PX`` per query plus the frame, at
            least 450).

    Returns:
        The figure: segments, then the two markers of each query.

    Raises:
        TypeError: ``max_label_chars`` is not an integer.
        ValueError: When ``table`` is not a non-empty DataFrame, lacks a required column,
            repeats a ``query_id``, or holds a non-finite score other than a missing
            hardest negative with its margin (the message names row and column), or
            ``max_label_chars`` is below 2.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"query_id": ["q1", "q2"], "best_positive": [0.8, 0.4],
        ...                   "hardest_negative": [0.5, 0.6], "margin": [0.3, -0.2]})
        >>> [tr.name for tr in plot_margins(t).data]
        ['margin ≥ 0 (n=1)', 'margin < 0 (n=1)', 'best positive', 'hardest negative']
    """
    cols, numeric = _checked(table)
    check_int(max_label_chars, "max_label_chars", minimum=2)
    # ascending margin, stable; rows without a negative go last
    no_negative = np.isnan(numeric["hardest_negative"])
    order = np.lexsort((np.nan_to_num(numeric["margin"], nan=0.0), no_negative))
    rows = table.iloc[order]
    pos, neg, margin = (numeric[k][order] for k in ("best_positive", "hardest_negative", "margin"))
    qids = rows[cols["query_id"]].tolist()
    labels = rows["query"].tolist() if "query" in table.columns else [str(q) for q in qids]
    trace_cls = scatter_class(2 * len(rows))
    fig = go.Figure()
    fig.add_traces(_segment_traces(trace_cls, pos, neg, margin))
    hover = _hovers(rows, cols, pos, neg, margin)
    fig.add_traces(_marker_traces(trace_cls, pos, neg, qids, hover))
    fig.update_yaxes(  # row i at y=i, the first row on top
        tickmode="array",
        tickvals=list(range(len(rows))),
        ticktext=[truncate_label(t, max_label_chars) for t in labels],
        tickfont={"size": LABEL_FONT_PX},
        autorange="reversed",
    )
    fig.update_xaxes(title_text="similarity")
    if height is None:
        height = max(450, ROW_PX * len(rows) + _FRAME_PX)
    return apply_layout(fig, title=title, width=width, height=height)


def _checked(table: pd.DataFrame) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """The column used for each role, and the three score columns as float64 (NaN: missing)."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    cols = {}
    for key, aliases in _COLUMN_ALIASES.items():
        found = [c for c in aliases if c in table.columns]
        if not found:
            raise ValueError(
                f"table lacks column {' or '.join(repr(a) for a in aliases)}; expected "
                "query_id, best_positive[_score], hardest_negative[_score], margin (+ optional "
                "query)"
            )
        cols[key] = found[0]
    if table.empty:
        raise ValueError("table has no rows")
    dup = table[cols["query_id"]].duplicated()
    if dup.any():
        row = table.index[int(np.argmax(dup.to_numpy()))]
        raise ValueError(f"table row {row!r}: query_id {table.at[row, 'query_id']!r} repeats")
    # a missing hardest negative (every title relevant) is allowed with a missing margin
    numeric = {
        key: finite_column(table, cols[key], "table", allow_missing=key != "best_positive")
        for key in ("best_positive", "hardest_negative", "margin")
    }
    mismatch = np.flatnonzero(np.isnan(numeric["hardest_negative"]) != np.isnan(numeric["margin"]))
    if mismatch.size:
        row = table.index[mismatch[0]]
        raise ValueError(
            f"table row {row!r}: {cols['hardest_negative']!r} and {cols['margin']!r} must be "
            "missing together (a query whose every title is relevant has neither)"
        )
    return cols, numeric


def _hovers(
    rows: pd.DataFrame, cols: dict[str, str], pos: np.ndarray, neg: np.ndarray, margin: np.ndarray
) -> list[str]:
    """Each row's full hover: query id and text, both scores, margin, every other column."""
    has_query = "query" in rows.columns
    extra = [c for c in rows.columns if c not in set(cols.values()) | {"query"}]
    hover = []
    for i in range(len(rows)):
        parts = [f"<b>query {hover_text(rows[cols['query_id']].iloc[i])}</b>"]
        if has_query:
            parts.append(hover_text(rows["query"].iloc[i]))
        if np.isnan(neg[i]):
            parts.append(f"best positive {pos[i]:.3f} · no non-relevant title")
        else:
            parts.append(
                f"best positive {pos[i]:.3f} · hardest negative {neg[i]:.3f}"
                f" · margin {margin[i]:+.3f}"
            )
        parts += [f"{hover_text(c)}: {_fmt(rows[c].iloc[i])}" for c in extra]
        hover.append("<br>".join(parts))
    return hover


def _segment_traces(trace_cls: type, pos: np.ndarray, neg: np.ndarray, margin: np.ndarray):
    """Hardest negative -> best positive segments: grey for margin >= 0, red below 0."""
    traces = []
    for name, selected, line in (
        ("margin ≥ 0", ~(margin < 0) & ~np.isnan(margin), {"color": SEGMENT_COLOR, "width": 2}),
        ("margin < 0", margin < 0, {"color": WRONG_COLOR, "width": 3}),
    ):
        idx = np.flatnonzero(selected)
        if idx.size == 0:
            continue
        x, y = segment_xy(neg[idx], idx, pos[idx], idx)
        traces.append(
            trace_cls(
                x=x,
                y=y,
                mode="lines",
                name=f"{name} (n={idx.size})",
                line=line,
                hoverinfo="skip",  # the markers at both ends carry the hover
            )
        )
    return traces


def _marker_traces(
    trace_cls: type, pos: np.ndarray, neg: np.ndarray, qids: list, hover: list[str]
) -> list:
    """Green best-positive circles (the row's full hover), grey hardest-negative diamonds."""
    ys = list(range(len(qids)))
    best = trace_cls(
        x=[float(v) for v in pos],
        y=ys,
        mode="markers",
        name="best positive",
        marker={"color": RELEVANT_COLOR, "size": 9, "symbol": "circle"},
        customdata=qids,
        hovertext=hover,
        hoverinfo="text",
    )
    # the grey marker names the query and its own score only, so the query texts and extra
    # columns are stored once
    hardest = trace_cls(
        x=[None if np.isnan(v) else float(v) for v in neg],
        y=ys,
        mode="markers",
        name="hardest negative",
        marker={"color": NEGATIVE_COLOR, "size": 9, "symbol": "diamond"},
        customdata=qids,
        hovertemplate="<b>query %{customdata}</b><br>hardest negative %{x:.3f}<extra></extra>",
    )
    return [best, hardest]


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3f}"
    return hover_text(value)
