"""The Rospatent search-API adapter: saved search hits (JSON) into a corpus-only set."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Literal

from toolkit.data.tables import _BOM, _blob, _looks_like_rospatent, _read_json_document
from toolkit.data.types import (
    DataError,
    RetrievalSet,
    _finish,
    _id_problem,
    _ipc_problem,
    _text_problem,
)

__all__ = ["load_rospatent_json"]


def _is_rospatent_path(src: Any) -> bool:
    """True for a ``.json`` file that parses as one document shaped like search hits."""
    if not isinstance(src, str | os.PathLike) or Path(src).suffix.lower() != ".json":
        return False
    path = Path(src)
    if not path.is_file():
        return False
    raw = path.read_bytes()
    try:
        whole = json.loads(raw[len(_BOM) :] if raw.startswith(_BOM) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False  # JSON lines or not UTF-8: the table reader reports it
    return _looks_like_rospatent(whole)


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
    _warn_twins: bool = True,
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
        _warn_twins: Internal; the combined loader warns itself.

    Returns:
        A set with ``corpus`` and doc fields, no queries.

    Raises:
        DataError: Naming the file, the hit (1-based) and the field.
    """
    if isinstance(path, list | dict):
        name, data = "<hits>", path
    else:
        blob = _blob(path)
        if blob.suffix != ".json":
            raise DataError(
                f"{blob.name}: unknown file extension {blob.suffix!r}; expected "
                f".json (a saved Rospatent search response)",
                source=blob.name,
            )
        data = _read_json_document(blob, 'a JSON list of hits or {"hits": [...]}')
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

    def fail(n: int, hid: Any, fld: str, what: str) -> DataError:
        ident = f" (id {hid!r})" if isinstance(hid, str) else ""
        return DataError(
            f"{name}, hit {n}{ident}, field {fld!r}: {what}", source=name, row=n, column=fld
        )

    corpus: dict[str, str] = {}
    first_hit: dict[str, int] = {}
    fields: dict[str, dict[str, str]] = {"ipc": {}, "ipc_codes": {}, "description": {}}
    skipped: list[str] = []
    for n, hit in enumerate(hits, start=1):
        if not isinstance(hit, dict):
            raise DataError(
                f"{name}, hit {n}: expected a JSON object, got {type(hit).__name__}",
                source=name,
                row=n,
            )
        hid = hit.get("id")
        problem = "missing" if hid is None else _id_problem(hid)
        if problem:
            raise fail(
                n, None, "id", f"{problem}; expected a document id such as 'RU2725023C1_20200629'"
            )
        title = _dig(hit, "biblio.ru.title")
        if title is None and missing_title == "skip":
            skipped.append(hid)
            continue
        if title is None:
            raise fail(
                n,
                hid,
                "biblio.ru.title",
                "missing; expected the Russian title "
                "(pass missing_title='skip' to leave such "
                "hits out)",
            )
        problem = _text_problem(title)
        if problem:
            raise fail(n, hid, "biblio.ru.title", problem)
        if hid in corpus:
            if corpus[hid] != title:
                raise fail(
                    n,
                    hid,
                    "biblio.ru.title",
                    f"document {hid!r} already has title {corpus[hid]!r} (hit "
                    f"{first_hit[hid]}); got {title!r}",
                )
        else:
            corpus[hid] = title
            first_hit[hid] = n
        description = _dig(hit, "snippet.description")
        if description is not None:
            if not isinstance(description, str):
                raise fail(
                    n,
                    hid,
                    "snippet.description",
                    f"expected text, got {type(description).__name__}",
                )
            if description.strip():
                fields["description"].setdefault(hid, description)
        codes = _ipc_codes(hit, lambda fld, what, n=n, hid=hid: fail(n, hid, fld, what))
        if codes is not None:
            joined, section, source_field = codes
            problem = _ipc_problem(section)
            if problem:
                raise fail(n, hid, source_field, f"IPC code {joined!r}: first character {problem}")
            fields["ipc"].setdefault(hid, section)
            fields["ipc_codes"].setdefault(hid, joined)
    if not corpus:
        raise DataError(f"{name}: no hit has biblio.ru.title ({len(skipped)} skipped)", source=name)
    if skipped:
        warnings.warn(
            f"{name}: skipped {len(skipped)} hit(s) without biblio.ru.title, e.g. {skipped[0]!r}",
            UserWarning,
            stacklevel=2,
        )
    rs = RetrievalSet(corpus=corpus, doc_fields={k: v for k, v in fields.items() if v})
    if not _warn_twins:
        return rs
    return _finish(rs, name, lambda d: f"hit {first_hit[d]}", dedupe)


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
