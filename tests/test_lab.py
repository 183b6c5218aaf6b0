"""JupyterLab for real: start it headless on 127.0.0.1, browse notebooks/, run a kernel.

The server is the venv's own ``jupyter lab`` (what ``make lab`` starts), with the repository
as root, a random free port and a token; the kernel is driven through the server's websocket
channel, as the Lab front end does. Jupyter's config/data/runtime dirs point at a temporary
folder so a user's own settings or kernelspecs cannot change the result.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import websocket

import toolkit

REPO = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).parent / "jupyter"
HOST = "127.0.0.1"
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab server: yields (base url, token); stops it afterwards."""
    assert JUPYTER.is_file(), f"no jupyter next to {sys.executable}"
    tmp = tmp_path_factory.mktemp("jupyter")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
    ):
        env[var] = str(tmp / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    cmd = [
        str(JUPYTER),
        "lab",
        "--no-browser",
        "--allow-root",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={REPO}",
    ]
    log = (tmp / "server.log").open("w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    base = f"http://{HOST}:{port}"

    def server_log() -> str:
        log.flush()
        return (tmp / "server.log").read_text(errors="replace")[-3000:]

    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{server_log()}")
            try:
                r = requests.get(f"{base}/api/status", headers=_auth(token), timeout=2)
                if r.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in {START_TIMEOUT_S} s:\n{server_log()}")
            time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def test_lab_answers_only_with_the_token(lab):
    base, token = lab
    assert requests.get(f"{base}/api/contents", timeout=10).status_code == 403
    page = requests.get(f"{base}/lab", headers=_auth(token), timeout=30)
    assert page.status_code == 200
    assert "jupyter-config-data" in page.text  # the Lab application page, not an error page


def test_contents_api_lists_the_notebooks_folder(lab):
    base, token = lab

    def on_disk() -> set[str]:
        return {p.name for p in (REPO / "notebooks").glob("*.ipynb")}

    before = on_disk()
    r = requests.get(f"{base}/api/contents/notebooks", headers=_auth(token), timeout=10)
    after = on_disk()  # other people may be adding notebooks right now
    assert r.status_code == 200, r.text
    listing = r.json()
    assert listing["type"] == "directory"
    types = {item["name"]: item["type"] for item in listing["content"]}
    assert types.get("sanitize.cfg") == "file"
    assert before & after <= {name for name, kind in types.items() if kind == "notebook"}


def _message(session: str, code: str) -> dict:
    """A Jupyter messaging-protocol execute_request for the websocket's JSON framing."""
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "username": "test",
            "session": session,
            "date": datetime.now(UTC).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


def _execute(ws: websocket.WebSocket, session: str, code: str, timeout: float = 60) -> str:
    """Run code in the kernel; return its stdout (raises on an error reply)."""
    request = _message(session, code)
    ws.send(json.dumps(request))
    msg_id = request["header"]["msg_id"]
    stdout, errors, replied, idle = [], [], False, False
    deadline = time.monotonic() + timeout
    while not (replied and idle):
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if kind == "stream" and msg["content"]["name"] == "stdout":
            stdout.append(msg["content"]["text"])
        elif kind == "error":
            errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        elif kind == "execute_reply":
            replied = True
            assert msg["content"]["status"] == "ok", errors
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = True
    return "".join(stdout)


def test_kernel_imports_the_toolkit_from_this_environment(lab):
    base, token = lab
    r = requests.post(
        f"{base}/api/kernels", headers=_auth(token), json={"name": "python3"}, timeout=30
    )
    assert r.status_code == 201, r.text
    kernel_id = r.json()["id"]
    try:
        session = uuid.uuid4().hex
        ws = websocket.create_connection(
            f"ws://{HOST}:{base.rsplit(':', 1)[1]}/api/kernels/{kernel_id}/channels"
            f"?session_id={session}",
            header=[f"Authorization: token {token}"],
            timeout=60,
        )
        try:
            out = _execute(
                ws,
                session,
                "import sys, toolkit\nprint(toolkit.__version__)\nprint(sys.prefix)",
            )
        finally:
            ws.close()
        version, prefix = out.strip().splitlines()
        assert version == toolkit.__version__
        assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    finally:
        d = requests.delete(f"{base}/api/kernels/{kernel_id}", headers=_auth(token), timeout=30)
        assert d.status_code == 204, d.text
    kernels = requests.get(f"{base}/api/kernels", headers=_auth(token), timeout=10).json()
    assert kernel_id not in [k["id"] for k in kernels]
