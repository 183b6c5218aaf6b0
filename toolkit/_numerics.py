"""Portable floating point: numba-compiled code gives the same numbers on every x86-64 CPU.

umap-learn and pynndescent compile their kernels with numba, and numba compiles for the CPU
it runs on: on a CPU with FMA or AVX-512 LLVM fuses and vectorises differently, the last bits
of the coordinates change, and UMAP's optimisation (a chaotic process) turns them into
different layouts and different clusters. A finding that flips with the CPU is not a finding,
so ``import toolkit`` pins numba's code generation to the portable ``generic`` x86-64 target
(baseline SSE2, no host features) before numba compiles anything. Measured cost: see the
README section "Portable numerics".

Override with ``$TOOLKIT_NUMBA_CPU_NAME`` (read at ``import toolkit``):

* unset or ``generic`` — the default above; the toolkit sets ``NUMBA_CPU_NAME=generic`` and
  ``NUMBA_CPU_FEATURES=""`` for the whole process, overriding values exported by the user,
  since the committed notebook outputs are only reproducible under one fixed target;
* ``host`` — leave numba alone (its own ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` or the host
  CPU): possibly faster kernels, results that depend on the machine;
* any LLVM CPU name (``haswell``, ``znver3``, ...) — compile for that CPU with its default
  features.

Other host-dependent paths were measured and need no pin on x86-64 (README, "Portable
numerics"): the default model's vectors are bit-identical with torch's AVX2 and AVX-512
kernels, 1 or 2 threads, and with or without ``OPENBLAS_CORETYPE``; only torch's
pre-AVX2 ``DEFAULT`` kernels change them (by up to 1.3e-7), which the notebooks' seed
summaries are built to absorb.
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
