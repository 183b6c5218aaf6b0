"""Retrieval data: the :class:`RetrievalSet` type, file loaders, validation and the demo set.

Everything the toolkit evaluates or trains on is a :class:`RetrievalSet`: queries
``{query_id: text}``, a corpus ``{doc_id: title}``, graded judgments
``{query_id: {doc_id: grade}}`` (2 clearly relevant, 1 partially relevant, 0 judged
non-relevant), named splits of query ids and optional per-document / per-query fields
(``ipc`` section letter A-H, ``topic``, ``source``, ...). It is immutable: its mappings are
read-only views over private copies, and every helper returns a new set.

File formats (chosen by extension): ``.csv``, ``.tsv``, ``.jsonl`` / ``.json`` (JSON lines, or
one JSON array of records), ``.parquet``; qrels also as TREC text (``qid 0 docid rel``) in
``.trec`` / ``.qrels`` / ``.txt`` files or any CSV/TSV whose first line has that shape. A
``pandas.DataFrame`` or a ``datasets.Dataset`` (converted with ``.to_pandas()``) is accepted
wherever a path is.

Reading is strict, with no silent coercion: bytes must be UTF-8 (a leading BOM is accepted),
CSV cells are read as text (``dtype=str, keep_default_na=False``, so a title "NA" stays "NA"),
texts are never stripped (a trailing space is kept) but empty or whitespace-only texts are
errors, and grades must be integers >= 0 written as integers. Every problem raises one
exception type, :class:`DataError`, whose message names the file, the place and the column:

* CSV / TSV: ``row N`` as a spreadsheet shows it -- the header is row 1, the first data row
  is row 2;
* Parquet, DataFrame, Dataset: ``row N (iloc[N-2])``, the same convention plus the position;
* JSON lines and TREC files: ``line N`` of the file (1-based; blank lines are counted);
* a JSON array of records: ``record N`` (1-based); Rospatent JSON: ``hit N`` (1-based).

A loader either returns a complete, valid set or raises; nothing is loaded half.

Where things live:

* :mod:`~toolkit.data.types` -- :class:`RetrievalSet`, :class:`DataError`,
  :class:`ValidationReport`, :data:`IPC_SECTIONS`;
* :mod:`~toolkit.data.loaders` -- pairs / corpus / queries / qrels / long-table / folder
  loaders, the demo set (:func:`demo`, files in ``toolkit/datasets``), :func:`load`,
  :func:`select_split` and :func:`text_id`;
* :mod:`~toolkit.data.rospatent` -- saved Rospatent search hits;
* :mod:`~toolkit.data.describe` -- :func:`describe` and :func:`validate_files`;
* :mod:`~toolkit.data.audit` -- :func:`audit_splits`, the leakage audit of a set's splits;
* :mod:`~toolkit.data.pools` -- judged pools: :func:`pool`, :func:`write_pool_csv`,
  :func:`merge_judgments`;
* the machinery under them: ``_checks`` (the rules for single values and splits),
  ``_tables`` (the format readers: a new file format goes there) and
  ``_builder`` (rows into a set).

Example:
    >>> import pandas as pd
    >>> rs = load_pairs(pd.DataFrame({"query": ["умный дом"], "title": ["СИСТЕМА УМНОГО ДОМА"]}))
    >>> rs.pairs()
    [('умный дом', 'СИСТЕМА УМНОГО ДОМА')]
"""

from __future__ import annotations

from toolkit.data.audit import SplitAudit, audit_splits
from toolkit.data.describe import describe, validate_files
from toolkit.data.loaders import (
    card_widget,
    demo,
    load,
    load_corpus,
    load_folder,
    load_frame,
    load_pairs,
    load_qrels,
    load_queries,
    load_retrieval_set,
    select_split,
    text_id,
)
from toolkit.data.pools import merge_judgments, pool, runs_from_scores, write_pool_csv
from toolkit.data.rospatent import load_rospatent_json
from toolkit.data.types import IPC_SECTIONS, DataError, RetrievalSet, ValidationReport

__all__ = [
    "IPC_SECTIONS",
    "DataError",
    "RetrievalSet",
    "SplitAudit",
    "ValidationReport",
    "audit_splits",
    "card_widget",
    "demo",
    "describe",
    "load",
    "load_corpus",
    "load_folder",
    "load_frame",
    "load_pairs",
    "load_qrels",
    "load_queries",
    "load_retrieval_set",
    "load_rospatent_json",
    "merge_judgments",
    "pool",
    "runs_from_scores",
    "select_split",
    "text_id",
    "validate_files",
    "write_pool_csv",
]
