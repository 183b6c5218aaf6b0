"""Shared look of every toolkit figure: fixed colours, fixed order, one layout helper."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from toolkit.data.types import IPC_SECTIONS as _DATA_IPC_SECTIONS

# IPC sections A-H in a fixed order with fixed colours (colour-blind-safe Okabe-Ito + grey).
IPC_SECTIONS: tuple[str, ...] = tuple(_DATA_IPC_SECTIONS)  # one home: toolkit.data
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


def apply_layout(
    fig: go.Figure,
    *,
    title: str | None,
    width: int | None,
    height: int | None,
    **layout,
) -> go.Figure:
    """Apply the common template, title and size to ``fig`` and return it."""
    fig.update_layout(
        template="plotly_white",
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
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] is {array[bad[0]]}; expected a finite number")
    return array


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
