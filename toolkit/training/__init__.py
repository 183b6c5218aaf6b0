"""Fine-tuning sentence-transformers models: recipes, mined hard negatives, runs, experiments.

The modules, each depending only on the ones listed before it:

* :mod:`~toolkit.training.recipes` -- :class:`Recipe` (every hyperparameter of a run), the
  named recipes (:data:`CARD_AS_DOCUMENTED`, :data:`CARD_AS_RUN`, :func:`tuned_recipe`,
  :func:`get_recipe`), :func:`recipe_table` and the schedule maths
  (:func:`expected_lr_schedule`, :class:`ScheduleWarning`);
* :mod:`~toolkit.training.mining` -- hard negatives mined with sentence-transformers'
  ``mine_hard_negatives`` (:func:`mine_negatives`), never a title judged relevant
  (:func:`relevant_titles`);
* :mod:`~toolkit.training.run` -- :func:`finetune` (one run, with its :class:`RunResult` and
  manifest), :func:`load_manifest`, :func:`loss_by_epoch`;
* :mod:`~toolkit.training.experiments` -- many runs scored on held-out queries: recipe and lr
  selection over seeds, folds by query, cross-validation (import the module:
  ``from toolkit.training import experiments``);
* :mod:`~toolkit.training.drift` -- how far training moved the weights and the title vectors
  (``from toolkit.training.drift import drift_summary``).

The names of the first three are exported here, so ``from toolkit.training import finetune``
works; :mod:`~toolkit.training.experiments` and :mod:`~toolkit.training.drift` are imported
as modules, so ``import toolkit.training`` does not load the evaluation code.

Example:
    >>> from toolkit.training import CARD_AS_RUN, finetune
    >>> run = finetune(model, pairs, CARD_AS_RUN)                      # doctest: +SKIP
    >>> max(run.lr_schedule)                                           # doctest: +SKIP
"""

from toolkit.training.mining import mine_negatives, relevant_titles
from toolkit.training.recipes import (
    CARD_AS_DOCUMENTED,
    CARD_AS_RUN,
    CARD_SOURCE,
    DEFAULT_LR_CANDIDATES,
    RECIPE_NAMES,
    RECOMMENDED_USE,
    TUNED_STATIC,
    TUNED_USE,
    Recipe,
    RecipeSchedule,
    ScheduleWarning,
    expected_lr_schedule,
    get_recipe,
    recipe_table,
    tuned_recipe,
)
from toolkit.training.run import (
    MANIFEST_NAME,
    RunResult,
    finetune,
    load_manifest,
    loss_by_epoch,
)

__all__ = [
    "CARD_AS_DOCUMENTED",
    "CARD_AS_RUN",
    "CARD_SOURCE",
    "DEFAULT_LR_CANDIDATES",
    "MANIFEST_NAME",
    "RECIPE_NAMES",
    "RECOMMENDED_USE",
    "Recipe",
    "RecipeSchedule",
    "RunResult",
    "ScheduleWarning",
    "TUNED_STATIC",
    "TUNED_USE",
    "expected_lr_schedule",
    "finetune",
    "get_recipe",
    "load_manifest",
    "loss_by_epoch",
    "mine_negatives",
    "recipe_table",
    "relevant_titles",
    "tuned_recipe",
]
