"""Encode texts to float32, L2-normalised vectors with a content-addressed on-disk cache.

The cache keeps one SQLite file per model fingerprint under
``<cache_dir>/embeddings/`` (see :func:`toolkit._config.cache_dir`). Each row is keyed by
the SHA-256 of the text and stores the vector with a checksum over key and bytes.

Why SQLite rather than one file per entry: a run over 200k titles would otherwise create
200k files, and SQLite gives us what the cache needs for free: atomic commits (a process
killed mid-write leaves the previous state, never a half entry), safe concurrent writers
(busy timeout + ``INSERT OR IGNORE`` of identical content) and indexed look-ups. The
per-row checksum catches a bit flip inside a row; a damaged file is moved aside and
rebuilt; an unwritable cache directory degrades to "no cache" with a warning.

Example:
    >>> from toolkit import load_model, encode
    >>> model = load_model()
    >>> vectors = encode(model, ["роботы для доставки товаров", "шифрование данных"])
    >>> vectors.shape
    (2, 512)
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from toolkit._config import cache_dir
from toolkit._numerics import encode_batch_size, perturb_rows, vector_perturbation
from toolkit._validation import check_int, check_texts, unit_rows
from toolkit.models import model_fingerprint, model_label

# Misses are encoded and committed in chunks of this many texts: memory stays bounded and
# an interrupted run keeps every finished chunk.
_CHUNK = 4096
_SQL_BATCH = 500  # keys per SELECT ... IN (...)
_PROGRESS_ABOVE = 1000  # show a progress bar by default above this many texts to encode


class CacheWarning(UserWarning):
    """The embedding cache was damaged or unusable; vectors were recomputed."""


def _text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _checksum(key: bytes, blob: bytes) -> bytes:
    return hashlib.blake2b(key + blob, digest_size=8).digest()


@dataclass(frozen=True)
class CacheEntryInfo:
    """One model's cache file, as listed by :meth:`EmbeddingCache.info`."""

    path: Path
    model: str
    fingerprint: str
    dim: int
    entries: int
    size_bytes: int


class EmbeddingCache:
    """Content-addressed store of embeddings, one SQLite file per model fingerprint.

    Args:
        root: Folder holding the cache files; default ``<cache_dir>/embeddings``.

    Example:
        >>> cache = EmbeddingCache()
        >>> [entry.entries for entry in cache.info()]
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "embeddings"

    def path_for(self, fingerprint: str) -> Path:
        """Return the cache file of a model fingerprint."""
        return self.root / f"{fingerprint[:32]}.sqlite"

    # ---- low level -------------------------------------------------------------------
    def _connect(self, fingerprint: str, *, create: bool) -> sqlite3.Connection | None:
        path = self.path_for(fingerprint)
        if not create and not path.exists():
            return None
        try:
            if create:
                self.root.mkdir(parents=True, exist_ok=True)
            return _open(path)
        except sqlite3.OperationalError as exc:
            if not path.exists() or _is_readable_db(path) or not os.access(self.root, os.W_OK):
                # e.g. a read-only or full folder: nothing is damaged, we just cannot use it
                # (a WAL database in a read-only folder cannot even be read: no -shm file).
                warnings.warn(
                    f"embedding cache {path} is not usable ({exc}); encoding without cache",
                    CacheWarning,
                    stacklevel=4,
                )
                return None
            return self._recover(path, exc, create=create)
        except sqlite3.DatabaseError as exc:
            return self._recover(path, exc, create=create)
        except OSError as exc:
            warnings.warn(
                f"embedding cache folder {self.root} is not usable ({exc}); encoding without cache",
                CacheWarning,
                stacklevel=4,
            )
            return None

    def _recover(self, path: Path, exc: Exception, *, create: bool) -> sqlite3.Connection | None:
        """Move a damaged cache file aside and, when writing, start a fresh one."""
        aside = path.with_suffix(f".corrupt-{time.time_ns()}")
        try:
            for suffix in ("", "-wal", "-shm"):
                side = Path(str(path) + suffix)
                if side.exists():
                    os.replace(side, Path(str(aside) + suffix))
        except OSError as move_exc:
            warnings.warn(
                f"embedding cache {path} cannot be opened ({exc}) nor moved aside ({move_exc}); "
                "encoding without cache",
                CacheWarning,
                stacklevel=4,
            )
            return None
        warnings.warn(
            f"embedding cache {path} is damaged ({exc}); moved to {aside.name} and rebuilding",
            CacheWarning,
            stacklevel=4,
        )
        try:
            return _open(path) if create else None
        except (sqlite3.DatabaseError, OSError):
            return None

    # ---- public API ------------------------------------------------------------------
    def get(self, fingerprint: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the cached vectors of ``texts`` (only hits; damaged rows are skipped)."""
        return dict(self.iter_hits(fingerprint, texts))

    def iter_hits(self, fingerprint: str, texts: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(text, vector)`` for each cached text, reading 500 keys at a time.

        What :meth:`get` returns, without collecting it: :func:`encode` writes each hit
        straight into its result, so a warm call holds the vectors once. Damaged rows are
        skipped (and reported once, with a :class:`CacheWarning`, at the end).
        """
        con = self._connect(fingerprint, create=False)
        if con is None:
            return
        keys = {_text_key(t): t for t in texts}
        key_list = list(keys)
        bad = 0
        try:
            with closing(con):
                for start in range(0, len(key_list), _SQL_BATCH):
                    batch = key_list[start : start + _SQL_BATCH]
                    marks = ",".join("?" * len(batch))
                    rows = con.execute(
                        f"SELECT key, dim, vec, checksum FROM vectors WHERE key IN ({marks})",
                        batch,
                    ).fetchall()
                    for key, dim, blob, checksum in rows:
                        if len(blob) != 4 * dim or _checksum(key, blob) != checksum:
                            bad += 1
                            continue
                        yield keys[key], np.frombuffer(blob, dtype=np.float32)
                if bad:
                    warnings.warn(
                        f"{bad} damaged embedding cache entries in "
                        f"{self.path_for(fingerprint)} were ignored and will be recomputed",
                        CacheWarning,
                        stacklevel=3,
                    )
        except sqlite3.DatabaseError as exc:
            self._recover(self.path_for(fingerprint), exc, create=False)
            return

    def put(
        self,
        fingerprint: str,
        texts: Sequence[str],
        vectors: np.ndarray,
        *,
        label: str = "",
    ) -> bool:
        """Store vectors for texts in one atomic transaction; return False if not stored."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        con = self._connect(fingerprint, create=True)
        if con is None:
            return False
        rows = []
        for text, vec in zip(texts, vectors, strict=True):
            key, blob = _text_key(text), vec.tobytes()
            rows.append((key, vec.shape[0], blob, _checksum(key, blob)))
        try:
            with closing(con):
                con.execute("BEGIN IMMEDIATE")
                # REPLACE heals a damaged row; equal content from a concurrent writer is harmless.
                con.executemany(
                    "INSERT OR REPLACE INTO vectors (key, dim, vec, checksum) VALUES (?,?,?,?)",
                    rows,
                )
                con.executemany(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                    [("fingerprint", fingerprint), ("model", label)],
                )
                con.execute("COMMIT")
            return True
        except sqlite3.DatabaseError as exc:
            warnings.warn(
                f"could not write the embedding cache {self.path_for(fingerprint)} ({exc}); "
                "continuing without caching these vectors",
                CacheWarning,
                stacklevel=3,
            )
            return False

    def info(self) -> list[CacheEntryInfo]:
        """List the cache files with their model, entry count and size."""
        out = []
        if not self.root.is_dir():
            return out
        for path in sorted(self.root.glob("*.sqlite")):
            try:
                with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                    meta = dict(con.execute("SELECT name, value FROM meta").fetchall())
                    n, dim = con.execute("SELECT COUNT(*), MAX(dim) FROM vectors").fetchone()
            except sqlite3.DatabaseError:
                meta, n, dim = {"model": "<damaged>"}, 0, 0
            size = sum(
                p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file()
            )
            out.append(
                CacheEntryInfo(
                    path=path,
                    model=meta.get("model", ""),
                    fingerprint=meta.get("fingerprint", path.stem),
                    dim=int(dim or 0),
                    entries=int(n),
                    size_bytes=size,
                )
            )
        return out

    def clear(self) -> int:
        """Delete every cache file (and damaged copies); return the number of files removed."""
        removed = 0
        if self.root.is_dir():
            for path in self.root.iterdir():
                if path.is_file() and (".sqlite" in path.name or ".corrupt-" in path.name):
                    path.unlink()
                    removed += 1
        return removed


_OPEN_TIMEOUT_S = 60.0


def _open(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=_OPEN_TIMEOUT_S, isolation_level=None)
    try:
        # Two processes creating the same file at once: switching the journal mode (and the
        # first CREATE) can answer SQLITE_BUSY at once, without waiting in SQLite's busy
        # handler, so the set-up is retried here until the same timeout runs out (seen as
        # an intermittent "database is locked" in test_cache_faults; 35 of 400 openings of
        # a new file by 4 processes failed before the retry).
        deadline = time.monotonic() + _OPEN_TIMEOUT_S
        pause = 0.005
        while True:
            try:
                _set_up(con)
                return con
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.25)
    except BaseException:
        con.close()
        raise


def _set_up(con: sqlite3.Connection) -> None:
    # Layout of new files (an existing file keeps its own; the SQL below works on both):
    # 16 KiB pages and a rowid table with a UNIQUE key index. Vectors are 2-4 KiB blobs
    # under random (SHA-256) keys: in the former WITHOUT ROWID table on 4 KiB pages every
    # insert split b-tree pages full of large rows and spilled to overflow pages;
    # measured on 10k x 512-d vectors, committing them took 0.45 s of CPU (2.4 s wall)
    # then and 0.12 s (0.33 s wall) now, a cost that made a cold toolkit.encode ~5%
    # slower than SentenceTransformer.encode on its own.
    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        con.execute("PRAGMA page_size=16384")  # a no-op on an existing file
        con.execute("PRAGMA journal_mode=WAL")  # persistent: set once per file
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE IF NOT EXISTS vectors (key BLOB NOT NULL UNIQUE, dim INTEGER NOT NULL, "
        "vec BLOB NOT NULL, checksum BLOB NOT NULL)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")


def _is_readable_db(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return True
    except sqlite3.DatabaseError:
        return False


def _check_texts(texts: object) -> list[str]:
    return check_texts(
        texts,
        container="texts must be a list of strings, got {type}; "
        "wrap one text in a list: encode(model, [text])",
        check_unicode=True,
    )


def embedding_dimension(model) -> int:
    """Return the width a model declares for its vectors (0 when it declares none)."""
    # sentence-transformers 6 renamed get_sentence_embedding_dimension.
    getter = getattr(model, "get_embedding_dimension", None)
    if getter is None:
        getter = model.get_sentence_embedding_dimension
    return int(getter() or 0)


def _store_for(cache: bool | EmbeddingCache | str | os.PathLike | None) -> EmbeddingCache | None:
    if cache is True:
        return EmbeddingCache()
    if cache is False or cache is None:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    return EmbeddingCache(cache)


def encode(
    model,
    texts: Sequence[str],
    *,
    batch_size: int | None = None,
    cache: bool | EmbeddingCache | str | os.PathLike = True,
    show_progress: bool | None = None,
    out: np.ndarray | None = None,
    pool: dict | None = None,
) -> np.ndarray:
    """Encode texts with a sentence-transformers model, reusing cached vectors.

    Duplicates are encoded once; with a cache, only texts not seen before by this exact
    model (same :func:`~toolkit.models.model_fingerprint`) are encoded, in chunks that
    are committed as they finish, so an interrupted run keeps its progress.

    Vectors are written straight into the result array (cache hits as they are read,
    misses chunk by chunk), so the output is held once, not collected and then copied.
    Misses of more than one chunk are encoded longest first across the whole call (what
    ``SentenceTransformer.encode`` does within one call), so chunking adds no padding.

    Empty and whitespace-only strings are encoded like any other text (the model decides
    what they mean; for the default model that is the vector of the bare start/end
    tokens). A vector that the model returns as all zeros stays all zeros.

    Args:
        model: A ``SentenceTransformer`` (anything with ``encode`` and a state dict).
        texts: A list (or other sequence) of strings.
        batch_size: Batch size passed to the model; ``None`` takes
            ``$TOOLKIT_ENCODE_BATCH_SIZE`` or 64.
        cache: ``True`` for the default on-disk cache, ``False`` for none, or an
            :class:`EmbeddingCache` / folder path to use instead.
        show_progress: Progress bar; ``None`` shows one when more than 1,000 texts
            must be encoded.
        out: Optional ``float32`` C-contiguous array of shape ``(len(texts), dim)`` to
            fill (e.g. a slice of a memory-mapped store, see
            :func:`toolkit.streaming.encode_corpus`); it is also returned.
        pool: A sentence-transformers multi-process pool
            (``model.start_multi_process_pool(["cuda:0", "cuda:1"])``), passed on to
            ``model.encode``. Start it from a script or the command line, not in Jupyter
            (sentence-transformers issue #2235: its worker processes can kill the kernel).

    Returns:
        ``float32`` array of shape ``(len(texts), dim)`` in input order, each row
        L2-normalised. With ``$TOOLKIT_PERTURB_VECTORS`` set (say ``1e-7``), every row
        carries Gaussian noise of that relative size, fixed per text: how the tests simulate
        another host (see ``toolkit/_numerics.py``); the cache keeps the model's own vectors.

    Raises:
        TypeError: ``texts`` is not a list of strings (the message names the position), or
            ``batch_size`` is not an integer.
        ValueError: ``batch_size < 1``, or ``out`` has the wrong shape, dtype or layout.
    """
    items = _check_texts(texts)
    if batch_size is None:
        batch_size = encode_batch_size()
    batch_size = check_int(batch_size, "batch_size")
    result = _result_array(out, len(items), _width(model, items))
    if not items:
        return result

    first, duplicates = _first_positions(items)
    store = _store_for(cache)
    fingerprint = model_fingerprint(model) if store is not None else ""
    misses = list(first) if store is None else _fill_from_cache(store, fingerprint, first, result)
    if misses:
        label = model_label(model) if store is not None else ""
        show = len(misses) > _PROGRESS_ABOVE if show_progress is None else show_progress
        _encode_misses(
            model, misses, first, result, batch_size=batch_size, pool=pool, show=show,
            store=store, fingerprint=fingerprint, label=label,
        )
    _perturb(result, first)
    if duplicates:
        dup = np.asarray(duplicates, dtype=np.intp)
        result[dup[:, 0]] = result[dup[:, 1]]
    return result


def _width(model, items: list[str]) -> int:
    """The model's vector width; one text tells when the model declares none."""
    dim = embedding_dimension(model)
    if dim == 0 and items:
        # A model that does not declare its width (rare; some custom modules): one text tells.
        dim = int(np.asarray(model.encode(items[:1], convert_to_numpy=True)).shape[1])
    return dim


def _first_positions(items: list[str]) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """First position of every distinct text, and ``(later copy, first)`` position pairs."""
    first: dict[str, int] = {}
    duplicates: list[tuple[int, int]] = []
    for i, text in enumerate(items):
        j = first.setdefault(text, i)
        if j != i:
            duplicates.append((i, j))
    return first, duplicates


def _perturb(result: np.ndarray, first: dict[str, int]) -> None:
    """Add ``$TOOLKIT_PERTURB_VECTORS`` noise, fixed per text, to the distinct rows (if set)."""
    relative = vector_perturbation()
    if relative:
        rows = np.fromiter(first.values(), dtype=np.intp, count=len(first))
        result[rows] = perturb_rows(result[rows], list(first), relative)


def _result_array(out: np.ndarray | None, n: int, dim: int) -> np.ndarray:
    """A new ``(n, dim)`` float32 array, or ``out`` once checked to be one that can be filled."""
    if out is None:
        return np.empty((n, dim), dtype=np.float32)
    if (
        not isinstance(out, np.ndarray) or out.dtype != np.float32
        or not out.flags.c_contiguous or not out.flags.writeable
        or out.shape != (n, dim)
    ):
        raise ValueError(
            f"out must be a writable C-contiguous float32 array of shape "
            f"({n}, {dim}), got "
            f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
        )
    return out


def _fill_from_cache(
    store: EmbeddingCache, fingerprint: str, first: dict[str, int], result: np.ndarray
) -> list[str]:
    """Write every cached vector into its row of ``result``; return the texts not found."""
    dim = result.shape[1]
    found: set[str] = set()
    for text, vec in store.iter_hits(fingerprint, list(first)):
        if vec.shape[0] == dim:  # a row of another width cannot belong to this model
            result[first[text]] = vec
            found.add(text)
    return [t for t in first if t not in found]


def _encode_misses(
    model,
    misses: list[str],
    first: dict[str, int],
    result: np.ndarray,
    *,
    batch_size: int,
    pool: dict | None,
    show: bool,
    store: EmbeddingCache | None,
    fingerprint: str,
    label: str,
) -> None:
    """Encode ``misses`` chunk by chunk into their rows of ``result``, committing each chunk."""
    if len(misses) > _CHUNK:
        # Several chunks: longest first over all of them, as SentenceTransformer.encode
        # orders one call, so padded models pad no more than a single call would. (One
        # chunk keeps the input order: the model sorts it itself.)
        misses.sort(key=len, reverse=True)
    extra = {"pool": pool} if pool is not None else {}
    with tqdm(total=len(misses), desc="encoding", unit="text", disable=not show) as bar:
        for start in range(0, len(misses), _CHUNK):
            chunk = misses[start : start + _CHUNK]
            raw = model.encode(
                chunk,
                batch_size=batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
                **extra,
            )
            rows = np.fromiter((first[t] for t in chunk), dtype=np.intp, count=len(chunk))
            block = unit_rows(np.asarray(raw, dtype=np.float32))  # a zero row stays zero
            del raw
            result[rows] = block
            if store is not None:
                store.put(fingerprint, chunk, block, label=label)
            bar.update(len(chunk))
