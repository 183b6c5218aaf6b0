"""Atomic file writes: one implementation for every file the toolkit writes.

A reader (another process, a notebook re-run, a crash halfway) sees either the old file or
the complete new one, never a torn write: the data goes to a temporary file in the target's
folder and ``os.replace`` renames it into place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["write_atomic"]


def write_atomic(
    path: str | os.PathLike,
    data: str | bytes | Callable[[IO[bytes]], None],
    *,
    mode: int | None = None,
    make_parents: bool = True,
) -> Path:
    """Write ``data`` to ``path`` atomically.

    Args:
        path: Target file.
        data: Text (written as UTF-8), bytes, or a callable that writes to the open binary
            file (e.g. ``lambda fh: np.save(fh, arr)``).
        mode: Permission bits of the new file. ``None``: those of the file it replaces, or
            for a new file what ``open()`` would give (0o666 less the umask) -- not
            ``mkstemp``'s private 0o600, which would hide a rewritten notebook from its group.
        make_parents: Create the target's folder first.

    Returns:
        The target path.

    Raises:
        OSError: The folder cannot be written; the temporary file is removed.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, _mode_for(path) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permission bits a plain ``open(path, "w")`` would leave: the old file's, or umask's."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)  # the only way to read it; set straight back
        os.umask(umask)
        return 0o666 & ~umask
