"""The ipywidgets view of :class:`toolkit.explorer.Explorer` (open it with :func:`toolkit.explore`).

A thin layer: every decision (ranking, grades, what may be judged, writing the file) is the
controller's; this module only lays out widgets and forwards clicks. CSS classes
(``toolkit-explorer``, ``toolkit-explorer-query``, ``toolkit-results``, ``toolkit-row``,
``toolkit-grade-N``, ``toolkit-status``) name the parts for the browser test.
"""

from __future__ import annotations

import html
import itertools
import os
from typing import Any

import ipywidgets as w
import pandas as pd

from toolkit.data.pools import GRADES
from toolkit.explorer import Explorer

__all__ = ["ExplorerWidget", "explore"]

_MARK_STYLE = "display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;"
_GRADE_COLORS = {0: "#d9d9d9", 1: "#ffe08a", 2: "#8fd19e"}


def _mark(grade: Any, source: str | None) -> str:
    """The grade badge: the grade with who gave it, or 'unjudged'."""
    if pd.isna(grade):
        return f'<span style="{_MARK_STYLE}border:1px dashed #999;color:#666">unjudged</span>'
    who = "qrels" if source == "qrels" else "you"
    color = _GRADE_COLORS.get(int(grade), "#eee")
    return (
        f'<span style="{_MARK_STYLE}background:{color}" title="graded by {who}">'
        f"{int(grade)} · {who}</span>"
    )


class ExplorerWidget(w.VBox):
    """Query box, one column of results per system, grade buttons, status line and map.

    Args:
        explorer: The controller.
        query: A query to run at once.
        show_map: Add the plotly map.
        **kwargs: Passed to ``ipywidgets.VBox`` (e.g. ``model_id``).
    """

    def __init__(
        self, explorer: Explorer, *, query: str | None = None, show_map: bool = True, **kwargs
    ) -> None:
        self.explorer = explorer
        self.query_box = w.Text(
            placeholder="type a query and press Enter",
            continuous_update=False,
            layout=w.Layout(width="60%"),
        )
        self.query_box.add_class("toolkit-explorer-query")
        self.search_button = w.Button(description="Search", button_style="primary")
        self.search_button.add_class("toolkit-explorer-search")
        self.status = w.HTML()
        self.status.add_class("toolkit-status")
        self.columns = w.HBox(layout=w.Layout(align_items="flex-start", width="100%"))
        header = w.HTML(
            f"<b>Explorer</b> · {len(explorer.rs.corpus)} titles · systems: "
            f"{html.escape(', '.join(explorer.systems))} · top {explorer.k} · judgments go to "
            f"<code>{html.escape(str(explorer.judgments_path.resolve()))}</code>"
        )
        self.map_system = w.Dropdown(
            options=list(explorer.systems),
            description="map top-k of",
            style={"description_width": "initial"},
            layout={"width": "auto"},
        )
        self.figure = self._make_figure() if show_map else None
        children: list[Any] = [header, w.HBox([self.query_box, self.search_button])]
        children += [self.status, self.columns]
        if self.figure is not None:
            children += [self.map_system, self.figure]
        super().__init__(children=children, **kwargs)
        self.add_class("toolkit-explorer")
        self.query_box.observe(self._on_query, names="value")
        self.search_button.on_click(lambda _: self.run(self.query_box.value))
        self.map_system.observe(lambda _: self._update_map(), names="value")
        if query:
            self.query_box.value = query  # runs the search through the observer

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs)
        # the default text is the repr of every child widget: long and not informative
        data["text/plain"] = (
            f"Explorer: {len(self.explorer.rs.corpus)} titles, systems "
            f"{', '.join(self.explorer.systems)}, top {self.explorer.k}; judgments -> "
            f"{self.explorer.judgments_path.name}"
        )
        # a static picture of the current results for viewers without a kernel (GitHub,
        # nbviewer, an HTML export without widget state); JupyterLab shows the live widget
        data["text/html"] = self.static_html()
        return data

    def static_html(self) -> str:
        """The current results as a plain HTML table, one column per system (no scripts)."""
        ex = self.explorer
        note = (
            "<p><i>The explorer is interactive in JupyterLab with a running kernel; this is a "
            "static copy of its results.</i></p>"
        )
        if ex.results is None or ex.query is None:
            return note
        blocks = []
        for system, block in ex.results.groupby("system", sort=False):
            rows = "".join(
                f"<tr><td>{r.rank}</td><td>{_mark(r.grade, self._source(r))}</td>"
                f"<td>{r.score:.3f}</td><td>{html.escape(str(r.title))}</td></tr>"
                for r in block.itertuples(index=False)
            )
            blocks.append(
                f'<td style="vertical-align:top"><b>{html.escape(str(system))}</b>'
                f"<table>{rows}</table></td>"
            )
        return (
            f"<p>query: <i>{html.escape(ex.query)}</i></p><table><tr>{''.join(blocks)}</tr>"
            f"</table>{note}"
        )

    def _source(self, r: Any) -> str | None:
        query = self.explorer.query
        return None if pd.isna(r.grade) or query is None else self.explorer.source(query, r.doc_id)

    # ------------------------------------------------------------------------------ search

    def _on_query(self, change: dict[str, Any]) -> None:
        self.run(change["new"])

    def run(self, query: str) -> None:
        """Search ``query`` and redraw the results and the map (errors go to the status line)."""
        if not query.strip():
            return
        try:
            self.explorer.search(query)
        except Exception as exc:  # shown to the researcher, not raised into the event loop
            self._say(f"search failed: {exc}", error=True)
            return
        self._say(f"results for <i>{html.escape(query)}</i>")
        self._render()
        self._update_map()

    def _say(self, text: str, *, error: bool = False) -> None:
        color = "#b00020" if error else "#333"
        self.status.value = f'<span style="color:{color}">{text}</span>'

    def _render(self) -> None:
        table = self.explorer.results
        query = self.explorer.query
        if table is None or query is None:
            return
        columns = []
        for system, block in table.groupby("system", sort=False):
            rows: list[Any] = [w.HTML(f"<b>{html.escape(str(system))}</b>")]
            for r in block.itertuples(index=False):
                rows.append(self._row(query, r))
            column = w.VBox(rows, layout=w.Layout(width=f"{100 / table['system'].nunique():.0f}%"))
            column.add_class("toolkit-results")
            columns.append(column)
        self.columns.children = columns

    def _row(self, query: str, r: Any) -> Any:
        source = self._source(r)
        text = w.HTML(
            f"{r.rank:>2}. {_mark(r.grade, source)} <small>{r.score:.3f}</small> "
            f'<span title="{html.escape(r.doc_id)}">{html.escape(str(r.title))}</span>'
        )
        parts: list[Any] = [text]
        if source != "qrels":  # the set's own judgments are read-only here
            for g in GRADES:
                button = w.Button(
                    description=str(g),
                    tooltip=f"grade {g} for {r.doc_id}",
                    layout=w.Layout(width="2.2em", min_width="2.2em"),
                    button_style="success" if not pd.isna(r.grade) and int(r.grade) == g else "",
                )
                button.add_class(f"toolkit-grade-{g}")
                button.on_click(lambda _, d=r.doc_id, g=g: self.grade(d, g))
                parts.append(button)
        row = w.HBox(parts, layout=w.Layout(align_items="center"))
        row.add_class("toolkit-row")
        return row

    def grade(self, doc_id: str, grade: int) -> None:
        """Judge (current query, ``doc_id``) and show the new grade at once."""
        query = self.explorer.query
        if query is None:
            return
        try:
            status = self.explorer.judge(query, doc_id, grade)
        except Exception as exc:  # the file is unchanged; say why in the widget
            self._say(f"not saved: {html.escape(str(exc))}", error=True)
            return
        self._say(
            f"{status}: grade {grade} for <code>{html.escape(doc_id)}</code> → "
            f"{html.escape(self.explorer.judgments_path.name)}"
        )
        self._render()

    # --------------------------------------------------------------------------------- map

    def _make_figure(self) -> Any:
        import plotly.graph_objects as go

        ex = self.explorer
        xy = ex.map_coordinates()
        titles = list(ex.rs.corpus.values())
        fig = go.FigureWidget(
            data=[
                go.Scattergl(
                    x=xy[:, 0],
                    y=xy[:, 1],
                    mode="markers",
                    name="titles",
                    marker={"size": 5, "color": "#c8c8c8"},
                    text=titles,
                    hovertemplate="%{text}<extra></extra>",
                ),
                go.Scatter(
                    x=[],
                    y=[],
                    mode="markers+text",
                    name="top-k",
                    textposition="top center",
                    marker={"size": 9, "color": "#1f77b4"},
                    hovertemplate="%{hovertext}<extra></extra>",
                ),
                go.Scatter(
                    x=[],
                    y=[],
                    mode="markers",
                    name="query",
                    marker={"size": 16, "symbol": "star", "color": "#d62728"},
                    hovertemplate="%{hovertext}<extra></extra>",
                ),
            ],
            layout={
                "height": 460,
                "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
                "title": {"text": "map of the corpus (PCA of the dense vectors)", "x": 0.01},
                "xaxis": {"visible": False},
                "yaxis": {"visible": False, "scaleanchor": "x"},
                "legend": {"orientation": "h", "y": -0.02},
                "template": "simple_white",
            },
        )
        return fig

    def _update_map(self) -> None:
        ex, fig = self.explorer, self.figure
        if fig is None or ex.results is None or ex.query is None:
            return
        xy = ex.map_coordinates()
        position = {doc_id: i for i, doc_id in enumerate(ex.rs.corpus)}
        block = ex.results[ex.results["system"] == self.map_system.value]
        idx = [position[d] for d in block["doc_id"]]
        q = ex.query_point(ex.query)
        with fig.batch_update():
            top = fig.data[1]
            top.x, top.y = xy[idx, 0], xy[idx, 1]
            top.text = [str(r) for r in block["rank"]]
            top.hovertext = [
                f"{r}. {t}" for r, t in zip(block["rank"], block["title"], strict=True)
            ]
            top.name = f"top {len(idx)}: {self.map_system.value}"
            star = fig.data[2]
            star.x, star.y, star.hovertext = [q[0]], [q[1]], [ex.query]


# ------------------------------------------------------------------------- opening the widget
_model_ids = itertools.count(1)  # deterministic widget ids: see _next_model_id


def explore(
    corpus: Any = None,
    systems: Any = None,
    k: int = 10,
    *,
    judgments: str | os.PathLike = "judgments.csv",
    query: str | None = None,
    show_map: bool = True,
) -> Any:
    """The explorer widget for JupyterLab: search, compare, judge, map.

    Args:
        corpus: See :class:`Explorer` (``None``: the demo set).
        systems: See :func:`toolkit.retrieval.search` (e.g. ``["dense", "bm25"]``).
        k: Titles per system.
        judgments: The judgments CSV the grade buttons write (see :class:`Explorer`).
        query: A query to run at once (optional).
        show_map: Add the map of the corpus (query and top-k highlighted).

    Returns:
        An ``ipywidgets.VBox``; its controller is ``widget.explorer``.
    """
    controller = Explorer(corpus, systems, k, judgments=judgments)
    return ExplorerWidget(controller, query=query, show_map=show_map, model_id=_next_model_id())


def _next_model_id() -> str:
    """A widget model id that is the same on every fresh run of a notebook.

    ipywidgets draws a random id for each widget; the notebook output that displays the
    explorer stores the top-level id, so a random one would change the notebook's bytes on
    every re-run. A per-kernel counter keeps ids unique inside one kernel (the frontend's
    requirement) and identical across re-executions.
    """
    return f"toolkit-explorer-{next(_model_ids)}"
