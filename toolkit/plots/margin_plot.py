"""Per-query best positive vs hardest negative score (dumbbell chart), sorted by margin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.plots._style import (
    RELEVANT_COLOR,
    WRONG_COLOR,
    apply_layout,
    hover_text,
    scatter_class,
    truncate_label,
)

# accepted column names, first match wins (``*_score`` is what ``toolkit.metrics.query_margins``
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
    Traces, in this order (an empty one is left out):

    1. ``"margin ≥ 0 (n=...)"``: light grey segments from hardest negative to best positive;
    2. ``"margin < 0 (n=...)"``: thick red segments for queries whose hardest negative
       out-scores their best positive (segments in one trace, ``None`` between them);
    3. ``"best positive"``: green circles;
    4. ``"hardest negative"``: dark grey diamonds.

    Hover on the green marker shows the query id, full query text, both scores, the margin,
    and every other column of ``table`` (e.g. the ids or titles of the two documents); on the
    grey marker, the query id and the hardest negative's score (the rest is stored once, on
    the green marker of the same row); the segments carry no hover of their own.

    Args:
        table: One row per query with columns ``query_id``, ``best_positive``,
            ``hardest_negative``, ``margin`` and optionally ``query`` (text) and others. The
            ``best_positive_score``/``hardest_negative_score`` names of
            :func:`toolkit.metrics.query_margins` are accepted too, so its output (joined
            with the query texts if wanted) can be passed as is.
        max_label_chars: Longest tick label.
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: ``ROW_PX`` per query plus the frame, at
            least 450).

    Returns:
        The figure.

    Raises:
        ValueError: When ``table`` is not a non-empty DataFrame, lacks a required column,
            repeats a ``query_id``, or holds a non-finite score other than a missing
            hardest negative with its margin (the message names row and column).

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"query_id": ["q1", "q2"], "best_positive": [0.8, 0.4],
        ...                   "hardest_negative": [0.5, 0.6], "margin": [0.3, -0.2]})
        >>> [tr.name for tr in plot_margins(t).data]
        ['margin ≥ 0 (n=1)', 'margin < 0 (n=1)', 'best positive', 'hardest negative']
    """
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
    numeric = {}
    for key in ("best_positive", "hardest_negative", "margin"):
        col = cols[key]
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        # a missing hardest negative (every title relevant) is allowed with a missing margin
        allowed = np.zeros(len(values), dtype=bool)
        if key != "best_positive":
            allowed = table[col].isna().to_numpy()
        bad = np.flatnonzero(~np.isfinite(values) & ~allowed)
        if bad.size:
            row = table.index[bad[0]]
            raise ValueError(
                f"table row {row!r}, column {col!r}: {table[col].iloc[bad[0]]!r} "
                "is not a finite number"
            )
        numeric[key] = values
    no_negative = np.isnan(numeric["hardest_negative"])
    mismatch = np.flatnonzero(no_negative != np.isnan(numeric["margin"]))
    if mismatch.size:
        row = table.index[mismatch[0]]
        raise ValueError(
            f"table row {row!r}: {cols['hardest_negative']!r} and {cols['margin']!r} must be "
            "missing together (a query whose every title is relevant has neither)"
        )
    if max_label_chars < 2:
        raise ValueError(f"max_label_chars must be at least 2, got {max_label_chars}")

    # ascending margin, stable; rows without a negative go last
    order = np.lexsort((np.nan_to_num(numeric["margin"], nan=0.0), no_negative))
    pos = numeric["best_positive"][order]
    neg = numeric["hardest_negative"][order]
    margin = numeric["margin"][order]
    rows = table.iloc[order]
    qids = rows[cols["query_id"]].tolist()
    has_query = "query" in table.columns
    labels = rows["query"].tolist() if has_query else [str(q) for q in qids]
    used = set(cols.values()) | {"query"}
    extra = [c for c in table.columns if c not in used]
    hover = []
    for i in range(len(rows)):
        parts = [f"<b>query {hover_text(qids[i])}</b>"]
        if has_query:
            parts.append(hover_text(labels[i]))
        if np.isnan(neg[i]):
            parts.append(f"best positive {pos[i]:.3f} · no non-relevant title")
        else:
            parts.append(
                f"best positive {pos[i]:.3f} · hardest negative {neg[i]:.3f}"
                f" · margin {margin[i]:+.3f}"
            )
        parts += [f"{hover_text(c)}: {_fmt(rows[c].iloc[i])}" for c in extra]
        hover.append("<br>".join(parts))

    trace_cls = scatter_class(2 * len(rows))
    fig = go.Figure()
    ys = list(range(len(rows)))
    for name, selected, line in (
        ("margin ≥ 0", ~(margin < 0) & ~np.isnan(margin), {"color": SEGMENT_COLOR, "width": 2}),
        ("margin < 0", margin < 0, {"color": WRONG_COLOR, "width": 3}),
    ):
        idx = np.flatnonzero(selected)
        if idx.size == 0:
            continue
        xs_seg: list[float | None] = []
        ys_seg: list[float | None] = []
        for i in idx:
            xs_seg += [float(neg[i]), float(pos[i]), None]
            ys_seg += [ys[i], ys[i], None]
        fig.add_trace(
            trace_cls(
                # numeric arrays are stored as base64; NaN breaks the line as None would
                x=np.array([np.nan if v is None else v for v in xs_seg], dtype=np.float64),
                y=np.array([np.nan if v is None else v for v in ys_seg], dtype=np.float64),
                mode="lines",
                name=f"{name} (n={idx.size})",
                line=line,
                hoverinfo="skip",  # the markers at both ends carry the hover
            )
        )
    fig.add_trace(
        trace_cls(
            x=[float(v) for v in pos],
            y=ys,
            mode="markers",
            name="best positive",
            marker={"color": RELEVANT_COLOR, "size": 9, "symbol": "circle"},
            customdata=qids,
            hovertext=hover,
            hoverinfo="text",
        )
    )
    # the row's full hover is on its green marker; the grey one names the query and its
    # own score only, so the query texts and extra columns are stored once
    fig.add_trace(
        trace_cls(
            x=[None if np.isnan(v) else float(v) for v in neg],
            y=ys,
            mode="markers",
            name="hardest negative",
            marker={"color": NEGATIVE_COLOR, "size": 9, "symbol": "diamond"},
            customdata=qids,
            hovertemplate="<b>query %{customdata}</b><br>hardest negative %{x:.3f}"
            "<extra></extra>",
        )
    )
    fig.update_yaxes(
        tickmode="array",
        tickvals=ys,
        ticktext=[truncate_label(t, max_label_chars) for t in labels],
        tickfont={"size": LABEL_FONT_PX},
        autorange="reversed",
    )
    fig.update_xaxes(title_text="similarity")
    if height is None:
        height = max(450, ROW_PX * len(rows) + _FRAME_PX)
    return apply_layout(fig, title=title, width=width, height=height)


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3f}"
    return hover_text(value)
