"""Deprecated: notebook 02's steps, now in the modules they belong to.

* :mod:`toolkit.training` -- ``get_recipe``, ``RECIPE_NAMES``, ``recipe_table``,
  ``expected_lr_schedule`` (via :meth:`toolkit.training.Recipe.schedule`),
  ``loss_by_epoch``, ``drift_summary``;
* :mod:`toolkit.evaluation` -- ``evaluate_model`` (= ``evaluate_system`` with a model),
  ``before_after``;
* :mod:`toolkit.experiments` -- ``select_lr_on_split``, ``cross_validate``, ``CVResult``;
* :mod:`toolkit.findings` -- ``what_we_found`` is ``findings.finetuning``.

Importing this module emits one :class:`DeprecationWarning` naming the new homes.
"""

from __future__ import annotations

import warnings

from toolkit.evaluation import before_after, evaluate_model
from toolkit.experiments import CVResult, _fold_pairs, cross_validate, select_lr_on_split
from toolkit.findings import finetuning as what_we_found
from toolkit.training import (
    RECIPE_NAMES,
    drift_summary,
    expected_lr_schedule,
    get_recipe,
    loss_by_epoch,
    recipe_table,
)

__all__ = [
    "RECIPE_NAMES",
    "CVResult",
    "before_after",
    "cross_validate",
    "drift_summary",
    "evaluate_model",
    "expected_lr_schedule",
    "get_recipe",
    "loss_by_epoch",
    "recipe_table",
    "select_lr_on_split",
    "what_we_found",
]

_ = _fold_pairs  # kept importable for old code: toolkit.experiments._fold_pairs

warnings.warn(
    "toolkit.reproduction is deprecated: get_recipe, recipe_table, expected_lr_schedule, "
    "loss_by_epoch and drift_summary are in toolkit.training; evaluate_model and before_after "
    "in toolkit.evaluation; select_lr_on_split, cross_validate and CVResult in "
    "toolkit.experiments; what_we_found is toolkit.findings.finetuning",
    DeprecationWarning,
    stacklevel=2,
)
