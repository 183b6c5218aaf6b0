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
* :data:`RECOMMENDED_USE` = ``tuned_recipe()`` - the recipe recommended for the default model,
  chosen on the dev split over seeds by :func:`toolkit.experiments.select_recipe` (lr, mined
  hard negatives, batch sampler).

:func:`finetune` trains a deep copy of a model with a recipe and returns a :class:`RunResult`
with the loss curve, the effective per-step learning rate and a manifest that is also written
as ``run_manifest.json`` beside the saved model.

The recipe registry and the schedule maths live here only: :func:`get_recipe` (recipes by
name), :meth:`Recipe.schedule` (steps and warm-up for n pairs), :func:`expected_lr_schedule`
(the lr of every step, from the recipe alone), :func:`recipe_table`, :func:`loss_by_epoch`;
drift of trained models lives in :mod:`toolkit.drift` and experiment drivers (lr selection,
folds by query, repeats over seeds, cross-validation) in :mod:`toolkit.experiments`; their
old names here (``weight_drift``, ``select_lr``, ``kfold_by_query``, ...) still work.

Example:
    >>> from toolkit.training import CARD_AS_RUN, finetune
    >>> pairs = [("роботы для доставки", "РОБОТИЗИРОВАННЫЙ КУРЬЕРСКИЙ КОМПЛЕКС"),
    ...          ("шифрование данных", "СПОСОБ ШИФРОВАНИЯ ДАННЫХ")]
    >>> run = finetune(model, pairs, CARD_AS_RUN)                      # doctest: +SKIP
    >>> max(run.lr_schedule)                                           # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from toolkit._io import write_atomic
from toolkit._versions import run_library_versions

logger = logging.getLogger(__name__)

__all__ = [
    "CARD_AS_DOCUMENTED",
    "CARD_AS_RUN",
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
    "recipe_table",
    "relevant_titles",
    "tuned_recipe",
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
        hn = self.hard_negatives
        if not isinstance(hn, int) or isinstance(hn, bool) or hn < 0:
            raise bad("hard_negatives", "an int >= 0 (mined negatives per pair)")
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
            ValueError: ``n_pairs`` is not an int >= 1.

        Example:
            >>> CARD_AS_RUN.schedule(50)
            RecipeSchedule(steps=70, scheduler_steps=60, warmup_steps=10000)
        """
        if not isinstance(n_pairs, int) or isinstance(n_pairs, bool) or n_pairs < 1:
            raise ValueError(f"n_pairs={n_pairs!r}: expected an int >= 1")
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

#: What SentenceTransformer.fit() (sentence-transformers 4.1 for the card, same code in 6.2)
#: actually ran: its defaults warmup_steps=10000, optimizer_params={"lr": 2e-5},
#: weight_decay=0.01, scheduler="WarmupLinear", max_grad_norm=1, batch 8 from the DataLoader.
CARD_AS_RUN = CARD_AS_DOCUMENTED.replace(  # the same run; only what fit() decides differs
    name="card_as_run",
    learning_rate=2e-5,
    weight_decay=0.01,
    warmup_steps=10000,
    scheduler="warmuplinear",
    optimizer_mode="fit",
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

#: The recipe recommended for the default model (USE-m3), chosen on the demo dev split by
#: :func:`toolkit.experiments.select_recipe`; see :func:`tuned_recipe` for the numbers.
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
    ``negatives_from=`` the retrieval set to :func:`finetune`), the default batch sampler,
    token-embedding table frozen, batch 8, 10 epochs, weight decay 0.01.

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


# --------------------------------------------------------------------------- hard negatives


def relevant_titles(
    rs: Any, extra_qrels: Mapping[str, Mapping[str, int]] | None = None
) -> dict[str, list[str]]:
    """Titles judged relevant (grade >= 1) to each query text: what mining must never use.

    Pairs are texts, judgments are ids, so the map is keyed by text; queries that share a
    text pool their titles, and a title text that several doc ids share counts once.

    Args:
        rs: A :class:`toolkit.data.RetrievalSet`; its ``qrels`` with grade >= 1.
        extra_qrels: More judgments ``{query_id: {doc_id: grade}}`` (e.g. the demo set's
            ``judgments.csv``, whose train queries have more relevant titles than
            ``qrels.csv``); ids unknown to ``rs`` are ignored.

    Returns:
        ``{query text: [title, ...]}`` in query order, titles in corpus order.
    """
    grades: dict[str, set[str]] = {}
    for source in (rs.qrels, extra_qrels or {}):
        for qid, docs in source.items():
            if qid in rs.queries:
                rel = {d for d, g in docs.items() if g >= 1 and d in rs.corpus}
                grades.setdefault(qid, set()).update(rel)
    out: dict[str, list[str]] = {}
    for qid, text in rs.queries.items():
        docs = grades.get(qid, set())
        if docs:
            titles = out.setdefault(text, [])
            titles.extend(t for d, t in rs.corpus.items() if d in docs and t not in titles)
    return out


def _mine_hard_negatives(
    model: Any,
    pairs: Sequence[tuple[str, str]],
    recipe: Recipe,
    negatives_from: Any,
    extra_qrels: Mapping[str, Mapping[str, int]] | None,
) -> tuple[list[tuple[str, str]], list[list[str]], dict[str, Any]]:
    """Mine ``recipe.hard_negatives`` negatives per pair with ``mine_hard_negatives``.

    Every title judged relevant to a query is handed to the library as one more positive of
    that query, so its own positive mask keeps it out of the negatives (the library excludes
    the positives it is given, not the judgments it is not); the extra rows are dropped from
    the result, which is put back in the order of ``pairs``. ``range_max`` covers every
    candidate, so a pair lacks negatives only when fewer candidates than asked pass the margin.

    Returns:
        ``(kept pairs, negatives per kept pair, manifest info)``.
    """
    import datasets
    from sentence_transformers.util import mine_hard_negatives

    if negatives_from is not None:
        corpus = list(dict.fromkeys(negatives_from.corpus.values()))
        relevant = relevant_titles(negatives_from, extra_qrels)
        source = "negatives_from corpus"
    else:  # the library's default: the training titles are the candidates
        corpus, relevant = None, {}
        source = "training titles"
    by_query: dict[str, list[str]] = {}
    for q, t in pairs:
        by_query.setdefault(q, [])
        if t not in by_query[q]:
            by_query[q].append(t)
    for q, titles in by_query.items():
        titles.extend(t for t in relevant.get(q, []) if t not in titles)
    anchors = [q for q, ts in by_query.items() for _ in ts]
    positives = [t for ts in by_query.values() for t in ts]
    n_candidates = len(set(corpus or []) | set(positives))
    # mine_hard_negatives encodes with show_progress_bar=True whatever verbose says; its bars
    # would land in a notebook's stderr, so they go to a buffer instead.
    with contextlib.redirect_stderr(io.StringIO()):
        mined = mine_hard_negatives(
            datasets.Dataset.from_dict({"anchor": anchors, "positive": positives}),
            model,
            corpus=corpus,
            range_max=max(n_candidates, recipe.hard_negatives),
            relative_margin=float(recipe.hard_negative_margin),
            num_negatives=recipe.hard_negatives,
            sampling_strategy="top",
            output_format="n-tuple",
            verbose=False,
        )
    neg_cols = [f"negative_{i}" for i in range(1, recipe.hard_negatives + 1)]
    found = {(row["anchor"], row["positive"]): [row[c] for c in neg_cols] for row in mined}
    kept, negatives = [], []
    for q, t in pairs:
        if (q, t) in found:
            negs = found[(q, t)]
            bad = set(negs) & set(by_query[q])
            if bad:  # pragma: no cover - would mean the library stopped masking positives
                raise RuntimeError(f"mined a title judged relevant to {q!r}: {sorted(bad)}")
            kept.append((q, t))
            negatives.append(negs)
    info = {
        "tool": "sentence_transformers.util.mine_hard_negatives",
        "num_negatives": recipe.hard_negatives,
        "relative_margin": float(recipe.hard_negative_margin),
        "sampling_strategy": "top",
        "candidates": source,
        "n_candidates": n_candidates,
        "excluded_relevant": sum(len(ts) for ts in by_query.values()),
        "pairs_without_enough_negatives": len(pairs) - len(kept),
    }
    return kept, negatives, info


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

    # fit_mixin.py:338-339: (n_pairs // batch_size) * epochs, one dataset, one loss; fit()
    # takes only an int warm-up, so a ratio is read like transformers' get_warmup_steps (ceil).
    _, t_total, warmup = recipe.schedule(n_pairs)

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
    negatives_from: Any = None,
    extra_qrels: Mapping[str, Mapping[str, int]] | None = None,
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
        negatives_from: For a recipe with ``hard_negatives > 0``: the
            :class:`toolkit.data.RetrievalSet` whose corpus titles are the candidate negatives
            and whose qrels (grade >= 1, matched by query text) name the titles that must
            never be a query's negative. ``None``: the training titles are the candidates and
            only each query's own training titles are excluded (``mine_hard_negatives``'
            default). Ignored without hard negatives.
        extra_qrels: More judgments ``{query_id: {doc_id: grade}}`` of ``negatives_from``'s
            queries to exclude as well (e.g. the demo set's ``judgments.csv``).

    Returns:
        A :class:`RunResult`. With hard negatives the model is trained on ``(anchor,
        positive, negative_1, ..., negative_n)`` rows (MNRL adds the mined negatives to the
        in-batch ones) and the manifest's ``hard_negatives`` entry records the mining; a pair
        for which fewer than n candidates pass the margin is dropped (counted there, and
        warned about).

    Raises:
        toolkit.vectors.VectorsNotTrainable: ``model`` is precomputed vectors
            (``load_model("vectors.parquet")``): there are no weights to train.
        ValueError: If ``train_pairs`` holds something other than two non-empty strings per
            row (the message names the row), or is empty; if batches would hold a single
            pair (one training pair, or ``batch_size=1``: MNRL has no in-batch negatives
            then and learns nothing); or if ``output_dir`` is an existing file.
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

    from toolkit.vectors import refuse_training

    refuse_training(model)  # precomputed vectors have no weights to train
    pairs = _as_pairs(train_pairs)
    if recipe.loss == "mnrl" and min(len(pairs), recipe.batch_size) < 2:
        what = f"{len(pairs)} pair" if len(pairs) < 2 else f"batch_size={recipe.batch_size}"
        raise ValueError(
            f"train_pairs: {what} gives batches of one; MNRL (MultipleNegativesRankingLoss) "
            "uses the other pairs of a batch as negatives, so with none the loss is constant "
            "and nothing is learned -- train on at least 2 pairs with batch_size >= 2"
        )
    if output_dir is not None and Path(output_dir).exists() and not Path(output_dir).is_dir():
        raise ValueError(
            f"output_dir={str(output_dir)!r} is an existing file; expected a folder (new or "
            "existing) to save the trained model in"
        )
    if seed is not None:
        recipe = recipe.replace(seed=int(seed))
    if recipe.full_determinism:
        transformers.enable_full_determinism(recipe.seed)
    else:
        transformers.set_seed(recipe.seed)

    tuned = copy.deepcopy(model)
    frozen = _freeze_embeddings(tuned) if recipe.freeze_embeddings else []
    run_warnings: list[str] = []
    mining_info: dict[str, Any] | None = None
    columns: dict[str, list[str]]
    if recipe.hard_negatives > 0:
        n_given = len(pairs)
        pairs, negatives, mining_info = _mine_hard_negatives(
            tuned, pairs, recipe, negatives_from, extra_qrels
        )
        if len(pairs) < 2:
            raise ValueError(
                f"train_pairs: only {len(pairs)} of {n_given} pairs got {recipe.hard_negatives} "
                f"mined negatives past the margin {recipe.hard_negative_margin:g}; lower "
                "hard_negatives or hard_negative_margin, or pass a larger negatives_from corpus"
            )
        if len(pairs) < n_given:
            run_warnings.append(
                f"{n_given - len(pairs)} of {n_given} pairs dropped: fewer than "
                f"{recipe.hard_negatives} candidates passed the mining margin"
            )
        columns = {"anchor": [q for q, _ in pairs], "positive": [t for _, t in pairs]}
        for i in range(recipe.hard_negatives):
            columns[f"negative_{i + 1}"] = [negs[i] for negs in negatives]
    else:
        columns = {"anchor": [q for q, _ in pairs], "positive": [t for _, t in pairs]}
    dataset = datasets.Dataset.from_dict(columns)
    loss = MultipleNegativesRankingLoss(
        tuned, scale=recipe.loss_scale, similarity_fct=_similarity_fn(recipe.similarity)
    )

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
    else:
        warmup_steps_abs = recipe.warmup_for(steps)
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
        "versions": run_library_versions(),
        "seed": recipe.seed,
        "recipe": recipe.to_dict(),
        "data": {"fingerprint_sha256": _fingerprint(pairs), "n_pairs": len(pairs)},
        "hard_negatives": mining_info,
        "batch_sampler": recipe.batch_sampler,
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
        write_atomic(out_path / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=2))
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


def loss_by_epoch(loss_curve: Sequence[Any], epochs: int) -> np.ndarray:
    """Mean training loss of each epoch, from a run's per-step loss curve.

    Single steps are noisy under MNRL: every batch holds other in-batch negatives, and the
    last batch of an epoch may be small. Epoch means show the trend.

    Args:
        loss_curve: ``RunResult.loss_curve`` (``(step, loss)`` pairs) or plain losses, one per
            optimizer step in order.
        epochs: Number of epochs of the run; the step count must be a multiple of it.

    Returns:
        Array of ``epochs`` mean losses.

    Raises:
        ValueError: The number of steps is not a positive multiple of ``epochs``.

    Example:
        >>> loss_by_epoch([(1, 2.0), (2, 1.0), (3, 0.5), (4, 0.5)], 2).tolist()
        [1.5, 0.5]
    """
    losses = np.array(
        [x[1] if isinstance(x, Sequence) else x for x in loss_curve], dtype=np.float64
    )
    if epochs < 1 or len(losses) == 0 or len(losses) % epochs:
        raise ValueError(
            f"loss_curve has {len(losses)} steps, not a positive multiple of epochs={epochs!r}"
        )
    return losses.reshape(epochs, -1).mean(axis=1)
