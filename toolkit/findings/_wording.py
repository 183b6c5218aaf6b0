"""Shared wording of a paired test: ``p = 0.012`` and ``[+0.010, +0.041]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ci_text", "p_text"]


def p_text(p: float, name: str = "p") -> str:
    """``p = 0.012``, or ``p < 0.001`` (a sign-flip p-value is never 0, only small)."""
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.3f}"


def ci_text(r: Mapping[str, Any], prefix: str = "") -> str:
    """``[low, high]`` of a row's ``<prefix>low`` / ``<prefix>high``, signed, 3 decimals."""
    return f"[{r[prefix + 'low']:+.3f}, {r[prefix + 'high']:+.3f}]"
