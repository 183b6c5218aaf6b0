r"""Lexical BM25 baseline for Russian text.

BM25 uses ``bm25s`` (Lucene variant by default) with PyStemmer's Snowball Russian stemmer
and bm25s's Russian stop-word list (``bm25s.stopwords.STOPWORDS_RUSSIAN``, 151 words, the
NLTK list; stop words are removed *before* stemming, on lower-cased tokens). Tokens are
``\b\w\w+\b`` runs, so one-letter words (``в``, ``и``, ``с``) drop out anyway. Snowball
folds ``ё`` into ``е``.

BM25 returns a dense ``n_queries x n_docs`` matrix with rows and columns in the caller's
order, the same shape as the dense path, so it plugs straight into
:func:`toolkit.metrics.retrieval_metrics` (and into the fusions of :mod:`toolkit.fusion`).

Example:
    >>> s = bm25_scores(["роботы доставки"], ["РОБОТ ДЛЯ ДОСТАВКИ", "способ варки стали"])
    >>> bool(s[0, 0] > 0 == s[0, 1])
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from toolkit._validation import check_texts

__all__ = ["bm25_scores", "stems"]


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


def _tokenize_kw(stemmer: Any, stopwords: Any) -> dict[str, Any]:
    """bm25s.tokenize's settings: the one place BM25 and :func:`stems` take them from."""
    sw = [] if stopwords is None else stopwords
    stem = _resolve_stemmer(stemmer)
    return {"stopwords": sw, "stemmer": stem, "lower": True, "show_progress": False}


def stems(
    texts: Sequence[str],
    *,
    stemmer: str | Callable | None = "russian",
    stopwords: str | Sequence[str] | None = "ru",
) -> list[list[str]]:
    """Each text's stems as :func:`bm25_scores` sees them (same tokens, stop words, stemmer).

    A query and a title share a stem exactly when BM25 (with the same settings) scores the
    title above 0 for the query.

    Returns:
        One list of stems per text, in text order, without repeats.

    Example:
        >>> stems(["Роботы для доставки"])
        [['робот', 'доставк']]
    """
    import bm25s

    texts = _check_texts(texts, "texts")
    if not texts:
        return []
    tokens = bm25s.tokenize(texts, return_ids=False, **_tokenize_kw(stemmer, stopwords))
    return [list(dict.fromkeys(t)) for t in tokens]


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
    out = np.zeros((len(queries), len(docs)), dtype=np.float32)
    tokenize_kw = _tokenize_kw(stemmer, stopwords)
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
