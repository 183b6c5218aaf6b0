"""The Rospatent search-API adapter: saved search hits (JSON) into a corpus-only set."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from toolkit.data._builder import finish
from toolkit.data._checks import id_problem, text_problem
from toolkit.data._tables import BOM, looks_like_rospatent, read_blob, read_json_document
from toolkit.data.types import DataError, RetrievalSet, ipc_problem

__all__ = ["is_rospatent_path", "load_rospatent_json", "read_rospatent_hits"]


def is_rospatent_path(src: Any) -> bool:
    """True for a ``.json`` file that parses as one document shaped like search hits."""
    if not isinstance(src, str | os.PathLike) or Path(src).suffix.lower() != ".json":
        return False
    path = Path(src)
    if not path.is_file():
        return False
    raw = path.read_bytes()
    try:
        whole = json.loads(raw[len(BOM) :] if raw.startswith(BOM) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False  # JSON lines or not UTF-8: the table reader reports it
    return looks_like_rospatent(whole)


def _dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def load_rospatent_json(
    path: Any,
    *,
    missing_title: Literal["error", "skip"] = "error",
    dedupe: bool = False,
) -> RetrievalSet:
    """Load saved Rospatent search-API hits into a corpus-only :class:`RetrievalSet`.

    The file (UTF-8, BOM accepted) is a JSON list of hits or an object ``{"hits": [...]}``
    (the search response as saved). From each hit exactly these fields are read:

    * ``id`` -- document id, e.g. ``RU2725023C1_20200629`` (required, text);
    * ``biblio.ru.title`` -- the Russian title, kept verbatim (required; see
      ``missing_title``);
    * ``snippet.description`` -- optional; stored as doc field ``description`` verbatim
      (it may contain the API's highlight markup);
    * IPC codes, optional: ``common.classification.ipc[].fullname`` (a list of objects, e.g.
      ``"H02J 3/14 (2006.01)"``) or, when that is absent, ``snippet.classification.ipc``
      (a string or a list of strings). The codes are stored verbatim as doc field
      ``ipc_codes`` (list items joined with ``"; "``) and the first code's first character
      as doc field ``ipc`` (the section letter, which must be A-H).

    Everything else in a hit is ignored. The same id in several hits (e.g. responses of
    several queries concatenated) is merged when the titles agree, an error otherwise.

    Args:
        path: Path to the ``.json`` file, or the already parsed list / dict.
        missing_title: ``"error"`` (default) raises on a hit without ``biblio.ru.title``;
            ``"skip"`` leaves such hits out with one ``UserWarning`` (foreign documents often
            have only ``biblio.en``).
        dedupe: Merge twin titles instead of warning (see :meth:`RetrievalSet.dedupe_titles`).

    Returns:
        A set with ``corpus`` and doc fields, no queries.

    Raises:
        DataError: Naming the file, the hit (1-based) and the field.
    """
    rs, name, where = read_rospatent_hits(path, missing_title=missing_title)
    return finish(rs, name, where, dedupe)


def read_rospatent_hits(
    path: Any, *, missing_title: Literal["error", "skip"] = "error"
) -> tuple[RetrievalSet, str, Callable[[str], str]]:
    """:func:`load_rospatent_json` without its last step, the twin-title check.

    For a loader that checks the set it builds from these hits itself.

    Returns:
        ``(set, name of the source, where: doc id -> "hit N" of its first hit)``.
    """
    name, hits = _hits_of(path)
    docs = _Documents(name)
    for n, hit in enumerate(hits, start=1):
        docs.add(n, hit, missing_title)
    if not docs.corpus:
        raise DataError(
            f"{name}: no hit has biblio.ru.title ({len(docs.skipped)} skipped)", source=name
        )
    if docs.skipped:
        warnings.warn(
            f"{name}: skipped {len(docs.skipped)} hit(s) without biblio.ru.title, e.g. "
            f"{docs.skipped[0]!r}",
            UserWarning,
            stacklevel=3,  # the caller of load_rospatent_json
        )
    rs = RetrievalSet(corpus=docs.corpus, doc_fields={k: v for k, v in docs.fields.items() if v})
    return rs, name, lambda d: f"hit {docs.first_hit[d]}"


def _hits_of(path: Any) -> tuple[str, list[Any]]:
    """``(name for messages, the list of hits)`` of a file or an already parsed response."""
    if isinstance(path, list | dict):
        name, data = "<hits>", path
    else:
        blob = read_blob(path)
        if blob.suffix != ".json":
            raise DataError(
                f"{blob.name}: unknown file extension {blob.suffix!r}; expected "
                f".json (a saved Rospatent search response)",
                source=blob.name,
            )
        data = read_json_document(blob, 'a JSON list of hits or {"hits": [...]}')
        name = blob.name
    if isinstance(data, dict):
        if not isinstance(data.get("hits"), list):
            raise DataError(
                f'{name}: expected a list of hits or {{"hits": [...]}}; got an '
                f"object with keys {sorted(data)}",
                source=name,
            )
        hits = data["hits"]
    elif isinstance(data, list):
        hits = data
    else:
        raise DataError(
            f'{name}: expected a list of hits or {{"hits": [...]}}, got {type(data).__name__}',
            source=name,
        )
    if not hits:
        raise DataError(f"{name}: no hits", source=name)
    return name, hits


@dataclass
class _Documents:
    """The documents of the hits read so far, with the hit each was first seen in."""

    name: str
    corpus: dict[str, str] = field(default_factory=dict)
    first_hit: dict[str, int] = field(default_factory=dict)
    fields: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"ipc": {}, "ipc_codes": {}, "description": {}}
    )
    skipped: list[str] = field(default_factory=list)

    def fail(self, n: int, hid: Any, fld: str, what: str) -> DataError:
        ident = f" (id {hid!r})" if isinstance(hid, str) else ""
        return DataError(
            f"{self.name}, hit {n}{ident}, field {fld!r}: {what}",
            source=self.name,
            row=n,
            column=fld,
        )

    def add(self, n: int, hit: Any, missing_title: str) -> None:
        """Read hit ``n``: its id, title, description and IPC codes."""
        if not isinstance(hit, dict):
            raise DataError(
                f"{self.name}, hit {n}: expected a JSON object, got {type(hit).__name__}",
                source=self.name,
                row=n,
            )
        hid = hit.get("id")
        problem = "missing" if hid is None else id_problem(hid)
        if problem:
            raise self.fail(
                n, None, "id", f"{problem}; expected a document id such as 'RU2725023C1_20200629'"
            )
        title = _dig(hit, "biblio.ru.title")
        if title is None and missing_title == "skip":
            self.skipped.append(hid)
            return
        self._add_title(n, hid, title)
        self._add_description(n, hid, _dig(hit, "snippet.description"))
        codes = _ipc_codes(hit, lambda fld, what: self.fail(n, hid, fld, what))
        if codes is not None:
            joined, section, source_field = codes
            problem = ipc_problem(section)
            if problem:
                raise self.fail(
                    n, hid, source_field, f"IPC code {joined!r}: first character {problem}"
                )
            self.fields["ipc"].setdefault(hid, section)
            self.fields["ipc_codes"].setdefault(hid, joined)

    def _add_title(self, n: int, hid: str, title: Any) -> None:
        fld = "biblio.ru.title"
        if title is None:
            raise self.fail(
                n,
                hid,
                fld,
                "missing; expected the Russian title (pass missing_title='skip' to leave such "
                "hits out)",
            )
        problem = text_problem(title)
        if problem:
            raise self.fail(n, hid, fld, problem)
        if hid not in self.corpus:
            self.corpus[hid] = title
            self.first_hit[hid] = n
        elif self.corpus[hid] != title:
            raise self.fail(
                n,
                hid,
                fld,
                f"document {hid!r} already has title {self.corpus[hid]!r} (hit "
                f"{self.first_hit[hid]}); got {title!r}",
            )

    def _add_description(self, n: int, hid: str, description: Any) -> None:
        if description is None:
            return
        if not isinstance(description, str):
            raise self.fail(
                n, hid, "snippet.description", f"expected text, got {type(description).__name__}"
            )
        if description.strip():
            self.fields["description"].setdefault(hid, description)


def _ipc_codes(hit: dict[str, Any], fail: Any) -> tuple[str, str, str] | None:
    """Return (codes joined, section letter, field read) or None when the hit has no IPC."""
    common = _dig(hit, "common.classification.ipc")
    if common is not None:
        fld = "common.classification.ipc"
        if not isinstance(common, list):
            raise fail(
                fld, f"expected a list of objects with 'fullname', got {type(common).__name__}"
            )
        codes = []
        for k, item in enumerate(common):
            full = item.get("fullname") if isinstance(item, dict) else None
            if not isinstance(full, str) or not full.strip():
                raise fail(f"{fld}[{k}].fullname", f"expected an IPC code text, got {full!r}")
            codes.append(full)
        if codes:
            return "; ".join(codes), codes[0].strip()[:1], f"{fld}[0].fullname"
    snippet = _dig(hit, "snippet.classification.ipc")
    if snippet is not None:
        fld = "snippet.classification.ipc"
        items = snippet if isinstance(snippet, list) else [snippet]
        if not all(isinstance(x, str) and x.strip() for x in items):
            raise fail(fld, f"expected IPC code text or a list of texts, got {snippet!r}")
        if items:
            return "; ".join(items), items[0].strip()[:1], fld
    return None
