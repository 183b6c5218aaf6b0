"""Models: load one (built-in, vectors file, folder or hub id), fingerprint it, and its kinds.

Modules, arrows one way (a kind imports ``base``; ``loader`` imports the kinds):

* :mod:`~toolkit.models.base` -- :class:`ModelNotAvailable`, the built-in names,
  :func:`model_fingerprint` and :func:`model_label`;
* :mod:`~toolkit.models.use` -- USE-multilingual-v3 in torch (the offline default);
* :mod:`~toolkit.models.navec` -- the static navec word-vector baseline;
* :mod:`~toolkit.models.vectors` -- precomputed vectors as a model, and their Parquet file;
* :mod:`~toolkit.models.loader` -- :func:`load_model`, which picks the kind.

Example:
    >>> from toolkit.models import load_model, model_fingerprint
    >>> model = load_model()                 # USE-multilingual-v3 in torch, lower-cased input
    >>> navec = load_model("navec")          # static Russian word vectors (unknown words ignored)
    >>> model_fingerprint(model)[:12]
"""

from toolkit.models.base import ModelNotAvailable, builtin_models, model_fingerprint, model_label
from toolkit.models.loader import DEFAULT_MODEL_ENV, load_model
from toolkit.models.navec import build_navec_model
from toolkit.models.use import USEModule, build_use_model, load_use_model
from toolkit.models.vectors import (
    UnknownTextError,
    VectorsFileError,
    VectorsNotTrainable,
    encode_to_file,
    is_vectors_model,
    load_vectors_model,
    read_vectors,
    refuse_training,
    write_vectors,
)

__all__ = [
    "DEFAULT_MODEL_ENV",
    "ModelNotAvailable",
    "USEModule",
    "UnknownTextError",
    "VectorsFileError",
    "VectorsNotTrainable",
    "build_navec_model",
    "build_use_model",
    "builtin_models",
    "encode_to_file",
    "is_vectors_model",
    "load_model",
    "load_use_model",
    "load_vectors_model",
    "model_fingerprint",
    "model_label",
    "read_vectors",
    "refuse_training",
    "write_vectors",
]
