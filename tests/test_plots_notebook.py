"""toolkit.plots.setup_notebook: plotly JSON + a static PNG per figure, or a clear fallback.

The PNG tests drive the machine's Chromium through kaleido; without one they skip with an
install hint (and fail under ``CI=true``, where the browser must be installed).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import plotly.io as pio
import pytest
from PIL import Image

from toolkit.plots import notebook, plot_rank, setup_notebook
from toolkit.plots.notebook import RENDERER_NAME, StaticFigureWarning, quantize_png

REPO = Path(__file__).resolve().parents[1]


def _need_browser() -> None:
    if os.environ.get("BROWSER_PATH") or any(
        shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "chrome")
    ):
        return
    message = "no Chromium for kaleido: `apt-get install chromium` (Debian/Ubuntu)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the static-figure check must run, not skip)")
    pytest.skip(message)


@pytest.fixture
def clean_renderers(monkeypatch):
    """Restore plotly's renderer default and the warn-once flag after each test."""
    before = pio.renderers.default
    monkeypatch.setattr(notebook, "_warned", False)
    yield
    pio.renderers.default = before


@pytest.fixture(scope="module")
def started():
    """Set the notebook renderers up once (starts Chromium); stop kaleido's server after."""
    _need_browser()
    before = pio.renderers.default
    default = setup_notebook(static=True)
    yield default
    pio.renderers.default = before
    import kaleido

    kaleido.stop_sync_server(silence_warnings=True)


def _png(fig) -> bytes:
    bundle = pio.renderers[RENDERER_NAME].to_mimebundle(fig.to_dict())
    return base64.b64decode(bundle["image/png"])


def test_each_figure_gets_json_and_a_small_deterministic_png(started):
    assert started == f"plotly_mimetype+{RENDERER_NAME}" == pio.renderers.default
    fig = plot_rank({"a": 1, "b": 7, "c": None}, title="ранги", width=640, height=360)
    png = _png(fig)
    assert png == _png(fig)  # same machine, same figure: same bytes
    image = Image.open(io.BytesIO(png))
    assert image.size == (640, 360)  # the figure's own size
    assert image.mode == "P" and len(image.getpalette()) // 3 <= notebook.PNG_COLORS
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert len(colours) > 4  # not blank: text, markers, lines in several colours
    other = _png(plot_rank({"a": 2, "b": 3}, width=640, height=360))
    assert other != png
    wide = Image.open(io.BytesIO(_png(plot_rank({"a": 1}, width=1800, height=600))))
    assert wide.size == (notebook.MAX_PNG_WIDTH, 300)  # scaled down as a notebook view shows it


def test_quantize_png_keeps_size_and_shrinks_bytes():
    import numpy as np

    noise = np.random.default_rng(0).integers(0, 256, size=(80, 120, 3), dtype=np.uint8)
    rgb = Image.fromarray(noise, "RGB")  # thousands of colours before, at most 8 after
    raw = io.BytesIO()
    rgb.save(raw, format="PNG")
    small = quantize_png(raw.getvalue(), colors=8)
    image = Image.open(io.BytesIO(small))
    assert image.size == (120, 80) and len(image.convert("RGB").getcolors()) <= 8
    assert len(small) < len(raw.getvalue())
    assert quantize_png(raw.getvalue(), colors=8) == small
    with pytest.raises(ValueError, match=r"colors must be an integer in 2\.\.256, got 1"):
        quantize_png(raw.getvalue(), colors=1)
    with pytest.raises(ValueError, match="png is not a readable image"):
        quantize_png(b"not a png")


def test_no_browser_warns_once_and_keeps_json_only(clean_renderers, monkeypatch):
    def no_chromium():
        raise RuntimeError("No browser found at BROWSER_PATH='/nowhere'")

    monkeypatch.setattr(notebook, "_start_kaleido", no_chromium)
    with pytest.warns(StaticFigureWarning, match="apt install chromium") as caught:
        assert setup_notebook(static=True) == "plotly_mimetype"
        assert setup_notebook(static=True) == "plotly_mimetype"  # second call: no warning
    assert len(caught) == 1 and "No browser found" in str(caught[0].message)
    assert pio.renderers.default == "plotly_mimetype"


def test_a_figure_that_fails_to_render_is_shown_without_png(clean_renderers, monkeypatch):
    renderer = notebook._renderer_class()(colors=16)

    def broken(*args, **kwargs):
        raise RuntimeError("Chromium went away")

    monkeypatch.setattr(pio, "to_image", broken)
    with pytest.warns(StaticFigureWarning, match="Chromium went away"):
        assert renderer.to_mimebundle(plot_rank({"a": 1}).to_dict()) == {}


def test_static_off_by_argument_or_environment(clean_renderers, monkeypatch):
    monkeypatch.setattr(notebook, "_start_kaleido", lambda: pytest.fail("must not start"))
    assert setup_notebook(static=False) == "plotly_mimetype"
    monkeypatch.setenv("TOOLKIT_STATIC_FIGURES", "off")
    assert setup_notebook() == "plotly_mimetype"
    with pytest.raises(ValueError, match="colors must be an integer"):
        setup_notebook(colors=300)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        setup_notebook(scale=0)


def test_notebook_kernel_without_chromium_warns_in_one_cell_only(tmp_path):
    """A real kernel: no Chromium -> one warning in the setup cell, figures as JSON only."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from toolkit import plots\nplots.setup_notebook()"),
        nbformat.v4.new_code_cell("plots.plot_rank({'a': 1, 'b': 4})"),
        nbformat.v4.new_code_cell("plots.plot_rank({'a': 2})"),
    ]
    env = {**os.environ, "BROWSER_PATH": str(tmp_path / "no-chromium"), "PYTHONPATH": str(REPO)}
    script = textwrap.dedent(
        """
        import sys, nbformat
        from nbclient import NotebookClient
        nb = nbformat.read(sys.argv[1], as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
        nbformat.write(nb, sys.argv[1])
        """
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True, timeout=600)
    cells = nbformat.read(path, as_version=4).cells
    setup_out, fig1, fig2 = (c.outputs for c in cells)
    warnings_text = "".join(o.get("text", "") for o in setup_out if o.get("name") == "stderr")
    assert "StaticFigureWarning" in warnings_text and "apt install chromium" in warnings_text
    for outputs in (fig1, fig2):
        (out,) = outputs  # no warning beside the figure
        assert "application/vnd.plotly.v1+json" in out["data"]
        assert "image/png" not in out["data"]
