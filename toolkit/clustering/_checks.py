"""Argument checks shared by the clustering modules (labels and paired sequences)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_labels", "check_same_length"]


def as_labels(labels: Any, name: str) -> np.ndarray:
    """``labels`` as a 1-D array, or ``ValueError`` naming the argument."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of labels, got shape {arr.shape}")
    return arr


def check_same_length(a: Any, a_name: str, b: Any, b_name: str) -> None:
    """Raise ``ValueError`` naming both arguments when their lengths differ."""
    if len(a) != len(b):
        raise ValueError(
            f"{a_name} and {b_name} must have the same length, got {len(a)} and {len(b)}"
        )
