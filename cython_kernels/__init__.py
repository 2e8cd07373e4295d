"""The Cython CPU backend: FP32 SIMD kernels (AVX-512, AVX2 or generic, chosen at run time),
threads on the kernels' own pool (src/threadpool.h).

`simd_level()` says which kernels run ("avx512f", "avx2+fma" or "generic"); GOSSAMER_SIMD=avx2 or
generic caps the level. The backend itself is `gossamer.cython_kernels.backend.CythonBackend`,
registered through the entry point `cython` (module `gossamer.cython_kernels.plugin`).
"""

from __future__ import annotations


def simd_level() -> str:
    """ "avx512f", "avx2+fma" or "generic": the kernels in use (raises without the extension)."""
    from ._native import simd_level as level

    return level()


def set_simd_level(level: str) -> str:
    """Selects "auto", "avx512f", "avx2+fma" ("avx2") or "generic" kernels for this process (capped
    by the CPU); returns the active one."""
    from ._native import set_simd_level as select

    return select(level)


__all__ = ["set_simd_level", "simd_level"]
