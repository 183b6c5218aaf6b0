"""Packaging: pyproject.toml, environment.yml and the lock agree; torch is installed explicitly."""

import re
import tomllib

import yaml
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

LOCK = REPO / "requirements-lock.txt"


def _normalise(spec: str) -> str:
    req = Requirement(spec)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name.lower().replace('_', '-')}{extras}{req.specifier}"


def _pyproject_specs() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def _environment_specs() -> list[str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "python=3.11" in env["dependencies"]
    return [s for s in pip if not s.startswith("-e")]


def _locked(text: str) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) of a uv/pip-tools lock file."""
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = block.split("\\", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        req = Requirement(head)
        (spec,) = req.specifier  # exactly one "==" per package
        assert spec.operator == "==", head
        pins[canonicalize_name(req.name)] = (Version(spec.version), block.count("--hash=sha256:"))
    return pins


def _makefile_torch() -> Version:
    found = re.search(r"^TORCH_SPEC \?= torch==(\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert found, "the Makefile names torch's version in TORCH_SPEC"
    return Version(found.group(1))


def _unsatisfied(specs: list[str], locked: dict[str, tuple[Version, int]]) -> list[str]:
    bad = []
    for spec in specs:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        version = _makefile_torch() if name == "torch" else locked.get(name, (None, 0))[0]
        if version is None or not req.specifier.contains(version, prereleases=True):
            bad.append(f"{spec}: locked {version}")
    return bad


def test_environment_yml_matches_pyproject():
    pyproject = {_normalise(s) for s in _pyproject_specs()}
    environment = {_normalise(s) for s in _environment_specs()}
    assert pyproject == environment, (pyproject - environment, environment - pyproject)


def test_lock_pins_every_dependency_within_its_range_with_hashes():
    locked = _locked(LOCK.read_text(encoding="utf-8"))
    assert len(locked) > 100  # the whole environment, not only the direct dependencies
    assert "torch" not in locked  # installed from TORCH_SPEC (CPU or CUDA build)
    assert _unsatisfied(_pyproject_specs() + _environment_specs(), locked) == []
    assert all(n_hashes >= 1 for _, n_hashes in locked.values())


def test_the_range_check_fails_on_a_lock_outside_a_range():
    locked = _locked(LOCK.read_text(encoding="utf-8"))
    version, hashes = locked["plotly"]
    locked["plotly"] = (Version("5.0"), hashes)  # plotly>=6.0 in pyproject.toml
    del locked["faiss-cpu"]
    bad = _unsatisfied(_pyproject_specs(), locked)
    assert len(bad) == 2 and bad[0].startswith("plotly") and bad[1].startswith("faiss-cpu")


def test_setup_installs_torch_then_exactly_the_lock():
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile[makefile.index("$(STAMP): pyproject.toml $(LOCK)") :]
    torch_at = recipe.index("$(TORCH_SPEC)")
    lock_at = recipe.index("--no-deps --require-hashes -r $(LOCK)")
    assert torch_at < lock_at < recipe.index("--no-deps -e .")


def test_the_environment_runs_the_locked_versions():
    """What the committed outputs were made with is what runs here (a stale .venv fails)."""
    from importlib.metadata import distributions

    locked = _locked(LOCK.read_text(encoding="utf-8"))
    installed = {canonicalize_name(d.metadata["Name"]): Version(d.version) for d in distributions()}
    off = {
        n: (str(v), str(installed.get(n))) for n, (v, _) in locked.items() if installed.get(n) != v
    }
    assert off == {}, f"installed versions differ from {LOCK.name} (run make setup): {off}"
