"""Shared fixtures. Expensive objects (models) are built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODEL_CARD = SHARED / "seed" / "model_card.md"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test session writes its cache under a fresh temporary folder."""
    old = os.environ.get("TOOLKIT_CACHE_DIR")
    os.environ["TOOLKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("toolkit-cache"))
    yield
    if old is None:
        os.environ.pop("TOOLKIT_CACHE_DIR", None)
    else:
        os.environ["TOOLKIT_CACHE_DIR"] = old
