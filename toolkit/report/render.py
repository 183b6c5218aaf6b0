"""HTML of the report: each executed notebook as an offline page, and the index page.

The pages must show their plotly figures without network access. nbconvert's HTML exporter
does not know plotly's ``application/vnd.plotly.v1+json`` output: it falls back to the
``text/html`` that the ``notebook``/``notebook_connected`` renderers add, which loads plotly.js
from a CDN (and the ``lab`` template loads require.js from a CDN), so offline the figures are
blank. The report therefore:

* writes the plotly.js bundle that ships inside the ``plotly`` package once, as
  ``reports/plotly.min.js``, and every page loads it with a relative ``<script src>`` in its
  ``<head>`` (in place of require.js), before any figure script runs;
* rewrites every plotly output to ``text/html`` made by ``plotly.io.to_html`` with
  ``include_plotlyjs=False`` (a deterministic ``div`` id per cell and output), and drops the
  CDN loader snippets that ``notebook_connected`` emits.
"""

from __future__ import annotations

import copy
import html
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "PLOTLY_JS_NAME",
    "Entry",
    "findings_of",
    "h1_title",
    "index_html",
    "one_line",
    "plotly_js",
    "plotly_outputs_to_html",
    "question_of",
    "render_html",
]

#: File name of the local plotly.js bundle written next to the HTML pages.
PLOTLY_JS_NAME = "plotly.min.js"

_PLOTLY_MIME = "application/vnd.plotly.v1+json"

# The lab template with require.js (a CDN URL) replaced by the local plotly.js bundle; it is
# the first script in <head>, so window.Plotly exists before any figure script in <body> runs.
# MathJax still comes from its CDN, but ``async``: offline, a blocking <script> in <head> that
# never answers would hold back the whole page (and its figures) until the request times out.
_TEMPLATE_NAME = "toolkit_report.html.j2"
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}
<script src="{{ resources.plotly_js_src }}"></script>
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{{ mathjax(resources.mathjax_url) | replace('<script src=', '<script async src=') }}
{%- endblock html_head_js_mathjax -%}
"""

# Script tags in plotly's HTML outputs that load plotly.js or MathJax from a CDN
# (renderer notebook_connected, include_plotlyjs="cdn", include_mathjax="cdn").
_CDN_SCRIPT = re.compile(
    r"<script[^>]*\bsrc=\"https://(?:cdn\.plot\.ly|cdnjs\.cloudflare\.com/ajax/libs/mathjax)/"
    r"[^\"]*\"[^>]*>\s*</script>"
    r"|<script type=\"module\">\s*import \"https://cdn\.plot\.ly/[^\"]*\";?\s*</script>",
)


@dataclass
class Entry:
    """One notebook's line in the index."""

    name: str
    title: str
    seconds: float
    status: str  # "ok" or "FAILED"
    detail: str = ""
    html_name: str | None = None
    ipynb_name: str | None = None
    parameters: dict[str, Any] | None = None  # what papermill injected
    not_passed: tuple[str, ...] = ()  # given names this notebook does not declare
    question: str = ""  # Markdown: the first paragraph under the notebook's H1
    findings: tuple[str, ...] = ()  # the lines its "What we found" cell printed


def h1_title(nb: Any) -> str | None:
    """Return the text of the first Markdown ``# `` heading, or None."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
            if match:
                return match.group(1)
    return None


def question_of(nb: Any) -> str:
    """Return the first paragraph after the H1 of the first Markdown cell (the question)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = [ln for ln in cell.source.splitlines() if not re.match(r"^#\s", ln)]
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
        return paragraphs[0] if paragraphs else ""
    return ""


_FOUND_HEADING = re.compile(r"^#{1,6}\s+what we found\b", re.IGNORECASE | re.MULTILINE)


def findings_of(nb: Any) -> tuple[str, ...]:
    """Return the lines printed by the last code cell (with stdout) under "What we found".

    Every notebook ends with a Markdown heading ``## What we found`` followed by code cells;
    the last of them prints the sentences of :mod:`toolkit.findings`, one per line. A
    notebook without that heading, or that failed before printing, gives ``()``.
    """
    start = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and _FOUND_HEADING.search(cell.source):
            start = i
    if start is None:
        return ()
    printed = ""
    for cell in nb.cells[start + 1 :]:
        if cell.cell_type != "code":
            continue
        text = "".join(
            o.get("text", "")
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stdout"
        )
        if text.strip():
            printed = text
    return tuple(line.strip() for line in printed.splitlines() if line.strip())


def _markdown_html(text: str) -> str:
    """Markdown to HTML with nbconvert's own converter (as the notebook pages use)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace (and ANSI colour codes) and shorten for the index."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plotly_js() -> bytes:
    """Return the plotly.js bundle shipped in the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def render_html(nb: Any, title: str, stem: str) -> str:
    """Render an executed notebook to a standalone HTML page that uses the local plotly.js."""
    import jinja2
    from nbconvert import HTMLExporter

    nb = plotly_outputs_to_html(nb, stem)
    # Live widgets (notebook 05's explorer) need a kernel, and with their saved state nbconvert
    # adds CDN scripts for the widget manager (offline: nothing shows, and 05's page was 5.7 MB):
    # drop the state and the widget views, so each output's static text/html copy is shown.
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            out.get("data", {}).pop(_WIDGET_MIME, None)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
    )
    exporter.template_file = _TEMPLATE_NAME
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": title}, "plotly_js_src": PLOTLY_JS_NAME}
    )
    return body


def plotly_outputs_to_html(nb: Any, stem: str) -> Any:
    """Return a copy of ``nb`` whose plotly outputs are ``text/html`` for an offline page.

    Outputs with plotly's JSON become ``plotly.io.to_html(..., include_plotlyjs=False)``
    (the page head already loads plotly.js), and lose the static ``image/png`` that
    :func:`toolkit.plots.setup_notebook` stores beside it (the page shows the interactive
    figure, so the PNG would only add bytes); ``text/html`` that only loads plotly.js from the
    CDN is dropped, and plotly.js/MathJax CDN ``<script>`` tags in other plotly HTML outputs
    are removed (offline, each would block the page until its request times out).
    """
    import plotly.io as pio

    nb = copy.deepcopy(nb)
    for ci, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kept = []
        for oi, output in enumerate(cell.get("outputs", [])):
            data = output.get("data")
            if not data:
                kept.append(output)
                continue
            if _PLOTLY_MIME in data:
                fig = data[_PLOTLY_MIME]
                data["text/html"] = pio.to_html(
                    fig,
                    include_plotlyjs=False,
                    full_html=False,
                    validate=False,
                    default_height="525px",
                    div_id=f"plotly-{stem}-{ci}-{oi}",
                )
                data.pop("image/png", None)  # the static fallback of the same figure
            elif isinstance(data.get("text/html"), str | list):
                text = "".join(data["text/html"])
                if "plotly" in text.lower():
                    text = _CDN_SCRIPT.sub("", text)
                    if "plotly-graph-div" not in text and "<div" not in text:
                        continue  # the notebook_connected loader snippet: nothing to show
                    data["text/html"] = text
            kept.append(output)
        cell.outputs = kept
    return nb


_HEADLINE_LINES = 3  # findings shown before "N more"


def _notebook_section(e: Entry) -> str:
    """One notebook on the index: title with links, its question, its headline findings."""
    title = html.escape(e.title)
    link = f'<a href="{html.escape(e.html_name)}">{title}</a>' if e.html_name else title
    nb_link = (
        f' <a class="nb" href="{html.escape(e.ipynb_name)}">.ipynb</a>' if e.ipynb_name else ""
    )
    parts = [f'<section class="notebook {"ok" if e.status == "ok" else "failed"}">']
    parts.append(f"<h2>{link}{nb_link}</h2>")
    if e.question:
        parts.append(f'<div class="question">{_markdown_html(e.question)}</div>')
    if e.findings:
        head = "".join(f"<li>{html.escape(x)}</li>" for x in e.findings[:_HEADLINE_LINES])
        parts.append(f'<h3>What we found</h3><ul class="found">{head}</ul>')
        rest = e.findings[_HEADLINE_LINES:]
        if rest:
            more = "".join(f"<li>{html.escape(x)}</li>" for x in rest)
            parts.append(
                f'<details><summary>{len(rest)} more</summary><ul class="found">{more}</ul>'
                "</details>"
            )
    elif e.status == "ok":
        parts.append('<p class="detail">(no "What we found" output)</p>')
    else:
        parts.append(f'<p class="detail">FAILED: {html.escape(e.detail)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def index_html(entries: list[Entry], total: float) -> str:
    """Return the index page: per notebook its question and findings, then the run table."""
    import toolkit

    rows = []
    for e in entries:
        title = html.escape(e.title)
        link = f'<a href="{html.escape(e.html_name)}">{title}</a>' if e.html_name else title
        nb_link = (
            f' <a class="nb" href="{html.escape(e.ipynb_name)}">.ipynb</a>' if e.ipynb_name else ""
        )
        css = "ok" if e.status == "ok" else "failed"
        detail = f'<div class="detail">{html.escape(e.detail)}</div>' if e.detail else ""
        params = ", ".join(f"{k}={v!r}" for k, v in (e.parameters or {}).items())
        if params:
            link += f'<div class="params">parameters: {html.escape(params)}</div>'
        if e.not_passed:
            skipped = html.escape(", ".join(e.not_passed))
            link += f'<div class="params">not declared here, not passed: {skipped}</div>'
        rows.append(
            f'<tr class="{css}"><td>{html.escape(e.name)}</td><td>{link}{nb_link}</td>'
            f'<td class="num">{e.seconds:.1f} s</td><td>{e.status}{detail}</td></tr>'
        )
    sections = "\n".join(_notebook_section(e) for e in entries)
    failed = sum(e.status != "ok" for e in entries)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    summary = f"{len(entries) - failed} of {len(entries)} notebooks ran without error"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Patent toolkit report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4em .6em; text-align: left; }}
td.num {{ text-align: right; white-space: nowrap; }}
tr.failed td {{ background: #fde8e8; }}
tr.failed td:last-child {{ color: #a00; font-weight: bold; }}
.detail {{ font-weight: normal; font-family: monospace; font-size: .85em; }}
a.nb {{ font-size: .8em; color: #666; }}
.params {{ font-family: monospace; font-size: .8em; color: #444; }}
section.notebook {{ border-left: 4px solid #0072B2; padding: .1em 1em; margin: 1.5em 0; }}
section.notebook.failed {{ border-left-color: #a00; }}
section.notebook h2 {{ font-size: 1.25em; margin: .4em 0; }}
section.notebook h3 {{ font-size: 1em; margin: .6em 0 .2em; }}
.question {{ color: #333; }}
ul.found li {{ margin: .25em 0; }}
details summary {{ cursor: pointer; color: #0072B2; }}
</style>
</head>
<body>
<h1>Patent toolkit report</h1>
<p>{summary}; total {total:.1f} s. toolkit {html.escape(toolkit.__version__)},
Python {sys.version.split()[0]}, built {stamp}.</p>
{sections}
<h2>Runs</h2>
<table>
<thead><tr><th>notebook</th><th>title</th><th>wall time</th><th>status</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
</body>
</html>
"""
