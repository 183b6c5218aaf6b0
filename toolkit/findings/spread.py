"""Numbers over seeds: "mean ± sd" rounded to the spread, and the stability verdict.

Numbers from a seeded, chaotic step (UMAP, fine-tuning) are summaries over seeds printed as
mean ± sd, both rounded to the first significant digit of the sd (:func:`fmt_spread`): digits
below the spread are noise that changes with the machine or a 1e-7 change of the vectors, and
a verdict near a threshold is judged with its uncertainty (:func:`stability_word`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

__all__ = ["MAX_DECIMALS", "fmt_spread", "spread_decimals", "spread_table", "stability_word"]


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
