"""Streaming encode of a large corpus file into a resumable, memory-mapped vector store.

:func:`encode_corpus` reads a CSV, Parquet or JSONL file chunk by chunk (millions of rows),
encodes each chunk through :func:`toolkit.encode` (so every vector also lands in the
embedding cache) and writes it into a store folder:

* ``vectors.npy`` — ``float32`` ``(rows, dim)``, unit rows, in file order; a standard
  ``.npy`` file created with :func:`numpy.lib.format.open_memmap`, read back with
  ``np.load(path, mmap_mode="r")`` without loading it into memory;
* ``ids.txt`` — the id column, one id per line, UTF-8, same order;
* ``manifest.json`` — source file (path, size, mtime), columns, model label and
  fingerprint, ``dim``, ``rows``, ``rows_done`` and ``complete``.

**Memory bound.** Per chunk the process holds the reader's chunk of ids and texts, one
``chunk_size x dim x 4`` byte block of vectors (written in place into a memory map of just
that chunk's rows, which is unmapped after the flush) and the cache look-up of that chunk;
so peak memory is about ``model + chunk_size x (dim x 4 x 2 + text bytes) + reader buffer``
and does not grow with the number of rows (4,096 x 1,024-d: 32 MiB of vectors).

**Resume after a kill.** ``rows_done`` in the manifest is advanced only after the chunk's
rows of ``vectors.npy`` are flushed to disk (``msync``) and its ids appended and
``fsync``-ed; the manifest itself is replaced atomically (:func:`toolkit._io.write_atomic`).
A run killed at any point (``kill -9`` included) restarts from ``rows_done``: the rows
already written are kept, the ids file is cut back to the recorded byte length, and the
interrupted chunk is re-encoded, mostly from the embedding cache.

**Several GPUs.** ``device="cuda:0,cuda:1"`` starts a sentence-transformers multi-process
pool (``model.start_multi_process_pool``) and encodes every chunk through it. Use it from a
script or ``python -m toolkit encode-corpus``, not from Jupyter: the pool's worker processes
are known to kill notebook kernels (sentence-transformers issue #2235).

Example:
    >>> from toolkit.streaming import encode_corpus, open_store
    >>> encode_corpus("titles.csv", "store/", id_column="id", text_column="title")
    >>> vectors, ids = open_store("store/")
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from toolkit._io import write_atomic
from toolkit._validation import check_int

__all__ = ["StreamResult", "encode_corpus", "open_store"]

FORMAT_VERSION = 1
DEFAULT_CHUNK = 4096
_VECTORS, _IDS, _MANIFEST = "vectors.npy", "ids.txt", "manifest.json"
_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
            ".ndjson": "jsonl"}


@dataclass(frozen=True)
class StreamResult:
    """What :func:`encode_corpus` did.

    Attributes:
        out_dir: The store folder.
        rows: Rows in the corpus (= rows of ``vectors.npy``).
        dim: Vector width.
        rows_encoded: Rows processed by this call (0 when the store was already complete).
        rows_reused: Rows found already written by an earlier (interrupted) run.
        fingerprint: The model's :func:`~toolkit.models.model_fingerprint`.
    """

    out_dir: Path
    rows: int
    dim: int
    rows_encoded: int
    rows_reused: int
    fingerprint: str


# ----------------------------------------------------------------------------- readers


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{path}: unknown corpus format {path.suffix!r}; expected one of "
            f"{', '.join(sorted(_FORMATS))}"
        )
    return fmt


def _missing_columns(path: Path, have: list[str], id_column: str, text_column: str) -> None:
    missing = [c for c in (id_column, text_column) if c not in have]
    if missing:
        raise ValueError(
            f"{path}: column(s) {', '.join(repr(c) for c in missing)} not found; the file has "
            f"{', '.join(repr(c) for c in have) or 'no columns'} (choose them with "
            "id_column= / text_column=, or --id-column / --text-column)"
        )


def _place(fmt: str, start: int, offset: int, lines: list[int] | None) -> str:
    """Where a record is, as the user finds it.

    A spreadsheet's row for CSV (header = row 1), the 1-based row for Parquet, the line
    number for JSONL.
    """
    if lines is not None:
        return f"line {lines[offset]}"
    return f"row {start + offset + (2 if fmt == 'csv' else 1)}"


def _check_chunk(path: Path, fmt: str, start: int, ids: list, texts: list,
                 lines: list[int] | None, id_column: str, text_column: str
                 ) -> tuple[list[str], list[str]]:
    """Validate one chunk; ``start`` is the 0-based data row of its first element."""
    out_ids: list[str] = []
    for offset, (doc_id, text) in enumerate(zip(ids, texts, strict=True)):
        row = _place(fmt, start, offset, lines)
        if doc_id is None or (isinstance(doc_id, float) and np.isnan(doc_id)) or str(doc_id) == "":
            raise ValueError(f"{path}: {row}, column {id_column!r}: empty id")
        doc_id = str(doc_id)
        if "\n" in doc_id or "\r" in doc_id:
            raise ValueError(
                f"{path}: {row}, column {id_column!r}: id {doc_id[:40]!r} contains a "
                "line break (ids are stored one per line)"
            )
        if not isinstance(text, str):
            raise ValueError(
                f"{path}: {row}, column {text_column!r}: expected text, got "
                f"{'a missing value' if text is None or text != text else repr(text)}"
            )
        if not text.strip():
            raise ValueError(f"{path}: {row}, column {text_column!r}: empty text")
        out_ids.append(doc_id)
    return out_ids, list(texts)


def _count_rows(path: Path, fmt: str, id_column: str, text_column: str) -> int:
    """Rows of the file, checking that both columns exist (one cheap pass for CSV/JSONL)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path)
        _missing_columns(path, meta.schema_arrow.names, id_column, text_column)
        return int(meta.metadata.num_rows)
    if fmt == "csv":
        import pandas as pd

        header = pd.read_csv(path, nrows=0, dtype=str).columns.tolist()
        _missing_columns(path, header, id_column, text_column)
        # A real CSV parse (quoted titles may span lines), reading one column only.
        return sum(
            len(c) for c in pd.read_csv(path, usecols=[id_column], dtype=str, chunksize=1 << 18)
        )
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            n += bool(line.strip())
    return n


def _read_chunks(
    path: Path, fmt: str, id_column: str, text_column: str, chunk_size: int
) -> Iterator[tuple[int, list, list, list[int] | None]]:
    """Yield ``(first data row (0-based), ids, texts, JSONL line numbers or None)`` chunks."""
    start = 0
    if fmt == "csv":
        import pandas as pd

        reader = pd.read_csv(
            path, usecols=[id_column, text_column], dtype=str, keep_default_na=False,
            chunksize=chunk_size,
        )
        for frame in reader:
            yield start, frame[id_column].tolist(), frame[text_column].tolist(), None
            start += len(frame)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(
            batch_size=chunk_size, columns=[id_column, text_column]
        ):
            ids = batch.column(id_column).to_pylist()
            yield start, ids, batch.column(text_column).to_pylist(), None
            start += len(ids)
    else:
        # JSON Lines read line by line with the json module rather than pandas.read_json:
        # a malformed line must be reported with its line number, which pandas does not give.
        ids: list = []
        texts: list = []
        lines: list[int] = []
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        f"{path}: line {line_no}: not valid JSON ({exc.msg})"
                    ) from None
                if not isinstance(record, dict):
                    raise ValueError(f"{path}: line {line_no}: expected a JSON object")
                for column in (id_column, text_column):
                    if column not in record:
                        raise ValueError(
                            f"{path}: line {line_no}: column {column!r} not found; the record "
                            f"has {', '.join(repr(k) for k in record) or 'no keys'}"
                        )
                ids.append(record[id_column])
                texts.append(record[text_column])
                lines.append(line_no)
                if len(ids) == chunk_size:
                    yield start, ids, texts, lines
                    start += len(ids)
                    ids, texts, lines = [], [], []
        if ids:
            yield start, ids, texts, lines


# ----------------------------------------------------------------------------- store


def _source_info(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"source": str(path.resolve()), "source_size": st.st_size,
            "source_mtime_ns": st.st_mtime_ns}


def _write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    write_atomic(out_dir / _MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / _MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable store manifest ({exc}); delete the folder") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a store manifest of format {FORMAT_VERSION}")
    return manifest


def open_store(out_dir: str | os.PathLike, *, allow_partial: bool = False
               ) -> tuple[np.ndarray, list[str]]:
    """Open a store written by :func:`encode_corpus`: memory-mapped vectors and the ids.

    Args:
        out_dir: The store folder.
        allow_partial: Return the first ``rows_done`` rows of an unfinished store instead
            of raising.

    Returns:
        ``(vectors, ids)``: a read-only ``float32`` memory map ``(rows, dim)`` and the list
        of ids in the same order.

    Raises:
        ValueError: No store there, or it is unfinished (and ``allow_partial`` is False).
    """
    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    if manifest is None:
        raise ValueError(f"{out_dir}: no {_MANIFEST}; not a store written by encode_corpus")
    done = int(manifest["rows_done"])
    if not manifest.get("complete") and not allow_partial:
        raise ValueError(
            f"{out_dir}: store is unfinished ({done} of {manifest['rows']} rows); run "
            "encode_corpus again to resume, or pass allow_partial=True"
        )
    vectors = np.load(out_dir / _VECTORS, mmap_mode="r")[:done]
    with open(out_dir / _IDS, "rb") as fh:
        ids = fh.read(int(manifest["ids_bytes"])).decode("utf-8").split("\n")[:-1]
    if len(ids) != done:
        raise ValueError(f"{out_dir}: {_IDS} has {len(ids)} ids for {done} rows; re-encode")
    return vectors, ids


def _parse_devices(device: str | list[str] | None) -> list[str]:
    if device is None:
        return []
    names = device.split(",") if isinstance(device, str) else list(device)
    names = [str(d).strip() for d in names if str(d).strip()]
    if not names:
        raise ValueError(f"device: expected e.g. 'cuda:0' or 'cuda:0,cuda:1', got {device!r}")
    return names


def encode_corpus(
    path: str | os.PathLike,
    out_dir: str | os.PathLike,
    model: Any = None,
    *,
    id_column: str = "id",
    text_column: str = "title",
    chunk_size: int = DEFAULT_CHUNK,
    batch_size: int | None = None,
    device: str | list[str] | None = None,
    cache: Any = True,
    show_progress: bool = True,
) -> StreamResult:
    """Encode a corpus file chunk by chunk into a resumable memory-mapped store.

    See the module docstring for the store layout, the memory bound and how resuming works.

    Args:
        path: ``.csv``, ``.parquet`` or ``.jsonl`` file with an id and a text column.
        out_dir: Store folder (created; an unfinished store of the same file and model
            there is resumed, a finished one is returned as it is).
        model: A loaded ``SentenceTransformer`` or anything :func:`toolkit.load_model`
            takes (``None``: the default model).
        id_column: Column holding the document id (stored as text).
        text_column: Column holding the text to encode.
        chunk_size: Rows per chunk (the memory bound's ``chunk_size``).
        batch_size: Batch size passed to the model (``None``: as :func:`toolkit.encode`).
        device: ``None`` (the model's device), one device (``"cuda:0"``) or several
            (``"cuda:0,cuda:1"`` or a list): several start a sentence-transformers
            multi-process pool (not in Jupyter, see the module docstring).
        cache: The embedding cache, as in :func:`toolkit.encode`.
        show_progress: tqdm progress bar over rows, with rate and ETA.

    Returns:
        A :class:`StreamResult`.

    Raises:
        ValueError: Unknown format, a missing column, an empty id or text, a malformed
            JSON line (the message names the file, the row as a spreadsheet shows it for
            CSV (header = row 1), the 1-based row for Parquet or the line for JSONL, and
            the column), ``out_dir`` holding a store of another file, model or columns,
            or ``chunk_size < 1``.
        TypeError: ``chunk_size`` is not an integer.
        FileNotFoundError: ``path`` does not exist.
    """
    from toolkit.encoding import embedding_dimension
    from toolkit.models import model_fingerprint, model_label

    path = Path(path)
    out_dir = Path(out_dir)
    chunk_size = check_int(chunk_size, "chunk_size")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: corpus file not found")
    fmt = _format_of(path)
    devices = _parse_devices(device)
    rows = _count_rows(path, fmt, id_column, text_column)  # checks the columns before loading
    model = _ready_model(model, devices)
    dim = embedding_dimension(model)
    fingerprint = model_fingerprint(model)

    expected = {
        "format": FORMAT_VERSION, **_source_info(path), "id_column": id_column,
        "text_column": text_column, "rows": rows, "dim": dim, "dtype": "float32",
        "model": model_label(model), "fingerprint": fingerprint,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    store = _Store.prepare(out_dir, expected)
    if store.manifest.get("complete"):
        return StreamResult(out_dir, rows, dim, 0, rows, fingerprint)
    reused = store.done

    chunks = _chunks_to_write(path, fmt, id_column, text_column, chunk_size, reused)
    with tqdm(total=rows, initial=reused, desc=f"encoding {path.name}", unit="row",
              disable=not show_progress, dynamic_ncols=True) as bar:
        _fill(store, chunks, model, devices=devices, batch_size=batch_size, cache=cache, bar=bar)
    store.finish(path)
    return StreamResult(out_dir, rows, dim, rows - reused, reused, fingerprint)


def _ready_model(model: Any, devices: list[str]) -> Any:
    """The model to encode with: loaded when given as a name or path, on the one device."""
    from toolkit.models import load_model

    if model is None or isinstance(model, str | os.PathLike):
        return load_model(model, device=devices[0] if len(devices) == 1 else None)
    if len(devices) == 1:
        model.to(devices[0])
    return model


def _chunks_to_write(
    path: Path, fmt: str, id_column: str, text_column: str, chunk_size: int, done: int
) -> Iterator[tuple[int, list[str], list[str]]]:
    """Checked ``(first row, ids, texts)`` chunks of the file, from row ``done`` on.

    The rows before ``done`` were written by an earlier run: they are skipped, unchecked.
    """
    for start, ids, texts, lines in _read_chunks(path, fmt, id_column, text_column, chunk_size):
        end = start + len(ids)
        if end <= done:
            continue  # written by an earlier run
        if start < done:  # resumed with another chunk size: keep the written part
            cut = done - start
            ids, texts, start = ids[cut:], texts[cut:], done
            lines = lines[cut:] if lines is not None else None
        ids, texts = _check_chunk(path, fmt, start, ids, texts, lines, id_column, text_column)
        yield start, ids, texts


def _fill(
    store: _Store,
    chunks: Iterator[tuple[int, list[str], list[str]]],
    model: Any,
    *,
    devices: list[str],
    batch_size: int | None,
    cache: Any,
    bar: Any,
) -> None:
    """Encode every chunk into its rows of the store and commit it; several devices: a pool."""
    from toolkit.encoding import encode

    pool = None
    if len(devices) > 1:
        pool = model.start_multi_process_pool(target_devices=devices)
    try:
        with open(store.ids_path, "ab") as ids_fh:
            for start, ids, texts in chunks:
                end = start + len(ids)
                block = store.rows(start, end)
                encode(model, texts, batch_size=batch_size, cache=cache, show_progress=False,
                       out=block, pool=pool)
                block.flush()
                del block  # unmapped: the resident set does not grow with the rows written
                store.commit(end, ids, ids_fh)
                bar.update(end - start)
    finally:
        if pool is not None:
            model.stop_multi_process_pool(pool)


class _Store:
    """An open store folder: its manifest, and where the next chunk's rows are written.

    Attributes:
        out_dir: The folder.
        manifest: The manifest as last written.
        header: Byte offset of the first row in ``vectors.npy``.
    """

    def __init__(self, out_dir: Path, manifest: dict[str, Any], header: int) -> None:
        self.out_dir = out_dir
        self.manifest = manifest
        self.header = header
        self.vec_path, self.ids_path = out_dir / _VECTORS, out_dir / _IDS

    @property
    def done(self) -> int:
        """Rows written and committed so far."""
        return int(self.manifest["rows_done"])

    @classmethod
    def prepare(cls, out_dir: Path, expected: dict[str, Any]) -> _Store:
        """Resume the store in ``out_dir`` (of the same input), or start a new one there.

        Raises:
            ValueError: ``out_dir`` holds a store of another input, or damaged files.
        """
        manifest = _read_manifest(out_dir)
        if manifest is None:
            return cls._create(out_dir, expected)
        changed = [k for k, v in expected.items() if manifest.get(k) != v]
        if changed:
            raise ValueError(
                f"{out_dir}: holds a store of another input ({', '.join(changed)} differ: "
                f"{', '.join(f'{k}={manifest.get(k)!r}' for k in changed)}); use another "
                "output folder or delete this one"
            )
        ids_path = out_dir / _IDS
        try:
            existing = np.load(out_dir / _VECTORS, mmap_mode="r")
            shape = (expected["rows"], expected["dim"])
            ok = existing.shape == shape and existing.dtype == np.float32
            header = existing.offset
            del existing
        except (OSError, ValueError):
            ok, header = False, 0
        if not ok or not ids_path.exists() or ids_path.stat().st_size < manifest["ids_bytes"]:
            raise ValueError(f"{out_dir}: {_VECTORS} or {_IDS} do not match {_MANIFEST}; "
                             "delete the folder and encode again")
        if not manifest.get("complete"):
            with open(ids_path, "r+b") as fh:  # drop ids written after the last recorded chunk
                fh.truncate(int(manifest["ids_bytes"]))
        return cls(out_dir, manifest, header)

    @classmethod
    def _create(cls, out_dir: Path, expected: dict[str, Any]) -> _Store:
        from numpy.lib.format import open_memmap

        # The header is written now; the data pages stay sparse until each chunk is written.
        shape = (expected["rows"], expected["dim"])
        header = open_memmap(out_dir / _VECTORS, mode="w+", dtype=np.float32, shape=shape).offset
        (out_dir / _IDS).write_bytes(b"")
        manifest = dict(expected, rows_done=0, ids_bytes=0, complete=False)
        _write_manifest(out_dir, manifest)
        return cls(out_dir, manifest, header)

    def rows(self, start: int, end: int) -> np.memmap:
        """A writable memory map of rows ``start:end`` of ``vectors.npy`` (one chunk's rows)."""
        dim = self.manifest["dim"]
        return np.memmap(self.vec_path, dtype=np.float32, mode="r+",
                         offset=self.header + start * dim * 4, shape=(end - start, dim))

    def commit(self, end: int, ids: list[str], ids_fh: Any) -> None:
        """Append and fsync a flushed chunk's ids, then record ``rows_done = end``."""
        data = ("\n".join(ids) + "\n").encode("utf-8")
        ids_fh.write(data)
        ids_fh.flush()
        os.fsync(ids_fh.fileno())
        ids_bytes = int(self.manifest["ids_bytes"]) + len(data)
        self.manifest.update(rows_done=end, ids_bytes=ids_bytes)
        _write_manifest(self.out_dir, self.manifest)

    def finish(self, path: Path) -> None:
        """Mark the store complete, once every row counted in the corpus ``path`` is written."""
        done, rows = self.done, self.manifest["rows"]
        if done != rows:
            raise ValueError(f"{path}: read {done} rows but counted {rows}; was the file changed?")
        self.manifest.update(complete=True)
        _write_manifest(self.out_dir, self.manifest)
