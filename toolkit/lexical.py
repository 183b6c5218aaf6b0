r"""Lexical BM25 baseline for Russian text and hybrid score fusion.

BM25 uses ``bm25s`` (Lucene variant by default) with PyStemmer's Snowball Russian stemmer
and bm25s's Russian stop-word list (``bm25s.stopwords.STOPWORDS_RUSSIAN``, 151 words, the
NLTK list; stop words are removed *before* stemming, on lower-cased tokens). Tokens are
``\b\w\w+\b`` runs, so one-letter words (``в``, ``и``, ``с``) drop out anyway. Snowball
folds ``ё`` into ``е``.

Both BM25 and the fusion functions return dense ``n_queries x n_docs`` matrices with rows
and columns in the caller's order, the same shape as the dense path, so they plug straight
into :func:`toolkit.metrics.retrieval_metrics`.

Example:
    >>> s = bm25_scores(["роботы доставки"], ["РОБОТ ДЛЯ ДОСТАВКИ", "способ варки стали"])
    >>> bool(s[0, 0] > 0 == s[0, 1])
    True
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from toolkit._validation import check_texts
from toolkit.metrics import tie_order

__all__ = ["bm25_scores", "rrf_fuse", "normalized_fuse"]


def _check_texts(texts: Any, name: str) -> list[str]:
    return check_texts(texts, name, item="{name}[{i}] must be a string, got {type}: {value}")


def _resolve_stemmer(stemmer: Any) -> Any:
    if stemmer is None:
        return None
    if isinstance(stemmer, str):
        import Stemmer  # PyStemmer

        try:
            return Stemmer.Stemmer(stemmer)
        except KeyError as err:
            raise ValueError(
                f"stemmer {stemmer!r} is not a PyStemmer language "
                f"(e.g. 'russian', 'english'): {sorted(Stemmer.algorithms())}"
            ) from err
    if hasattr(stemmer, "stemWords") or callable(stemmer):
        return stemmer
    raise TypeError("stemmer must be a language name, None, or have a stemWords(list) method")


def bm25_scores(
    queries: Sequence[str],
    docs: Sequence[str],
    *,
    k1: float = 1.5,
    b: float = 0.75,
    stemmer: str | Callable | None = "russian",
    stopwords: str | Sequence[str] | None = "ru",
    method: str = "lucene",
) -> np.ndarray:
    r"""BM25 score of every document for every query.

    Text is lower-cased, split into ``\w\w+`` tokens, stop words removed, then stemmed;
    queries go through the same pipeline and words that never occur in ``docs`` are dropped
    (a query with no known word scores 0 everywhere).

    Args:
        queries: Query texts (rows of the result).
        docs: Document texts, e.g. patent titles (columns of the result).
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        stemmer: PyStemmer language name (default ``"russian"``), ``None`` for no stemming,
            or an object with ``stemWords(list) -> list`` / a callable on a token list.
        stopwords: A bm25s language code/name (default ``"ru"``: bm25s's NLTK Russian
            list), a list of words, or ``None``.
        method: bm25s scoring variant (``"lucene"``, ``"robertson"``, ``"atire"``,
            ``"bm25l"``, ``"bm25+"``).

    Returns:
        ``float32`` array of shape ``(len(queries), len(docs))``.

    Example:
        >>> bm25_scores(["сталь"], ["Сталь", "бетон"]).shape
        (1, 2)
    """
    import bm25s

    queries = _check_texts(queries, "queries")
    docs = _check_texts(docs, "docs")
    if not docs:
        raise ValueError("docs is empty; BM25 needs a corpus")
    stem = _resolve_stemmer(stemmer)
    sw = [] if stopwords is None else stopwords
    out = np.zeros((len(queries), len(docs)), dtype=np.float32)
    tokenize_kw = {"stopwords": sw, "stemmer": stem, "lower": True, "show_progress": False}
    corpus_tokens = bm25s.tokenize(docs, **tokenize_kw)
    if not corpus_tokens.vocab:  # every doc is empty or stop words only
        return out
    model = bm25s.BM25(k1=k1, b=b, method=method)
    model.index(corpus_tokens, show_progress=False)
    if not queries:
        return out
    query_tokens = bm25s.tokenize(queries, return_ids=False, **tokenize_kw)
    for i, tokens in enumerate(query_tokens):
        ids = model.get_tokens_ids(tokens)
        if ids:
            out[i] = model.get_scores_from_ids(ids)
    return out


def _check_matrices(score_matrices: Any) -> list[np.ndarray]:
    if isinstance(score_matrices, np.ndarray) or not hasattr(score_matrices, "__iter__"):
        raise TypeError("score_matrices must be a list of 2-D arrays")
    mats = []
    for i, m in enumerate(score_matrices):
        if hasattr(m, "detach"):
            m = m.detach().cpu().numpy()
        a = np.asarray(m, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"score_matrices[{i}] must be 2-D, got shape {a.shape}")
        if mats and a.shape != mats[0].shape:
            raise ValueError(
                f"score_matrices[{i}] has shape {a.shape}, score_matrices[0] has {mats[0].shape}"
            )
        nan = np.argwhere(np.isnan(a))
        if len(nan):
            raise ValueError(f"score_matrices[{i}] has NaN at row {nan[0][0]}, column {nan[0][1]}")
        mats.append(a)
    if not mats:
        raise ValueError("score_matrices is empty")
    return mats


def rrf_fuse(
    score_matrices: Sequence[Any],
    *,
    k: float = 60,
    doc_ids: Sequence[Hashable] | None = None,
) -> np.ndarray:
    """Reciprocal-rank fusion (Cormack et al. 2009): ``sum_i 1 / (k + rank_i(doc))``.

    Each system's ranks follow the tie rule of :func:`toolkit.metrics.retrieval_metrics`:
    score descending, ties by ``str(doc_id)`` descending (trec_eval), so tied documents get
    distinct consecutive ranks exactly as they would be evaluated.

    Args:
        score_matrices: Same-shaped ``n_queries x n_docs`` score matrices (dense, BM25...).
        k: RRF smoothing constant (60 in the paper).
        doc_ids: Column ids for the tie rule; ``None`` means the column positions
            ``0..n_docs-1`` act as the ids (so pass the real ids to match the evaluation).

    Returns:
        ``float64`` fused scores of the same shape (higher is better).

    Example:
        >>> import numpy as np
        >>> rrf_fuse([np.array([[3.0, 2.0, 1.0]]), np.array([[1.0, 2.0, 3.0]])], k=0).round(3)
        array([[1.333, 1.   , 1.333]])
    """
    mats = _check_matrices(score_matrices)
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or k < 0:
        raise ValueError(f"k must be a number >= 0, got {k!r}")
    n_docs = mats[0].shape[1]
    ids = list(range(n_docs)) if doc_ids is None else list(doc_ids)
    if len(ids) != n_docs:
        raise ValueError(f"doc_ids has {len(ids)} ids but the matrices have {n_docs} columns")
    order = tie_order(ids)
    fused = np.zeros(mats[0].shape, dtype=np.float64)
    rank_values = 1.0 / (k + np.arange(1, n_docs + 1, dtype=np.float64))
    rows = np.arange(mats[0].shape[0])[:, None]
    for m in mats:
        tie_sorted = m[:, order]
        # stable sort on -score keeps the tie order among equal scores
        by_rank = np.argsort(-tie_sorted, axis=1, kind="stable")
        contrib = np.empty_like(fused)
        contrib[rows, order[by_rank]] = rank_values
        fused += contrib
    return fused


def normalized_fuse(
    score_matrices: Sequence[Any],
    *,
    weights: Sequence[float] | None = None,
    norm: str = "minmax",
) -> np.ndarray:
    """Weighted sum of per-query normalised scores (convex combination fusion).

    Args:
        score_matrices: Same-shaped ``n_queries x n_docs`` score matrices.
        weights: One weight per matrix; ``None`` gives equal weights ``1 / n_matrices``.
        norm: ``"minmax"`` maps each query row to [0, 1] via ``(s - min) / (max - min)``;
            ``"zscore"`` uses ``(s - mean) / std``. A constant row (no ranking information,
            e.g. a query with no known BM25 word) becomes all zeros.

    Returns:
        ``float64`` fused scores of the same shape. Infinite scores are rejected.

    Example:
        >>> import numpy as np
        >>> normalized_fuse([np.array([[0.0, 5.0, 10.0]]), np.array([[1.0, 1.0, 1.0]])])
        array([[0.  , 0.25, 0.5 ]])
    """
    mats = _check_matrices(score_matrices)
    for i, m in enumerate(mats):
        if not np.isfinite(m).all():
            raise ValueError(f"score_matrices[{i}] has infinite scores; cannot normalise")
    if weights is None:
        w = np.full(len(mats), 1.0 / len(mats))
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (len(mats),):
            raise ValueError(f"weights needs {len(mats)} numbers, got {list(weights)!r}")
    fused = np.zeros(mats[0].shape, dtype=np.float64)
    for m, wi in zip(mats, w, strict=True):
        if norm == "minmax":
            lo = m.min(axis=1, keepdims=True)
            span = m.max(axis=1, keepdims=True) - lo
            normed = np.divide(m - lo, span, out=np.zeros_like(m), where=span > 0)
        elif norm == "zscore":
            sd = m.std(axis=1, keepdims=True)
            centred = m - m.mean(axis=1, keepdims=True)
            normed = np.divide(centred, sd, out=np.zeros_like(m), where=sd > 0)
        else:
            raise ValueError(f"norm must be 'minmax' or 'zscore', got {norm!r}")
        fused += wi * normed
    return fused
