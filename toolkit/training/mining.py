"""Hard negatives for training pairs, mined with sentence-transformers' ``mine_hard_negatives``.

* :func:`relevant_titles` -- the titles judged relevant to each query text: never a negative;
* :func:`mine_negatives` -- ``recipe.hard_negatives`` mined titles per ``(query, title)`` pair,
  what :func:`toolkit.training.finetune` trains on when a recipe asks for hard negatives.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from toolkit.training.recipes import Recipe

__all__ = ["mine_negatives", "relevant_titles"]


def relevant_titles(
    rs: Any, extra_qrels: Mapping[str, Mapping[str, int]] | None = None
) -> dict[str, list[str]]:
    """Titles judged relevant (grade >= 1) to each query text: what mining must never use.

    Pairs are texts, judgments are ids, so the map is keyed by text; queries that share a
    text pool their titles, and a title text that several doc ids share counts once.

    Args:
        rs: A :class:`toolkit.data.RetrievalSet`; its ``qrels`` with grade >= 1.
        extra_qrels: More judgments ``{query_id: {doc_id: grade}}`` (e.g. the demo set's
            ``judgments.csv``, whose train queries have more relevant titles than
            ``qrels.csv``); ids unknown to ``rs`` are ignored.

    Returns:
        ``{query text: [title, ...]}`` in query order, titles in corpus order.
    """
    grades: dict[str, set[str]] = {}
    for source in (rs.qrels, extra_qrels or {}):
        for qid, docs in source.items():
            if qid in rs.queries:
                rel = {d for d, g in docs.items() if g >= 1 and d in rs.corpus}
                grades.setdefault(qid, set()).update(rel)
    out: dict[str, list[str]] = {}
    for qid, text in rs.queries.items():
        docs = grades.get(qid, set())
        if docs:
            titles = out.setdefault(text, [])
            titles.extend(t for d, t in rs.corpus.items() if d in docs and t not in titles)
    return out


def mine_negatives(
    model: Any,
    pairs: Sequence[tuple[str, str]],
    recipe: Recipe,
    negatives_from: Any = None,
    extra_qrels: Mapping[str, Mapping[str, int]] | None = None,
) -> tuple[list[tuple[str, str]], list[list[str]], dict[str, Any]]:
    """Mine ``recipe.hard_negatives`` negatives per pair with ``mine_hard_negatives``.

    Every title judged relevant to a query is handed to the library as one more positive of
    that query, so its own positive mask keeps it out of the negatives (the library excludes
    the positives it is given, not the judgments it is not); the extra rows are dropped from
    the result, which is put back in the order of ``pairs``. ``range_max`` covers every
    candidate, so a pair lacks negatives only when fewer candidates than asked pass the margin.

    Args:
        model: The ``SentenceTransformer`` that ranks the candidates.
        pairs: ``(query, title)`` training pairs.
        recipe: Its ``hard_negatives`` (per pair) and ``hard_negative_margin`` are used.
        negatives_from: The :class:`toolkit.data.RetrievalSet` whose titles are the candidates
            and whose judgments (:func:`relevant_titles`) are excluded; ``None``: the training
            titles are the candidates (the library's default).
        extra_qrels: More judgments of ``negatives_from``'s queries to exclude.

    Returns:
        ``(kept pairs, negatives per kept pair, manifest info)``.
    """
    if negatives_from is not None:
        corpus = list(dict.fromkeys(negatives_from.corpus.values()))
        relevant = relevant_titles(negatives_from, extra_qrels)
        source = "negatives_from corpus"
    else:  # the library's default: the training titles are the candidates
        corpus, relevant = None, {}
        source = "training titles"
    by_query = _positives_by_query(pairs, relevant)
    positives = [t for ts in by_query.values() for t in ts]
    n_candidates = len(set(corpus or []) | set(positives))
    found = _mine(model, by_query, corpus, n_candidates, recipe)
    kept, negatives = [], []
    for q, t in pairs:
        if (q, t) in found:
            negs = found[(q, t)]
            bad = set(negs) & set(by_query[q])
            if bad:  # pragma: no cover - would mean the library stopped masking positives
                raise RuntimeError(f"mined a title judged relevant to {q!r}: {sorted(bad)}")
            kept.append((q, t))
            negatives.append(negs)
    info = {
        "tool": "sentence_transformers.util.mine_hard_negatives",
        "num_negatives": recipe.hard_negatives,
        "relative_margin": float(recipe.hard_negative_margin),
        "sampling_strategy": "top",
        "candidates": source,
        "n_candidates": n_candidates,
        "excluded_relevant": len(positives),
        "pairs_without_enough_negatives": len(pairs) - len(kept),
    }
    return kept, negatives, info


def _positives_by_query(
    pairs: Sequence[tuple[str, str]], relevant: Mapping[str, list[str]]
) -> dict[str, list[str]]:
    """Each query's training titles, then its other judged-relevant titles (no repeats)."""
    by_query: dict[str, list[str]] = {}
    for q, t in pairs:
        by_query.setdefault(q, [])
        if t not in by_query[q]:
            by_query[q].append(t)
    for q, titles in by_query.items():
        titles.extend(t for t in relevant.get(q, []) if t not in titles)
    return by_query


def _mine(
    model: Any,
    by_query: Mapping[str, list[str]],
    corpus: list[str] | None,
    n_candidates: int,
    recipe: Recipe,
) -> dict[tuple[str, str], list[str]]:
    """``{(query, positive): [negative, ...]}`` for the rows the library found enough for."""
    import datasets
    from sentence_transformers.util import mine_hard_negatives

    anchors = [q for q, ts in by_query.items() for _ in ts]
    positives = [t for ts in by_query.values() for t in ts]
    # mine_hard_negatives encodes with show_progress_bar=True whatever verbose says; its bars
    # would land in a notebook's stderr, so they go to a buffer instead.
    with contextlib.redirect_stderr(io.StringIO()):
        mined = mine_hard_negatives(
            datasets.Dataset.from_dict({"anchor": anchors, "positive": positives}),
            model,
            corpus=corpus,
            range_max=max(n_candidates, recipe.hard_negatives),
            relative_margin=float(recipe.hard_negative_margin),
            num_negatives=recipe.hard_negatives,
            sampling_strategy="top",
            output_format="n-tuple",
            verbose=False,
        )
    neg_cols = [f"negative_{i}" for i in range(1, recipe.hard_negatives + 1)]
    return {(row["anchor"], row["positive"]): [row[c] for c in neg_cols] for row in mined}
