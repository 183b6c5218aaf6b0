"""The conda environment and pyproject.toml must list the same dependencies."""

import tomllib

import yaml
from conftest import REPO
from packaging.requirements import Requirement


def _normalise(spec: str) -> str:
    req = Requirement(spec)
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name.lower().replace('_', '-')}{extras}{req.specifier}"


def _pyproject() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_normalise(s) for s in specs}


def _environment() -> set[str]:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "python=3.11" in env["dependencies"]
    return {_normalise(s) for s in pip if not s.startswith("-e")}


def test_environment_yml_matches_pyproject():
    only_pyproject = _pyproject() - _environment()
    only_environment = _environment() - _pyproject()
    assert not only_pyproject and not only_environment, (only_pyproject, only_environment)


def test_torch_is_installed_explicitly_before_the_package():
    makefile = (REPO / "Makefile").read_text()
    assert "TORCH_SPEC ?= torch==" in makefile
    assert makefile.index("$(TORCH_SPEC)") < makefile.index('-e ".[dev]"')
