"""Each notebook's data needs: declared in its metadata, checked before the report runs anything.

``build_report`` loads the data the notebooks will get (``DATA``, else the demo set) and
compares it with each notebook's ``metadata["toolkit"]["needs"]``; a notebook the data cannot
run stops the report before any notebook executes, with what is missing, how to supply it,
the notebooks the data can run and the command that runs just those.

The tests run on copies of the project's notebooks with their own declarations (they are
never executed here).
The data is the worked example of docs/data.md (built from the docs' own commands), a
six-title folder without ``topic``/``ipc`` fields, and the demo set with a change.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from toolkit import data
from toolkit.__main__ import main
from toolkit.report import DataNeedsError, build_report, read_needs
from toolkit.report import build as report_build
from toolkit.report.data_check import check_data

REPO = Path(__file__).resolve().parents[1]
NAMES = [
    "01_embedding_space",
    "02_finetuning_reproduction",
    "03_patent_clusters",
    "04_query_title_alignment",
    "05_explorer",
]

def _copies(folder: Path, names=NAMES, needs: dict | None = None) -> list[Path]:
    """Copies of the project's notebooks in ``folder``; ``needs`` replaces a declaration."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        nb = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        if needs and name in needs:
            nb["metadata"]["toolkit"]["needs"] = copy.deepcopy(needs[name])
        path = folder / f"{name}.ipynb"
        path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        out.append(path)
    return out


def _docs_example(cwd: Path) -> Path:
    """``my_set/`` made by the commands of docs/data.md's worked example, run in ``cwd``."""
    text = (REPO / "docs" / "data.md").read_text(encoding="utf-8")
    block = text[text.index("A minimal worked example"):]
    block = block[block.index("```bash") + 7:]
    block = block[: block.index("```")]
    commands = [line for line in block.splitlines() if line.startswith(("mkdir ", "printf "))]
    assert len(commands) == 4, commands  # mkdir and the three CSV files
    subprocess.run(["bash", "-ec", "\n".join(commands)], cwd=cwd, check=True)
    return cwd / "my_set"


def _six_titles(cwd: Path) -> Path:
    """Six titles without ``topic`` (or ``ipc``), two train, one dev and three test queries."""
    folder = cwd / "six"
    folder.mkdir()
    titles = ["Робот для доставки посылок", "Способ шифрования данных",
              "Солнечная панель для крыши", "Ветрогенератор с вертикальной осью",
              "Фильтр для очистки воды", "Замок с биометрическим датчиком"]
    (folder / "corpus.csv").write_text(
        "doc_id,title\n" + "".join(f"d{i},{t}\n" for i, t in enumerate(titles, 1)),
        encoding="utf-8",
    )
    splits = ["train", "train", "dev", "test", "test", "test"]
    queries = ["доставка роботом", "шифрование", "солнечные батареи", "ветряк",
               "очистка воды", "биометрический замок"]
    (folder / "queries.csv").write_text(
        "query_id,text,split\n"
        + "".join(
            f"q{i},{q},{s}\n" for i, (q, s) in enumerate(zip(queries, splits, strict=True), 1)
        ),
        encoding="utf-8",
    )
    (folder / "qrels.csv").write_text(
        "query_id,doc_id,relevance\n" + "".join(f"q{i},d{i},2\n" for i in range(1, 7)),
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail the test if any notebook is executed."""

    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook ran before the data needs were checked")

    monkeypatch.setattr(report_build, "_run_one", must_not_run)


def _refused(tmp_path, monkeypatch, folder_name: str) -> tuple[DataNeedsError, list[Path]]:
    monkeypatch.chdir(tmp_path)
    notebooks = [p.relative_to(tmp_path) for p in _copies(tmp_path / "nb")]
    with pytest.raises(DataNeedsError) as info:
        build_report(Path("reports"), notebooks, parameters={"DATA": folder_name})
    assert not (tmp_path / "reports").exists()  # nothing written: no index, no plotly.js
    print(info.value)  # shown with -s: the refusal as a user reads it
    return info.value, notebooks


# --- the docs' worked example ------------------------------------------------------------


def test_docs_example_is_refused_before_anything_runs(tmp_path, monkeypatch, nothing_runs):
    _docs_example(tmp_path)
    err, _ = _refused(tmp_path, monkeypatch, "my_set/")
    msg = str(err)
    assert err.summary == (
        "the data cannot run 3 of the 5 notebooks (01_embedding_space.ipynb, "
        "02_finetuning_reproduction.ipynb, 03_patent_clusters.ipynb); nothing was run"
    )
    assert list(err.unmet) == [f"{n}.ipynb" for n in NAMES[:3]]
    assert err.runnable == ["04_query_title_alignment.ipynb", "05_explorer.ipynb"]
    (nb01,), (nb02, nb02_cv), (nb03,) = err.unmet.values()
    assert nb01.startswith("needs at least 11 titles (the hubness table") and "has 3" in nb01
    assert "add titles to corpus.csv" in nb01
    assert nb02.startswith("needs a split 'train' with at least 8 (query, relevant title) pairs")
    assert "the data has dev, test: in queries.csv give queries split=train" in nb02
    assert "relevant titles in qrels.csv" in nb02
    assert nb02_cv.startswith(
        "needs at least 3 queries with a relevant title in split 'test' (FOLDS=3: the "
        "cross-validation cuts these queries into FOLDS folds), has 2:"
    )
    assert nb03.startswith("needs at least 10 titles (2 × MIN_CLUSTER_SIZE=5: HDBSCAN must")
    assert nb03.endswith("or pass a smaller -p MIN_CLUSTER_SIZE")
    assert "data: " + str(tmp_path / "my_set") + ": 3 titles;" in msg
    assert "dev 1, test 2" in msg
    # 04 runs without IPC sections and topics and says which parts it skips
    assert re.search(r"^  04_query_title_alignment\.ipynb; skips the count of wrong top-1 .*"
                     r"no 'ipc' field in corpus\.csv; skips the kinds of wrong top-1 titles .*"
                     r"no 'topic' field in corpus\.csv$", msg, re.M)
    assert err.command == (
        "python -m toolkit report -p DATA=my_set/ nb/04_query_title_alignment.ipynb "
        "nb/05_explorer.ipynb"
    )
    assert msg.endswith("run just those with:\n  " + err.command)


def test_cli_prints_the_refusal_and_one_error_line(tmp_path, monkeypatch, nothing_runs, capsys):
    _docs_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    notebooks = [str(p.relative_to(tmp_path)) for p in _copies(tmp_path / "nb")]
    assert main(["report", "-p", "DATA=my_set/", *notebooks]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("error: the data cannot run 3 of the 5")
    assert "02_finetuning_reproduction.ipynb:\n  needs a split 'train'" in out
    assert out.rstrip().endswith("nb/04_query_title_alignment.ipynb nb/05_explorer.ipynb")
    assert not (tmp_path / "reports").exists()


def test_the_printed_command_runs_exactly_the_runnable_ones(tmp_path, monkeypatch):
    """The command of the refusal passes the check (and would run 04 and 05 only)."""
    _docs_example(tmp_path)
    err, _ = _refused(tmp_path, monkeypatch, "my_set/")
    ran = []

    def fake_run(nb_path, out_dir, parameters, kernel_name, timeout):
        ran.append(nb_path.name)
        return report_build.Entry(nb_path.name, nb_path.stem, 0.1, "ok")

    monkeypatch.setattr(report_build, "_run_one", fake_run)
    argv = err.command.split()[3:]  # after "python -m toolkit"
    assert main(argv) == 0
    assert ran == err.runnable


# --- six titles, no topic ----------------------------------------------------------------


def test_six_titles_without_topic(tmp_path, monkeypatch, nothing_runs):
    _six_titles(tmp_path)
    err, _ = _refused(tmp_path, monkeypatch, "six")
    assert list(err.unmet) == [f"{n}.ipynb" for n in NAMES[:3]]
    assert err.unmet["01_embedding_space.ipynb"] == [
        "needs at least 11 titles (the hubness table counts each title's 10 nearest titles), "
        "has 6: add titles to corpus.csv"
    ]
    assert err.unmet["02_finetuning_reproduction.ipynb"][0].startswith(
        "needs at least 8 (query, relevant title) pairs in split 'train' (the card's"
    )
    assert ", has 2: in queries.csv give queries split=train" in str(err)
    assert err.unmet["03_patent_clusters.ipynb"][0].startswith("needs at least 10 titles")
    assert err.runnable == ["04_query_title_alignment.ipynb", "05_explorer.ipynb"]
    assert "  04_query_title_alignment.ipynb; skips the count of wrong top-1" in str(err)
    assert err.command == (
        "python -m toolkit report -p DATA=six nb/04_query_title_alignment.ipynb "
        "nb/05_explorer.ipynb"
    )


def test_missing_optional_field_is_one_printed_line_not_a_refusal(tmp_path, capsys):
    """Enough titles but no topic/ipc: 01 and 03 run, each says which section it skips."""
    rs = data.demo()
    bare = data.RetrievalSet(
        queries=dict(rs.queries), corpus=dict(rs.corpus), qrels=dict(rs.qrels),
        splits={k: list(v) for k, v in rs.splits.items()},
    )
    paths = _copies(tmp_path, ["01_embedding_space", "03_patent_clusters"])
    verdicts = check_data(paths, [{"DATA": bare}] * 2, rerun=lambda r: None)
    assert all(v.runnable for v in verdicts.values())
    out = capsys.readouterr().out
    assert "the needs of 2 notebook(s) are met" in out
    assert "    01_embedding_space.ipynb: skips the share of the 3 nearest titles" in out
    assert "no 'topic' or 'ipc' field in the set's fields" in out
    assert out.count("03_patent_clusters.ipynb: skips") == 2  # IPC sections, topics


# --- the demo set, and a real change to it ------------------------------------------------


def test_the_demo_set_meets_every_notebooks_needs(tmp_path, capsys):
    paths = _copies(tmp_path)
    verdicts = check_data(paths, [{} for _ in paths], rerun=lambda r: None)
    assert list(verdicts) == [f"{n}.ipynb" for n in NAMES]
    assert all(v.runnable and not v.skips for v in verdicts.values())
    out = capsys.readouterr().out
    assert out.startswith("data: the demo set: 350 titles;")
    assert out.rstrip().endswith("the needs of 5 notebook(s) are met")


def test_the_demo_set_without_its_train_split_is_refused_for_02(tmp_path):
    rs = data.demo()
    no_train = rs.with_splits({k: v for k, v in rs.splits.items() if k != "train"})
    paths = _copies(tmp_path)
    with pytest.raises(DataNeedsError) as info:
        check_data(paths, [{"DATA": no_train}] * 5, rerun=lambda r: "CMD")
    err = info.value
    assert list(err.unmet) == ["02_finetuning_reproduction.ipynb"]
    assert err.unmet["02_finetuning_reproduction.ipynb"] == [
        "needs a split 'train' with at least 8 (query, relevant title) pairs (the card's as-run "
        "recipe sizes its lr schedule in whole batches of 8 pairs, as fit() does: with fewer its "
        "lr stays 0); the data has test, excluded, dev: in the set's splits give queries "
        "split=train, with their relevant titles in the set's qrels"
    ]
    assert err.command == "CMD" and len(err.runnable) == 4


def test_needs_follow_the_parameters(tmp_path):
    """MIN_CLUSTER_SIZE, METHOD, SPLIT and CV_SPLITS/FOLDS change what is needed."""
    paths = _copies(tmp_path, ["02_finetuning_reproduction", "03_patent_clusters",
                               "04_query_title_alignment"])
    given = [{"FOLDS": 30, "CV_SPLITS": ["dev"]}, {"MIN_CLUSTER_SIZE": 200},
             {"SPLIT": "holdout"}]
    with pytest.raises(DataNeedsError) as info:
        check_data(paths, given, rerun=lambda r: None)
    unmet = info.value.unmet
    assert unmet["02_finetuning_reproduction.ipynb"] == [
        "needs at least 30 queries with a relevant title in split 'dev' (FOLDS=30: the "
        "cross-validation cuts these queries into FOLDS folds), has 21: in queries.csv give "
        "queries split=dev, with their relevant titles in qrels.csv"
    ]
    assert unmet["03_patent_clusters.ipynb"][0].startswith(
        "needs at least 400 titles (2 × MIN_CLUSTER_SIZE=200: HDBSCAN must find"
    )
    assert unmet["04_query_title_alignment.ipynb"][0].endswith(
        "or pass -p SPLIT=<one of: train, test, excluded, dev>"
    )
    assert info.value.command is None and "the data can run none of them" in str(info.value)
    # a rule that does not apply to the parameters is not checked
    check_data(paths[1:2], [{"METHOD": "kmeans", "MIN_CLUSTER_SIZE": 200}], rerun=lambda r: None)
    check_data(paths[:1], [{"RECIPES": ["card_as_run"], "FOLDS": 30}], rerun=lambda r: None)


def test_an_unsplit_pairs_file_runs_04_but_not_02(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "query,title\n" + "".join(f"запрос {i},Заголовок номер {i}\n" for i in range(12)),
        encoding="utf-8",
    )
    paths = _copies(tmp_path / "nb", ["02_finetuning_reproduction", "04_query_title_alignment"])
    with pytest.raises(DataNeedsError) as info:
        check_data(paths, [{"DATA": str(pairs)}] * 2, rerun=lambda r: None)
    assert list(info.value.unmet) == ["02_finetuning_reproduction.ipynb"]
    first = info.value.unmet["02_finetuning_reproduction.ipynb"][0]
    assert "the data has no splits: in the split column of pairs.csv give queries" in first


# --- a malformed declaration names the notebook and the key --------------------------------


@pytest.mark.parametrize(
    "needs, error, fragment",
    [
        ({"title": []}, ValueError, "metadata toolkit.needs: unknown key 'title'; expected one "
                                    "of titles, queries, fields"),
        ({"titles": [{"min": "11"}]}, TypeError,
         "metadata toolkit.needs.titles[0].min must be an integer, got '11'"),
        ({"titles": {"min": 11}}, TypeError,
         "metadata toolkit.needs.titles must be a JSON array, got an object"),
        ({"queries": [{"split": "train", "min": 2, "spilt": "x"}]}, ValueError,
         "queries[0]: unknown key 'spilt'"),
        ({"queries": [{"min": 2}]}, ValueError, "queries[0]: give exactly one of 'split'"),
        ({"queries": [{"split_param": "SPLITS", "min": 1}]}, ValueError,
         "queries[0].split_param: 'SPLITS' is not declared in the notebook's parameters cell"),
        ({"fields": [{"any_of": "topic", "skips": "x"}]}, TypeError,
         "fields[0].any_of must be a JSON array, got a string"),
        ([], TypeError, "metadata toolkit.needs must be a JSON object, got an array"),
    ],
)
def test_bad_declaration_is_an_error_naming_the_notebook(
    tmp_path, nothing_runs, needs, error, fragment
):
    paths = _copies(tmp_path, ["04_query_title_alignment", "05_explorer"],
                    needs={"04_query_title_alignment": needs})
    with pytest.raises(error) as info:
        build_report(tmp_path / "reports", paths)
    assert str(info.value).startswith("04_query_title_alignment.ipynb: metadata toolkit")
    assert fragment in str(info.value)
    assert not (tmp_path / "reports").exists()


def test_every_notebook_declares_valid_needs():
    for name in NAMES:  # read_needs checks the schema and that every parameter named exists
        assert read_needs(REPO / "notebooks" / f"{name}.ipynb") is not None, name


def test_notebooks_without_a_declaration_load_no_data(tmp_path, monkeypatch):
    """Fixture notebooks (no toolkit.needs) are not checked: a broken DATA is not even read."""
    cell = nbformat.v4.new_code_cell("DATA = None", metadata={"tags": ["parameters"]})
    nb = nbformat.v4.new_notebook(cells=[cell])
    path = tmp_path / "01_x.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    assert check_data([path], [{"DATA": str(tmp_path / "missing")}], rerun=lambda r: None) == {}
    assert read_needs(path) is None


def test_required_and_partly_filled_fields():
    from toolkit.report import check_needs
    from toolkit.report.needs import parse_needs

    rs = data.RetrievalSet(
        queries={"q1": "замок"}, corpus={"d1": "ЗАМОК", "d2": "КЛЮЧ"}, qrels={"q1": {"d1": 2}},
        doc_fields={"ipc": {"d1": "E"}},
    )
    needs = parse_needs(
        {"fields": [{"any_of": ["ipc"], "every_title": True, "why": "the IPC table"},
                    {"any_of": ["topic"], "skips": "the topic section"}]},
        "t.ipynb: metadata toolkit.needs",
    )
    verdict = check_needs(needs, {}, rs)
    assert verdict.unmet == (
        "needs a 'ipc' field (the IPC table): only 1 of 2 titles have a 'ipc' value; give every "
        "title one in a ipc column of corpus.csv",
    )
    assert verdict.skips == ("skips the topic section: no 'topic' field in corpus.csv",)
    assert not verdict.runnable
