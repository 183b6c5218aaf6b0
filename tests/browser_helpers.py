"""Finding a headless browser for the tests that need one (report page, explorer in JupyterLab).

Locally a missing browser skips the test with an install hint; under ``CI=true`` it fails
instead, so CI cannot pass by skipping the browser checks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

INSTALL_HINT = (
    "enable it with `apt-get install chromium chromium-driver` (Debian/Ubuntu) and "
    "`pip install -e .[dev]` (selenium)"
)
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def need_browser(purpose: str, *, selenium: bool = False) -> tuple[str, str | None]:
    """``(chromium, chromedriver)`` paths; skip with a hint (fail under ``CI=true``) if absent.

    ``selenium=True`` also needs chromedriver and the selenium package; otherwise the
    driver path is returned when present and not required.
    """
    chromium = next(filter(None, map(shutil.which, _CHROMIUM_NAMES)), None)
    driver = shutil.which("chromedriver")
    needed = [("chromium", chromium)]
    if selenium:
        needed += [("chromedriver", driver), ("selenium", importlib.util.find_spec("selenium"))]
    missing = [name for name, found in needed if not found]
    if missing:
        message = f"no {', '.join(missing)} for {purpose}; {INSTALL_HINT}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the browser check must run, not skip)")
        pytest.skip(message)
    return chromium, driver
