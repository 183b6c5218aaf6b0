"""The "What we found" sentences of the notebooks, computed from their numbers.

One function per notebook; each takes the tables the notebook has already computed and
returns the sentences it prints, one per line, so the prose is written
once, next to the other prose, and tested against the committed notebooks' output.

* :func:`embedding_space` -- notebook 01 (anisotropy, relevant vs non-relevant cosines,
  hubs, neighbour agreement);
* :func:`finetuning` -- notebook 02 (the origin code's fit() call, the card's lr, training
  loss, drift, before/after, judged@10 and the untrained baselines, the card's widget
  entries, cross-validation);
* :func:`patent_clusters` -- notebook 03 (clusters vs IPC sections and topics, seed
  stability, dense vs lexical), with :func:`fmt_spread` for its "mean ± sd" numbers;
* :func:`query_title_alignment` -- notebook 04 (dense vs BM25 vs fusions chosen on dev,
  paired tests with Holm, the hybrid's MRR/hit@1 lead tested, first-rank failures and
  their types, per-topic scores, casing).

One module per notebook (``embedding``, ``finetuning``, ``clusters``, ``alignment``) and
the shared "mean ± sd" formats in :mod:`~toolkit.findings.spread` (and the p-value and
interval wording in ``_wording``, private to the package); a new notebook adds one module
and its import line here.
"""

from toolkit.findings.alignment import query_title_alignment
from toolkit.findings.clusters import patent_clusters
from toolkit.findings.embedding import embedding_space
from toolkit.findings.finetuning import finetuning
from toolkit.findings.spread import fmt_spread, spread_table, stability_word

__all__ = [
    "embedding_space",
    "finetuning",
    "fmt_spread",
    "patent_clusters",
    "query_title_alignment",
    "spread_table",
    "stability_word",
]
