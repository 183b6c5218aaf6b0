"""Notebook 03's "What we found": sentences computed from the seed summaries.

Every number a sentence gives is a summary over UMAP seeds, printed as mean ± sd with both
rounded to the first significant digit of the sd (:func:`fmt_spread`): a finding about a
seeded, chaotic pipeline is its distribution over seeds, and digits below its spread are
noise that changes with the machine or a 1e-7 change of the vectors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

MAX_DECIMALS = 3


def spread_decimals(sd: float, max_decimals: int = MAX_DECIMALS) -> int:
    """Decimals that keep the first significant digit of ``sd`` (``max_decimals`` if sd is 0)."""
    if not math.isfinite(sd) or sd < 0:
        raise ValueError(f"sd: expected a finite number >= 0, got {sd!r}")
    if sd == 0:
        return max_decimals
    return min(max(0, -math.floor(math.log10(sd))), max_decimals)


def fmt_spread(mean: float, sd: float, max_decimals: int = MAX_DECIMALS) -> str:
    """``"0.61 ± 0.02"``: mean and sd rounded to the first significant digit of the sd.

    Example:
        >>> fmt_spread(0.6084, 0.0213), fmt_spread(23.6, 1.3), fmt_spread(-0.0001, 0.0002)
        ('0.61 ± 0.02', '24 ± 1', '0.000 ± 0.000')
    """
    d = spread_decimals(sd, max_decimals)
    return f"{round(mean, d) + 0.0:.{d}f} ± {sd:.{d}f}"  # + 0.0: never print "-0.000"


def spread_table(summary: pd.DataFrame, rows: Sequence[str] | None = None) -> pd.Series:
    """``mean ± sd`` strings for the rows of a :func:`toolkit.clustering.seed_summary`.

    A summary of one run (``n_seeds == 1``, e.g. a deterministic method) prints the value
    alone, to 3 significant digits.
    """
    picked = summary if rows is None else summary.loc[list(rows)]
    return pd.Series(
        {
            k: fmt_spread(r["mean"], r["sd"]) if r["n_seeds"] > 1 else f"{r['mean']:.3g}"
            for k, r in picked.iterrows()
        },
        name="mean ± sd",
    )


def stability_word(ari_mean: float, ari_sd: float, n_seeds: int) -> str:
    """Words for a mean pairwise ARI across seeds, judged with its uncertainty.

    "stable" when even the low end of mean ± 2 sd/sqrt(n_seeds) is >= 0.8, "unstable" when
    even its high end is < 0.5, "only moderately stable" otherwise: a mean near a threshold
    does not get a word that another machine's vectors could flip.

    Example:
        >>> [stability_word(m, sd, 10) for m, sd in [(0.9, 0.02), (0.48, 0.09), (0.3, 0.05)]]
        ['stable', 'only moderately stable', 'unstable']
    """
    half = 2 * ari_sd / math.sqrt(max(n_seeds, 1))
    if ari_mean - half >= 0.8:
        return "stable"
    return "unstable" if ari_mean + half < 0.5 else "only moderately stable"


def cluster_findings(
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
    """The sentences of notebook 03's "What we found".

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
        verdict = "beats" if d["wins"] == s and d["p"] < 0.05 else "does not clearly beat"
        lx = lexical.loc[f"{name} nmi"]
        de = dense.loc[f"{name} nmi"]
        out.append(
            f"By NMI with the {name}s the dense model {verdict} lexical TF-IDF: "
            f"{fmt_spread(de['mean'], de['sd'])} vs {fmt_spread(lx['mean'], lx['sd'])}, higher in "
            f"{int(d['wins'])} of {s} seeds (paired sign-flip p = {d['p']:.3f})."
        )
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
