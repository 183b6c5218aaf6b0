"""A network block for child processes (the Jupyter kernel too), with a log of every attempt.

A ``sitecustomize.py`` put first on ``PYTHONPATH`` refuses every non-loopback connection and
name lookup and appends each attempt to a JSON-lines log; it logs its own loading, so a test
can tell that the block was really active in that process. Loopback stays open: the notebook
client talks to its kernel over 127.0.0.1. Used by tests/test_offline.py and by the shared
notebook executions (tests/notebook_runs.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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


def netblock_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for a child process with the network blocked; and the attempts log."""
    folder = tmp_path / "netblock"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net-attempts.jsonl"
    log.touch()
    path = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"PYTHONPATH": path, "NETBLOCK_LOG": str(log)}, log


def read_attempts(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]
