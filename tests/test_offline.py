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

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_query_title_alignment.ipynb"
HUB_ID = "toolkit-test/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

SITECUSTOMIZE = r'''
"""Test-only network block (tests/test_offline.py): loopback allowed, everything else refused."""
import errno, json, os, socket

_LOG = os.environ.get("NETBLOCK_LOG")


def _record(kind, target):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "kind": kind, "target": repr(target)}) + "\n")


def _loopback_host(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    return host in ("localhost", "::1", "") or host.startswith("127.")


def _blocked(kind, address):
    _record(kind, address)
    return OSError(errno.ENETUNREACH, f"network blocked by test ({kind} {address!r})")


_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo)


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback_host(address[0]):
        raise _blocked("connect", address)
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback_host(address[0]):
        _record("connect_ex", address)
        return errno.ENETUNREACH
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback_host(host):
        _record("getaddrinfo", host)
        raise socket.gaierror(socket.EAI_NONAME, f"name resolution blocked by test: {host}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (
    connect, connect_ex, getaddrinfo)
_record("loaded", None)
'''


def _netblock(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for a child process with the network blocked; and the attempts log."""
    folder = tmp_path / "netblock"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net-attempts.jsonl"
    log.touch()
    path = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"PYTHONPATH": path, "NETBLOCK_LOG": str(log)}, log


def _attempts(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


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

    env_block, log = _netblock(tmp_path)
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
    attempts = _attempts(log)
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
    env_block, log = _netblock(tmp_path)
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
    blocked = [a for a in _attempts(log) if a["kind"] != "loaded"]
    assert blocked and all("huggingface.co" in a["target"] for a in blocked), blocked


@pytest.mark.slow
@pytest.mark.skipif(not NOTEBOOK.is_file(), reason="notebook 04 not present")
def test_notebook_runs_with_the_network_blocked_and_never_tries_it(tmp_path, monkeypatch):
    from toolkit.report import build_report

    env_block, log = _netblock(tmp_path)
    for key, value in env_block.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this environment
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    out_dir = tmp_path / "report"
    build_report(out_dir=out_dir, notebooks=[NOTEBOOK])
    executed = json.loads((out_dir / NOTEBOOK.name).read_text(encoding="utf-8"))
    errors = [
        o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors, errors[0]["evalue"] if errors else ""
    assert (out_dir / (NOTEBOOK.stem + ".html")).is_file()
    attempts = _attempts(log)
    loaded_in = {a["pid"] for a in attempts if a["kind"] == "loaded"}
    assert loaded_in - {os.getpid()}, "the block never loaded in the kernel process"
    assert [a for a in attempts if a["kind"] != "loaded"] == []
