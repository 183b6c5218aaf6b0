"""Type a query, compare systems side by side, judge what nobody judged, see it on the map.

Two layers, so that the logic is testable without a browser:

* :class:`Explorer` -- a plain-Python controller: it ranks with :func:`toolkit.retrieval.search`
  (nothing is ranked here), marks each retrieved title with its grade (the set's qrels plus
  the judgments file) and appends new judgments to the judgments file with
  :meth:`Explorer.judge`;
* :func:`explore` -- the thin ipywidgets view on top of it for JupyterLab: a query box, one
  column per system, buttons 0/1/2 on every title that the set's qrels have not judged, and a
  plotly ``FigureWidget`` map of the corpus with the query and a system's top-k highlighted.
  Everything ships in the Python wheels (ipywidgets, anywidget, plotly's widget bundle): no
  script is fetched from a CDN.

The judgments file is a judging sheet in the layout of
:func:`toolkit.data.write_pool_csv` (``query_id,query,doc_id,title,systems,relevance``), so
:func:`toolkit.data.merge_judgments` reads it back. Every write is **validated and atomic**:
the new content is checked with ``merge_judgments`` -- the qrels loader's rules and
messages, naming the file, row and column -- *before* it replaces the old file through
:func:`toolkit._io.write_atomic` (a temporary file renamed into place), so a kernel that dies
mid-write leaves the old file whole.

Judging policy (one row per (query, title) pair, as the qrels loader requires):

* a pair the set's qrels judge is read-only here (judge it again with the same grade: no-op;
  with another grade: :class:`~toolkit.data.DataError` -- edit the qrels instead);
* a pair not yet in the file is appended (``"added"``);
* a pair already in the file with another grade has its row's grade replaced in place
  (``"regraded"``); with the same grade nothing is written (``"unchanged"``).

A typed query that is one of the set's queries (same text) is judged under that query's id;
any other text gets the id ``"q-" + sha1(text)[:10]`` -- the id :func:`toolkit.data.load_pairs`
gives the same text -- and its text is kept in the ``query`` column, so
:meth:`Explorer.retrieval_set` can add it to the set.

Example:
    >>> import toolkit.explorer as tx
    >>> ex = tx.Explorer(systems=["bm25"], judgments="judged.csv")  # doctest: +SKIP
    >>> ex.search("роботы для доставки товаров")                   # doctest: +SKIP
    >>> ex.judge("роботы для доставки товаров", "a-0101", 2)        # doctest: +SKIP
    'added'
    >>> tx.explore(systems=["dense", "bm25"], judgments="judged.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int
from toolkit.data.pools import GRADES, SHEET_COLUMNS
from toolkit.data.types import DataError, RetrievalSet

__all__ = ["Explorer"]

_REQUIRED = ("query_id", "doc_id", "relevance")


# ----------------------------------------------------------------------------- file helpers


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a judgments CSV, every cell as the text it holds."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = [{c: (v if v is not None else "") for c, v in row.items()} for row in reader]
    return header, rows


def _csv_bytes(header: list[str], rows: list[dict[str, str]]) -> bytes:
    """RFC-4180 CSV, newline line ends, UTF-8 without BOM (the layout of write_pool_csv)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _file_mode(path: Path) -> int:
    """Keep an existing file's permission bits; a new file gets rw-r--r--."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o644


# ------------------------------------------------------------------------------- controller


class Explorer:
    """Search, grade marks and judging for one retrieval set, without any widget.

    Args:
        corpus: What to search: ``None`` (the demo set), a
            :class:`~toolkit.data.RetrievalSet`, or anything :func:`toolkit.data.load`
            reads (a folder of corpus/queries/qrels CSVs, a pairs file).
        systems: As :func:`toolkit.retrieval.search` takes them (``None``: the default dense
            model); resolved once, so a model is loaded once.
        k: Titles shown per system, >= 1.
        judgments: The judgments CSV that :meth:`judge` writes (created on the first
            judgment; an existing one is validated now).
        map_method: ``"pca"`` (default; the query is projected into the fitted map) -- the
            only method that can place a new query without refitting the map.

    Raises:
        DataError: The judgments file breaks the qrels rules (names its row and column), or
            names a query id that the set lacks without a ``query`` text.
        TypeError, ValueError: Bad ``systems`` or ``k`` (see :func:`toolkit.retrieval.search`).
    """

    def __init__(
        self,
        corpus: Any = None,
        systems: Any = None,
        k: int = 10,
        *,
        judgments: str | os.PathLike = "judgments.csv",
        map_method: str = "pca",
    ) -> None:
        from toolkit.data import load
        from toolkit.retrieval import resolve_systems

        self.rs: RetrievalSet = corpus if isinstance(corpus, RetrievalSet) else load(corpus)
        self.k = check_int(k, "k")
        if not isinstance(judgments, str | os.PathLike) or not str(judgments).strip():
            raise TypeError(f"judgments must be a CSV path, got {judgments!r}")
        self.judgments_path = Path(judgments).expanduser()
        if self.judgments_path.suffix.lower() != ".csv":
            raise ValueError(f"judgments={str(judgments)!r}: expected a .csv file")
        if self.judgments_path.is_dir():
            raise DataError(f"{self.judgments_path}: is a folder; expected a judgments CSV")
        if map_method != "pca":
            raise ValueError(f"map_method must be 'pca', got {map_method!r}")
        self.systems: dict[str, Any] = resolve_systems(systems)  # {name: model | "bm25" | Fusion}
        self._ids_by_text: dict[str, str] = {}
        for qid, text in self.rs.queries.items():
            self._ids_by_text.setdefault(text, qid)  # the first id of a repeated text
        self.results: pd.DataFrame | None = None
        self.query: str | None = None
        self._map: tuple[np.ndarray, Any, Any] | None = None
        # the validated file, keyed by its stat: a redraw reads it once per change, not per row
        self._file_cache: tuple[tuple[int, int, int], list[str], list[dict[str, str]]] | None
        self._file_cache = None
        self._load_file()  # validate an existing file now, not at the first click

    # ---------------------------------------------------------------------- judgments file

    def _load_file(self) -> tuple[list[str], list[dict[str, str]]]:
        """The file's header and rows, validated with the qrels rules (empty if no file)."""
        path = self.judgments_path
        try:
            st = path.stat()
        except FileNotFoundError:
            return list(SHEET_COLUMNS), []
        key = (st.st_mtime_ns, st.st_size, st.st_ino)  # a rename-into-place changes st_ino
        if self._file_cache is not None and self._file_cache[0] == key:
            _, header, rows = self._file_cache
            return list(header), [dict(r) for r in rows]  # copies: judge() edits them
        header, rows = _read_rows(path)
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise DataError(
                f"{path}: judgments file lacks column(s) {', '.join(missing)}; expected "
                f"{','.join(SHEET_COLUMNS)} (found {','.join(header) or 'no header'})",
                source=str(path),
            )
        self._validate(path.read_bytes(), rows)
        self._file_cache = (key, list(header), [dict(r) for r in rows])
        return header, rows

    def _extra_queries(self, rows: list[dict[str, str]]) -> dict[str, str]:
        """``{query_id: text}`` of the file's typed queries (ids the set does not have)."""
        extra: dict[str, str] = {}
        for i, row in enumerate(rows):
            qid, text = row.get("query_id", ""), row.get("query", "")
            where = f"{self.judgments_path}, row {i + 2}, column 'query'"
            if qid in self.rs.queries:
                if text and text != self.rs.queries[qid]:
                    raise DataError(
                        f"{where}: query id {qid!r} is the set's query "
                        f"{self.rs.queries[qid]!r}, but the row says {text!r}",
                        source=str(self.judgments_path),
                        row=i + 2,
                        column="query",
                    )
            elif text:
                if extra.setdefault(qid, text) != text:
                    raise DataError(
                        f"{where}: query id {qid!r} has two texts, {extra[qid]!r} and {text!r}",
                        source=str(self.judgments_path),
                        row=i + 2,
                        column="query",
                    )
        return extra

    def _validate(self, content: bytes, rows: list[dict[str, str]]) -> RetrievalSet:
        """Check a judgments file's content with merge_judgments (the qrels loader's rules)."""
        from toolkit.data import merge_judgments

        rs = self.rs.with_queries(self._extra_queries(rows))
        if not rows:
            return rs
        merged, _ = merge_judgments(rs, self.judgments_path, content=content)
        return merged

    def judged(self) -> pd.DataFrame:
        """The judgments file as a table (all columns as text; empty if there is no file)."""
        header, rows = self._load_file()
        return pd.DataFrame(rows, columns=header, dtype=object)

    def retrieval_set(self) -> RetrievalSet:
        """The set with the file's typed queries added and its judgments merged in.

        Returns:
            A new :class:`RetrievalSet` (``merge_judgments`` of the file into the set).
        """
        header, rows = self._load_file()
        return self._validate(_csv_bytes(header, rows), rows) if rows else self.rs

    def query_id(self, query: str) -> str:
        """The id a typed query is judged under (see the module docstring)."""
        from toolkit.data import text_id
        from toolkit.retrieval import check_queries

        (text,) = check_queries(query)
        if text in self._ids_by_text:
            return self._ids_by_text[text]
        _, rows = self._load_file()
        for row in rows:
            if row.get("query") == text:
                return row["query_id"]
        return text_id("q-", text)

    def _file_grades(self, query: str) -> dict[str, int]:
        qid = self.query_id(query)
        _, rows = self._load_file()
        return {r["doc_id"]: int(r["relevance"]) for r in rows if r["query_id"] == qid}

    def source(self, query: str, doc_id: str) -> str | None:
        """Who judged a pair: ``"qrels"`` (read-only here), ``"judgments"`` (the file) or None."""
        qid = self.query_id(query)
        if doc_id in self.rs.qrels.get(qid, {}):
            return "qrels"
        return "judgments" if doc_id in self._file_grades(query) else None

    # ------------------------------------------------------------------------------ search

    def search(self, query: str) -> pd.DataFrame:
        """Rank the corpus for one query with every system (:func:`toolkit.retrieval.search`).

        Args:
            query: The query text.

        Returns:
            The tidy table of :func:`toolkit.retrieval.search` (``query, system, rank, doc_id,
            title, score, grade``); ``grade`` comes from the set's qrels and the judgments
            file, ``<NA>`` = unjudged. Kept as :attr:`results`.
        """
        from toolkit.retrieval import search

        file_grades = self._file_grades(query)
        qrels = {query: file_grades} if file_grades else None
        self.results = search(query, self.rs, systems=self.systems, k=self.k, qrels=qrels)
        self.query = query
        return self.results

    # ------------------------------------------------------------------------------- judge

    def judge(self, query: str, doc_id: str, grade: int) -> str:
        """Record a grade for (query, title) in the judgments file, validated and atomically.

        Args:
            query: The query text (as typed).
            doc_id: A document id of the set's corpus.
            grade: 0 (not relevant), 1 (partially) or 2 (clearly relevant).

        Returns:
            ``"added"``, ``"regraded"`` or ``"unchanged"`` (see the module's judging policy).

        Raises:
            DataError: ``grade`` is not 0, 1 or 2, ``doc_id`` is not in the corpus, the set's
                qrels already give the pair another grade, or the file would break the qrels
                rules; the file is left unchanged.
        """
        from toolkit._io import write_atomic
        from toolkit.retrieval import check_queries

        if isinstance(grade, bool) or not isinstance(grade, numbers.Integral):
            raise DataError(f"grade: expected 0, 1 or 2, got {grade!r}")
        grade = int(grade)
        if grade not in GRADES:
            raise DataError(f"grade: expected 0, 1 or 2, got {grade}")
        (text,) = check_queries(query)
        if not isinstance(doc_id, str) or doc_id not in self.rs.corpus:
            raise DataError(f"doc_id: {doc_id!r} is not a document id of the corpus")
        qid = self.query_id(text)
        old = self.rs.qrels.get(qid, {}).get(doc_id)
        if old is not None:
            if old == grade:
                return "unchanged"
            raise DataError(
                f"({qid!r}, {doc_id!r}) is judged {old} by the set's qrels; the explorer does "
                "not override them -- edit the qrels file to change it"
            )
        header, rows = self._load_file()
        for column in SHEET_COLUMNS:
            if column not in header:
                header.append(column)
                for row in rows:
                    row[column] = ""
        status = "added"
        for row in rows:
            if row["query_id"] == qid and row["doc_id"] == doc_id:
                if row["relevance"].strip() == str(grade):
                    return "unchanged"
                row["relevance"], status = str(grade), "regraded"
                break
        else:
            new = dict.fromkeys(header, "")
            new.update(
                query_id=qid,
                query=text,
                doc_id=doc_id,
                title=self.rs.corpus[doc_id],
                systems=self._retrieved_by(text, doc_id),
                relevance=str(grade),
            )
            rows.append(new)
        content = _csv_bytes(header, rows)
        self._validate(content, rows)  # before the old file is touched
        write_atomic(self.judgments_path, content, mode=_file_mode(self.judgments_path))
        if self.results is not None:
            hit = (self.results["query"] == text) & (self.results["doc_id"] == doc_id)
            self.results.loc[hit, "grade"] = grade
        return status

    def _retrieved_by(self, query: str, doc_id: str) -> str:
        if self.results is None:
            return ""
        hit = (self.results["query"] == query) & (self.results["doc_id"] == doc_id)
        return ",".join(dict.fromkeys(self.results.loc[hit, "system"]))

    # --------------------------------------------------------------------------------- map

    def _map_model(self) -> Any:
        from toolkit.models import load_model
        from toolkit.retrieval import is_model

        return next((s for s in self.systems.values() if is_model(s)), None) or load_model()

    def map_coordinates(self) -> np.ndarray:
        """2-D PCA coordinates of the corpus titles (corpus order), computed once.

        The vectors are the first dense system's (the default model when every system is
        lexical), through :func:`toolkit.encode`; PCA goes through
        :func:`toolkit.clustering.reduce` with a fitted scikit-learn reducer, whose
        ``transform`` then places a query in the same plane.
        """
        if self._map is None:
            from sklearn.decomposition import PCA

            from toolkit.clustering import reduce
            from toolkit.encoding import encode

            model = self._map_model()
            vectors = encode(model, list(self.rs.corpus.values()), show_progress=False)
            pca = PCA(n_components=2, random_state=0)
            xy = reduce(vectors, reducer=pca)
            self._map = (np.asarray(xy, dtype=np.float64), pca, model)
        return self._map[0]

    def query_point(self, query: str) -> np.ndarray:
        """Where a query falls on the map (shape ``(2,)``)."""
        from toolkit.encoding import encode

        self.map_coordinates()
        _, pca, model = self._map
        return np.asarray(pca.transform(encode(model, [query], show_progress=False))[0])
