"""Shared look of every toolkit figure: fixed colours, fixed order, one layout helper.

Also the small pieces several figures share: hover/tick text, input checks of vectors,
series and table columns, line segments with gaps, and the frame of a 2-D map.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from toolkit.data.types import IPC_SECTIONS

# IPC sections A-H (their fixed order: toolkit.data.types.IPC_SECTIONS) with fixed colours
# (colour-blind-safe Okabe-Ito + grey).
IPC_NAMES: dict[str, str] = {
    "A": "A: Human necessities",
    "B": "B: Operations; transporting",
    "C": "C: Chemistry; metallurgy",
    "D": "D: Textiles; paper",
    "E": "E: Fixed constructions",
    "F": "F: Mechanical eng.; heating",
    "G": "G: Physics",
    "H": "H: Electricity",
}
IPC_COLORS: dict[str, str] = {
    "A": "#E69F00",
    "B": "#56B4E9",
    "C": "#009E73",
    "D": "#F0E442",
    "E": "#0072B2",
    "F": "#D55E00",
    "G": "#CC79A7",
    "H": "#332288",
}
UNKNOWN_COLOR = "#999999"
# Series colours for comparisons (relevant vs non-relevant, model A vs B, ...).
SERIES_COLORS: tuple[str, ...] = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#332288", "#999999",
)
RELEVANT_COLOR = "#009E73"
NONRELEVANT_COLOR = "#999999"
# Above this many points scatter traces switch to WebGL (go.Scattergl).
WEBGL_THRESHOLD = 2000


def scatter_class(n_points: int) -> type[go.Scatter] | type[go.Scattergl]:
    """Return ``go.Scattergl`` above :data:`WEBGL_THRESHOLD` points, else ``go.Scatter``."""
    return go.Scattergl if n_points > WEBGL_THRESHOLD else go.Scatter


BASE_TEMPLATE = "plotly_white"
# Layout parts of a template that only non-cartesian subplots read (3-D scenes, polar,
# ternary and geo axes): left out of a figure that has none of those.
_NON_CARTESIAN_LAYOUT = ("scene", "polar", "ternary", "geo", "map", "mapbox")
_CARTESIAN_TYPES = frozenset(
    {"scatter", "scattergl", "bar", "histogram", "heatmap", "box", "violin", "contour"}
)


def slim_template(fig: go.Figure, base: str = BASE_TEMPLATE) -> go.layout.Template:
    """Return ``base`` cut down to what ``fig`` can use: the same look in far fewer bytes.

    A plotly figure carries its whole template in its JSON (``plotly_white``: about 10 KB,
    mostly per-trace-type defaults for the 24 trace types). Every figure stored in a
    notebook repeats it, so only the defaults of the trace types present in ``fig`` are
    kept, and the layout of 3-D/polar/ternary/geo subplots is dropped when every trace is a
    2-D cartesian one. Call it after the traces are added.

    Args:
        fig: The figure whose trace types decide what is kept.
        base: Name of a registered plotly template.

    Returns:
        A new template; the rendered figure looks as with ``base``.
    """
    import plotly.io as pio

    full = pio.templates[base].to_plotly_json()
    types = {trace.type for trace in fig.data}
    data = {k: v for k, v in full.get("data", {}).items() if k in types}
    layout = dict(full.get("layout", {}))
    if types <= _CARTESIAN_TYPES:
        for key in _NON_CARTESIAN_LAYOUT:
            layout.pop(key, None)
    if not _uses_default_colorscale(fig):
        for key in ("colorscale", "coloraxis"):
            layout.pop(key, None)
        data = {
            k: [{a: b for a, b in entry.items() if a != "colorscale"} for entry in entries]
            for k, entries in data.items()
        }
    return go.layout.Template(data=data, layout=layout)


def _uses_default_colorscale(fig: go.Figure) -> bool:
    """Whether a trace of ``fig`` may colour by the template's colour scale.

    True for a heatmap/contour without its own ``colorscale``, or markers coloured by
    numbers without one; the template's scales (about 2 KB) are kept only then.
    """
    for trace in fig.data:
        if trace.type in ("heatmap", "contour", "histogram2d", "histogram2dcontour"):
            if trace.colorscale is None:
                return True
        marker = getattr(trace, "marker", None)
        color = getattr(marker, "color", None) if marker is not None else None
        if color is not None and not isinstance(color, str):
            values = np.asarray(color, dtype=object).ravel()
            numeric = values.size and all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values
            )
            if numeric and marker.colorscale is None:
                return True
    return False


def apply_layout(
    fig: go.Figure,
    *,
    title: str | None,
    width: int | None,
    height: int | None,
    **layout,
) -> go.Figure:
    """Apply the common template (slimmed to ``fig``'s traces), title and size; return ``fig``."""
    fig.update_layout(
        template=slim_template(fig),
        title=title,
        width=width,
        height=height,
        hoverlabel={"namelength": -1},
        **layout,
    )
    return fig


# ---------------------------------------------------------------------------
# Text helpers shared by the figures (added with the similarity/rank/margin plots).
# ---------------------------------------------------------------------------
HOVER_WRAP = 80  # characters per hover line
LINK_COLOR = "#7F7F7F"  # query -> relevant title segments
WRONG_COLOR = "#D62728"  # wrong top-1 / negative margins
QUERY_COLOR = "#000000"


def hover_text(text: object, width: int = HOVER_WRAP) -> str:
    """Return ``text`` whole, HTML-escaped and wrapped with ``<br>`` for a plotly hover label.

    Whitespace runs are collapsed to single spaces, ``&``, ``<`` and ``>`` are escaped (plotly.js
    reads a small HTML subset in labels and decodes these entities), and lines break at spaces
    near ``width`` characters, so ``result.replace("<br>", " ")`` is the escaped, whitespace-
    normalised text with nothing cut.

    Args:
        text: Any object; ``str(text)`` is used, ``None`` gives ``""``.
        width: Target characters per line.

    Returns:
        The hover-ready string.
    """
    if text is None:
        return ""
    words = html.escape(str(text), quote=False).split()
    lines: list[str] = []
    current = ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return "<br>".join(lines)


def truncate_label(text: object, max_chars: int) -> str:
    """Shorten ``text`` to at most ``max_chars`` characters for a tick label (ends with "…").

    Args:
        text: Any object; ``str(text)`` is used with whitespace runs collapsed.
        max_chars: Largest length of the returned label (at least 2).

    Returns:
        The label, unchanged when short enough.
    """
    label = " ".join(str(text).split())
    if len(label) <= max_chars:
        return label
    return label[: max(max_chars - 1, 1)].rstrip() + "…"


def label_px(text: str, font_px: float) -> float:
    """Estimated width in pixels of one line of ``text`` at ``font_px`` (plotly's sans-serif).

    For sizing margins and gaps so that tick labels fit. Widths per character: capitals
    0.72 em, digits and lower case 0.56 em, spaces and punctuation 0.3 em; on kaleido's
    renders of Russian titles and keywords this is 2-5% above the drawn width (wide Latin
    capitals such as W and M are drawn wider than estimated).

    Args:
        text: One line (``str(text)`` is measured).
        font_px: Font size in pixels.

    Returns:
        The width in pixels.
    """
    width = 0.0
    for ch in str(text):
        if ch.isupper():
            width += 0.72
        elif ch.isalnum():
            width += 0.56
        else:
            width += 0.3
    return width * font_px


def ipc_section(code: object) -> str | None:
    """Return the IPC section letter ("A".."H") of an IPC code, or ``None`` when unknown.

    Args:
        code: An IPC code such as ``"G06F 16/33"`` or ``"g"``; ``None``/empty/NaN give ``None``.

    Returns:
        The upper-case section letter, or ``None``.
    """
    if code is None or (isinstance(code, float) and code != code):
        return None
    text = str(code).strip().upper()
    if text and text[0] in IPC_SECTIONS:
        return text[0]
    return None


def as_vector(values: object, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array of finite numbers, or raise ``ValueError``.

    Args:
        values: A sequence or array of numbers.
        name: Argument name used in error messages.
        allow_empty: Accept zero values.

    Returns:
        The float64 array.

    Raises:
        ValueError: When ``values`` is not 1-D numeric, is empty (unless allowed) or holds
            NaN/inf (the message names the first bad position).
    """
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a 1-D sequence of numbers ({exc})") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    check_finite(array, name)
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN/inf cell: ``"scores[0, 3] is nan; ..."``.

    Args:
        array: A numeric array of any shape.
        name: Argument name for the message.
    """
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        pos = tuple(bad[0])
        where = ", ".join(str(i) for i in pos)
        raise ValueError(f"{name}[{where}] is {array[pos]}; expected a finite number")


def aligned_list(values: object, name: str, n: int, *, of: str, what: str = "sequence") -> list:
    """``values`` as a list of ``n`` entries, or ``ValueError`` naming ``name``.

    Args:
        values: Labels, ids, texts ... one per row of something else.
        name: Argument name for the message.
        n: Required length.
        of: What sets the length, completing "... but {of}" (e.g. ``"xy has 5 rows"``).
        what: Noun of the "not a single string" message.
    """
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} must be a {what}, not a single string")
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but {of}")
    return values


def finite_column(
    frame: pd.DataFrame, column: str, name: str, *, allow_missing: bool = False
) -> np.ndarray:
    """Return ``frame[column]`` as float64, or raise ``ValueError`` naming the first bad row.

    Args:
        frame: The table (``name`` in the message, e.g. ``"results"``).
        column: Column to read; entries that are not numbers become NaN.
        name: Argument name of ``frame`` for the message.
        allow_missing: Accept missing entries (``None``/NaN/``pd.NA``, returned as NaN).

    Returns:
        The values, one per row.

    Raises:
        ValueError: ``"<name> row <label>, column <column>: <value> is not a finite number"``.
    """
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    allowed = frame[column].isna().to_numpy() if allow_missing else False
    bad = np.flatnonzero(~np.isfinite(values) & ~allowed)
    if bad.size:
        row = frame.index[bad[0]]
        raise ValueError(
            f"{name} row {row!r}, column {column!r}: {frame[column].iloc[bad[0]]!r} "
            "is not a finite number"
        )
    return values


def series_xy(
    curves: Mapping[str, Sequence[float] | Sequence[tuple[int, float]]],
    name: str,
    *,
    nonnegative: bool = False,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Check ``curves`` and return ``[(series name, steps, values), ...]`` in mapping order.

    Args:
        curves: ``name -> values`` (steps 0..n-1) or ``name -> [(step, value), ...]``, or an
            ``(n, 2)`` array of (step, value) rows.
        name: Argument name for error messages.
        nonnegative: Also reject negative values.

    Returns:
        One ``(series name, steps as float64, values as float64)`` triple per series.

    Raises:
        ValueError: As described in :func:`toolkit.plots.plot_lr_schedule`.
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(f"{name} must be a non-empty mapping series name -> values")
    out = []
    for key, values in curves.items():
        label = f"{name}[{key!r}]"
        if isinstance(values, (str, bytes)):
            raise ValueError(f"{label} must be a sequence of numbers or (step, value) pairs")
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{label} must be a sequence of numbers or (step, value) pairs ({exc})"
            ) from None
        if arr.ndim == 1:
            x, y = np.arange(arr.size, dtype=np.float64), arr
        elif arr.ndim == 2 and arr.shape[1] == 2:
            x, y = arr[:, 0], arr[:, 1]
        else:
            raise ValueError(
                f"{label} has shape {arr.shape}; expected n values or n (step, value) pairs"
            )
        if y.size == 0:
            raise ValueError(f"{label} is empty")
        bad = np.flatnonzero(~np.isfinite(x) | ~np.isfinite(y))
        if bad.size:
            raise ValueError(f"{label}[{bad[0]}] is not finite")
        if nonnegative and (y < 0).any():
            pos = int(np.flatnonzero(y < 0)[0])
            raise ValueError(f"{label}[{pos}] = {y[pos]} is negative")
        steps_back = np.flatnonzero(np.diff(x) <= 0)
        if steps_back.size:
            pos = int(steps_back[0]) + 1
            raise ValueError(
                f"{label}[{pos}] has step {x[pos]:g} after step {x[pos - 1]:g}; steps must increase"
            )
        if np.all(x == np.round(x)):
            x = x.astype(np.int64)
        out.append((str(key), x, y))
    return out


def log_ticks(low: float, high: float) -> list[int | float]:
    """Return the 1-2-5 tick values (…, 0.5, 1, 2, 5, 10, 20, 50, …) between ``low`` and ``high``.

    Plotly's own log axis labels the minor ticks between decades with their first digit
    ("8, 9, 10, 2, 3 …"), which reads as nonsense on a rank axis; pass these values as
    ``tickvals`` (with ``ticktext=[str(v) for v in ...]``) for clean labels instead.

    Args:
        low: Smallest value shown on the axis, positive.
        high: Largest value shown on the axis, at least ``low``.

    Returns:
        The tick values in increasing order; integers from 1 up.

    Raises:
        ValueError: When ``low`` is not positive or ``high < low``.
    """
    if not (low > 0 and high >= low):
        raise ValueError(f"log_ticks needs 0 < low <= high, got low={low}, high={high}")
    ticks: list[int | float] = []
    for decade in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1):
        for step in (1, 2, 5):
            value = step * 10.0**decade
            if low <= value * (1 + 1e-9) and value <= high * (1 + 1e-9):
                ticks.append(int(round(value)) if value >= 1 else float(f"{value:.12g}"))
    return ticks


def segment_xy(
    x0: Sequence[float] | np.ndarray,
    y0: Sequence[float] | np.ndarray,
    x1: Sequence[float] | np.ndarray,
    y1: Sequence[float] | np.ndarray,
    *,
    dtype: type = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Line segments ``(x0, y0) -> (x1, y1)`` as the ``x``, ``y`` of one line trace.

    The coordinates come as ``[x0[0], x1[0], NaN, x0[1], x1[1], NaN, ...]``: plotly.js breaks
    a line at NaN as it does at ``None``, and stores a numeric array as one base64 string
    (a list holding ``None`` would be stored as one JSON number at a time).

    Args:
        x0: Start x of each segment.
        y0: Start y of each segment.
        x1: End x of each segment.
        y1: End y of each segment.
        dtype: Float type of the arrays (``np.float32`` halves the stored bytes).

    Returns:
        ``(x, y)``, each ``3 * n_segments`` long.
    """
    gap = np.full(len(x0), np.nan)
    x = np.column_stack([np.asarray(x0, np.float64), np.asarray(x1, np.float64), gap])
    y = np.column_stack([np.asarray(y0, np.float64), np.asarray(y1, np.float64), gap])
    return x.ravel().astype(dtype), y.ravel().astype(dtype)


# ---------------------------------------------------------------------------
# 2-D maps (embedding map, cluster map): compact coordinates and a frame the points fill.
# ---------------------------------------------------------------------------
MAP_PLOT_PX = 640  # default width of a map's plotting area
MAP_PLOT_MAX_H = 760  # tallest default plotting area
MAP_PLOT_MIN_H = 360
MAP_MAX_W = 1000  # widest default plotting area (when a legend needs the height)
MAP_PAD = 0.03  # empty border around the points, as a share of each span
_MAP_MARGIN = {"l": 20, "t": 60, "b": 20}
_LEGEND_ROW_PX = 20  # one legend entry at the default 12 px font
_LEGEND_CHAR_PX = 6.6  # average width of a 12 px legend character (estimate)


def round_coords(*arrays: np.ndarray, digits: int = 4) -> list[np.ndarray]:
    """Round map coordinates to ``digits`` significant digits of the arrays' common span.

    Reduced coordinates (UMAP, PCA) have no units; full float64 precision only costs bytes in
    the stored figure (17 digits per number) and is far below a pixel.

    Args:
        *arrays: ``(n, 2)`` float arrays (titles, queries, ...).
        digits: Resolution as a power of ten below the largest span.

    Returns:
        The rounded arrays, in the order given.
    """
    stacked = np.vstack([a for a in arrays if a.size] or [np.zeros((1, 2))])
    span = float(np.max(np.ptp(stacked, axis=0))) or 1.0
    decimals = max(0, digits - int(np.floor(np.log10(span))))
    return [np.round(a, decimals) for a in arrays]


def fit_map_frame(
    fig: go.Figure,
    points: np.ndarray,
    *,
    width: int | None,
    height: int | None,
    legend_names: Sequence[str] = (),
) -> tuple[int | None, int | None]:
    """Make a 2-D map's points fill its frame; return the figure size to apply.

    The axis ranges are set to the points' extent plus :data:`MAP_PAD`, and, unless given,
    the figure's width and height follow the points' aspect ratio, so one unit is (about)
    as long on both axes and no side of the frame is left empty: a plotting area
    :data:`MAP_PLOT_PX` wide (narrower when the points are taller than wide, so it stays at
    most :data:`MAP_PLOT_MAX_H` high), never lower than the legend (20 px per entry) or
    :data:`MAP_PLOT_MIN_H`; when a short, wide cloud would need more height for its legend,
    the area grows wider up to :data:`MAP_MAX_W`, and only beyond that is the vertical scale
    stretched. The right margin is sized to the longest legend entry. (Plotly's own
    ``scaleanchor`` keeps equal scale by shrinking the drawing into a fixed frame instead:
    in a wide report page the map then filled about a fifth of it.)

    Args:
        fig: The map; its axes get explicit ranges and no tick labels.
        points: Every plotted point, shape ``(n, 2)``.
        width: Figure width asked for (``None``: computed).
        height: Figure height asked for (``None``: computed).
        legend_names: Names of the legend entries (their number sets the least height,
            the longest one the right margin).

    Returns:
        ``(width, height)`` for :func:`apply_layout`.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.size == 0:
        pts = np.zeros((1, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = hi - lo
    span = np.where(span > 0, span, max(float(span.max()), 1.0))
    pad = MAP_PAD * span
    x_range = [float(lo[0] - pad[0]), float(hi[0] + pad[0])]
    y_range = [float(lo[1] - pad[1]), float(hi[1] + pad[1])]
    fig.update_xaxes(range=x_range, showticklabels=False, zeroline=False, showgrid=False)
    fig.update_yaxes(range=y_range, showticklabels=False, zeroline=False, showgrid=False)

    longest = max((len(str(n)) for n in legend_names), default=0)
    right = int(round(50 + _LEGEND_CHAR_PX * longest)) if longest else 20
    margin = {**_MAP_MARGIN, "r": right}
    fig.update_layout(margin=margin)
    aspect = (y_range[1] - y_range[0]) / (x_range[1] - x_range[0])  # height per width
    min_h = max(MAP_PLOT_MIN_H, _LEGEND_ROW_PX * len(legend_names) + 20)
    frame_w = margin["l"] + margin["r"]
    frame_h = margin["t"] + margin["b"]
    if width is None and height is None:
        plot_w = float(MAP_PLOT_PX)
        plot_h = plot_w * aspect
        if plot_h > MAP_PLOT_MAX_H:
            plot_h = float(MAP_PLOT_MAX_H)
            plot_w = plot_h / aspect
        if plot_h < min_h:
            plot_h = float(min_h)
            plot_w = min(plot_h / aspect, float(MAP_MAX_W))
        return int(round(plot_w + frame_w)), int(round(plot_h + frame_h))
    if height is None:
        plot_h = min(max((width - frame_w) * aspect, min_h), 2 * MAP_PLOT_MAX_H)
        return width, int(round(plot_h + frame_h))
    if width is None:
        plot_w = min((height - frame_h) / aspect, MAP_MAX_W)
        return int(round(max(plot_w, 200) + frame_w)), height
    return width, height


def layout_map(
    fig: go.Figure,
    points: np.ndarray,
    *,
    title: str | None,
    width: int | None,
    height: int | None,
    legend_names: Sequence[str],
) -> go.Figure:
    """Finish a 2-D map: points filling the frame (:func:`fit_map_frame`), common layout.

    Legend markers keep one size whatever the points' sizes. Returns ``fig``.
    """
    width, height = fit_map_frame(
        fig, points, width=width, height=height, legend_names=legend_names
    )
    return apply_layout(
        fig, title=title, width=width, height=height, legend={"itemsizing": "constant"}
    )
