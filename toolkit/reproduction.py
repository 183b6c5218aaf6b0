"""Reproduce the model card's fine-tuning run and judge it: notebook-sized steps.

The notebook ``02_finetuning_reproduction`` asks three questions of the card's run (50
query-title pairs, MNRL, 10 epochs): what learning rate did it really use, how much did it
change the model, and does fine-tuning on 50 pairs beat the base model by more than the noise
of such a run? The functions here do the work behind each cell and return plain pandas
tables, so they can be called from any notebook:

* :func:`get_recipe` / :func:`recipe_table` - the recipes by name, side by side;
* :func:`expected_lr_schedule` - the lr each optimizer step should get, computed from the
  recipe alone (an independent check of what :func:`toolkit.training.finetune` reads back);
* :func:`loss_by_epoch` - mean training loss per epoch;
* :func:`select_lr_on_split` - the tuned recipe's lr, chosen on the dev split only;
* :func:`drift_summary` - weight and embedding drift per trained model;
* :func:`evaluate_model` / :func:`before_after` - per-query metrics, bootstrap CIs and
  paired tests against the base model on held-out queries;
* :func:`cross_validate` - K folds by query x seeds, gain over the base model per run;
* :func:`what_we_found` - the closing sentences, computed from those tables.

Example:
    >>> import toolkit
    >>> from toolkit.reproduction import before_after, get_recipe
    >>> from toolkit.training import finetune
    >>> rs, base = toolkit.demo(), toolkit.load_model()                    # doctest: +SKIP
    >>> run = finetune(base, rs.pairs("train"), get_recipe("card_as_run"))  # doctest: +SKIP
    >>> before_after(base, {"card_as_run": run.model}, rs, "test")         # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.training import CARD_AS_DOCUMENTED, CARD_AS_RUN, Recipe, tuned_recipe

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


# --------------------------------------------------------------------------------- recipes


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
        >>> from toolkit.training import CARD_AS_RUN
        >>> lr = expected_lr_schedule(CARD_AS_RUN, 50)
        >>> len(lr), f"{lr.max():.3g}"   # 70 steps; peak 2e-5 * 69 / 10000
        (70, '1.38e-07')
    """
    if not isinstance(n_pairs, int) or isinstance(n_pairs, bool) or n_pairs < 1:
        raise ValueError(f"n_pairs={n_pairs!r}: expected an int >= 1")
    steps = math.ceil(n_pairs / recipe.batch_size) * recipe.epochs
    if recipe.optimizer_mode == "fit":
        total = (n_pairs // recipe.batch_size) * recipe.epochs
        warmup = recipe.warmup_steps
        if isinstance(warmup, float) and 0 < warmup < 1:
            warmup = math.ceil(warmup * total)
    else:
        total = steps
        warmup = recipe.warmup_steps
        if isinstance(warmup, float) and 0 < warmup < 1:
            warmup = math.ceil(warmup * steps)
    warmup = int(warmup)
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


# --------------------------------------------------------------------------------- drift


class _ParameterSubset:
    """Duck-typed stand-in for a module that exposes only some of its named parameters.

    :func:`toolkit.training.weight_drift` reads nothing but ``named_parameters()``.
    """

    def __init__(self, model: Any, names: Sequence[str]) -> None:
        self._params = dict(model.named_parameters())
        self._names = list(names)

    def named_parameters(self):  # noqa: D102 - mirrors torch.nn.Module.named_parameters
        return ((n, self._params[n]) for n in self._names)


def drift_summary(
    base: Any,
    tuned: Mapping[str, Any],
    texts: Sequence[str],
    *,
    k: int = 10,
    skip_identical: bool = True,
) -> pd.DataFrame:
    """How far each trained model moved from the base: weights and embeddings.

    Args:
        base: The model before training.
        tuned: ``{name: trained model}`` of the same architecture.
        texts: Texts to encode for the embedding drift (e.g. every title of the corpus).
        k: Neighbours per text for the neighbour overlap.
        skip_identical: Leave tensors that are bit-identical in both models (e.g. a frozen
            embedding table) out of the weight statistics, so they describe the weights
            training moved (and a 65M-row frozen table is not compared in float64 for
            nothing); their size is reported in ``identical_params``. ``False`` keeps every
            tensor.

    Returns:
        One row per trained model (indexed by name): ``weight_rel_change`` (``||Δw|| / ||w||``
        over the compared tensors), ``max_param_rel_change`` (the largest per-tensor value),
        ``changed_share`` (share of compared weights that moved beyond float noise), from
        :func:`toolkit.training.weight_drift`; ``identical_params`` (weights left out as
        bit-identical); ``mean_cosine``, ``min_cosine`` (base vs trained vector of the same
        text) and ``neighbour_overlap`` (share of the ``k`` nearest texts kept), from
        :func:`toolkit.training.embedding_drift`.

    Raises:
        ValueError: ``tuned`` is empty, or the architectures differ.
    """
    import torch

    from toolkit.training import embedding_drift, weight_drift

    if not tuned:
        raise ValueError("tuned: expected at least one trained model")
    pb = dict(base.named_parameters())
    rows = {}
    for name, model in tuned.items():
        pt = dict(model.named_parameters())
        if pb.keys() != pt.keys():
            only = sorted(set(pb) ^ set(pt))
            raise ValueError(
                f"tuned[{name!r}] and base have different parameters, e.g. {only[0]!r}"
            )
        identical = [
            n
            for n in pb
            if skip_identical and pb[n].shape == pt[n].shape and torch.equal(pb[n], pt[n])
        ]
        keep = [n for n in pb if n not in set(identical)]
        n_identical = int(sum(pb[n].numel() for n in identical))
        if keep:
            w = weight_drift(_ParameterSubset(base, keep), _ParameterSubset(model, keep))
            total = w[w["name"] == "__total__"].iloc[0]
            rel, share = float(total["rel_change"]), float(total["changed_share"])
            max_rel = float(w.loc[w["name"] != "__total__", "rel_change"].max())
        else:  # nothing moved at all
            rel = share = max_rel = 0.0
        e = embedding_drift(base, model, list(texts), k=k)
        rows[name] = {
            "weight_rel_change": rel,
            "max_param_rel_change": max_rel,
            "changed_share": share,
            "identical_params": n_identical,
            "mean_cosine": e["mean_cosine"],
            "min_cosine": e["min_cosine"],
            "neighbour_overlap": e["neighbour_overlap"],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "recipe"
    return out


# --------------------------------------------------------------------------------- evaluation


def evaluate_model(
    model: Any,
    rs: Any,
    split: str | None = "test",
    *,
    query_ids: Sequence[str] | None = None,
    ks: Sequence[int] = (10,),
    cache: bool = True,
) -> pd.DataFrame:
    """Per-query retrieval metrics of one model: the split's queries against the whole corpus.

    Args:
        model: A ``SentenceTransformer``.
        rs: A :class:`toolkit.data.RetrievalSet`.
        split: Split whose queries are evaluated (``None``: all queries).
        query_ids: Evaluate only these queries instead (overrides ``split``).
        ks: Cut-offs (metrics ``mrr@k``, ``ndcg@k``, ``recall@k``, ... at each).
        cache: Use the on-disk embedding cache (:func:`toolkit.encode`); pass ``False`` for
            throw-away models such as one cross-validation run.

    Returns:
        The per-query table of :func:`toolkit.metrics.retrieval_metrics_from_embeddings`
        (``query_id`` and one column per metric); queries without a relevant title are left
        out and listed in ``attrs["skipped_query_ids"]``.

    Raises:
        DataError: ``split`` is not a split of ``rs``.
        ValueError: A query id is unknown.
    """
    from toolkit.encoding import encode
    from toolkit.metrics import retrieval_metrics_from_embeddings

    if query_ids is not None:
        qids = list(query_ids)
        unknown = [q for q in qids if q not in rs.queries]
        if unknown:
            raise ValueError(f"query_ids: {unknown[0]!r} is not a query of the set")
    elif split is not None:
        qids = rs.split(split).query_ids
    else:
        qids = rs.query_ids
    q = encode(model, [rs.queries[i] for i in qids], cache=cache, show_progress=False)
    d = encode(model, list(rs.corpus.values()), cache=cache, show_progress=False)
    _, table = retrieval_metrics_from_embeddings(
        q, d, rs.qrels, query_ids=qids, doc_ids=rs.doc_ids, ks=ks
    )
    return table


def _per_query(system: Any, rs: Any, split: str | None) -> pd.DataFrame:
    if isinstance(system, pd.DataFrame):
        return system
    return evaluate_model(system, rs, split)


def before_after(
    base: Any,
    tuned: Mapping[str, Any],
    rs: Any = None,
    split: str | None = "test",
    *,
    metrics: Sequence[str] = ("ndcg@10", "mrr@10"),
    base_name: str = "base",
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Base vs each trained model on held-out queries: means with CIs and paired tests.

    Args:
        base: The base model, or its per-query table from :func:`evaluate_model`.
        tuned: ``{name: trained model or per-query table}``.
        rs: The retrieval set (needed when a model, not a table, is given).
        split: Split evaluated (use held-out queries only: ``"test"``).
        metrics: Per-query metric columns to report.
        base_name: Name of the base row.
        n_resamples: Bootstrap resamples and sign flips.
        seed: Seed of every resampling (the same seed for every system, so CIs are
            comparable).

    Returns:
        One row per (system, metric): ``system``, ``metric``, ``mean``, ``low``, ``high``
        (95% percentile bootstrap CI over queries), ``diff`` (system - base, paired),
        ``diff_low``, ``diff_high`` (its bootstrap CI), ``p_value`` (two-sided paired
        sign-flip test; NaN for the base row) and ``n`` (queries).

    Raises:
        ValueError: ``tuned`` is empty, a name repeats ``base_name``, a metric is missing, or
            the systems were evaluated on different queries.
    """
    from toolkit.metrics import bootstrap_ci, paired_test

    if not tuned:
        raise ValueError("tuned: expected at least one trained model")
    if base_name in tuned:
        raise ValueError(f"tuned: the name {base_name!r} is the base row's; rename it")
    tables = {base_name: _per_query(base, rs, split)}
    tables.update({name: _per_query(m, rs, split) for name, m in tuned.items()})
    ref = tables[base_name].set_index("query_id")
    rows = []
    for name, table in tables.items():
        t = table.set_index("query_id")
        if set(t.index) != set(ref.index):
            raise ValueError(
                f"{name!r} was evaluated on other queries than {base_name!r}; "
                "evaluate both on the same split"
            )
        t = t.loc[ref.index]
        for m in metrics:
            if m not in t.columns:
                raise ValueError(f"metrics: {m!r} is not a per-query column of {name!r}")
            ci = bootstrap_ci(t[m], n_resamples=n_resamples, seed=seed)
            row = {"system": name, "metric": m, **{k: ci[k] for k in ("mean", "low", "high")}}
            if name == base_name:
                row.update(diff=np.nan, diff_low=np.nan, diff_high=np.nan, p_value=np.nan)
            else:
                pt = paired_test(t[m], ref[m], n_resamples=n_resamples, seed=seed)
                row.update(
                    diff=pt["diff"], diff_low=pt["low"], diff_high=pt["high"],
                    p_value=pt["p_value"],
                )  # fmt: skip
            row["n"] = ci["n"]
            rows.append(row)
    return pd.DataFrame(rows)


def select_lr_on_split(
    model: Any,
    train_pairs: Any,
    rs: Any,
    *,
    split: str = "dev",
    candidates: Sequence[float] | None = None,
    recipe: Recipe | None = None,
    metric: str = "ndcg@10",
    seeds: Sequence[int] | None = None,
) -> tuple[Any, Any]:
    """Choose the lr on one split with :func:`toolkit.training.select_lr`; keep the best model.

    The dev score is the mean per-query ``metric`` of :func:`evaluate_model` on ``split``
    (never pass ``"test"``: the test numbers would no longer be held out). The model trained
    with the chosen lr and the recipe's seed is kept instead of being trained a second time
    (when several seeds are averaged and the single best run is not at the chosen lr, it is
    retrained).

    Args:
        model: The base ``SentenceTransformer`` (left unchanged).
        train_pairs: Training pairs, as for :func:`toolkit.training.finetune`.
        rs: The retrieval set holding ``split``.
        split: Split scored for the choice (default ``"dev"``).
        candidates: Learning rates to try (default
            :data:`toolkit.training.DEFAULT_LR_CANDIDATES`).
        recipe: Every other hyperparameter (default: ``get_recipe("tuned")``).
        metric: Per-query metric averaged over the split's queries.
        seeds: Seeds averaged per candidate (default: the recipe's seed).

    Returns:
        ``(selection, best_model)``: the :class:`toolkit.training.LrSelection` (its
        ``table`` has one row per candidate and seed) and the trained model at the chosen lr.

    Raises:
        ValueError: ``split`` is ``"test"``.
    """
    from toolkit.training import DEFAULT_LR_CANDIDATES, finetune, select_lr

    if split == "test":
        raise ValueError("split='test': choose hyperparameters on dev, never on the test split")
    recipe = recipe if recipe is not None else get_recipe("tuned")
    candidates = list(candidates) if candidates is not None else list(DEFAULT_LR_CANDIDATES)
    best: dict[str, Any] = {"score": -math.inf, "call": -1, "model": None}
    calls = {"n": 0}

    def dev_score(m: Any) -> float:
        score = float(evaluate_model(m, rs, split, cache=False)[metric].mean())
        i, calls["n"] = calls["n"], calls["n"] + 1
        if i > 0 and score > best["score"]:  # call 0 scores the base model
            best.update(score=score, call=i, model=m)
        return score

    selection = select_lr(model, train_pairs, dev_score, candidates, recipe=recipe, seeds=seeds)
    first_seed = seeds[0] if seeds else recipe.seed
    row = selection.table.iloc[best["call"] - 1] if best["call"] > 0 else None
    if (
        row is not None
        and float(row["learning_rate"]) == selection.best_lr
        and int(row["seed"]) == int(first_seed)
    ):
        return selection, best["model"]
    return selection, finetune(model, train_pairs, selection.recipe, seed=first_seed).model


# --------------------------------------------------------------------------------- cross-validation


@dataclass
class CVResult:
    """Outcome of :func:`cross_validate`.

    Attributes:
        table: One row per (fold, seed): ``fold``, ``seed``, ``n_train_pairs``,
            ``n_eval_queries``, and for every metric ``base_<m>``, ``tuned_<m>`` and
            ``gain_<m>`` (tuned - base, means over the fold's held-out queries).
        summary: One row per metric: ``base``, ``tuned`` and ``gain`` means over runs,
            ``gain_sd`` (sample sd over runs), ``gain_seed_sd`` (mean within-fold sd over
            seeds: training noise alone), ``gain_min``, ``gain_max``, ``improved`` (runs
            with gain > 0) and ``runs``.
        folds: The ``(train_qids, eval_qids)`` folds used.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    folds: list[tuple[list[str], list[str]]]


def _fold_pairs(
    rs: Any, qids: Sequence[str], max_pairs: int | None, seed: int
) -> list[tuple[str, str]]:
    """Relevant (query, title) pairs of ``qids``; a seeded sample of ``max_pairs`` if more."""
    pairs = [
        (rs.queries[q], rs.corpus[d])
        for q in qids
        for d, g in rs.qrels.get(q, {}).items()
        if g >= 1 and d in rs.corpus
    ]
    if max_pairs is not None and len(pairs) > max_pairs:
        keep = np.sort(np.random.default_rng(seed).choice(len(pairs), max_pairs, replace=False))
        pairs = [pairs[i] for i in keep]
    return pairs


def cross_validate(
    model: Any,
    rs: Any,
    recipe: Recipe,
    *,
    splits: Sequence[str] = ("test",),
    folds: int = 5,
    seeds: Sequence[int] = (42, 43, 44),
    max_pairs: int | None = 50,
    epochs: int | None = None,
    metrics: Sequence[str] = ("ndcg@10", "mrr@10"),
    fold_seed: int = 0,
) -> CVResult:
    """K-fold cross-validation by query, repeated over seeds: the gain over the base model.

    The queries of ``splits`` are cut into ``folds`` folds
    (:func:`toolkit.training.kfold_by_query`). For every fold and seed, the model is trained
    on the relevant pairs of the other folds' queries (a seeded sample of ``max_pairs`` of
    them, so every run has the size of the card's run) and both the base and the trained
    model rank the whole corpus for the held-out fold's queries. A query is never trained
    and evaluated in the same run. Titles stay in the corpus, so a title relevant to both a
    training and a held-out query is seen in training (the queries are what is held out).

    Args:
        model: The base ``SentenceTransformer`` (left unchanged).
        rs: The retrieval set; use splits whose judgments are exhaustive (not ``train``).
        recipe: The recipe of every run (its seed is replaced by each of ``seeds``).
        splits: Splits whose queries are folded.
        folds: Number of folds (>= 2).
        seeds: Training seeds (also seed the pair sample).
        max_pairs: Pairs trained on per run (``None``: all of the training folds' pairs).
        epochs: Overrides ``recipe.epochs`` (a cheaper study).
        metrics: Per-query metrics to compare (``"ndcg@10"``, ``"mrr@10"``, ...).
        fold_seed: Seed of the fold shuffle.

    Returns:
        A :class:`CVResult`.

    Raises:
        ValueError: No seed, an impossible ``folds``, or a split without queries.
    """
    from toolkit.metrics import aggregate_seeds
    from toolkit.training import finetune, kfold_by_query

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    if max_pairs is not None and max_pairs < 1:
        raise ValueError(f"max_pairs={max_pairs!r}: expected an int >= 1 or None")
    qids = [q for s in splits for q in rs.split(s).query_ids]
    qids = [q for q in dict.fromkeys(qids) if any(g >= 1 for g in rs.qrels.get(q, {}).values())]
    if not qids:
        raise ValueError(f"splits={list(splits)!r}: no query with a relevant title")
    fold_list = kfold_by_query(qids, folds, seed=fold_seed)
    ks = sorted({int(m.split("@")[1]) for m in metrics if "@" in m}) or [10]
    base_table = evaluate_model(model, rs, query_ids=qids, ks=ks).set_index("query_id")
    if epochs is not None:
        recipe = recipe.replace(epochs=int(epochs))

    rows = []
    for f, (train_q, eval_q) in enumerate(fold_list):
        for s in seeds:
            pairs = _fold_pairs(rs, train_q, max_pairs, s)
            run = finetune(model, pairs, recipe, seed=s)
            tuned = evaluate_model(run.model, rs, query_ids=eval_q, ks=ks, cache=False)
            tuned = tuned.set_index("query_id")
            row: dict[str, Any] = {
                "fold": f + 1,
                "seed": s,
                "n_train_pairs": len(pairs),
                "n_eval_queries": len(tuned),
            }
            for m in metrics:
                b = float(base_table.loc[tuned.index, m].mean())
                t = float(tuned[m].mean())
                row.update({f"base_{m}": b, f"tuned_{m}": t, f"gain_{m}": t - b})
            rows.append(row)
            del run
    table = pd.DataFrame(rows)
    summ = []
    for m in metrics:
        agg = aggregate_seeds(
            [{"base": r[f"base_{m}"], "tuned": r[f"tuned_{m}"], "gain": r[f"gain_{m}"]}
             for r in rows]
        )  # fmt: skip
        gains = table[f"gain_{m}"]
        seed_sd = (
            table.groupby("fold")[f"gain_{m}"].std(ddof=1).mean() if len(seeds) > 1 else np.nan
        )
        summ.append(
            {
                "metric": m,
                "base": agg["base"]["mean"],
                "tuned": agg["tuned"]["mean"],
                "gain": agg["gain"]["mean"],
                "gain_sd": agg["gain"]["sd"],
                "gain_seed_sd": float(seed_sd),
                "gain_min": float(gains.min()),
                "gain_max": float(gains.max()),
                "improved": int((gains > 0).sum()),
                "runs": int(len(gains)),
            }
        )
    return CVResult(table=table, summary=pd.DataFrame(summ).set_index("metric"), folds=fold_list)


# --------------------------------------------------------------------------------- summary


def what_we_found(
    *,
    peaks: Mapping[str, float],
    epoch_loss: Mapping[str, Sequence[float]] | None = None,
    drift: pd.DataFrame | None = None,
    comparison: pd.DataFrame | None = None,
    cv: pd.DataFrame | None = None,
    best_lr: float | None = None,
    metric: str = "ndcg@10",
    alpha: float = 0.05,
    base_name: str = "base",
) -> list[str]:
    """The closing sentences of the notebook, computed from its tables.

    Args:
        peaks: ``{recipe name: peak lr reached}``.
        epoch_loss: ``{recipe name: mean loss per epoch}`` (:func:`loss_by_epoch`).
        drift: :func:`drift_summary`'s table.
        comparison: :func:`before_after`'s table.
        cv: :attr:`CVResult.summary`.
        best_lr: The tuned recipe's lr chosen on the dev split.
        metric: Metric the sentences talk about.
        alpha: Significance level of the paired tests.
        base_name: Name of the base row in ``comparison``.

    Returns:
        Sentences, in the order of the notebook's sections.
    """
    out: list[str] = []
    doc, run = peaks.get("card_as_documented"), peaks.get("card_as_run")
    if doc is not None and run is not None and run > 0:
        ratio = doc / run
        out.append(
            f"The card's recipe as documented would peak at lr {doc:.3g}; as actually run "
            f"(fit() with its 10,000 warm-up steps) it peaked at {run:.3g}, {ratio:,.0f} times "
            "lower" + (", so the card's run barely trained." if ratio >= 100 else ".")
        )
    if epoch_loss:
        parts = [f"{name} {loss[0]:.3f} -> {loss[-1]:.3f}" for name, loss in epoch_loss.items()]
        out.append("Mean training loss, first -> last epoch: " + "; ".join(parts) + ".")
    others = {k: v for k, v in peaks.items() if k not in ("card_as_documented", "card_as_run")}
    for name, peak in others.items():
        out.append(f"The {name} recipe peaked at lr {peak:.3g}.")
    if best_lr is not None:
        out.append(f"Its lr, {best_lr:.3g}, was chosen on the dev queries only.")
    if drift is not None and len(drift):
        parts = [
            f"{name} {r['weight_rel_change']:.3g} (embedding cosine to base "
            f"{r['mean_cosine']:.4f}, {r['neighbour_overlap']:.1%} of 10 nearest titles kept)"
            for name, r in drift.iterrows()
        ]
        out.append("Relative change of the trained weights: " + "; ".join(parts) + ".")
        if "card_as_run" in drift.index and len(drift) > 1:
            ref = drift.loc["card_as_run", "weight_rel_change"]
            rest = drift.drop(index="card_as_run")["weight_rel_change"]
            if ref > 0:
                lo, hi = f"{rest.min() / ref:,.0f}", f"{rest.max() / ref:,.0f}"
                span = lo if lo == hi else f"{lo} to {hi}"
                others_txt = "the other recipe" if len(rest) == 1 else "the other recipes"
                out.append(
                    f"The as-run recipe moved the weights {span} times less than {others_txt}."
                )
    if comparison is not None and len(comparison):
        c = comparison[comparison["metric"] == metric].set_index("system")
        if base_name in c.index:
            b = c.loc[base_name]
            out.append(
                f"On {int(b['n'])} held-out test queries the base model scores {metric} "
                f"{b['mean']:.3f} [{b['low']:.3f}, {b['high']:.3f}]."
            )
            for name, r in c.drop(index=base_name).iterrows():
                verdict = "a significant" if r["p_value"] < alpha else "no significant"
                direction = "gain" if r["diff"] > 0 else "loss" if r["diff"] < 0 else "change"
                out.append(
                    f"{name}: {r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}], difference "
                    f"{r['diff']:+.3f} [{r['diff_low']:+.3f}, {r['diff_high']:+.3f}], paired "
                    f"p = {r['p_value']:.3f}: {verdict} {direction} at the {alpha:g} level."
                )
    if cv is not None and metric in cv.index:
        r = cv.loc[metric]
        ratio = r["gain"] / r["gain_sd"] if r["gain_sd"] > 0 else math.inf
        size = "larger" if abs(r["gain"]) > r["gain_sd"] else "smaller"
        out.append(
            f"Cross-validated over {int(r['runs'])} fold x seed runs, the {metric} gain is "
            f"{r['gain']:+.3f} ± {r['gain_sd']:.3f} (sd), {size} than its run-to-run spread "
            f"({abs(ratio):.1f} sd); {int(r['improved'])} of {int(r['runs'])} runs improved "
            "on the base model."
        )
    return out
