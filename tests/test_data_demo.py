"""Tests for toolkit.data.demo: the shipped demo set."""

from __future__ import annotations

import pytest
from data_helpers import PKG_DATA

from toolkit.data import (
    demo,
)


@pytest.mark.skipif(
    not all((PKG_DATA / n).is_file() for n in ("corpus.csv", "queries.csv", "qrels.csv")),
    reason="demo dataset files not in toolkit/datasets yet",
)
def test_demo():
    rs = demo()
    assert rs is demo()  # cached
    assert rs.queries and rs.corpus and rs.qrels and rs.splits
    assert set(rs.ipc.values()) <= set("ABCDEFGH")
    assert rs.validate().ok
    with pytest.raises(TypeError):
        rs.queries["x"] = "y"  # type: ignore[index]
