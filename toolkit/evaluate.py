"""Deprecated: the old home of system comparison and the notebook tables.

Everything moved:

* :mod:`toolkit.data` -- ``load_data`` is ``data.load``, ``select_split`` is ``data.select_split``;
* :mod:`toolkit.evaluation` -- ``compare_systems``, ``SystemComparison``, ``load_models``,
  ``top1``, ``failure_gallery``, ``heatmap_block``, ``evaluate_cli``, ``BASELINES``,
  ``SUMMARY_METRICS``;
* :mod:`toolkit.diagnostics` -- ``nearest_titles``, ``neighbour_agreement``.

Importing this module emits one :class:`DeprecationWarning` naming the new homes.
"""

from __future__ import annotations

import warnings

from toolkit.data import load as load_data
from toolkit.data import select_split
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
    "top1, failure_gallery, heatmap_block and evaluate_cli from toolkit.evaluation, "
    "nearest_titles and neighbour_agreement from toolkit.diagnostics, and use "
    "toolkit.data.load / toolkit.data.select_split for load_data / select_split",
    DeprecationWarning,
    stacklevel=2,
)
