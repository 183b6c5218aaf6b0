"""Where the toolkit keeps its on-disk state (embedding cache, built models)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Return the toolkit cache root, creating nothing.

    ``$TOOLKIT_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/patent-toolkit``
    (``~/.cache/patent-toolkit`` when XDG is unset).
    """
    env = os.environ.get("TOOLKIT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "patent-toolkit"
