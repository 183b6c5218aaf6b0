"""Offline behaviour: with the network unreachable the toolkit fails fast or works from local files.

The network is blocked in two ways:

* in this process, by the ``no_network`` fixture (``socket.socket.connect``/``connect_ex``,
  ``socket.create_connection`` and ``socket.getaddrinfo`` raise for anything but loopback);
* in child processes (a plain ``python -c`` child, and the Jupyter kernel that papermill
  starts), by a ``sitecustomize.py`` put first on ``PYTHONPATH``. It applies the same block and
  appends every attempt to a JSON-lines log, so a test can assert *what* was attempted, and it
  logs its own loading so a test can tell that the block was really active in that process.
  Loopback stays open: the notebook client talks to its kernel over 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from netblock import netblock_env, read_attempts

REPO = Path(__file__).resolve().parents[1]
HUB_ID = "toolkit-test/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

@pytest.fixture()
def no_network(monkeypatch):
    """Refuse every non-loopback connection and name lookup in this process; record attempts."""
    attempts: list[tuple[str, object]] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def loopback(host) -> bool:
        host = host.decode() if isinstance(host, bytes) else str(host)
        return host in ("localhost", "::1", "") or host.startswith("127.")

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
            attempts.append(("connect", address))
            raise OSError(101, "network blocked by test")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not loopback(host):
            attempts.append(("getaddrinfo", host))
            raise socket.gaierror(socket.EAI_NONAME, "name resolution blocked by test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, a: connect(self, a) or 0)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the real unreachable-hub path
    return attempts


def test_uncached_hub_id_fails_fast_with_guidance(no_network):
    from toolkit.models import ModelNotAvailable, load_model

    start = time.monotonic()
    with pytest.raises(ModelNotAvailable) as info:
        load_model("toolkit-offline-test/never-cached-model")
    seconds = time.monotonic() - start
    assert seconds < 5.0, f"took {seconds:.1f} s"
    message = str(info.value)
    assert "'toolkit-offline-test/never-cached-model'" in message
    assert "local folder" in message and "offline default" in message
    # the one reachability probe was refused; nothing retried in a loop
    assert 1 <= len(no_network) <= 3, no_network


def _hf_cache(tmp_path: Path, model_dir: Path) -> Path:
    """A Hugging Face cache holding ``HUB_ID`` at ``COMMIT`` (copy of a local model folder).

    The layout is the one huggingface_hub writes: ``hub/models--org--name/refs/main`` holds
    the commit hash, ``snapshots/<commit>/`` the files (plain copies instead of blob links).
    """
    hf_home = tmp_path / "hf-home"
    repo = hf_home / "hub" / ("models--" + HUB_ID.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    shutil.copytree(model_dir, repo / "snapshots" / COMMIT)
    return hf_home


CHILD_LOAD = r"""
import json, sys, time
import numpy as np
from toolkit.encoding import encode
from toolkit.models import load_model, model_fingerprint
start = time.monotonic()
model = load_model(sys.argv[1], device="cpu")
seconds = time.monotonic() - start
vec = encode(model, ["шифрование данных", "роботы для доставки"], cache=False)
np.save(sys.argv[2], vec)
print(json.dumps({"seconds": seconds, "fingerprint": model_fingerprint(model)}))
"""


@pytest.mark.parametrize("offline_flag", [False, True], ids=["no-flag", "HF_HUB_OFFLINE"])
def test_hub_id_in_the_local_hf_cache_loads_with_the_network_blocked(
    tiny_bert_dir, tmp_path, offline_flag
):
    from toolkit.encoding import encode
    from toolkit.models import load_model, model_fingerprint

    env_block, log = netblock_env(tmp_path)
    hf_home = _hf_cache(tmp_path, tiny_bert_dir)
    env = dict(os.environ, **env_block, HF_HOME=str(hf_home))
    for key in ("HF_HUB_OFFLINE", "HF_HUB_CACHE", "HF_HUB_DISABLE_TELEMETRY"):
        env.pop(key, None)
    if offline_flag:
        env["HF_HUB_OFFLINE"] = "1"
    out = tmp_path / "vec.npy"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD_LOAD, HUB_ID, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    local = load_model(tiny_bert_dir, device="cpu")
    assert report["fingerprint"] == model_fingerprint(local)  # the very same model
    expected = encode(local, ["шифрование данных", "роботы для доставки"], cache=False)
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6, rtol=0)
    attempts = read_attempts(log)
    assert any(a["kind"] == "loaded" for a in attempts)  # the block was active in the child
    tried = [a for a in attempts if a["kind"] != "loaded"]
    if offline_flag:
        assert tried == []  # nothing tried the network
    else:
        # huggingface_hub 2.4 builds its user-agent header with an "agent harness" registry
        # fetched once a day from the hub (3 s timeout; off with HF_HUB_OFFLINE=1 or
        # HF_HUB_DISABLE_TELEMETRY=1), even for a cached model. The toolkit itself asks
        # nothing; that request is the only one, and the model still loads from the cache.
        assert all("huggingface.co" in a["target"] for a in tried), tried
        assert len(tried) <= 2, tried
        assert report["seconds"] < 30


def test_uncached_hub_id_in_a_child_without_network_fails_fast(tmp_path):
    env_block, log = netblock_env(tmp_path)
    env = dict(os.environ, **env_block, HF_HOME=str(tmp_path / "empty-hf"))
    env.pop("HF_HUB_OFFLINE", None)
    code = (
        "import sys, time\n"
        "from toolkit.models import ModelNotAvailable, load_model\n"
        "t = time.monotonic()\n"
        "try:\n"
        "    load_model('ai-forever/sbert_large_nlu_ru')\n"
        "except ModelNotAvailable as e:\n"
        "    print(round(time.monotonic() - t, 3)); print(e); sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seconds, message = proc.stdout.split("\n", 1)
    assert float(seconds) < 5.0
    assert "'ai-forever/sbert_large_nlu_ru'" in message and "local folder" in message
    blocked = [a for a in read_attempts(log) if a["kind"] != "loaded"]
    assert blocked and all("huggingface.co" in a["target"] for a in blocked), blocked


@pytest.mark.slow
@pytest.mark.parametrize("plan", ["plain", "another-host"])
def test_notebooks_run_with_the_network_blocked_and_never_try_it(notebook_runs, plan):
    """Every notebook ran with the network blocked in its kernel (tests/notebook_runs.py)."""
    folder = notebook_runs.wait()[plan]
    for nb_path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        executed = json.loads(nb_path.read_text(encoding="utf-8"))
        outputs = [o for c in executed["cells"] for o in c.get("outputs", [])]
        errors = [o for o in outputs if o["output_type"] == "error"]
        assert not errors, f"{nb_path.name}: {errors[0]['evalue']}" if errors else ""
        assert (folder / (nb_path.stem + ".html")).is_file()
    attempts = notebook_runs.net_attempts(plan)
    loaded_in = {a["pid"] for a in attempts if a["kind"] == "loaded"}
    assert len(loaded_in - {os.getpid()}) >= 2, "the block was not loaded in the kernels"
    assert [a for a in attempts if a["kind"] != "loaded"] == []
