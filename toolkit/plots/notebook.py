"""Show figures in a notebook: interactive plotly JSON plus a static PNG that renders anywhere.

A figure displayed with plotly's ``plotly_mimetype`` renderer is stored in the notebook only as
``application/vnd.plotly.v1+json``: JupyterLab and VS Code draw it, but GitHub and nbviewer
know no such output and show nothing. :func:`setup_notebook` makes every displayed figure
carry both: the plotly JSON (interactive where a plotly renderer exists) and an ``image/png``
made by kaleido with the machine's Chromium (GitHub and nbviewer show that). Front ends that
know both show the interactive one (JupyterLab ranks plotly's renderer above PNG), nbval does
not compare ``image/png`` outputs, and the HTML report (:mod:`toolkit.report`) keeps the
interactive figure and drops the PNG.

Why PNG with 32 colours, measured on the 14 figures of notebooks 01-04 (2026-12-02, at most
900 px wide): kaleido's PNGs total 1.34 MB, JPEG 0.96 MB (blurred text), SVG 0.79 MB (and its
clip-path ids change on every render, so a re-run would change the notebook's bytes); PNG
reduced to a palette (Pillow's fast octree, no dithering) 0.26 MB with 64 colours, 0.21 MB
with 32, 0.19 MB with 16, where the heatmap's continuous colour scale broke (its brightest
cells came out white). Plotly figures use a handful of flat colours, so 32 keep text, markers
and colour scales readable. Two renders of the same figure on the same machine give identical
bytes (fonts may differ between machines, so the PNG bytes may too).

Example:
    >>> from toolkit import plots
    >>> plots.setup_notebook()  # doctest: +SKIP
    'plotly_mimetype+toolkit_png'
"""

from __future__ import annotations

import base64
import io
import os
import warnings
from typing import Any

from toolkit._validation import check_int

__all__ = [
    "PNG_COLORS",
    "RENDERER_NAME",
    "StaticFigureWarning",
    "quantize_png",
    "setup_notebook",
]

#: Name under which the PNG renderer is registered in ``plotly.io.renderers``.
RENDERER_NAME = "toolkit_png"
#: Colours of the PNG palette (see the module docstring for the measurement).
PNG_COLORS = 32
#: Widest PNG in pixels: a wider figure is drawn at its own layout size and scaled down, as
#: GitHub's and nbviewer's notebook views (about 900 px wide) would show it anyway.
MAX_PNG_WIDTH = 900
#: Environment variable: ``0``/``false``/``no``/``off`` turns the PNG off in every notebook.
ENV_VAR = "TOOLKIT_STATIC_FIGURES"
_INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: apt install chromium; macOS/Windows: Chrome) or let "
    "plotly download one with `plotly_get_chrome`, or point BROWSER_PATH at a Chromium binary"
)
_warned = False


class StaticFigureWarning(UserWarning):
    """No static image could be made: figures stay interactive-only in this notebook."""


def quantize_png(png: bytes, colors: int = PNG_COLORS) -> bytes:
    """Return ``png`` re-encoded with a palette of at most ``colors`` colours.

    Uses Pillow's fast octree quantizer without dithering (deterministic: the same input
    gives the same bytes) and zlib's best compression.

    Args:
        png: PNG bytes (e.g. from :func:`plotly.io.to_image`).
        colors: Palette size, 2..256.

    Returns:
        The smaller PNG.

    Raises:
        TypeError: When ``colors`` is not an integer.
        ValueError: When ``colors`` is outside 2..256 or ``png`` is not an image.
    """
    from PIL import Image, UnidentifiedImageError

    check_int(colors, "colors", minimum=2, maximum=256)
    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"png is not a readable image ({exc})") from None
    reduced = image.convert("RGB").quantize(
        colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    reduced.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _renderer_class() -> type:
    from plotly.io.base_renderers import PngRenderer

    class QuantizedPngRenderer(PngRenderer):
        """Plotly's PNG renderer with a palette-reduced image; never raises on a figure."""

        def __init__(self, colors: int = PNG_COLORS, scale: float = 1):
            super().__init__(scale=scale)
            self.colors = colors

        def to_mimebundle(self, fig_dict: dict) -> dict[str, Any]:
            import plotly.io as pio

            try:
                with warnings.catch_warnings():
                    # kaleido's server ignores per-call options and says so on every call
                    warnings.filterwarnings("ignore", message="The kopts argument is ignored")
                    width = _figure_width(fig_dict)
                    scale = self.scale * min(1.0, MAX_PNG_WIDTH / width)
                    png = pio.to_image(fig_dict, format="png", scale=scale, validate=False)
                png = quantize_png(png, self.colors)
            except Exception as exc:  # a figure must still show, interactive-only
                _warn_once(f"rendering a figure to PNG failed ({type(exc).__name__}: {exc})")
                return {}
            return {"image/png": base64.b64encode(png).decode("ascii")}

    return QuantizedPngRenderer


def _figure_width(fig_dict: dict) -> float:
    """The width plotly's image export gives ``fig_dict`` (its own, its template's, or 700)."""
    import plotly.io as pio

    layout = fig_dict.get("layout", {})
    template_layout = layout.get("template", {}).get("layout", {}) if layout else {}
    return float(layout.get("width") or template_layout.get("width") or pio.defaults.default_width)


def _warn_once(reason: str) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    warnings.warn(
        f"toolkit.plots: no static PNG beside the interactive figures: {reason}. Figures are "
        "kept as plotly JSON only, which JupyterLab shows but GitHub and nbviewer do not; to "
        f"get the PNG, {_INSTALL_HINT}, then re-run the notebook.",
        StaticFigureWarning,
        stacklevel=3,
    )


def _static_from_env() -> bool:
    value = os.environ.get(ENV_VAR, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def _start_kaleido() -> None:
    """Check that kaleido can drive a Chromium, then keep one running for this process.

    A one-shot render first (it raises cleanly when no Chromium is found); then kaleido's
    sync server keeps that browser open, so each later figure costs about 0.2 s instead of
    the 3 s of starting Chromium per figure (measured on the project's 2-core machine).
    MathJax is off: it would be fetched from a CDN, and toolkit figures use no LaTeX.

    Raises:
        Exception: Whatever kaleido raises when it cannot start or render.
    """
    import kaleido

    probe = {"data": [], "layout": {"width": 10, "height": 10}}
    opts = {"format": "png", "width": 10, "height": 10, "scale": 1}
    kaleido.calc_fig_sync(probe, opts=opts, kopts={"mathjax": False})
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)


def setup_notebook(
    *, static: bool | None = None, colors: int = PNG_COLORS, scale: float = 1
) -> str:
    """Make every figure displayed in this kernel carry plotly JSON and a static PNG.

    Registers a PNG renderer (``toolkit_png``: plotly's own, with the image reduced to a
    ``colors``-colour palette by :func:`quantize_png`) and sets
    ``plotly.io.renderers.default`` to ``"plotly_mimetype+toolkit_png"``, so a figure left as
    a cell's last value is stored once with both MIME types. The PNG has the figure's own
    ``width``/``height`` (plotly's 700 x 500 where unset) times ``scale``, scaled down to
    at most :data:`MAX_PNG_WIDTH` (900) pixels wide.

    When the PNG cannot be made (kaleido finds no Chromium, or it fails to start) one
    :class:`StaticFigureWarning` says so and how to fix it, and the default becomes
    ``"plotly_mimetype"``: the notebook still runs, with interactive figures only (nbval
    does not compare PNGs, so stored notebooks still pass). A figure that fails to render
    later also warns once and is shown without its PNG.

    Args:
        static: ``False`` skips the PNG (faster: no Chromium); ``None`` (default) reads the
            environment variable ``TOOLKIT_STATIC_FIGURES`` (``0``/``false``/``no``/``off``
            turn it off; anything else or unset: on).
        colors: PNG palette size, 2..256.
        scale: Pixel density of the PNG (1 = the figure's size in pixels).

    Returns:
        The renderer default now in use.

    Raises:
        TypeError: When ``colors`` is not an integer.
        ValueError: When ``colors`` is outside 2..256 or ``scale`` is not positive.
    """
    import plotly.io as pio

    check_int(colors, "colors", minimum=2, maximum=256)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if static is None:
        static = _static_from_env()
    default = "plotly_mimetype"
    if static:
        try:
            _start_kaleido()
        except Exception as exc:  # no Chromium, kaleido missing, browser failed to start
            first = str(exc).split(". ")[0]  # kaleido's hint names its own downloader
            _warn_once(f"kaleido could not render with Chromium ({type(exc).__name__}: {first})")
        else:
            pio.renderers[RENDERER_NAME] = _renderer_class()(colors=colors, scale=scale)
            default = f"plotly_mimetype+{RENDERER_NAME}"
    pio.renderers.default = default
    return default
