"""Type a query, see ranked titles: query text(s) x a corpus x one or more systems.

Home of :func:`search` (also ``toolkit.search``) and :func:`format_results`, with the input
checks the explorer shares: :func:`check_queries`, :func:`resolve_systems`, :func:`is_model`.

:func:`search` ranks a corpus of titles for free-text queries with dense models, BM25 and
fusions of the two, and returns one tidy table (``query, system, rank, doc_id, title,
score, grade``). ``grade`` is the qrels grade of the (query, title) pair when the query text
is one of the retrieval set's queries (or ``qrels=`` is given), and ``pd.NA`` when the pair
was never judged -- so the table shows which retrieved titles nobody has judged.

It reuses the toolkit's pieces, nothing is written twice: vectors come from
:func:`toolkit.encode` (the embedding cache), BM25 from :func:`toolkit.lexical.bm25_scores`,
fusions from :class:`toolkit.fusion.Fusion`, and ranks follow the tie rule of the
metrics (:func:`toolkit.ranking.tie_order` / :func:`toolkit.ranking.top_k`: score
descending, equal scores by doc id descending, as trec_eval), so the rank a title gets here
is the rank :func:`toolkit.retrieval_metrics` scores.

Example:
    >>> import toolkit
    >>> toolkit.search("роботы для доставки товаров", systems=["bm25"], k=3)  # doctest: +SKIP
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._validation import check_int, check_texts

__all__ = [
    "COLUMNS",
    "check_queries",
    "format_results",
    "is_model",
    "resolve_systems",
    "search",
]

COLUMNS = ["query", "system", "rank", "doc_id", "title", "score", "grade"]
_DENSE_ALIASES = ("dense", "default")


# ------------------------------------------------------------------------------------ inputs


def check_queries(queries: Any) -> list[str]:
    """One query text or a list of them as a list of non-blank texts, or raise naming it.

    Raises:
        TypeError: Not a str or a list of str.
        ValueError: No query, a blank query, or a text that is not valid Unicode.
    """
    if isinstance(queries, str):
        queries = [queries]
    out = check_texts(
        queries,
        "queries",
        allow_empty=False,
        container="queries must be a str or a list of str, got {type}",
        check_unicode=True,
    )
    for i, text in enumerate(out):
        if not text.strip():
            raise ValueError(f"queries[{i}] is empty; type a query")
    return out


def _check_titles(titles: list[Any], ids: list[str]) -> list[str]:
    for doc_id, title in zip(ids, titles, strict=True):
        if not isinstance(title, str):
            raise TypeError(
                f"corpus[{doc_id!r}] must be a str title, got {type(title).__name__}: "
                f"{title!r:.40}"
            )
    return list(titles)


def _corpus(corpus: Any) -> tuple[list[str], list[str], dict[str, dict[str, float]]]:
    """``(doc_ids, titles, {query_text: {doc_id: grade}})`` of any accepted corpus."""
    from toolkit.data import RetrievalSet, demo

    if corpus is None:
        corpus = demo()
    judged: dict[str, dict[str, float]] = {}
    if isinstance(corpus, RetrievalSet):
        ids, titles = list(corpus.corpus), list(corpus.corpus.values())
        for qid, text in corpus.queries.items():
            for doc_id, grade in corpus.qrels.get(qid, {}).items():
                judged.setdefault(text, {}).setdefault(doc_id, grade)
    elif isinstance(corpus, pd.Series):
        ids, titles = [str(i) for i in corpus.index], list(corpus.to_numpy())
    elif isinstance(corpus, Mapping):
        ids, titles = [str(i) for i in corpus], list(corpus.values())
    elif isinstance(corpus, Sequence) and not isinstance(corpus, str | bytes):
        ids, titles = [str(i) for i in range(len(corpus))], list(corpus)
    else:
        raise TypeError(
            "corpus must be a RetrievalSet, a list or pandas Series of titles, or a dict "
            f"{{doc_id: title}}, got {type(corpus).__name__}"
        )
    if not ids:
        raise ValueError("corpus is empty; search needs at least one title")
    seen: set[str] = set()
    for doc_id in ids:
        if doc_id in seen:
            raise ValueError(f"corpus: doc id {doc_id!r} appears twice (ids are compared as text)")
        seen.add(doc_id)
    return ids, _check_titles(titles, ids), judged


def _qrels(qrels: Any) -> dict[str, dict[str, float]]:
    if not isinstance(qrels, Mapping):
        raise TypeError(
            f"qrels must be a dict {{query_text: {{doc_id: grade}}}}, got {type(qrels).__name__}"
        )
    out: dict[str, dict[str, float]] = {}
    for text, grades in qrels.items():
        if not isinstance(grades, Mapping):
            raise TypeError(
                f"qrels[{text!r}] must be a dict {{doc_id: grade}}, got {type(grades).__name__}"
            )
        for doc_id, g in grades.items():
            if isinstance(g, bool) or not isinstance(g, numbers.Real) or not np.isfinite(g):
                raise ValueError(f"qrels[{text!r}][{doc_id!r}] = {g!r}: grades must be numbers")
            out.setdefault(str(text), {})[str(doc_id)] = g
    return out


# ----------------------------------------------------------------------------------- systems


def is_model(obj: Any) -> bool:
    """Whether ``obj`` is a loaded model (anything with ``encode``), not a system name."""
    return not isinstance(obj, str | bytes) and hasattr(obj, "encode")


def _resolve_spec(spec: str, where: str) -> Any:
    """``"bm25"``, a :class:`Fusion`, or a loaded model for a system given as text."""
    from toolkit.fusion import Fusion
    from toolkit.models import builtin_models, load_model

    text = spec.strip()
    if text == "bm25":
        return "bm25"
    if text.startswith(("fusion(", "rrf(")):
        try:
            return Fusion.parse(text)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if text in _DENSE_ALIASES:
        return load_model()
    if text in builtin_models() or Path(text).expanduser().exists() or "/" in text:
        return load_model(text)
    raise ValueError(
        f"{where}: unknown system {spec!r}; expected 'dense' (the default model), 'bm25', a "
        "fusion like 'rrf(k=60)' or 'fusion(w=0.9, norm=zscore)', a builtin model "
        f"{builtin_models()}, a model folder or a hub id (owner/name)"
    )


def _spec_name(spec: str) -> str:
    path = Path(spec).expanduser()
    return path.resolve().name if path.is_dir() else spec.strip()


def _named_specs(systems: Any) -> list[tuple[str, Any, str]]:
    """``[(name, spec, where)]``: a list names its specs, a dict gives the names.

    ``where`` is the entry's position (``systems[0]``, ``systems['bm25']``) for messages.
    """
    from toolkit.fusion import Fusion

    if isinstance(systems, str | Fusion) or is_model(systems):
        systems = [systems]
    if isinstance(systems, Mapping):
        items = [(name, spec, f"systems[{name!r}]") for name, spec in systems.items()]
        for name, _, where in items:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"{where}: a system name must be non-empty text")
        return items
    if not isinstance(systems, Sequence):
        raise TypeError(
            "systems must be None, a list or a dict {name: system}, "
            f"got {type(systems).__name__}"
        )
    items = []
    n_models = sum(1 for s in systems if is_model(s))
    for i, spec in enumerate(systems):
        if isinstance(spec, Fusion):
            name = spec.name
        elif isinstance(spec, str):
            name = _spec_name(spec)
        elif is_model(spec):
            name = "dense" if n_models == 1 else f"dense{i}"
        else:
            name = ""
        items.append((name, spec, f"systems[{i}]"))
    return items


def resolve_systems(systems: Any) -> dict[str, Any]:
    """``{name: model | "bm25" | Fusion}`` in the order given (see :func:`search`).

    ``None`` is the default model as ``"dense"``; text specs are loaded or parsed here, so a
    model is loaded once however often the result is searched with.

    Raises:
        TypeError: ``systems`` or one of its entries has the wrong type.
        ValueError: No system, an unknown or repeated name, or a fusion without a dense model.
        ModelNotAvailable: A model spec that cannot be loaded.
    """
    from toolkit.fusion import Fusion
    from toolkit.models import load_model

    if systems is None:
        return {"dense": load_model()}
    items = _named_specs(systems)
    if not items:
        raise ValueError("systems is empty; name at least one system (e.g. ['dense', 'bm25'])")
    out: dict[str, Any] = {}
    for name, spec, where in items:
        if isinstance(spec, str):
            system = _resolve_spec(spec, where)
        elif isinstance(spec, Fusion) or is_model(spec):
            system = spec
        else:
            raise TypeError(
                f"{where} must be a sentence-transformers model, a model name, 'bm25' or a "
                f"fusion name, got {type(spec).__name__}"
            )
        if name in out:
            raise ValueError(f"{where}: system name {name!r} is given twice; drop the duplicate")
        out[name] = system
    fusions = [n for n, s in out.items() if isinstance(s, Fusion)]
    if fusions and not any(is_model(s) for s in out.values()):
        raise ValueError(
            f"systems: fusion {fusions[0]!r} fuses the first dense model with BM25; "
            "list a dense model too (e.g. ['dense', 'bm25', 'rrf(k=60)'])"
        )
    return out


def _ranked(
    systems: dict[str, Any],
    queries: list[str],
    titles: list[str],
    doc_ids: list[str],
    keep: int,
    index: str,
    index_meta: dict[str, dict[str, Any]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (scores, cols)}``: each system's top ``keep`` per query, best first.

    A dense model goes through :func:`toolkit.index.dense_index` (exact or approximate);
    BM25 and fusions take the top ``keep`` of their full score matrix under the tie rule
    (:func:`toolkit.ranking.top_k`; a fusion needs every title's dense score, so the first
    dense model's matrix is then computed exactly whatever ``index`` says).
    """
    from toolkit.encoding import encode
    from toolkit.fusion import Fusion
    from toolkit.index import dense_index
    from toolkit.lexical import bm25_scores
    from toolkit.ranking import tie_positions, top_k

    tie_pos = tie_positions(doc_ids)

    def top(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = top_k(matrix, keep, tie_pos)
        return np.take_along_axis(matrix, cols, axis=1), cols

    needs_bm25 = any(isinstance(s, Fusion) or s == "bm25" for s in systems.values())
    needs_fusion = any(isinstance(s, Fusion) for s in systems.values())
    first = next((n for n, s in systems.items() if is_model(s)), None)
    bm25 = bm25_scores(queries, titles).astype(np.float64) if needs_bm25 else None
    first_matrix = None
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, system in systems.items():
        if not is_model(system):
            continue
        q = encode(system, queries, show_progress=False)
        if needs_fusion and name == first:
            d = encode(system, titles, show_progress=None)
            first_matrix = np.asarray(q @ d.T, dtype=np.float64)
            out[name] = top(first_matrix)
            index_meta[name] = {"kind": "exact", "n": len(titles), "dim": int(d.shape[1])}
            continue
        idx = dense_index(system, titles, doc_ids, kind=index, queries=q)
        scores, cols = idx.search(q, keep)
        out[name] = (scores.astype(np.float64), cols)
        index_meta[name] = dict(idx.meta)
    result: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, system in systems.items():
        if isinstance(system, Fusion):
            result[name] = top(np.asarray(system.fuse(first_matrix, bm25, doc_ids), np.float64))
        elif isinstance(system, str):  # "bm25"
            result[name] = top(bm25)
        else:
            result[name] = out[name]
    return result


# -------------------------------------------------------------------------------------- api


def search(
    queries: str | Sequence[str],
    corpus: Any = None,
    *,
    systems: Any = None,
    k: int = 10,
    qrels: Mapping[str, Mapping[str, float]] | None = None,
    index: str = "auto",
) -> pd.DataFrame:
    """Rank a corpus of titles for free-text queries with one or more systems.

    Args:
        queries: One query text or a list of them.
        corpus: What to search: a :class:`~toolkit.data.RetrievalSet` (its titles; its qrels
            give the grades of its own queries' texts), a list of titles (ids ``"0"``,
            ``"1"``, ...), a pandas Series of titles (the index is the doc id) or a dict
            ``{doc_id: title}``. ``None``: the demo set (:func:`toolkit.data.demo`).
        systems: ``None`` for the default model (system ``"dense"``); or a list or a dict
            ``{name: system}`` where a system is a loaded sentence-transformers model, a
            :func:`toolkit.load_model` spec (``"dense"``/``"default"``, a builtin name, a
            folder, a hub id), ``"bm25"``, or a fusion of the first dense model with BM25
            (``"rrf(k=60)"``, ``"fusion(w=0.9, norm=zscore)"`` or a
            :class:`toolkit.fusion.Fusion`). In a list a text spec names its system
            (a folder by its last part); a model object is ``"dense"``.
        k: Titles kept per query and system (at most the corpus size), >= 1.
        qrels: ``{query_text: {doc_id: grade}}``; its grades are used for those query
            texts (on top of a RetrievalSet's own qrels).
        index: How dense models search (:mod:`toolkit.index`): ``"exact"`` scores every
            title (the same ranking as the full score matrix); ``"approx"`` uses a faiss
            HNSW index built from the cached vectors, kept under ``<cache_dir>/index`` keyed
            by model + corpus and reloaded next time, with recall@10 against exact measured
            and printed on every build; ``"auto"`` (default) is exact below
            :data:`toolkit.index.AUTO_EXACT_BELOW` titles and approximate above. BM25 and
            fusions always score every title.

    Returns:
        A DataFrame with columns ``query, system, rank, doc_id, title, score, grade``, one
        row per query x system x rank (rank 1-based, in that order). ``grade`` is the qrels
        grade of the (query, doc) pair, ``pd.NA`` when it is unjudged. Ranks follow the
        metrics' tie rule: score descending, then doc id (as text) descending.
        ``table.attrs["index"]`` is ``{system: index meta}`` for the dense systems (kind,
        size, and for an approximate index its ``recall_at_10``, ``ef_search``, build time).

    Raises:
        TypeError: A query, title or system of the wrong type (the message names its
            position).
        ValueError: An empty query or corpus, an unknown system name, ``k < 1``, an
            unknown ``index``.
        TypeError: ``k`` is not an integer.
        ModelNotAvailable: A model spec that cannot be loaded.
    """
    from toolkit.index import resolve_kind

    texts = check_queries(queries)
    k = check_int(k, "k")
    doc_ids, titles, judged = _corpus(corpus)
    resolve_kind(index, len(doc_ids))  # checks the value before any model is loaded
    if qrels is not None:
        for text, grades in _qrels(qrels).items():
            judged.setdefault(text, {}).update(grades)
    resolved = resolve_systems(systems)
    keep = min(k, len(doc_ids))
    index_meta: dict[str, dict[str, Any]] = {}
    ranked = _ranked(resolved, texts, titles, doc_ids, keep, index, index_meta)
    table = _results_table(texts, ranked, doc_ids, titles, judged)
    table.attrs["index"] = index_meta
    return table


def _results_table(
    texts: list[str],
    ranked: dict[str, tuple[np.ndarray, np.ndarray]],
    doc_ids: list[str],
    titles: list[str],
    judged: dict[str, dict[str, float]],
) -> pd.DataFrame:
    """The tidy table of :func:`search`: one row per query x system x rank, graded."""
    rows: list[tuple] = []
    for qi, text in enumerate(texts):
        grades = judged.get(text, {})
        for name, (scores, cols) in ranked.items():
            rank = 0
            for col, score in zip(cols[qi].tolist(), scores[qi].tolist(), strict=True):
                if col < 0:  # an approximate index that found fewer than k titles
                    continue
                rank += 1
                doc_id = doc_ids[col]
                grade = grades.get(doc_id, pd.NA)
                rows.append((text, name, rank, doc_id, titles[col], score, grade))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["rank"] = table["rank"].astype("int64")
    table["score"] = table["score"].astype("float64")
    grades = table["grade"]
    known = grades.dropna()
    integral = all(float(g).is_integer() for g in known)
    table["grade"] = pd.array(grades.tolist(), dtype="Int64" if integral else "Float64")
    return table


def format_results(table: pd.DataFrame, *, width: int = 90) -> str:
    """A readable text table of :func:`search` results: one block per query and system.

    Each line: rank, score to 3 decimals, grade (``·`` = unjudged), title cut to ``width``
    characters (an integer >= 1).
    """
    width = check_int(width, "width")
    lines: list[str] = []
    for query, by_query in table.groupby("query", sort=False):
        lines.append(f"query: {query}")
        for system, block in by_query.groupby("system", sort=False):
            lines.append(f"\n  [{system}]")
            lines.append(f"  {'rank':>4}  {'score':>7}  {'grade':>5}  title")
            for r in block.itertuples(index=False):
                grade = "·" if pd.isna(r.grade) else f"{r.grade:g}"
                title = " ".join(str(r.title).split())
                if len(title) > width:
                    title = title[: width - 1] + "…"
                lines.append(f"  {r.rank:>4}  {r.score:>7.3f}  {grade:>5}  {title}")
        lines.append("")
    lines.append("grade: the qrels grade of (query, title); · = unjudged")
    return "\n".join(lines)

