"""Atomic writes: whole files or none, and the permissions a plain write would leave."""

from __future__ import annotations

import os

import pytest

from toolkit._io import write_atomic


def test_a_rewritten_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "nb.ipynb"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_new_file_gets_what_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a.txt", b"x")
        (tmp_path / "b.txt").write_bytes(b"x")
    finally:
        os.umask(old)
    modes = [(tmp_path / name).stat().st_mode & 0o777 for name in ("a.txt", "b.txt")]
    assert modes == [0o640, 0o640]


def test_an_explicit_mode_wins(tmp_path):
    write_atomic(tmp_path / "a.txt", "x", mode=0o600)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")

    def half(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, half)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
