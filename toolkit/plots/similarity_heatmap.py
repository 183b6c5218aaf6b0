"""Query x title similarity heatmap with relevant cells outlined."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from toolkit._validation import check_int
from toolkit.plots._style import (
    WRONG_COLOR,
    aligned_list,
    apply_layout,
    check_finite,
    hover_text,
    label_px,
    truncate_label,
)
from toolkit.plots.notebook import MAX_PNG_WIDTH

OUTLINE_COLOR = WRONG_COLOR
CELL_W_PX = 14  # default width per title column
CELL_H_PX = 20  # default height per query row
LABEL_FONT_PX = 10
_FRAME_W_PX = 380  # query labels on the left, colour bar on the right
_FRAME_H_PX = 300  # title on top, slanted title labels below
# titles_on="auto": more titles than this become rows. As columns they would make the figure
# wider than a notebook shows it (MAX_PNG_WIDTH, 900 px), so it would be scaled down, labels
# and all: 59 titles came out as 7.5 px text on 10.5 px columns.
MAX_TITLE_COLUMNS = (MAX_PNG_WIDTH - _FRAME_W_PX) // CELL_W_PX  # 37
# titles as rows ("y"): one horizontal label per title, the queries as columns
ROW_FONT_PX = 11  # title and query labels
ROW_H_PX = 18  # per title row: the font plus a gap, so labels never touch
COLUMN_W_PX = 30  # per query column: slanted -45 degrees, labels 30 / sqrt(2) = 21 px apart
_COLORBAR_PX = 110  # colour bar, its ticks and its title, right of the cells
_TITLE_PX = 70  # figure title above the cells
TITLES_ON = ("auto", "x", "y")


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
    titles_on: str = "auto",
) -> go.Figure:
    """Plot a query x title score matrix as a heatmap, outlining the relevant cells.

    Both axes are categorical: the categories are the full labels (HTML-escaped and wrapped
    for the hover, see :func:`~toolkit.plots._style.hover_text`; a repeated label gets a
    `` (2)``, `` (3)`` ... suffix so that every row and column stays apart), so cell ``(i, j)``
    sits at position ``x=j`` (title ``j``), ``y=i`` (query ``i``, first query on top). Tick
    labels are the labels cut to ``max_label_chars`` (ending in "…"); the hover shows both
    full texts (``%{y}``, ``%{x}``: each text is stored once, not once per cell), the score
    and whether the pair is relevant (``customdata`` 1/0 per cell). Each relevant cell gets
    one rectangle shape from ``(j - 0.5, i - 0.5)`` to ``(j + 0.5, i + 0.5)``, in row-major
    order. Without ``width``/``height`` the figure grows with the matrix (14 px per title
    column, 20 px per query row, plus room for the labels), so labels do not overprint.

    Many titles do not fit as columns: a notebook shows a figure at most 900 px wide (see
    :mod:`toolkit.plots.notebook`) and scales a wider one down, labels and all. So by
    default (``titles_on="auto"``) a block of more than :data:`MAX_TITLE_COLUMNS` (37)
    titles and at most that many queries is drawn transposed:
    titles are the rows (``y``, first title on top, one horizontal 11 px label per 18 px
    row) and queries the columns (``x``, 30 px each, labels slanted -45 degrees); cell
    ``(i, j)`` then sits at ``x=i``, ``y=j``, its outline runs from ``(i - 0.5, j - 0.5)`` to
    ``(i + 0.5, j + 0.5)``, ``z``/``customdata`` are the transposed matrices and the
    hover is the same. Without ``width``/``height`` the margins and the figure size follow
    the estimated length of the longest tick labels, so no label is cut or overprinted.

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
        width: Figure width in pixels (``None``: grows with the number of titles, >= 700;
            titles as rows: the labels' margins plus 30 px per query).
        height: Figure height in pixels (``None``: grows with the number of queries, >= 450;
            titles as rows: the labels' margins plus 18 px per title).
        titles_on: Axis of the titles: ``"x"`` (columns), ``"y"`` (rows) or ``"auto"``
            (``"y"`` when there are more than :data:`MAX_TITLE_COLUMNS` titles and at most
            that many queries, else ``"x"``).

    Returns:
        The figure: one heatmap trace, one rectangle shape per relevant cell.

    Raises:
        TypeError: ``max_label_chars`` is not an integer.
        ValueError: When the shapes of ``scores``, the labels or ``relevant_mask`` disagree,
            ``scores`` holds NaN/inf, ``max_label_chars`` is below 2, or ``titles_on`` is not
            one of ``"auto"``, ``"x"``, ``"y"``.

    Example:
        >>> fig = plot_similarity_heatmap([[0.9, 0.1]], query_labels=["насос"],
        ...     doc_labels=["Насос центробежный", "Робот"], relevant_mask=[[True, False]])
        >>> len(fig.layout.shapes)
        1
    """
    z, mask, query_labels, doc_labels, titles_on = _checked(
        scores, query_labels, doc_labels, relevant_mask, max_label_chars, titles_on
    )
    draw = _titles_as_rows if titles_on == "y" else _titles_as_columns
    return draw(
        z, mask, query_labels=query_labels, doc_labels=doc_labels, max_label_chars=max_label_chars,
        colorscale=colorscale, zmin=zmin, zmax=zmax, title=title, width=width, height=height,
    )  # fmt: skip


def _checked(
    scores, query_labels, doc_labels, relevant_mask, max_label_chars: int, titles_on: str
) -> tuple[np.ndarray, np.ndarray, list, list, str]:
    """Scores, mask, query and title labels checked; ``titles_on`` with "auto" resolved."""
    z = _scores(scores)
    n_q, n_d = z.shape
    query_labels = _labels(query_labels, "query_labels", n_q, "rows")
    doc_labels = _labels(doc_labels, "doc_labels", n_d, "columns")
    mask = np.zeros_like(z, dtype=bool) if relevant_mask is None else _mask(relevant_mask, z.shape)
    check_int(max_label_chars, "max_label_chars", minimum=2)
    if titles_on not in TITLES_ON:
        raise ValueError(f"titles_on must be one of {TITLES_ON}, got {titles_on!r}")
    if titles_on == "auto":
        titles_on = "y" if n_d > MAX_TITLE_COLUMNS >= n_q else "x"
    return z, mask, query_labels, doc_labels, titles_on


def _keys_and_range(
    z: np.ndarray, query_labels: list, doc_labels: list, zmin: float | None, zmax: float | None
) -> tuple[list[str], list[str], float, float]:
    """Category keys of the queries and titles and the colour scale's ends.

    The keys are the full labels for the hover, each text stored once; the ends default to
    the smallest and the largest score.
    """
    query_keys = _unique([hover_text(t) for t in query_labels])
    doc_keys = _unique([hover_text(t) for t in doc_labels])
    zmin = float(z.min()) if zmin is None else zmin
    zmax = float(z.max()) if zmax is None else zmax
    return query_keys, doc_keys, zmin, zmax


def _titles_as_columns(
    z: np.ndarray,
    mask: np.ndarray,
    *,
    query_labels: list,
    doc_labels: list,
    max_label_chars: int,
    colorscale: str,
    zmin: float | None,
    zmax: float | None,
    title: str | None,
    width: int | None,
    height: int | None,
) -> go.Figure:
    """The heatmap with titles as columns (slanted labels), queries as rows."""
    n_q, n_d = z.shape
    y_keys, x_keys, zmin, zmax = _keys_and_range(z, query_labels, doc_labels, zmin, zmax)
    fig = go.Figure(_heatmap(z, x_keys, y_keys, mask, colorscale, zmin, zmax))
    for i, j in np.argwhere(mask):
        fig.add_shape(_outline(int(i), int(j)))
    x_axis = _category_axis(x_keys, doc_labels, max_label_chars)
    fig.update_xaxes(**x_axis, tickangle=-45, title_text="title")
    y_axis = _category_axis(y_keys, query_labels, max_label_chars)
    fig.update_yaxes(**y_axis, autorange="reversed", title_text="query")
    if width is None:
        width = max(700, CELL_W_PX * n_d + _FRAME_W_PX)
    if height is None:
        height = max(450, CELL_H_PX * n_q + _FRAME_H_PX)
    return apply_layout(fig, title=title, width=width, height=height)


def _titles_as_rows(
    z: np.ndarray,
    mask: np.ndarray,
    *,
    query_labels: list,
    doc_labels: list,
    max_label_chars: int,
    colorscale: str,
    zmin: float | None,
    zmax: float | None,
    title: str | None,
    width: int | None,
    height: int | None,
) -> go.Figure:
    """The transposed heatmap: titles as rows (horizontal labels), queries as columns."""
    n_q, n_d = z.shape
    query_keys, doc_keys, zmin, zmax = _keys_and_range(z, query_labels, doc_labels, zmin, zmax)
    fig = go.Figure(
        _heatmap(z.T, query_keys, doc_keys, mask.T, colorscale, zmin, zmax, queries_on="x",
                 colorbar_px=16)
    )  # fmt: skip
    for i, j in np.argwhere(mask):
        fig.add_shape(_outline(int(j), int(i)))  # title j is row j, query i column i
    x_axis = _category_axis(query_keys, query_labels, max_label_chars, ROW_FONT_PX)
    fig.update_xaxes(**x_axis, tickangle=-45, title_text="query")
    y_axis = _category_axis(doc_keys, doc_labels, max_label_chars, ROW_FONT_PX)
    fig.update_yaxes(**y_axis, autorange="reversed", title_text="title")
    # room for the longest labels: titles left of the rows, slanted queries below the columns
    title_px = max(label_px(t, ROW_FONT_PX) for t in y_axis["ticktext"])
    query_px = max(label_px(t, ROW_FONT_PX) for t in x_axis["ticktext"])
    slant = query_px / math.sqrt(2)
    margin = {
        "l": int(max(title_px + 40, slant - COLUMN_W_PX / 2 + 20)),  # 40: gap + axis title
        "r": _COLORBAR_PX,
        "t": _TITLE_PX,
        "b": int(slant + ROW_FONT_PX + 40),  # + the slant's height + the axis title
    }
    if width is None:
        width = margin["l"] + max(COLUMN_W_PX * n_q, 200) + margin["r"]
    if height is None:
        height = margin["t"] + max(ROW_H_PX * n_d, 200) + margin["b"]
    return apply_layout(fig, title=title, width=width, height=height, margin=margin)


def _scores(scores) -> np.ndarray:
    """The scores as a non-empty, finite 2-D float64 array."""
    try:
        z = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores must be a 2-D array of numbers ({exc})") from None
    if z.ndim != 2 or 0 in z.shape:
        raise ValueError(f"scores must be a non-empty 2-D array, got shape {z.shape}")
    check_finite(z, "scores")
    return z


def _mask(relevant_mask, shape: tuple[int, int]) -> np.ndarray:
    """``relevant_mask`` as a boolean array of the scores' shape."""
    mask_raw = np.asarray(relevant_mask)
    if mask_raw.shape != shape:
        raise ValueError(f"relevant_mask has shape {mask_raw.shape} but scores has shape {shape}")
    if mask_raw.dtype != bool and not np.isin(mask_raw, (0, 1)).all():
        raise ValueError("relevant_mask must hold booleans (or 0/1)")
    return mask_raw.astype(bool)


def _heatmap(
    z: np.ndarray,
    x_keys: list[str],
    y_keys: list[str],
    mask: np.ndarray,
    colorscale: str,
    zmin: float,
    zmax: float,
    *,
    queries_on: str = "y",
    colorbar_px: int | None = None,
) -> go.Heatmap:
    """The heatmap trace; the hover reads both texts from the axes and relevance per cell.

    ``z``, ``mask`` and the keys as drawn: ``queries_on`` names the axis of the queries
    (``"x"`` for the transposed block, titles as rows). ``colorbar_px``: the colour bar's
    thickness (``None``: plotly's).
    """
    query, doc = ("%{y}", "%{x}") if queries_on == "y" else ("%{x}", "%{y}")
    colorbar = {"title": {"text": "similarity"}}
    if colorbar_px is not None:
        colorbar["thickness"] = colorbar_px
    return go.Heatmap(
        z=z,
        x=x_keys,
        y=y_keys,
        customdata=mask.astype(np.uint8),
        hovertemplate=(
            f"query: {query}<br>title: {doc}<br>relevant: %{{customdata}} (1 yes, 0 no)"
            "<br>score: %{z:.3f}<extra></extra>"
        ),
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        colorbar=colorbar,
    )


def _outline(i: int, j: int) -> dict:
    """The rectangle shape around cell ``(i, j)``."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "y",
        "x0": float(j) - 0.5,
        "x1": float(j) + 0.5,
        "y0": float(i) - 0.5,
        "y1": float(i) + 0.5,
        "line": {"color": OUTLINE_COLOR, "width": 2},
        "fillcolor": "rgba(0,0,0,0)",
    }


def _category_axis(
    keys: list[str], labels: list, max_label_chars: int, font_px: int = LABEL_FONT_PX
) -> dict:
    """A categorical axis over ``keys``, ticks labelled with the cut ``labels``."""
    return {
        "type": "category",
        "tickmode": "array",
        "tickvals": keys,
        "ticktext": [truncate_label(t, max_label_chars) for t in labels],
        "tickfont": {"size": font_px},
        "showgrid": False,
    }


def _labels(labels, name: str, n: int, what: str) -> list:
    return aligned_list(labels, name, n, of=f"scores has {n} {what}", what="sequence of labels")


def _unique(keys: list[str]) -> list[str]:
    """``keys`` with the 2nd, 3rd ... copy of a repeated key suffixed `` (2)``, `` (3)`` ..."""
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key} ({seen[key]})")
    while len(set(out)) < len(out):  # a suffixed key equal to another label: suffix again
        out = _unique(out)
    return out
