"""Compare a fresh run of a notebook with its committed outputs by meaning, not by bits.

A finding that holds only bit for bit on one CPU with one set of library releases is not
reproducible; one that holds within its stated uncertainty on any machine is. So a fresh
output matches the committed one when

* its **words** are the same: the text with every number replaced by ``#`` and every run of
  white space by one space (verdicts, labels, table headers, ids, the order of a ranking);
* each **number** is within its tolerance of the committed one (the rules below);
* a **figure** has the same traces (type, name, number of points) and the same titles; its
  coordinates are the numbers the notebook prints and checks, or one seed's layout;
* an **error** has the same exception name and message.

Outputs compared: ``stdout`` and the ``text/plain`` of results and displays (the tables), after
nbval's sanitize patterns (``notebooks/sanitize.cfg``: progress bars, timings, paths);
``stderr`` (warnings, progress) and images are not. Cells marked ``# NBVAL_IGNORE_OUTPUT``
(one seed's layout, say) or ``# NBVAL_SKIP`` are not compared, as nbval does.

Tolerance of a number, committed ``a`` against fresh ``b`` (``u``: one unit of the last
digit of the coarser of the two, e.g. 0.01 for ``0.327`` against ``0.32``):

* **Integers** (counts, ranks, ids, sizes): exact. They are exact by construction, or a cell
  says otherwise (below).
* **Decimals** ``0.675``, ``1.38e-07``: ``|a - b| <= u``. The printed value is a rounding of
  a computation on the vectors; a host moves the vectors by ~1e-7 relative, which moves such
  a value across at most one rounding boundary, i.e. by one unit of its last digit.
* **Summaries over seeds** ``m ± s`` (``s`` the sd over ``n`` seeds): the mean within
  ``2 * max(s_a, s_b) + u``, the sd within a factor of 3 (``+ u``). On another host a chaotic
  step (UMAP, one fine-tuning run) may give every seed another outcome; two means over ``n``
  such draws differ by ``s * sqrt(2 / n)`` at one standard error, so ``2 s`` is 4 standard
  errors for ``n = 8`` and more for the notebooks' 10-seed studies. Two sds of 10 draws each
  have a variance ratio distributed as F(9, 9): a factor of 3 in sd (9 in variance) has a
  two-sided probability of 0.3% under that law.
* **Declared per cell**: a line ``# TOLERANCE abs=0.01: <why>`` or ``# TOLERANCE rel=0.05:
  <why>`` in the cell's source widens the tolerance of every plain number of that cell
  (integers too) to at least that much, with the reason next to the code that prints them.

The same rules run in two places: ``notebooks/conftest.py`` puts them into nbval (so
``pytest --nbval notebooks`` passes on any x86-64 host and still fails on a changed finding),
and the project's tests compare each fresh execution with the committed notebook through
:func:`compare_notebooks`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "sanitizer",
    "Tolerance",
    "Difference",
    "parse_tolerance",
    "compare_outputs",
    "compare_notebooks",
    "unchecked_by_nbval",
    "words",
    "numbers",
]

PLOTLY_MIME = "application/vnd.plotly.v1+json"
SD_FACTOR = 3.0  # two sds of 10 draws: P(ratio of sds > 3) = 0.3% (F(9, 9), two-sided)
MEAN_SDS = 2.0  # 4 standard errors of a difference of two 8-seed means

# A number as the notebooks print it: optional sign (ASCII or Unicode minus), digits with
# optional thousands separators, optional decimals, optional exponent. Not inside a word
# (``bm25``, ``q-c343a7``, ``0x7f``): the character before must not be a letter, digit or dot.
_NUMBER = re.compile(
    r"(?<![\w.])[-+\u2212]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])"
)
_PLUS_MINUS = re.compile(r"\s*±\s*")
_TOLERANCE = re.compile(r"^\s*#\s*TOLERANCE\s+(abs|rel)\s*=\s*([0-9.eE+-]+)\s*:\s*(\S.*)$", re.M)


@dataclass(frozen=True)
class Tolerance:
    """A cell's declared tolerance for its plain numbers: ``abs`` or ``rel``, and why."""

    kind: str
    size: float
    why: str

    def of(self, value: float) -> float:
        """The allowed difference for a committed ``value``."""
        return self.size if self.kind == "abs" else self.size * abs(value)


@dataclass(frozen=True)
class Difference:
    """One way a fresh cell's output differs from the committed one."""

    cell: int  # code cell number, from 0 (as nbval counts)
    source: str  # the cell's first source line
    what: str

    def __str__(self) -> str:
        return f"code cell {self.cell} ({self.source!r}): {self.what}"


@dataclass(frozen=True)
class _Number:
    text: str
    value: float
    unit: float  # one unit of the last printed digit
    integer: bool


def sanitizer(config: str | Path) -> Callable[[str], str]:
    """The text transformation nbval applies with ``--nbval-sanitize-with config``.

    Read with nbval's own parser (nbval is a dev dependency: the notebooks' CI check).
    """
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(Path(config).read_text(encoding="utf-8"))

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    return sanitize


def parse_tolerance(source: str) -> Tolerance | None:
    """The ``# TOLERANCE abs|rel=SIZE: why`` line of a cell's source, if any.

    Raises:
        ValueError: The line is there but its size is not a number >= 0 (names the line).
    """
    found = _TOLERANCE.search(source)
    if found is None:
        if re.search(r"^\s*#\s*TOLERANCE\b", source, re.M):
            raise ValueError(
                "a '# TOLERANCE' line must read '# TOLERANCE abs=SIZE: why' or "
                f"'# TOLERANCE rel=SIZE: why'; got {_first_line_with(source, 'TOLERANCE')!r}"
            )
        return None
    kind, size, why = found.groups()
    try:
        value = float(size)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"'# TOLERANCE {kind}={size}': expected a finite size >= 0")
    return Tolerance(kind, value, why.strip())


def _first_line_with(source: str, word: str) -> str:
    return next((line.strip() for line in source.splitlines() if word in line), "")


def _parse_number(text: str) -> _Number:
    plain = text.replace("\u2212", "-").replace(",", "")
    mantissa, _, exponent = plain.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    exp = int(exponent) if exponent else 0
    integer = not decimals and not exponent
    return _Number(text, float(plain), 10.0 ** (exp - decimals), integer)


def words(text: str) -> str:
    """``text`` with each number replaced by ``#`` and white space collapsed: what it says."""
    return " ".join(_NUMBER.sub("#", _PLUS_MINUS.sub(" ± ", text)).split())


def numbers(text: str) -> list[str]:
    """The numbers of ``text`` in order, as printed."""
    return _NUMBER.findall(_PLUS_MINUS.sub(" ± ", text))


def _compare_numbers(ref: str, new: str, tolerance: Tolerance | None) -> list[str]:
    """Why the numbers of ``new`` are not within tolerance of those of ``ref`` (same words)."""
    text = _PLUS_MINUS.sub(" ± ", ref)
    found = list(_NUMBER.finditer(text))
    spans = [m.span() for m in found]
    a = [_parse_number(m.group()) for m in found]
    b = [_parse_number(t) for t in numbers(new)]
    # which numbers are the mean / the sd of an "m ± s"
    role = ["plain"] * len(a)
    for i in range(len(a) - 1):
        between = text[spans[i][1] : spans[i + 1][0]]
        if between == " ± ":
            role[i], role[i + 1] = "mean", "sd"
    problems = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        unit = max(x.unit, y.unit)
        if role[i] == "mean":
            sd = max(a[i + 1].value, b[i + 1].value)
            allowed = MEAN_SDS * sd + unit
            rule = f"mean of m ± s: {MEAN_SDS:g} sd + one printed unit"
        elif role[i] == "sd":
            lo, hi = sorted((x.value, y.value))
            if hi <= SD_FACTOR * lo + unit:
                continue
            problems.append(
                f"sd {x.text} -> {y.text}: more than a factor of {SD_FACTOR:g} apart "
                f"(+ one printed unit, {unit:g})"
            )
            continue
        else:
            allowed = 0.0 if (x.integer and y.integer) else unit
            rule = "integer: exact" if allowed == 0 else "one unit of the last printed digit"
            if tolerance is not None and tolerance.of(x.value) > allowed:
                allowed = tolerance.of(x.value)
                rule = f"declared {tolerance.kind}={tolerance.size:g}: {tolerance.why}"
        diff = abs(x.value - y.value)
        if diff > allowed * (1 + 1e-9):
            problems.append(
                f"{x.text} -> {y.text}: differs by {diff:.3g}, allowed {allowed:.3g} ({rule})"
            )
    return problems


def _texts(outputs: Iterable[Mapping[str, Any]], sanitize: Callable[[str], str]) -> list[str]:
    """The stdout (joined) and text/plain of results and displays, sanitized, in output order."""
    texts: list[str] = []
    stdout_at = None
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            if out.get("name") != "stdout":
                continue
            chunk = _join(out.get("text", ""))
            if stdout_at is None:
                stdout_at = len(texts)
                texts.append(chunk)
            else:  # nbval coalesces streams the same way: one stdout per cell
                texts[stdout_at] += chunk
        elif kind in ("execute_result", "display_data"):
            plain = out.get("data", {}).get("text/plain")
            if plain is not None:
                texts.append(_join(plain))
        elif kind == "error":
            texts.append(f"ERROR {out.get('ename')}: {out.get('evalue')}")
    return [sanitize(t) for t in texts]


def _join(text: str | Sequence[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


def _figures(outputs: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """Per plotly figure: its traces (type, name, number of points) and its titles."""
    figures = []
    for out in outputs:
        fig = out.get("data", {}).get(PLOTLY_MIME)
        if not isinstance(fig, Mapping):
            continue
        desc = []
        for trace in fig.get("data", []):
            n = _length(trace.get("x", trace.get("z", trace.get("y"))))
            desc.append(f"figure trace {trace.get('type', 'scatter')} {trace.get('name')!r} n={n}")
        layout = fig.get("layout", {})
        for key in sorted(layout):
            if key == "title" or key.startswith(("xaxis", "yaxis")):
                title = layout[key].get("title") if key != "title" else layout[key]
                text = title.get("text") if isinstance(title, Mapping) else title
                if text:
                    desc.append(f"{key} title {words(str(text))!r}")
        figures.append(desc)
    return figures


def _length(values: Any) -> int | None:
    if isinstance(values, Mapping):  # plotly's typed array: {"dtype": .., "bdata": .., "shape"}
        shape = values.get("shape")
        if shape is not None:
            return int(str(shape).split(",")[0])
        import base64

        size = {"f8": 8, "f4": 4, "i4": 4, "i2": 2, "i1": 1, "u1": 1, "u2": 2, "u4": 4}
        return len(base64.b64decode(values.get("bdata", ""))) // size.get(values.get("dtype"), 1)
    return len(values) if isinstance(values, list) else None


def compare_outputs(
    ref: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    *,
    source: str = "",
    sanitize: Callable[[str], str] = lambda s: s,
) -> list[str]:
    """Why a cell's fresh outputs ``new`` do not mean what its committed ``ref`` did.

    Args:
        ref: The committed outputs of one code cell (nbformat output dicts).
        new: The fresh outputs of the same cell.
        source: The cell's source (its ``# TOLERANCE`` line, if any, is used).
        sanitize: Applied to every text first (nbval's patterns).

    Returns:
        One sentence per difference; empty when the outputs agree.
    """
    tolerance = parse_tolerance(source)
    problems = []
    # a figure is compared as the text that describes it (numbers in trace names get their
    # tolerance like any printed number)
    a = _texts(ref, sanitize) + ["\n".join(f) for f in _figures(ref)]
    b = _texts(new, sanitize) + ["\n".join(f) for f in _figures(new)]
    if len(a) != len(b):
        problems.append(f"{len(a)} outputs committed, {len(b)} now")
    for ta, tb in zip(a, b, strict=False):
        if words(ta) != words(tb):
            problems.append(_word_difference(ta, tb))
            continue
        problems += _compare_numbers(ta, tb, tolerance)
    return problems


def _word_difference(a: str, b: str) -> str:
    wa, wb = words(a).split(" "), words(b).split(" ")
    pairs = enumerate(zip(wa, wb, strict=False))
    i = next((k for k, (x, y) in pairs if x != y), min(len(wa), len(wb)))
    return (
        f"words differ at word {i + 1}: committed {' '.join(wa[max(0, i - 6) : i + 6])!r}, "
        f"now {' '.join(wb[max(0, i - 6) : i + 6])!r}"
    )


def unchecked_by_nbval(cell: Mapping[str, Any]) -> bool:
    """Whether nbval leaves the cell's outputs unchecked, by nbval's own reading of the cell.

    A marker counts only as a whole comment line (``# NBVAL_IGNORE_OUTPUT``, nothing after it)
    or as a cell tag; a comment overrides a tag, as in nbval.
    """
    from nbval.plugin import find_comment_markers, find_metadata_tags

    options = dict(find_metadata_tags(cell.get("metadata", {})))
    options.update(find_comment_markers(_join(cell.get("source", ""))))
    return options.get("check") is False or options.get("skip") is True


def _code_cells(nb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        c for c in nb["cells"]
        if c["cell_type"] == "code"
        and "injected-parameters" not in c.get("metadata", {}).get("tags", [])
    ]


def compare_notebooks(
    new: str | Path | Mapping[str, Any],
    ref: str | Path | Mapping[str, Any],
    *,
    sanitize: Callable[[str], str] = lambda s: s,
) -> list[Difference]:
    """Every difference in meaning between a fresh execution ``new`` and the committed ``ref``.

    Code cells are paired in order (papermill's injected-parameters cell is left out);
    cells marked ``NBVAL_IGNORE_OUTPUT`` / ``NBVAL_SKIP`` (comment or tag) in the committed
    notebook are not compared, and an error in any fresh cell is always a difference.

    Args:
        new: Path of, or the parsed JSON of, the fresh executed notebook.
        ref: Path of, or the parsed JSON of, the committed notebook.
        sanitize: Applied to every text first (nbval's patterns).
    """
    nb_new, nb_ref = (_read(x) for x in (new, ref))
    cells_new, cells_ref = _code_cells(nb_new), _code_cells(nb_ref)
    if len(cells_new) != len(cells_ref):
        return [Difference(-1, "", f"{len(cells_ref)} code cells committed, {len(cells_new)} now")]
    found = []
    for i, (cn, cr) in enumerate(zip(cells_new, cells_ref, strict=True)):
        source = _join(cr.get("source", ""))
        first = source.strip().splitlines()[0] if source.strip() else ""
        errors = [o for o in cn.get("outputs", []) if o.get("output_type") == "error"]
        if errors and not any(o.get("output_type") == "error" for o in cr.get("outputs", [])):
            e = errors[0]
            found.append(Difference(i, first, f"raised {e.get('ename')}: {e.get('evalue')}"))
            continue
        if unchecked_by_nbval(cr):
            continue
        for what in compare_outputs(cr.get("outputs", []), cn.get("outputs", []),
                                    source=source, sanitize=sanitize):
            found.append(Difference(i, first, what))
    return found


def _read(nb: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(nb, Mapping):
        return nb
    return json.loads(Path(nb).read_text(encoding="utf-8"))
