"""Library versions recorded with results: one place that asks the installed packages.

Two sets, named for what they are for:

* :func:`model_library_versions` -- the libraries whose code turns weights into vectors
  (torch, transformers, sentence-transformers); part of a model's fingerprint, so a cached
  embedding computed under other code is not reused.
* :func:`run_library_versions` -- everything that determines a training run's numbers
  (those three plus the toolkit, Python, datasets and accelerate); written into the run
  manifest.
"""

from __future__ import annotations

import functools
import platform

__all__ = ["model_library_versions", "run_library_versions"]


@functools.cache
def model_library_versions() -> dict[str, str]:
    """Versions of torch, transformers and sentence-transformers (cached per process)."""
    import sentence_transformers
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence-transformers": sentence_transformers.__version__,
    }


def run_library_versions() -> dict[str, str]:
    """Versions of the libraries that determine a training run's numbers."""
    import toolkit

    lib = model_library_versions()
    out = {
        "toolkit": toolkit.__version__,
        "sentence-transformers": lib["sentence-transformers"],
        "transformers": lib["transformers"],
        "torch": lib["torch"],
        "python": platform.python_version(),
    }
    for name in ("datasets", "accelerate"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:  # pragma: no cover - both are sentence-transformers[train] deps
            pass
    return out
