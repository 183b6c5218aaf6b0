"""Name clusters: :func:`label_clusters` (c-TF-IDF keywords of Russian lemmas, a representative)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import as_matrix, check_int, unit_rows
from toolkit.clustering._checks import as_labels, check_same_length
from toolkit.text_ru import lemmatize

__all__ = ["label_clusters"]


def _c_tf_idf(counts, classes: np.ndarray, class_of_doc: np.ndarray):
    """Class-based TF-IDF (BERTopic): tf per class x log(1 + A / f_t).

    ``counts`` is a sparse doc x term count matrix. Each class is one document:
    tf is the L1-normalised term count of the class, f_t the term's total count over
    all classes, A the average number of (kept) words per class. Unlike BERTopic, A
    is not truncated to an integer.
    """
    from scipy import sparse

    n_docs = counts.shape[0]
    rows = np.searchsorted(classes, class_of_doc)
    membership = sparse.csr_matrix(
        (np.ones(n_docs), (rows, np.arange(n_docs))), shape=(len(classes), n_docs)
    )
    class_counts = (membership @ counts).toarray().astype(np.float64)
    words_per_class = class_counts.sum(axis=1)
    f_t = class_counts.sum(axis=0)
    avg = words_per_class.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        idf = np.where(f_t > 0, np.log1p(avg / np.where(f_t > 0, f_t, 1)), 0.0)
        tf = np.where(words_per_class[:, None] > 0, class_counts / words_per_class[:, None], 0.0)
    return tf * idf



def _checked_texts(lab: np.ndarray, texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of strings as long as ``lab``, or ``ValueError`` naming the problem."""
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels: expected integer cluster ids, got dtype {lab.dtype}")
    if isinstance(texts, str):
        raise ValueError("texts: expected a sequence of strings, got a single string")
    texts = list(texts)
    check_same_length(lab, "labels", texts, "texts")
    if len(texts) == 0:
        raise ValueError("texts: is empty")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"texts: position {i} is {type(t).__name__}, expected a string")
    return texts


def _term_counts(texts: list[str], tokenize: Callable[[str], list[str]]) -> tuple[Any, np.ndarray]:
    """Sparse text x term count matrix and its vocabulary (empty when every token was dropped)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=tokenize, lowercase=False)
    try:
        counts = vectorizer.fit_transform(texts).tocsr()
        vocab = vectorizer.get_feature_names_out()
    except ValueError:  # empty vocabulary: every token was a stop word
        from scipy import sparse

        counts = sparse.csr_matrix((len(texts), 0))
        vocab = np.array([], dtype=object)
    return counts, vocab


def _representative(
    members: np.ndarray, unit: np.ndarray | None, counts: Any, top: list, kw_scores: list[float]
) -> int:
    """Index of the member closest to the mean unit embedding, else covering most keyword weight."""
    if unit is not None:
        centroid = unit[members].mean(axis=0)
        return members[int(np.argmax(unit[members] @ centroid))]
    sub = counts[members]
    weight = (sub[:, top] > 0).astype(np.float64) @ np.asarray(kw_scores)
    n_tokens = np.asarray(sub.sum(axis=1)).ravel()
    order = np.lexsort((np.arange(len(members)), n_tokens, -np.asarray(weight).ravel()))
    return members[order[0]]


def label_clusters(
    labels: Any,
    texts: Sequence[str],
    *,
    top_n: int = 8,
    embeddings: Any = None,
    extra_stop_words: Iterable[str] = (),
    analyzer: Callable[[str], list[str]] | None = None,
) -> pd.DataFrame:
    """Describe each cluster by its c-TF-IDF keywords and a representative title.

    Titles are split into lemmas by :func:`toolkit.text_ru.lemmatize` (pymorphy3; Russian
    stop words and the patent boilerplate :data:`toolkit.text_ru.PATENT_STOP_WORDS`
    removed), counted with scikit-learn's ``CountVectorizer``, and scored by class-based
    TF-IDF as in BERTopic: one document per cluster, ``tf`` = term count / words in the cluster,
    ``idf = log(1 + A / f_t)`` with ``A`` the average number of words per cluster and
    ``f_t`` the term's count over all clusters.

    Noise (``-1``) is kept as a class of its own (as BERTopic does), so it takes part in
    ``A`` and ``f_t`` and gets its own row, listed first.

    The representative title: with ``embeddings``, the member whose (unit) embedding is
    closest in cosine to the cluster's mean unit embedding; without, the member that
    covers the most keyword weight (sum of the c-TF-IDF scores of the distinct top
    keywords it contains; ties go to the shorter title, then the first one).

    Args:
        labels: Cluster label per text (``-1`` = noise).
        texts: The titles, same length as ``labels``.
        top_n: Number of keywords per cluster.
        embeddings: Optional ``(n, d)`` array aligned with ``texts`` (original or reduced).
        extra_stop_words: More lemmas to exclude from keywords.
        analyzer: Optional ``text -> list of tokens`` replacing :func:`lemmatize`.

    Returns:
        DataFrame with columns ``cluster``, ``size``, ``keywords`` (list of lemmas),
        ``scores`` (list of floats, same order), ``representative`` (a title) and
        ``representative_index`` (its position in ``texts``).

    Example:
        >>> df = label_clusters([0, 0, 1], ["МОСТ", "ОПОРА МОСТА", "ХЛЕБ"], top_n=2)
        >>> df.loc[df.cluster == 1, "keywords"].item()
        ['хлеб']
    """
    lab = as_labels(labels, "labels")
    texts = _checked_texts(lab, texts)
    top_n = check_int(top_n, "top_n")
    unit = None
    if embeddings is not None:
        emb = as_matrix(embeddings, "embeddings", min_rows=1)
        check_same_length(emb, "embeddings", texts, "texts")
        unit = unit_rows(emb.astype(np.float64, copy=False), "embeddings", zero_rows="raise")

    extra = tuple(extra_stop_words)
    counts, vocab = _term_counts(
        texts, analyzer or (lambda t: lemmatize(t, extra_stop_words=extra))
    )
    classes = np.unique(lab)
    scores = _c_tf_idf(counts, classes, lab)

    rows = []
    for ci, c in enumerate(classes):
        members = np.flatnonzero(lab == c)
        row_scores = scores[ci]
        positive = np.flatnonzero(row_scores > 0)
        # highest score first; ties broken alphabetically for reproducibility
        top = sorted(positive, key=lambda j: (-row_scores[j], vocab[j]))[:top_n]
        kw_scores = [float(row_scores[j]) for j in top]
        best = _representative(members, unit, counts, top, kw_scores)
        rows.append(
            {
                "cluster": int(c),
                "size": int(members.size),
                "keywords": [str(vocab[j]) for j in top],
                "scores": kw_scores,
                "representative": texts[best],
                "representative_index": int(best),
            }
        )
    return pd.DataFrame(rows, columns=list(rows[0]))
