"""Notebook parameters of the report: ``-p NAME=VALUE``, parameters files, the per-notebook plan.

The rule: a name that no selected notebook declares in its ``parameters`` cell is an error
(raised before anything runs); a name that only some declare is passed to those only.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.report.errors import ReportError

__all__ = [
    "UNKNOWN",
    "absolute_paths",
    "declared_parameters",
    "notebook_defaults",
    "parse_parameter",
    "plan_parameters",
    "read_parameters_file",
]

#: A default :func:`notebook_defaults` cannot evaluate (not a literal: ``list(range(3))``).
UNKNOWN = object()


def absolute_paths(params: dict[str, Any]) -> dict[str, Any]:
    """Make relative paths that exist from the caller's folder absolute.

    The kernels run in the notebook's folder, so ``DATA=my_set/`` would otherwise name
    ``notebooks/my_set/``. A text value (or a text in a list value) that is a relative path
    existing from the current directory becomes that absolute path, and a line says so; any
    other value (a hub id, a number, a path that does not exist here) is passed unchanged.
    """

    def fix(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            if Path(value).exists():
                return str(Path(value).resolve())
        return value

    out = {}
    for name, value in params.items():
        new = [fix(v) for v in value] if isinstance(value, list) else fix(value)
        if new != value:
            print(f"    {name}: relative path(s) made absolute: {new!r}")
        out[name] = new
    return out


def parse_parameter(text: str) -> tuple[str, Any]:
    """Parse one ``NAME=VALUE`` of ``python -m toolkit report -p``, typed as papermill's ``-p``.

    The value is split at the first ``=`` and typed by papermill's own CLI rule:
    ``True``/``False``/``None``, then an ``int``, then a ``float``, otherwise the string as
    given (so ``-p DATA=a=b.csv`` is the string ``'a=b.csv'``). JSON lists and dicts stay
    strings, as with papermill's ``-p``.

    Example:
        >>> parse_parameter("N_BOOTSTRAP=200"), parse_parameter("MODEL=ai-forever/sbert")
        (('N_BOOTSTRAP', 200), ('MODEL', 'ai-forever/sbert'))

    Raises:
        ValueError: No ``=``, or the name is not a Python identifier.
    """
    from papermill.cli import _resolve_type  # papermill's -p typing, reused as is

    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    if not name.isidentifier():
        raise ValueError(f"parameter name {name!r} in {text!r} is not a Python identifier")
    return name, _resolve_type(value)


def read_parameters_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a parameters file of ``python -m toolkit report --parameters-file``.

    Like papermill's ``-f``: a ``.yaml``/``.yml`` file is read with papermill's own YAML
    loader (``NoDatesSafeLoader``: safe, dates stay text), a ``.json`` file as JSON. The
    top level must be a mapping ``NAME: value`` whose names are Python identifiers; values
    keep their YAML/JSON types (lists, dicts, numbers, ``null`` -> ``None``). An empty file
    is no parameters, as in papermill.

    Example:
        >>> read_parameters_file("params.yaml")  # doctest: +SKIP
        {'MODEL': 'vectors.parquet', 'SEEDS': [0, 1]}

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Another suffix, a syntax error (with line and column), a top level that
            is not a mapping, or a key that is not an identifier; the message names the file.
    """
    import json

    import yaml
    from papermill.iorw import NoDatesSafeLoader

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ValueError(
            f"parameters file {path}: expected a .yaml, .yml or .json file, got {suffix or 'no'} "
            "suffix"
        )
    if not path.is_file():
        raise FileNotFoundError(f"parameters file {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"parameters file {path}: not UTF-8 text ({exc.reason})") from None
    try:
        if suffix == ".json":
            data = json.loads(text) if text.strip() else None
        else:
            data = yaml.load(text, Loader=NoDatesSafeLoader)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"parameters file {path}, line {exc.lineno}, column {exc.colno}: invalid JSON "
            f"({exc.msg})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"parameters file {path}{where}: invalid YAML ({problem})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"parameters file {path}: expected a mapping NAME: value at the top level, got a "
            f"{type(data).__name__}"
        )
    for key in data:
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(
                f"parameters file {path}: key {key!r} is not a parameter name (a Python "
                "identifier such as MODEL)"
            )
    return dict(data)


def plan_parameters(
    paths: Sequence[Path],
    parameters: dict[str, Any] | None,
    parameters_file: str | os.PathLike | None,
) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """Per notebook: the parameters it declares (to pass) and the given names it does not.

    The values are the parameters file's, overridden by ``parameters`` (papermill's order:
    files first, then ``-p``), with relative paths made absolute (:func:`absolute_paths`).

    Raises:
        TypeError: ``parameters`` is not a dict.
        ReportError: A name is declared by none of the notebooks (the message says which
            came from the file).
    """
    if parameters is not None and not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")
    from_file = read_parameters_file(parameters_file) if parameters_file is not None else {}
    origin = {name: str(parameters_file) for name in from_file if name not in (parameters or {})}
    parameters = absolute_paths({**from_file, **(parameters or {})})
    if not parameters:
        return [({}, ()) for _ in paths]
    declared = [declared_parameters(p) for p in paths]
    unknown = [name for name in parameters if not any(name in d for d in declared)]
    if unknown:
        import difflib

        known = sorted(set().union(*declared))
        notes = {
            n: ([f"key in {origin[n]}"] if n in origin else [])
            + [f"did you mean {m}?" for m in difflib.get_close_matches(n, known, 1)]
            for n in unknown
        }
        names = ", ".join(n + (f" ({'; '.join(notes[n])})" if notes[n] else "") for n in unknown)
        listing = "; ".join(
            f"{p.name}: {', '.join(sorted(d)) if d else '(no parameters found)'}"
            for p, d in zip(paths, declared, strict=True)
        )
        raise ReportError(
            f"unknown parameter(s) {names}: not declared in the parameters cell of any "
            f"notebook run; declared are {listing}"
        )
    plan = []
    for d in declared:
        given = {k: v for k, v in parameters.items() if k in d}
        plan.append((given, tuple(k for k in parameters if k not in d)))
    return plan


def declared_parameters(nb_path: Path) -> set[str]:
    """Names defined in the notebook's ``parameters`` cell (empty when it has none)."""
    return set(_inspect(nb_path))


def notebook_defaults(nb_path: Path) -> dict[str, Any]:
    """``{name: default value}`` of the notebook's ``parameters`` cell.

    Each default is its source text evaluated as a Python literal (``5``, ``"test"``,
    ``["a", "b"]``, ``None``); one that is not a literal (``list(range(10))``) is
    :data:`UNKNOWN`. Empty when the notebook has no parameters cell.
    """
    out: dict[str, Any] = {}
    for name, info in _inspect(nb_path).items():
        try:
            out[name] = ast.literal_eval(str(info.get("default", "")))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            out[name] = UNKNOWN
    return out


def _inspect(nb_path: Path) -> dict[str, Any]:
    """The parameters cell as papermill reads it; ``{}`` without one or one it cannot parse."""
    import papermill

    try:
        return dict(papermill.inspect_notebook(str(nb_path)))
    except Exception:  # no parameters cell, or one papermill cannot parse
        return {}
