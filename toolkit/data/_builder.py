"""Rows into a set: the builder every loader fills, and what every loader does last.

:class:`RowBuilder` collects queries, documents, judgments, splits and fields from the rows
of a :class:`~toolkit.data._tables.Table` and names the first row of a conflicting repeat;
:func:`finish` merges or warns about twin titles.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from toolkit.data._tables import QRELS_EXPECT, Table, require_columns
from toolkit.data.types import RetrievalSet

__all__ = ["RowBuilder", "finish", "nowhere", "qrels_builder"]

_UNSET = object()


class RowBuilder:
    """Collect queries, docs, qrels and fields from rows; conflicting repeats are errors."""

    def __init__(self, tab: Table) -> None:
        self.tab = tab
        self.queries: dict[str, str] = {}
        self.corpus: dict[str, str] = {}
        self.qrels: dict[str, dict[str, int]] = {}
        self.qrel_rows: dict[tuple[str, str], int] = {}
        self.split_of: dict[str, str | None] = {}
        self.query_fields: dict[str, dict[str, str | None]] = {}
        self.doc_fields: dict[str, dict[str, str | None]] = {}
        self.rows: dict[tuple[str, str], int] = {}  # first row of (kind, key)

    def _once(
        self,
        kind: str,
        key: str,
        store: dict[str, Any],
        value: Any,
        i: int,
        column: str,
        label: str,
    ) -> None:
        old = store.get(key, _UNSET)
        if old is value:  # the common repeat (same object) needs no comparison
            return
        if old is _UNSET:
            store[key] = value
            self.rows[(kind, key)] = i
        elif old != value:
            first = self.tab.where(self.rows[(kind, key)])
            raise self.tab.error(
                i, column, f"{label} {key!r} already has {column} {old!r} ({first}); got {value!r}"
            )

    def add_query(self, i: int, qid: str, text: str, column: str = "query") -> None:
        self._once("query", qid, self.queries, text, i, column, "query id")

    def add_doc(self, i: int, did: str, title: str, column: str = "title") -> None:
        self._once("doc", did, self.corpus, title, i, column, "document id")

    def set_split(self, i: int, qid: str, split: str | None, column: str = "split") -> None:
        old = self.split_of.get(qid, _UNSET)
        if old is not _UNSET and old != split:
            first = self.tab.where(self.rows[("split", qid)])
            raise self.tab.error(
                i, column, f"query id {qid!r} is in two splits: {old!r} ({first}) and {split!r}"
            )
        if old is _UNSET:
            self.split_of[qid] = split
            self.rows[("split", qid)] = i

    def set_query_field(
        self, i: int, qid: str, name: str, value: str | None, column: str | None = None
    ) -> None:
        self._once(
            f"qf:{name}",
            qid,
            self.query_fields.setdefault(name, {}),
            value,
            i,
            column or name,
            "query id",
        )

    def set_doc_field(
        self, i: int, did: str, name: str, value: str | None, column: str | None = None
    ) -> None:
        self._once(
            f"df:{name}",
            did,
            self.doc_fields.setdefault(name, {}),
            value,
            i,
            column or name,
            "document id",
        )

    def add_qrel(
        self,
        i: int,
        qid: str,
        did: str,
        grade: int,
        column: str = "relevance",
        label: str = "judgment",
    ) -> None:
        judged = self.qrels.setdefault(qid, {})
        if did in judged and judged[did] != grade:
            first = self.tab.where(self.qrel_rows[(qid, did)])
            raise self.tab.error(
                i,
                column,
                f"{label} ({qid!r}, {did!r}) already has grade "
                f"{judged[did]} ({first}); got {grade}",
            )
        if did not in judged:
            judged[did] = grade
            self.qrel_rows[(qid, did)] = i

    def doc_where(self, doc_id: str) -> str | None:
        i = self.rows.get(("doc", doc_id))
        return None if i is None else self.tab.where(i)

    def splits(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for qid, name in self.split_of.items():
            if name is not None:
                out.setdefault(name, []).append(qid)
        return out

    def build(self) -> RetrievalSet:
        def clean(fields: dict[str, dict[str, str | None]]) -> dict[str, dict[str, str]]:
            return {
                n: {k: v for k, v in vals.items() if v is not None} for n, vals in fields.items()
            }

        return RetrievalSet(
            queries=self.queries,
            corpus=self.corpus,
            qrels=self.qrels,
            splits=self.splits(),
            doc_fields=clean(self.doc_fields),
            query_fields=clean(self.query_fields),
        )


def qrels_builder(tab: Table) -> RowBuilder:
    """The judgments of a qrels table, each (query, doc) pair with the row it came from."""
    require_columns(tab, ["query_id", "doc_id", "relevance"], QRELS_EXPECT)
    data = {c: tab.df[c].tolist() for c in ("query_id", "doc_id", "relevance")}
    b = RowBuilder(tab)
    for i in range(len(tab.df)):
        qid = tab.ident(i, "query_id", data["query_id"][i])
        did = tab.ident(i, "doc_id", data["doc_id"][i])
        b.add_qrel(i, qid, did, tab.grade(i, "relevance", data["relevance"][i]))
    return b


def nowhere(doc_id: str) -> None:
    """The ``where`` of :func:`finish` for a set whose documents have no file row."""
    return None


def _twins_message(name: str, rs: RetrievalSet, where: Callable[[str], str | None]) -> str | None:
    groups = rs.duplicate_titles()
    if not groups:
        return None
    g = groups[0]
    shown = ", ".join(f"{d!r} ({where(d)})" if where(d) else repr(d) for d in g)
    return (
        f"{name}: {len(groups)} group(s) of documents share a title (identical up to case and "
        f"whitespace), e.g. {shown}: {rs.corpus[g[0]]!r}. Retrieval metrics count a retrieved "
        f"twin as a miss; pass dedupe=True to merge each group into its first id (judgments "
        f"are remapped to it, keeping the highest grade)."
    )


def finish(
    rs: RetrievalSet, name: str, where: Callable[[str], str | None], dedupe: bool
) -> RetrievalSet:
    """What every loader does last: merge twin titles (``dedupe``) or warn about them.

    The warning points at the caller's caller: call this from the public loader itself.
    """
    if dedupe:
        return rs.dedupe_titles()
    message = _twins_message(name, rs, where)
    if message:
        warnings.warn(message, UserWarning, stacklevel=3)
    return rs
