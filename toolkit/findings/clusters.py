"""Notebook 03's closing sentences: clusters vs IPC and topics, seed stability, lexical."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from toolkit.findings.spread import fmt_spread, stability_word

__all__ = ["patent_clusters"]


def _seed_unit_sentence(s: int, n_titles: int, noise: pd.Series, lex_noise: pd.Series) -> str:
    """What a dense-vs-lexical p-value over UMAP seeds can and cannot say (notebook 03)."""
    return (
        f"Those p-values take the UMAP seed as the unit on the same {n_titles} titles: "
        f"{s} seeds cannot give a p below 2/2^{s} = {2 / 2**s:.3f}, and they say the order "
        "does not depend on the seed, not that it holds for other titles. Noise is scored "
        f"as one group, and the lexical pipeline leaves "
        f"{fmt_spread(100 * lex_noise['mean'], 100 * lex_noise['sd'])}% as noise against "
        f"{fmt_spread(100 * noise['mean'], 100 * noise['sd'])}%, which moves its NMI by "
        "itself."
    )


def patent_clusters(
    *,
    model: str,
    method: str,
    dims: int,
    n_titles: int,
    seeds: Sequence[int],
    dense: pd.DataFrame,
    lexical: pd.DataFrame,
    references: Mapping[str, int],
    stability: Mapping[str, float],
    lexical_stability: Mapping[str, float],
    paired: Mapping[str, Mapping[str, float]],
    illustrative: bool,
) -> list[str]:
    """Notebook 03's closing sentences (every number a summary over UMAP seeds).

    Args:
        model: Model name as the notebook's ``MODEL`` gives it.
        method: Clustering method.
        dims: UMAP dimensions the clustering ran in.
        n_titles: Number of titles clustered.
        seeds: The UMAP seeds (n of every summary).
        dense: :func:`toolkit.clustering.seed_summary` of the dense pipeline.
        lexical: The same for the lexical TF-IDF pipeline.
        references: ``{reference name: number of classes}``.
        stability: Dense pairwise-ARI ``mean`` and ``sd`` over the seeds.
        lexical_stability: The same for the lexical pipeline.
        paired: per reference, dense minus lexical NMI over the same seeds: ``mean``,
            ``sd``, ``wins`` (seeds where dense is higher) and ``p`` (sign-flip test).
        illustrative: The data are the bundled demo titles (written by us).
    """
    s = len(seeds)
    noise = dense.loc["noise share"]
    out = [
        f"Over {s} UMAP seeds, {model} + {dims}-d UMAP + {method} groups the {n_titles} titles "
        f"into {fmt_spread(dense.loc['clusters', 'mean'], dense.loc['clusters', 'sd'])} clusters "
        f"and leaves {fmt_spread(100 * noise['mean'], 100 * noise['sd'])}% "
        "as noise (mean ± sd over seeds)."
    ]
    for name, k in references.items():
        ari, nmi = dense.loc[f"{name} ari"], dense.loc[f"{name} nmi"]
        ch = dense.loc[f"{name} chance nmi"]
        out.append(
            f"Against the {k} {name}s: ARI {fmt_spread(ari['mean'], ari['sd'])} (chance 0), "
            f"NMI {fmt_spread(nmi['mean'], nmi['sd'])} against a shuffled-reference chance level "
            f"of {fmt_spread(ch['mean'], ch['sd'])}; above chance in every seed: "
            f"{'yes' if nmi['min'] > ch['max'] else 'no'}."
        )
    word = stability_word(stability["mean"], stability["sd"], s)
    out.append(
        f"Across the {s} seeds the clustering is {word}: "
        f"mean pairwise ARI {fmt_spread(stability['mean'], stability['sd'])} "
        f"({s * (s - 1) // 2} pairs); no single cluster should be read without that in mind."
    )
    for name, d in paired.items():
        verdict = "above" if d["wins"] == s and d["p"] < 0.05 else "not clearly above"
        lx = lexical.loc[f"{name} nmi"]
        de = dense.loc[f"{name} nmi"]
        out.append(
            f"By NMI with the {name}s the dense pipeline scores {verdict} the lexical TF-IDF "
            f"one: {fmt_spread(de['mean'], de['sd'])} vs {fmt_spread(lx['mean'], lx['sd'])}, "
            f"higher in {int(d['wins'])} of {s} seeds (paired sign-flip p = {d['p']:.3f})."
        )
    if paired:
        out.append(_seed_unit_sentence(s, n_titles, noise, lexical.loc["noise share"]))
    out.append(
        f"Seed stability: dense {fmt_spread(stability['mean'], stability['sd'])} vs lexical "
        f"{fmt_spread(lexical_stability['mean'], lexical_stability['sd'])} mean pairwise ARI."
    )
    if illustrative:
        out.append(
            "Caveat: the demo titles and their topics were written by us to be illustrative (not "
            "real patents) and their IPC letters are our estimates; on real titles the numbers "
            "will differ, and a different embedding model or UMAP setting can change them."
        )
    return out
