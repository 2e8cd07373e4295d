"""The compiled extension, imported once; why it is missing if it is; SIMD path selection."""

from __future__ import annotations

import os
from types import ModuleType

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

LEVELS = ("avx512f", "avx2+fma", "generic")
_ALIASES = {"avx512": "avx512f", "avx2": "avx2+fma"}


def ext() -> ModuleType:
    """The extension module (callers only run after is_available() said yes)."""
    if _ext is None:
        raise RuntimeError(IMPORT_ERROR)
    return _ext


def set_simd_level(level: str) -> str:
    """Selects at most `level`: "avx512f" (alias "avx512"), "avx2+fma" (alias "avx2"),
    "generic" or "auto" (the best this CPU has); a level the CPU lacks falls back to the next
    lower one. Returns the level now active."""
    level = _ALIASES.get(level, level)
    if level not in (*LEVELS, "auto"):
        raise ValueError(f"SIMD level must be one of {', '.join(LEVELS)} or auto, got {level!r}")
    index = len(LEVELS) - 1 if level == "auto" else len(LEVELS) - 1 - LEVELS.index(level)
    ext().set_simd_index(index)
    return simd_level()


def simd_level() -> str:
    """ "avx512f", "avx2+fma" or "generic": the kernels in use now (every kernel family is
    compiled for each level; src/dispatch.h)."""
    return LEVELS[len(LEVELS) - 1 - ext().simd_index()]


if _ext is not None:
    # GOSSAMER_SIMD=avx2 or generic forces the lower kernels (e.g. to test them on this machine).
    set_simd_level(os.environ.get("GOSSAMER_SIMD", "auto").strip().lower() or "auto")
