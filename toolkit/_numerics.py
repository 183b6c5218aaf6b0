"""Portable floating point: numba-compiled code gives the same numbers on every x86-64 CPU.

umap-learn and pynndescent compile their kernels with numba, and numba compiles for the CPU
it runs on: on a CPU with FMA or AVX-512 LLVM fuses and vectorises differently, the last bits
of the coordinates change, and UMAP's optimisation (a chaotic process) turns them into
different layouts and different clusters. A finding that flips with the CPU is not a finding,
so ``import toolkit`` pins numba's code generation to the portable ``generic`` x86-64 target
(baseline SSE2, no host features) before numba compiles anything. Measured cost: see
docs/numerics.md.

Override with ``$TOOLKIT_NUMBA_CPU_NAME`` (read at ``import toolkit``):

* unset or ``generic`` — the default above; the toolkit sets ``NUMBA_CPU_NAME=generic`` and
  ``NUMBA_CPU_FEATURES=""`` for the whole process, overriding values exported by the user,
  since the committed notebook outputs are only reproducible under one fixed target;
* ``host`` — leave numba alone (its own ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` or the host
  CPU): possibly faster kernels, results that depend on the machine;
* any LLVM CPU name (``haswell``, ``znver3``, ...) — compile for that CPU with its default
  features.

Other host differences cannot be pinned: the default model's torch inference depends on the
CPU and on the batch a text is encoded in (up to 1.8e-7 between batch sizes on an Intel Xeon
with AVX-512/AMX, 1.3e-7 under torch's pre-AVX2 kernels). The notebooks' findings are checked
within stated tolerances instead (``toolkit/notebook_check.py``), under those differences
simulated with the two variables at the end of this module.
"""

from __future__ import annotations

import os
import sys
import warnings

ENV = "TOOLKIT_NUMBA_CPU_NAME"
DEFAULT_TARGET = "generic"


def requested_target() -> str | None:
    """The numba CPU target the toolkit asks for, or ``None`` for numba's own choice."""
    target = os.environ.get(ENV, "").strip() or DEFAULT_TARGET
    return None if target.lower() == "host" else target


def pin_numba_target() -> str | None:
    """Make numba compile for :func:`requested_target` in this process.

    Sets ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` (inherited by child processes too).
    When numba was imported before the toolkit its configuration is re-read; if it had
    already compiled code for another target, a ``RuntimeWarning`` says that results may
    differ from other machines (import ``toolkit`` before umap / numba to avoid it).

    Returns:
        The pinned target name, or ``None`` when ``$TOOLKIT_NUMBA_CPU_NAME=host``.
    """
    target = requested_target()
    if target is None:
        return None
    os.environ["NUMBA_CPU_NAME"] = target
    os.environ["NUMBA_CPU_FEATURES"] = ""  # the named CPU's own features, not the host's
    if "numba" in sys.modules:
        from numba.core import config, registry

        config.reload_config()
        if "_toplevel_target_context" in vars(registry.cpu_target):
            warnings.warn(
                f"numba compiled code before `import toolkit` pinned its target to {target!r}: "
                "UMAP results in this process may differ from other machines; import toolkit "
                "before umap or numba",
                RuntimeWarning,
                stacklevel=3,
            )
    return target


def numba_target() -> str:
    """The target numba compiles for now, as ``name`` or ``name+features`` (cache keys)."""
    from numba.core import config

    if config.CPU_NAME is not None:
        name, features = config.CPU_NAME, config.CPU_FEATURES
    else:
        import llvmlite.binding as ll

        name, features = ll.get_host_cpu_name(), config.CPU_FEATURES
        if features is None:
            from numba.core.codegen import get_host_cpu_features

            features = get_host_cpu_features()
    return f"{name}+{features}" if features else name


# ---------------------------------------------------------------- simulating another host
# The default model's torch inference depends on the CPU and on the batch a text is encoded
# in: on an Intel Xeon with AVX-512/AMX the 350 demo titles differed by up to 1.8e-7 between
# batch sizes 32 and 64 (and by up to 1.3e-7 under torch's pre-AVX2 kernels anywhere). The
# notebooks' findings must hold under such differences, so the tests (and anyone who wants to
# know whether a finding of theirs does) can make every vector `toolkit.encode` returns
# differ by that much, and encode in batches of another size, without touching the code.
PERTURB_ENV = "TOOLKIT_PERTURB_VECTORS"
BATCH_SIZE_ENV = "TOOLKIT_ENCODE_BATCH_SIZE"
DEFAULT_BATCH_SIZE = 64


def _env_number(name: str, kind: type, *, minimum: float) -> float | int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not (value >= minimum) or value != value or value == float("inf"):
        what = "an integer" if kind is int else "a finite number"
        raise ValueError(f"${name}: expected {what} >= {minimum}, got {text!r}")
    return value


def vector_perturbation() -> float:
    """Relative size of the noise ``$TOOLKIT_PERTURB_VECTORS`` asks for (``0.0`` when unset).

    Raises:
        ValueError: The variable is set to something that is not a finite number >= 0.
    """
    return float(_env_number(PERTURB_ENV, float, minimum=0) or 0.0)


def encode_batch_size() -> int:
    """Batch size of :func:`toolkit.encode` when none is passed (``$TOOLKIT_ENCODE_BATCH_SIZE``).

    64 when the variable is unset.

    Raises:
        ValueError: The variable is set to something that is not an integer >= 1.
    """
    return int(_env_number(BATCH_SIZE_ENV, int, minimum=1) or DEFAULT_BATCH_SIZE)


def perturb_rows(vectors, texts, relative: float):
    """``vectors`` with Gaussian noise of ``relative`` times each entry's size (a new array).

    The noise of a row depends only on its text (seeded by the text's SHA-256), so a text gets
    the same vector in every call and every process, as a cached vector on another host would.
    """
    import hashlib

    import numpy as np

    out = np.array(vectors, copy=True)
    for row, text in zip(out, texts, strict=True):
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8])
        noise = np.random.default_rng(seed).standard_normal(row.shape[0])
        row *= (1.0 + relative * noise).astype(row.dtype)
    return out
