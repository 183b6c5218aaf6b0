"""Vector indexes for dense search: exact inner product and an approximate faiss HNSW index.

:func:`toolkit.retrieval.search` ranks a corpus with a dense model through one of two indexes:

* :class:`ExactIndex` -- every query scored against every title (float32 BLAS ``q @ d.T`` in
  query chunks of about 128 MiB) and the top k kept under the metrics' tie rule (score
  descending, then doc id as text descending; :func:`toolkit.ranking.tie_order`), so it
  returns exactly what ranking the full score matrix returns.
* :class:`ApproxIndex` -- faiss ``IndexHNSWFlat`` (inner product). Picked by measurement over
  usearch's HNSW and faiss' IVF-Flat (200k x 512 clustered unit vectors, one thread, two
  shared cores, 2026-12-02): faiss HNSW M=32 built in 120 s and answered 3,900 queries/s at
  recall@10 0.9995 (efSearch 64); usearch HNSW with the same graph built in 217 s and gave
  2,000 q/s at 0.998; IVF-Flat built in 24 s and was faster still on that (well separated)
  data, but IVF's recall depends on how clustered the vectors are and needs a training
  sample, while HNSW needs neither -- so HNSW is the one index. Exact search did 330 q/s.

Every approximate build measures recall@10 against exact search on a seeded sample of
queries -- 1,000 corpus vectors drawn with ``seed``, plus the ``recall_queries`` you pass
(``search`` passes its own queries) -- picks the smallest ``efSearch`` in
:data:`EF_SEARCH_STEPS` that reaches ``target_recall`` on every sample unless one is given,
stores the numbers in :attr:`ApproxIndex.meta` (``recall_at_10``, ``ef_search``,
``build_s``, ...) and prints a one-line summary. Corpus vectors as queries overstate recall
for queries that are not in the corpus (see :data:`EF_SEARCH_STEPS`), hence the real
queries when there are some.

Built indexes are kept under ``<cache_dir>/index/`` (see :func:`toolkit._config.cache_dir`),
one file per key = sha256 of the model fingerprint, the corpus fingerprint (doc ids + texts,
:func:`corpus_fingerprint`), the index parameters and the faiss version, and reloaded on the
next call without encoding the corpus again. Files are written atomically
(:func:`toolkit._io.write_atomic`) with a blake2b checksum of the faiss payload in the
header. :func:`load_index` raises :class:`IndexFileError` for a damaged or mismatched file;
:func:`dense_index` (the cached route used by ``search``) instead warns
(:class:`IndexWarning`) and rebuilds, as the embedding cache does.

Example:
    >>> import numpy as np
    >>> from toolkit.index import build_index
    >>> rng = np.random.default_rng(0)
    >>> d = rng.standard_normal((1000, 16)).astype(np.float32)
    >>> d /= np.linalg.norm(d, axis=1, keepdims=True)
    >>> idx = build_index(d, kind="exact")
    >>> scores, cols = idx.search(d[:2], k=3)
    >>> cols[:, 0].tolist()
    [0, 1]
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from toolkit._config import cache_dir
from toolkit._io import write_atomic
from toolkit._validation import as_float32_matrix, check_int, chunk_rows
from toolkit.ranking import tie_positions, top_k

__all__ = [
    "AUTO_EXACT_BELOW",
    "EF_SEARCH_STEPS",
    "ApproxIndex",
    "ExactIndex",
    "IndexFileError",
    "IndexWarning",
    "build_index",
    "corpus_fingerprint",
    "dense_index",
    "index_key",
    "load_index",
    "resolve_kind",
    "save_index",
]

# Corpora with fewer titles than this are searched exactly by ``index="auto"``. Measured with
# ``benchmarks/bench_scale.py --n 50000 100000 200000 --steps data threshold`` (512-d
# clustered unit vectors, 1,000 queries, 2-core AMD EPYC with nothing else running,
# 2026-12-02): exact search 1.02 / 1.44 / 3.60 ms per query; HNSW 0.11 / 0.16 / 0.36 ms at
# recall@10 0.998 / 0.992 / 0.998 after a 10 / 25 / 64 s build, so the build pays for itself
# after 11k / 20k / 20k queries. That break-even hardly moves with n (build time and exact
# search both grow about linearly), so the threshold follows exact search's latency: under
# 2 ms per query -- instant for a person, and no recall lost -- up to 100k titles.
AUTO_EXACT_BELOW = 100_000
# efSearch values tried in order until the target recall is reached. They start at 64, not
# lower, because recall measured with corpus vectors as queries (they are in the graph) is
# optimistic for queries that are not: 20k clustered 512-d vectors, efSearch 16 / 32 / 64
# gave recall@10 0.991 / 0.999 / 1.000 on corpus vectors but 0.931 / 0.985 / 0.999 on
# held-out queries (2026-12-02, benchmarks/bench_scale.py data).
EF_SEARCH_STEPS = (64, 128, 256, 512)
KINDS = ("auto", "exact", "approx")
_MAGIC = b"TKIDX01\n"
_HEADER = struct.Struct("<8s32sQQ")  # magic, blake2b-256 of payload, payload bytes, meta bytes
_READ_BLOCK = 1 << 24


class IndexWarning(UserWarning):
    """A cached index file was damaged or did not match; it was rebuilt."""


class IndexFileError(ValueError):
    """An index file is damaged, not an index file, or built for other vectors."""


# ------------------------------------------------------------------------------- fingerprints


def corpus_fingerprint(doc_ids: Sequence[Any], texts: Sequence[str]) -> str:
    """Hex sha256 of a corpus: its doc ids (as text) and titles, in order.

    Each field is length-prefixed, so no two different corpora hash alike by shifting text
    between neighbouring fields.
    """
    if len(doc_ids) != len(texts):
        raise ValueError(f"doc_ids has {len(doc_ids)} entries but texts has {len(texts)}")
    h = hashlib.sha256()
    for doc_id, text in zip(doc_ids, texts, strict=True):
        for field in (str(doc_id), text):
            raw = field.encode("utf-8", "surrogatepass")
            h.update(len(raw).to_bytes(8, "little"))
            h.update(raw)
    return h.hexdigest()


def _faiss():
    import faiss

    return faiss


def index_key(model_fp: str, corpus_fp: str, params: dict[str, Any]) -> str:
    """Hex sha256 naming an index file: model, corpus, parameters and the faiss version."""
    blob = json.dumps(
        {"model": model_fp, "corpus": corpus_fp, "params": params, "faiss": _faiss().__version__},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def resolve_kind(kind: str, n_docs: int) -> str:
    """``"exact"`` or ``"approx"`` for ``kind`` in :data:`KINDS` and a corpus of ``n_docs``."""
    if kind not in KINDS:
        raise ValueError(f"index must be one of {KINDS}, got {kind!r}")
    if kind == "auto":
        return "exact" if n_docs < AUTO_EXACT_BELOW else "approx"
    return kind


def _vectors(vectors: Any, name: str = "vectors") -> np.ndarray:
    arr = np.ascontiguousarray(as_float32_matrix(vectors, name))
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; an index needs at least one vector")
    return arr  # as_float32_matrix refused NaN/inf, naming row and column


def _tie_pos(doc_ids: Sequence[Any] | None, n: int) -> np.ndarray:
    """``pos[col]``: place of the column under the tie rule (0 wins ties)."""
    if doc_ids is None:
        doc_ids = [str(i) for i in range(n)]
    if len(doc_ids) != n:
        raise ValueError(f"doc_ids has {len(doc_ids)} entries but there are {n} vectors")
    return tie_positions(doc_ids)


def _order_rows(scores: np.ndarray, cols: np.ndarray, tie_pos: np.ndarray, k: int):
    """Sort each row's candidates by score descending, then tie position; keep k."""
    out_s = np.empty((len(scores), k), dtype=np.float32)
    out_c = np.full((len(scores), k), -1, dtype=np.int64)
    for i in range(len(scores)):
        c, s = cols[i], scores[i]
        ok = c >= 0
        c, s = c[ok], s[ok]
        o = np.lexsort((tie_pos[c], -s))[:k]
        out_s[i, : len(o)], out_c[i, : len(o)] = s[o], c[o]
        out_s[i, len(o) :] = -np.inf
    return out_s, out_c


def exact_topk(
    queries: np.ndarray,
    vectors: np.ndarray,
    k: int,
    tie_pos: np.ndarray,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k by inner product, ties by the metrics' rule; memory ``chunk x n`` float32.

    Hand-written rather than faiss ``IndexFlatIP`` because faiss breaks ties arbitrarily and
    this must return what :func:`toolkit.ranking.rank_columns` ranks: the scores are the same
    BLAS ``q @ d.T`` float32 products and each chunk's top k is selected with
    :func:`toolkit.ranking.top_k` under the tie positions (ties at the cut included). When all
    queries fit one chunk (``chunk_rows``: ``2**25 // n_docs`` queries) the scores are
    bit-identical to the full matrix; with more queries BLAS may round the last bit of a
    score differently for another chunk height (e.g. ``gemv`` for one row).

    Returns:
        ``(scores, cols)``, both ``(n_queries, min(k, n_docs))``, best first.
    """
    n = vectors.shape[0]
    k = min(k, n)
    rows = max(2, chunk_rows(n, chunk_size))  # >= 2 rows: gemm, see below
    scores = np.empty((len(queries), k), dtype=np.float32)
    cols = np.empty((len(queries), k), dtype=np.int64)
    nq = len(queries)
    for start in range(0, nq, rows):
        # A one-row product goes through BLAS gemv, which rounds differently from gemm (even
        # two copies of a vector may then score apart): a last chunk of one row is computed
        # with the row before it, so every row of a multi-query call goes through gemm.
        lo = max(0, min(start, nq - 2))
        block = queries[lo : start + rows] @ vectors.T
        block = block[start - lo :]
        top = top_k(block, k, tie_pos)
        cols[start : start + len(block)] = top
        scores[start : start + len(block)] = np.take_along_axis(block, top, axis=1)
    return scores, cols


# ------------------------------------------------------------------------------------ indexes


class ExactIndex:
    """Exact inner-product search over float32 vectors (see :func:`exact_topk`).

    Args:
        vectors: ``(n_docs, dim)`` float32 vectors (``toolkit.encode`` output is unit norm).
        doc_ids: Ids of the rows, for the tie rule (default ``"0"``, ``"1"``, ...).
    """

    kind = "exact"

    def __init__(self, vectors: Any, doc_ids: Sequence[Any] | None = None) -> None:
        self.vectors = _vectors(vectors)
        self.tie_pos = _tie_pos(doc_ids, len(self.vectors))
        self.meta: dict[str, Any] = {"kind": "exact", "n": len(self.vectors),
                                     "dim": int(self.vectors.shape[1])}

    @property
    def n(self) -> int:
        """Number of indexed vectors."""
        return int(self.vectors.shape[0])

    def search(
        self, queries: Any, k: int = 10, *, chunk_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows for each query: ``(scores, cols)``, ``(n_queries, min(k, n))``."""
        q = _queries(queries, self.vectors.shape[1])
        return exact_topk(q, self.vectors, check_int(k, "k"), self.tie_pos, chunk_size)


class ApproxIndex:
    """faiss HNSW (inner product) with its build record in :attr:`meta`.

    Build with :func:`build_index`; search returns the same shapes as :class:`ExactIndex`
    (rows a query could not fill -- never for HNSW with ``efSearch >= k`` on a connected
    graph -- hold col ``-1`` and score ``-inf``). Equal scores among the returned rows are
    ordered by the tie rule; scores are faiss' float32 inner products.
    """

    kind = "approx"

    def __init__(self, faiss_index: Any, tie_pos: np.ndarray, meta: dict[str, Any]) -> None:
        self.faiss_index = faiss_index
        self.tie_pos = tie_pos
        self.meta = meta
        self.ef_search = int(meta["ef_search"])

    @property
    def n(self) -> int:
        """Number of indexed vectors."""
        return int(self.faiss_index.ntotal)

    def search(self, queries: Any, k: int = 10, *, ef_search: int | None = None):
        """Approximate top ``k``: ``(scores, cols)``, ``(n_queries, min(k, n))``.

        Args:
            queries: ``(n_queries, dim)`` float32 vectors.
            k: Rows per query.
            ef_search: HNSW beam width (default: the one picked at build time); raised to
                ``k`` when smaller.
        """
        k = min(check_int(k, "k"), self.n)
        q = _queries(queries, self.faiss_index.d)
        ef = self.ef_search if ef_search is None else check_int(ef_search, "ef_search")
        params = _faiss().SearchParametersHNSW(efSearch=max(ef, k))
        scores, cols = self.faiss_index.search(q, k, params=params)
        return _order_rows(scores, cols, self.tie_pos, k)


def _queries(queries: Any, dim: int) -> np.ndarray:
    q = np.ascontiguousarray(as_float32_matrix(queries, "queries"))
    if q.shape[1] != dim:
        raise ValueError(f"queries have dim {q.shape[1]} but the index holds dim {dim}")
    return q


def measure_recall(
    index: ApproxIndex,
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int = 10,
    ef_search: int | None = None,
    exact: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Mean recall@k of ``index`` against exact search for ``queries``: ``(recall, exact_cols)``.

    recall@k = |approximate top k ∩ exact top k| / k, averaged over queries (the usual ANN
    benchmark definition; ties at the exact k-th score make it slightly pessimistic).
    """
    k = min(k, len(vectors))
    if exact is None:
        _, exact = exact_topk(queries, vectors, k, index.tie_pos)
    _, got = index.search(queries, k, ef_search=ef_search)
    hits = [len(np.intersect1d(a, b)) for a, b in zip(got, exact, strict=True)]
    return float(np.mean(hits) / k), exact


def _build_hnsw(
    arr: np.ndarray, m: int, ef_construction: int, seed: int, threads: int | None
) -> tuple[Any, float]:
    """A faiss ``IndexHNSWFlat`` (inner product) holding ``arr``, and its build seconds."""
    faiss = _faiss()
    old_threads = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(check_int(threads, "threads"))
    try:
        t0 = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(arr.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        # faiss draws HNSW levels from its own generator (fixed seed 12345 unless reseeded);
        # seed it so single-threaded builds repeat (threaded inserts race, so >1 thread can
        # give a slightly different graph, never a different recall guarantee).
        hnsw.hnsw.rng = faiss.RandomGenerator(seed)
        hnsw.add(arr)
        build_s = time.perf_counter() - t0
    finally:
        faiss.omp_set_num_threads(old_threads)
    return hnsw, build_s


def _tune_ef_search(
    index: ApproxIndex,
    arr: np.ndarray,
    recall_queries: Any,
    n_recall_queries: int,
    seed: int,
    ef_search: int | None,
    target_recall: float,
) -> None:
    """Measure recall@10 and set ``index.ef_search`` (and its meta) to the efSearch chosen.

    Tries ``ef_search`` alone when given, else :data:`EF_SEARCH_STEPS` in order until the
    lowest recall over the samples reaches ``target_recall``; warns when none does.
    """
    meta = index.meta
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(arr), size=min(n_recall_queries, len(arr)), replace=False))
    samples = {"corpus": arr[take]}
    sources = [f"{len(take)} corpus vectors drawn with seed {seed}"]
    if recall_queries is not None:
        samples["queries"] = _queries(recall_queries, arr.shape[1])
        sources.append(f"{len(samples['queries'])} given queries")
    exact: dict[str, np.ndarray | None] = dict.fromkeys(samples)
    steps = [ef_search] if ef_search is not None else list(EF_SEARCH_STEPS)
    for ef in steps:
        recalls = {}
        for name, sample in samples.items():
            recalls[name], exact[name] = measure_recall(index, arr, sample, 10, ef, exact[name])
        recall = min(recalls.values())
        if recall >= target_recall:
            break
    meta.update(ef_search=ef, recall_at_10=round(recall, 5), recall_queries=" + ".join(sources),
                recall_s=round(time.perf_counter() - t0, 3), target_recall=target_recall)
    meta.update({f"recall_at_10_{name}": round(r, 5) for name, r in recalls.items()})
    index.ef_search = ef
    if recall < target_recall:
        warnings.warn(
            f"approximate index reaches recall@10 {recall:.4f} < target {target_recall} even "
            f"at efSearch {ef}; rebuild with a larger m / ef_construction or use index='exact'",
            IndexWarning,
            stacklevel=3,
        )


def build_index(
    vectors: Any,
    *,
    kind: str = "approx",
    doc_ids: Sequence[Any] | None = None,
    m: int = 32,
    ef_construction: int = 80,
    ef_search: int | None = None,
    target_recall: float = 0.99,
    recall_queries: Any = None,
    n_recall_queries: int = 1000,
    seed: int = 0,
    threads: int | None = None,
    verbose: bool = True,
) -> ExactIndex | ApproxIndex:
    """Build an exact or approximate (faiss HNSW) inner-product index over ``vectors``.

    Args:
        vectors: ``(n_docs, dim)`` float32 vectors, unit norm for cosine (``toolkit.encode``).
        kind: ``"exact"``, ``"approx"`` or ``"auto"`` (exact below :data:`AUTO_EXACT_BELOW`).
        doc_ids: Ids of the rows, for the tie rule (default ``"0"``, ``"1"``, ...).
        m: HNSW neighbours per node (faiss ``M``).
        ef_construction: HNSW beam width while building.
        ef_search: HNSW beam width when searching; ``None`` picks the smallest of
            :data:`EF_SEARCH_STEPS` whose measured recall@10 reaches ``target_recall``.
        target_recall: Recall@10 the automatic ``ef_search`` aims for.
        recall_queries: Query vectors to measure recall@10 on as well (e.g. encoded real
            queries; :func:`toolkit.retrieval.search` passes its own). Recall is always also
            measured on ``n_recall_queries`` corpus vectors drawn with ``seed``.
        n_recall_queries: Size of the corpus-vector sample.
        seed: Seeds the recall sample and faiss' HNSW level draws.
        threads: faiss OpenMP threads while building (``None``: faiss' default).
        verbose: Print the build summary line.

    Returns:
        An :class:`ExactIndex` or an :class:`ApproxIndex` whose ``meta`` holds
        ``recall_at_10`` (the lowest over the samples), ``recall_at_10_corpus`` (and
        ``recall_at_10_queries`` with ``recall_queries``), ``ef_search``, ``build_s``,
        ``recall_s``, ``n``, ``dim`` and the parameters.

    Raises:
        ValueError: Empty or non-finite vectors, a bad ``kind`` or parameter.
    """
    arr = _vectors(vectors)
    if resolve_kind(kind, len(arr)) == "exact":
        return ExactIndex(arr, doc_ids)
    faiss = _faiss()
    m = check_int(m, "m", minimum=2)
    ef_construction = check_int(ef_construction, "ef_construction")
    n_recall_queries = check_int(n_recall_queries, "n_recall_queries")
    if ef_search is not None:
        ef_search = check_int(ef_search, "ef_search")
    if not 0 < float(target_recall) <= 1:
        raise ValueError(f"target_recall must be in (0, 1], got {target_recall!r}")
    tie_pos = _tie_pos(doc_ids, len(arr))
    hnsw, build_s = _build_hnsw(arr, m, ef_construction, seed, threads)
    meta: dict[str, Any] = {
        "kind": "approx",
        "library": f"faiss {faiss.__version__}",
        "index": f"IndexHNSWFlat(M={m}, efConstruction={ef_construction}, inner product)",
        "n": len(arr),
        "dim": int(arr.shape[1]),
        "m": m,
        "ef_construction": ef_construction,
        "seed": seed,
        "build_s": round(build_s, 3),
        "ef_search": ef_search or EF_SEARCH_STEPS[0],
    }
    index = ApproxIndex(hnsw, tie_pos, meta)
    _tune_ef_search(index, arr, recall_queries, n_recall_queries, seed, ef_search, target_recall)
    if verbose:
        print(_summary(meta))
    return index


def _summary(meta: dict[str, Any]) -> str:
    return (
        f"approximate index ({meta['index']}): {meta['n']:,} x {meta['dim']}, built in "
        f"{meta['build_s']:.1f} s; recall@10 vs exact = {meta['recall_at_10']:.4f} at efSearch "
        f"{meta['ef_search']} ({meta['recall_queries']})"
    )


# --------------------------------------------------------------------------------- files


class _HashingWriter:
    """faiss writes its bytes through this callback: into the file and the checksum."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.hash, self.size = fh, hashlib.blake2b(digest_size=32), 0

    def __call__(self, data: bytes) -> int:
        self.fh.write(data)
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def save_index(index: ApproxIndex, path: str | os.PathLike, key: str = "") -> Path:
    """Write an :class:`ApproxIndex` (faiss payload + meta + checksum) atomically to ``path``.

    Layout: magic, blake2b-256 of the faiss payload, payload size, meta size, meta JSON
    (with ``key`` and the tie positions' hash), the tie positions (int64), the faiss payload.
    """
    if not isinstance(index, ApproxIndex):
        raise TypeError(f"only an ApproxIndex is saved (exact search needs no file), got "
                        f"{type(index).__name__}")
    faiss = _faiss()
    meta = dict(index.meta, key=key, format=1)
    tie = np.ascontiguousarray(index.tie_pos, dtype="<i8").tobytes()
    meta_raw = json.dumps(meta, sort_keys=True).encode()

    def write(fh: IO[bytes]) -> None:
        fh.write(_HEADER.pack(_MAGIC, b"\0" * 32, 0, len(meta_raw)))
        fh.write(meta_raw)
        writer = _HashingWriter(fh)
        writer(tie)
        faiss.write_index(index.faiss_index, faiss.PyCallbackIOWriter(writer))
        fh.seek(0)
        fh.write(_HEADER.pack(_MAGIC, writer.hash.digest(), writer.size, len(meta_raw)))

    return write_atomic(path, write)


def load_index(path: str | os.PathLike, *, key: str | None = None) -> ApproxIndex:
    """Read an index written by :func:`save_index`, checking magic, checksum and key.

    Args:
        path: The index file.
        key: When given, the :func:`index_key` the file must have been saved with.

    Raises:
        IndexFileError: Not an index file, truncated, checksum mismatch, unreadable payload
            or another key (the message names the file and what is wrong).
        FileNotFoundError: ``path`` does not exist.
    """
    path = Path(path)
    faiss = _faiss()
    with open(path, "rb") as fh:
        head = fh.read(_HEADER.size)
        if len(head) < _HEADER.size or not head.startswith(_MAGIC):
            raise IndexFileError(f"{path}: not a toolkit index file (bad header)")
        _, digest, size, meta_size = _HEADER.unpack(head)
        try:
            meta = json.loads(fh.read(meta_size).decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise IndexFileError(f"{path}: damaged metadata ({exc})") from None
        if not isinstance(meta, dict):
            raise IndexFileError(f"{path}: damaged metadata (not a JSON object)")
        if key is not None and meta.get("key") != key:
            raise IndexFileError(
                f"{path}: built for key {str(meta.get('key'))[:16]}..., expected {key[:16]}... "
                "(another model, corpus or parameters)"
            )
        start = fh.tell()
        h, left = hashlib.blake2b(digest_size=32), size
        while left:
            block = fh.read(min(left, _READ_BLOCK))
            if not block:
                raise IndexFileError(f"{path}: truncated ({size - left} of {size} payload bytes)")
            h.update(block)
            left -= len(block)
        if h.digest() != digest:
            raise IndexFileError(f"{path}: checksum mismatch; the file is damaged")
        fh.seek(start)
        try:
            n = int(meta["n"])
        except (KeyError, TypeError, ValueError):
            raise IndexFileError(f"{path}: metadata has no vector count 'n'") from None
        tie_pos = np.frombuffer(fh.read(8 * n), dtype="<i8").astype(np.int64)
        try:
            hnsw = faiss.read_index(faiss.PyCallbackIOReader(fh.read))
        except RuntimeError as exc:
            raise IndexFileError(f"{path}: faiss cannot read the index ({exc})") from None
    if hnsw.ntotal != n or len(tie_pos) != n:
        raise IndexFileError(f"{path}: holds {hnsw.ntotal} vectors, its metadata says {n}")
    return ApproxIndex(hnsw, tie_pos, meta)


# --------------------------------------------------------------------------- cached route


def index_dir() -> Path:
    """Folder of cached index files: ``<cache_dir>/index``."""
    return cache_dir() / "index"


def dense_index(
    model: Any,
    titles: Sequence[str],
    doc_ids: Sequence[Any],
    *,
    kind: str = "auto",
    cache: bool = True,
    verbose: bool = True,
    queries: Any = None,
    **params: Any,
) -> ExactIndex | ApproxIndex:
    """The index of a corpus under a model: built from ``toolkit.encode`` vectors, cached.

    ``"exact"`` (and ``"auto"`` below :data:`AUTO_EXACT_BELOW` titles) wraps the encoded
    vectors (the embedding cache is their store). ``"approx"`` looks for
    ``<cache_dir>/index/<key>.tkindex`` first, key = :func:`index_key` of the model
    fingerprint, :func:`corpus_fingerprint` and the build parameters, and only encodes and
    builds when it is missing; a damaged or mismatched file is rebuilt with an
    :class:`IndexWarning`.

    Args:
        model: A sentence-transformers model (anything :func:`toolkit.encode` takes).
        titles: The corpus texts.
        doc_ids: Their ids (for the tie rule and the corpus fingerprint).
        kind: ``"auto"``, ``"exact"`` or ``"approx"``.
        cache: Read and write the index file.
        verbose: Print the build summary of a new approximate index.
        queries: Query vectors to measure recall@10 on when the index is built (its
            ``recall_queries``); not part of the key -- a cached index keeps the recall of
            the queries it was built with.
        **params: Build parameters for :func:`build_index` (``m``, ``ef_construction``,
            ``ef_search``, ``target_recall``, ``n_recall_queries``, ``seed``).
    """
    from toolkit.encoding import encode
    from toolkit.models import model_fingerprint

    kind = resolve_kind(kind, len(titles))
    if kind == "exact":
        return ExactIndex(encode(model, list(titles), show_progress=None), doc_ids)
    build = {"m": 32, "ef_construction": 80, "ef_search": None, "target_recall": 0.99,
             "n_recall_queries": 1000, "seed": 0}
    unknown = set(params) - set(build) - {"threads"}
    if unknown:
        raise TypeError(f"unknown index parameter(s) {sorted(unknown)}; known: {sorted(build)}")
    build.update({k: v for k, v in params.items() if k != "threads"})
    key = index_key(model_fingerprint(model), corpus_fingerprint(doc_ids, titles), build)
    path = index_dir() / f"{key[:32]}.tkindex"
    if cache and path.exists():
        try:
            return load_index(path, key=key)
        except (IndexFileError, OSError) as exc:
            warnings.warn(f"index file {path} unusable ({exc}); rebuilding it", IndexWarning,
                          stacklevel=2)
    vectors = encode(model, list(titles), show_progress=None)
    index = build_index(vectors, kind="approx", doc_ids=doc_ids, verbose=verbose,
                        threads=params.get("threads"), recall_queries=queries, **build)
    if cache:
        try:
            save_index(index, path, key=key)
        except OSError as exc:
            warnings.warn(f"could not save the index to {path} ({exc}); it lives in memory only",
                          IndexWarning, stacklevel=2)
    return index

