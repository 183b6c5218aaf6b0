"""Research toolkit for Russian patent semantic search.

The public verbs are re-exported here and imported lazily, so ``import toolkit``
stays fast (sentence-transformers and torch load only when a model is needed).

Example:
    >>> import toolkit
    >>> model = toolkit.load_model()          # offline Russian default
    >>> vectors = toolkit.encode(model, ["роботы для доставки товаров"])
"""

from __future__ import annotations

import importlib
from typing import Any

from toolkit._numerics import pin_numba_target

__version__ = "0.1.0"

# Before umap-learn / pynndescent compile anything: numba code for the portable x86-64
# target, so UMAP layouts and clusters do not change with the CPU (see toolkit/_numerics.py).
pin_numba_target()

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "load_model": "toolkit.models",
    "model_fingerprint": "toolkit.models",
    "ModelNotAvailable": "toolkit.models",
    "encode": "toolkit.encoding",
    "EmbeddingCache": "toolkit.encoding",
    "RetrievalSet": "toolkit.data",
    "DataError": "toolkit.data",
    "demo": "toolkit.data",
    "load_pairs": "toolkit.data",
    "load_retrieval_set": "toolkit.data",
    "retrieval_metrics": "toolkit.metrics",
    "retrieval_metrics_from_embeddings": "toolkit.metrics",
    "bootstrap_ci": "toolkit.stats",
    "paired_test": "toolkit.stats",
    "bm25_scores": "toolkit.lexical",
    "compare_systems": "toolkit.evaluation",
    "search": "toolkit.retrieval",
    "explore": "toolkit.explorer_widget",
    "finetune": "toolkit.training",
    "reduce": "toolkit.clustering",
    "cluster": "toolkit.clustering",
    "label_clusters": "toolkit.clustering",
    "agreement": "toolkit.clustering",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
