"""Experiment drivers: many training runs, scored on held-out queries.

* :func:`select_recipe` -- every candidate of a grid (lr x mined hard negatives x batch
  sampler by default) trained with >= 3 seeds, chosen by the mean dev score over seeds
  (:class:`RecipeSelection`); how :func:`toolkit.training.tuned_recipe` was chosen;
* :func:`select_lr_on_split` -- train once per candidate lr, score on the dev split only,
  keep the best model;
* :func:`cross_validate` -- K folds by query group x seeds, the gain over the base model per
  run (:class:`CVResult`); queries that share a relevant title stay in one fold;
* the building blocks: :func:`select_lr` (any dev-scoring function), :func:`kfold_by_query`
  (optionally by group), :func:`title_groups` (connected components of the query-title
  graph), :func:`repeat_over_seeds`.

Every run is trained by :func:`toolkit.training.finetune` and scored by
:func:`toolkit.evaluation.evaluate_system`, the same path as every other evaluation.

Example:
    >>> import toolkit
    >>> from toolkit.training import get_recipe
    >>> from toolkit.training.experiments import cross_validate
    >>> base, rs = toolkit.load_model(), toolkit.demo()                  # doctest: +SKIP
    >>> cv = cross_validate(base, rs, get_recipe("tuned"))               # doctest: +SKIP
    >>> cv.summary                                                       # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int
from toolkit.evaluation import evaluate_system
from toolkit.stats import aggregate_seeds
from toolkit.training.recipes import (
    DEFAULT_LR_CANDIDATES,
    TUNED_USE,
    Recipe,
    get_recipe,
    tuned_recipe,
)
from toolkit.training.run import finetune

__all__ = [
    "CVResult",
    "DEFAULT_GRID",
    "LrSelection",
    "MIN_SELECTION_SEEDS",
    "RecipeSelection",
    "cross_validate",
    "kfold_by_query",
    "repeat_over_seeds",
    "select_lr",
    "select_lr_on_split",
    "select_recipe",
    "title_groups",
]


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
    """Choose the lr on one split with :func:`select_lr`; keep the best model.

    The dev score is the mean per-query ``metric`` of
    :func:`toolkit.evaluation.evaluate_system` on ``split``
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
        recipe: Every other hyperparameter (default: ``training.get_recipe("tuned")``).
        metric: Per-query metric averaged over the split's queries.
        seeds: Seeds averaged per candidate (default: the recipe's seed). For a choice you
            report, prefer :func:`select_recipe`, which requires at least 3.

    Returns:
        ``(selection, best_model)``: the :class:`LrSelection` (its
        ``table`` has one row per candidate and seed) and the trained model at the chosen lr.

    Raises:
        ValueError: ``split`` is ``"test"``.
    """
    if split == "test":
        raise ValueError("split='test': choose hyperparameters on dev, never on the test split")
    recipe = recipe if recipe is not None else get_recipe("tuned")
    candidates = list(candidates) if candidates is not None else list(DEFAULT_LR_CANDIDATES)
    best: dict[str, Any] = {"score": -math.inf, "call": -1, "model": None}
    calls = {"n": 0}

    def dev_score(m: Any) -> float:
        score = float(evaluate_system(m, rs, split, cache=False)[metric].mean())
        i, calls["n"] = calls["n"], calls["n"] + 1
        if i > 0 and score > best["score"]:  # call 0 scores the base model
            best.update(score=score, call=i, model=m)
        return score

    selection = select_lr(
        model, train_pairs, dev_score, candidates, recipe=recipe, seeds=seeds, negatives_from=rs
    )
    first_seed = seeds[0] if seeds else recipe.seed
    row = selection.table.iloc[best["call"] - 1] if best["call"] > 0 else None
    if (
        row is not None
        and float(row["learning_rate"]) == selection.best_lr
        and int(row["seed"]) == int(first_seed)
    ):
        return selection, best["model"]
    again = finetune(model, train_pairs, selection.recipe, seed=first_seed, negatives_from=rs)
    return selection, again.model


#: Candidate grid of :func:`select_recipe` (small enough for a few CPU minutes with the
#: default model and its embedding table frozen: 2 x 2 x 2 candidates x 3 seeds).
DEFAULT_GRID: dict[str, tuple[Any, ...]] = {
    "learning_rate": (1e-4, 3e-4),
    "hard_negatives": (0, 1),
    "batch_sampler": ("batch_sampler", "no_duplicates"),
}

#: Fewest seeds :func:`select_recipe` accepts: one run per candidate is one draw of the
#: training noise, which on 20-odd dev queries is as large as the differences compared.
MIN_SELECTION_SEEDS = 3


@dataclass
class RecipeSelection:
    """Outcome of :func:`select_recipe`.

    Attributes:
        recipe: The chosen recipe (the input recipe with the winning candidate's fields).
        candidate: Name of the chosen candidate (a row of ``summary``).
        summary: One row per candidate (index ``candidate``, in the simplicity order used for
            ties): its fields, ``mean`` and ``sd`` (sample, ddof=1) of the dev score over seeds,
            ``min``, ``max``, ``n_seeds``, ``gain`` (mean - base) and ``chosen``.
        table: One row per candidate and seed: the fields, ``seed``, ``score``, ``peak_lr``.
        base_score: Dev score of the untrained model.
        split: The split scored; ``n_queries``: its number of queries.
        model: The chosen candidate's model trained with the first seed.
    """

    recipe: Recipe
    candidate: str
    summary: pd.DataFrame
    table: pd.DataFrame
    base_score: float
    split: str
    n_queries: int
    model: Any = None


def _candidate_name(fields: Mapping[str, Any]) -> str:
    parts = []
    for k, v in fields.items():
        if k == "learning_rate":
            parts.append(f"lr {v:g}")
        elif k == "hard_negatives":
            parts.append("in-batch negatives" if v == 0 else f"+{v} mined negative" + "s" * (v > 1))
        elif k == "batch_sampler":
            parts.append("default sampler" if v == "batch_sampler" else v)
        else:
            parts.append(f"{k} {v}")
    return ", ".join(parts)


def select_recipe(
    model: Any,
    train_pairs: Any,
    rs: Any,
    *,
    recipe: Recipe | None = None,
    grid: Mapping[str, Sequence[Any]] | None = None,
    seeds: Sequence[int] = (42, 43, 44),
    split: str = "dev",
    metric: str = "ndcg@10",
    negatives_from: Any = None,
    extra_qrels: Mapping[str, Mapping[str, int]] | None = None,
) -> RecipeSelection:
    """Choose recipe options by the mean dev score over seeds.

    Every candidate of the ``grid`` (the product of its values) is trained on
    ``train_pairs`` with every seed and scored by the mean per-query ``metric`` of
    :func:`toolkit.evaluation.evaluate_system` on ``split``. The candidate with the highest
    mean over seeds wins; on an exact tie the simpler one wins: candidates are ordered by
    the grid's values in the order given (lower lr first, fewer mined negatives, the default
    sampler), and the first of the best is kept.

    Args:
        model: The base ``SentenceTransformer`` (left unchanged).
        train_pairs: Training pairs, as for :func:`toolkit.training.finetune`.
        rs: The retrieval set holding ``split`` (and, by default, the mining corpus).
        recipe: Every other hyperparameter (default: ``training.tuned_recipe()``).
        grid: ``{recipe field: values}``, values from the simplest (default
            :data:`DEFAULT_GRID`: lr x hard negatives x batch sampler).
        seeds: Training seeds per candidate (at least :data:`MIN_SELECTION_SEEDS`).
        split: Split scored for the choice (never ``"test"``).
        metric: Per-query metric averaged over the split's queries.
        negatives_from: Mining corpus and judgments for candidates with hard negatives
            (default ``rs``: its titles, and its qrels name the titles never to mine).
        extra_qrels: More judgments to exclude from mining (see
            :func:`toolkit.training.finetune`).

    Returns:
        A :class:`RecipeSelection`.

    Raises:
        TypeError: A seed is not an integer.
        ValueError: ``split`` is ``"test"``, fewer than 3 seeds, an empty grid value or a
            grid key that is not a recipe field.
    """
    seeds, recipe, grid = _selection_inputs(split, seeds, recipe, grid)
    negatives_from = rs if negatives_from is None else negatives_from
    n_queries = len(rs.split(split).queries)

    def dev_score(m: Any) -> float:
        return float(evaluate_system(m, rs, split, cache=False)[metric].mean())

    def train(fields: Mapping[str, Any], seed: int) -> Any:
        return finetune(
            model, train_pairs, recipe.replace(**fields), seed=seed,
            negatives_from=negatives_from, extra_qrels=extra_qrels,
        )  # fmt: skip

    base_score = dev_score(model)
    rows, summary = [], []
    best: dict[str, Any] = {"mean": -math.inf, "model": None, "name": None, "fields": None}
    for fields in (dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())):
        name = _candidate_name(fields)
        row, first_model = _score_candidate(name, fields, seeds, train, dev_score, rows)
        summary.append({**row, "gain": row["mean"] - base_score})
        if row["mean"] > best["mean"]:  # strict: an exact tie keeps the earlier, simpler one
            best.update(mean=row["mean"], model=first_model, name=name, fields=fields)
        del first_model
    table = pd.DataFrame(summary).set_index("candidate")
    table["chosen"] = table.index == best["name"]
    return RecipeSelection(
        recipe=recipe.replace(**best["fields"]),
        candidate=best["name"],
        summary=table,
        table=pd.DataFrame(rows),
        base_score=base_score,
        split=split,
        n_queries=n_queries,
        model=best["model"],
    )


def _selection_inputs(
    split: str,
    seeds: Sequence[int],
    recipe: Recipe | None,
    grid: Mapping[str, Sequence[Any]] | None,
) -> tuple[list[int], Recipe, dict[str, Sequence[Any]]]:
    """Check :func:`select_recipe`'s choices; ``(seeds, recipe, grid)`` with the defaults."""
    if split == "test":
        raise ValueError("split='test': choose hyperparameters on dev, never on the test split")
    seeds = [check_int(x, f"seeds[{i}]", minimum=0) for i, x in enumerate(seeds)]
    if len(set(seeds)) < MIN_SELECTION_SEEDS:
        raise ValueError(
            f"seeds={seeds!r}: expected at least {MIN_SELECTION_SEEDS} distinct seeds (one run "
            "per candidate is one draw of the training noise)"
        )
    recipe = recipe if recipe is not None else tuned_recipe()
    grid = dict(grid) if grid is not None else dict(DEFAULT_GRID)
    for key, values in grid.items():
        if key not in Recipe.__dataclass_fields__:
            raise ValueError(f"grid[{key!r}]: not a Recipe field")
        if not list(values):
            raise ValueError(f"grid[{key!r}]: expected at least one value")
    return seeds, recipe, grid


def _score_candidate(
    name: str,
    fields: Mapping[str, Any],
    seeds: Sequence[int],
    train: Callable[[Mapping[str, Any], int], Any],
    dev_score: Callable[[Any], float],
    rows: list[dict[str, Any]],
) -> tuple[dict[str, Any], Any]:
    """Train and score one candidate with every seed; a row per run goes to ``rows``.

    Returns:
        ``(summary row without the gain, model of the first seed)``; the other models are
        let go at once.
    """
    scores, first_model = [], None
    for s in seeds:
        run = train(fields, s)
        score = dev_score(run.model)
        scores.append(score)
        rows.append({"candidate": name, **fields, "seed": s, "score": score,
                     "peak_lr": max(run.lr_schedule)})  # fmt: skip
        if first_model is None:
            first_model = run.model
        del run
    mean = float(np.mean(scores))
    row = {"candidate": name, **fields, "mean": mean, "sd": float(np.std(scores, ddof=1)),
           "min": float(min(scores)), "max": float(max(scores)),
           "n_seeds": len(scores)}  # fmt: skip
    return row, first_model


@dataclass
class CVResult:
    """Outcome of :func:`cross_validate`.

    Attributes:
        table: One row per (fold, seed): ``fold``, ``seed``, ``n_train_pairs``,
            ``n_eval_queries``, and for every metric ``base_<m>``, ``tuned_<m>`` and
            ``gain_<m>`` (tuned - base, means over the fold's held-out queries), then
            ``tuned_judged@<k>`` (the largest k of the metrics): the share of the tuned
            model's top k that has a judgment, since its rankings were not pooled.
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
    group_by_title: bool = True,
    extra_qrels: Mapping[str, Mapping[str, int]] | None = None,
) -> CVResult:
    """K-fold cross-validation by query, repeated over seeds: the gain over the base model.

    The queries of ``splits`` are cut into ``folds`` folds (:func:`kfold_by_query`); by
    default queries that share a relevant title stay in one fold (:func:`title_groups`), so
    no title relevant to a held-out query is trained on. For every fold and seed, the model
    is trained
    on the relevant pairs of the other folds' queries (a seeded sample of ``max_pairs`` of
    them, so every run has the size of the card's run) and both the base and the trained
    model rank the whole corpus for the held-out fold's queries. A query is never trained
    and evaluated in the same run. With ``group_by_title=False`` only queries are held out:
    a title relevant to both a training and a held-out query is then seen in training.

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
        group_by_title: Keep queries that share a relevant title in one fold (default).
        extra_qrels: For a recipe with hard negatives: more judgments to exclude from mining
            (the mining corpus is ``rs``'s titles, its qrels excluded).

    Returns:
        A :class:`CVResult`.

    Raises:
        TypeError: A seed, ``folds``, ``max_pairs`` or ``epochs`` is not an integer.
        ValueError: No seed, an impossible ``folds``, ``max_pairs`` or ``epochs`` < 1, or a
            split without queries.
    """
    seeds = [check_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    max_pairs = check_int(max_pairs, "max_pairs", allow_none=True)
    epochs = check_int(epochs, "epochs", allow_none=True)
    qids = _queries_with_relevant_titles(rs, splits)
    groups = title_groups(rs, qids) if group_by_title else None
    fold_list = kfold_by_query(qids, folds, seed=fold_seed, groups=groups)
    ks = sorted({int(m.split("@")[1]) for m in metrics if "@" in m}) or [10]
    base_table = evaluate_system(model, rs, query_ids=qids, ks=ks).set_index("query_id")
    if epochs is not None:
        recipe = recipe.replace(epochs=epochs)

    rows = []
    for f, (train_q, eval_q) in enumerate(fold_list):
        for s in seeds:
            pairs = _fold_pairs(rs, train_q, max_pairs, s)
            run = finetune(model, pairs, recipe, seed=s, negatives_from=rs, extra_qrels=extra_qrels)
            tuned = evaluate_system(
                run.model, rs, query_ids=eval_q, ks=ks, cache=False, judged=True
            )
            del run
            scores = _held_out_scores(base_table, tuned.set_index("query_id"), metrics)
            judged = {f"tuned_judged@{ks[-1]}": float(tuned[f"judged@{ks[-1]}"].mean())}
            rows.append({"fold": f + 1, "seed": s, "n_train_pairs": len(pairs)} | scores | judged)
    summary = pd.DataFrame([_gain_summary(rows, m, len(seeds)) for m in metrics])
    return CVResult(
        table=pd.DataFrame(rows), summary=summary.set_index("metric"), folds=fold_list
    )


def _queries_with_relevant_titles(rs: Any, splits: Sequence[str]) -> list[str]:
    """Distinct query ids of ``splits`` (in order) that have at least one relevant title."""
    qids = [q for s in splits for q in rs.split(s).query_ids]
    qids = [q for q in dict.fromkeys(qids) if any(g >= 1 for g in rs.qrels.get(q, {}).values())]
    if not qids:
        raise ValueError(f"splits={list(splits)!r}: no query with a relevant title")
    return qids


def _held_out_scores(
    base_table: pd.DataFrame, tuned: pd.DataFrame, metrics: Sequence[str]
) -> dict[str, Any]:
    """``n_eval_queries`` and, per metric, the base and tuned means over ``tuned``'s queries."""
    row: dict[str, Any] = {"n_eval_queries": len(tuned)}
    for m in metrics:
        b = float(base_table.loc[tuned.index, m].mean())
        t = float(tuned[m].mean())
        row.update({f"base_{m}": b, f"tuned_{m}": t, f"gain_{m}": t - b})
    return row


def _gain_summary(rows: list[dict[str, Any]], m: str, n_seeds: int) -> dict[str, Any]:
    """One row of :attr:`CVResult.summary`: metric ``m`` over the runs (``rows``)."""
    agg = aggregate_seeds(
        [{"base": r[f"base_{m}"], "tuned": r[f"tuned_{m}"], "gain": r[f"gain_{m}"]}
         for r in rows]
    )  # fmt: skip
    table = pd.DataFrame(rows)
    gains = table[f"gain_{m}"]
    seed_sd = table.groupby("fold")[f"gain_{m}"].std(ddof=1).mean() if n_seeds > 1 else np.nan
    return {
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
    negatives_from: Any = None,
    extra_qrels: Mapping[str, Mapping[str, int]] | None = None,
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
        negatives_from: Mining corpus and judgments for a recipe with hard negatives (see
            :func:`toolkit.training.finetune`).
        extra_qrels: More judgments to exclude from mining.

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
    if seeds is None:
        seeds = [recipe.seed]
    seeds = [check_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds)]
    base_score = _dev_score(dev_set_eval_fn(model), metric)
    rows = []
    for lr in candidates:
        for s in seeds:
            run = finetune(
                model, train_pairs, recipe.replace(learning_rate=lr), seed=s,
                negatives_from=negatives_from, extra_qrels=extra_qrels,
            )  # fmt: skip
            score = _dev_score(dev_set_eval_fn(run.model), metric)
            rows.append({"learning_rate": lr, "seed": s, "score": score,
                         "peak_lr": max(run.lr_schedule)})  # fmt: skip
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


def _dev_score(value: Any, metric: str | None) -> float:
    """What ``dev_set_eval_fn`` returned as one number: itself, or its ``metric`` entry."""
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


# --------------------------------------------------------------------------- cross-validation


def kfold_by_query(
    query_ids: Sequence[Any],
    n_folds: int = 5,
    seed: int = 42,
    *,
    groups: Sequence[Any] | None = None,
) -> list[tuple[list[Any], list[Any]]]:
    """Split query ids into shuffled K folds, optionally keeping groups of queries together.

    All pairs of a query fall on the same side, so no query is trained and tested at once.
    Queries that share a relevant title still leak that title across folds; pass
    ``groups`` (e.g. :func:`title_groups`) so that every group lands in one fold.

    Args:
        query_ids: Distinct query ids.
        n_folds: Number of folds (2 <= n_folds <= number of ids, or of groups).
        seed: Shuffle seed.
        groups: One group label per id (same order); ``None`` folds single queries
            (``sklearn.model_selection.KFold``), otherwise whole groups
            (``sklearn.model_selection.GroupKFold`` with ``shuffle=True``: groups are shuffled
            with ``seed`` and assigned so the folds have similar numbers of queries).

    Returns:
        ``n_folds`` tuples ``(train_qids, test_qids)``; the test parts partition the ids.

    Raises:
        TypeError: ``n_folds`` is not an integer.
        ValueError: On duplicate ids, ``groups`` of another length, or an impossible
            ``n_folds``.
    """
    from sklearn.model_selection import GroupKFold, KFold

    seed = check_int(seed, "seed", minimum=0)
    ids = list(query_ids)
    seen: set = set()
    for i, q in enumerate(ids):
        if q in seen:
            raise ValueError(f"query_ids[{i}]={q!r}: duplicate id; expected distinct query ids")
        seen.add(q)
    if groups is None:
        n_folds = check_int(n_folds, "n_folds", minimum=2, maximum=len(ids))
        split = KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.arange(len(ids)))
    else:
        groups = list(groups)
        if len(groups) != len(ids):
            raise ValueError(
                f"groups: {len(groups)} labels for {len(ids)} query ids; expected one per id"
            )
        n_units = len(set(groups))
        n_folds = check_int(n_folds, "n_folds", minimum=2)
        if n_folds > n_units:
            raise ValueError(
                f"n_folds={n_folds!r}: expected an int in [2, {n_units}] (the number of query "
                "groups; queries that share a relevant title form one group)"
            )
        gkf = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        split = gkf.split(np.arange(len(ids)), groups=groups)
    return [([ids[i] for i in tr], [ids[i] for i in te]) for tr, te in split]


def title_groups(rs: Any, query_ids: Sequence[str], *, min_grade: int = 1) -> list[int]:
    """Connected components of the query-title graph: queries that share a relevant title.

    Two queries are linked when a title is relevant (grade >= ``min_grade``) to both; a
    component is every query reachable through such links. Folds built on these groups
    never put a title relevant to a held-out query into another fold's training pairs.

    Args:
        rs: The retrieval set whose ``qrels`` link the queries.
        query_ids: The queries to group (links through other queries are not followed).
        min_grade: Smallest grade that counts as relevant.

    Returns:
        One group number per query id, in order; groups are numbered by first appearance.

    Example:
        >>> from toolkit.data import RetrievalSet
        >>> rs = RetrievalSet(queries={"a": "x", "b": "y", "c": "z"},
        ...                   corpus={"d1": "T1", "d2": "T2"},
        ...                   qrels={"a": {"d1": 1}, "b": {"d1": 2}, "c": {"d2": 1}})
        >>> title_groups(rs, ["a", "b", "c"])
        [0, 0, 1]
    """
    min_grade = check_int(min_grade, "min_grade", minimum=None)
    ids = list(query_ids)
    parent = list(range(len(ids)))

    def find(i: int) -> int:  # union-find, small enough to write out (no graph library needed)
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_query_of_title: dict[str, int] = {}
    for i, q in enumerate(ids):
        for d, g in rs.qrels.get(q, {}).items():
            if g >= min_grade:
                j = first_query_of_title.setdefault(d, i)
                parent[find(i)] = find(j)
    labels: dict[int, int] = {}
    return [labels.setdefault(find(i), len(labels)) for i in range(len(ids))]


def repeat_over_seeds(fn: Callable[[int], Any], seeds: Iterable[int] = (42, 43, 44)) -> list[Any]:
    """Call ``fn(seed)`` for every seed and collect the results (for seed-variance reports).

    Args:
        fn: Function of one seed.
        seeds: Seeds, in order.

    Returns:
        ``[fn(s) for s in seeds]``.
    """
    return [fn(check_int(s, f"seeds[{i}]", minimum=None)) for i, s in enumerate(seeds)]
