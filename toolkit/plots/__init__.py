"""Figure functions: each takes plain data and returns a ``plotly.graph_objects.Figure``.

None of them calls ``.show()``; display or save the returned figure yourself. In a notebook,
call :func:`setup_notebook` once: every displayed figure then also carries a static PNG that
GitHub and nbviewer show (see :mod:`toolkit.plots.notebook`).

Example:
    >>> from toolkit.plots import plot_rank
    >>> fig = plot_rank({"q1": 1, "q2": 7, "q3": None})
"""

from __future__ import annotations

from toolkit.plots.cluster_contingency import plot_cluster_contingency
from toolkit.plots.cluster_keywords import plot_cluster_keywords
from toolkit.plots.cluster_map import plot_cluster_map
from toolkit.plots.embedding_map import plot_embedding_map
from toolkit.plots.loss_curve import plot_loss_curve
from toolkit.plots.lr_schedule import plot_lr_schedule
from toolkit.plots.margin_plot import plot_margins
from toolkit.plots.model_comparison import plot_model_comparison
from toolkit.plots.notebook import setup_notebook
from toolkit.plots.rank_plot import plot_rank
from toolkit.plots.similarity_distribution import plot_similarity_distribution
from toolkit.plots.similarity_heatmap import plot_similarity_heatmap
from toolkit.plots.warmup_sensitivity import plot_warmup_sensitivity

__all__ = [
    "plot_cluster_contingency",
    "plot_cluster_keywords",
    "plot_cluster_map",
    "plot_embedding_map",
    "plot_loss_curve",
    "plot_lr_schedule",
    "plot_margins",
    "plot_model_comparison",
    "plot_rank",
    "plot_similarity_distribution",
    "plot_similarity_heatmap",
    "plot_warmup_sensitivity",
    "setup_notebook",
]
