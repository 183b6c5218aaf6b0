"""One fine-tuning run: :func:`finetune`, its :class:`RunResult` and manifest.

:func:`finetune` trains a deep copy of a model with a :class:`toolkit.training.Recipe` through
``SentenceTransformerTrainer`` in named steps: check the arguments, seed every RNG, build the
training dataset (mining hard negatives when the recipe asks for them), train, read the loss
curve and the effective per-step learning rate back, and write the manifest
(``run_manifest.json`` beside the saved model; :func:`load_manifest` reads it back).
:func:`loss_by_epoch` turns a run's per-step loss curve into epoch means.

Example:
    >>> from toolkit.training import CARD_AS_RUN, finetune
    >>> pairs = [("роботы для доставки", "РОБОТИЗИРОВАННЫЙ КУРЬЕРСКИЙ КОМПЛЕКС"),
    ...          ("шифрование данных", "СПОСОБ ШИФРОВАНИЯ ДАННЫХ")]
    >>> run = finetune(model, pairs, CARD_AS_RUN)                      # doctest: +SKIP
    >>> max(run.lr_schedule)                                           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import json
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
from toolkit._validation import check_int
from toolkit._versions import run_library_versions
from toolkit.training.mining import mine_negatives
from toolkit.training.recipes import CARD_AS_RUN, Recipe, ScheduleWarning

__all__ = ["MANIFEST_NAME", "RunResult", "finetune", "load_manifest", "loss_by_epoch"]

MANIFEST_NAME = "run_manifest.json"

#: Recipe fields that ``SentenceTransformerTrainingArguments`` takes under the same name.
_SAME_NAME_ARGUMENTS = (
    "max_grad_norm", "seed", "full_determinism", "batch_sampler", "multi_dataset_batch_sampler"
)
#: ... and those that build the optimizer and scheduler, passed in ``"trainer"`` mode only
#: (in ``"fit"`` mode they are built here, as ``fit()`` builds them).
_OPTIMIZER_ARGUMENTS = (
    "learning_rate", "weight_decay", "warmup_steps", "optim", "adam_beta1", "adam_beta2",
    "adam_epsilon",
)  # fmt: skip


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

    The run goes through ``SentenceTransformerTrainer``: in ``"fit"`` mode with the optimizer
    and scheduler that ``SentenceTransformer.fit()`` builds, passed as ``optimizers=`` (as fit()
    does), in ``"trainer"`` mode with those the training arguments build. Reporting and
    checkpointing are off (the trainer's folder is a temporary one), every step is logged, and
    all RNGs are seeded.

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
        A :class:`RunResult`. With hard negatives the model is trained on ``(anchor, positive,
        negative_1, ..., negative_n)`` rows (MNRL adds the mined negatives to the in-batch
        ones) and the manifest's ``hard_negatives`` entry records the mining; a pair for which
        fewer than n candidates pass the margin is dropped (counted there, and warned about).

    Raises:
        toolkit.models.VectorsNotTrainable: ``model`` is precomputed vectors
            (``load_model("vectors.parquet")``): there are no weights to train.
        ValueError: If ``train_pairs`` holds something other than two non-empty strings per
            row (the message names the row), or is empty; if batches would hold a single
            pair (one training pair, or ``batch_size=1``: MNRL has no in-batch negatives
            then and learns nothing); or if ``output_dir`` is an existing file.
    """
    pairs, recipe = _checked_arguments(model, train_pairs, recipe, output_dir, seed)
    _seed_everything(recipe)
    tuned = copy.deepcopy(model)
    pairs, dataset, mining_info, run_warnings = _training_dataset(
        tuned, pairs, recipe, negatives_from, extra_qrels
    )
    trained = _train(tuned, dataset, recipe, show_progress_bar)
    schedule = _effective_schedule(trained, recipe, run_warnings)
    for message in run_warnings:
        warnings.warn(message, ScheduleWarning, stacklevel=2)
    eval_metrics = _eval_to_dict(eval_set(tuned)) if eval_set is not None else None
    manifest = _manifest(recipe, pairs, mining_info, trained, schedule, run_warnings, eval_metrics)
    return RunResult(
        model=tuned,
        loss_curve=schedule.loss_curve,
        lr_schedule=schedule.lr,
        wall_time=trained.wall_time,
        steps=trained.steps,
        manifest=manifest,
        output_dir=_save(tuned, manifest, output_dir),
        eval_metrics=eval_metrics,
        warnings=run_warnings,
        log_history=trained.log_history,
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
        TypeError: ``epochs`` is not an integer.
        ValueError: ``epochs`` < 1, or the number of steps is not a positive multiple of it.

    Example:
        >>> loss_by_epoch([(1, 2.0), (2, 1.0), (3, 0.5), (4, 0.5)], 2).tolist()
        [1.5, 0.5]
    """
    epochs = check_int(epochs, "epochs")
    losses = np.array(
        [x[1] if isinstance(x, Sequence) else x for x in loss_curve], dtype=np.float64
    )
    if len(losses) == 0 or len(losses) % epochs:
        raise ValueError(
            f"loss_curve has {len(losses)} steps, not a positive multiple of epochs={epochs!r}"
        )
    return losses.reshape(epochs, -1).mean(axis=1)


# --------------------------------------------------------------------------- steps of finetune


class _Trained(NamedTuple):
    """What the trainer left behind (:func:`_train`)."""

    log_history: list[dict[str, Any]]
    steps: int
    wall_time: float
    optimizer_lrs: list[float]  # the lr in the optimizer at every optimizer.step()
    fit_total_steps: int | None  # "fit" mode: the steps fit() sizes the scheduler for
    fit_warmup_steps: int | None  # "fit" mode: the warm-up handed to fit()'s scheduler


class _Schedule(NamedTuple):
    """The run's loss curve and effective lr schedule (:func:`_effective_schedule`)."""

    loss_curve: list[tuple[int, float]]
    lr: list[float]
    peak: float
    warmup_steps: int
    total_steps: int


def _checked_arguments(
    model: Any,
    train_pairs: Any,
    recipe: Recipe,
    output_dir: str | os.PathLike | None,
    seed: int | None,
) -> tuple[list[tuple[str, str]], Recipe]:
    """Refuse what cannot be trained; return the validated pairs and the recipe to run."""
    from toolkit.models import refuse_training

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
        recipe = recipe.replace(seed=check_int(seed, "seed", minimum=0))
    return pairs, recipe


def _seed_everything(recipe: Recipe) -> None:
    import transformers

    if recipe.full_determinism:
        transformers.enable_full_determinism(recipe.seed)
    else:
        transformers.set_seed(recipe.seed)


def _training_dataset(
    model: Any,
    pairs: list[tuple[str, str]],
    recipe: Recipe,
    negatives_from: Any,
    extra_qrels: Mapping[str, Mapping[str, int]] | None,
) -> tuple[list[tuple[str, str]], Any, dict[str, Any] | None, list[str]]:
    """``(pairs trained on, their dataset, mining info, warnings)``.

    The dataset's columns are ``anchor``, ``positive`` and, with hard negatives,
    ``negative_1`` ... ``negative_n``; pairs that got fewer than n are dropped (a warning
    says how many).
    """
    import datasets

    run_warnings: list[str] = []
    mining_info: dict[str, Any] | None = None
    negatives: list[list[str]] = []
    if recipe.hard_negatives > 0:
        n_given = len(pairs)
        pairs, negatives, mining_info = mine_negatives(
            model, pairs, recipe, negatives_from, extra_qrels
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
    return pairs, datasets.Dataset.from_dict(columns), mining_info, run_warnings


def _train(model: Any, dataset: Any, recipe: Recipe, show_progress_bar: bool) -> _Trained:
    """Train ``model`` in place with MNRL (embedding tables frozen if the recipe says so)."""
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers.trainer_callback import PrinterCallback

    frozen = _freeze_embeddings(model) if recipe.freeze_embeddings else []
    loss = MultipleNegativesRankingLoss(
        model, scale=recipe.loss_scale, similarity_fct=_similarity_fn(recipe.similarity)
    )
    optimizers: tuple[Any, Any] = (None, None)
    fit_total = fit_warmup = None
    with tempfile.TemporaryDirectory(prefix="toolkit-trainer-") as trainer_dir:
        if recipe.optimizer_mode == "fit":
            optimizer, scheduler, fit_total, fit_warmup = _fit_style_optimizers(
                model, loss, recipe, len(dataset)
            )
            optimizers = (optimizer, scheduler)
        recorder = _lr_recorder()
        trainer = SentenceTransformerTrainer(
            model=model,
            args=_trainer_arguments(recipe, trainer_dir, show_progress_bar),
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
    for p in frozen:
        p.requires_grad_(True)
    return _Trained(
        log_history=[dict(entry) for entry in trainer.state.log_history],
        steps=int(trainer.state.global_step),
        wall_time=wall_time,
        optimizer_lrs=list(recorder.lrs),
        fit_total_steps=fit_total,
        fit_warmup_steps=fit_warmup,
    )


def _trainer_arguments(recipe: Recipe, trainer_dir: str, show_progress_bar: bool) -> Any:
    """``SentenceTransformerTrainingArguments``: no reports or checkpoints, every step logged."""
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    args: dict[str, Any] = {name: getattr(recipe, name) for name in _SAME_NAME_ARGUMENTS}
    if recipe.optimizer_mode == "trainer":
        args.update({name: getattr(recipe, name) for name in _OPTIMIZER_ARGUMENTS})
        args["lr_scheduler_type"] = recipe.scheduler
    return SentenceTransformerTrainingArguments(
        **args,
        output_dir=trainer_dir,
        per_device_train_batch_size=recipe.batch_size,
        per_device_eval_batch_size=recipe.batch_size,
        num_train_epochs=recipe.epochs,
        data_seed=recipe.seed,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="steps",
        logging_steps=1,
        disable_tqdm=not show_progress_bar,
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def _effective_schedule(trained: _Trained, recipe: Recipe, run_warnings: list[str]) -> _Schedule:
    """Loss and lr of every step, read from the log; warnings where they defy the recipe."""
    steps = trained.steps
    step_logs = [e for e in trained.log_history if "loss" in e and "learning_rate" in e]
    loss_curve = [(int(e["step"]), float(e["loss"])) for e in step_logs]
    lr_schedule = [float(e["learning_rate"]) for e in step_logs]
    if len(lr_schedule) != steps:
        raise RuntimeError(  # pragma: no cover - would mean transformers changed its logging
            f"trainer logged {len(lr_schedule)} learning rates for {steps} steps"
        )
    recorded = trained.optimizer_lrs
    if recorded and (
        len(recorded) != len(lr_schedule)
        or not np.allclose(recorded, lr_schedule, rtol=1e-9, atol=0)
    ):
        # Older transformers releases logged the lr *after* lr_scheduler.step(), i.e. the lr
        # of the next step; 5.24 logs it before (trainer.py:1946-1952). Trust the optimizer.
        run_warnings.append(
            "logged learning_rate differs from the lr in the optimizer at optimizer.step(); "
            "lr_schedule uses the optimizer's value"
        )
        lr_schedule = list(recorded)
    peak = max(lr_schedule) if lr_schedule else 0.0
    if recipe.optimizer_mode == "fit":
        warmup = int(trained.fit_warmup_steps)
    else:
        warmup = recipe.warmup_for(steps)
    if warmup > steps:
        run_warnings.append(f"warmup ({warmup}) exceeds total steps ({steps}): peak lr {peak:.3g}")
    fit_total = trained.fit_total_steps
    if fit_total is not None and fit_total != steps:
        run_warnings.append(
            f"fit() sizes the schedule by (n_pairs // batch_size) * epochs = {fit_total} "
            f"steps, but the trainer runs {steps} (it keeps the last partial batch)"
        )
    total = fit_total if fit_total is not None else steps
    return _Schedule(loss_curve, lr_schedule, peak, warmup, total)


def _manifest(
    recipe: Recipe,
    pairs: Sequence[tuple[str, str]],
    mining_info: dict[str, Any] | None,
    trained: _Trained,
    schedule: _Schedule,
    run_warnings: list[str],
    eval_metrics: dict[str, float] | None,
) -> dict[str, Any]:
    """The run manifest: versions, recipe, data fingerprint, effective schedule, losses."""
    lr = schedule.lr
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": run_library_versions(),
        "seed": recipe.seed,
        "recipe": recipe.to_dict(),
        "data": {"fingerprint_sha256": _fingerprint(pairs), "n_pairs": len(pairs)},
        "hard_negatives": mining_info,
        "batch_sampler": recipe.batch_sampler,
        "steps": trained.steps,
        "effective_schedule": {
            "lr": lr,
            "peak_lr": schedule.peak,
            "first_lr": lr[0] if lr else None,
            "last_lr": lr[-1] if lr else None,
            "warmup_steps": schedule.warmup_steps,
            "scheduler_total_steps": schedule.total_steps,
            "read_from": "trainer log history: learning_rate is logged after optimizer.step() "
            "and before lr_scheduler.step(), so entry s is the lr used by step s",
        },
        "loss_curve": [list(x) for x in schedule.loss_curve],
        "wall_time_s": trained.wall_time,
        "warnings": run_warnings,
        "eval_metrics": eval_metrics,
    }


def _save(
    model: Any, manifest: dict[str, Any], output_dir: str | os.PathLike | None
) -> Path | None:
    """Save the model and its manifest in ``output_dir`` (if given; the manifest records it)."""
    if output_dir is None:
        return None
    out_path = Path(output_dir)
    manifest["output_dir"] = str(out_path)
    model.save(str(out_path))
    write_atomic(out_path / MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=2))
    return out_path


# --------------------------------------------------------------------------- helpers


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


