"""The "What we found" sentences of the notebooks, computed from their numbers.

One function per notebook; each takes the tables the notebook has already computed and
returns the sentences it prints, one per line, so the prose is written
once, next to the other prose, and tested against the committed notebooks' output.

* :func:`embedding_space` -- notebook 01 (anisotropy, relevant vs non-relevant cosines,
  hubs, neighbour agreement);
* :func:`finetuning` -- notebook 02 (the card's lr, training loss, drift, before/after,
  cross-validation);
* :func:`query_title_alignment` -- notebook 04 (dense vs BM25 vs hybrid, paired test,
  first-rank failures).

A new notebook adds one function here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["embedding_space", "finetuning", "query_title_alignment"]


def embedding_space(summary: pd.DataFrame, label_field: str) -> list[str]:
    """Notebook 01's closing sentences.

    Args:
        summary: One row per model (indexed by name) with the columns ``anisotropy
            titles``, ``hubs (N10 > 20)``, ``relevant median``, ``non-relevant median``,
            ``gap``, ``AUC``, ``skewness`` and ``3-NN agreement``.
        label_field: What the neighbour agreement compares (``"topic"``, ``"IPC section"``).

    Returns:
        The sentences, in print order.
    """
    most, least = summary["anisotropy titles"].idxmax(), summary["anisotropy titles"].idxmin()
    found = (
        [
            f"{most} is the more anisotropic model: mean title cosine "
            f"{summary.loc[most, 'anisotropy titles']:.3f} against "
            f"{summary.loc[least, 'anisotropy titles']:.3f} for {least}."
        ]
        if most != least
        else []
    )
    for n, r in summary.iterrows():
        hubs = f"{int(r['hubs (N10 > 20)'])} hub titles" if r["hubs (N10 > 20)"] else "no hub title"
        found.append(
            f"{n}: relevant pairs have median cosine {r['relevant median']:.3f} against "
            f"{r['non-relevant median']:.3f} for the rest (gap {r['gap']:.3f}, AUC "
            f"{r['AUC']:.3f}); {hubs}, N10 skewness {r['skewness']:.2f}."
        )
    found.append(
        f"The widest gap is {summary['gap'].idxmax()}'s; the purest {label_field} "
        f"neighbourhoods are {summary['3-NN agreement'].idxmax()}'s "
        f"({summary['3-NN agreement'].max():.3f} of 3 nearest titles share it)."
    )
    return found


def query_title_alignment(
    table: pd.DataFrame,
    paired: Mapping[str, float],
    *,
    split: str,
    ranks: Any,
    n_wrong: int,
    n_same_section: int,
    hardest: Mapping[str, Any] | None = None,
) -> list[str]:
    """Notebook 04's closing sentences.

    Args:
        table: :attr:`toolkit.evaluation.SystemComparison.table` with the systems
            ``dense``, ``bm25`` and ``hybrid``.
        paired: The dense - BM25 paired test on nDCG@10 (``diff``, ``low``, ``high``,
            ``p_value``), e.g. ``SystemComparison.paired("dense", "bm25")``.
        split: Name of the evaluated split.
        ranks: Rank of the first relevant title, one per query.
        n_wrong: Queries with a non-relevant title ranked first.
        n_same_section: How many of those have a top title from the IPC section of a
            relevant title.
        hardest: The worst row of :func:`toolkit.evaluation.failure_gallery` (``query``,
            ``relevant_rank``); ``None`` when there is no failure.

    Returns:
        The sentences, in print order.
    """
    m = table.set_index(["system", "metric"])["mean"]
    systems = list(dict.fromkeys(table["system"]))
    ranks = ranks if isinstance(ranks, pd.Series) else pd.Series(ranks)
    p = paired
    best = max(systems, key=lambda s: m[s, "mrr@10"])
    found = [
        f"On {len(ranks)} {split} queries nDCG@10 is {m['dense', 'ndcg@10']:.3f} for the dense "
        f"model, {m['bm25', 'ndcg@10']:.3f} for BM25 and {m['hybrid', 'ndcg@10']:.3f} for the "
        f"hybrid; the best MRR@10 is {best}'s ({max(m[s, 'mrr@10'] for s in systems):.3f}).",
        f"Dense minus BM25 on nDCG@10 is {p['diff']:+.3f} (95% CI {p['low']:+.3f} to "
        f"{p['high']:+.3f}, p = {p['p_value']:.3f}): "
        + (
            "the interval excludes 0."
            if p["low"] > 0 or p["high"] < 0
            else "the interval includes 0, so these queries do not separate the two."
        ),
        f"The relevant title is ranked first for {(ranks == 1).mean():.0%} of queries; "
        f"{n_wrong} queries have a distractor on top, {n_same_section} of them from the IPC "
        "section of a relevant title.",
    ]
    if hardest is not None:
        found.append(
            f"The hardest case is «{hardest['query']}», whose relevant title comes only at "
            f"rank {hardest['relevant_rank']}."
        )
    return found


def finetuning(
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
    """Notebook 02's closing sentences, computed from its tables.

    Args:
        peaks: ``{recipe name: peak lr reached}``.
        epoch_loss: ``{recipe name: mean loss per epoch}``
            (:func:`toolkit.training.loss_by_epoch`).
        drift: :func:`toolkit.training.drift_summary`'s table.
        comparison: :func:`toolkit.evaluation.before_after`'s table.
        cv: :attr:`toolkit.experiments.CVResult.summary`.
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
