"""The main job: execute the notebooks and render them as an offline HTML report.

``python -m toolkit report`` (``make report``) calls :func:`build_report`, which runs every
``notebooks/NN_*.ipynb`` with papermill into ``reports/``, renders each executed notebook to HTML
with nbconvert, and writes ``reports/index.html``: per notebook its question (the first
paragraph under its H1), its headline findings (the lines its "What we found" cell printed)
and links, then a table of the runs (time, status, parameters). Before anything runs, the
data each notebook will load is checked against what the notebook declares it needs
(:class:`DataNeedsError` says what is missing and which notebooks the data can run).

Where things live:

* :mod:`~toolkit.report.build` -- :func:`build_report`, :func:`execute_in_place`, the kernels;
* :mod:`~toolkit.report.parameters` -- ``-p NAME=VALUE``, parameters files, the per-notebook
  plan of which parameters each notebook gets;
* :mod:`~toolkit.report.needs` -- the needs declaration in a notebook's metadata
  (``metadata["toolkit"]["needs"]``: its schema, reading and checking it);
* :mod:`~toolkit.report.data_check` -- loading the data and refusing before anything runs;
* :mod:`~toolkit.report.render` -- the offline HTML pages (local plotly.js) and the index;
* :mod:`~toolkit.report.errors` -- :class:`ReportError`, :class:`DataNeedsError`.

Example:
    >>> from pathlib import Path
    >>> from toolkit.report import build_report
    >>> index = build_report(Path("reports"), parameters={"N_DOCS": 200})  # doctest: +SKIP
"""

from __future__ import annotations

from toolkit.report.build import build_report, execute_in_place
from toolkit.report.errors import DataNeedsError, ReportError
from toolkit.report.needs import Needs, check_needs, read_needs
from toolkit.report.parameters import parse_parameter, read_parameters_file
from toolkit.report.render import PLOTLY_JS_NAME

__all__ = [
    "PLOTLY_JS_NAME",
    "DataNeedsError",
    "Needs",
    "ReportError",
    "build_report",
    "check_needs",
    "execute_in_place",
    "parse_parameter",
    "read_needs",
    "read_parameters_file",
]
