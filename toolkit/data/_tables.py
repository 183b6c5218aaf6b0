"""Format readers: a file, DataFrame or Dataset into a checked table with row positions.

The loaders' machinery, not an API: :mod:`toolkit.data.loaders` and its neighbours read
every file through here.

Every supported format is read here: CSV / TSV, JSON lines, a JSON array of records, Parquet,
TREC qrels and whole-file JSON documents, with the encoding checks (strict UTF-8, BOM
accepted). A :class:`Table` reads cells with checks whose errors name the file, the row (as
the format counts it) and the column. A new format is one more reader here.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.data._checks import (
    GRADE_HINT,
    PRINTABLE,
    id_problem,
    is_int,
    is_missing,
    text_problem,
)
from toolkit.data.types import DataError, ipc_problem

__all__ = [
    "BOM",
    "QRELS_EXPECT",
    "TREC_EXTENSIONS",
    "Blob",
    "Table",
    "TableSource",
    "decode",
    "looks_like_rospatent",
    "qrels_table",
    "read_blob",
    "read_json_document",
    "read_table",
    "require_columns",
]

_TABLE_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}
TREC_EXTENSIONS = (".trec", ".qrels", ".txt")
BOM = b"\xef\xbb\xbf"
_IPC_COLUMNS = ("ipc", "doc_ipc")
QRELS_EXPECT = "columns query_id,doc_id,relevance or TREC lines 'qid 0 docid rel'"


@dataclass
class Blob:
    """Raw bytes of one file plus the name shown in messages."""

    name: str
    suffix: str
    raw: bytes


@dataclass
class Table:
    """A table read from one source; all cells are Python objects, positions 0-based."""

    df: pd.DataFrame
    name: str
    fmt: str  # csv | tsv | parquet | frame | jsonl | json | trec
    lines: list[int] | None = None  # 1-based file line per row, for jsonl / trec

    def row_number(self, i: int) -> int:
        if self.fmt in ("jsonl", "trec") and self.lines is not None:
            return self.lines[i]
        if self.fmt == "json":
            return i + 1
        return i + 2

    def where(self, i: int) -> str:
        n = self.row_number(i)
        if self.fmt in ("jsonl", "trec"):
            return f"line {n}"
        if self.fmt == "json":
            return f"record {n}"
        if self.fmt in ("parquet", "frame"):
            return f"row {n} (iloc[{i}])"
        return f"row {n}"

    def error(self, i: int, column: str, what: str) -> DataError:
        return DataError(
            f"{self.name}, {self.where(i)}, column {column!r}: {what}",
            source=self.name,
            row=self.row_number(i),
            column=column,
        )

    # Each cell reader starts with a fast path for the common valid value; the slow path
    # finds and words the problem.
    def text(self, i: int, column: str, value: Any) -> str:
        if type(value) is str and PRINTABLE.search(value):
            return value
        problem = text_problem(value)
        if problem:
            if isinstance(value, str) and value == "" and self.fmt in ("csv", "tsv"):
                problem = "empty cell; expected non-empty text"
            raise self.error(i, column, problem)
        return value

    def ident(self, i: int, column: str, value: Any) -> str:
        if type(value) is str and value and value.strip() == value:
            return value
        if is_int(value):  # integer ids (JSON numbers, Parquet int columns) are lossless
            return str(int(value))
        if is_missing(value) or value == "":
            raise self.error(i, column, "missing id; expected a non-empty id")
        problem = id_problem(value)
        if problem:
            raise self.error(i, column, problem)
        return value

    def optional_id(self, i: int, column: str, value: Any) -> str | None:
        if is_missing(value) or value == "":
            return None
        return self.ident(i, column, value)

    def grade(self, i: int, column: str, value: Any) -> int:
        if type(value) is str and value.isdigit() and value.isascii():
            return int(value)
        if type(value) is int and value >= 0:
            return value
        if is_missing(value) or value == "":
            raise self.error(i, column, f"missing relevance; expected {GRADE_HINT}")
        if isinstance(value, bool | np.bool_):
            raise self.error(i, column, f"expected {GRADE_HINT}, got boolean {value!r}")
        if is_int(value):
            grade = int(value)
        elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
            grade = int(value)
        elif isinstance(value, str) and re.fullmatch(r"-[0-9]+", value):
            grade = int(value)
        elif isinstance(value, float | np.floating):
            raise self.error(
                i,
                column,
                f"expected {GRADE_HINT}, got {value!r} (a float; store grades as integers)",
            )
        else:
            raise self.error(i, column, f"expected {GRADE_HINT}, got {value!r}")
        if grade < 0:
            raise self.error(i, column, f"negative relevance {grade}; expected {GRADE_HINT}")
        return grade

    def field(self, i: int, column: str, value: Any) -> str | None:
        """Optional field cell: empty -> None; text kept; integers written as text."""
        if type(value) is str and value and not value.isspace() and column not in _IPC_COLUMNS:
            return value
        if is_missing(value) or value == "":
            return None
        if is_int(value):
            return str(int(value))
        if not isinstance(value, str):
            raise self.error(i, column, f"expected text, got {value!r} ({type(value).__name__})")
        if not value.strip():
            raise self.error(
                i,
                column,
                f"whitespace-only value {value!r}; leave the cell empty when the value is unknown",
            )
        if column in _IPC_COLUMNS and ipc_problem(value):
            raise self.error(i, column, ipc_problem(value) or "")
        return value


def _is_dataset(obj: Any) -> bool:
    return hasattr(obj, "to_pandas") and not isinstance(obj, pd.DataFrame | pd.Series)


def read_blob(src: Any) -> Blob:
    """Read a path (str / PathLike) or an importlib Traversable into bytes."""
    if isinstance(src, Blob):
        return src
    if isinstance(src, str | os.PathLike):
        path = Path(src)
        name = str(src)
        if not path.exists():
            raise DataError(f"{name}: file not found", source=name)
        if path.is_dir():
            raise DataError(f"{name}: is a folder; expected a data file", source=name)
        return Blob(name, path.suffix.lower(), path.read_bytes())
    if hasattr(src, "read_bytes") and hasattr(src, "name"):
        name = str(src)
        return Blob(name, Path(src.name).suffix.lower(), src.read_bytes())
    raise DataError(
        f"expected a file path, a pandas.DataFrame or a datasets.Dataset; got {type(src).__name__}"
    )


def decode(blob: Blob, unit: str) -> str:
    """Strict UTF-8; a leading BOM is dropped silently; the error gives offset and row."""
    raw = blob.raw
    skip = len(BOM) if raw.startswith(BOM) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = raw[:offset].count(b"\n") + 1
        raise DataError(
            f"{blob.name}, {unit} {line}: not UTF-8 text -- byte 0x{raw[offset]:02x} at byte "
            f"offset {offset} cannot be decoded; save the file as UTF-8",
            source=blob.name,
            row=line,
        ) from None


def _line_error(blob: Blob, n: int, what: str) -> DataError:
    """A problem on line ``n`` of a text file (JSON lines, a JSON document, TREC)."""
    return DataError(f"{blob.name}, line {n}: {what}", source=blob.name, row=n)


def _empty(blob: Blob, expect: str) -> DataError:
    return DataError(f"{blob.name}: file is empty; expected {expect}", source=blob.name)


def _read_csv(blob: Blob, text: str, sep: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,  # blank lines stay rows, so row numbers match the file
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{blob.name}: cannot parse as {'TSV' if sep == chr(9) else 'CSV'}: {exc}",
            source=blob.name,
        ) from None
    # trailing blank lines are dropped; a blank line between rows is an error later
    blank = (df == "").all(axis=1).to_numpy() if len(df.columns) else np.zeros(len(df), bool)
    end = len(df)
    while end > 0 and blank[end - 1]:
        end -= 1
    df = df.iloc[:end]
    for i in np.flatnonzero(blank[:end]):
        raise DataError(
            f"{blob.name}, row {i + 2}: blank row; expected values for columns "
            f"{', '.join(map(str, df.columns))}",
            source=blob.name,
            row=int(i) + 2,
        )
    return df


def _read_json_records(blob: Blob, text: str) -> tuple[pd.DataFrame, str, list[int] | None]:
    # Parsed with the json module, not pandas.read_json: read_json turns an integer column
    # with a null into floats (1 -> 1.0) and skips blank lines, so neither the exact values
    # nor the line numbers in error messages would survive.
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _line_error(blob, exc.lineno, f"invalid JSON ({exc.msg})") from None
        for n, rec in enumerate(records, start=1):
            if not isinstance(rec, dict):
                raise DataError(
                    f"{blob.name}, record {n}: expected a JSON object, got {type(rec).__name__}",
                    source=blob.name,
                    row=n,
                )
        return pd.DataFrame(records, dtype=object), "json", None
    records, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _line_error(blob, n, f"invalid JSON ({exc.msg}, char {exc.colno})") from None
        if not isinstance(rec, dict):
            what = f"expected one JSON object per line, got {type(rec).__name__}"
            raise _line_error(blob, n, what)
        records.append(rec)
        lines.append(n)
    return pd.DataFrame(records, dtype=object), "jsonl", lines


def looks_like_rospatent(obj: Any) -> bool:
    if isinstance(obj, dict) and isinstance(obj.get("hits"), list):
        return True
    return (
        isinstance(obj, list)
        and bool(obj)
        and isinstance(obj[0], dict)
        and ("biblio" in obj[0] or "snippet" in obj[0])
    )


class TableSource:
    """Wraps an already read :class:`Table` so a loader does not read the file again."""

    def __init__(self, tab: Table) -> None:
        self.tab = tab


def read_table(
    src: Any, *, expect: str = "a table", columns: Mapping[str, str] | None = None
) -> Table:
    """Read any supported source into a :class:`Table` (no column checks except renames)."""
    if isinstance(src, TableSource):
        tab = Table(src.tab.df, src.tab.name, src.tab.fmt, src.tab.lines)
    elif isinstance(src, pd.DataFrame):
        tab = Table(src.reset_index(drop=True).astype(object), "<DataFrame>", "frame")
    elif _is_dataset(src):
        frame = src.to_pandas()
        if not isinstance(frame, pd.DataFrame):  # e.g. an iterable / batched Dataset
            raise DataError(f"{type(src).__name__}.to_pandas() did not return one DataFrame")
        tab = Table(frame.reset_index(drop=True).astype(object), "<datasets.Dataset>", "frame")
    else:
        tab = _read_file(read_blob(src), expect)
    if len(tab.df.columns) == 0:
        raise DataError(f"{tab.name}: no columns; expected {expect}", source=tab.name)
    if len(tab.df) == 0:
        found = ", ".join(map(str, tab.df.columns))
        raise DataError(
            f"{tab.name}: header only ({found}) -- no data rows; expected {expect}", source=tab.name
        )
    if columns:
        _rename(tab, columns)
    return tab


def _read_file(blob: Blob, expect: str) -> Table:
    """A table file by its extension: Parquet, CSV / TSV, JSON lines or a JSON array."""
    fmt = _TABLE_EXTENSIONS.get(blob.suffix)
    if fmt is None:
        known = ", ".join(list(_TABLE_EXTENSIONS) + list(TREC_EXTENSIONS))
        raise DataError(
            f"{blob.name}: unknown file extension {blob.suffix or '(none)'!r}; "
            f"expected one of {known}",
            source=blob.name,
        )
    if not blob.raw.strip(b" \t\r\n" + BOM):
        raise _empty(blob, expect)
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(io.BytesIO(blob.raw), dtype_backend="numpy_nullable")
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise DataError(
                f"{blob.name}: cannot read as Parquet: {exc}", source=blob.name
            ) from None
        return Table(frame.astype(object), blob.name, "parquet")
    if fmt in ("csv", "tsv"):
        text = decode(blob, "row")
        frame = _read_csv(blob, text, "," if fmt == "csv" else "\t")
        return Table(frame.astype(object), blob.name, fmt)
    text = decode(blob, "line")
    if fmt == "json" and not text.lstrip().startswith("["):
        try:
            whole = json.loads(text)
        except json.JSONDecodeError:
            whole = None
        if looks_like_rospatent(whole):
            raise DataError(
                f"{blob.name}: this is a Rospatent search response, not a "
                f"table; read it with load_rospatent_json()",
                source=blob.name,
            )
    frame, kind, lines = _read_json_records(blob, text)
    return Table(frame, blob.name, kind, lines)


def _rename(tab: Table, columns: Mapping[str, str]) -> None:
    found = [str(c) for c in tab.df.columns]
    renames = {}
    for ours, theirs in columns.items():
        if theirs not in tab.df.columns:
            raise DataError(
                f"{tab.name}: column {theirs!r} (given for {ours!r} in columns=) "
                f"not found; columns found: {', '.join(found)}",
                source=tab.name,
                column=theirs,
            )
        if ours != theirs and ours in tab.df.columns and ours not in columns.values():
            raise DataError(
                f"{tab.name}: cannot rename {theirs!r} to {ours!r}: a column "
                f"{ours!r} exists already",
                source=tab.name,
                column=ours,
            )
        renames[theirs] = ours
    tab.df = tab.df.rename(columns=renames)


def require_columns(tab: Table, required: list[str], expect: str) -> None:
    missing = [c for c in required if c not in tab.df.columns]
    if missing:
        found = ", ".join(map(str, tab.df.columns))
        raise DataError(
            f"{tab.name}: missing required column(s) {', '.join(map(repr, missing))}; columns "
            f"found: {found}; expected {expect}",
            source=tab.name,
            column=missing[0],
        )


def read_json_document(blob: Blob, expect: str) -> Any:
    """Parse a whole-file JSON document; empty or invalid files raise with the line."""
    text = decode(blob, "line")
    if not text.strip():
        raise _empty(blob, expect)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _line_error(blob, exc.lineno, f"invalid JSON ({exc.msg})") from None


def _trec_first_line(text: str) -> list[str] | None:
    for line in text.splitlines():
        if line.strip():
            tokens = line.split()
            ok = len(tokens) == 4 and re.fullmatch(r"-?[0-9]+", tokens[3]) is not None
            return tokens if ok else None
    return None


def _read_trec(blob: Blob, text: str) -> Table:
    # Split by hand: one whitespace split per line is the whole format, and it keeps exact
    # line numbers (pandas' whitespace reader skips blank lines).
    rows, lines = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split()
        if len(tokens) != 4:
            what = (
                f"expected 4 whitespace-separated fields 'query_id iteration doc_id "
                f"relevance', got {len(tokens)}"
            )
            raise _line_error(blob, n, what)
        rows.append(tokens)
        lines.append(n)
    if not rows:
        raise _empty(blob, QRELS_EXPECT)
    frame = pd.DataFrame(
        rows, columns=["query_id", "iteration", "doc_id", "relevance"], dtype=object
    )
    return Table(frame, blob.name, "trec", lines)


def qrels_table(src: Any, columns: Mapping[str, str] | None) -> Table:
    """Read qrels: a TREC file (by extension, or a CSV/TSV whose first line is TREC) or a table.

    A :class:`Blob` is read as the file it names.
    """
    if isinstance(src, Blob | str | os.PathLike) or hasattr(src, "read_bytes"):
        blob = read_blob(src)
        if blob.suffix in TREC_EXTENSIONS or blob.suffix in (".csv", ".tsv"):
            if not blob.raw.strip(b" \t\r\n" + BOM):
                raise _empty(blob, QRELS_EXPECT)
            text = decode(blob, "line")
            first = _trec_first_line(text)
            if blob.suffix in TREC_EXTENSIONS or (first and "query_id" not in first):
                return _read_trec(blob, text)
        src = blob
    return read_table(src, expect=QRELS_EXPECT, columns=columns)
