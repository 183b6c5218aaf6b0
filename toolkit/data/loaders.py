"""Loaders: pairs, corpus, queries, qrels, splits and whole folders into a :class:`RetrievalSet`.

Each loader reads its source with :mod:`toolkit.data._tables`, builds the set row by row with
:class:`~toolkit.data._builder.RowBuilder` (which names the row of a conflicting repeat) and
warns about twin titles. :func:`text_id` is the id a text gets in a pairs file.
:func:`demo` is the folder shipped in ``toolkit/datasets`` (its data card is there);
:func:`load` picks the loader for the usual ways data is given (the demo set, a folder, a
pairs file); :func:`select_split` restricts a set to one split and says what was selected.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.data._builder import RowBuilder, finish, nowhere, qrels_builder
from toolkit.data._checks import check_splits, unknown_judged_id
from toolkit.data._tables import (
    Blob,
    Table,
    qrels_table,
    read_blob,
    read_json_document,
    read_table,
    require_columns,
)
from toolkit.data.rospatent import is_rospatent_path, load_rospatent_json, read_rospatent_hits
from toolkit.data.types import DataError, RetrievalSet

__all__ = [
    "card_widget",
    "demo",
    "load",
    "load_corpus",
    "load_folder",
    "load_frame",
    "load_pairs",
    "load_qrels",
    "load_queries",
    "load_retrieval_set",
    "select_split",
    "text_id",
]
_PAIRS_EXPECT = "columns query,title[,label,split,topic,ipc]"
_CORPUS_EXPECT = "columns doc_id,title[,ipc,topic,source,...]"
_QUERIES_EXPECT = "columns query_id,text[,split,topic,source,...]"


def _get(data: dict[str, list[Any]], column: str, i: int) -> Any:
    return data[column][i] if column in data else None


@functools.lru_cache(maxsize=65536)
def text_id(prefix: str, text: str) -> str:
    """The id :func:`load_pairs` gives a text: ``prefix`` + 10 hex digits of its SHA-1.

    Args:
        prefix: ``"q-"`` for a query, ``"d-"`` for a title.
        text: The text, exactly (UTF-8 encoded, nothing stripped).

    Returns:
        E.g. ``text_id("q-", "умный дом")`` -> ``"q-"`` followed by 10 hex digits.
    """
    return prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


def load_pairs(
    path_or_df: Any,
    *,
    dedupe: bool = False,
    columns: Mapping[str, str] | None = None,
) -> RetrievalSet:
    """Load ``query,title[,label]`` pairs into a :class:`RetrievalSet`.

    Identical query texts become one query and identical titles one document; ids are
    generated from the text, stably across runs: ``q-``/``d-`` + the first 10 hex digits of
    SHA-1 of the UTF-8 text. ``label`` (optional, default 1 for every row) is the grade; rows
    with label 0 are kept as judged non-relevant. Optional columns: ``split`` (a query's
    split; must agree on all its rows), ``topic`` (query field) and ``ipc`` (doc field, one
    section letter). Other columns are ignored. Texts are kept exactly as written.

    Args:
        path_or_df: ``.csv``, ``.tsv``, ``.jsonl``/``.json`` or ``.parquet`` path, a
            ``pandas.DataFrame`` or a ``datasets.Dataset``.
        dedupe: Merge titles that differ only in letter case or whitespace into the first
            one (see :meth:`RetrievalSet.dedupe_titles`); without it such twins trigger a
            ``UserWarning``.
        columns: Our column name -> the file's, e.g. ``{"query": "sentence_0",
            "title": "sentence_1"}``.

    Returns:
        The set; ``pairs()`` gives the positive pairs back.

    Raises:
        DataError: Naming file, row and column of the first problem.

    Example:
        >>> import pandas as pd
        >>> rs = load_pairs(pd.DataFrame({"query": ["a b", "a b"], "title": ["T1", "T2"],
        ...                               "label": [1, 0]}))
        >>> rs.describe()["relevant"], rs.describe()["judged_nonrelevant"]
        (1, 1)
    """
    tab = read_table(path_or_df, expect=_PAIRS_EXPECT, columns=columns)
    require_columns(tab, ["query", "title"], _PAIRS_EXPECT)
    data = {
        c: tab.df[c].tolist()
        for c in tab.df.columns
        if c in ("query", "title", "label", "split", "topic", "ipc")
    }
    b = RowBuilder(tab)
    for i in range(len(tab.df)):
        query = tab.text(i, "query", data["query"][i])
        title = tab.text(i, "title", data["title"][i])
        grade = tab.grade(i, "label", data["label"][i]) if "label" in data else 1
        # a 40-bit id collision (two texts, one id) would surface as "already has" errors
        qid, did = text_id("q-", query), text_id("d-", title)
        b.add_query(i, qid, query)
        b.add_doc(i, did, title)
        if "split" in data:
            b.set_split(i, qid, tab.field(i, "split", data["split"][i]))
        if "topic" in data:
            b.set_query_field(i, qid, "topic", tab.field(i, "topic", data["topic"][i]))
        if "ipc" in data:
            b.set_doc_field(i, did, "ipc", tab.field(i, "ipc", data["ipc"][i]))
        b.add_qrel(i, qid, did, grade, column="label", label="pair")
    return finish(b.build(), tab.name, b.doc_where, dedupe)


def _extra_fields(tab: Table, reserved: tuple[str, ...], kind: str) -> list[str]:
    """The table's columns beyond ``reserved``; each must be a usable field name."""
    extra = [c for c in tab.df.columns if c not in reserved]
    for c in extra:
        if not isinstance(c, str) or not c.strip() or c == "id":
            raise DataError(
                f"{tab.name}: column name {c!r} cannot be {kind}",
                source=tab.name,
                column=str(c),
            )
    return extra


def _corpus_builder(tab: Table) -> tuple[RowBuilder, Callable[[str], str | None]]:
    require_columns(tab, ["doc_id", "title"], _CORPUS_EXPECT)
    data = {c: tab.df[c].tolist() for c in tab.df.columns}
    extra = _extra_fields(tab, ("doc_id", "title"), "a document field")
    b = RowBuilder(tab)
    for i in range(len(tab.df)):
        did = tab.ident(i, "doc_id", data["doc_id"][i])
        b.add_doc(i, did, tab.text(i, "title", data["title"][i]))
        for c in extra:
            b.set_doc_field(i, did, c, tab.field(i, c, data[c][i]))
    return b, b.doc_where


def load_corpus(
    path_or_df: Any,
    *,
    dedupe: bool = False,
    columns: Mapping[str, str] | None = None,
) -> RetrievalSet:
    """Load a corpus table ``doc_id,title[,ipc,topic,source,...]`` into a corpus-only set.

    Every extra column becomes a document field (empty cell = no value); ``ipc`` must be
    one section letter A-H. A doc id repeated with a different title is an error. A
    ``.json`` file holding a Rospatent search response is read with
    :func:`load_rospatent_json`.

    Args:
        path_or_df: Path (``.csv``, ``.tsv``, ``.jsonl``/``.json``, ``.parquet``), DataFrame
            or Dataset.
        dedupe: Merge documents whose titles are equal up to case and whitespace (otherwise
            a ``UserWarning`` names them).
        columns: Our column name -> the file's, e.g. ``{"doc_id": "id"}``.

    Returns:
        A set with a corpus and document fields, no queries.
    """
    if is_rospatent_path(path_or_df):
        return load_rospatent_json(path_or_df, dedupe=dedupe)
    tab = read_table(path_or_df, expect=_CORPUS_EXPECT, columns=columns)
    b, where = _corpus_builder(tab)
    return finish(b.build(), tab.name, where, dedupe)


def _queries_builder(tab: Table) -> RowBuilder:
    require_columns(tab, ["query_id", "text"], _QUERIES_EXPECT)
    data = {c: tab.df[c].tolist() for c in tab.df.columns}
    extra = _extra_fields(tab, ("query_id", "text", "split"), "a query field")
    b = RowBuilder(tab)
    for i in range(len(tab.df)):
        qid = tab.ident(i, "query_id", data["query_id"][i])
        b.add_query(i, qid, tab.text(i, "text", data["text"][i]), column="text")
        if "split" in data:
            b.set_split(i, qid, tab.field(i, "split", data["split"][i]))
        for c in extra:
            b.set_query_field(i, qid, c, tab.field(i, c, data[c][i]))
    return b


def load_queries(path_or_df: Any, *, columns: Mapping[str, str] | None = None) -> RetrievalSet:
    """Load a queries table ``query_id,text[,split,topic,source,...]`` into a queries-only set.

    ``split`` (empty = no split) defines the splits; every other extra column becomes a
    query field. A query id repeated with another text or in two splits is an error.

    Args:
        path_or_df: Path, DataFrame or Dataset.
        columns: Our column name -> the file's, e.g. ``{"text": "query"}``.

    Returns:
        A set with queries, query fields and splits, no corpus.
    """
    tab = read_table(path_or_df, expect=_QUERIES_EXPECT, columns=columns)
    return _queries_builder(tab).build()


def load_qrels(
    path_or_df: Any, *, columns: Mapping[str, str] | None = None
) -> dict[str, dict[str, int]]:
    """Load judgments: TREC ``qid 0 docid rel`` lines or a ``query_id,doc_id,relevance`` table.

    TREC format is used for ``.trec``/``.qrels``/``.txt`` files and for a ``.csv``/``.tsv``
    whose first line is four whitespace-separated fields ending in an integer; the second
    field (iteration) is ignored, as trec_eval does. Other columns of a table are ignored.
    The same (query, doc) pair twice with different grades is an error. Ids are checked
    against queries and corpus by :func:`load_retrieval_set`.

    Args:
        path_or_df: Path, DataFrame or Dataset.
        columns: Our column name -> the file's, e.g. ``{"doc_id": "id",
            "relevance": "label"}``.

    Returns:
        ``{query_id: {doc_id: grade}}`` in file order (a plain dict).
    """
    b = qrels_builder(qrels_table(path_or_df, columns))
    return b.qrels


def _splits_from(src: Any, known: Mapping[str, str]) -> tuple[dict[str, list[str]], str]:
    """Read ``{name: [query ids]}`` from a mapping or a JSON file; check ids with places."""
    if isinstance(src, Mapping):
        data, name = src, "splits"
    else:
        blob = read_blob(src)
        if blob.suffix != ".json":
            raise DataError(
                f"{blob.name}: splits must be a .json file {{name: [query ids]}}", source=blob.name
            )
        data = read_json_document(blob, "a JSON object {name: [query ids]}")
        name = blob.name
        if not isinstance(data, dict):
            raise DataError(
                f"{name}: expected a JSON object {{name: [query ids]}}, got {type(data).__name__}",
                source=name,
            )
    data = {str(split): ids for split, ids in data.items()}
    kept, problems = check_splits(data, known, known_label="the queries", lists_only=True)
    for _rule, split, n, problem in problems[:1]:
        item = "" if n is None else f", item {n}"
        raise DataError(
            f"{name}, split {split!r}{item}: {problem}", source=name, row=n, column=split
        )
    return kept, name


def load_retrieval_set(
    *,
    corpus: Any,
    queries: Any,
    qrels: Any,
    splits: Any = None,
    dedupe: bool = False,
) -> RetrievalSet:
    """Load corpus, queries and qrels (files or frames) into one checked :class:`RetrievalSet`.

    Args:
        corpus: Corpus table (see :func:`load_corpus`), a Rospatent ``.json``, or a set
            already loaded (its corpus and doc fields are used).
        queries: Queries table (see :func:`load_queries`) or a set already loaded.
        qrels: Qrels file/table (see :func:`load_qrels`) or ``{qid: {doc_id: grade}}``.
        splits: ``None`` takes splits from the queries' ``split`` column; otherwise
            ``{name: [query ids]}`` or a ``.json`` file holding that (then the queries may
            not have a ``split`` column).
        dedupe: Merge twin titles (see :meth:`RetrievalSet.dedupe_titles`) instead of warning.

    Returns:
        The combined set.

    Raises:
        DataError: Naming the file, row and column; e.g. a qrels row naming an unknown id.
    """
    c_set, c_name, doc_where = _corpus_part(corpus)
    q_set, q_name = _queries_part(queries)
    judged = _known_qrels(qrels, q_set.queries, q_name, c_set.corpus, c_name)
    split_map: Mapping[str, Any] = q_set.splits
    if splits is not None:
        if q_set.splits:
            raise DataError(f"{q_name} has a 'split' column and splits= was given too; use one")
        split_map, _ = _splits_from(splits, q_set.queries)
    rs = RetrievalSet(
        queries=q_set.queries,
        corpus=c_set.corpus,
        qrels=judged,
        splits=split_map,
        doc_fields={f: dict(v) for f, v in c_set.doc_fields.items()},
        query_fields={f: dict(v) for f, v in q_set.query_fields.items()},
    )
    return finish(rs, c_name, doc_where, dedupe)


def _corpus_part(corpus: Any) -> tuple[RetrievalSet, str, Callable[[str], str | None]]:
    """The corpus of :func:`load_retrieval_set`: ``(set, name, where a document is)``."""
    if isinstance(corpus, RetrievalSet):
        return corpus, "corpus", nowhere
    if is_rospatent_path(corpus):
        c_set, _, _ = read_rospatent_hits(corpus)  # the combined set is checked for twins
        return c_set, str(corpus), nowhere
    c_tab = read_table(corpus, expect=_CORPUS_EXPECT)
    cb, doc_where = _corpus_builder(c_tab)
    return cb.build(), c_tab.name, doc_where


def _queries_part(queries: Any) -> tuple[RetrievalSet, str]:
    """The queries of :func:`load_retrieval_set`: ``(set, name)``."""
    if isinstance(queries, RetrievalSet):
        return queries, "queries"
    q_tab = read_table(queries, expect=_QUERIES_EXPECT)
    return _queries_builder(q_tab).build(), q_tab.name


def _known_qrels(
    qrels: Any,
    queries: Mapping[str, str],
    q_name: str,
    corpus: Mapping[str, str],
    c_name: str,
) -> dict[str, dict[str, int]]:
    """The judgments of :func:`load_retrieval_set`; an unknown id names its file row."""
    if isinstance(qrels, Mapping):
        judged = {q: dict(d) for q, d in qrels.items()}
        checks: Iterable[tuple[str, str | None]] = [
            pair for q, d in judged.items() for pair in [(q, None), *((q, did) for did in d)]
        ]

        def fail(q: str, did: str | None, column: str, what: str) -> DataError:
            where = "qrels" if column == "query_id" else f"qrels[{q!r}]"
            return DataError(f"{where}: {what}", source="qrels", column=column)
    else:
        r_tab = qrels_table(qrels, None)
        rb = qrels_builder(r_tab)
        judged, checks = rb.qrels, rb.qrel_rows  # (query, doc) -> row, in file order

        def fail(q: str, did: str | None, column: str, what: str) -> DataError:
            return r_tab.error(rb.qrel_rows[(q, did)], column, what)

    for q, did in checks:
        column = unknown_judged_id(q, did, queries, corpus)
        if column == "query_id":
            raise fail(q, did, column, f"unknown query id {q!r} (not in {q_name})")
        if column == "doc_id":
            raise fail(q, did, column, f"unknown document id {did!r} (not in {c_name})")
    return judged


def load_frame(df: Any) -> RetrievalSet:
    """Read a long table in the layout of :meth:`RetrievalSet.to_frame` back into a set.

    Required columns: ``query_id`` and ``doc_id``; a row with both is a judgment (needs
    ``relevance``), a row with one of them declares a query (needs ``query``) or a
    document (needs ``title``). Optional: ``split``, ``query_<field>``, ``doc_<field>``.
    Values repeated on several rows must agree. Queries and documents take the order of
    their first row.

    Args:
        df: The table (a ``datasets.Dataset`` is converted with ``.to_pandas()``).

    Returns:
        A new set.

    Raises:
        DataError: Naming the row and column of the first problem.
    """
    if isinstance(df, pd.DataFrame) and len(df) == 0 and {"query_id", "doc_id"} <= set(df.columns):
        return RetrievalSet()  # the frame of an empty set
    tab = read_table(df)
    require_columns(tab, ["query_id", "doc_id"], "query_id, doc_id[, query, title, ...]")
    cols = list(tab.df.columns)
    qf_cols = [c for c in cols if isinstance(c, str) and c.startswith("query_") and c != "query_id"]
    df_cols = [c for c in cols if isinstance(c, str) and c.startswith("doc_") and c != "doc_id"]
    b = RowBuilder(tab)
    data = {c: tab.df[c].tolist() for c in cols}
    for i in range(len(tab.df)):
        qid = tab.optional_id(i, "query_id", data["query_id"][i])
        did = tab.optional_id(i, "doc_id", data["doc_id"][i])
        if qid is None and did is None:
            raise tab.error(i, "query_id", "both query_id and doc_id are empty")
        if qid is not None:
            b.add_query(i, qid, tab.text(i, "query", _get(data, "query", i)))
            if "split" in data:
                b.set_split(i, qid, tab.field(i, "split", data["split"][i]))
            for c in qf_cols:
                b.set_query_field(i, qid, c[len("query_") :], tab.field(i, c, data[c][i]))
        if did is not None:
            b.add_doc(i, did, tab.text(i, "title", _get(data, "title", i)))
            for c in df_cols:
                b.set_doc_field(i, did, c[len("doc_") :], tab.field(i, c, data[c][i]))
        if qid is not None and did is not None:
            b.add_qrel(i, qid, did, tab.grade(i, "relevance", _get(data, "relevance", i)))
    return b.build()


_FOLDER_FILES = ("corpus.csv", "queries.csv", "qrels.csv")
_JUDGMENTS_FILE = "judgments.csv"


def _with_judged_zeros(qrels_blob: Blob, judgments_blob: Blob) -> dict[str, dict[str, int]]:
    """``qrels.csv`` plus the grade-0 rows of ``judgments.csv`` (see :func:`load_folder`)."""
    r_tab = qrels_table(qrels_blob, None)
    rb = qrels_builder(r_tab)
    j_tab = qrels_table(judgments_blob, None)
    jb = qrels_builder(j_tab)  # its own rules: ids, grades, a pair twice with two grades
    merged = {q: dict(d) for q, d in rb.qrels.items()}
    for (qid, did), i in jb.qrel_rows.items():
        grade = jb.qrels[qid][did]
        old = rb.qrels.get(qid, {}).get(did)
        if old is not None and old != grade:
            raise j_tab.error(
                i,
                "relevance",
                f"judgment ({qid!r}, {did!r}) has grade {grade} but {r_tab.name} gives it "
                f"{old} ({r_tab.where(rb.qrel_rows[(qid, did)])}); the two files must agree",
            )
        if old is None and grade == 0:
            merged.setdefault(qid, {})[did] = 0
    return merged


def load_folder(folder: Any, label: str | None = None) -> RetrievalSet:
    """Read ``corpus.csv``, ``queries.csv``, ``qrels.csv`` from a folder (Path or Traversable).

    Layout: ``corpus.csv`` ``doc_id,title,ipc,topic,source``; ``queries.csv``
    ``query_id,text,topic,source,split``; ``qrels.csv`` ``query_id,doc_id,relevance,source``
    (the qrels ``source`` column is ignored).

    An optional ``judgments.csv`` (``query_id,doc_id,relevance[,...]``: a judged pool, grade
    0 included, as the demo set ships) adds its **grade-0 rows** as judged-non-relevant
    pairs, so that ``judged@k`` sees them; no metric counts grade 0 as relevant, so every
    other number is unchanged. ``qrels.csv`` stays the list of relevant pairs: a pair in both
    files must have the same grade (else :class:`DataError` naming the ``judgments.csv``
    row), and relevant rows that only ``judgments.csv`` has are not loaded (the demo keeps
    the extra pool judgments of its train queries out of ``train``, see its data card).

    Args:
        folder: A ``pathlib.Path`` or an ``importlib.resources`` Traversable.
        label: How messages name the folder; default ``str(folder)``.

    Returns:
        The combined set (see :func:`load_retrieval_set`).
    """
    label = label or str(folder)
    missing = [n for n in _FOLDER_FILES if not folder.joinpath(n).is_file()]
    if missing:
        raise DataError(f"{label}: dataset file(s) missing: {', '.join(missing)}", source=label)
    blobs = {
        n: Blob(f"{label}/{n}", ".csv", folder.joinpath(n).read_bytes()) for n in _FOLDER_FILES
    }
    qrels: Any = blobs["qrels.csv"]
    if folder.joinpath(_JUDGMENTS_FILE).is_file():
        j_blob = Blob(
            f"{label}/{_JUDGMENTS_FILE}", ".csv", folder.joinpath(_JUDGMENTS_FILE).read_bytes()
        )
        # the merged qrels are a mapping, whose id check names no row: check the ids of both
        # files against corpus and queries first, so an error names the file and row
        for blob in (blobs["qrels.csv"], j_blob):
            _check_judged_ids(blob, blobs["corpus.csv"], blobs["queries.csv"])
        qrels = _with_judged_zeros(blobs["qrels.csv"], j_blob)
    return load_retrieval_set(corpus=blobs["corpus.csv"], queries=blobs["queries.csv"], qrels=qrels)


def _check_judged_ids(qrels_blob: Blob, corpus_blob: Blob, queries_blob: Blob) -> None:
    """Every query/doc id of a qrels file is known, naming the file row of the first that is not."""
    # dedupe=True only keeps twin-title warnings from being raised twice (the set is dropped)
    load_retrieval_set(corpus=corpus_blob, queries=queries_blob, qrels=qrels_blob, dedupe=True)


@functools.lru_cache(maxsize=1)
def demo() -> RetrievalSet:
    """Return the demo set shipped in ``toolkit/datasets`` (cached; safe, sets are immutable).

    Returns:
        The demo :class:`RetrievalSet` with splits from the queries' ``split`` column and doc
        fields ``ipc``, ``topic``, ``source``. Its qrels are the relevant pairs of
        ``qrels.csv`` plus the judged-non-relevant (grade 0) pairs of ``judgments.csv`` (the
        depth-10 pool; see :func:`load_folder`), so ``judged@k`` can be measured; metrics
        count only grades >= 1 as relevant.

    Example:
        >>> rs = demo()                       # doctest: +SKIP
        >>> train = rs.split("train").pairs() # doctest: +SKIP
    """
    folder = importlib.resources.files("toolkit").joinpath("datasets")
    return load_folder(folder, label="toolkit/datasets")


def card_widget() -> pd.DataFrame:
    """The model card's five widget entries, with the demo set's ids, texts and grades.

    The seed card's YAML ``widget`` (``shared/seed/model_card.md``, lines 10-41) lists five
    training queries, each with three candidate titles. ``toolkit/datasets/card_widget.csv``
    records them by id, in the card's order (its data card says how the strings were
    matched); exactly one candidate of each entry is relevant to its query in the demo
    qrels: the query's own training positive.

    Returns:
        15 rows: ``entry`` (1-5), ``query_id``, ``query``, ``doc_id``, ``title``,
        ``position`` (1-3, the candidate's place in the card) and ``grade`` (the pair's grade
        in the demo set; ``<NA>`` when the pair is not judged).
    """
    rs = demo()
    folder = importlib.resources.files("toolkit").joinpath("datasets")
    with folder.joinpath("card_widget.csv").open("rb") as fh:
        table = pd.read_csv(fh, dtype={"query_id": str, "doc_id": str})
    table["query"] = table["query_id"].map(rs.queries)
    table["title"] = table["doc_id"].map(rs.corpus)
    pairs = zip(table["query_id"], table["doc_id"], strict=True)
    grades = [rs.qrels.get(q, {}).get(d) for q, d in pairs]
    table["grade"] = pd.array(grades, dtype="Int64")
    return table[["entry", "query_id", "query", "doc_id", "title", "position", "grade"]]


def load(data: Any = None) -> RetrievalSet:
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
    if data is None:
        return demo()
    if isinstance(data, RetrievalSet):
        return data
    if isinstance(data, str | Path):
        path = Path(data).expanduser()
        if path.is_dir():
            return load_folder(path, label=str(path))
        if not path.exists():
            raise DataError(
                f"--data {str(data)!r}: no such file or folder; expected a pairs file "
                "(query,title) or a folder with corpus.csv, queries.csv and qrels.csv",
                source=str(data),
            )
        return load_pairs(path)
    return load_pairs(data)


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
