"""The compiled extension, imported once; why it is missing if it is; SIMD path selection."""

from __future__ import annotations

import os
from types import ModuleType

# libgomp reads this when the extension loads: idle OpenMP workers spin only briefly, so on a
# busy 2-core machine they do not steal the core the Python thread needs between kernels.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

_ext: ModuleType | None
try:
    from . import _ext  # type: ignore[attr-defined, no-redef]

    IMPORT_ERROR: str | None = None
except ImportError as err:  # not built here (no compiler at install time) or a broken build
    _ext = None
    IMPORT_ERROR = (
        f"the compiled extension gossamer.cython_kernels._ext is missing ({err}); "
        "reinstall gossamer with a C compiler and Cython available"
    )

LEVELS = ("avx2+fma", "generic")


def ext() -> ModuleType:
    """The extension module (callers only run after is_available() said yes)."""
    if _ext is None:
        raise RuntimeError(IMPORT_ERROR)
    return _ext


def set_simd_level(level: str) -> str:
    """Selects "avx2+fma" (if the CPU has it; else generic), "generic" or "auto"; returns the
    level now active."""
    if level not in (*LEVELS, "auto"):
        raise ValueError(f"SIMD level must be one of {', '.join(LEVELS)} or auto, got {level!r}")
    ext().set_simd(level != "generic")
    return simd_level()


def simd_level() -> str:
    """ "avx2+fma" or "generic": the kernels in use now."""
    return "avx2+fma" if ext().simd_avx2() else "generic"


if _ext is not None:
    # GOSSAMER_SIMD=generic forces the portable kernels (e.g. to test them on an AVX2 machine).
    set_simd_level(os.environ.get("GOSSAMER_SIMD", "auto").strip().lower() or "auto")
