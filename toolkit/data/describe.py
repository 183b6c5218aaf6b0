"""Reports for people: :func:`describe` a set and :func:`validate_files` (``toolkit data``)."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from toolkit.data._builder import qrels_builder
from toolkit.data._tables import TREC_EXTENSIONS, TableSource, decode, qrels_table, read_blob
from toolkit.data.audit import audit_splits
from toolkit.data.loaders import (
    load_corpus,
    load_folder,
    load_pairs,
    load_queries,
    load_retrieval_set,
)
from toolkit.data.rospatent import is_rospatent_path, load_rospatent_json
from toolkit.data.types import DataError, RetrievalSet

__all__ = ["describe", "validate_files"]


def describe(rs: RetrievalSet) -> str:
    """Return a human summary of a set: sizes, grades, relevant per query, splits, IPC.

    Args:
        rs: The set.

    Returns:
        A few lines of text.
    """
    d = rs.describe()
    grades = ", ".join(f"grade {g}: {n}" for g, n in d["grades"].items()) or "none"
    lines = [
        f"queries: {d['queries']}, documents: {d['documents']}, judgments: {d['judgments']} "
        f"({d['relevant']} relevant, {d['judged_nonrelevant']} judged non-relevant)",
        f"grades: {grades}",
    ]
    rpq = d["relevant_per_query"]
    if rpq["mean"] is not None:
        lines.append(
            f"relevant per query: min {rpq['min']}, mean {rpq['mean']:.2f}, max {rpq['max']}"
        )
    if d["splits"]:
        per_split = []
        for name, ids in rs.splits.items():
            n_rel = sum(1 for q in ids for g in rs.qrels.get(q, {}).values() if g >= 1)
            per_split.append(f"{name} {len(ids)} queries / {n_rel} relevant")
        lines.append("splits: " + ", ".join(per_split))
    if d["ipc"]:
        unknown = d["documents"] - sum(d["ipc"].values())
        ipc = ", ".join(f"{s} {n}" for s, n in d["ipc"].items())
        lines.append(f"IPC sections: {ipc}" + (f" (no IPC: {unknown})" if unknown else ""))
    if d["doc_fields"] or d["query_fields"]:
        lines.append(
            f"doc fields: {', '.join(d['doc_fields']) or '-'}; query fields: "
            f"{', '.join(d['query_fields']) or '-'}"
        )
    return "\n".join(lines)


def _guess_kind(path: Any) -> tuple[str, Any]:
    """Return (kind, table-or-path) for one file, reading it once."""
    if is_rospatent_path(path):
        return "rospatent", path
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".json" and Path(path).is_file():
        try:
            whole = json.loads(decode(read_blob(path), "line"))
        except json.JSONDecodeError:
            whole = None
        if isinstance(whole, dict) and all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in whole.values()
        ):
            return "splits", whole
    if suffix in TREC_EXTENSIONS:
        return "qrels", qrels_table(path, None)
    tab = qrels_table(path, None)  # reads tables too; TREC-shaped .csv/.tsv become TREC
    if tab.fmt == "trec":
        return "qrels", tab
    cols = set(tab.df.columns)
    if {"query", "title"} <= cols:
        return "pairs", tab
    if {"doc_id", "title"} <= cols:
        return "corpus", tab
    if {"query_id", "doc_id", "relevance"} <= cols:
        return "qrels", tab
    if {"query_id", "text"} <= cols:
        return "queries", tab
    raise DataError(
        f"{tab.name}: cannot tell the kind of file from its columns "
        f"({', '.join(map(str, tab.df.columns))}); expected pairs (query,title), corpus "
        f"(doc_id,title), queries (query_id,text) or qrels (query_id,doc_id,relevance)",
        source=tab.name,
    )


def _part_summary(kind: str, result: Any) -> list[str]:
    """Counts for one file, with only the warnings that make sense for its kind."""
    if kind == "splits":
        return [f"{len(result)} split(s): " + ", ".join(f"{k} {len(v)}" for k, v in result.items())]
    if kind == "qrels":
        grades = Counter(g for judged in result.values() for g in judged.values())
        shown = ", ".join(f"grade {g}: {n}" for g, n in sorted(grades.items()))
        return [f"{len(result)} queries judged, {sum(grades.values())} judgments ({shown})"]
    if kind == "pairs":
        warns = [w for w in result.validate().warnings if "share a title" not in w]
        return describe(result).splitlines() + [f"warning: {w}" for w in warns]
    d = result.describe()
    if kind == "queries":
        out = [f"{d['queries']} queries"]
        if d["splits"]:
            outside = d["queries"] - sum(d["splits"].values())
            per = ", ".join(f"{n} {k}" for n, k in d["splits"].items())
            out.append(f"splits: {per}" + (f" (in no split: {outside})" if outside else ""))
    else:
        out = [f"{d['documents']} documents"]
        if d["ipc"]:
            unknown = d["documents"] - sum(d["ipc"].values())
            ipc = ", ".join(f"{k} {n}" for k, n in d["ipc"].items())
            out.append(f"IPC sections: {ipc}" + (f" (no IPC: {unknown})" if unknown else ""))
    names = d["query_fields"] if kind == "queries" else d["doc_fields"]
    if names:
        out.append(f"fields: {', '.join(names)}")
    return out


def _audit_lines(rs: RetrievalSet) -> list[str]:
    """The leakage audit of a set that has splits (verdict, counts, findings)."""
    if not rs.splits:
        return []
    return audit_splits(rs).to_text().splitlines()


def validate_files(paths: Iterable[Any]) -> tuple[str, bool]:
    """Check data files, guessing each one's kind from its columns, and report.

    Kinds: pairs (``query,title``), corpus (``doc_id,title``), queries (``query_id,text``),
    qrels (``query_id,doc_id,relevance`` or TREC), rospatent (saved search hits), splits
    (a ``.json`` object ``{name: [query ids]}``). When the files include exactly one corpus
    (or Rospatent file), one queries and one qrels file, they are also checked together
    (ids in qrels must exist), with the splits file if there is exactly one. A folder is read
    as a whole set (:func:`~toolkit.data.load_folder`: ``corpus.csv``, ``queries.csv``,
    ``qrels.csv`` and an optional ``judgments.csv``). A set with splits, from a folder or the
    combined files, also gets the leakage audit of :func:`~toolkit.data.audit_splits` (its
    verdict, counts and findings; findings do not make the report fail).

    Args:
        paths: Files to check.

    Returns:
        ``(report text, ok)``; ``ok`` is False when any file (or the combination) has an
        error. Warnings do not make it False.
    """
    report = _Report()
    by_kind: dict[str, list[Any]] = {}
    for path in paths:
        if Path(str(path)).is_dir():
            folder = Path(str(path))
            rs = report.run(f"{path} [folder]", lambda f=folder: load_folder(f, label=str(f)))
            if rs is not None:
                report.indent(describe(rs).splitlines() + _audit_lines(rs))
            continue
        kind = _check_file(report, path)
        if kind is not None:
            by_kind.setdefault(kind, []).append(path)
    _check_combined(report, by_kind)
    report.lines.append("all files OK" if report.ok else "errors found")
    return "\n".join(report.lines), report.ok


class _Report:
    """The lines of a :func:`validate_files` report and whether every check passed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ok = True

    def indent(self, lines: list[str]) -> None:
        self.lines.extend("  " + x for x in lines)

    def run(self, label: str, fn: Callable[[], Any]) -> Any:
        """Call ``fn``: report ``label: OK`` and its warnings, or ``label: ERROR`` (-> None)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn()
            except DataError as exc:
                self.ok = False
                self.lines.append(f"{label}: ERROR")
                self.indent(str(exc).splitlines())
                return None
        self.lines.append(f"{label}: OK")
        for w in caught:
            self.lines.append(f"  warning: {w.message}")
        return result


def _check_file(report: _Report, path: Any) -> str | None:
    """Guess one file's kind, load it as that and report; the kind, or None if unknown."""
    guessed = report.run(str(path), lambda: _guess_kind(path))
    if guessed is None:
        return None
    report.lines.pop()  # the "OK" of the guess; the load below reports
    kind, obj = guessed
    loader: Callable[[], Any] = {
        "qrels": lambda: qrels_builder(obj).qrels,
        "splits": lambda: obj,
        "rospatent": lambda: load_rospatent_json(obj),
        "pairs": lambda: load_pairs(TableSource(obj)),
        "corpus": lambda: load_corpus(TableSource(obj)),
        "queries": lambda: load_queries(TableSource(obj)),
    }[kind]
    result = report.run(f"{path} [{kind}]", loader)
    if result is not None:
        report.indent(_part_summary(kind, result))
    return kind


def _check_combined(report: _Report, by_kind: dict[str, list[Any]]) -> None:
    """One corpus, one queries and one qrels file (and at most one splits file): load together."""
    corpora = by_kind.get("corpus", []) + by_kind.get("rospatent", [])
    if not (
        len(corpora) == 1
        and len(by_kind.get("queries", [])) == 1
        and len(by_kind.get("qrels", [])) == 1
    ):
        return
    combined = report.run(
        "combined",
        lambda: load_retrieval_set(
            corpus=corpora[0],
            queries=by_kind["queries"][0],
            qrels=by_kind["qrels"][0],
            splits=by_kind["splits"][0] if len(by_kind.get("splits", [])) == 1 else None,
        ),
    )
    if combined is not None:
        report.indent(describe(combined).splitlines() + _audit_lines(combined))
