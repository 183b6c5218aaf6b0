"""The explorer in a real browser: JupyterLab on loopback, headless Chromium through selenium.

The test starts ``jupyter lab`` on 127.0.0.1 (a free port, a random token, a temporary root
folder holding a one-cell notebook that opens the explorer on the demo set), opens the
notebook in headless Chromium, runs the cell, types a query, waits for the results, clicks
grade 2 on the first title of the first system and checks that the judgments file got that
row. Chromium cannot reach any host but the server (``--host-resolver-rules``), so a widget
that needed a CDN would not render.

It skips with an install hint when Chromium, chromedriver or selenium is missing, and fails
instead under ``CI=true`` (as the report's browser check does). Screenshots go to the test's
temporary folder; with ``TOOLKIT_SCREENSHOT_DIR=docs/screenshots`` they replace the committed
``explorer-*.png`` (palette PNGs, each under 150 KB).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import need_browser

REPO = Path(__file__).resolve().parents[1]
QUERY = "робот-курьер везет посылку по тротуару"
CELL = """\
import toolkit

explorer = toolkit.explore(None, ["dense", "bm25"], 5, judgments="judged.csv")
explorer"""


def test_missing_browser_skips_with_a_hint_but_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        need_browser("the explorer's browser test", selenium=True)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        need_browser("the explorer's browser test", selenium=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Callable[[], object], timeout: float = 180.0) -> object:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` on timeout."""
    end = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            value = check()
            if value:
                return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


@contextlib.contextmanager
def _jupyter_lab(root: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Run ``jupyter lab`` on loopback; yield (base url, token); kill it and its kernels."""
    import psutil

    port, token = _free_port(), secrets.token_hex(16)
    settings = root.parent / "lab-settings"  # no "get Jupyter news?" pop-up over the page
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false"}), encoding="utf-8")
    log = (root.parent / "jupyter.log").open("wb")
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=", "--LabApp.extension_manager=readonly", "--allow-root",
        f"--LabApp.user_settings_dir={settings}",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        def up() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}; see {log.name}")
            url = f"{base}/api/status?token={token}"
            with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 (loopback)
                return r.status == 200

        _wait("jupyter lab to answer", up, timeout=120)
        yield base, token
    finally:
        family = []
        with contextlib.suppress(psutil.NoSuchProcess):
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        _, alive = psutil.wait_procs(family, timeout=20)
        for p in alive:  # a kernel in its own session, or a server that did not stop
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=10)
        log.close()
        assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _start_kernel(base: str, token: str, notebook: str) -> None:
    """Start the notebook's kernel through the REST API, so the page attaches to it."""
    import urllib.request

    body = json.dumps({"path": notebook, "type": "notebook", "kernel": {"name": "python3"}})
    request = urllib.request.Request(
        f"{base}/api/sessions",
        data=body.encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310 (loopback)
        assert r.status == 201, r.status


def _shot(driver, element, name: str, out: Path) -> Path:
    """Save a screenshot of ``element`` as a palette PNG (small enough to commit)."""
    from PIL import Image

    path = out / f"explorer-{name}.png"
    raw = out / f".{name}.raw.png"
    element.screenshot(str(raw))
    with Image.open(raw) as img:
        img.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(
            path, optimize=True
        )
    raw.unlink()
    return path


def test_explorer_in_jupyterlab_judges_into_the_file(tmp_path):
    chromium, chromedriver = need_browser("the explorer's browser test", selenium=True)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    root = tmp_path / "root"
    root.mkdir()
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "explorer", "metadata": {},
             "outputs": [], "source": CELL},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    (root / "explorer.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    judged = root / "judged.csv"
    shots = Path(os.environ.get("TOOLKIT_SCREENSHOT_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),  # no user settings
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "jupyter-workspaces"),
        "TOKENIZERS_PARALLELISM": "false",
    }  # TOOLKIT_CACHE_DIR is the test session's (conftest), inherited by the kernel
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,1800", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking", "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(arg)
    with _jupyter_lab(root, env) as (base, token):
        _start_kernel(base, token, "explorer.ipynb")  # no "Select Kernel" dialog
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        try:
            driver.get(f"{base}/lab/tree/explorer.ipynb?token={token}&reset")
            cell = _wait(
                "the notebook cell",
                lambda: (
                    (
                        e := driver.find_element(By.CSS_SELECTOR, ".jp-Cell .jp-InputArea-editor")
                    ).is_displayed()
                    and e
                ),
            )
            idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
            _wait("the kernel to be idle", lambda: driver.find_element(By.CSS_SELECTOR, idle))
            prompt = ".jp-Cell .jp-InputPrompt"
            for _ in range(5):  # a run sent while the page still connects to the kernel is lost
                cell = driver.find_elements(By.CSS_SELECTOR, ".jp-Cell .jp-InputArea-editor")[0]
                cell.click()  # edit mode; Shift+Enter runs the cell
                chain = ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER)
                chain.key_up(Keys.SHIFT).perform()
                with contextlib.suppress(BaseException):
                    _wait("the run", lambda: driver.find_element(By.CSS_SELECTOR, prompt).text
                          not in ("[ ]:", ""), timeout=15)  # fmt: skip
                if driver.find_element(By.CSS_SELECTOR, prompt).text not in ("[ ]:", ""):
                    break
            box = _wait(
                "the explorer's query box",
                lambda: driver.find_element(By.CSS_SELECTOR, ".toolkit-explorer-query input"),
                timeout=float(os.environ.get("TOOLKIT_BROWSER_TIMEOUT", 300)),
            )
            explorer = driver.find_element(By.CSS_SELECTOR, ".toolkit-explorer")
            box.click()
            box.send_keys(QUERY)
            _shot(driver, explorer, "1-query", shots)
            box.send_keys(Keys.ENTER)
            status = driver.find_element(By.CSS_SELECTOR, ".toolkit-status")
            _wait("the results", lambda: "results for" in status.text)
            columns = _wait(
                "a results column per system",
                lambda: (
                    (c := driver.find_elements(By.CSS_SELECTOR, ".toolkit-results"))
                    and len(c) == 2
                    and c
                ),
            )
            rows = columns[0].find_elements(By.CSS_SELECTOR, ".toolkit-row")
            assert len(rows) == 5
            assert all("unjudged" in r.text for r in rows)  # a typed query: nothing judged
            doc_id = rows[0].find_element(By.CSS_SELECTOR, "span[title]").get_attribute("title")
            _wait(
                "the map",
                lambda: driver.find_element(By.CSS_SELECTOR, ".toolkit-explorer .main-svg"),
            )
            _shot(driver, explorer, "2-results", shots)
            rows[0].find_element(By.CSS_SELECTOR, ".toolkit-grade-2").click()
            _wait("the grade to be saved", lambda: "added" in status.text)
            first_row = ".toolkit-results .toolkit-row"  # re-found: the columns are redrawn
            _wait(
                "the new grade mark",
                lambda: "2 · you" in driver.find_element(By.CSS_SELECTOR, first_row).text,
            )
            _shot(driver, explorer, "3-graded", shots)
        except BaseException:
            driver.save_screenshot(str(tmp_path / "failure.png"))  # what the browser showed
            (tmp_path / "failure.txt").write_text(
                driver.find_element(By.TAG_NAME, "body").text, encoding="utf-8"
            )
            raise
        finally:
            driver.quit()
    table = pd.read_csv(judged, dtype=str, keep_default_na=False)
    assert table[["query", "doc_id", "relevance"]].to_dict("records") == [
        {"query": QUERY, "doc_id": doc_id, "relevance": "2"}
    ]
    for name in ("1-query", "2-results", "3-graded"):
        assert (shots / f"explorer-{name}.png").stat().st_size < 150_000
