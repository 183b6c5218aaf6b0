"""Notebook 01's closing sentences: anisotropy, cosines of relevant pairs, hubs, agreement."""

from __future__ import annotations

import pandas as pd

from toolkit.findings.spread import fmt_spread

__all__ = ["embedding_space"]


def embedding_space(
    summary: pd.DataFrame,
    label_field: str | None,
    *,
    n_queries: int,
    confidence: float = 0.95,
    illustrative: bool = False,
) -> list[str]:
    """Notebook 01's closing sentences.

    Args:
        summary: One row per model (indexed by name) with the columns ``anisotropy
            titles``, ``hubs (N10 > 20)``, ``relevant median``, ``non-relevant median``,
            ``gap``, ``AUC``, ``AUC low``, ``AUC high`` (bootstrap over queries,
            :func:`toolkit.diagnostics.auc_bootstrap`), ``pairs``, ``relevant``,
            ``skewness``, ``3-NN agreement`` and its chance level ``chance mean``, ``chance
            sd`` (:func:`toolkit.diagnostics.neighbour_agreement_chance`).
        label_field: What the neighbour agreement compares (``"topic"``, ``"IPC section"``);
            ``None`` when the data have no such labels (the agreement columns are then
            absent and its sentences left out).
        n_queries: Queries behind the pairs (the unit the AUC's CI resamples).
        confidence: Level of the AUC intervals.
        illustrative: The data are the bundled demo set (titles written by us).

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
    level = f"{confidence:.0%}"
    for n, r in summary.iterrows():
        hubs = f"{int(r['hubs (N10 > 20)'])} hub titles" if r["hubs (N10 > 20)"] else "no hub title"
        found.append(
            f"{n}: relevant pairs have median cosine {r['relevant median']:.3f} against "
            f"{r['non-relevant median']:.3f} for the rest (gap {r['gap']:.3f}); AUC "
            f"{r['AUC']:.3f} ({level} CI {r['AUC low']:.3f} to {r['AUC high']:.3f}, bootstrap "
            f"over the {n_queries} queries; {int(r['relevant'])} relevant of {int(r['pairs']):,} "
            f"pairs); {hubs}, N10 skewness {r['skewness']:.2f}."
        )
    if label_field is None:  # no topic or IPC labels: no neighbour agreement to report
        found.append(f"The widest gap is {summary['gap'].idxmax()}'s.")
        return found
    found.append(
        f"The widest gap is {summary['gap'].idxmax()}'s; the purest {label_field} "
        f"neighbourhoods are {summary['3-NN agreement'].idxmax()}'s "
        f"({summary['3-NN agreement'].max():.3f} of 3 nearest titles share it)."
    )
    parts = []
    for n, r in summary.iterrows():
        z = (r["3-NN agreement"] - r["chance mean"]) / r["chance sd"] if r["chance sd"] else 0.0
        verdict = "far above it" if z > 3 else "not clearly above it"
        parts.append(
            f"{n} {r['3-NN agreement']:.3f} against "
            f"{fmt_spread(r['chance mean'], r['chance sd'])} ({verdict})"
        )
    found.append(
        f"Chance level of that agreement ({label_field} labels permuted over the titles, mean ± "
        "sd): " + "; ".join(parts) + "."
    )
    if illustrative:
        found.append(
            f"Caveat: the demo titles and queries were written by us to be illustrative (not real "
            f"patents) and their {label_field} labels and IPC letters are our own estimates; the "
            "AUC intervals cover the choice of queries, not of titles or of the annotator, so real "
            "titles or another annotator's judgments could separate differently."
        )
    return found
