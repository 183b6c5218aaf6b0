"""Notebook 04's closing sentences: dense vs BM25 vs fusions, paired tests, failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from toolkit.findings._wording import ci_text, p_text

__all__ = ["query_title_alignment"]


def query_title_alignment(
    table: pd.DataFrame,
    tests: pd.DataFrame,
    *,
    selection: Mapping[str, Any],
    split: str,
    ranks: Any,
    n_wrong: int,
    n_same_section: int | None,
    hardest: Mapping[str, Any] | None = None,
    reference: str = "dense",
    hybrid: str = "rrf(k=60)",
    alpha: float = 0.05,
    illustrative: bool = False,
    failure_counts: Mapping[str, int] | None = None,
    topics: pd.DataFrame | None = None,
    casing: pd.DataFrame | None = None,
) -> list[str]:
    """Notebook 04's closing sentences.

    Args:
        table: :attr:`toolkit.evaluation.SystemComparison.table` (``system``, ``metric``,
            ``mean``, ``low``, ``high``, ``n``).
        tests: :meth:`toolkit.evaluation.SystemComparison.against` the reference on
            ``ndcg@10``, ``mrr@10`` and ``hit@1`` (``system``, ``chosen_on``, ``metric``,
            ``diff``, ``diff_low``, ``diff_high``, ``p_value``, ``p_holm``).
        selection: :meth:`toolkit.fusion.FusionSelection.summary`: ``split``, ``n``,
            ``dense``, ``bm25``, ``weighted``, ``weighted_score``, ``rrf``, ``rrf_score``.
        split: Name of the evaluated split.
        ranks: Rank of the reference's first relevant title, one per query.
        n_wrong: Queries with a non-relevant title ranked first.
        n_same_section: How many of those have a top title from the IPC section of a
            relevant title; ``None`` when the data have no IPC sections.
        hardest: The worst failure of :func:`toolkit.evaluation.failure_gallery`:
            ``{"query": ..., "relevant_rank": ...}``; ``None`` when there is no failure.
        reference: The system every test compares against.
        hybrid: The fixed RRF whose MRR@10 and hit@1 lead is tested.
        alpha: Significance level (after Holm).
        illustrative: The data are the bundled demo set (titles written by us).
        failure_counts: ``{type: queries}`` of :func:`toolkit.diagnostics.failure_types`.
        topics: :func:`toolkit.diagnostics.by_topic` of the reference's nDCG@10 (``topic``,
            ``n`` and a column named like ``reference``).
        casing: :meth:`toolkit.evaluation.SystemComparison.against` the lower-cased model:
            its own rows (no ``diff``) and the same model on text as written.

    Returns:
        The sentences, in print order.
    """
    t = table[table["metric"] == "ndcg@10"].set_index("system")
    tt = tests.set_index(["system", "metric"])
    sel = selection
    ranks = ranks if isinstance(ranks, pd.Series) else pd.Series(ranks)
    chosen = {s: c for (s, _), c in tt["chosen_on"].items()}
    found = [_ndcg_by_system(t, chosen, split), _fusion_choice(sel, reference)]
    others = [s for s in t.index if s != reference]
    found.append(_paired_tests([(s, tt.loc[(s, "ndcg@10")]) for s in others], reference, alpha))
    if hybrid in others:
        claims = _hybrid_claims(tt, hybrid, alpha)
        if claims:
            found.append(
                f"The hybrid {hybrid} against the {reference} model: " + "; ".join(claims) + "."
            )
    found += _failures(ranks, n_wrong, n_same_section, failure_counts, hardest, reference)
    if topics is not None and len(topics):
        found.append(_topic_sentence(topics, reference))
    if casing is not None and len(casing):
        found.append(_casing_sentence(casing, alpha))
    if "bm25" in t.index:
        found.append(_bm25_overlap(t.loc["bm25", "mean"], sel, split, reference))
    if illustrative:
        found.append(
            "Caveat: the titles and queries are illustrative (written by us, not real patents), "
            "the IPC letters are our estimates and the judgments one annotator's."
        )
    return found


def _failures(
    ranks: pd.Series,
    n_wrong: int,
    n_same_section: int | None,
    counts: Mapping[str, int] | None,
    hardest: Mapping[str, Any] | None,
    reference: str,
) -> list[str]:
    """Where the first relevant title lands, what the wrong top-1 titles are, the worst case."""
    section = (
        "." if n_same_section is None
        else f", {n_same_section} of them from the IPC section (our estimate) of a relevant title."
    )
    out = [
        f"The relevant title is ranked first by the {reference} model for "
        f"{(ranks == 1).mean():.0%} of queries; {n_wrong} queries have a distractor on top"
        + section
    ]
    if counts is not None and len(counts):
        out.append(_failure_sentence(counts, n_wrong))
    if hardest is not None:
        out.append(
            f"The hardest case is «{hardest['query']}», whose relevant title comes only at "
            f"rank {hardest['relevant_rank']}."
        )
    return out


def _failure_sentence(counts: Mapping[str, int], n_wrong: int) -> str:
    """What the wrong top-1 titles are, counted by type."""
    near, lure, other = (int(counts.get(k, 0)) for k in ("near miss", "lexical lure", "other"))
    unknown = int(counts.get("unknown topic", 0))
    rest = f", and {unknown} of unknown topic" if unknown else ""
    return (
        f"Of the {n_wrong} wrong top-1 titles, {near} are near misses (the topic of a relevant "
        f"title: the field found, a facet missed), {lure} lexical lures (another topic that "
        f"shares a word stem with the query) and {other} other (another topic, no shared "
        f"stem){rest}; the topics are our labels, so the split is a reading aid, not a test."
    )


def _topic_sentence(topics: pd.DataFrame, reference: str) -> str:
    """The spread of per-topic scores, with the n that makes it uninformative."""
    ranked = topics.sort_values([reference, "topic"])
    lo, hi = ranked.iloc[0], ranked.iloc[-1]
    return (
        f"Per topic ({len(topics)} topics, {int(topics['n'].min())} to "
        f"{int(topics['n'].max())} queries each), {reference} nDCG@10 runs from "
        f"{lo[reference]:.3f} («{lo['topic']}», n = {int(lo['n'])}) to {hi[reference]:.3f} "
        f"(«{hi['topic']}», n = {int(hi['n'])}); with so few queries per topic no topic is "
        "shown to be harder than another."
    )


def _casing_sentence(casing: pd.DataFrame, alpha: float) -> str:
    """Cased input against the lower-cased default (the row without a difference), per metric."""
    before = casing[casing["diff"].isna()].set_index("metric")["mean"]
    parts = []
    for _, r in casing[casing["diff"].notna()].iterrows():
        verdict = "significant" if r["p_holm"] < alpha else "not significant"
        parts.append(
            f"{r['metric']} {before[r['metric']]:.3f} -> {r['mean']:.3f} (difference "
            f"{r['diff']:+.3f} {ci_text(r, 'diff_')}, paired {p_text(r['p_value'])}, {verdict})"
        )
    n = int(casing["n"].iloc[0])
    return (
        f"Casing: the same model fed the text as written instead of lower-cased, on {n} "
        "queries: " + "; ".join(parts) + "."
    )


def _ndcg_by_system(t: pd.DataFrame, chosen: Mapping[str, str], split: str) -> str:
    """Every system's nDCG@10 with its CI; a system tuned on a split says which."""

    def label(s: str) -> str:
        where = chosen.get(s, "fixed")
        return s if where == "fixed" else f"{s} (chosen on {where})"

    return (
        f"On {int(t['n'].iloc[0])} {split} queries, nDCG@10 (mean [95% bootstrap CI]): "
        + "; ".join(
            f"{label(s)} {r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]" for s, r in t.iterrows()
        )
        + "."
    )


def _fusion_choice(sel: Mapping[str, Any], reference: str) -> str:
    """How the fusion settings were chosen on the selection split, with their scores there."""
    return (
        f"The fusion settings were chosen on the {sel['n']} {sel['split']} queries by mean "
        f"nDCG@10 and then left alone: {sel['weighted']} ({sel['split']} "
        f"{sel['weighted_score']:.3f}) and {sel['rrf']} ({sel['split']} {sel['rrf_score']:.3f}), "
        f"against {sel['dense']:.3f} for the {reference} model and {sel['bm25']:.3f} for BM25 "
        f"there"
        + (
            f"; on {sel['split']} no RRF setting reaches the {reference} model."
            if sel["rrf_score"] < sel["dense"]
            else "."
        )
    )


def _paired_tests(nd: list[tuple[str, Any]], reference: str, alpha: float) -> str:
    """Every system's nDCG@10 difference to the reference, tested, and which ones hold."""
    sig = [s for s, r in nd if r["p_holm"] < alpha]
    return (
        f"Against the {reference} model on nDCG@10 (paired sign-flip test; Holm over the "
        f"{len(nd)} systems): "
        + "; ".join(
            f"{s} {r['diff']:+.3f} {ci_text(r, 'diff_')}, {p_text(r['p_value'])}, "
            f"{p_text(r['p_holm'], 'Holm p')}"
            for s, r in nd
        )  # fmt: skip
        + ". "
        + (
            f"Significant at the {alpha:g} level after Holm: {', '.join(sig)}."
            if sig
            else f"None differs significantly at the {alpha:g} level after Holm."
        )  # fmt: skip
    )


def _hybrid_claims(tt: pd.DataFrame, hybrid: str, alpha: float) -> list[str]:
    """The hybrid's lead (or lag) on MRR@10 and hit@1 with its Holm verdict, where tested."""
    claims = []
    for metric, name in (("mrr@10", "MRR@10"), ("hit@1", "hit@1")):
        if (hybrid, metric) not in tt.index:
            continue
        r = tt.loc[(hybrid, metric)]
        word = "leads" if r["diff"] > 0 else "trails" if r["diff"] < 0 else "ties"
        verdict = "significant" if r["p_holm"] < alpha else "not significant"
        claims.append(
            f"on {name} it {word} by {r['diff']:+.3f} {ci_text(r, 'diff_')} "
            f"({p_text(r['p_holm'], 'Holm p')}, {verdict} at {alpha:g})"
        )
    return claims


def _bm25_overlap(bm25: float, sel: Mapping[str, Any], split: str, reference: str) -> str:
    """What would change the verdict: the word overlap BM25's scores reveal."""
    return (
        f"What would change this: BM25 scores {bm25:.3f} on {split} but "
        f"{sel['bm25']:.3f} on {sel['split']}, so these {split} queries share more words with "
        "their titles; a fusion's gain rests on that and would shrink on queries that share "
        f"fewer (on {sel['split']} the chosen {sel['weighted']} gains "
        f"{sel['weighted_score'] - sel['dense']:+.3f} over the {reference} model). A gain "
        "whose interval includes 0 on new queries, written by other hands, would overturn it."
    )
