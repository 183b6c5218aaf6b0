"""Reduce, cluster and label patent embeddings (UMAP / HDBSCAN / Russian c-TF-IDF).

The pipeline follows BERTopic's shape, with every part pluggable and a documented
default; each step lives in its own module:

1. :func:`reduce` (``reduction``) — UMAP (cosine metric) to a few dimensions, with an
   optional PCA pre-reduction for large inputs and an on-disk cache of the coordinates.
2. :func:`cluster` (``partition``) — scikit-learn HDBSCAN (default), KMeans or agglomerative
   clustering; :func:`cluster_large` (``large``) fits a sample and assigns the other rows.
3. :func:`label_clusters` (``keywords``) — class-based TF-IDF over lemmatised Russian tokens
   (:func:`toolkit.text_ru.lemmatize`), with Russian stop words and a patent boilerplate
   list removed.
4. :func:`agreement`, :func:`silhouette`, :func:`stability`, :func:`shuffled_baseline`,
   :func:`seed_table`, :func:`seed_summary`, :func:`perturb` (``quality``) — how good, how
   stable and how far from chance a clustering is.

Noise: HDBSCAN marks points that belong to no cluster with the label ``-1``
(:data:`NOISE`). Every function states what it does with them.

Example:
    >>> import numpy as np
    >>> from toolkit.clustering import cluster, label_clusters
    >>> X = np.repeat(np.eye(2), 5, axis=0) + 0.01 * np.random.default_rng(0).normal(size=(10, 2))
    >>> labels = cluster(X, method="kmeans", n_clusters=2)
    >>> len(set(labels))
    2
"""

from toolkit.clustering.keywords import label_clusters
from toolkit.clustering.large import LargeClustering, cluster_large
from toolkit.clustering.partition import NOISE, cluster
from toolkit.clustering.quality import (
    agreement,
    perturb,
    seed_summary,
    seed_table,
    shuffled_baseline,
    silhouette,
    stability,
)
from toolkit.clustering.reduction import PCA_ABOVE, PCA_COMPONENTS, reduce

__all__ = [
    "NOISE",
    "PCA_ABOVE",
    "PCA_COMPONENTS",
    "LargeClustering",
    "agreement",
    "cluster",
    "cluster_large",
    "label_clusters",
    "perturb",
    "reduce",
    "seed_summary",
    "seed_table",
    "shuffled_baseline",
    "silhouette",
    "stability",
]
