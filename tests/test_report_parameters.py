"""``python -m toolkit report -p NAME=VALUE``: typing, validation before running, and records.

The rule: a name that no selected notebook declares in its ``parameters`` cell is an error
(raised before anything runs, naming the name and every notebook's parameters); a name that
only some declare is passed to those only, and the progress lines and the index say so.
Two tiny notebooks are executed once per module; the real project notebooks are never run.
"""

from __future__ import annotations

import contextlib
import io

import nbformat
import pytest
from bs4 import BeautifulSoup

from toolkit import report
from toolkit.__main__ import main
from toolkit.report import ReportError, build_report, parse_parameter
from toolkit.report import build as report_build

MODEL = "ai-forever/sbert_large_nlu_ru"


def _notebook(path, parameters_src, *cells):
    """A notebook whose first code cell is tagged ``parameters`` (when given)."""
    nb_cells = [nbformat.v4.new_markdown_cell(f"# Tiny {path.stem}")]
    if parameters_src is not None:
        nb_cells.append(
            nbformat.v4.new_code_cell(parameters_src, metadata={"tags": ["parameters"]})
        )
    nb_cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb = nbformat.v4.new_notebook(cells=nb_cells)
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata = {"kernelspec": spec}
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def two_notebooks(tmp_path):
    """01 declares MODEL and N; 02 declares only N; 03 has no parameters cell."""
    a = _notebook(
        tmp_path / "01_a.ipynb", 'MODEL = "default"\nN = 1',
        'print(f"A saw MODEL={MODEL} N={N!r}")',
    )
    b = _notebook(
        tmp_path / "02_b.ipynb", "N = 1",
        "print(f\"B saw N={N!r} MODEL={globals().get('MODEL')}\")",
    )
    return a, b


# --- typing of -p values (papermill's rule) ------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("N_BOOTSTRAP=200", ("N_BOOTSTRAP", 200)),
        ("SEED=-2", ("SEED", -2)),
        ("NOISE=0.25", ("NOISE", 0.25)),
        ("NOISE=1e3", ("NOISE", 1000.0)),
        ("FREEZE=True", ("FREEZE", True)),
        ("FREEZE=False", ("FREEZE", False)),
        ("DATA=None", ("DATA", None)),
        (f"MODEL={MODEL}", ("MODEL", MODEL)),
        ("DATA=dir/a=b.csv", ("DATA", "dir/a=b.csv")),  # split at the first '=' only
        ("DATA=", ("DATA", "")),
        ("SEEDS=[1, 2]", ("SEEDS", "[1, 2]")),  # papermill's -p keeps lists as text
        ("FLAG=true", ("FLAG", "true")),  # only True/False are booleans
    ],
)
def test_values_are_typed_like_papermill_p(text, expected):
    name, value = parse_parameter(text)
    assert (name, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize(
    "text, fragment",
    [("MODEL", "expected NAME=VALUE, got 'MODEL'"), ("1X=2", "'1X' in '1X=2' is not")],
)
def test_bad_parameter_syntax_is_a_value_error(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_parameter(text)


def test_cli_passes_typed_parameters_to_build_report(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_build_report(out_dir, notebooks, parameters, parameters_file=None):
        seen.update(out_dir=out_dir, notebooks=notebooks, parameters=parameters)
        return out_dir / "index.html"

    monkeypatch.setattr(report, "build_report", fake_build_report)
    argv = ["report", "--out", str(tmp_path), "-p", f"MODEL={MODEL}", "-p", "N=3",
            "--parameter", "DATA=d/x=y.csv", "-p", "N=4", "nb.ipynb"]
    assert main(argv) == 0
    assert seen["parameters"] == {"MODEL": MODEL, "N": 4, "DATA": "d/x=y.csv"}  # last N wins
    assert seen["notebooks"] == ["nb.ipynb"]
    monkeypatch.setattr(report, "build_report", fake_build_report)
    assert main(["report", "--out", str(tmp_path)]) == 0
    assert seen["parameters"] is None  # no -p: notebooks run with their own defaults


# --- validation before anything runs -------------------------------------------------------


def test_unknown_name_is_an_error_naming_it_and_each_notebooks_parameters(
    two_notebooks, tmp_path, monkeypatch
):
    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook ran before the parameters were checked")

    monkeypatch.setattr(report_build, "_run_one", must_not_run)
    out = tmp_path / "reports"
    with pytest.raises(ReportError) as info:
        build_report(out, list(two_notebooks), parameters={"N": 2, "MODLE": "x"})
    msg = str(info.value)
    assert msg.startswith("unknown parameter(s) MODLE (did you mean MODEL?)")
    assert "declared are 01_a.ipynb: MODEL, N; 02_b.ipynb: N" in msg
    assert not out.exists()  # nothing written either


def test_notebook_without_parameters_cell_is_listed_as_such(tmp_path):
    bare = _notebook(tmp_path / "01_bare.ipynb", None, "x = 1")
    with pytest.raises(ReportError, match=r"01_bare.ipynb: \(no parameters found\)"):
        build_report(tmp_path / "r", [bare], parameters={"MODEL": MODEL})


def test_cli_unknown_name_is_one_error_line_exit_2(two_notebooks, tmp_path, capsys):
    argv = ["report", "--out", str(tmp_path / "r"), "-p", "DATA=x/", *map(str, two_notebooks)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: unknown parameter(s) DATA:")
    assert "01_a.ipynb: MODEL, N; 02_b.ipynb: N" in err
    assert not (tmp_path / "r").exists()


# --- a real (tiny) run: only-some names, records on the index and in the notebooks --------


@pytest.fixture
def built(two_notebooks, tmp_path):
    out = tmp_path / "reports"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        build_report(out, list(two_notebooks), parameters={"MODEL": MODEL, "N": 3}, timeout=120)
    return out, buf.getvalue()


def _printed(nb):
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def test_name_known_to_some_goes_to_those_only_and_everything_is_recorded(built):
    out, printed = built
    a = nbformat.read(out / "01_a.ipynb", as_version=4)
    b = nbformat.read(out / "02_b.ipynb", as_version=4)
    # what the kernels saw
    assert f"A saw MODEL={MODEL} N=3" in _printed(a)
    assert "B saw N=3 MODEL=None" in _printed(b)
    # papermill's injected cell, inside each executed notebook
    (inj_a,) = [c for c in a.cells if "injected-parameters" in c.metadata.get("tags", [])]
    (inj_b,) = [c for c in b.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert f'MODEL = "{MODEL}"' in inj_a.source and "N = 3" in inj_a.source
    assert "N = 3" in inj_b.source and "MODEL" not in inj_b.source
    # progress says who did not get it
    assert "not declared in 02_b.ipynb, not passed: MODEL" in printed
    assert "01_a.ipynb, not passed" not in printed
    # the index, next to each notebook
    soup = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    rows = [
        [td.get_text(" ", strip=True) for td in r.find_all("td")] for r in soup.select("tbody tr")
    ]
    assert [r[0] for r in rows] == ["01_a.ipynb", "02_b.ipynb"]
    assert f"parameters: MODEL='{MODEL}', N=3" in rows[0][1]
    assert "not passed" not in rows[0][1]
    assert "parameters: N=3" in rows[1][1] and "MODEL='" not in rows[1][1]
    assert "not declared here, not passed: MODEL" in rows[1][1]
    # the HTML page of the executed notebook shows the injected cell
    page = BeautifulSoup((out / "01_a.html").read_text(encoding="utf-8"), "html.parser")
    text = page.get_text()
    assert "# Parameters" in text and f'MODEL = "{MODEL}"' in text and "N = 3" in text


# --- --parameters-file (papermill's -f) ----------------------------------------------------


def test_yaml_and_json_files_keep_their_types(tmp_path):
    yml = tmp_path / "params.yaml"
    yml.write_text(
        "MODEL: vectors.parquet\nSEEDS: [0, 1]\nN: 3\nNOISE: 0.5\nDATA: null\n"
        "GRID: {lr: [0.1]}\nWHEN: 2024-01-02\n",
        encoding="utf-8",
    )
    got = report.read_parameters_file(yml)
    assert got == {
        "MODEL": "vectors.parquet", "SEEDS": [0, 1], "N": 3, "NOISE": 0.5, "DATA": None,
        "GRID": {"lr": [0.1]}, "WHEN": "2024-01-02",  # papermill's loader keeps dates as text
    }
    js = tmp_path / "params.json"
    js.write_text('{"SEEDS": [0, 1], "FLAG": true}', encoding="utf-8")
    assert report.read_parameters_file(js) == {"SEEDS": [0, 1], "FLAG": True}
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    assert report.read_parameters_file(empty) == {}  # as papermill: no parameters


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        ("p.yaml", "- MODEL\n- N\n", "p.yaml: expected a mapping NAME: value at the top level, "
         "got a list"),
        ("p.yaml", "MODEL: [1,\n", "p.yaml, line 2, column 1: invalid YAML"),
        ("p.json", '{"MODEL": 1,}', "p.json, line 1, column 13: invalid JSON"),
        ("p.yaml", "1X: 2\n", "p.yaml: key '1X' is not a parameter name"),
        ("p.yaml", "3: 2\n", "p.yaml: key 3 is not a parameter name"),
        ("p.toml", "MODEL = 1\n", "p.toml: expected a .yaml, .yml or .json file"),
    ],
)
def test_bad_parameters_file_names_the_file_and_key(tmp_path, name, text, fragment):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        report.read_parameters_file(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_missing_parameters_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml: no such file"):
        report.read_parameters_file(tmp_path / "nope.yaml")


def test_unknown_key_in_file_is_named_as_a_key_of_that_file(two_notebooks, tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("MODLE: x\nN: 2\n", encoding="utf-8")
    with pytest.raises(ReportError) as info:
        build_report(tmp_path / "r", list(two_notebooks), parameters_file=path)
    assert str(info.value).startswith(
        f"unknown parameter(s) MODLE (key in {path}; did you mean MODEL?)"
    )
    assert not (tmp_path / "r").exists()


def test_cli_parameters_file_and_p_override(monkeypatch, tmp_path):
    seen = {}

    def fake_build_report(out_dir, notebooks, parameters, parameters_file):
        seen.update(parameters=parameters, parameters_file=parameters_file)
        return out_dir / "index.html"

    monkeypatch.setattr(report, "build_report", fake_build_report)
    assert main(["report", "--out", str(tmp_path), "-f", "a.yaml", "-p", "N=4"]) == 0
    assert seen == {"parameters": {"N": 4}, "parameters_file": "a.yaml"}
    assert main(["report", "--out", str(tmp_path), "--parameters-file", "b.json"]) == 0
    assert seen == {"parameters": None, "parameters_file": "b.json"}


def test_file_values_reach_the_kernel_and_p_overrides_them(two_notebooks, tmp_path, capsys):
    path = tmp_path / "params.yaml"
    path.write_text(f"MODEL: {MODEL}\nN: [1, 2]\n", encoding="utf-8")
    out = tmp_path / "reports"
    argv = ["report", "--out", str(out), "-f", str(path), "-p", "N=7", *map(str, two_notebooks)]
    assert main(argv) == 0
    a = nbformat.read(out / "01_a.ipynb", as_version=4)
    b = nbformat.read(out / "02_b.ipynb", as_version=4)
    assert f"A saw MODEL={MODEL} N=7" in _printed(a)  # -p N=7 beat the file's list
    assert "B saw N=7 MODEL=None" in _printed(b)
    path.write_text("N: [1, 2]\n", encoding="utf-8")
    assert main(["report", "--out", str(out), "-f", str(path), str(two_notebooks[1])]) == 0
    b = nbformat.read(out / "02_b.ipynb", as_version=4)
    assert "B saw N=[1, 2] MODEL=None" in _printed(b)  # a YAML list stays a list


def test_relative_path_from_the_callers_folder_reaches_the_kernel_absolute(
    two_notebooks, tmp_path, monkeypatch, capsys
):
    """The kernels run in the notebook's folder: ``DATA=my_set/`` must still mean ./my_set."""
    caller = tmp_path / "caller"
    (caller / "my_set").mkdir(parents=True)
    monkeypatch.chdir(caller)
    out = tmp_path / "reports"
    argv = ["report", "--out", str(out), "-p", "MODEL=my_set", "-p", "N=2",
            str(two_notebooks[0])]
    assert main(argv) == 0
    a = nbformat.read(out / "01_a.ipynb", as_version=4)
    assert f"A saw MODEL={caller / 'my_set'} N=2" in _printed(a)
    assert "MODEL: relative path(s) made absolute" in capsys.readouterr().out
    # a hub id (no such folder here) and other values pass unchanged
    assert main(["report", "--out", str(out), "-p", f"MODEL={MODEL}", str(two_notebooks[0])]) == 0
    a = nbformat.read(out / "01_a.ipynb", as_version=4)
    assert f"A saw MODEL={MODEL} N=1" in _printed(a)
