"""Before the report runs: can the data run every selected notebook?

:func:`check_data` loads the set each notebook will load (its ``DATA`` parameter: the value
passed to the report, else the default of its ``parameters`` cell; ``None`` is the demo set),
once per distinct value, and compares it with the notebook's declared needs
(:mod:`toolkit.report.needs`). Unmet needs raise :class:`~toolkit.report.DataNeedsError`
before anything runs; optional sections that will be skipped are printed, one line each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from toolkit.report.errors import DataNeedsError, ReportError
from toolkit.report.needs import DataPlaces, Verdict, check_needs, data_summary, read_needs
from toolkit.report.parameters import UNKNOWN, notebook_defaults

__all__ = ["DATA_PARAMETER", "check_data"]

#: The parameter that names a notebook's data (``None``: the demo set).
DATA_PARAMETER = "DATA"


def _data_label(data: Any) -> str:
    if data is None:
        return "the demo set"
    return str(data) if isinstance(data, str | Path) else type(data).__name__


def check_data(
    paths: Sequence[Path],
    given: Sequence[dict[str, Any]],
    *,
    rerun: Callable[[list[Path]], str | None],
) -> dict[str, Verdict]:
    """Check every notebook's declared needs against the data it will load.

    Args:
        paths: The notebooks, in run order.
        given: Per notebook, the parameters passed to it (relative paths already absolute).
        rerun: Gives the command that runs just the given notebooks with the same parameters.

    Returns:
        ``{notebook file name: verdict}`` of the notebooks that declare needs (all met).

    Raises:
        ValueError, TypeError: A notebook's needs declaration is malformed (the message names
            the notebook and the key).
        ReportError: The data a notebook will load cannot be read.
        DataNeedsError: The data lacks what one or more notebooks need.
    """
    declared = [(path, read_needs(path)) for path in paths]  # every declaration checked first
    if all(needs is None for _, needs in declared):
        return {}
    sets: dict[str, Any] = {}
    verdicts: dict[str, Verdict] = {}
    used: dict[str, Any] = {}  # summary line per data set, in order
    for (path, needs), passed in zip(declared, given, strict=True):
        if needs is None:
            continue
        params = {**notebook_defaults(path), **passed}
        data = params.get(DATA_PARAMETER)
        if data is UNKNOWN:
            print(
                f"    {path.name}: the default of {DATA_PARAMETER} is not a literal; its data "
                "needs are not checked"
            )
            continue
        key = repr(data) if data is None or isinstance(data, str | Path) else f"id:{id(data)}"
        if key not in sets:
            sets[key] = _load(data)
            used[key] = f"data: {_data_label(data)}: {data_summary(sets[key])}"
        verdicts[path.name] = check_needs(needs, params, sets[key], DataPlaces.of(data))
    unmet = {name: list(v.unmet) for name, v in verdicts.items() if not v.runnable}
    if not unmet:
        print(f"{'; '.join(used.values())}; the needs of {len(verdicts)} notebook(s) are met")
        for name, v in verdicts.items():
            for line in v.skips:
                print(f"    {name}: {line}")
        return verdicts
    raise _refusal(paths, verdicts, unmet, list(used.values()), rerun)


def _load(data: Any) -> Any:
    from toolkit.data import DataError, load

    try:
        return load(data)
    except DataError as exc:
        raise ReportError(
            f"{DATA_PARAMETER}={_data_label(data)}: {exc} (no notebook was run)"
        ) from None


def _refusal(
    paths: Sequence[Path],
    verdicts: dict[str, Verdict],
    unmet: dict[str, list[str]],
    data_lines: list[str],
    rerun: Callable[[list[Path]], str | None],
) -> DataNeedsError:
    """The error listing, per notebook, what the data lacks, and what it can run."""
    runnable = [p for p in paths if p.name not in unmet]
    n = len(paths)
    lines = [
        f"the data cannot run {len(unmet)} of the {n} notebook{'s' if n != 1 else ''} "
        f"({', '.join(unmet)}); nothing was run",
        *data_lines,
    ]
    for name, reasons in unmet.items():
        lines.append(f"{name}:")
        lines += [f"  {reason}" for reason in reasons]
    command = None
    if runnable:
        lines.append("the data can run:")
        for p in runnable:
            skips = verdicts[p.name].skips if p.name in verdicts else ()
            lines.append(f"  {p.name}" + "".join(f"; {s}" for s in skips))
        command = rerun(runnable)
        if command:
            lines += ["run just those with:", f"  {command}"]
        else:
            lines.append(
                "run just those by passing the same parameters (a list value needs "
                "--parameters-file) with these notebook paths"
            )
    else:
        lines.append("the data can run none of them")
    return DataNeedsError(
        "\n".join(lines), unmet=unmet, runnable=[p.name for p in runnable], command=command
    )
