"""The Cython CPU backend: FP32 SIMD kernels (AVX2/FMA chosen at run time), OpenMP threads.

`simd_level()` says which kernels run ("avx2+fma" or "generic"); GOSSAMER_SIMD=generic forces the
portable ones. The backend itself is `gossamer.cython_kernels.backend.CythonBackend`, registered
through the entry point `cython` (module `gossamer.cython_kernels.plugin`).
"""

from __future__ import annotations


def simd_level() -> str:
    """ "avx2+fma" or "generic": the kernel variants in use (raises if the extension is missing)."""
    from ._native import simd_level as level

    return level()


def set_simd_level(level: str) -> str:
    """Selects "auto", "avx2+fma" or "generic" kernels for this process; returns the active one."""
    from ._native import set_simd_level as select

    return select(level)


__all__ = ["set_simd_level", "simd_level"]
