"""Judged pools: the top-k of several systems, a CSV to judge, and the judgments merged back.

The TREC way of making judgments cover what systems retrieve: take each system's top k per
query (the *pool*), judge every pooled pair that has no judgment yet, and merge the grades
back; ``judged@k`` (:func:`toolkit.metrics.retrieval_metrics` with ``judged=True``) then says
how much of a system's top k the judgments cover. ir_measures and ranx evaluate runs but do
not build pools or read judging sheets back, so this module does (with the qrels loader's
validation rules and messages).

* :func:`pool` -- the union of the systems' top-k pairs, with who retrieved each and its grade;
* :func:`runs_from_scores` -- ranked lists from score matrices (e.g.
  :attr:`toolkit.evaluation.SystemComparison.scores`), under the metrics' tie rule;
* :func:`write_pool_csv` -- the unjudged pairs as a CSV sheet with an empty ``relevance``;
* :func:`merge_judgments` -- a judged sheet back into a new :class:`RetrievalSet`.

Example:
    >>> from toolkit.data import RetrievalSet
    >>> rs = RetrievalSet(queries={"q": "а"}, corpus={"d1": "Т1", "d2": "Т2"},
    ...                   qrels={"q": {"d1": 1}})
    >>> p = pool({"bm25": {"q": ["d2", "d1"]}, "dense": {"q": ["d1"]}}, k=2, judged=rs)
    >>> p[["doc_id", "systems", "grade"]].values.tolist()
    [['d1', 'bm25,dense', 1.0], ['d2', 'bm25', nan]]
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._io import write_atomic
from toolkit._validation import check_int
from toolkit.data._builder import qrels_builder
from toolkit.data._checks import is_missing, unknown_judged_id
from toolkit.data._tables import Blob, qrels_table
from toolkit.data.types import DataError, RetrievalSet

__all__ = ["merge_judgments", "pool", "runs_from_scores", "write_pool_csv"]

POOL_COLUMNS = ("query_id", "doc_id", "systems", "n_systems", "best_rank", "grade")
SHEET_COLUMNS = ("query_id", "query", "doc_id", "title", "systems", "relevance")
GRADES = (0, 1, 2)


def runs_from_scores(
    scores: Mapping[str, Any],
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    k: int | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Turn score matrices into ranked lists, under the tie rule of :mod:`toolkit.metrics`.

    Args:
        scores: ``{system: n_queries x n_docs}`` scores, e.g. ``SystemComparison.scores``.
        query_ids: The queries of the rows.
        doc_ids: The documents of the columns.
        k: Keep the top ``k`` of each query (``None``: the whole ranking).

    Returns:
        ``{system: {query_id: [doc ids, best first]}}`` -- what :func:`pool` takes.
    """
    from toolkit.ranking import rank_columns, tie_order

    query_ids, doc_ids = list(query_ids), list(doc_ids)
    k = check_int(k, "k", allow_none=True)
    order = tie_order(doc_ids)
    out: dict[str, dict[str, list[str]]] = {}
    for system, matrix in scores.items():
        arr = np.asarray(matrix)
        if arr.shape != (len(query_ids), len(doc_ids)):
            raise DataError(
                f"scores[{system!r}]: shape {arr.shape}, but query_ids x doc_ids is "
                f"({len(query_ids)}, {len(doc_ids)})"
            )
        out[system] = {
            q: [doc_ids[j] for j in rank_columns(arr[i], order)[:k]]
            for i, q in enumerate(query_ids)
        }
    return out


def _ranked_lists(system: str, run: Any) -> dict[str, list[str]]:
    """One system's run as ``{query_id: [doc ids best first]}``, checked."""
    where = f"runs[{system!r}]"
    if isinstance(run, pd.DataFrame):
        missing = [c for c in ("query_id", "doc_id") if c not in run.columns]
        if missing or not ({"rank", "score"} & set(run.columns)):
            raise DataError(
                f"{where}: a run table needs columns query_id, doc_id and rank (1 = best) or "
                f"score (higher = better); columns found: {', '.join(map(str, run.columns))}"
            )
        by = "rank" if "rank" in run.columns else "score"
        # score ties: doc id descending, the metrics' (trec_eval's) tie rule
        df = run.assign(_d=run["doc_id"].astype(str))
        df = df.sort_values(
            ["query_id", by, "_d"], ascending=[True, by == "rank", False], kind="stable"
        )
        lists = {str(q): g["doc_id"].tolist() for q, g in df.groupby("query_id", sort=False)}
        first_seen = list(dict.fromkeys(map(str, run["query_id"])))
        run = {q: lists[q] for q in first_seen}
    if not isinstance(run, Mapping):
        raise DataError(
            f"{where}: expected a DataFrame (query_id, doc_id, rank or score) or a dict "
            f"{{query_id: [doc ids best first]}}, got {type(run).__name__}"
        )
    out: dict[str, list[str]] = {}
    for qid, docs in run.items():
        if isinstance(docs, str) or not isinstance(docs, Sequence | np.ndarray):
            raise DataError(
                f"{where}[{qid!r}]: expected a list of doc ids best first, got "
                f"{type(docs).__name__}"
            )
        seen: dict[Any, int] = {}
        for pos, did in enumerate(docs):
            if did in seen:
                raise DataError(
                    f"{where}[{qid!r}][{pos}]: doc id {did!r} is ranked twice (also at "
                    f"position {seen[did]})"
                )
            seen[did] = pos
        out[qid] = list(docs)
    return out


def pool(
    runs: Mapping[str, Any] | Any,
    k: int = 10,
    *,
    judged: RetrievalSet | Mapping[str, Mapping[str, int]] | None = None,
) -> pd.DataFrame:
    """The union of the systems' top-k (query, doc) pairs, with who retrieved them.

    Args:
        runs: ``{system: run}`` where a run is ``{query_id: [doc ids best first]}`` or a
            DataFrame with ``query_id``, ``doc_id`` and ``rank`` (1 = best) or ``score``
            (higher = better; ties broken by doc id descending, as the metrics do). A
            :class:`toolkit.evaluation.SystemComparison` is accepted too (its score
            matrices, through :func:`runs_from_scores`).
        k: Pool depth: the top ``k`` of each system and query.
        judged: Judgments to look the pairs up in: a :class:`RetrievalSet` (its qrels,
            grade 0 included) or ``{query_id: {doc_id: grade}}``; ``None``: none.

    Returns:
        One row per pooled pair: ``query_id``, ``doc_id``, ``systems`` (comma-separated, in
        the order of ``runs``), ``n_systems``, ``best_rank`` (the best rank any system gave
        it) and ``grade`` (float; NaN = unjudged). Rows are in query order of first
        appearance, then by best rank, then doc id.

    Raises:
        TypeError: ``k`` is not an integer.
        ValueError: ``k`` is below 1.
        DataError: No runs, or a run is malformed (the message names the system, query and
            position).
    """
    k = check_int(k, "k")
    if hasattr(runs, "scores") and hasattr(runs, "query_ids") and hasattr(runs, "doc_ids"):
        runs = runs_from_scores(runs.scores, runs.query_ids, runs.doc_ids, k)
    if not isinstance(runs, Mapping) or not runs:
        raise DataError(f"runs: expected a non-empty mapping {{system: run}}, got {runs!r:.80}")
    qrels: Mapping[str, Mapping[str, int]]
    if judged is None:
        qrels = {}
    elif isinstance(judged, RetrievalSet):
        qrels = judged.qrels
    elif isinstance(judged, Mapping):
        qrels = judged
    else:
        raise DataError(
            f"judged: expected a RetrievalSet or {{query_id: {{doc_id: grade}}}}, got "
            f"{type(judged).__name__}"
        )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for system, run in runs.items():
        for qid, docs in _ranked_lists(system, run).items():
            for rank, did in enumerate(docs[:k], start=1):
                row = found.setdefault((qid, did), {"systems": [], "best_rank": rank})
                row["systems"].append(str(system))
                row["best_rank"] = min(row["best_rank"], rank)
    query_order = {q: i for i, q in enumerate(dict.fromkeys(q for q, _ in found))}
    keys = sorted(found, key=lambda qd: (query_order[qd[0]], found[qd]["best_rank"], str(qd[1])))
    rows = [
        {
            "query_id": q,
            "doc_id": d,
            "systems": ",".join(found[(q, d)]["systems"]),
            "n_systems": len(found[(q, d)]["systems"]),
            "best_rank": found[(q, d)]["best_rank"],
            "grade": float(qrels.get(q, {}).get(d, math.nan)),
        }
        for q, d in keys
    ]
    return pd.DataFrame(rows, columns=list(POOL_COLUMNS))


def write_pool_csv(pooled: pd.DataFrame, path: Any, rs: RetrievalSet) -> Path:
    r"""Write the *unjudged* pairs of a pool as a judging sheet, atomically.

    Columns ``query_id,query,doc_id,title,systems,relevance`` with ``relevance`` empty: fill
    it with 0, 1 or 2 (the rubric is in the demo's data card) and read the sheet back with
    :func:`merge_judgments`. UTF-8 without BOM, RFC-4180 quoting, ``\n`` line ends; texts
    are written exactly (a trailing space is kept).

    Args:
        pooled: The output of :func:`pool` (pairs with a grade are skipped).
        path: The CSV file to write (its folder is created).
        rs: The set the ids belong to (for query texts and titles).

    Returns:
        The path written.

    Raises:
        DataError: ``pooled`` lacks pool columns, or names a query or doc id that ``rs`` does
            not have (with its row).
    """
    if not isinstance(pooled, pd.DataFrame) or not {"query_id", "doc_id", "grade"} <= set(
        pooled.columns
    ):
        raise DataError("pooled: expected the DataFrame of pool() (query_id, doc_id, grade, ...)")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    systems = pooled["systems"] if "systems" in pooled.columns else [""] * len(pooled)
    for i, (qid, did, grade, sys_) in enumerate(
        zip(pooled["query_id"], pooled["doc_id"], pooled["grade"], systems, strict=True)
    ):
        if not is_missing(grade):
            continue
        column = unknown_judged_id(qid, did, rs.queries, rs.corpus)
        if column:
            what = "query" if column == "query_id" else "document"
            value = qid if column == "query_id" else did
            raise DataError(
                f"pooled, row {i} (iloc), column {column!r}: unknown {what} id {value!r} "
                f"(not in the set)",
                source="pooled",
                row=i,
                column=column,
            )
        writer.writerow([qid, rs.queries[qid], did, rs.corpus[did], sys_, ""])
    return write_atomic(path, buf.getvalue())


def merge_judgments(
    rs: RetrievalSet, path: Any, *, content: bytes | None = None
) -> tuple[RetrievalSet, dict[str, int]]:
    """Read a judged sheet and return the set with its judgments merged in.

    The sheet needs ``query_id``, ``doc_id`` and ``relevance`` (other columns, such as the
    query text and title of :func:`write_pool_csv`, are ignored); TREC qrels files and
    DataFrames are read too. The rules and messages are the qrels loader's, naming the file,
    row and column: ids must be known to ``rs``; every grade must be 0, 1 or 2 (an empty one
    is an error: judge the pair or delete the row); a pair listed twice must carry the same
    grade. A judged pair replaces the set's grade for it (a *regrade* when they differ);
    grade 0 is kept as judged-non-relevant, which ``judged@k`` counts and no other metric
    counts as relevant.

    Args:
        rs: The set the sheet was written for.
        path: The judged sheet (CSV/TSV/JSONL/Parquet/TREC path, or a DataFrame).
        content: The sheet's bytes, read as if they were the file at ``path`` (its
            extension gives the format, messages name it), so that a sheet can be checked
            before it is written. ``None``: read ``path``.

    Returns:
        ``(new set, counts)`` with counts ``{"added", "regraded", "unchanged"}``: pairs the set
        had not judged, pairs whose grade changed, pairs judged again with the same grade.

    Raises:
        DataError: The first problem, e.g. ``judged.csv, row 7, column 'relevance': grade 3
            is not 0, 1 or 2``.
    """
    if not isinstance(rs, RetrievalSet):
        raise DataError(f"rs: expected a RetrievalSet, got {type(rs).__name__}")
    if content is not None:
        if not isinstance(content, bytes):
            raise TypeError(f"content must be bytes or None, got {type(content).__name__}")
        path = Blob(str(path), Path(str(path)).suffix.lower(), content)
    tab = qrels_table(path, None)
    if "relevance" in tab.df.columns:
        for i, value in enumerate(tab.df["relevance"].tolist()):
            if is_missing(value) or (isinstance(value, str) and not value.strip()):
                raise tab.error(
                    i, "relevance", "empty grade; judge the pair (0, 1 or 2) or delete the row"
                )
    b = qrels_builder(tab)  # ids and grades checked per row; a pair twice with two grades
    counts = {"added": 0, "regraded": 0, "unchanged": 0}
    merged = {q: dict(d) for q, d in rs.qrels.items()}
    for (qid, did), i in b.qrel_rows.items():
        column = unknown_judged_id(qid, did, rs.queries, rs.corpus)
        if column == "query_id":
            raise tab.error(i, column, f"unknown query id {qid!r} (not in the set's queries)")
        if column == "doc_id":
            raise tab.error(i, column, f"unknown document id {did!r} (not in the set's corpus)")
        grade = b.qrels[qid][did]
        if grade not in GRADES:
            raise tab.error(i, "relevance", f"grade {grade} is not 0, 1 or 2")
        old = merged.get(qid, {}).get(did)
        key = "added" if old is None else ("unchanged" if old == grade else "regraded")
        counts[key] += 1
        merged.setdefault(qid, {})[did] = grade
    return rs.with_qrels(merged), counts
