"""Run the notebooks: :func:`build_report` (``make report``) and :func:`execute_in_place`."""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from toolkit._io import write_atomic
from toolkit._validation import check_int
from toolkit.report.data_check import check_data
from toolkit.report.errors import ReportError
from toolkit.report.parameters import declared_parameters, parse_parameter, plan_parameters
from toolkit.report.render import (
    PLOTLY_JS_NAME,
    Entry,
    findings_of,
    h1_title,
    index_html,
    one_line,
    plotly_js,
    question_of,
    render_html,
)

__all__ = ["build_report", "execute_in_place"]

_NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


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

    Before anything runs or is written, the parameters are checked against each notebook's
    ``parameters`` cell (:func:`toolkit.report.parameters.plan_parameters`) and the data each
    notebook will load against its declared needs (:mod:`toolkit.report.needs`); kernels run
    in the notebook's folder with a few environment defaults (:func:`_kernel_env`).

    Args:
        out_dir: Folder for the report; created when missing.
        notebooks: Notebook files to run, in this order. ``None`` (default) runs every
            ``notebooks/NN_*.ipynb`` under the current directory, sorted by name.
        parameters: Values papermill injects after each notebook's ``parameters`` cell; a
            name no selected notebook declares raises :class:`ReportError`, one that only
            some declare goes to those only. ``OUTPUT_DIR`` (the absolute ``out_dir``) is
            added where declared; relative paths that exist are made absolute.
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
        ReportError: A parameter is declared by none of the notebooks, the ``DATA`` a
            notebook will load cannot be read, or the data lacks what a notebook needs
            (:class:`~toolkit.report.DataNeedsError`): all raised before any notebook runs
            or any file is written. Or one or more notebooks failed (raised after the index
            is written).
    """
    paths = _resolve_notebooks(notebooks)
    timeout = check_int(timeout, "timeout")
    plan = plan_parameters(paths, parameters, parameters_file)
    out_dir = Path(out_dir)
    check_data(
        paths,
        [given for given, _ in plan],
        rerun=lambda runnable: _rerun_command(runnable, parameters, parameters_file, out_dir),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / "index.html"
    index.unlink(missing_ok=True)
    _write_atomic(out_dir / PLOTLY_JS_NAME, plotly_js())
    started = time.perf_counter()
    entries = _run_all(paths, plan, out_dir, kernel_name, timeout)
    total = time.perf_counter() - started
    _write_atomic(index, index_html(entries, total).encode("utf-8"))
    failed = [e.name for e in entries if e.status != "ok"]
    print(f"report: {len(entries) - len(failed)}/{len(entries)} ok in {total:.1f} s -> {index}")
    if failed:
        raise ReportError(f"{len(failed)} notebook(s) failed: {', '.join(failed)}; see {index}")
    return index


def _rerun_command(
    notebooks: Sequence[Path],
    parameters: dict[str, Any] | None,
    parameters_file: str | os.PathLike | None,
    out_dir: Path,
) -> str | None:
    """The ``python -m toolkit report`` command that runs ``notebooks`` with these parameters.

    Paths under the current folder are written relative to it. ``None`` when a parameter
    value cannot be written as ``-p NAME=VALUE`` so that papermill's typing gives it back
    (a list, or a text such as ``"5"``): such a value needs a parameters file.
    """
    import shlex

    def shown(path: str | os.PathLike) -> str:
        path = Path(path)
        with contextlib.suppress(ValueError):
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        return str(path)

    words = ["python", "-m", "toolkit", "report"]
    if Path(out_dir) != Path("reports"):
        words += ["--out", shown(out_dir)]
    if parameters_file is not None:
        words += ["-f", shown(parameters_file)]
    for name, value in (parameters or {}).items():
        if isinstance(value, list | tuple | dict):
            return None
        back = parse_parameter(f"{name}={value}")[1]  # str(None) is "None", as -p reads it
        if back != value or type(back) is not type(value):
            return None
        words += ["-p", f"{name}={value}"]
    return shlex.join(words + [shown(p) for p in notebooks])


def _run_all(
    paths: Sequence[Path],
    plan: list[tuple[dict[str, Any], tuple[str, ...]]],
    out_dir: Path,
    kernel_name: str | None,
    timeout: int,
) -> list[Entry]:
    """Run and render every notebook in order, with a progress line before and after each."""
    entries: list[Entry] = []
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
    """Set environment defaults for the kernels where unset, restoring them afterwards.

    ``NUMBA_CACHE_DIR`` (under the toolkit cache, so UMAP's numba cache is writable),
    ``PYTHONHASHSEED=0`` and ``TOKENIZERS_PARALLELISM=false``; ``TOOLKIT_CACHE_DIR`` is
    passed through untouched.
    """
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
) -> Entry:
    """Execute and render one notebook; never raises for a notebook error."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = nbformat.read(nb_path, as_version=4)
    title = h1_title(source) or nb_path.stem
    params = dict(parameters)
    if "OUTPUT_DIR" not in params and "OUTPUT_DIR" in declared_parameters(nb_path):
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
        detail = f"cell [{exc.exec_count}]: {exc.ename}: {one_line(exc.evalue)}"
    except Exception as exc:  # kernel died, cell timeout, bad parameters, ...
        status = "FAILED"
        detail = f"{type(exc).__name__}: {one_line(str(exc))}"
    seconds = time.perf_counter() - start

    entry = Entry(nb_path.name, title, seconds, status, detail, parameters=params)
    entry.question = question_of(source)
    if not tmp_nb.is_file():  # papermill failed before writing anything
        return entry
    os.replace(tmp_nb, final_nb)
    entry.ipynb_name = final_nb.name
    try:
        executed = nbformat.read(final_nb, as_version=4)
        entry.findings = findings_of(executed)
        page = render_html(executed, title, nb_path.stem)
        html_path = out_dir / f"{nb_path.stem}.html"
        _write_atomic(html_path, page.encode("utf-8"))
        entry.html_name = html_path.name
    except Exception as exc:  # a page that cannot render is a failure of the report too
        entry.status = "FAILED"
        entry.detail = (entry.detail + "; " if entry.detail else "") + (
            f"HTML rendering failed: {type(exc).__name__}: {one_line(str(exc))}"
        )
    return entry


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it into place, readable by all (0o644)."""
    write_atomic(path, data, mode=0o644, make_parents=False)
