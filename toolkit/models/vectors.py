"""Precomputed vectors as a model: encode once where the weights are, study them anywhere.

``python -m toolkit encode --model M --data D --out vectors.parquet`` (:func:`encode_to_file`)
encodes every title and query text of a set with the model and writes one Parquet file.
``load_model("vectors.parquet")`` (any path ending ``.parquet``; :func:`load_vectors_model`)
turns the file back into a real ``SentenceTransformer`` whose only module,
:class:`VectorLookup`, looks each text up. So :func:`toolkit.encode`, the embedding cache,
:func:`~toolkit.models.model_fingerprint`, :func:`toolkit.search` and the notebooks 01, 03 and
04 use it unchanged. Fine-tuning refuses it (:func:`refuse_training`): it has no weights, only
fixed vectors.

File layout (one row per distinct text):

* ``text`` (string) and ``vector`` (``fixed_size_list<float32>[dim]``). One list column rather
  than one column per dimension: a 1024-d model would otherwise give 1024 Parquet columns, each
  with its own column-chunk metadata and statistics per row group (slow to write and read, and
  larger for small files); the fixed-size list is one contiguous float32 buffer that becomes a
  numpy ``(n, dim)`` array without copying per row, and its type states the dimension.
* schema metadata ``toolkit.vectors``: JSON with ``format``, the source ``model`` (the spec it
  was loaded with) and its ``model_name``, ``revision`` (the hub commit when it can be resolved
  from the local Hugging Face cache, else the revision asked for, else ``null``), the source
  model's ``fingerprint``, ``dim``, ``normalised`` (whether the stored rows, the model's own
  output, are L2-unit; :func:`toolkit.encode` normalises on the way out either way),
  ``versions`` (toolkit, sentence-transformers, transformers, torch) and ``created`` (UTC
  time, the command, the data, the number of texts, the device).

A file is checked when loaded; each problem is a :class:`VectorsFileError` naming the file, and
the row (counted from 0) and text where there is one: no such file, not Parquet, missing or
incomplete metadata, missing columns, an empty table, a null text or vector, a vector of the
wrong length, NaN or infinite values, rows that are not unit length although ``normalised``
says so, and one text with two different vectors (exact duplicates are kept once).

A text that is not in the file raises :class:`UnknownTextError` naming it (the first few when
many) and the file.

Example:
    >>> from toolkit.models.vectors import encode_to_file   # doctest: +SKIP
    >>> from toolkit import load_model, encode
    >>> encode_to_file(load_model(), ["робот", "БЕТОН"], "v.parquet", model_spec="default")
    >>> model = load_model("v.parquet")
    >>> encode(model, ["робот"]).shape
    (1, 512)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import InputModule

from toolkit._io import write_atomic
from toolkit._numerics import encode_batch_size
from toolkit._validation import check_int, check_texts
from toolkit._versions import model_library_versions
from toolkit.models.base import (
    BUILTIN_MODELS,
    HUB_ID,
    ModelNotAvailable,
    mark_pristine,
    model_fingerprint,
    model_label,
    sha256_text,
)

__all__ = [
    "FORMAT",
    "METADATA_KEY",
    "UnknownTextError",
    "VectorLookup",
    "VectorsModel",
    "VectorsFileError",
    "VectorsNotTrainable",
    "check_out_path",
    "encode_to_file",
    "is_vectors_model",
    "load_vectors_model",
    "read_vectors",
    "refuse_training",
    "texts_of",
    "write_vectors",
]

FORMAT = "toolkit-vectors/1"
"""Value of the ``format`` metadata entry this version writes and reads."""

METADATA_KEY = b"toolkit.vectors"
"""Parquet schema-metadata key holding the JSON record."""

_REQUIRED = (
    "format",
    "model",
    "revision",
    "fingerprint",
    "dim",
    "normalised",
    "versions",
    "created",
)
_FILE_NAME = "vectors.parquet"  # inside a saved SentenceTransformer folder
_SHOW = 3  # unknown texts named in a message
_UNIT_TOL = 1e-3  # |norm - 1| allowed for a row of a file that says it is normalised


class VectorsFileError(ModelNotAvailable):
    """A vectors file is missing or malformed (the message names the file, row and text)."""


class UnknownTextError(ValueError):
    """A text asked for is not in the vectors file (the message names it and the file)."""


class VectorsNotTrainable(TypeError):
    """Fine-tuning was asked of a precomputed-vectors model."""


# ----------------------------------------------------------------------------- the module


class VectorLookup(InputModule):
    """A sentence-transformers input module that returns stored vectors by exact text.

    The vectors are a persistent buffer (so they are in the state dict, and
    :func:`~toolkit.models.model_fingerprint` hashes them); the text order and the source
    record are in :meth:`get_config_dict` (so the fingerprint covers them too). There are no
    trainable parameters.

    Args:
        texts: The distinct texts, row order.
        vectors: ``(len(texts), dim)`` float32 array.
        metadata: The file's ``toolkit.vectors`` record.
        source: Where the vectors came from (the file), for messages.
    """

    save_in_root = True

    def __init__(
        self, texts: Sequence[str], vectors: np.ndarray, metadata: dict[str, Any], source: str = ""
    ) -> None:
        super().__init__()
        self.texts = list(texts)
        self._row = {text: i for i, text in enumerate(self.texts)}
        if len(self._row) != len(self.texts):
            raise ValueError("texts: duplicates; pass each text once")
        array = np.ascontiguousarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != len(self.texts):
            raise ValueError(
                f"vectors: expected shape ({len(self.texts)}, dim), got {tuple(array.shape)}"
            )
        self.register_buffer("vectors", torch.from_numpy(array.copy()))
        self.metadata = dict(metadata)
        self.source = source
        self.max_seq_length = None  # no tokens: nothing is truncated

    def get_embedding_dimension(self) -> int:
        """Return the vectors' dimension."""
        return int(self.vectors.shape[1])

    def row_ids(self, texts: Sequence[str]) -> list[int]:
        """Rows of ``texts`` in the table.

        Raises:
            UnknownTextError: Some texts are not in the table (the first few are named).
        """
        missing = [t for t in dict.fromkeys(texts) if t not in self._row]
        if missing:
            shown = ", ".join(repr(t[:80]) for t in missing[:_SHOW])
            more = f" and {len(missing) - _SHOW} more" if len(missing) > _SHOW else ""
            raise UnknownTextError(
                f"{len(missing)} text(s) not in the vectors file {self.source or '(in memory)'}: "
                f"{shown}{more}. It holds {len(self.texts)} texts encoded by "
                f"{self.metadata.get('model')!r}; encode these too (python -m toolkit encode "
                "--model <that model> --texts FILE ...) on a machine that has the model"
            )
        return [self._row[t] for t in texts]

    def preprocess(
        self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Map texts to their rows (``{"row_ids": (B,) long}``).

        Raises:
            ValueError: A prompt was given (the stored vectors were made without one).
            UnknownTextError: A text is not in the file.
        """
        texts = list(inputs)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"inputs[{i}]: expected a str, got {type(text).__name__}")
        if prompt:
            raise ValueError(
                f"prompt {prompt[:40]!r}: the vectors in {self.source} were stored without a "
                "prompt; encode the prompted texts with the source model instead"
            )
        return {"row_ids": torch.tensor(self.row_ids(texts), dtype=torch.long)}

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """Add ``sentence_embedding``: the stored rows, exactly as stored."""
        features["sentence_embedding"] = self.vectors[features["row_ids"].to(self.vectors.device)]
        return features

    def get_config_dict(self) -> dict[str, Any]:
        """What identifies these vectors (not when they were made): part of the fingerprint."""
        meta = self.metadata
        return {
            "source_model": meta.get("model"),
            "source_revision": meta.get("revision"),
            "source_fingerprint": meta.get("fingerprint"),
            "normalised": meta.get("normalised"),
            "n_texts": len(self.texts),
            "texts_sha256": _texts_digest(self.texts),
        }

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any):
        """Write the table as ``vectors.parquet`` (same format, same record) into the folder."""
        os.makedirs(output_path, exist_ok=True)
        write_vectors(
            Path(output_path) / _FILE_NAME, self.texts, self.vectors.cpu().numpy(), self.metadata
        )

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", **kwargs: Any) -> VectorLookup:
        """Load the module saved by :meth:`save` (``SentenceTransformer(folder)`` calls this)."""
        path = Path(model_name_or_path) / subfolder / _FILE_NAME
        texts, vectors, metadata = read_vectors(path)
        return cls(texts, vectors, metadata, source=str(path))


class VectorsModel(SentenceTransformer):
    """A ``SentenceTransformer`` over a :class:`VectorLookup`, checking all texts up front.

    ``encode`` looks every text up before sentence-transformers sorts and batches them, so an
    :class:`UnknownTextError` counts and names the missing texts of the whole call, in input
    order (the module alone would only see one batch). Everything else is the library's.
    """

    def encode(self, inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
        """``SentenceTransformer.encode``, after checking that every text is in the table."""
        if inputs is None:  # older callers pass sentences=...
            inputs = kwargs.pop("sentences", None)
        texts = [inputs] if isinstance(inputs, str) else inputs
        if isinstance(texts, list | tuple) and all(isinstance(t, str) for t in texts):
            lookup = self[0]
            if isinstance(lookup, VectorLookup):
                lookup.row_ids(texts)
        return super().encode(inputs, *args, **kwargs)


def _texts_digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


# --------------------------------------------------------------------------- file I/O


def write_vectors(
    path: str | os.PathLike, texts: Sequence[str], vectors: np.ndarray, metadata: dict[str, Any]
) -> Path:
    """Write texts, vectors and the metadata record as Parquet, atomically.

    Args:
        path: Target ``.parquet`` file.
        texts: Distinct texts.
        vectors: ``(len(texts), dim)`` float array (stored as float32).
        metadata: The ``toolkit.vectors`` record (JSON-serialisable).

    Returns:
        The path written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != len(texts):
        raise ValueError(f"vectors: expected shape ({len(texts)}, dim), got {array.shape}")
    column = pa.FixedSizeListArray.from_arrays(pa.array(array.reshape(-1)), array.shape[1])
    table = pa.table({"text": pa.array(list(texts), pa.string()), "vector": column})
    record = json.dumps(metadata, ensure_ascii=False, sort_keys=True).encode("utf-8")
    table = table.replace_schema_metadata({METADATA_KEY: record})
    # Floats: no dictionary (pyarrow's default tries one per column; on 32-bit floats it only
    # adds a failed dictionary page) and BYTE_STREAM_SPLIT, Parquet's lossless float encoding
    # that lets zstd compress the exponent bytes: 1.45 MB -> 0.84 MB for the demo set's 473 x 512.
    options = {
        "compression": "zstd",
        "use_dictionary": ["text"],
        "column_encoding": {"vector.list.element": "BYTE_STREAM_SPLIT"},
    }
    # 0o644: a file meant to be copied to other machines (mkstemp alone gives 0o600)
    return write_atomic(path, lambda fh: pq.write_table(table, fh, **options), mode=0o644)


def read_vectors(path: str | os.PathLike) -> tuple[list[str], np.ndarray, dict[str, Any]]:
    """Read and check a vectors file.

    Returns:
        ``(texts, vectors, metadata)``: distinct texts in file order, a float32
        ``(n, dim)`` array and the ``toolkit.vectors`` record.

    Raises:
        VectorsFileError: Anything wrong with the file (see the module docstring); the
            message names the file, and the row and text where there is one.
    """
    path = Path(path)
    table = _read_table(path)
    metadata = _check_metadata(path, table.schema.metadata or {})
    _check_columns(path, table)
    texts = table.column("text").to_pylist()
    where = functools.partial(_row_name, path, texts)
    for i, text in enumerate(texts):
        if text is None:
            raise VectorsFileError(f"{where(i)}: the text is null")
    vectors = _vector_rows(table.column("vector"), metadata["dim"], where)
    if metadata["normalised"]:
        _check_unit_rows(vectors, where)
    texts, vectors = _distinct_rows(texts, vectors, where)
    return texts, vectors, metadata


def _read_table(path: Path) -> Any:
    """The file as a ``pyarrow.Table``, or a :class:`VectorsFileError` naming why not."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        what = "is a folder" if path.is_dir() else "no such file"
        raise VectorsFileError(f"vectors file {path}: {what}")
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        message = " ".join(str(exc).split())[:300]
        raise VectorsFileError(
            f"vectors file {path}: cannot read it as Parquet ({type(exc).__name__}: {message})"
        ) from None


def _check_columns(path: Path, table: Any) -> None:
    """A ``text`` column of strings, a ``vector`` column of float lists, and some rows."""
    import pyarrow as pa

    for name in ("text", "vector"):
        if name not in table.column_names:
            raise VectorsFileError(
                f"vectors file {path}: no {name!r} column; columns found: "
                f"{', '.join(table.column_names)}"
            )
    if table.num_rows == 0:
        raise VectorsFileError(f"vectors file {path}: no rows")
    text_type = table.column("text").type
    if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
        raise VectorsFileError(
            f"vectors file {path}, column 'text': expected strings, got {text_type}"
        )
    list_type = table.column("vector").type
    if not (
        pa.types.is_list(list_type)
        or pa.types.is_large_list(list_type)
        or pa.types.is_fixed_size_list(list_type)
    ) or not pa.types.is_floating(list_type.value_type):
        raise VectorsFileError(
            f"vectors file {path}, column 'vector': expected a list of floats per row, got "
            f"{list_type}"
        )


def _row_name(path: Path, texts: list, i: int) -> str:
    """Row ``i`` of a file, for messages: the file, the row (counting from 0) and its text."""
    text = texts[i]
    return f"vectors file {path}, row {i} (counting from 0)" + (
        f", text {text[:60]!r}" if isinstance(text, str) else ""
    )


def _vector_rows(column: Any, dim: int, where: Callable[[int], str]) -> np.ndarray:
    """The ``vector`` column as a float32 ``(n, dim)`` array: no null, short or NaN row."""
    lengths = column.combine_chunks().value_lengths().to_numpy(zero_copy_only=False)
    nulls = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
    if nulls.size:
        raise VectorsFileError(f"{where(int(nulls[0]))}: the vector is null")
    wrong = np.flatnonzero(lengths != dim)
    if wrong.size:
        i = int(wrong[0])
        raise VectorsFileError(
            f"{where(i)}: the vector has {int(lengths[i])} values; the metadata says dim={dim}"
        )
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
    vectors = np.asarray(flat, dtype=np.float32).reshape(len(lengths), dim)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise VectorsFileError(f"{where(int(bad[0]))}: the vector holds NaN or infinite values")
    return vectors


def _check_unit_rows(vectors: np.ndarray, where: Callable[[int], str]) -> None:
    """Every row is unit length (or zero), as a file that says ``normalised`` promises."""
    norms = np.linalg.norm(vectors, axis=1)
    off = np.flatnonzero((np.abs(norms - 1) > _UNIT_TOL) & (norms != 0))
    if off.size:
        i = int(off[0])
        raise VectorsFileError(
            f"{where(i)}: the vector's length is {norms[i]:.4g}, not 1, although the metadata "
            "says normalised=true"
        )


def _distinct_rows(
    texts: list[str], vectors: np.ndarray, where: Callable[[int], str]
) -> tuple[list[str], np.ndarray]:
    """Keep each text's first row; a repeated text must repeat its vector exactly."""
    first: dict[str, int] = {}
    keep = []
    for i, text in enumerate(texts):
        j = first.setdefault(text, i)
        if j == i:
            keep.append(i)
        elif not np.array_equal(vectors[i], vectors[j]):
            raise VectorsFileError(
                f"{where(i)}: the same text as row {j} with a different vector; a text must have "
                "one vector"
            )
    if len(keep) < len(texts):
        return [texts[i] for i in keep], vectors[keep]
    return texts, vectors


def _check_metadata(path: Path, schema_metadata: dict[bytes, bytes]) -> dict[str, Any]:
    raw = schema_metadata.get(METADATA_KEY)
    if raw is None:
        raise VectorsFileError(
            f"vectors file {path}: no {METADATA_KEY.decode()!r} metadata (model, revision, "
            "fingerprint, ...); write vectors files with python -m toolkit encode"
        )
    try:
        metadata = json.loads(raw)
    except ValueError as exc:
        raise VectorsFileError(
            f"vectors file {path}: the {METADATA_KEY.decode()!r} metadata is not JSON ({exc})"
        ) from None
    if not isinstance(metadata, dict):
        raise VectorsFileError(
            f"vectors file {path}: the {METADATA_KEY.decode()!r} metadata is not a JSON object"
        )
    missing = [k for k in _REQUIRED if k not in metadata]
    if missing:
        raise VectorsFileError(
            f"vectors file {path}: metadata lacks {', '.join(missing)} (required: "
            f"{', '.join(_REQUIRED)})"
        )
    if metadata["format"] != FORMAT:
        raise VectorsFileError(
            f"vectors file {path}: metadata format {metadata['format']!r}; this toolkit reads "
            f"{FORMAT!r}"
        )
    dim = metadata["dim"]
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise VectorsFileError(
            f"vectors file {path}: metadata dim must be an integer >= 1, got {dim!r}"
        )
    if not isinstance(metadata["normalised"], bool):
        raise VectorsFileError(
            f"vectors file {path}: metadata normalised must be true or false, got "
            f"{metadata['normalised']!r}"
        )
    if not isinstance(metadata["fingerprint"], str) or not metadata["fingerprint"]:
        raise VectorsFileError(f"vectors file {path}: metadata fingerprint is empty")
    return metadata


# ------------------------------------------------------------------------ model side


def load_vectors_model(
    path: str | os.PathLike, *, device: str | None = None
) -> SentenceTransformer:
    """Load a vectors file as a ``SentenceTransformer`` (what ``load_model(path)`` does).

    Args:
        path: A file written by :func:`encode_to_file` / ``python -m toolkit encode``.
        device: Torch device for the table; ``None`` lets sentence-transformers choose.

    Returns:
        A model with one :class:`VectorLookup` module; ``encode`` returns the stored vectors,
        similarity is cosine, and it is named ``vectors:<source model name>``.

    Raises:
        VectorsFileError: The file is missing or malformed.
    """
    path = Path(path).expanduser()
    texts, vectors, metadata = read_vectors(path)
    module = VectorLookup(texts, vectors, metadata, source=str(path))
    model = VectorsModel(modules=[module], device=device, similarity_fn_name="cosine")
    model.model_card_data.model_name = f"vectors:{metadata.get('model_name') or metadata['model']}"
    # fresh from an unchanged file: a fingerprint recorded for it is reused (see base.py)
    stat = path.stat()
    mark_pristine(
        model, sha256_text(json.dumps([str(path.resolve()), stat.st_size, stat.st_mtime_ns]))
    )
    return model


def is_vectors_model(model: Any) -> bool:
    """True when ``model`` is a precomputed-vectors model (has a :class:`VectorLookup`)."""
    try:
        return any(isinstance(m, VectorLookup) for m in model)
    except TypeError:  # not iterable: not a SentenceTransformer
        return False


def refuse_training(model: Any) -> None:
    """Raise :class:`VectorsNotTrainable` for a vectors model; do nothing otherwise."""
    if not is_vectors_model(model):
        return
    module = next(m for m in model if isinstance(m, VectorLookup))
    source = module.metadata.get("model")
    raise VectorsNotTrainable(
        f"{module.source or 'this model'} holds precomputed vectors ({len(module.texts)} texts "
        f"encoded by {source!r}), not a model: vectors cannot be fine-tuned. Fine-tune the model "
        f"they came from instead (e.g. BASE_MODEL={source!r} on a machine that has its weights), "
        "then encode the set with the fine-tuned model (python -m toolkit encode --model "
        "<fine-tuned folder> --out vectors.parquet) and study that file"
    )


# ----------------------------------------------------------------------- encode side


def texts_of(rs: Any) -> list[str]:
    """Every title, then every query text, of a retrieval set, each once, in set order."""
    return list(dict.fromkeys([*rs.corpus.values(), *rs.queries.values()]))


def encode_to_file(
    model: SentenceTransformer,
    texts: Sequence[str],
    out: str | os.PathLike,
    *,
    model_spec: str | None = None,
    revision: str | None = None,
    data: str | None = None,
    command: str | None = None,
    batch_size: int | None = None,
    show_progress: bool | None = None,
) -> Path:
    """Encode texts with the model and write them with their record to ``out``.

    The file stores the model's own output (``model.encode``, float32), not
    :func:`toolkit.encode`'s re-normalised rows: :func:`toolkit.encode` normalises whatever a
    model returns, so a lookup model returning the model's own output gives, through
    :func:`toolkit.encode`, bitwise the vectors the source model gives (re-normalising an
    already normalised float32 row can move its last bit, so storing normalised rows would not).
    The texts are encoded in one ``model.encode`` call, as :func:`toolkit.encode` does for up
    to 4,096 new texts; the embedding cache is not used (this runs once, where the model is).

    Args:
        model: The source model (a ``SentenceTransformer``).
        texts: The texts; duplicates are stored once.
        out: Target file; must end in ``.parquet`` (how ``load_model`` recognises it).
        model_spec: What the model was loaded from (builtin name, hub id or folder); default
            its label.
        revision: The hub revision asked for; the commit is looked up in the local Hugging
            Face cache for a hub id and recorded instead when found.
        data: What the texts came from, for the record.
        command: The command line, for the record (default: ``sys.argv``).
        batch_size: Passed to ``model.encode``; ``None`` takes ``$TOOLKIT_ENCODE_BATCH_SIZE``
            or 64, as :func:`toolkit.encode` does.
        show_progress: Progress bar; ``None`` shows one above 1,000 texts.

    Returns:
        The written path.

    Raises:
        ValueError: ``out`` does not end in ``.parquet``, no texts, ``batch_size < 1``, or
            the model returned NaN or infinite values (the message names the first text).
        TypeError: ``texts`` is not a list of strings, or ``batch_size`` not an integer.
    """
    out = check_out_path(out)
    items = list(dict.fromkeys(check_texts(texts, check_unicode=True)))
    if not items:
        raise ValueError("texts: nothing to encode")
    if batch_size is None:
        batch_size = encode_batch_size()
    batch_size = check_int(batch_size, "batch_size")
    show = len(items) > 1000 if show_progress is None else show_progress
    vectors = _finite_vectors(model, items, batch_size, show)
    spec = str(model_spec) if model_spec is not None else model_label(model)
    created = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command if command is not None else " ".join(sys.argv),
        "data": data,
        "texts": len(items),
        "device": str(getattr(model, "device", "")),
        "python": platform.python_version(),
    }
    metadata = _record(model, vectors, spec, _resolved_revision(spec, revision), created)
    return write_vectors(out, items, vectors, metadata)


def _finite_vectors(
    model: SentenceTransformer, items: list[str], batch_size: int, show: bool
) -> np.ndarray:
    """The model's own float32 output for ``items`` (one call), refusing NaN or infinity."""
    vectors = np.asarray(
        model.encode(items, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=show),
        dtype=np.float32,
    )
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise ValueError(
            f"the model returned NaN or infinite values for {bad.size} text(s), first "
            f"{items[int(bad[0])][:80]!r}; nothing written"
        )
    return vectors


def _record(
    model: SentenceTransformer,
    vectors: np.ndarray,
    spec: str,
    revision: str | None,
    created: dict[str, Any],
) -> dict[str, Any]:
    """The file's ``toolkit.vectors`` record (see the module docstring)."""
    import toolkit

    norms = np.linalg.norm(vectors, axis=1)
    return {
        "format": FORMAT,
        "model": spec,
        "model_name": model_label(model),
        "revision": revision,
        "fingerprint": model_fingerprint(model),
        "dim": int(vectors.shape[1]),
        # whether the model's own output is L2-unit (zero rows allowed); toolkit.encode
        # normalises on the way out either way
        "normalised": bool(np.all((np.abs(norms - 1) <= _UNIT_TOL) | (norms == 0))),
        "versions": {"toolkit": toolkit.__version__, **model_library_versions()},
        "created": created,
    }


def check_out_path(out: str | os.PathLike) -> Path:
    """Return ``out`` as a Path, or raise ``ValueError`` unless it ends in ``.parquet``."""
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise ValueError(f"--out {out}: expected a file name ending in .parquet")
    if out.is_dir():
        raise ValueError(f"--out {out}: is a folder; expected a file name ending in .parquet")
    return out


def _resolved_revision(spec: str, revision: str | None) -> str | None:
    """The hub commit of a cached hub model, else the revision asked for."""
    if spec in BUILTIN_MODELS or Path(spec).expanduser().exists() or not HUB_ID.match(spec):
        return revision
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(spec, revision=revision, local_files_only=True)
    except Exception:  # not in the cache (or no hub library): keep what was asked for
        return revision
    return Path(folder).name or revision
