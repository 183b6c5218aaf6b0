"""The package's shape, read from its source: arrows one way, public names only, rooms of a size.

* no import cycle among ``toolkit`` modules, counting the imports made inside functions and
  under ``TYPE_CHECKING`` (an arrow is an arrow, whenever Python follows it);
* no ``from toolkit.x import _name`` across modules: what two modules share has a public name;
* no module over 800 lines;
* every package exports its public names with ``__all__``, and every ``toolkit.…`` name the
  README and docs/ mention imports from the place they give.

Each check is a function over a folder, so the tests below also run it on a small made-up
package with the fault in it, to show it still sees one.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 800


def _modules(root: Path) -> dict[str, Path]:
    """``{dotted name: file}`` for every module under ``root`` (a package folder)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """``(target module, imported names, line)`` for every import of a package module in ``path``.

    ``from a.b import c`` points at the module ``a.b.c`` when there is one, else at ``a.b``.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base not in known:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((sub, [], node.lineno) if sub in known
                           else (base, [alias.name], node.lineno))
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: modules it imports}`` inside the package at ``root``."""
    known = _modules(root)
    return {name: {t for t, _, _ in _imports(name, path, known) if t != name}
            for name, path in known.items()}


def import_cycles(root: Path) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def private_imports(root: Path) -> list[str]:
    """``file:line imports _name from module`` for every underscore name taken across modules.

    A module whose own name starts with ``_`` may be imported for its public names
    (``from toolkit._validation import check_int``), but not itself as a name
    (``from toolkit import _config``).
    """
    known = _modules(root)
    found = []
    for name, path in known.items():
        for target, names, line in _imports(name, path, known):
            if names:  # from module import names
                source, taken = target, names
            else:  # from package import submodule
                source, _, last = target.rpartition(".")
                taken = [last]
            for n in taken:
                if n.startswith("_") and not n.startswith("__") and target != name:
                    where = f"{path.relative_to(root.parent)}:{line}"
                    found.append(f"{where} imports {n} from {source}")
    return found


def oversized(root: Path, limit: int = MAX_LINES) -> list[str]:
    return [f"{p.relative_to(root.parent)}: {n} lines" for p in sorted(root.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit]


# ------------------------------------------------------------------------------- the toolkit


def test_the_toolkit_has_no_import_cycle():
    assert import_cycles(REPO / "toolkit") == []


def test_no_module_imports_another_modules_private_name():
    assert private_imports(REPO / "toolkit") == []


def test_no_module_is_over_800_lines():
    assert oversized(REPO / "toolkit") == []


# -------------------------------------------------------- the checks still see a fault


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_a_cycle_through_a_lazy_import_is_found(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from pkg.b import f\n",
        "b.py": "def f():\n    from pkg.sub import c\n",
        "sub/__init__.py": "",
        "sub/c.py": "from .. import a\n",  # relative, three modules round
        "d.py": "from pkg import a\n",  # an arrow into the cycle, not part of it
    })
    assert import_cycles(root) == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    (root / "sub" / "c.py").write_text("", encoding="utf-8")
    assert import_cycles(root) == []


def test_a_private_name_across_modules_is_found(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "",
        "_util.py": "def helper():\n    pass\n\ndef _secret():\n    pass\n",
        "a.py": "from pkg._util import helper\n",  # public name of a private module: fine
        "b.py": "def f():\n    from pkg._util import _secret\n",
        "c.py": "from pkg import _util\n",
    })
    assert private_imports(root) == [
        "pkg/b.py:2 imports _secret from pkg._util",
        "pkg/c.py:1 imports _util from pkg",
    ]


def test_an_oversized_module_is_found(tmp_path):
    root = _package(tmp_path, {"__init__.py": "", "big.py": "x = 1\n" * (MAX_LINES + 1)})
    assert oversized(root) == [f"pkg/big.py: {MAX_LINES + 1} lines"]


# ------------------------------------------------------------------- public names, documented


def _packages() -> list[str]:
    import toolkit

    return ["toolkit"] + [m.name for m in pkgutil.walk_packages(toolkit.__path__, "toolkit.")
                          if m.ispkg]


@pytest.mark.parametrize("package", _packages())
def test_every_package_exports_its_public_names(package):
    module = importlib.import_module(package)
    assert isinstance(getattr(module, "__all__", None), list), f"{package} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []


def _top_level_names() -> list[str]:
    root = REPO / "toolkit"
    return sorted({p.stem for p in root.glob("[a-z]*.py")} | {p.name for p in root.iterdir()
                   if (p / "__init__.py").is_file()})


# `toolkit.x.y`, or `x.y` where x is one of the toolkit's modules (the docs' short form)
MODULE = "|".join(_top_level_names())
DOTTED = re.compile(rf"`((?:toolkit\.)?(?:{MODULE})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
FROM_IMPORT = re.compile(r"^\s*from (toolkit(?:\.\w+)*) import ([\w, ]+)$", re.M)


def documented_names() -> list[str]:
    """Every toolkit name the README and docs/ write: dotted code spans and ``from … import``."""
    found = set()
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        found |= {m if m.startswith("toolkit.") else f"toolkit.{m}"
                  for m in DOTTED.findall(text) if not m.endswith(".py")}  # a file, not a name
        for module, names in FROM_IMPORT.findall(text):
            found |= {f"{module}.{n.strip()}" for n in names.split(",") if n.strip()}
    return sorted(found)


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and follow the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_every_documented_name_imports_from_its_documented_place():
    names = documented_names()
    assert len(names) > 25  # the docs do name the toolkit's parts
    broken = []
    for name in names:
        try:
            resolve(name)
        except (ImportError, AttributeError) as exc:
            broken.append(f"{name}: {exc}")
    assert broken == []


def test_a_name_the_code_no_longer_has_is_reported():
    with pytest.raises(AttributeError):
        resolve("toolkit.metrics.no_such_metric")
    with pytest.raises(ModuleNotFoundError):
        resolve("toolkitx.nothing")
