"""Hybrid systems: fuse a dense model's scores with BM25, and choose the fusion on dev.

* :func:`rrf_fuse` -- reciprocal-rank fusion of score matrices (ranks under the tie rule of
  :mod:`toolkit.ranking`);
* :func:`normalized_fuse` -- weighted sum of per-query normalised scores;
* :class:`Fusion` -- one fusion setting of the first dense model and BM25 (a system of
  :func:`toolkit.evaluation.compare_systems` and :func:`toolkit.retrieval.search`), and
  where it was chosen;
* :func:`select_fusion` -- the weighted fusion's ``(norm, w)`` and RRF's ``k`` chosen on one
  split (:class:`FusionSelection`); :func:`dense_scores` -- the dense side of a fusion.

Fused scores are dense ``n_queries x n_docs`` matrices with rows and columns in the caller's
order, the same shape as the dense path, so they plug straight into
:func:`toolkit.metrics.retrieval_metrics`.

Example:
    >>> import numpy as np
    >>> Fusion.parse("rrf(k=60)").fuse(np.eye(2), np.eye(2)[::-1], ["a", "b"]).shape
    (2, 2)
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.data import RetrievalSet, select_split
from toolkit.lexical import bm25_scores
from toolkit.metrics import retrieval_metrics
from toolkit.ranking import tie_order

__all__ = [
    "FUSION_DEFAULTS",
    "FUSION_NORMS",
    "FUSION_WEIGHTS",
    "RRF_K",
    "RRF_KS",
    "Fusion",
    "FusionSelection",
    "dense_scores",
    "normalized_fuse",
    "rrf_fuse",
    "select_fusion",
]

#: RRF constant of Cormack et al. (2009), the ``"hybrid"`` baseline's.
RRF_K = 60
#: Grids of :func:`select_fusion`: weight of the dense scores, RRF constants, normalisations.
FUSION_WEIGHTS = tuple(i / 10 for i in range(11))
RRF_KS = (10, 30, 60, 100)
FUSION_NORMS = ("minmax", "zscore")
#: Defaults a tie on dev falls back to (the closest one wins): equal weights, the
#: ``normalized_fuse`` default normalisation, and RRF's k = 60 of Cormack et al. (2009).
FUSION_DEFAULTS = {"w": 0.5, "norm": "minmax", "k": RRF_K}


# --------------------------------------------------------------------------------- fusing


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

    Each system's ranks follow the tie rule of :mod:`toolkit.ranking` (as the metrics rank):
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


# ---------------------------------------------------------------------------- settings


_FUSION_SPEC = re.compile(
    r"^\s*(?:fusion\(w=(?P<w>[0-9.]+)(?:,\s*norm=(?P<norm>\w+))?\)|rrf\(k=(?P<k>[0-9.]+)\))\s*$"
)


@dataclass(frozen=True)
class Fusion:
    """A fusion of the first dense model's scores with BM25, and where its setting was chosen.

    Attributes:
        kind: ``"weighted"`` (:func:`normalized_fuse`: ``w * dense + (1 - w) * bm25`` after
            per-query normalisation) or ``"rrf"`` (:func:`rrf_fuse` with constant ``k``).
        w: Weight of the dense scores (``"weighted"`` only), in [0, 1].
        k: RRF constant (``"rrf"`` only), >= 0.
        norm: ``"minmax"`` or ``"zscore"`` (``"weighted"`` only).
        chosen_on: Where the setting was chosen: ``"fixed"`` (set in advance) or the split
            that :func:`select_fusion` chose it on (``"dev"``).

    Example:
        >>> Fusion.parse("rrf(k=60)").name, Fusion("weighted", w=0.9, norm="zscore").name
        ('rrf(k=60)', 'fusion(w=0.9, norm=zscore)')
    """

    kind: str
    w: float | None = None
    k: float | None = None
    norm: str = "minmax"
    chosen_on: str = "fixed"

    def __post_init__(self) -> None:
        if self.kind == "weighted":
            w = self.w
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not 0 <= w <= 1:
                raise ValueError(f"Fusion: w must be a number in [0, 1], got {w!r}")
            if self.norm not in FUSION_NORMS:
                raise ValueError(
                    f"Fusion: norm must be one of {list(FUSION_NORMS)}, got {self.norm!r}"
                )
        elif self.kind == "rrf":
            k = self.k
            if isinstance(k, bool) or not isinstance(k, numbers.Real) or k < 0:
                raise ValueError(f"Fusion: k must be a number >= 0, got {k!r}")
        else:
            raise ValueError(f"Fusion: kind must be 'weighted' or 'rrf', got {self.kind!r}")

    @classmethod
    def parse(cls, spec: Any, chosen_on: str = "fixed") -> Fusion:
        """A :class:`Fusion` from its name; a :class:`Fusion` is returned unchanged.

        Names: ``"rrf(k=60)"``, ``"fusion(w=0.9)"``, ``"fusion(w=0.9, norm=zscore)"``.
        """
        if isinstance(spec, Fusion):
            return spec
        m = _FUSION_SPEC.match(spec) if isinstance(spec, str) else None
        if m is None:
            raise ValueError(
                f"fusions: cannot read {spec!r}; expected a Fusion or a name like "
                "'rrf(k=60)', 'fusion(w=0.9)' or 'fusion(w=0.9, norm=zscore)'"
            )
        if m["k"] is not None:
            return cls("rrf", k=_number(m["k"], spec), chosen_on=chosen_on)
        return cls("weighted", w=_number(m["w"], spec), norm=m["norm"] or "minmax",
                   chosen_on=chosen_on)  # fmt: skip

    @property
    def name(self) -> str:
        """System name: ``fusion(w=0.9)``, ``fusion(w=0.9, norm=zscore)``, ``rrf(k=60)``."""
        if self.kind == "rrf":
            return f"rrf(k={self.k:g})"
        norm = "" if self.norm == "minmax" else f", norm={self.norm}"
        return f"fusion(w={self.w:g}{norm})"

    def fuse(self, dense: Any, bm25: Any, doc_ids: Sequence[str]) -> np.ndarray:
        """Fused ``n_queries x n_docs`` scores of a dense and a BM25 score matrix."""
        if self.kind == "rrf":
            return rrf_fuse([dense, bm25], k=self.k, doc_ids=doc_ids)
        return normalized_fuse([dense, bm25], weights=[self.w, 1.0 - self.w], norm=self.norm)


def _number(text: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"fusions: {spec!r} has no valid number ({text!r})") from None
    return int(v) if v.is_integer() and "." not in text else v


@dataclass(frozen=True)
class FusionSelection:
    """Result of :func:`select_fusion`.

    Attributes:
        table: One row per setting tried: ``fusion`` (``"weighted"``/``"rrf"``), ``norm``,
            ``w``, ``k``, ``system`` (its name), the metric's mean over the split's queries,
            ``n`` (queries) and ``chosen`` (True for the two chosen rows).
        weighted: The chosen weighted fusion (``chosen_on`` = the split).
        rrf: The chosen RRF.
        split: The split the settings were chosen on.
        metric: The metric they were chosen by.
        dense: The dense model alone on that split (same metric), for reference.
        bm25: BM25 alone on that split.
    """

    table: pd.DataFrame
    weighted: Fusion
    rrf: Fusion
    split: str | None
    metric: str
    dense: float
    bm25: float

    @property
    def fusions(self) -> list[Fusion]:
        """``[weighted, rrf]``: the ``fusions=`` of :func:`toolkit.evaluation.compare_systems`."""
        return [self.weighted, self.rrf]

    @property
    def n(self) -> int:
        """Queries the selection was made on."""
        return int(self.table["n"].iloc[0])

    def summary(self) -> dict[str, Any]:
        """The choice in numbers, for :func:`toolkit.findings.query_title_alignment`.

        Keys: ``split``, ``n``, ``metric``, ``dense``, ``bm25``, ``weighted`` / ``rrf``
        (names) and ``weighted_score`` / ``rrf_score`` (their means).
        """
        score = self.table.set_index("system")[self.metric]
        return {
            "split": self.split, "n": self.n, "metric": self.metric,
            "dense": self.dense, "bm25": self.bm25,
            "weighted": self.weighted.name, "weighted_score": float(score[self.weighted.name]),
            "rrf": self.rrf.name, "rrf_score": float(score[self.rrf.name]),
        }  # fmt: skip

    def grid(self, fusion: str = "weighted") -> pd.DataFrame:
        """The table of one fusion as a grid: ``w`` x ``norm`` (weighted) or ``k`` (RRF)."""
        t = self.table[self.table["fusion"] == fusion]
        if fusion == "weighted":
            return t.pivot(index="w", columns="norm", values=self.metric)
        return t.set_index("k")[[self.metric]]


def _closest(candidates: list[dict[str, Any]], metric: str, key) -> dict[str, Any]:
    best = max(c[metric] for c in candidates)
    # a tie (equal mean up to float noise) goes to the setting closest to the default
    tied = [c for c in candidates if c[metric] >= best - 1e-12]
    return min(tied, key=key)


def dense_scores(model: Any, rs: RetrievalSet) -> np.ndarray:
    """Cosine scores ``n_queries x n_docs`` of a model on a set: encoded queries x titles.

    Rows follow ``rs.queries``, columns ``rs.corpus`` (:func:`toolkit.encode` returns unit
    vectors, so the dot product is the cosine).
    """
    from toolkit.encoding import encode

    q = encode(model, list(rs.queries.values()), show_progress=False)
    d = encode(model, list(rs.corpus.values()), show_progress=False)
    return q @ d.T


def select_fusion(
    rs: RetrievalSet,
    model: Any,
    *,
    split: str | None = "dev",
    weights: Sequence[float] = FUSION_WEIGHTS,
    rrf_ks: Sequence[float] = RRF_KS,
    norms: Sequence[str] = FUSION_NORMS,
    metric: str = "ndcg@10",
) -> FusionSelection:
    """Choose the weighted fusion's ``(norm, w)`` and RRF's ``k`` on one split (dev).

    Every setting of the grids fuses the dense model's scores (:func:`dense_scores`) with BM25
    (:func:`toolkit.lexical.bm25_scores`) on the split's queries against the whole corpus and
    is scored by the mean of ``metric`` over the queries with a relevant title. The best mean
    wins; a tie goes to the setting closest to the defaults (:data:`FUSION_DEFAULTS`: for the
    weighted fusion the ``minmax`` normalisation first, then the ``w`` closest to 0.5, then
    the larger ``w``; for RRF the ``k`` closest to 60, then the smaller ``k``). ``w = 1`` is
    the dense model alone and ``w = 0`` BM25 alone, so the grid can say "do not fuse". Run it
    on dev and report the chosen settings on test
    (:func:`toolkit.evaluation.compare_systems`, ``fusions=``):
    choosing on test would make the test numbers optimistic.

    Args:
        rs: The retrieval set.
        model: A ``SentenceTransformer``, or its ``n_queries x n_docs`` cosine scores of the
            split (rows: the split's query ids in order, columns: ``rs.doc_ids``).
        split: The split to choose on.
        weights: Grid of dense weights, each in [0, 1].
        rrf_ks: Grid of RRF constants, each >= 0.
        norms: Normalisations tried for the weighted fusion.
        metric: A per-query metric (``"ndcg@10"``, ``"mrr@10"``...).

    Returns:
        A :class:`FusionSelection` (the table of every setting and the two chosen fusions).

    Raises:
        DataError: ``split`` is not a split of ``rs``.
        ValueError: An empty grid, a weight outside [0, 1], a negative k, an unknown norm, or
            a score matrix of the wrong shape.
    """
    for name, grid in (("weights", weights), ("rrf_ks", rrf_ks), ("norms", norms)):
        if isinstance(grid, str) or not len(grid):
            raise ValueError(f"{name}: expected a non-empty list, got {grid!r}")
    sub, _ = select_split(rs, split)
    dense = _dense_matrix(model, sub)
    m = re.fullmatch(r"[a-z]+@([1-9][0-9]*)", metric) if isinstance(metric, str) else None
    if m is None:
        raise ValueError(f"metric: {metric!r} is not a per-query metric; e.g. 'ndcg@10'")
    k_cut = int(m[1])
    bm25 = bm25_scores(list(sub.queries.values()), list(sub.corpus.values()))
    settings = [Fusion("weighted", w=float(w), norm=norm, chosen_on=str(split))
                for norm in norms for w in weights]  # fmt: skip
    settings += [Fusion("rrf", k=k, chosen_on=str(split)) for k in rrf_ks]
    rows = []
    for f in settings:
        mean, n = _mean_metric(f.fuse(dense, bm25, sub.doc_ids), sub, metric, k_cut)
        weighted = f.kind == "weighted"
        rows.append({"fusion": f.kind, "norm": f.norm if weighted else None,
                     "w": f.w if weighted else np.nan, "k": np.nan if weighted else f.k,
                     "system": f.name, metric: mean, "n": n, "_f": f})  # fmt: skip
    weighted, rrf = _choose(rows, metric)
    for r in rows:
        r["chosen"] = r is weighted or r is rrf
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "_f"} for r in rows])
    return FusionSelection(
        table=table,
        weighted=weighted["_f"],
        rrf=rrf["_f"],
        split=split,
        metric=metric,
        dense=_mean_metric(dense, sub, metric, k_cut)[0],
        bm25=_mean_metric(bm25, sub, metric, k_cut)[0],
    )


def _dense_matrix(model: Any, sub: RetrievalSet) -> np.ndarray:
    """The split's dense scores: the model's cosines, or the score matrix given (checked)."""
    if hasattr(model, "encode"):
        return dense_scores(model, sub)
    dense = np.asarray(model, dtype=np.float64)
    shape = (len(sub.query_ids), len(sub.doc_ids))
    if dense.shape != shape:
        raise ValueError(
            f"model: a score matrix must have shape {shape} "
            f"(the split's queries x the corpus), got {dense.shape}"
        )
    return dense


def _mean_metric(
    scores: np.ndarray, sub: RetrievalSet, metric: str, k_cut: int
) -> tuple[float, int]:
    """Mean of ``metric`` over the split's queries with a relevant title, and their count."""
    _, t = retrieval_metrics(
        scores, sub.qrels, query_ids=sub.query_ids, doc_ids=sub.doc_ids, ks=(k_cut,)
    )
    if metric not in t.columns:
        raise ValueError(f"metric: {metric!r} is not a per-query metric; e.g. 'ndcg@10'")
    return float(t[metric].mean()), len(t)


def _choose(rows: list[dict[str, Any]], metric: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chosen weighted and RRF rows: the best mean, a tie to the closest to the defaults."""
    d = FUSION_DEFAULTS
    weighted = _closest(
        [r for r in rows if r["fusion"] == "weighted"], metric,
        key=lambda r: (r["norm"] != d["norm"], abs(r["w"] - d["w"]), -r["w"]),
    )  # fmt: skip
    rrf = _closest(
        [r for r in rows if r["fusion"] == "rrf"], metric,
        key=lambda r: (abs(r["k"] - d["k"]), r["k"]),
    )  # fmt: skip
    return weighted, rrf
