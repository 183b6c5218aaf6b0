"""The main job: execute the notebooks and render them as an offline HTML report.

``python -m toolkit report`` (``make report``) calls :func:`build_report`, which runs every
``notebooks/NN_*.ipynb`` with papermill into ``reports/``, renders each executed notebook to HTML
with nbconvert, and writes ``reports/index.html``: per notebook its question (the first
paragraph under its H1), its headline findings (the lines its "What we found" cell printed)
and links, then a table of the runs (time, status, parameters).

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

Example:
    >>> from pathlib import Path
    >>> from toolkit.report import build_report
    >>> index = build_report(Path("reports"), parameters={"N_DOCS": 200})  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import html
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from toolkit._io import write_atomic
from toolkit._validation import check_int

__all__ = [
    "ReportError", "build_report", "parse_parameter", "read_parameters_file", "PLOTLY_JS_NAME"
]

#: File name of the local plotly.js bundle written next to the HTML pages.
PLOTLY_JS_NAME = "plotly.min.js"

_PLOTLY_MIME = "application/vnd.plotly.v1+json"
_NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

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


class ReportError(RuntimeError):
    """A notebook failed, or a parameter is declared by no notebook.

    A failure is raised after the report (with FAILED lines) was written; an unknown
    parameter before anything runs.
    """


@dataclass
class _Entry:
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


def build_report(
    out_dir: Path = Path("reports"),
    notebooks: Sequence[str | Path] | None = None,
    *,
    parameters: dict[str, Any] | None = None,
    parameters_file: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    timeout: int = 1800,
) -> Path:
    """Execute notebooks with papermill and render them, with an index, as offline HTML.

    For every notebook ``NN_name.ipynb`` this writes ``out_dir/NN_name.ipynb`` (executed,
    outputs included) and ``out_dir/NN_name.html``; then ``out_dir/plotly.min.js`` (the pages
    load it, no network needed) and, last, ``out_dir/index.html``: per notebook its H1 title
    with links, its question and its "What we found" lines, then one table row per notebook
    with wall time, status and parameters. Each file is written to a temporary name and renamed
    into place, and an old ``index.html`` is removed first, so an interrupted run never leaves
    an index that describes pages it did not make.

    A notebook that raises is still saved as far as it ran, rendered, and marked FAILED in
    the index; after the index is written :class:`ReportError` is raised.

    Kernels run with the notebook's folder as working directory and inherit the environment,
    with defaults added where unset: ``NUMBA_CACHE_DIR`` (under the toolkit cache, so UMAP's
    numba cache is writable), ``PYTHONHASHSEED=0``, ``TOKENIZERS_PARALLELISM=false``.
    ``TOOLKIT_CACHE_DIR`` is passed through untouched.

    Args:
        out_dir: Folder for the report; created when missing.
        notebooks: Notebook files to run, in this order. ``None`` (default) runs every
            ``notebooks/NN_*.ipynb`` under the current directory, sorted by name.
        parameters: Values papermill injects after each notebook's cell tagged
            ``parameters``. Checked before any notebook runs: a name that none of the
            selected notebooks declares in its ``parameters`` cell raises
            :class:`ReportError` naming it and listing each notebook's parameters; a name
            that only some declare is passed to those only (the progress lines and the index
            say which notebooks did not get it). ``OUTPUT_DIR`` (the absolute ``out_dir``) is
            added for notebooks whose parameters cell defines ``OUTPUT_DIR``, unless given
            here. A text value that is a relative path existing from the current directory
            is made absolute (the kernels run in the notebook's folder). The index page
            lists, per notebook, the values it ran with, and each executed notebook keeps
            them in papermill's ``injected-parameters`` cell.
        parameters_file: A YAML or JSON file holding a mapping ``NAME: value``, read as
            papermill's ``-f`` reads one (see :func:`read_parameters_file`); ``parameters``
            override its values. Its names are checked like ``parameters``, and an unknown
            one is reported as a key of this file.
        kernel_name: Jupyter kernel to run; ``None`` uses the notebook's kernelspec, or
            ``python3`` (the current Python) when it has none.
        timeout: Per-cell execution timeout in seconds.

    Returns:
        Path of the written ``index.html``.

    Raises:
        FileNotFoundError: A notebook file is missing, or no ``notebooks/NN_*.ipynb`` exist.
        ValueError: A path is not an ``.ipynb`` file, two notebooks share a file name,
            ``timeout`` < 1, or ``parameters_file`` is not a readable mapping of parameter
            names (the message names the file and the key).
        TypeError: ``timeout`` is not an integer, or ``parameters`` is not a dict.
        ReportError: A parameter is declared by none of the notebooks (raised before any
            notebook runs), or one or more notebooks failed (raised after the index is
            written).
    """
    paths = _resolve_notebooks(notebooks)
    timeout = check_int(timeout, "timeout")
    plan = _plan_parameters(paths, parameters, parameters_file)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.unlink(missing_ok=True)
    _write_atomic(out_dir / PLOTLY_JS_NAME, _plotly_js())
    started = time.perf_counter()
    entries = _run_all(paths, plan, out_dir, kernel_name, timeout)
    total = time.perf_counter() - started
    _write_atomic(index, _index_html(entries, total).encode("utf-8"))
    failed = [e.name for e in entries if e.status != "ok"]
    print(f"report: {len(entries) - len(failed)}/{len(entries)} ok in {total:.1f} s -> {index}")
    if failed:
        raise ReportError(f"{len(failed)} notebook(s) failed: {', '.join(failed)}; see {index}")
    return index


def _run_all(
    paths: Sequence[Path],
    plan: list[tuple[dict[str, Any], tuple[str, ...]]],
    out_dir: Path,
    kernel_name: str | None,
    timeout: int,
) -> list[_Entry]:
    """Run and render every notebook in order, with a progress line before and after each."""
    entries: list[_Entry] = []
    with _kernel_env():
        for i, (nb_path, (given, skipped)) in enumerate(zip(paths, plan, strict=True), 1):
            print(f"[{i}/{len(paths)}] {nb_path.name} ...", flush=True)
            if skipped:
                print(f"    not declared in {nb_path.name}, not passed: {', '.join(skipped)}")
            entry = _run_one(nb_path, out_dir, given, kernel_name, timeout)
            entry.not_passed = skipped
            entries.append(entry)
            note = f"  ({entry.detail})" if entry.detail else ""
            print(
                f"[{i}/{len(paths)}] {nb_path.name}: {entry.status} in {entry.seconds:.1f} s{note}",
                flush=True,
            )
    return entries


def _absolute_paths(params: dict[str, Any]) -> dict[str, Any]:
    """Make relative paths that exist from the caller's folder absolute.

    The kernels run in the notebook's folder, so ``DATA=my_set/`` would otherwise name
    ``notebooks/my_set/``. A text value (or a text in a list value) that is a relative path
    existing from the current directory becomes that absolute path, and a line says so; any
    other value (a hub id, a number, a path that does not exist here) is passed unchanged.
    """

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            if Path(value).exists():
                return str(Path(value).resolve())
        return value

    out = {}
    for name, value in params.items():
        new = [fix(v) for v in value] if isinstance(value, list) else fix(value)
        if new != value:
            print(f"    {name}: relative path(s) made absolute: {new!r}")
        out[name] = new
    return out


def parse_parameter(text: str) -> tuple[str, Any]:
    """Parse one ``NAME=VALUE`` of ``python -m toolkit report -p``, typed as papermill's ``-p``.

    The value is split at the first ``=`` and typed by papermill's own CLI rule:
    ``True``/``False``/``None``, then an ``int``, then a ``float``, otherwise the string as
    given (so ``-p DATA=a=b.csv`` is the string ``'a=b.csv'``). JSON lists and dicts stay
    strings, as with papermill's ``-p``.

    Example:
        >>> parse_parameter("N_BOOTSTRAP=200"), parse_parameter("MODEL=ai-forever/sbert")
        (('N_BOOTSTRAP', 200), ('MODEL', 'ai-forever/sbert'))

    Raises:
        ValueError: No ``=``, or the name is not a Python identifier.
    """
    from papermill.cli import _resolve_type  # papermill's -p typing, reused as is

    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    if not name.isidentifier():
        raise ValueError(f"parameter name {name!r} in {text!r} is not a Python identifier")
    return name, _resolve_type(value)


def read_parameters_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a parameters file of ``python -m toolkit report --parameters-file``.

    Like papermill's ``-f``: a ``.yaml``/``.yml`` file is read with papermill's own YAML
    loader (``NoDatesSafeLoader``: safe, dates stay text), a ``.json`` file as JSON. The
    top level must be a mapping ``NAME: value`` whose names are Python identifiers; values
    keep their YAML/JSON types (lists, dicts, numbers, ``null`` -> ``None``). An empty file
    is no parameters, as in papermill.

    Example:
        >>> read_parameters_file("params.yaml")  # doctest: +SKIP
        {'MODEL': 'vectors.parquet', 'SEEDS': [0, 1]}

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Another suffix, a syntax error (with line and column), a top level that
            is not a mapping, or a key that is not an identifier; the message names the file.
    """
    import json

    import yaml
    from papermill.iorw import NoDatesSafeLoader

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(
            f"parameters file {path}: expected a .yaml, .yml or .json file, got {suffix or 'no'} "
            "suffix"
        )
    if not path.is_file():
        raise FileNotFoundError(f"parameters file {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"parameters file {path}: not UTF-8 text ({exc.reason})") from None
    try:
        if suffix == ".json":
            data = json.loads(text) if text.strip() else None
        else:
            data = yaml.load(text, Loader=NoDatesSafeLoader)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"parameters file {path}, line {exc.lineno}, column {exc.colno}: invalid JSON "
            f"({exc.msg})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"parameters file {path}{where}: invalid YAML ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"parameters file {path}: expected a mapping NAME: value at the top level, got a "
            f"{type(data).__name__}"
        )
    for key in data:
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(
                f"parameters file {path}: key {key!r} is not a parameter name (a Python "
                "identifier such as MODEL)"
            )
    return dict(data)


def _plan_parameters(
    paths: Sequence[Path],
    parameters: dict[str, Any] | None,
    parameters_file: str | os.PathLike | None,
) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """Per notebook: the parameters it declares (to pass) and the given names it does not.

    The values are the parameters file's, overridden by ``parameters`` (papermill's order:
    files first, then ``-p``), with relative paths made absolute (:func:`_absolute_paths`).

    Raises:
        TypeError: ``parameters`` is not a dict.
        ReportError: A name is declared by none of the notebooks (the message says which
            came from the file).
    """
    if parameters is not None and not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")
    from_file = read_parameters_file(parameters_file) if parameters_file is not None else {}
    origin = {name: str(parameters_file) for name in from_file if name not in (parameters or {})}
    parameters = _absolute_paths({**from_file, **(parameters or {})})
    if not parameters:
        return [({}, ()) for _ in paths]
    declared = [_declared_parameters(p) for p in paths]
    unknown = [name for name in parameters if not any(name in d for d in declared)]
    if unknown:
        import difflib

        known = sorted(set().union(*declared))
        notes = {
            n: ([f"key in {origin[n]}"] if n in origin else [])
            + [f"did you mean {m}?" for m in difflib.get_close_matches(n, known, 1)]
            for n in unknown
        }
        names = ", ".join(n + (f" ({'; '.join(notes[n])})" if notes[n] else "") for n in unknown)
        listing = "; ".join(
            f"{p.name}: {', '.join(sorted(d)) if d else '(no parameters found)'}"
            for p, d in zip(paths, declared, strict=True)
        )
        raise ReportError(
            f"unknown parameter(s) {names}: not declared in the parameters cell of any "
            f"notebook run; declared are {listing}"
        )
    plan = []
    for d in declared:
        given = {k: v for k, v in parameters.items() if k in d}
        plan.append((given, tuple(k for k in parameters if k not in d)))
    return plan


def _resolve_notebooks(notebooks: Sequence[str | Path] | None) -> list[Path]:
    """Return the notebook paths to run, checked, in order."""
    if notebooks is None:
        folder = Path.cwd() / "notebooks"
        paths = sorted(folder.glob(_NOTEBOOK_GLOB))
        if not paths:
            raise FileNotFoundError(f"no notebooks matching {_NOTEBOOK_GLOB} in {folder}")
        return paths
    if isinstance(notebooks, str | Path):
        raise TypeError("notebooks must be a list of paths, not a single path")
    paths = []
    seen: dict[str, Path] = {}
    for i, item in enumerate(notebooks):
        path = Path(item)
        if path.suffix != ".ipynb":
            raise ValueError(f"notebooks[{i}]: expected an .ipynb file, got {str(item)!r}")
        if not path.is_file():
            raise FileNotFoundError(f"notebooks[{i}]: no such notebook: {path}")
        if path.name in seen:
            raise ValueError(
                f"notebooks[{i}]: {path} has the same file name as {seen[path.name]}; "
                "report pages are named after the notebook file"
            )
        seen[path.name] = path
        paths.append(path)
    if not paths:
        raise ValueError("notebooks is empty; pass None to run notebooks/NN_*.ipynb")
    return paths


def execute_in_place(notebooks: Sequence[str | Path], *, timeout: int = 1800) -> list[Path]:
    """Restart and run notebooks top to bottom, writing the outputs back into the same files.

    This is how the committed notebooks are made. Bytes stay stable when no number changes:
    no execution timings are recorded, the notebook metadata is kept as it was (the kernel's
    ``language_info`` would record the host's Python version), consecutive stream outputs are
    merged (the kernel may split one ``print`` over several messages, depending on timing)
    and the file is written as nbformat writes it, atomically. Kernels run with the same
    environment defaults as :func:`build_report` (``PYTHONHASHSEED=0``, numba cache in the
    toolkit cache), in the notebook's own folder.

    Args:
        notebooks: Paths of ``.ipynb`` files.
        timeout: Seconds one cell may run.

    Returns:
        The paths written.

    Raises:
        ReportError: A cell raised; the file is left as it was.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    timeout = check_int(timeout, "timeout")
    done = []
    with _kernel_env():
        for path in map(Path, notebooks):
            nb = nbformat.read(path, as_version=4)
            metadata = copy.deepcopy(nb.metadata)  # the client writes into nb.metadata
            client = NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                record_timing=False,
                coalesce_streams=True,
                resources={"metadata": {"path": str(path.resolve().parent)}},
            )
            try:
                client.execute()
            except CellExecutionError as exc:
                raise ReportError(f"{path}: a cell raised; file left unchanged\n{exc}") from None
            nb.metadata = metadata
            for cell in nb.cells:
                cell.metadata.pop("execution", None)
            write_atomic(path, nbformat.writes(nb) + "\n")
            done.append(path)
    return done


@contextlib.contextmanager
def _kernel_env() -> Iterator[None]:
    """Set cache-related environment defaults for the kernels, restoring them afterwards."""
    from toolkit._config import cache_dir

    defaults = {
        "NUMBA_CACHE_DIR": str(cache_dir() / "numba"),
        "PYTHONHASHSEED": "0",
        "TOKENIZERS_PARALLELISM": "false",
        # ipykernel's debugger warns about frozen modules on stderr without this.
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    added = [k for k in defaults if k not in os.environ]
    for key in added:
        os.environ[key] = defaults[key]
    Path(os.environ["NUMBA_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _run_one(
    nb_path: Path, out_dir: Path, parameters: dict, kernel_name: str | None, timeout: int
) -> _Entry:
    """Execute and render one notebook; never raises for a notebook error."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = nbformat.read(nb_path, as_version=4)
    title = _h1_title(source) or nb_path.stem
    params = dict(parameters)
    if "OUTPUT_DIR" not in params and "OUTPUT_DIR" in _declared_parameters(nb_path):
        params["OUTPUT_DIR"] = str(out_dir.resolve())
    kernel = kernel_name or source.metadata.get("kernelspec", {}).get("name") or "python3"

    final_nb = out_dir / nb_path.name
    tmp_nb = out_dir / f".{nb_path.stem}.running.ipynb"
    tmp_nb.unlink(missing_ok=True)
    status, detail = "ok", ""
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(nb_path),
            str(tmp_nb),
            parameters=params,
            kernel_name=kernel,
            progress_bar=False,
            log_output=False,
            cwd=str(nb_path.parent.resolve()),
            start_timeout=120,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        status = "FAILED"
        detail = f"cell [{exc.exec_count}]: {exc.ename}: {_one_line(exc.evalue)}"
    except Exception as exc:  # kernel died, cell timeout, bad parameters, ...
        status = "FAILED"
        detail = f"{type(exc).__name__}: {_one_line(str(exc))}"
    seconds = time.perf_counter() - start

    entry = _Entry(nb_path.name, title, seconds, status, detail, parameters=params)
    entry.question = _question(source)
    if not tmp_nb.is_file():  # papermill failed before writing anything
        return entry
    os.replace(tmp_nb, final_nb)
    entry.ipynb_name = final_nb.name
    try:
        executed = nbformat.read(final_nb, as_version=4)
        entry.findings = _findings(executed)
        page = _render_html(executed, title, nb_path.stem)
        html_path = out_dir / f"{nb_path.stem}.html"
        _write_atomic(html_path, page.encode("utf-8"))
        entry.html_name = html_path.name
    except Exception as exc:  # a page that cannot render is a failure of the report too
        entry.status = "FAILED"
        entry.detail = (entry.detail + "; " if entry.detail else "") + (
            f"HTML rendering failed: {type(exc).__name__}: {_one_line(str(exc))}"
        )
    return entry


def _declared_parameters(nb_path: Path) -> set[str]:
    """Names defined in the notebook's ``parameters`` cell (empty when it has none)."""
    import papermill

    try:
        return set(papermill.inspect_notebook(str(nb_path)))
    except Exception:  # no parameters cell, or one papermill cannot parse
        return set()


def _h1_title(nb: Any) -> str | None:
    """Return the text of the first Markdown ``# `` heading, or None."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^#\s+(.+?)\s*#*\s*$", line)
            if match:
                return match.group(1)
    return None


def _question(nb: Any) -> str:
    """Return the first paragraph after the H1 of the first Markdown cell (the question)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = [ln for ln in cell.source.splitlines() if not re.match(r"^#\s", ln)]
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", "\n".join(lines)) if p.strip()]
        return paragraphs[0] if paragraphs else ""
    return ""


_FOUND_HEADING = re.compile(r"^#{1,6}\s+what we found\b", re.IGNORECASE | re.MULTILINE)


def _findings(nb: Any) -> tuple[str, ...]:
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


def _one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace (and ANSI colour codes) and shorten for the index."""
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plotly_js() -> bytes:
    """Return the plotly.js bundle shipped in the installed plotly package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _render_html(nb: Any, title: str, stem: str) -> str:
    """Render an executed notebook to a standalone HTML page that uses the local plotly.js."""
    import jinja2
    from nbconvert import HTMLExporter

    nb = _plotly_outputs_to_html(nb, stem)
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


def _plotly_outputs_to_html(nb: Any, stem: str) -> Any:
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


def _notebook_section(e: _Entry) -> str:
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


def _index_html(entries: list[_Entry], total: float) -> str:
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


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it into place, readable by all (0o644)."""
    write_atomic(path, data, mode=0o644, make_parents=False)
