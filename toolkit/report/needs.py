"""What each notebook needs from its data, declared in its metadata and checked before it runs.

A notebook declares its needs in its notebook metadata, under ``metadata["toolkit"]["needs"]``
(JSON). Every part is optional; ``{}`` declares a notebook that runs on any set that loads::

    {"titles":  [COUNT, ...],   # each: the corpus has at least this many titles
     "queries": [QUERIES, ...], # each: a split has at least this many queries with a relevant title
     "fields":  [FIELD, ...]}   # corpus fields: required ones, and optional ones a section skips

    COUNT   = {"min": 11}                                   # a fixed number, or
              {"param": "MIN_CLUSTER_SIZE", "times": 2, "plus": 0}  # times * parameter + plus
              + optional "why": "what needs it" (the refusal quotes it)
              + optional "when": {"METHOD": ["hdbscan"]}  # applies only when the parameter's
                value is one of these (or, for a list value, holds one of them)
    QUERIES = COUNT + {"split": "train"}        # a split by name, or
                      {"split_param": "SPLIT"}  # the split(s) a parameter names (a name, a
                                                # list of names: their union, None: all queries)
              + optional "unit": "pairs"        # count (query, relevant title) pairs instead
              + optional "unsplit": "all"       # a set without splits counts all its queries
                                                # (as ``toolkit.data.select_split`` does);
                                                # default "refuse": the split must exist
    FIELD   = {"any_of": ["topic", "ipc"],      # corpus (doc) fields; one of them must be there
               "every_title": false,            # true: on every title (else: on at least one)
               "skips": "the section it skips"} # optional field: without it the section skips
              or {"any_of": [...], "why": "..."}  # required field: without it, refused

Queries are counted when they have at least one relevant title (grade >= 1): a query without
one is skipped by every metric and gives no training pair. Parameters are the values the
notebook will run with: those passed to the report, else the defaults of its ``parameters``
cell; a rule whose parameter has a default that is not a literal is not checked.

:func:`read_needs` reads and validates the declaration (a malformed one raises, naming the
notebook and the key); :func:`check_needs` compares it with a loaded set and returns the
unmet needs (each with how to supply it) and the sections that will be skipped.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit._validation import check_int
from toolkit.report.parameters import UNKNOWN, declared_parameters

__all__ = [
    "Count",
    "DataPlaces",
    "FieldNeed",
    "Needs",
    "QueryNeed",
    "Verdict",
    "check_needs",
    "data_summary",
    "parse_needs",
    "read_needs",
]

_NEEDS_KEYS = ("titles", "queries", "fields")
_COUNT_KEYS = ("min", "param", "times", "plus", "why", "when")
_QUERY_KEYS = (*_COUNT_KEYS, "split", "split_param", "unit", "unsplit")
_FIELD_KEYS = ("any_of", "every_title", "skips", "why")
_UNSPLIT = ("all", "refuse")
_UNITS = ("queries", "pairs")


@dataclass(frozen=True)
class Count:
    """At least ``min`` things, or ``times * <param> + plus`` (see the module docstring)."""

    min: int | None = None
    param: str | None = None
    times: int = 1
    plus: int = 0
    why: str = ""
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()


@dataclass(frozen=True)
class QueryNeed:
    """At least ``count`` queries with a relevant title in a split (or the parameter's splits)."""

    count: Count
    split: str | None = None
    split_param: str | None = None
    unsplit: str = "refuse"
    unit: str = "queries"


@dataclass(frozen=True)
class FieldNeed:
    """One of the corpus fields ``any_of``: required (``skips`` None) or optional."""

    any_of: tuple[str, ...]
    every_title: bool = False
    skips: str | None = None
    why: str = ""


@dataclass(frozen=True)
class Needs:
    """A notebook's declared needs."""

    titles: tuple[Count, ...] = ()
    queries: tuple[QueryNeed, ...] = ()
    fields: tuple[FieldNeed, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What a set lacks for one notebook (``unmet``) and the sections it will skip."""

    unmet: tuple[str, ...] = ()
    skips: tuple[str, ...] = ()

    @property
    def runnable(self) -> bool:
        """True when every need is met (skipped sections allowed)."""
        return not self.unmet


# ----------------------------------------------------------------------------- reading


def read_needs(nb_path: str | Path) -> Needs | None:
    """Read and check ``metadata["toolkit"]["needs"]`` of a notebook file.

    Returns:
        The needs, or ``None`` when the notebook declares none (no ``toolkit.needs`` key).

    Raises:
        ValueError: The declaration has an unknown key, a missing or contradictory one, or
            names a parameter the notebook's ``parameters`` cell does not declare; the
            message names the notebook and the key (``metadata toolkit.needs.queries[0]``).
        TypeError: A value has the wrong type (the message names notebook and key too).
    """
    path = Path(nb_path)
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a notebook file ({exc})") from None
    toolkit_meta = metadata.get("toolkit") if isinstance(metadata, Mapping) else None
    if toolkit_meta is None:
        return None
    where = f"{path.name}: metadata toolkit"
    if not isinstance(toolkit_meta, Mapping):
        raise TypeError(f"{where} must be a JSON object, got {type(toolkit_meta).__name__}")
    if "needs" not in toolkit_meta:
        return None
    return parse_needs(toolkit_meta["needs"], f"{where}.needs", declared_parameters(path))


def parse_needs(raw: Any, where: str, declared: set[str] | None = None) -> Needs:
    """Check a needs declaration (parsed JSON) and return it as :class:`Needs`.

    Args:
        raw: The declaration.
        where: How messages name it, e.g. ``"01_x.ipynb: metadata toolkit.needs"``.
        declared: The notebook's parameter names; a rule naming another raises. ``None``
            skips that check.

    Raises:
        ValueError, TypeError: As :func:`read_needs`.
    """
    _object(raw, where, _NEEDS_KEYS)
    titles = tuple(
        _count(item, f"{where}.titles[{i}]", _COUNT_KEYS, declared)
        for i, item in enumerate(_array(raw.get("titles", []), f"{where}.titles"))
    )
    queries = tuple(
        _query_need(item, f"{where}.queries[{i}]", declared)
        for i, item in enumerate(_array(raw.get("queries", []), f"{where}.queries"))
    )
    fields = tuple(
        _field_need(item, f"{where}.fields[{i}]")
        for i, item in enumerate(_array(raw.get("fields", []), f"{where}.fields"))
    )
    return Needs(titles, queries, fields)


def _object(raw: Any, where: str, keys: Sequence[str]) -> None:
    if not isinstance(raw, Mapping):
        raise TypeError(f"{where} must be a JSON object, got {_json_type(raw)}")
    unknown = [k for k in raw if k not in keys]
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; expected one of {', '.join(keys)}")


def _array(raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise TypeError(f"{where} must be a JSON array, got {_json_type(raw)}")
    return raw


def _text(raw: Any, where: str, *, identifier: bool = False) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise TypeError(f"{where} must be a non-empty string, got {raw!r}")
    if identifier and not raw.isidentifier():
        raise ValueError(f"{where}: {raw!r} is not a parameter name")
    return raw


def _parameter(raw: Any, where: str, declared: set[str] | None) -> str:
    name = _text(raw, where, identifier=True)
    if declared is not None and name not in declared:
        listing = ", ".join(sorted(declared)) or "(no parameters cell)"
        raise ValueError(
            f"{where}: {name!r} is not declared in the notebook's parameters cell; "
            f"declared are {listing}"
        )
    return name


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if value is None:
        return "null"
    return "a number" if isinstance(value, numbers.Number) else type(value).__name__


def _count(raw: Any, where: str, keys: Sequence[str], declared: set[str] | None) -> Count:
    _object(raw, where, keys)
    if ("min" in raw) == ("param" in raw):
        raise ValueError(f"{where}: give exactly one of 'min' (a number) or 'param' (a name)")
    if "min" in raw and ("times" in raw or "plus" in raw):
        raise ValueError(f"{where}: 'times' and 'plus' go with 'param', not with 'min'")
    when = raw.get("when", {})
    if not isinstance(when, Mapping):
        raise TypeError(f"{where}.when must be a JSON object, got {_json_type(when)}")
    conditions = []
    for name, allowed in when.items():
        _parameter(name, f"{where}.when", declared)
        if not isinstance(allowed, list) or not allowed:
            raise TypeError(
                f"{where}.when.{name} must be a non-empty JSON array of values, got {allowed!r}"
            )
        conditions.append((name, tuple(allowed)))
    return Count(
        min=check_int(raw["min"], f"{where}.min") if "min" in raw else None,
        param=_parameter(raw["param"], f"{where}.param", declared) if "param" in raw else None,
        times=check_int(raw.get("times", 1), f"{where}.times"),
        plus=check_int(raw.get("plus", 0), f"{where}.plus", minimum=0),
        why=_text(raw["why"], f"{where}.why") if "why" in raw else "",
        when=tuple(conditions),
    )


def _query_need(raw: Any, where: str, declared: set[str] | None) -> QueryNeed:
    count = _count(raw, where, _QUERY_KEYS, declared)
    if ("split" in raw) == ("split_param" in raw):
        raise ValueError(
            f"{where}: give exactly one of 'split' (a split name) or 'split_param' (a parameter)"
        )
    unsplit = raw.get("unsplit", "refuse")
    if unsplit not in _UNSPLIT:
        raise ValueError(f"{where}.unsplit must be 'all' or 'refuse', got {unsplit!r}")
    unit = raw.get("unit", "queries")
    if unit not in _UNITS:
        raise ValueError(f"{where}.unit must be 'queries' or 'pairs', got {unit!r}")
    return QueryNeed(
        count=count,
        split=_text(raw["split"], f"{where}.split") if "split" in raw else None,
        split_param=(
            _parameter(raw["split_param"], f"{where}.split_param", declared)
            if "split_param" in raw
            else None
        ),
        unsplit=unsplit,
        unit=unit,
    )


def _field_need(raw: Any, where: str) -> FieldNeed:
    _object(raw, where, _FIELD_KEYS)
    if "any_of" not in raw:
        raise ValueError(f"{where}: missing key 'any_of' (the field names)")
    names = _array(raw["any_of"], f"{where}.any_of")
    if not names:
        raise ValueError(f"{where}.any_of: expected at least one field name")
    fields = tuple(_text(n, f"{where}.any_of[{i}]") for i, n in enumerate(names))
    every = raw.get("every_title", False)
    if not isinstance(every, bool):
        raise TypeError(f"{where}.every_title must be true or false, got {every!r}")
    if "skips" in raw and "why" in raw:
        raise ValueError(
            f"{where}: give 'skips' (an optional field: the section it skips) or 'why' "
            "(a required field), not both"
        )
    return FieldNeed(
        any_of=fields,
        every_title=every,
        skips=_text(raw["skips"], f"{where}.skips") if "skips" in raw else None,
        why=_text(raw["why"], f"{where}.why") if "why" in raw else "",
    )


# ----------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class DataPlaces:
    """Where a set's titles, splits and fields are written, for the how-to of a refusal."""

    corpus: str = "corpus.csv"
    queries: str = "queries.csv"
    qrels: str = "qrels.csv"
    field_where: str = "corpus.csv"

    @classmethod
    def of(cls, data: Any) -> DataPlaces:
        """The places of ``data``: a folder's three CSV files, or a pairs file's columns."""
        if data is None or (isinstance(data, str | Path) and Path(data).is_dir()):
            return cls()
        if isinstance(data, str | Path):
            name = Path(data).name
            return cls(f"the pairs file {name}", f"the split column of {name}", name, name)
        return cls("the set's corpus", "the set's splits", "the set's qrels", "the set's fields")


def _relevant(rs: Any, qids: Any, unit: str = "queries") -> int:
    """How many of ``qids`` have a relevant title (grade >= 1), or how many such pairs."""
    grades = [[g for g in rs.qrels.get(q, {}).values() if g >= 1] for q in dict.fromkeys(qids)]
    return sum(len(g) if unit == "pairs" else bool(g) for g in grades)


def data_summary(rs: Any) -> str:
    """One line: titles, and per split the queries with a relevant title."""
    if rs.splits:
        per_split = ", ".join(f"{s} {_relevant(rs, q)}" for s, q in rs.splits.items())
        queries = f"queries with a relevant title per split: {per_split}"
    else:
        queries = f"no splits; {_relevant(rs, rs.queries)} queries with a relevant title"
    fields = ", ".join(rs.doc_fields) or "none"
    return f"{len(rs.corpus)} titles; {queries}; title fields: {fields}"


def _applies(rule: Count, params: Mapping[str, Any]) -> bool:
    for name, allowed in rule.when:
        value = params.get(name, UNKNOWN)
        if value is UNKNOWN:
            continue  # cannot tell: check the rule
        values = value if isinstance(value, list | tuple) else [value]
        if not any(v in allowed for v in values if isinstance(v, str | int | float | bool)):
            return False
    return True


def _amount(rule: Count, params: Mapping[str, Any]) -> tuple[int | None, str, str | None]:
    """``(required amount or None to skip, how it was computed, problem)``."""
    if rule.param is None:
        return rule.min, "", None
    value = params.get(rule.param, UNKNOWN)
    if value is UNKNOWN:
        return None, "", None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None, "", f"parameter {rule.param}={value!r} is not an integer"
    expr = f"{rule.param}={value}"
    if rule.times != 1:
        expr = f"{rule.times} × {expr}"
    if rule.plus:
        expr = f"{expr} + {rule.plus}"
    return rule.times * int(value) + rule.plus, expr, None


def _why(rule: Count | FieldNeed, expr: str = "") -> str:
    """`` (expr: why)``, `` (expr)``, `` (why)`` or nothing."""
    inside = ": ".join(part for part in (expr, rule.why) if part)
    return f" ({inside})" if inside else ""


def check_needs(
    needs: Needs, params: Mapping[str, Any], rs: Any, places: DataPlaces | None = None
) -> Verdict:
    """Compare a notebook's needs with a loaded set.

    Args:
        needs: The declaration (:func:`read_needs`).
        params: The parameter values the notebook will run with (:data:`UNKNOWN` for a
            default that is not a literal).
        rs: The :class:`~toolkit.data.RetrievalSet` the notebook will load.
        places: Where the set's parts are written, for the how-to (default: a folder).

    Returns:
        The unmet needs, each one sentence saying what is missing, what needs it and how to
        supply it, and one line per optional section the notebook will skip.
    """
    places = places or DataPlaces()
    unmet: list[str] = []
    short: list[tuple[int, str, Count]] = []  # title rules the corpus falls short of
    for rule in needs.titles:
        if not _applies(rule, params):
            continue
        need, expr, problem = _amount(rule, params)
        if problem:
            unmet.append(problem)
        elif need is not None and len(rs.corpus) < need:
            short.append((need, expr, rule))
    if short:  # the largest one: meeting it meets the others
        need, expr, rule = max(short, key=lambda item: item[0])
        hint = f", or pass a smaller -p {rule.param}" if rule.param else ""
        unmet.append(
            f"needs at least {need} titles{_why(rule, expr)}, has {len(rs.corpus)}: add "
            f"titles to {places.corpus}{hint}"
        )
    for q_need in needs.queries:
        problem = _query_problem(q_need, params, rs, places)
        if problem:
            unmet.append(problem)
    skips = []
    for f_need in needs.fields:
        filled = _filled(rs, f_need)
        if filled == len(rs.doc_ids) or (filled and not f_need.every_title):
            continue
        names = " or ".join(repr(n) for n in f_need.any_of)
        if filled:
            lack = f"only {filled} of {len(rs.doc_ids)} titles have a {names} value"
        else:
            lack = f"no {names} field"
        if f_need.skips is not None:
            skips.append(f"skips {f_need.skips}: {lack} in {places.field_where}")
        else:
            unmet.append(
                f"needs a {names} field{_why(f_need)}: {lack}; give every title one in a "
                f"{f_need.any_of[0]} column of {places.field_where}"
            )
    return Verdict(tuple(unmet), tuple(skips))


def _filled(rs: Any, need: FieldNeed) -> int:
    """The most titles that have a value in one of the fields ``need.any_of``."""
    counts = [0]
    for name in need.any_of:
        values = rs.doc_fields.get(name, {})
        counts.append(sum(values.get(d) not in (None, "") for d in rs.doc_ids))
    return max(counts)


def _query_problem(
    need: QueryNeed, params: Mapping[str, Any], rs: Any, places: DataPlaces
) -> str | None:
    """The unmet query need as a sentence, or ``None`` when it is met (or cannot be checked)."""
    rule = need.count
    if not _applies(rule, params):
        return None
    amount, expr, problem = _amount(rule, params)
    if problem or amount is None:
        return problem
    if need.split is not None:
        names: list[str] | None = [need.split]
    else:
        value = params.get(need.split_param, UNKNOWN)
        if value is UNKNOWN:
            return None
        if value is None:
            names = None  # all queries
        elif isinstance(value, str):
            names = [value]
        elif isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            names = list(value)
        else:
            return f"parameter {need.split_param}={value!r} is not a split name or list of them"
    label = "the data" if names is None else "split " + ", ".join(repr(n) for n in names)
    if len(names or ()) > 1:
        label = "splits " + label.removeprefix("split ")
    if need.unit == "pairs":
        amount_text = f"at least {amount} (query, relevant title) pair{'s' * (amount != 1)}"
    else:
        amount_text = f"at least {amount} quer{'y' if amount == 1 else 'ies'} with a relevant title"
    if names is None or (not rs.splits and need.unsplit == "all"):
        have = _relevant(rs, rs.queries, need.unit)
        if have >= amount:
            return None
        return (
            f"needs {amount_text} in {label}{_why(rule, expr)}, has {have}: add queries to "
            f"{places.queries} with their relevant titles in {places.qrels}"
        )
    assign = " and ".join(f"split={n}" for n in names)
    how = f"in {places.queries} give queries {assign}, with their relevant titles in {places.qrels}"
    missing = [n for n in names if n not in rs.splits]
    if missing:
        shown = ", ".join(rs.splits) if rs.splits else "no splits"
        what = "a split" if len(missing) == 1 else "splits"
        missing_text = ", ".join(repr(n) for n in missing)
        alt = _other_splits(need, params, rs, amount)
        return (
            f"needs {what} {missing_text} with {amount_text}{_why(rule, expr)}; the data has "
            f"{shown}: {how}{alt}"
        )
    have = _relevant(rs, [q for n in names for q in rs.splits[n]], need.unit)
    if have >= amount:
        return None
    return (
        f"needs {amount_text} in {label}{_why(rule, expr)}, has {have}: {how}"
        f"{_other_splits(need, params, rs, amount)}"
    )


def _other_splits(need: QueryNeed, params: Mapping[str, Any], rs: Any, amount: int) -> str:
    """``", or pass -p SPLIT=<one of: ...>"`` when the parameter names one split and others do."""
    if need.split_param is None or not isinstance(params.get(need.split_param), str):
        return ""
    enough = [s for s, q in rs.splits.items() if _relevant(rs, q, need.unit) >= amount]
    if not enough:
        return ""
    return f", or pass -p {need.split_param}=<one of: {', '.join(enough)}>"
