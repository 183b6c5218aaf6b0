"""The report (``make report``): papermill execution, offline HTML, index, failure handling.

One report is built per session from two fixture notebooks (one draws plotly figures through
three renderers, one fails half-way); the tests then read it as files and, like a person, in
headless Chromium with DNS switched off.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from browser_helpers import need_browser
from bs4 import BeautifulSoup

from toolkit.report import PLOTLY_JS_NAME, ReportError, build_report, render
from toolkit.report import build as report_build

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
PLOT_NB = FIXTURES / "01_plotly_page.ipynb"
FAIL_NB = FIXTURES / "02_failing.ipynb"
N_FIGURES = 3  # the figure cells in 01_plotly_page.ipynb


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build the report once; return (out_dir, the ReportError raised, printed progress)."""
    out = tmp_path_factory.mktemp("report") / "reports"
    out.mkdir()
    (out / "index.html").write_text("STALE INDEX FROM AN EARLIER RUN")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(ReportError) as err:
        build_report(out, [PLOT_NB, FAIL_NB], parameters={"N_POINTS": 4}, timeout=300)
    return out, err.value, buf.getvalue()


# --- files -------------------------------------------------------------------------------


def test_failure_is_raised_after_the_index_is_written(built):
    out, err, printed = built
    assert "02_failing.ipynb" in str(err) and "01_plotly_page" not in str(err)
    assert (out / "index.html").is_file()
    for name in ("01_plotly_page.ipynb", "02_failing.ipynb"):
        assert re.search(rf"\[\d/2\] {re.escape(name)}: (ok|FAILED) in [\d.]+ s", printed), printed
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


def test_index_has_one_line_per_notebook_with_title_time_status(built):
    out, _, _ = built
    soup = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert "STALE" not in soup.text
    rows = soup.select("tbody tr")
    assert len(rows) == 2
    cells = [[td.get_text(" ", strip=True) for td in row.find_all("td")] for row in rows]
    assert cells[0][0] == "01_plotly_page.ipynb"
    assert "Fixture: bars in a report" in cells[0][1]  # the notebook's H1
    assert re.fullmatch(r"\d+\.\d s", cells[0][2])
    assert cells[0][3] == "ok"
    assert cells[1][0] == "02_failing.ipynb"
    assert "Fixture: this one breaks" in cells[1][1]
    assert cells[1][3].startswith("FAILED") and "fixture failure on purpose" in cells[1][3]
    links = [a["href"] for a in soup.select("tbody a")]
    assert links == [
        "01_plotly_page.html",
        "01_plotly_page.ipynb",
        "02_failing.html",
        "02_failing.ipynb",
    ]
    assert all((out / link).is_file() for link in links)


def test_index_shows_each_notebooks_question_and_findings(built):
    out, _, _ = built
    soup = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    ok, failed = soup.select("section.notebook")
    assert [a["href"] for a in ok.select("h2 a")] == ["01_plotly_page.html", "01_plotly_page.ipynb"]
    # the question: the first paragraph under the H1 of 01_plotly_page.ipynb
    assert ok.select_one(".question").get_text(" ", strip=True) == (
        "A tiny notebook that draws one plotly figure."
    )
    # the findings: the lines of the LAST printing cell under "What we found", as printed
    # (N_POINTS=4 was injected), escaped, the first three shown, the rest behind "1 more"
    shown = [li.get_text() for li in ok.select("h3 + ul.found li")]
    assert shown == [
        "The fixture drew 4 bars.",
        "Its tallest bar is <10> high.",
        "Caveat: a fixture, not a finding.",
    ]
    assert ok.select_one("details summary").get_text() == "1 more"
    assert [li.get_text() for li in ok.select("details li")] == ["A fourth line."]
    assert "a table that is not the findings" not in ok.get_text()
    assert "failed" in failed["class"] and "fixture failure on purpose" in failed.get_text()
    assert failed.select_one(".question") is None  # its first cell has only the H1


def test_findings_and_question_read_from_the_notebook_structure():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nWhat does `x` do?\nSecond line.\n\nMore."),
        nbformat.v4.new_code_cell("print(1)"),
    ]
    assert render.question_of(nb) == "What does `x` do?\nSecond line."
    assert render.findings_of(nb) == ()  # no "What we found" heading
    md = nbformat.v4.new_markdown_cell("## What we found\n\nSentences.")
    found = nbformat.v4.new_code_cell("print(found)")
    found.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="first\n\n"),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="second\n"),
    ]
    nb.cells += [md, found, nbformat.v4.new_code_cell("x = 1")]  # a last cell printing nothing
    assert render.findings_of(nb) == ("first", "second")
    assert render.question_of(nbformat.v4.new_notebook()) == ""


def test_static_png_beside_plotly_json_is_not_embedded_in_the_page():
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4])).to_plotly_json()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    png = (  # a 1 x 1 PNG
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
        "rkJggg=="
    )
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"application/vnd.plotly.v1+json": fig, "image/png": png}
        ),
        nbformat.v4.new_output("display_data", data={"image/png": png}),  # a plain image
    ]
    nb.cells = [cell]
    out = render.plotly_outputs_to_html(nb, "x")
    figure, image = out.cells[0].outputs
    assert "image/png" not in figure["data"] and "plotly-x-0-0" in figure["data"]["text/html"]
    assert image["data"]["image/png"] == png  # images that are not figures stay
    page = render.render_html(nb, "t", "x")
    assert page.count(png) == 1 and "plotly-x-0-0" in page  # only the plain image's copy


def test_parameters_are_injected_and_output_dir_offered(built):
    out, _, _ = built
    nb = nbformat.read(out / "01_plotly_page.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "N_POINTS = 4" in injected[0].source
    assert f'OUTPUT_DIR = "{out.resolve()}"' in injected[0].source
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "N_POINTS=4 OUTPUT_DIR set: True" in printed  # what the kernel saw
    # 02 has no parameters cell: N_POINTS is not one of its parameters, so it is not passed.
    nb2 = nbformat.read(out / "02_failing.ipynb", as_version=4)
    src2 = "".join(c.source for c in nb2.cells)
    assert "N_POINTS" not in src2 and "OUTPUT_DIR" not in src2


def test_failed_notebook_is_kept_as_far_as_it_ran(built):
    out, _, _ = built
    nb = nbformat.read(out / "02_failing.ipynb", as_version=4)
    outputs = {
        c.source: c.outputs for c in nb.cells if c.cell_type == "code" and c.get("outputs")
    }
    assert any("before the error" in o.get("text", "") for o in sum(outputs.values(), []))
    errors = [o for o in sum(outputs.values(), []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]
    assert 'print("never reached")' not in outputs
    page = (out / "02_failing.html").read_text(encoding="utf-8")
    assert "fixture failure on purpose" in page


def test_pages_load_plotly_locally_and_nothing_blocking_from_the_network(built):
    out, _, _ = built
    import plotly

    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (out / PLOTLY_JS_NAME).read_bytes() == bundle.read_bytes()
    page = (out / "01_plotly_page.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    head_scripts = [s.get("src") for s in soup.head.find_all("script") if s.get("src")]
    assert head_scripts[0] == PLOTLY_JS_NAME
    # Any script loaded from elsewhere must not block the page (MathJax is async).
    for s in soup.find_all("script", src=True):
        if s["src"] != PLOTLY_JS_NAME:
            assert s.has_attr("async") or s.get("type") == "module", s
    assert "cdn.plot.ly" not in page
    assert len(soup.select("div.plotly-graph-div")) == N_FIGURES


# --- argument checks and ordering (no kernel needed) -----------------------------------------


def test_bad_notebook_arguments_name_the_problem(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"notebooks\[1\].*missing\.ipynb"):
        build_report(tmp_path / "r", [PLOT_NB, tmp_path / "missing.ipynb"])
    txt = tmp_path / "notes.txt"
    txt.write_text("x")
    with pytest.raises(ValueError, match=r"notebooks\[0\].*\.ipynb"):
        build_report(tmp_path / "r", [txt])
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(PLOT_NB, other / PLOT_NB.name)
    with pytest.raises(ValueError, match="same file name"):
        build_report(tmp_path / "r", [PLOT_NB, other / PLOT_NB.name])
    with pytest.raises(ValueError, match="timeout"):
        build_report(tmp_path / "r", [PLOT_NB], timeout=0)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"NN_|\[0-9\]"):
        build_report(tmp_path / "r")
    assert not (tmp_path / "r" / "index.html").exists()


def test_default_runs_notebooks_nn_sorted_by_name(tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    for name in ("02_b.ipynb", "10_c.ipynb", "01_a.ipynb", "scratch.ipynb", "1_x.ipynb"):
        shutil.copy(FAIL_NB, nbdir / name)
    ran = []

    def fake_run(nb_path, out_dir, parameters, kernel_name, timeout):
        ran.append(nb_path.name)
        return render.Entry(nb_path.name, nb_path.stem, 0.1, "ok")

    monkeypatch.setattr(report_build, "_run_one", fake_run)
    monkeypatch.chdir(tmp_path)
    index = build_report(Path("out"))
    assert ran == ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"]
    assert index == Path("out") / "index.html" and index.is_file()


def test_interrupted_run_leaves_no_index(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.html").write_text("old index")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_build, "_run_one", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_report(out, [PLOT_NB])
    assert not (out / "index.html").exists()


def test_kernel_env_defaults_do_not_override_and_are_restored(monkeypatch, tmp_path):
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    with report_build._kernel_env():
        assert os.environ["TOOLKIT_CACHE_DIR"] == str(tmp_path / "mine")
        assert os.environ["PYTHONHASHSEED"] == "123"
        assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "mine" / "numba")
        assert Path(os.environ["NUMBA_CACHE_DIR"]).is_dir()
    assert "NUMBA_CACHE_DIR" not in os.environ


# --- in a browser --------------------------------------------------------------------------


def _chromium() -> str:
    return need_browser("the browser check of the report")[0]


def _dom(page: Path, profile: Path) -> BeautifulSoup:
    """The page's DOM after its scripts ran, from headless Chromium with no DNS at all."""
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline, even on a machine with network
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return BeautifulSoup(proc.stdout, "html.parser")


def _rendered_figures(dom: BeautifulSoup) -> list:
    """plotly.js marks a drawn figure's div with .js-plotly-plot and puts its <svg> inside."""
    return [div for div in dom.select(".js-plotly-plot") if div.select_one("svg.main-svg")]


def test_browser_shows_index_and_plotly_figures_offline(built, tmp_path):
    out, _, _ = built
    index = _dom(out / "index.html", tmp_path / "profile")
    titles = [a.get_text(strip=True) for a in index.select("tbody a[href$='.html']")]
    assert titles == ["Fixture: bars in a report", "Fixture: this one breaks"]
    assert "FAILED" in index.select("tbody tr")[1].get_text()

    page = _dom(out / "01_plotly_page.html", tmp_path / "profile")
    figures = _rendered_figures(page)
    assert len(figures) == N_FIGURES
    # The drawn bars carry the data the kernel computed with the injected N_POINTS=4.
    assert all(len(fig.select("g.point")) == 4 for fig in figures)
    assert "fixture bars" in figures[0].get_text()


@pytest.mark.filterwarnings("ignore:Your element with mimetype:UserWarning")
def test_browser_check_can_fail_plain_nbconvert_shows_no_figure(built, tmp_path):
    """Control: nbconvert's stock HTML of the same notebook draws nothing, so the check above
    really depends on what build_report adds."""
    from nbconvert import HTMLExporter

    out, _, _ = built
    nb = nbformat.read(out / "01_plotly_page.ipynb", as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    plain = out / "_plain_control.html"  # beside plotly.min.js, like the real pages
    plain.write_text(body, encoding="utf-8")
    try:
        assert _rendered_figures(_dom(plain, tmp_path / "profile")) == []
    finally:
        plain.unlink()


# ---- execute_in_place: how the committed notebooks are made -------------------------------------
def _tiny_notebook(path, *cells):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    spec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata = {"kernelspec": spec}
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path


def test_execute_in_place_is_byte_stable_and_merges_streams(tmp_path):
    import json

    from toolkit.report import execute_in_place

    nb = _tiny_notebook(
        tmp_path / "t.ipynb",
        "import sys, time\nprint('a'); sys.stdout.flush(); time.sleep(0.3); print('b')",
        "1 + 1",
    )
    meta_before = json.loads(nb.read_text())["metadata"]
    execute_in_place([nb])
    first = nb.read_bytes()
    execute_in_place([nb])
    assert nb.read_bytes() == first  # a re-run that changes no number changes no byte
    data = json.loads(first)
    assert data["metadata"] == meta_before  # no host-specific language_info
    streams = [o for o in data["cells"][0]["outputs"] if o["output_type"] == "stream"]
    assert len(streams) == 1 and "".join(streams[0]["text"]) == "a\nb\n"
    assert "".join(data["cells"][1]["outputs"][0]["data"]["text/plain"]) == "2"
    assert all("execution" not in c["metadata"] for c in data["cells"])


def test_execute_in_place_leaves_a_failing_notebook_unchanged(tmp_path):
    from toolkit.report import ReportError, execute_in_place

    nb = _tiny_notebook(tmp_path / "bad.ipynb", "raise ValueError('boom')")
    before = nb.read_bytes()
    with pytest.raises(ReportError, match="bad.ipynb: a cell raised"):
        execute_in_place([nb])
    assert nb.read_bytes() == before
