"""The notebooks, executed once per plan (tests/notebook_runs.py), say what they committed.

Each fresh execution is compared with the committed notebook by meaning
(``toolkit.notebook_check``: words exact, numbers within their stated tolerances, after
nbval's sanitize patterns), the same comparison ``pytest --nbval notebooks`` makes through
``notebooks/conftest.py``. ``plain`` is the notebook as users run it; ``another-host`` the same
under every host difference measured between the project's machines, which must not change a
finding. Without executing anything, the check is shown to fail on a changed finding.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from notebook_runs import NOTEBOOKS, plans

from toolkit.notebook_check import compare_notebooks, parse_tolerance, sanitizer

REPO = Path(__file__).resolve().parents[1]
sanitize = sanitizer(REPO / "notebooks" / "sanitize.cfg")


def _executed(notebook_runs, plan: str, notebook: Path) -> Path:
    path = notebook_runs.wait()[plan] / notebook.name
    log = notebook_runs.log(plan)[-3000:]
    assert path.is_file(), f"{notebook.name} was not executed ({plan}):\n{log}"
    return path


@pytest.mark.slow
@pytest.mark.parametrize("plan", list(plans()))
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_fresh_execution_means_what_the_committed_notebook_says(notebook_runs, plan, notebook):
    differences = compare_notebooks(_executed(notebook_runs, plan, notebook), notebook,
                                    sanitize=sanitize)
    assert differences == [], "\n".join(map(str, differences))


@pytest.mark.slow
def test_another_host_really_is_another_host(notebook_runs):
    """The simulated host changed the numbers underneath, so the test above means something."""
    runs = notebook_runs.wait()
    a, b = (pd.read_csv(runs[p] / "03_clusters_by_seed.csv", index_col="seed")
            for p in ("plain", "another-host"))
    assert list(a.columns) == list(b.columns) and len(a) == len(b) >= 5
    assert not a.equals(b), "the perturbations changed no UMAP run"


@pytest.mark.slow
def test_notebook_03_seed_means_hold_on_another_host(notebook_runs):
    """Finer than the printed text: every per-seed column's mean within 4 standard errors."""
    runs = notebook_runs.wait()
    a, b = (pd.read_csv(runs[p] / "03_clusters_by_seed.csv", index_col="seed")
            for p in ("plain", "another-host"))
    se = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / len(a))
    gap = (a.mean() - b.mean()).abs()
    bad = gap[gap > 4 * se + 1e-9]
    assert bad.empty, f"means moved by more than 4 standard errors: {bad.to_dict()}"


# --- the check fails when a finding really changes ------------------------------------------


def _committed(name: str) -> dict:
    return json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))


def _edit_stdout(nb: dict, marker: str, old: str, new: str) -> dict:
    """A copy of ``nb`` whose first stdout containing ``marker`` has ``old`` replaced once."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            if out.get("name") == "stdout" and marker in text and old in text:
                out["text"] = text.replace(old, new, 1)
                return nb
    raise AssertionError(f"no stdout with {marker!r} and {old!r}")


CHANGES = [
    # (notebook, a line it prints, old, new): a verdict word flipped
    ("03_patent_clusters.ipynb", "By NMI with the topics", "scores above",
     "scores below"),
    ("02_finetuning_reproduction.ipynb", "tuned: 0.720", "a borderline gain",
     "a significant gain"),
    # a plain decimal moved by 10x its tolerance (one unit of 0.001)
    ("01_embedding_space.ipynb", "default: relevant pairs", "AUC 0.928", "AUC 0.938"),
    # a number in a cell that declares abs=0.005, moved by 10x that
    ("02_finetuning_reproduction.ipynb", "tuned: 0.720", "tuned: 0.720", "tuned: 0.770"),
    # a seed mean moved by 10x its tolerance (2 sd + 0.01 = 0.03 -> 0.3)
    ("03_patent_clusters.ipynb", "By NMI with the IPC sections", "0.33 ± 0.01", "0.63 ± 0.01"),
    # a seed sd 10x larger: beyond the factor of 3
    ("03_patent_clusters.ipynb", "By NMI with the IPC sections", "0.33 ± 0.01", "0.33 ± 0.10"),
    # a count that is exact by construction
    ("01_embedding_space.ipynb", "split 'test'", "63 queries", "64 queries"),
]


@pytest.mark.parametrize(("name", "marker", "old", "new"), CHANGES)
def test_the_check_fails_on_a_changed_finding(name, marker, old, new):
    committed = _committed(name)
    assert compare_notebooks(committed, committed, sanitize=sanitize) == []
    differences = compare_notebooks(_edit_stdout(committed, marker, old, new), committed,
                                    sanitize=sanitize)
    assert len(differences) == 1, differences


def test_the_check_takes_a_number_within_its_tolerance():
    committed = _committed("03_patent_clusters.ipynb")
    # a seed mean moved by less than 2 sd, printed with one digit more (as another host did)
    moved = _edit_stdout(committed, "By NMI with the IPC sections", "0.33 ± 0.01",
                         "0.327 ± 0.009")
    assert compare_notebooks(moved, committed, sanitize=sanitize) == []


def test_a_declared_tolerance_needs_its_reason_and_a_size():
    source = "x = 1\n# TOLERANCE abs=0.02: one fine-tuning run\nprint(x)"
    assert parse_tolerance(source).size == 0.02
    with pytest.raises(ValueError, match="TOLERANCE abs=SIZE: why"):
        parse_tolerance("# TOLERANCE abs=0.02")
    assert parse_tolerance("print(1)") is None


def test_every_notebook_compares_with_itself():
    for notebook in NOTEBOOKS:
        assert compare_notebooks(notebook, notebook, sanitize=sanitize) == [], notebook.name


def test_compare_command_says_which_findings_differ(tmp_path, capsys):
    from toolkit.__main__ import main

    same = tmp_path / "03_patent_clusters.ipynb"
    same.write_text(json.dumps(_committed(same.name)), encoding="utf-8")
    assert main(["compare", str(same)]) == 0
    assert "the same findings as" in capsys.readouterr().out
    changed = tmp_path / "changed" / "01_embedding_space.ipynb"
    changed.parent.mkdir()
    edited = _edit_stdout(_committed(changed.name), "split 'test'", "63 queries", "64 queries")
    changed.write_text(json.dumps(edited), encoding="utf-8")
    assert main(["compare", str(same), str(changed)]) == 1
    out = capsys.readouterr().out
    assert "01_embedding_space.ipynb: differs from" in out and "63 -> 64" in out
    assert main(["compare", str(tmp_path / "missing.ipynb")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_figures_are_compared_by_their_traces_not_their_coordinates():
    committed = _committed("04_query_title_alignment.ipynb")

    def edited(change) -> dict:
        nb = copy.deepcopy(committed)
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                fig = out.get("data", {}).get("application/vnd.plotly.v1+json")
                if fig and fig["data"][0].get("type") == "bar":
                    change(fig)
                    return nb
        raise AssertionError("no bar chart in notebook 04")

    def move_a_bar(fig):
        values = fig["data"][0]["y"]
        assert isinstance(values, list) and values
        fig["data"][0]["y"] = [v + 0.01 for v in values]

    def rename_a_system(fig):
        fig["data"][1]["name"] = "bm25+"

    def drop_a_system(fig):
        del fig["data"][1]

    assert compare_notebooks(edited(move_a_bar), committed, sanitize=sanitize) == []
    for change in (rename_a_system, drop_a_system):
        assert len(compare_notebooks(edited(change), committed, sanitize=sanitize)) == 1


def test_cells_left_unchecked_are_exactly_those_nbval_leaves_unchecked():
    """A marker nbval does not read (``# NBVAL_IGNORE_OUTPUT: why`` on one line) once made the
    check skip cells that nbval compared: nbval failed on another host where the test passed."""
    from nbval.plugin import find_comment_markers, find_metadata_tags

    from toolkit.notebook_check import unchecked_by_nbval

    for notebook in NOTEBOOKS:
        for cell in _committed(notebook.name)["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            options = dict(find_metadata_tags(cell.get("metadata", {})))
            options.update(find_comment_markers(source))
            nbval_skips = options.get("check") is False or options.get("skip") is True
            assert unchecked_by_nbval(cell) == nbval_skips, (notebook.name, source[:80])
            if "NBVAL_IGNORE_OUTPUT" in source:
                assert nbval_skips, f"{notebook.name}: nbval ignores {source[:80]!r}"
    unread = {"source": "# NBVAL_IGNORE_OUTPUT: why\nprint(1)", "metadata": {}}
    assert not unchecked_by_nbval(unread)
