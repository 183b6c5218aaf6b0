"""Distribution of similarity scores for relevant vs non-relevant query-title pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from toolkit._validation import check_int
from toolkit.plots._style import NONRELEVANT_COLOR, RELEVANT_COLOR, apply_layout, as_vector

_KINDS = ("histogram", "violin")


def plot_similarity_distribution(
    relevant_scores: Sequence[float]
    | np.ndarray
    | Mapping[str, tuple[Sequence[float], Sequence[float]]],
    nonrelevant_scores: Sequence[float] | np.ndarray | None = None,
    *,
    kind: str = "histogram",
    bins: int | Sequence[float] = 30,
    title: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> go.Figure:
    """Plot how similarity scores of relevant and non-relevant pairs are distributed.

    Two ways to call it:

    * one system: ``plot_similarity_distribution(rel, nonrel)``;
    * several systems side by side: ``plot_similarity_distribution({"USE": (rel, nonrel),
      "BM25": (rel2, nonrel2)})`` (``nonrelevant_scores`` left ``None``).

    ``kind="histogram"`` draws, per system, two overlaid bar traces (relevant first) holding the
    probability density of each set (``numpy.histogram(density=True)``, so each set's bars
    integrate to 1 whatever its size). Both sets of a system share bin edges; with an integer
    ``bins`` the edges span the min..max of that system's scores, with a sequence they are used
    as given (values outside are not counted). Several systems go in side-by-side subplots with
    a shared y axis. ``kind="violin"`` draws one violin pair per system on one axis (relevant
    on the left half, non-relevant on the right, box and mean line inside). Relevant is always
    green, non-relevant grey; every trace's legend name carries its ``n``. The histogram stores
    only the bins in the figure; violins store every score (mind the notebook size for 100k+).

    From the long table ``df`` of :func:`toolkit.diagnostics.pair_similarities`:
    ``plot_similarity_distribution(df.score[df.relevant], df.score[~df.relevant])``.

    Args:
        relevant_scores: Scores of relevant pairs, or a mapping ``system -> (relevant,
            nonrelevant)``.
        nonrelevant_scores: Scores of non-relevant pairs (one-system form only).
        kind: ``"histogram"`` (default) or ``"violin"``.
        bins: Number of equal-width bins, or explicit increasing bin edges (histogram only).
        title: Figure title.
        width: Figure width in pixels (``None``: plotly default).
        height: Figure height in pixels (``None``: plotly default).

    Returns:
        The figure; traces come in system order, relevant before non-relevant.

    Raises:
        ValueError: On an unknown ``kind``, bad ``bins``, empty or non-finite scores, or a
            mapping given together with ``nonrelevant_scores``.

    Example:
        >>> fig = plot_similarity_distribution([0.8, 0.7, 0.9], [0.2, 0.4, 0.1, 0.3])
        >>> [t.name for t in fig.data]
        ['relevant (n=3)', 'non-relevant (n=4)']
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    systems = _systems(relevant_scores, nonrelevant_scores)
    multi = len(systems) > 1 or isinstance(relevant_scores, Mapping)
    if kind == "histogram":
        fig = _histograms(systems, bins, multi)
        layout = {"barmode": "overlay", "bargap": 0}
        fig.update_yaxes(title_text="density", row=1, col=1)
        fig.update_xaxes(title_text="similarity")
    else:
        fig = _violins(systems, multi)
        layout = {"violinmode": "overlay", "violingap": 0.2, "yaxis_title": "similarity"}
    return apply_layout(fig, title=title, width=width, height=height, **layout)


def _systems(relevant, nonrelevant) -> list[tuple[str, np.ndarray, np.ndarray]]:
    if isinstance(relevant, Mapping):
        if nonrelevant is not None:
            raise ValueError(
                "nonrelevant_scores must be None when relevant_scores is a mapping "
                "system -> (relevant, nonrelevant)"
            )
        if not relevant:
            raise ValueError("relevant_scores is an empty mapping")
        out = []
        for name, pair in relevant.items():
            if not isinstance(pair, Sequence) or len(pair) != 2:
                raise ValueError(
                    f"relevant_scores[{name!r}] must be a pair (relevant, nonrelevant)"
                )
            out.append(
                (
                    str(name),
                    as_vector(pair[0], f"relevant_scores[{name!r}][0] (relevant)"),
                    as_vector(pair[1], f"relevant_scores[{name!r}][1] (non-relevant)"),
                )
            )
        return out
    if nonrelevant is None:
        raise ValueError("nonrelevant_scores is required when relevant_scores is not a mapping")
    return [
        ("", as_vector(relevant, "relevant_scores"), as_vector(nonrelevant, "nonrelevant_scores"))
    ]


def _edges(bins, rel: np.ndarray, non: np.ndarray) -> np.ndarray:
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        check_int(bins, "bins")
        both = np.concatenate([rel, non])
        lo, hi = float(both.min()), float(both.max())
        if hi == lo:  # numpy's own convention for a zero range
            lo, hi = lo - 0.5, hi + 0.5
        return np.linspace(lo, hi, int(bins) + 1)
    edges = as_vector(bins, "bins")
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("bins must be an integer or at least two strictly increasing edges")
    return edges


def _histograms(systems, bins, multi: bool) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=len(systems),
        shared_yaxes=True,
        subplot_titles=[name for name, _, _ in systems] if multi else None,
        horizontal_spacing=0.04 if len(systems) > 1 else 0.2,
    )
    for col, (name, rel, non) in enumerate(systems, start=1):
        edges = _edges(bins, rel, non)
        for label, values, color in (
            ("relevant", rel, RELEVANT_COLOR),
            ("non-relevant", non, NONRELEVANT_COLOR),
        ):
            density, _ = np.histogram(values, bins=edges, density=True)
            counts, _ = np.histogram(values, bins=edges)
            hover = [
                f"{label}: {lo:.3f}–{hi:.3f}<br>count {c} of {values.size}<br>density {d:.3f}"
                for lo, hi, c, d in zip(edges[:-1], edges[1:], counts, density, strict=True)
            ]
            fig.add_trace(
                go.Bar(
                    x=((edges[:-1] + edges[1:]) / 2).tolist(),
                    y=density.tolist(),
                    width=np.diff(edges).tolist(),
                    name=_trace_name(name, label, values.size, multi),
                    legendgroup=f"{name}|{label}",
                    marker={"color": color, "line": {"width": 0}},
                    opacity=0.6,
                    hovertext=hover,
                    hoverinfo="text",
                ),
                row=1,
                col=col,
            )
    return fig


def _violins(systems, multi: bool) -> go.Figure:
    fig = go.Figure()
    for name, rel, non in systems:
        category = name if multi else "scores"
        for label, values, color, side in (
            ("relevant", rel, RELEVANT_COLOR, "negative"),
            ("non-relevant", non, NONRELEVANT_COLOR, "positive"),
        ):
            fig.add_trace(
                go.Violin(
                    y=values.tolist(),
                    x0=category,
                    name=_trace_name(name, label, values.size, multi),
                    legendgroup=f"{name}|{label}",
                    side=side,
                    line={"color": color},
                    fillcolor=color,
                    opacity=0.7,
                    box={"visible": True},
                    meanline={"visible": True},
                    points=False,
                    scalegroup=category,
                    scalemode="width",
                )
            )
    return fig


def _trace_name(system: str, label: str, n: int, multi: bool) -> str:
    return f"{system} · {label} (n={n})" if multi else f"{label} (n={n})"
