"""Recipes: every hyperparameter of a fine-tuning run, the named ones, and the schedule maths.

A *recipe* is a frozen dataclass (:class:`Recipe`). The named recipes describe the model card
of the origin project and a tuned alternative:

* :data:`CARD_AS_DOCUMENTED` - the values the card lists (``learning_rate: 5e-05``,
  ``warmup_steps: 0``, linear decay) run through ``SentenceTransformerTrainer``.
* :data:`CARD_AS_RUN` - what the origin project's ``fit()`` call (:data:`CARD_SOURCE`) really
  did: it builds its own
  AdamW(lr 2e-5, weight decay 0.01, none on bias/LayerNorm) and a WarmupLinear schedule with
  10,000 warm-up steps and hands them to the trainer, so the card's listed lr/warm-up are unused
  defaults. With 50 pairs, batch 8 and 10 epochs (70 steps) the lr never leaves warm-up and
  peaks at 2e-5 * 69 / 10000 = 1.38e-7 (the lr used by the 70th step).
* :data:`TUNED_USE` / :data:`TUNED_STATIC` - a much higher lr with a short warm-up for the small
  offline models; the lr is meant to be chosen with
  :func:`toolkit.training.experiments.select_lr` on the **dev** split only. The test split is
  never used for any choice made here.
* :data:`RECOMMENDED_USE` = ``tuned_recipe()`` - the recipe recommended for the default model,
  chosen on the dev split over seeds by :func:`toolkit.training.experiments.select_recipe`
  (lr, mined hard negatives, batch sampler).

Also here, and only here: :func:`get_recipe` (recipes by name), :func:`recipe_table`,
:meth:`Recipe.schedule` (steps and warm-up for n pairs), :func:`expected_lr_schedule` (the lr
of every step, from the recipe alone) and :class:`ScheduleWarning`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from toolkit._validation import check_int

__all__ = [
    "CARD_AS_DOCUMENTED",
    "CARD_AS_RUN",
    "CARD_SOURCE",
    "DEFAULT_LR_CANDIDATES",
    "RECIPE_NAMES",
    "RECOMMENDED_USE",
    "Recipe",
    "RecipeSchedule",
    "ScheduleWarning",
    "TUNED_STATIC",
    "TUNED_USE",
    "expected_lr_schedule",
    "get_recipe",
    "recipe_table",
    "tuned_recipe",
]

#: Scheduler names understood in ``optimizer_mode="trainer"`` (``transformers.SchedulerType``).
_TRAINER_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "warmup_stable_decay",
)
#: Scheduler names understood by ``SentenceTransformer.fit()`` (``FitMixin._get_scheduler``).
_FIT_SCHEDULERS = (
    "constantlr",
    "warmupconstant",
    "warmuplinear",
    "warmupcosine",
    "warmupcosinewithhardrestarts",
)
_SIMILARITIES = ("cos_sim", "dot_score")
_LOSSES = ("mnrl",)
_BATCH_SAMPLERS = ("batch_sampler", "no_duplicates", "no_duplicates_hashed", "group_by_label")
_MULTI_SAMPLERS = ("round_robin", "proportional")
#: Integer fields of :class:`Recipe` and their smallest value.
_INTEGER_FIELDS = (("batch_size", 1), ("epochs", 1), ("seed", 0), ("hard_negatives", 0))


class ScheduleWarning(UserWarning):
    """A run's effective learning-rate schedule differs from what its recipe suggests."""


class RecipeSchedule(NamedTuple):
    """What :meth:`Recipe.schedule` computes for a number of training pairs.

    Attributes:
        steps: Optimizer steps the trainer runs.
        scheduler_steps: Steps the lr scheduler is sized for (``fit()`` floors the batches).
        warmup_steps: Warm-up length in optimizer steps.
    """

    steps: int
    scheduler_steps: int
    warmup_steps: int


@dataclass(frozen=True)
class Recipe:
    """All hyperparameters of a fine-tuning run (immutable; derive variants with ``replace``).

    Attributes:
        name: Short identifier written into the manifest.
        learning_rate: Peak learning rate of the schedule.
        weight_decay: AdamW weight decay (never applied to biases and LayerNorm weights).
        warmup_steps: Linear warm-up length: an int number of optimizer steps, or a float in
            ``[0, 1)`` read as a share of the total steps.
        scheduler: In ``"trainer"`` mode a ``transformers`` scheduler type (``"linear"``,
            ``"cosine"``, ``"constant"`` ...); in ``"fit"`` mode one of fit()'s names
            (``"warmuplinear"``, ``"warmupconstant"``, ``"constantlr"``, ``"warmupcosine"``,
            ``"warmupcosinewithhardrestarts"``).
        batch_size: Pairs per batch (MNRL uses the other pairs of a batch as negatives).
        epochs: Passes over the training pairs.
        seed: Seed of every RNG (model dropout, batch order, ``data_seed``); an int >= 0.
        max_grad_norm: Gradient clipping norm (0 disables clipping).
        loss: Training loss; ``"mnrl"`` = ``MultipleNegativesRankingLoss``.
        loss_scale: MNRL scale (inverse temperature).
        similarity: MNRL similarity, ``"cos_sim"`` or ``"dot_score"``.
        optimizer_mode: ``"trainer"`` lets ``SentenceTransformerTrainingArguments`` build
            AdamW and the scheduler; ``"fit"`` builds them the way ``SentenceTransformer.fit()``
            does and passes them to the trainer as ready-made ``optimizers``.
        optim: ``transformers`` optimizer name used in ``"trainer"`` mode (the card lists
            ``adamw_torch``; transformers >= 5 defaults to the fused variant on torch >= 2.8).
        adam_beta1: AdamW beta1.
        adam_beta2: AdamW beta2.
        adam_epsilon: AdamW epsilon.
        batch_sampler: sentence-transformers batch sampler name (``BatchSamplers`` values):
            ``"batch_sampler"`` (default, random batches) or ``"no_duplicates"``
            (``BatchSamplers.NO_DUPLICATES``: no text twice in a batch, so a query's other
            positives are never its in-batch negatives), ``"no_duplicates_hashed"``,
            ``"group_by_label"``.
        multi_dataset_batch_sampler: sampler across datasets (only matters for several).
        hard_negatives: Hard negatives mined per training pair with sentence-transformers'
            ``mine_hard_negatives`` (the base model ranks the candidate titles; titles judged
            relevant to the query are never used); ``0`` = in-batch negatives only.
        hard_negative_margin: ``relative_margin`` of the mining: a candidate is kept only if
            its similarity is at least this share of the query's weakest positive's score below
            it (0.05 = NV-Retriever's TopK-PercPos 95%), a guard against unjudged positives.
        freeze_embeddings: Freeze every ``nn.Embedding``/``nn.EmbeddingBag`` table.
        full_determinism: Call ``transformers.enable_full_determinism`` (global side effects:
            ``torch.use_deterministic_algorithms(True)`` stays on after the run).
        note: Free text kept in the manifest.
    """

    name: str
    learning_rate: float
    weight_decay: float = 0.0
    warmup_steps: float = 0
    scheduler: str = "linear"
    batch_size: int = 8
    epochs: int = 10
    seed: int = 42
    max_grad_norm: float = 1.0
    loss: str = "mnrl"
    loss_scale: float = 20.0
    similarity: str = "cos_sim"
    optimizer_mode: str = "trainer"
    optim: str = "adamw_torch"
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    batch_sampler: str = "batch_sampler"
    multi_dataset_batch_sampler: str = "round_robin"
    hard_negatives: int = 0
    hard_negative_margin: float = 0.05
    freeze_embeddings: bool = False
    full_determinism: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        """Validate the values so that a bad recipe fails before any training starts."""

        def bad(name: str, expected: str) -> ValueError:
            return ValueError(
                f"Recipe {self.name!r}: {name}={getattr(self, name)!r}, expected {expected}"
            )

        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Recipe: name={self.name!r}, expected a non-empty string")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            raise bad("learning_rate", "a positive number")
        if self.weight_decay < 0:
            raise bad("weight_decay", "a number >= 0")
        if self.warmup_steps < 0 or (
            isinstance(self.warmup_steps, float)
            and not float(self.warmup_steps).is_integer()
            and self.warmup_steps >= 1
        ):
            raise bad("warmup_steps", "an int >= 0 (steps) or a float in [0, 1) (ratio)")
        for name, minimum in _INTEGER_FIELDS:  # stored as int (a NumPy int would not serialise)
            value = check_int(getattr(self, name), f"Recipe {self.name!r}: {name}", minimum=minimum)
            object.__setattr__(self, name, value)
        if self.max_grad_norm < 0:
            raise bad("max_grad_norm", "a number >= 0")
        if self.loss not in _LOSSES:
            raise bad("loss", f"one of {_LOSSES}")
        if self.similarity not in _SIMILARITIES:
            raise bad("similarity", f"one of {_SIMILARITIES}")
        if self.optimizer_mode not in ("trainer", "fit"):
            raise bad("optimizer_mode", "'trainer' or 'fit'")
        allowed = _FIT_SCHEDULERS if self.optimizer_mode == "fit" else _TRAINER_SCHEDULERS
        if self.scheduler.lower() not in allowed:
            raise bad("scheduler", f"one of {allowed} in optimizer_mode={self.optimizer_mode!r}")
        if self.batch_sampler not in _BATCH_SAMPLERS:
            raise bad("batch_sampler", f"one of {_BATCH_SAMPLERS}")
        if self.multi_dataset_batch_sampler not in _MULTI_SAMPLERS:
            raise bad("multi_dataset_batch_sampler", f"one of {_MULTI_SAMPLERS}")
        margin = self.hard_negative_margin
        if not (isinstance(margin, int | float) and 0 <= margin < 1):
            raise bad("hard_negative_margin", "a number in [0, 1) (relative margin)")

    def replace(self, **changes: Any) -> Recipe:
        """Return a copy with some fields changed (``dataclasses.replace``).

        Args:
            **changes: Field names and their new values.

        Returns:
            A new, validated :class:`Recipe`.
        """
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as a JSON-serialisable dict.

        Returns:
            Field name to value.
        """
        return dataclasses.asdict(self)

    def warmup_for(self, total_steps: int) -> int:
        """Warm-up length in optimizer steps for a schedule of ``total_steps`` steps.

        An int ``warmup_steps`` is used as given; a float ratio in ``(0, 1)`` becomes
        ``ceil(ratio * total_steps)`` (``transformers``' ``get_warmup_steps`` rule).
        """
        w = self.warmup_steps
        if isinstance(w, float) and 0 < w < 1:
            return math.ceil(w * total_steps)
        return int(w)

    def schedule(self, n_pairs: int) -> RecipeSchedule:
        """The schedule a run of this recipe on ``n_pairs`` pairs gets, before running it.

        The trainer runs ``ceil(n_pairs / batch_size) * epochs`` optimizer steps (it keeps
        the last, partial batch). In ``"trainer"`` mode the scheduler is sized by those
        steps; in ``"fit"`` mode it is sized the way ``SentenceTransformer.fit()`` sizes it,
        ``(n_pairs // batch_size) * epochs``. The warm-up follows :meth:`warmup_for` of the
        scheduler's size.

        Args:
            n_pairs: Number of training pairs (>= 1).

        Returns:
            A :class:`RecipeSchedule` ``(steps, scheduler_steps, warmup_steps)``.

        Raises:
            TypeError: ``n_pairs`` is not an integer.
            ValueError: ``n_pairs`` < 1.

        Example:
            >>> CARD_AS_RUN.schedule(50)
            RecipeSchedule(steps=70, scheduler_steps=60, warmup_steps=10000)
        """
        n_pairs = check_int(n_pairs, "n_pairs")
        steps = math.ceil(n_pairs / self.batch_size) * self.epochs
        if self.optimizer_mode == "fit":
            total = (n_pairs // self.batch_size) * self.epochs
        else:
            total = steps
        return RecipeSchedule(steps, total, self.warmup_for(total))


#: The card's listed hyperparameters run through SentenceTransformerTrainer (non-default ones:
#: num_train_epochs 10, multi_dataset_batch_sampler round_robin; the rest are the
#: TrainingArguments defaults the card prints).
CARD_AS_DOCUMENTED = Recipe(
    name="card_as_documented",
    learning_rate=5e-5,
    weight_decay=0.0,
    warmup_steps=0,
    scheduler="linear",
    batch_size=8,
    epochs=10,
    seed=42,
    max_grad_norm=1.0,
    loss_scale=20.0,
    similarity="cos_sim",
    optimizer_mode="trainer",
    optim="adamw_torch",
    batch_sampler="batch_sampler",
    multi_dataset_batch_sampler="round_robin",
    note="Values listed in the model card; lr/warmup there are unused TrainingArguments defaults.",
)

#: Where the card's run comes from: the origin project's own training code (cited, not copied).
#: At this commit ``models/contrastive-rubert/README.md`` is the seed card byte for byte, and
#: ``train_embedder`` (src/embedder.py:10-22) turns every ``label == 1`` row into
#: ``InputExample([query, title + ' ' + snippet description])``, loads them with
#: ``DataLoader(shuffle=True, batch_size=8)`` and calls ``model.fit(train_objectives=...,
#: epochs=..., output_path=...)``: no warmup_steps, optimizer_params or weight_decay.
CARD_SOURCE = "ducklingsam/patent_search_reranker@bdb4afd, src/embedder.py:22"

#: What that fit() call ran (sentence-transformers 4.1.0, fit_mixin.py:165-187 and 341-360 at
#: tag v4.1.0; the same code in 6.2): its defaults warmup_steps=10000, optimizer_params
#: {"lr": 2e-5}, weight_decay=0.01, scheduler="WarmupLinear", max_grad_norm=1, batch 8 from
#: the DataLoader. The card's listed lr 5e-5 and warm-up 0 are TrainingArguments defaults that
#: fit() leaves in place and then overrides with its own optimizer and scheduler.
CARD_AS_RUN = CARD_AS_DOCUMENTED.replace(  # the same run; only what fit() decides differs
    name="card_as_run",
    learning_rate=2e-5,
    weight_decay=0.01,
    warmup_steps=10000,
    scheduler="warmuplinear",
    optimizer_mode="fit",
    note="SentenceTransformer.fit() defaults: AdamW lr 2e-5 wd 0.01, WarmupLinear 10000 steps.",
)

#: Starting point for the offline USE-m3 transformer module: the documented card run (trainer
#: mode, linear decay, batch 8, 10 epochs) with a higher lr, weight decay and a 10% warm-up.
#: Provisional: choose the lr with select_lr() on the dev split (candidates
#: DEFAULT_LR_CANDIDATES), never on test.
TUNED_USE = CARD_AS_DOCUMENTED.replace(
    name="tuned_use",
    learning_rate=1e-4,
    weight_decay=0.01,
    warmup_steps=0.1,
    note="Provisional lr; pick it with select_lr on the dev split only.",
)

#: Starting point for a static (word-vector mean) model: no attention layers to disturb, so a
#: higher lr. Provisional: choose with select_lr on the dev split, never on test.
TUNED_STATIC = TUNED_USE.replace(
    name="tuned_static",
    learning_rate=1e-3,
    note="Provisional lr for static embeddings; pick it with select_lr on the dev split only.",
)

#: Default lr grid for select_lr (log-spaced, spans TUNED_USE and TUNED_STATIC).
DEFAULT_LR_CANDIDATES: tuple[float, ...] = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3)

#: The recipe recommended for the default model (USE-m3), chosen on the demo dev split by
#: :func:`toolkit.training.experiments.select_recipe`; see :func:`tuned_recipe` for the numbers.
RECOMMENDED_USE = TUNED_USE.replace(
    name="recommended_use",
    learning_rate=3e-4,
    hard_negatives=1,
    hard_negative_margin=0.05,
    batch_sampler="batch_sampler",
    freeze_embeddings=True,
    note="Chosen on the demo dev split (21 queries) by the mean nDCG@10 over seeds 42-44.",
)

_TUNED_BY_KIND = {"use": RECOMMENDED_USE, "transformer": RECOMMENDED_USE, "static": TUNED_STATIC}


def tuned_recipe(model_kind: str = "use", learning_rate: float | None = None) -> Recipe:
    """Return the tuned recipe for a kind of model; with no arguments, the one we recommend.

    ``tuned_recipe()`` is :data:`RECOMMENDED_USE`: lr 3e-4 (warm-up over the first 10% of
    the steps, then linear decay), one hard negative per pair mined with
    ``mine_hard_negatives`` (relative margin 0.05; titles judged relevant never mined: pass
    ``negatives_from=`` the retrieval set to :func:`toolkit.training.finetune`), the default
    batch sampler, token-embedding table frozen, batch 8, 10 epochs, weight decay 0.01.

    How it was chosen (2 December 2026, ``experiments.select_recipe`` with
    ``experiments.DEFAULT_GRID``, the default model, the 50 train pairs, embeddings frozen,
    mining corpus = the 350 demo titles with ``qrels.csv`` + ``judgments.csv`` excluded):
    mean ± sd of dev nDCG@10 over seeds 42, 43, 44 on n = 21 dev queries (base model 0.621);
    the test split played no part.

    ===============================================  ===============
    candidate                                        dev nDCG@10
    ===============================================  ===============
    lr 1e-4, in-batch negatives, default sampler     0.632 ± 0.001
    lr 1e-4, in-batch negatives, no_duplicates       0.627 ± 0.003
    lr 1e-4, +1 mined negative, default sampler      0.627 ± 0.023
    lr 1e-4, +1 mined negative, no_duplicates        0.603 ± 0.010
    lr 3e-4, in-batch negatives, default sampler     0.628 ± 0.025
    lr 3e-4, in-batch negatives, no_duplicates       0.578 ± 0.038
    lr 3e-4, +1 mined negative, default sampler      0.656 ± 0.016 (chosen)
    lr 3e-4, +1 mined negative, no_duplicates        0.611 ± 0.013
    ===============================================  ===============

    The chosen candidate leads the runner-up by 0.024 with sds of 0.016 and 0.001 over only
    3 seeds and 21 queries: a selection, not a demonstrated difference. Notebook 02 reruns
    this selection and reports the chosen recipe on the test split.

    Args:
        model_kind: ``"use"`` (or ``"transformer"``) for attention models (the recommended
            recipe), ``"static"`` for word-vector models (:data:`TUNED_STATIC`, provisional).
        learning_rate: Another lr (e.g. one chosen on your own dev split); ``None`` keeps the
            recipe's.

    Returns:
        A :class:`Recipe`.

    Raises:
        ValueError: If ``model_kind`` is unknown.
    """
    try:
        recipe = _TUNED_BY_KIND[model_kind]
    except KeyError:
        raise ValueError(
            f"model_kind={model_kind!r}, expected one of {sorted(_TUNED_BY_KIND)}"
        ) from None
    if learning_rate is not None:
        recipe = recipe.replace(learning_rate=float(learning_rate))
    return recipe



# --------------------------------------------------------------------------- recipes by name

#: Names accepted by :func:`get_recipe`.
RECIPE_NAMES = ("card_as_documented", "card_as_run", "tuned")

#: Recipe fields shown by :func:`recipe_table` by default (the ones a reader compares).
_TABLE_FIELDS = (
    "optimizer_mode",
    "learning_rate",
    "weight_decay",
    "warmup_steps",
    "scheduler",
    "batch_size",
    "epochs",
    "max_grad_norm",
    "loss_scale",
    "similarity",
    "freeze_embeddings",
    "seed",
)


def get_recipe(
    name: str | Recipe,
    *,
    model_kind: str = "use",
    learning_rate: float | None = None,
    **changes: Any,
) -> Recipe:
    """Return a recipe by name, with optional field changes.

    Args:
        name: ``"card_as_documented"`` (:data:`toolkit.training.CARD_AS_DOCUMENTED`),
            ``"card_as_run"`` (:data:`toolkit.training.CARD_AS_RUN`) or ``"tuned"``
            (:func:`toolkit.training.tuned_recipe` for ``model_kind``); a :class:`Recipe`
            is passed through.
        model_kind: For ``"tuned"``: ``"use"``/``"transformer"`` or ``"static"``.
        learning_rate: For ``"tuned"`` (or a :class:`Recipe`): the lr chosen on the dev split
            (``None`` keeps the recipe's). Refused for the card recipes, whose lr is what
            is being reproduced.
        **changes: Other fields to replace, e.g. ``freeze_embeddings=True``.

    Returns:
        The validated :class:`Recipe`.

    Raises:
        ValueError: ``name`` is unknown (the message lists the known names), or a
            ``learning_rate`` is given for a card recipe.
    """
    if isinstance(name, Recipe):
        recipe = name
        if learning_rate is not None:
            changes["learning_rate"] = float(learning_rate)
    elif name == "card_as_documented" or name == "card_as_run":
        if learning_rate is not None:
            raise ValueError(
                f"learning_rate={learning_rate!r}: the card recipe {name!r} has a fixed lr; "
                "pass learning_rate only for 'tuned'"
            )
        recipe = CARD_AS_DOCUMENTED if name == "card_as_documented" else CARD_AS_RUN
    elif name == "tuned":
        recipe = tuned_recipe(model_kind, learning_rate)
    else:
        raise ValueError(f"recipe name {name!r} is unknown; expected one of {list(RECIPE_NAMES)}")
    return recipe.replace(**changes) if changes else recipe


def recipe_table(
    recipes: Mapping[str, Recipe],
    *,
    fields: Sequence[str] | None = None,
    only_differences: bool = False,
) -> pd.DataFrame:
    """Recipes side by side: one row per field, one column per recipe.

    Args:
        recipes: ``{column name: Recipe}``.
        fields: Fields to show; ``None`` shows the usual ones (optimizer mode, lr, weight
            decay, warm-up, scheduler, batch size, epochs, clipping, loss scale, similarity,
            frozen embeddings, seed).
        only_differences: Keep only the rows where the recipes differ.

    Returns:
        DataFrame indexed by field name, values as the recipes hold them (text, so mixed
        types print alike).

    Raises:
        ValueError: ``recipes`` is empty or a field is not a recipe field.
    """
    if not recipes:
        raise ValueError("recipes: expected at least one recipe")
    fields = list(fields) if fields is not None else list(_TABLE_FIELDS)
    known = set(Recipe.__dataclass_fields__)
    for i, f in enumerate(fields):
        if f not in known:
            raise ValueError(f"fields[{i}]={f!r} is not a Recipe field")
    data = {name: [_fmt_value(getattr(r, f)) for f in fields] for name, r in recipes.items()}
    table = pd.DataFrame(data, index=pd.Index(fields, name="field"))
    if only_differences and len(recipes) > 1:
        table = table[table.nunique(axis=1) > 1]
    return table


def _fmt_value(value: Any) -> str:
    if isinstance(value, float) and not float(value).is_integer():
        return f"{value:g}"
    return str(value)


def expected_lr_schedule(recipe: Recipe, n_pairs: int) -> np.ndarray:
    """Learning rate of every optimizer step of a run, computed from the recipe alone.

    This re-derives the schedule from the scheduler formulas (``transformers``'
    ``get_linear_schedule_with_warmup`` and friends) without running anything, as a check on
    the schedule that :func:`toolkit.training.finetune` reads back from the optimizer.

    The trainer runs ``ceil(n_pairs / batch_size) * epochs`` steps (it keeps the last,
    partial batch). In ``"trainer"`` mode the schedule is sized by those steps; a float
    warm-up in ``[0, 1)`` is ``ceil(ratio * steps)``. In ``"fit"`` mode the schedule is sized
    the way ``SentenceTransformer.fit()`` sizes it, ``(n_pairs // batch_size) * epochs``,
    and the warm-up is used as given, so with the card's 10,000 warm-up steps the lr of step
    ``s`` (0-based) is ``lr * s / 10000``.

    Args:
        recipe: The recipe; schedulers ``linear``/``warmuplinear``, ``constant``/
            ``constantlr``, ``constant_with_warmup``/``warmupconstant`` and ``cosine``/
            ``warmupcosine`` are supported.
        n_pairs: Number of training pairs (>= 1).

    Returns:
        Array of length ``steps``; entry ``s`` is the lr used by optimizer step ``s + 1``.

    Raises:
        ValueError: ``n_pairs`` < 1 or the scheduler is not one of the above.

    Example:
        >>> lr = expected_lr_schedule(CARD_AS_RUN, 50)
        >>> len(lr), f"{lr.max():.3g}"   # 70 steps; peak 2e-5 * 69 / 10000
        (70, '1.38e-07')
    """
    steps, total, warmup = recipe.schedule(n_pairs)
    kind = {
        "warmuplinear": "linear",
        "linear": "linear",
        "constantlr": "constant",
        "constant": "constant",
        "warmupconstant": "constant_with_warmup",
        "constant_with_warmup": "constant_with_warmup",
        "warmupcosine": "cosine",
        "cosine": "cosine",
    }.get(recipe.scheduler.lower())
    if kind is None:
        raise ValueError(
            f"recipe {recipe.name!r}: scheduler={recipe.scheduler!r} is not supported here; "
            "expected linear, constant, constant_with_warmup or cosine (or fit()'s names)"
        )
    s = np.arange(steps, dtype=np.float64)
    if kind == "constant":
        factor = np.ones_like(s)
    else:
        warm = s / max(1, warmup)
        after = s - warmup
        if kind == "constant_with_warmup":
            decay = np.ones_like(s)
        elif kind == "linear":
            decay = np.maximum(0.0, (total - s) / max(1, total - warmup))
        else:  # cosine, half a cycle
            progress = after / max(1, total - warmup)
            decay = np.maximum(0.0, 0.5 * (1.0 + np.cos(math.pi * 2.0 * 0.5 * progress)))
        factor = np.where(s < warmup, warm, decay)
    return recipe.learning_rate * factor
