"""Deprecated: the old home of system comparison and the notebook tables.

Everything moved (``load_data``/``select_split`` stay importable here until
``toolkit.data.load``/``data.select_split`` replace them):

* :mod:`toolkit.evaluation` -- ``compare_systems``, ``SystemComparison``, ``load_models``,
  ``top1``, ``failure_gallery``, ``heatmap_block``, ``evaluate_cli``, ``BASELINES``,
  ``SUMMARY_METRICS``;
* :mod:`toolkit.diagnostics` -- ``nearest_titles``, ``neighbour_agreement``.

Importing this module emits one :class:`DeprecationWarning` naming the new homes.
"""

from __future__ import annotations

import warnings

from toolkit._loading import load_data, select_split
from toolkit.diagnostics import nearest_titles, neighbour_agreement
from toolkit.evaluation import (
    BASELINES,
    RRF_K,
    SUMMARY_METRICS,
    SystemComparison,
    compare_systems,
    evaluate_cli,
    failure_gallery,
    heatmap_block,
    load_models,
    top1,
)

__all__ = [
    "BASELINES",
    "RRF_K",
    "SUMMARY_METRICS",
    "SystemComparison",
    "compare_systems",
    "evaluate_cli",
    "failure_gallery",
    "heatmap_block",
    "load_data",
    "load_models",
    "nearest_titles",
    "neighbour_agreement",
    "select_split",
    "top1",
]

warnings.warn(
    "toolkit.evaluate is deprecated: import compare_systems, SystemComparison, load_models, "
    "top1, failure_gallery, heatmap_block and evaluate_cli from toolkit.evaluation, and "
    "nearest_titles and neighbour_agreement from toolkit.diagnostics "
    "(load_data and select_split stay here until toolkit.data provides them)",
    DeprecationWarning,
    stacklevel=2,
)
