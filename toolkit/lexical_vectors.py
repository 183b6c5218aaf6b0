"""Lexical vectors of titles: TF-IDF over Russian lemmas, the baseline for dense embeddings.

The vectors are BM25-style TF-IDF (scikit-learn's ``TfidfVectorizer`` with sublinear term
frequency ``1 + ln(tf)`` and smoothed idf ``ln((1 + n) / (1 + df)) + 1``) over the lemmas of
:func:`toolkit.text_ru.lemmatize` (Russian stop words and patent boilerplate removed),
with L2-normalised rows, so they drop into the same cosine pipeline as an embedding matrix
(:func:`toolkit.clustering.reduce`, :func:`toolkit.clustering.cluster`, ...).

The TF-IDF matrix is sparse, but the clustering tools take dense arrays. When the dense
matrix would hold more than ``max_dense`` cells, it is first reduced by latent semantic
analysis (``sklearn.decomposition.TruncatedSVD`` on the sparse matrix, rows normalised
again), so a large corpus does not need ``n_texts x n_lemmas`` floats of memory.

Example:
    >>> X, vocab = tfidf_vectors(["ОПОРА МОСТА", "ВИСЯЧИЙ МОСТ", "ХЛЕБ"])
    >>> X.shape, vocab[:2]
    ((3, 4), ['висячий', 'мост'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from toolkit._validation import check_int, check_texts, unit_rows

__all__ = ["tfidf_vectors"]

MAX_DENSE = 20_000_000
"""Default cell count above which the TF-IDF matrix is reduced by TruncatedSVD (~80 MB)."""


def _check_texts(texts: Any) -> list[str]:
    return check_texts(
        texts,
        error=ValueError,
        allow_empty=False,
        container="{name}: expected a sequence of strings, got {type}",
        item="{name}: position {i} is {type}, expected a string",
    )


def tfidf_vectors(
    texts: Sequence[str],
    *,
    analyzer: Callable[[str], list[str]] | None = None,
    sublinear_tf: bool = True,
    max_dense: int | None = MAX_DENSE,
    n_components: int = 256,
    random_state: int = 42,
) -> tuple[np.ndarray, list[str]]:
    """Turn texts into L2-normalised TF-IDF vectors of their lemmas (dense ``float32``).

    A text with no token left after stop-word removal gets an all-zero row (cosine
    geometry is undefined for it: drop it, or give it the noise label, before
    :func:`toolkit.clustering.reduce`, which rejects zero rows).

    Args:
        texts: The titles.
        analyzer: ``text -> list of tokens``; default :func:`toolkit.text_ru.lemmatize`
            (pymorphy3 lemmas, Russian stop words and patent boilerplate removed).
        sublinear_tf: Use ``1 + ln(tf)`` instead of the raw count (default, BM25-like
            saturation of repeated words).
        max_dense: When ``n_texts x n_lemmas`` exceeds this, reduce to ``n_components``
            dimensions with TruncatedSVD before densifying (``None``: never reduce).
        n_components: Dimensions of that reduction (at most ``n_lemmas - 1``).
        random_state: Seed of the randomised SVD.

    Returns:
        ``(vectors, vocabulary)``: a ``float32`` array with one unit (or all-zero) row per
        text, and the sorted lemma vocabulary (the column names of the unreduced matrix).

    Raises:
        ValueError: ``texts`` is not a non-empty sequence of strings, no text has any
            token, or ``max_dense``/``n_components`` is below 1.
        TypeError: ``max_dense``/``n_components`` is not an integer.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = _check_texts(texts)
    max_dense = check_int(max_dense, "max_dense", allow_none=True)
    n_components = check_int(n_components, "n_components")
    if analyzer is None:
        from toolkit.text_ru import lemmatize as analyzer
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=sublinear_tf, norm="l2")
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # sklearn: "empty vocabulary"
        raise ValueError(
            f"texts: none of the {len(texts)} texts has a token left after stop-word removal"
        ) from None
    vocabulary = [str(t) for t in vectorizer.get_feature_names_out()]
    n, d = matrix.shape
    if max_dense is None or n * d <= max_dense or d < 2:
        return matrix.toarray().astype(np.float32), vocabulary

    from sklearn.decomposition import TruncatedSVD

    k = min(n_components, d - 1, n)
    reduced = TruncatedSVD(n_components=k, random_state=random_state).fit_transform(matrix)
    reduced = unit_rows(reduced, "reduced", zero_rows="keep")  # a zero row stays zero
    return reduced.astype(np.float32), vocabulary
