"""Shared argument checks: text lists, numeric matrices and L2 normalising (one home each).

Every module that takes texts or embedding matrices validates them here, so a bad input
raises the same way wherever it enters. The messages name the argument and the position.

Zero-vector policy (one for the toolkit): an all-zero row is a legitimate vector --
:func:`toolkit.encode` returns one for a text with no known word under a static model, and
:func:`toolkit.lexical_vectors.tfidf_vectors` for a title made only of boilerplate.
:func:`unit_rows` keeps such a row zero, so its cosine with every other vector is 0 and a
ranking puts it by the tie rule alone. This is what every evaluation route does
(:mod:`toolkit.evaluation`: a model, its embeddings or its score matrix give the same
per-query metrics for an all-zero query). Functions whose result is *undefined* for a zero
row -- a cosine geometry (:func:`toolkit.metrics.retrieval_metrics_from_embeddings`,
:func:`toolkit.diagnostics.anisotropy`, :func:`toolkit.diagnostics.hubness`,
:func:`toolkit.clustering.reduce`) -- call it with ``zero_rows="raise"`` and name the row,
as they always have.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "as_float32_matrix",
    "as_matrix",
    "check_int",
    "check_resampling",
    "check_texts",
    "chunk_rows",
    "unit_rows",
]

BLOCK_ELEMENTS = 2**25  # ~128 MiB of float32 per row chunk when chunk_size is None


# --------------------------------------------------------------------------------- integers


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = 1,
    maximum: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """Return ``value`` as an ``int`` or raise naming the argument (the one integer check).

    ``bool`` is refused (``True`` is not a count). NumPy integers are accepted.

    Raises:
        TypeError: ``value`` is not an integer (or ``None`` when ``allow_none``).
        ValueError: ``value`` is outside ``[minimum, maximum]``.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        wanted = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {wanted}, got {value!r}")
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        if maximum is None:
            bounds = f">= {minimum}"
        elif minimum is None:
            bounds = f"<= {maximum}"
        else:
            bounds = f"in {minimum}..{maximum}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------ texts


def check_texts(
    texts: Any,
    name: str = "texts",
    *,
    error: type[Exception] = TypeError,
    allow_empty: bool = True,
    container: str = "{name} must be a list of strings, got {type}",
    item: str = "{name}[{i}] must be a str, got {type}: {value}",
    check_unicode: bool = False,
) -> list[str]:
    """Return ``texts`` as a list of ``str`` or raise naming the argument and the position.

    Args:
        texts: Any iterable of texts; a single ``str``/``bytes`` (or ``None``) is refused.
        name: Argument name used in messages.
        error: Exception type raised (callers keep the type they always raised).
        allow_empty: Accept an empty list.
        container: Message when ``texts`` is not a list of texts (``{name}``, ``{type}``).
        item: Message when an entry is not a ``str`` (``{name}``, ``{i}``, ``{type}``,
            ``{value}`` -- the entry's repr cut to 40 characters).
        check_unicode: Also refuse a text that is not valid Unicode (a lone surrogate such
            as ``U+D800`` alone, which tokenizers reject without saying where).

    Returns:
        The texts as a new list.
    """
    if isinstance(texts, str | bytes) or texts is None or not hasattr(texts, "__iter__"):
        raise error(container.format(name=name, type=type(texts).__name__))
    out = list(texts)
    if not out and not allow_empty:
        raise error(f"{name}: is empty")
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise error(
                item.format(name=name, i=i, type=type(text).__name__, value=f"{text!r:.40}")
            )
    if check_unicode:
        for i, text in enumerate(out):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"{name}[{i}] is not valid Unicode: {exc.reason} at character {exc.start} "
                    f"({text[exc.start]!r}); clean the text (e.g. "
                    "text.encode('utf-8', 'replace').decode())"
                ) from None
    return out


# --------------------------------------------------------------------------------- matrices


def as_float32_matrix(x: Any, name: str) -> np.ndarray:
    """Return ``x`` (array or tensor) as a finite 2-D float32 array, naming a bad cell."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n x dim), got shape {arr.shape}")
    # checked in row blocks of ~2**25 cells, so the temporary mask stays ~32 MiB instead of
    # one byte per cell (0.5 GiB for 1M x 512 vectors)
    step = max(1, BLOCK_ELEMENTS // max(arr.shape[1], 1))
    for start in range(0, arr.shape[0], step):
        bad = ~np.isfinite(arr[start : start + step])
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"{name} has a non-finite value at row {start + i}, column {j}")
    return arr


def as_matrix(X: Any, name: str, *, min_rows: int = 2) -> np.ndarray:
    """Return ``X`` as a finite 2-D numeric array with some structure, or raise naming ``name``.

    Used where rows are points to reduce or cluster: besides shape and finiteness it refuses
    fewer than ``min_rows`` rows, no columns, and rows that are all identical.
    """
    try:
        arr = np.asarray(X, dtype=np.float64) if not isinstance(X, np.ndarray) else X
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a 2-D numeric array ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array (n_samples, n_features), got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name}: need at least {min_rows} rows, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name}: has no columns")
    finite = np.isfinite(arr)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name}: contains NaN or infinite values (first at row {row}, column {col})"
        )
    if arr.shape[0] > 1 and np.all(arr == arr[0]):
        raise ValueError(
            f"{name}: all {arr.shape[0]} rows are identical; there is no structure to "
            "reduce or cluster"
        )
    return arr


def unit_rows(x: np.ndarray, name: str = "x", *, zero_rows: str = "keep") -> np.ndarray:
    """Divide every row by its L2 norm (a new array of the same float dtype).

    Args:
        x: ``n x dim`` float array.
        name: Argument name used in the message.
        zero_rows: ``"keep"`` (the toolkit's policy, see the module docstring): an all-zero
            row stays zero. ``"raise"``: a zero row raises ``ValueError`` naming it, for
            callers whose result is undefined without a direction.

    Returns:
        The normalised rows.
    """
    if zero_rows not in ("keep", "raise"):
        raise ValueError(f"zero_rows must be 'keep' or 'raise', got {zero_rows!r}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if zero_rows == "raise":
        zero = np.flatnonzero(norms[:, 0] == 0)
        if zero.size:
            raise ValueError(
                f"{name} row {zero[0]} is all zeros; cosine similarity is undefined for it"
            )
        return x / norms
    out = np.zeros_like(x)
    np.divide(x, norms, out=out, where=norms > 0)
    return out


def chunk_rows(n_cols: int, chunk_size: int | None, cap: int | None = None) -> int:
    """Rows per chunk of an ``n_rows x n_cols`` computation (checks a user's ``chunk_size``).

    ``None`` picks about 128 MiB of float32 per chunk (``2**25 // n_cols`` rows, at most
    ``cap``); otherwise ``chunk_size`` must be an integer >= 1.
    """
    if chunk_size is None:
        size = max(1, BLOCK_ELEMENTS // max(n_cols, 1))
        return min(size, cap) if cap else size
    return check_int(chunk_size, "chunk_size")


def check_resampling(n_resamples: int, confidence: float | None = None) -> None:
    """Check a bootstrap / permutation count and an optional confidence level.

    Raises:
        TypeError: ``n_resamples`` is not an integer.
        ValueError: ``n_resamples < 1``, or ``confidence`` outside (0, 1).
    """
    check_int(n_resamples, "n_resamples")
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
