"""Fine-tuning recipes and runs for sentence-transformers models.

A *recipe* is a frozen dataclass that names every hyperparameter of a run. Three recipes
describe the model card of the origin project and a tuned alternative:

* :data:`CARD_AS_DOCUMENTED` - the values the card lists (``learning_rate: 5e-05``,
  ``warmup_steps: 0``, linear decay) run through ``SentenceTransformerTrainer``.
* :data:`CARD_AS_RUN` - what ``SentenceTransformer.fit()`` really did: it builds its own
  AdamW(lr 2e-5, weight decay 0.01, none on bias/LayerNorm) and a WarmupLinear schedule with
  10,000 warm-up steps and hands them to the trainer, so the card's listed lr/warm-up are unused
  defaults. With 50 pairs, batch 8 and 10 epochs (70 steps) the lr never leaves warm-up and
  peaks at 2e-5 * 69 / 10000 = 1.38e-7 (the lr used by the 70th step).
* :data:`TUNED_USE` / :data:`TUNED_STATIC` - a much higher lr with a short warm-up for the small
  offline models; the lr is meant to be chosen with :func:`select_lr` on the **dev** split only.
  The test split is never used for any choice made here.

:func:`finetune` trains a deep copy of a model with a recipe and returns a :class:`RunResult`
with the loss curve, the effective per-step learning rate and a manifest that is also written
as ``run_manifest.json`` beside the saved model.

Example:
    >>> from toolkit.training import CARD_AS_RUN, finetune
    >>> run = finetune(model, [("роботы для доставки", "РОБОТИЗИРОВАННЫЙ КУРЬЕРСКИЙ КОМПЛЕКС")],
    ...                CARD_AS_RUN)                                    # doctest: +SKIP
    >>> max(run.lr_schedule)                                           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "CARD_AS_DOCUMENTED",
    "CARD_AS_RUN",
    "DEFAULT_LR_CANDIDATES",
    "MANIFEST_NAME",
    "LrSelection",
    "Recipe",
    "RunResult",
    "ScheduleWarning",
    "TUNED_STATIC",
    "TUNED_USE",
    "embedding_drift",
    "finetune",
    "kfold_by_query",
    "load_manifest",
    "repeat_over_seeds",
    "select_lr",
    "tuned_recipe",
    "weight_drift",
]

MANIFEST_NAME = "run_manifest.json"

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


class ScheduleWarning(UserWarning):
    """A run's effective learning-rate schedule differs from what its recipe suggests."""


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
        seed: Seed of every RNG (model dropout, batch order, ``data_seed``).
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
        batch_sampler: sentence-transformers batch sampler name.
        multi_dataset_batch_sampler: sampler across datasets (only matters for several).
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
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(name, "an int >= 1")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise bad("seed", "an int")
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

#: What SentenceTransformer.fit() (sentence-transformers 4.1 for the card, same code in 6.2)
#: actually ran: its defaults warmup_steps=10000, optimizer_params={"lr": 2e-5},
#: weight_decay=0.01, scheduler="WarmupLinear", max_grad_norm=1, batch 8 from the DataLoader.
CARD_AS_RUN = Recipe(
    name="card_as_run",
    learning_rate=2e-5,
    weight_decay=0.01,
    warmup_steps=10000,
    scheduler="warmuplinear",
    batch_size=8,
    epochs=10,
    seed=42,
    max_grad_norm=1.0,
    loss_scale=20.0,
    similarity="cos_sim",
    optimizer_mode="fit",
    optim="adamw_torch",
    batch_sampler="batch_sampler",
    multi_dataset_batch_sampler="round_robin",
    note="SentenceTransformer.fit() defaults: AdamW lr 2e-5 wd 0.01, WarmupLinear 10000 steps.",
)

#: Starting point for the offline USE-m3 transformer module. Provisional: choose the lr with
#: select_lr() on the dev split (candidates DEFAULT_LR_CANDIDATES), never on test.
TUNED_USE = Recipe(
    name="tuned_use",
    learning_rate=1e-4,
    weight_decay=0.01,
    warmup_steps=0.1,
    scheduler="linear",
    batch_size=8,
    epochs=10,
    seed=42,
    max_grad_norm=1.0,
    optimizer_mode="trainer",
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

_TUNED_BY_KIND = {"use": TUNED_USE, "transformer": TUNED_USE, "static": TUNED_STATIC}


def tuned_recipe(model_kind: str = "use", learning_rate: float | None = None) -> Recipe:
    """Return the tuned recipe for a kind of model, optionally with a dev-selected lr.

    Args:
        model_kind: ``"use"`` (or ``"transformer"``) for attention models, ``"static"`` for
            word-vector models.
        learning_rate: The lr chosen by :func:`select_lr` on the dev split; ``None`` keeps the
            provisional default of the recipe.

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


@dataclass
class RunResult:
    """Outcome of :func:`finetune`.

    Attributes:
        model: The trained copy (the input model is untouched).
        loss_curve: ``(step, loss)`` for every optimizer step (steps count from 1).
        lr_schedule: Learning rate used by optimizer step ``i + 1`` at index ``i`` (read from the
            trainer's log history, which transformers records after ``optimizer.step()`` and
            before ``lr_scheduler.step()``); ``max(lr_schedule)`` is the peak lr reached.
        wall_time: Seconds spent in ``trainer.train()``.
        steps: Optimizer steps run.
        manifest: The run manifest (also written to ``output_dir/run_manifest.json``).
        output_dir: Folder of the saved model, or ``None`` when not saved.
        eval_metrics: What ``eval_set(model)`` returned after training, or ``None``.
        warnings: Human-readable schedule warnings (also in the manifest).
        log_history: The trainer's raw log history.
    """

    model: Any
    loss_curve: list[tuple[int, float]]
    lr_schedule: list[float]
    wall_time: float
    steps: int
    manifest: dict[str, Any]
    output_dir: Path | None = None
    eval_metrics: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)
    log_history: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- data helpers


def _as_pairs(train_pairs: Any) -> list[tuple[str, str]]:
    """Normalise the accepted pair containers to a validated list of ``(query, title)``."""
    if hasattr(train_pairs, "pairs") and callable(train_pairs.pairs):
        source = "train_pairs.pairs()"
        items = list(train_pairs.pairs())
    elif isinstance(train_pairs, pd.DataFrame):
        missing = {"query", "title"} - set(train_pairs.columns)
        if missing:
            raise ValueError(
                f"train_pairs: DataFrame lacks column(s) {sorted(missing)}; expected 'query' "
                "and 'title'"
            )
        source = "train_pairs"
        items = list(zip(train_pairs["query"], train_pairs["title"], strict=True))
    elif isinstance(train_pairs, str | bytes) or not isinstance(train_pairs, Iterable):
        raise TypeError(
            "train_pairs: expected a list of (query, title) tuples, a DataFrame with 'query' "
            f"and 'title' columns, or an object with .pairs(); got {type(train_pairs).__name__}"
        )
    else:
        source = "train_pairs"
        items = list(train_pairs)
    pairs = []
    for i, item in enumerate(items):
        if (
            isinstance(item, str | bytes)
            or not isinstance(item, Sequence)
            or len(item) != 2
            or not all(isinstance(x, str) and x.strip() for x in item)
        ):
            raise ValueError(
                f"{source}[{i}]: expected a (query, title) tuple of two non-empty strings, "
                f"got {item!r}"
            )
        pairs.append((item[0], item[1]))
    if not pairs:
        raise ValueError(f"{source}: no pairs to train on")
    return pairs


def _fingerprint(pairs: Sequence[tuple[str, str]]) -> str:
    """SHA-256 of the sorted pairs serialised as UTF-8 JSON (order-independent)."""
    blob = json.dumps(sorted([list(p) for p in pairs]), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _versions() -> dict[str, str]:
    """Versions of the libraries that determine a run's numbers."""
    import sentence_transformers
    import torch
    import transformers

    import toolkit

    out = {
        "toolkit": toolkit.__version__,
        "sentence-transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    for name in ("datasets", "accelerate"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:  # pragma: no cover - both are sentence-transformers[train] deps
            pass
    return out


# --------------------------------------------------------------------------- training


def _similarity_fn(name: str) -> Callable:
    from sentence_transformers import util

    return {"cos_sim": util.cos_sim, "dot_score": util.dot_score}[name]


def _fit_style_optimizers(
    model: Any, loss: Any, recipe: Recipe, n_pairs: int
) -> tuple[Any, Any, int, int]:
    """Build AdamW + scheduler exactly as ``SentenceTransformer.fit()`` does in st 6.2.

    Mirrors ``sentence_transformers/sentence_transformer/fit_mixin.py`` (v6.2.0):
    lines 255-266 (batch size from the DataLoader), 337-339 (``steps_per_epoch =
    len(dataset) // batch_size``; ``num_train_steps = steps_per_epoch * epochs * n_losses``),
    342-353 (parameters of ``nn.ModuleDict({"model": model, **losses})``; no decay on names
    containing ``bias``/``LayerNorm.bias``/``LayerNorm.weight``; ``optimizer_class(groups,
    **optimizer_params)``) and 354-356 (``self._get_scheduler(optimizer, scheduler,
    warmup_steps, t_total=num_train_steps)``, the installed static method, lines 406-435).

    Returns:
        ``(optimizer, scheduler, t_total, warmup_steps)``.
    """
    import torch
    from torch import nn

    steps_per_epoch = n_pairs // recipe.batch_size  # fit_mixin.py:338 (floor, one dataset)
    t_total = int(steps_per_epoch * recipe.epochs) * 1  # fit_mixin.py:339, one loss
    warmup = recipe.warmup_steps
    if isinstance(warmup, float) and warmup < 1 and not float(warmup).is_integer():
        # fit() takes only an int; read a ratio like transformers' get_warmup_steps (ceil).
        warmup = math.ceil(warmup * t_total)
    warmup = int(warmup)

    param_optimizer = list(nn.ModuleDict({"model": model, "_dataset_1": loss}).named_parameters())
    no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
    groups = [
        {
            "params": [p for n, p in param_optimizer if not any(nd in n for nd in no_decay)],
            "weight_decay": recipe.weight_decay,
        },
        {
            "params": [p for n, p in param_optimizer if any(nd in n for nd in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(
        groups,
        lr=recipe.learning_rate,
        betas=(recipe.adam_beta1, recipe.adam_beta2),
        eps=recipe.adam_epsilon,
    )
    try:  # the installed implementation, so the schedule is fit()'s by construction
        from sentence_transformers.sentence_transformer.fit_mixin import FitMixin

        get_scheduler = FitMixin._get_scheduler
    except (ImportError, AttributeError):  # pragma: no cover - fit() removed in a future release
        get_scheduler = _get_scheduler_fallback
    scheduler = get_scheduler(
        optimizer, scheduler=recipe.scheduler, warmup_steps=warmup, t_total=t_total
    )
    return optimizer, scheduler, t_total, warmup


def _get_scheduler_fallback(optimizer: Any, scheduler: str, warmup_steps: int, t_total: int):
    """Copy of ``FitMixin._get_scheduler`` (st 6.2 fit_mixin.py:406-435) for releases without it."""
    import transformers

    name = scheduler.lower()
    if name == "constantlr":
        return transformers.get_constant_schedule(optimizer)
    if name == "warmupconstant":
        return transformers.get_constant_schedule_with_warmup(optimizer, warmup_steps)
    if name == "warmuplinear":
        return transformers.get_linear_schedule_with_warmup(optimizer, warmup_steps, t_total)
    if name == "warmupcosine":
        return transformers.get_cosine_schedule_with_warmup(optimizer, warmup_steps, t_total)
    return transformers.get_cosine_with_hard_restarts_schedule_with_warmup(
        optimizer, warmup_steps, t_total
    )


def _lr_recorder():
    """A callback that records the lr in the optimizer right before each ``optimizer.step()``."""
    from transformers import TrainerCallback

    class _LrRecorder(TrainerCallback):
        def __init__(self) -> None:
            self.lrs: list[float] = []

        def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            if optimizer is not None:
                self.lrs.append(float(optimizer.param_groups[0]["lr"]))

    return _LrRecorder()


def _freeze_embeddings(model: Any) -> list[Any]:
    """Turn off gradients of every embedding table; return the parameters frozen."""
    from torch import nn

    frozen = []
    for module in model.modules():
        if isinstance(module, nn.Embedding | nn.EmbeddingBag):
            for p in module.parameters(recurse=False):
                if p.requires_grad:
                    p.requires_grad_(False)
                    frozen.append(p)
    return frozen


def _eval_to_dict(value: Any) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return {"score": float(value)}


def finetune(
    model: Any,
    train_pairs: Any,
    recipe: Recipe = CARD_AS_RUN,
    *,
    eval_set: Callable[[Any], Any] | None = None,
    output_dir: str | os.PathLike | None = None,
    seed: int | None = None,
    show_progress_bar: bool = False,
) -> RunResult:
    """Fine-tune a deep copy of ``model`` on ``(query, title)`` pairs with MNRL.

    The run goes through ``SentenceTransformerTrainer``. In ``"fit"`` mode the optimizer and
    scheduler are built as ``SentenceTransformer.fit()`` builds them and passed as
    ``optimizers=`` (like fit() does); in ``"trainer"`` mode the training arguments build them.
    Reporting and checkpointing are off (the trainer's own folder is a temporary one), every
    step is logged, and all RNGs are seeded.

    Args:
        model: A ``SentenceTransformer``; it is deep-copied and never modified.
        train_pairs: A list of ``(query, title)`` string tuples, a DataFrame with ``query`` and
            ``title`` columns, or any object whose ``.pairs()`` returns such tuples (e.g. a
            ``RetrievalSet`` train split). Only training data belongs here.
        recipe: The hyperparameters; default :data:`CARD_AS_RUN`.
        eval_set: Optional callable ``f(model) -> float | dict`` run on the trained model (e.g.
            a sentence-transformers evaluator on the dev split); its result goes into
            ``RunResult.eval_metrics`` and the manifest.
        output_dir: When given, the trained model is saved there in sentence-transformers
            format (model card included) with ``run_manifest.json`` beside it.
        seed: Overrides ``recipe.seed`` when given.
        show_progress_bar: Show the trainer's progress bar.

    Returns:
        A :class:`RunResult`.

    Raises:
        ValueError: If ``train_pairs`` holds something other than two non-empty strings per
            row (the message names the row), or is empty.
    """
    import datasets
    import torch
    import transformers
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers.trainer_callback import PrinterCallback

    pairs = _as_pairs(train_pairs)
    if seed is not None:
        recipe = recipe.replace(seed=int(seed))
    if recipe.full_determinism:
        transformers.enable_full_determinism(recipe.seed)
    else:
        transformers.set_seed(recipe.seed)

    tuned = copy.deepcopy(model)
    frozen = _freeze_embeddings(tuned) if recipe.freeze_embeddings else []
    dataset = datasets.Dataset.from_dict(
        {"anchor": [q for q, _ in pairs], "positive": [t for _, t in pairs]}
    )
    loss = MultipleNegativesRankingLoss(
        tuned, scale=recipe.loss_scale, similarity_fct=_similarity_fn(recipe.similarity)
    )

    run_warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="toolkit-trainer-") as trainer_dir:
        common = dict(
            output_dir=trainer_dir,
            per_device_train_batch_size=recipe.batch_size,
            per_device_eval_batch_size=recipe.batch_size,
            num_train_epochs=recipe.epochs,
            max_grad_norm=recipe.max_grad_norm,
            seed=recipe.seed,
            data_seed=recipe.seed,
            full_determinism=recipe.full_determinism,
            batch_sampler=recipe.batch_sampler,
            multi_dataset_batch_sampler=recipe.multi_dataset_batch_sampler,
            report_to="none",
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="steps",
            logging_steps=1,
            disable_tqdm=not show_progress_bar,
            dataloader_pin_memory=torch.cuda.is_available(),
        )
        optimizers: tuple[Any, Any] = (None, None)
        fit_t_total: int | None = None
        warmup_used: float = recipe.warmup_steps
        if recipe.optimizer_mode == "fit":
            optimizer, scheduler, fit_t_total, warmup_used = _fit_style_optimizers(
                tuned, loss, recipe, len(pairs)
            )
            optimizers = (optimizer, scheduler)
            args = SentenceTransformerTrainingArguments(**common)
        else:
            args = SentenceTransformerTrainingArguments(
                **common,
                learning_rate=recipe.learning_rate,
                weight_decay=recipe.weight_decay,
                warmup_steps=recipe.warmup_steps,
                lr_scheduler_type=recipe.scheduler,
                optim=recipe.optim,
                adam_beta1=recipe.adam_beta1,
                adam_beta2=recipe.adam_beta2,
                adam_epsilon=recipe.adam_epsilon,
            )
        recorder = _lr_recorder()
        trainer = SentenceTransformerTrainer(
            model=tuned,
            args=args,
            train_dataset=dataset,
            loss=loss,
            optimizers=optimizers,
            callbacks=[recorder],
        )
        if not show_progress_bar:
            trainer.remove_callback(PrinterCallback)  # it would print every step's log
        start = time.perf_counter()
        trainer.train()
        wall_time = time.perf_counter() - start
        log_history = [dict(entry) for entry in trainer.state.log_history]
        steps = int(trainer.state.global_step)
    for p in frozen:
        p.requires_grad_(True)

    step_logs = [e for e in log_history if "loss" in e and "learning_rate" in e]
    loss_curve = [(int(e["step"]), float(e["loss"])) for e in step_logs]
    lr_schedule = [float(e["learning_rate"]) for e in step_logs]
    if len(lr_schedule) != steps:
        raise RuntimeError(  # pragma: no cover - would mean transformers changed its logging
            f"trainer logged {len(lr_schedule)} learning rates for {steps} steps"
        )
    if recorder.lrs and (
        len(recorder.lrs) != len(lr_schedule)
        or not np.allclose(recorder.lrs, lr_schedule, rtol=1e-9, atol=0)
    ):
        # Older transformers releases logged the lr *after* lr_scheduler.step(), i.e. the lr
        # of the next step; 5.24 logs it before (trainer.py:1946-1952). Trust the optimizer.
        run_warnings.append(
            "logged learning_rate differs from the lr in the optimizer at optimizer.step(); "
            "lr_schedule uses the optimizer's value"
        )
        lr_schedule = list(recorder.lrs)
    peak = max(lr_schedule) if lr_schedule else 0.0

    if recipe.optimizer_mode == "fit":
        warmup_steps_abs = int(warmup_used)
    elif isinstance(recipe.warmup_steps, float) and recipe.warmup_steps < 1:
        warmup_steps_abs = math.ceil(recipe.warmup_steps * steps)
    else:
        warmup_steps_abs = int(recipe.warmup_steps)
    if warmup_steps_abs > steps:
        run_warnings.append(
            f"warmup ({warmup_steps_abs}) exceeds total steps ({steps}): peak lr {peak:.3g}"
        )
    if fit_t_total is not None and fit_t_total != steps:
        run_warnings.append(
            f"fit() sizes the schedule by (n_pairs // batch_size) * epochs = {fit_t_total} "
            f"steps, but the trainer runs {steps} (it keeps the last partial batch)"
        )
    for message in run_warnings:
        warnings.warn(message, ScheduleWarning, stacklevel=2)

    eval_metrics = _eval_to_dict(eval_set(tuned)) if eval_set is not None else None
    manifest: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": _versions(),
        "seed": recipe.seed,
        "recipe": recipe.to_dict(),
        "data": {"fingerprint_sha256": _fingerprint(pairs), "n_pairs": len(pairs)},
        "steps": steps,
        "effective_schedule": {
            "lr": lr_schedule,
            "peak_lr": peak,
            "first_lr": lr_schedule[0] if lr_schedule else None,
            "last_lr": lr_schedule[-1] if lr_schedule else None,
            "warmup_steps": warmup_steps_abs,
            "scheduler_total_steps": fit_t_total if fit_t_total is not None else steps,
            "read_from": "trainer log history: learning_rate is logged after optimizer.step() "
            "and before lr_scheduler.step(), so entry s is the lr used by step s",
        },
        "loss_curve": [list(x) for x in loss_curve],
        "wall_time_s": wall_time,
        "warnings": run_warnings,
        "eval_metrics": eval_metrics,
    }
    out_path = None
    if output_dir is not None:
        out_path = Path(output_dir)
        manifest["output_dir"] = str(out_path)
        tuned.save(str(out_path))
        tmp = out_path / (MANIFEST_NAME + ".tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(out_path / MANIFEST_NAME)
    return RunResult(
        model=tuned,
        loss_curve=loss_curve,
        lr_schedule=lr_schedule,
        wall_time=wall_time,
        steps=steps,
        manifest=manifest,
        output_dir=out_path,
        eval_metrics=eval_metrics,
        warnings=run_warnings,
        log_history=log_history,
    )


def load_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """Read a run manifest back.

    Args:
        path: The ``run_manifest.json`` file or the model folder that holds it.

    Returns:
        The manifest dict as written by :func:`finetune`.

    Raises:
        FileNotFoundError: If no manifest is found at ``path``.
        ValueError: If the file is not valid JSON (the message names the file and position).
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no run manifest ({MANIFEST_NAME}) there")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{p}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
        ) from exc


# --------------------------------------------------------------------------- lr selection


@dataclass
class LrSelection:
    """Outcome of :func:`select_lr`.

    Attributes:
        best_lr: The candidate with the highest mean dev score (ties: first in candidate order).
        recipe: The input recipe with ``learning_rate=best_lr``.
        table: One row per (learning_rate, seed) with the dev ``score`` and ``peak_lr``.
        base_score: Dev score of the untrained model.
    """

    best_lr: float
    recipe: Recipe
    table: pd.DataFrame
    base_score: float


def select_lr(
    model: Any,
    train_pairs: Any,
    dev_set_eval_fn: Callable[[Any], Any],
    candidates: Sequence[float] = DEFAULT_LR_CANDIDATES,
    *,
    recipe: Recipe = TUNED_USE,
    metric: str | None = None,
    seeds: Sequence[int] | None = None,
) -> LrSelection:
    """Pick a learning rate by training once per candidate and scoring on the dev split.

    Only ``train_pairs`` are trained on and only ``dev_set_eval_fn`` is consulted: keep the
    test split out of both, so the test numbers reported later stay unbiased.

    Args:
        model: The base ``SentenceTransformer`` (left unchanged).
        train_pairs: Training pairs, as for :func:`finetune`.
        dev_set_eval_fn: ``f(model) -> float | dict`` scoring a model on the dev split;
            higher is better.
        candidates: Learning rates to try.
        recipe: Every other hyperparameter; default :data:`TUNED_USE`.
        metric: Key to read when ``dev_set_eval_fn`` returns a dict (required if it has
            several keys).
        seeds: Seeds to average over per candidate; default ``(recipe.seed,)``.

    Returns:
        An :class:`LrSelection`.

    Raises:
        ValueError: If ``candidates`` is empty or holds a non-positive value, or the metric
            key is missing.
    """
    candidates = [float(c) for c in candidates]
    if not candidates:
        raise ValueError("candidates: expected at least one learning rate")
    for i, c in enumerate(candidates):
        if not c > 0:
            raise ValueError(f"candidates[{i}]={c!r}: expected a positive learning rate")
    seeds = list(seeds) if seeds is not None else [recipe.seed]

    def score(m: Any) -> float:
        value = dev_set_eval_fn(m)
        if not isinstance(value, Mapping):
            return float(value)
        key = metric
        if key is None:
            if len(value) != 1:
                raise ValueError(f"metric: dev_set_eval_fn returned keys {sorted(value)}; name one")
            key = next(iter(value))
        if key not in value:
            raise ValueError(f"metric={key!r}: not among the returned keys {sorted(value)}")
        return float(value[key])

    base_score = score(model)
    rows = []
    for lr in candidates:
        for s in seeds:
            run = finetune(model, train_pairs, recipe.replace(learning_rate=lr), seed=s)
            rows.append(
                {
                    "learning_rate": lr,
                    "seed": s,
                    "score": score(run.model),
                    "peak_lr": max(run.lr_schedule),
                }
            )
            del run
    table = pd.DataFrame(rows)
    means = table.groupby("learning_rate", sort=False)["score"].mean()
    best_lr = float(means.index[int(np.argmax(means.to_numpy()))])
    return LrSelection(
        best_lr=best_lr,
        recipe=recipe.replace(learning_rate=best_lr),
        table=table,
        base_score=base_score,
    )


# --------------------------------------------------------------------------- drift


def weight_drift(
    base: Any, tuned: Any, *, by: str = "parameter", noise: float = 1e-7
) -> pd.DataFrame:
    """Measure how far each weight moved between two models of the same architecture.

    For every named parameter ``w``: ``rel_change = ||w_t - w_b|| / ||w_b||`` (``inf`` when
    ``||w_b|| = 0`` and the tensor moved, ``0`` when it did not) and ``changed_share`` = share
    of elements with ``|Δ| > noise * max(1, |w_b|)`` (beyond float noise).

    Args:
        base: The model before training (any ``torch.nn.Module``).
        tuned: The model after training, with the same parameter names and shapes.
        by: ``"parameter"`` (one row per parameter) or ``"module"`` (rows grouped by the owning
            module, i.e. the name without its last component).
        noise: Relative threshold for ``changed_share``.

    Returns:
        DataFrame with columns ``name, numel, norm_base, norm_delta, rel_change,
        changed_share`` and a last summary row named ``"__total__"`` over all parameters.

    Raises:
        ValueError: If the models' parameter names or shapes differ (the message names one), or
            ``by`` is unknown.
    """
    import torch

    if by not in ("parameter", "module"):
        raise ValueError(f"by={by!r}, expected 'parameter' or 'module'")
    pb = dict(base.named_parameters())
    pt = dict(tuned.named_parameters())
    if pb.keys() != pt.keys():
        only = sorted(set(pb) ^ set(pt))
        raise ValueError(f"base and tuned have different parameters, e.g. {only[0]!r}")
    acc: dict[str, list[float]] = {}
    with torch.no_grad():
        for name, wb in pb.items():
            wt = pt[name]
            if wb.shape != wt.shape:
                raise ValueError(
                    f"parameter {name!r}: shape {tuple(wb.shape)} in base, "
                    f"{tuple(wt.shape)} in tuned"
                )
            b = wb.detach().double().cpu()
            d = wt.detach().double().cpu() - b
            key = name if by == "parameter" else name.rpartition(".")[0] or name
            changed = (d.abs() > noise * torch.clamp(b.abs(), min=1.0)).sum().item()
            row = acc.setdefault(key, [0, 0.0, 0.0, 0])
            row[0] += b.numel()
            row[1] += float((b * b).sum())
            row[2] += float((d * d).sum())
            row[3] += changed

    def finish(name: str, numel: float, sq_b: float, sq_d: float, changed: float) -> dict:
        nb, nd = math.sqrt(sq_b), math.sqrt(sq_d)
        rel = nd / nb if nb > 0 else (math.inf if nd > 0 else 0.0)
        return {
            "name": name,
            "numel": int(numel),
            "norm_base": nb,
            "norm_delta": nd,
            "rel_change": rel,
            "changed_share": changed / numel if numel else 0.0,
        }

    rows = [finish(k, *v) for k, v in acc.items()]
    totals = np.sum(np.array(list(acc.values()), dtype=float), axis=0) if acc else [0, 0, 0, 0]
    rows.append(finish("__total__", *totals))
    return pd.DataFrame(rows)


def embedding_drift(
    base: Any, tuned: Any, texts: Sequence[str], *, k: int = 10, batch_size: int = 32
) -> dict[str, float]:
    """Compare the vectors two models give the same texts.

    Args:
        base: The model before training (``SentenceTransformer``).
        tuned: The model after training (same output dimension).
        texts: Texts to encode (at least 2).
        k: Neighbours per text for the overlap (capped at ``len(texts) - 1``); neighbours are
            the other texts ranked by cosine, ties broken by position.
        batch_size: Encoding batch size.

    Returns:
        ``{"mean_cosine", "min_cosine", "neighbour_overlap", "k", "n_texts"}``: mean/min cosine
        between each text's base and tuned vector, and the mean share ``|N_b ∩ N_t| / k`` of
        shared top-k neighbours.

    Raises:
        ValueError: If fewer than 2 texts are given, ``k < 1``, or the dimensions differ.
    """
    texts = list(texts)
    if len(texts) < 2:
        raise ValueError(f"texts: expected at least 2 texts, got {len(texts)}")
    if k < 1:
        raise ValueError(f"k={k!r}: expected an int >= 1")
    k = min(int(k), len(texts) - 1)
    kw = dict(normalize_embeddings=True, convert_to_numpy=True, batch_size=batch_size)
    eb = np.asarray(base.encode(texts, **kw), dtype=np.float64)
    et = np.asarray(tuned.encode(texts, **kw), dtype=np.float64)
    if eb.shape != et.shape:
        raise ValueError(f"embedding shapes differ: base {eb.shape}, tuned {et.shape}")
    cos = np.sum(eb * et, axis=1)

    def neighbours(e: np.ndarray) -> np.ndarray:
        sim = e @ e.T
        np.fill_diagonal(sim, -np.inf)
        return np.argsort(-sim, axis=1, kind="stable")[:, :k]

    nb, nt = neighbours(eb), neighbours(et)
    overlap = [len(set(a) & set(b)) / k for a, b in zip(nb.tolist(), nt.tolist(), strict=True)]
    return {
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "neighbour_overlap": float(np.mean(overlap)),
        "k": k,
        "n_texts": len(texts),
    }


# --------------------------------------------------------------------------- cross-validation


def kfold_by_query(
    query_ids: Sequence[Any], n_folds: int = 5, seed: int = 42
) -> list[tuple[list[Any], list[Any]]]:
    """Split query ids into shuffled K folds (``sklearn.model_selection.KFold``).

    All pairs of a query fall on the same side, so no query is trained and tested at once.

    Args:
        query_ids: Distinct query ids.
        n_folds: Number of folds (2 <= n_folds <= number of ids).
        seed: Shuffle seed.

    Returns:
        ``n_folds`` tuples ``(train_qids, test_qids)``; the test parts partition the ids.

    Raises:
        ValueError: On duplicate ids or an impossible ``n_folds``.
    """
    from sklearn.model_selection import KFold

    ids = list(query_ids)
    seen: set = set()
    for i, q in enumerate(ids):
        if q in seen:
            raise ValueError(f"query_ids[{i}]={q!r}: duplicate id; expected distinct query ids")
        seen.add(q)
    if not (isinstance(n_folds, int) and 2 <= n_folds <= len(ids)):
        raise ValueError(f"n_folds={n_folds!r}: expected an int in [2, {len(ids)}]")
    kf = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [
        ([ids[i] for i in tr], [ids[i] for i in te]) for tr, te in kf.split(np.arange(len(ids)))
    ]


def repeat_over_seeds(fn: Callable[[int], Any], seeds: Iterable[int] = (42, 43, 44)) -> list[Any]:
    """Call ``fn(seed)`` for every seed and collect the results (for seed-variance reports).

    Args:
        fn: Function of one seed.
        seeds: Seeds, in order.

    Returns:
        ``[fn(s) for s in seeds]``.
    """
    return [fn(int(s)) for s in seeds]
