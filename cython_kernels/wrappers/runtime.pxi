# SIMD level selection (src/dispatch.h) and the OpenMP team start (src/threads.h).

cdef extern from "src/dispatch.h" nogil:
    int gk_cpu_has_avx2_fma()
    int gk_cpu_has_avx512f()
    int gk_set_simd_level(int level)
    int gk_simd_level()
cdef extern from "src/threads.h" nogil:
    int gk_threads_start(int threads)

SIMD_LEVELS = ("generic", "avx2+fma", "avx512f")


def cpu_has_avx2_fma():
    """True if this CPU has AVX2 and FMA."""
    return bool(gk_cpu_has_avx2_fma())


def cpu_has_avx512f():
    """True if this CPU has AVX-512F (and AVX2/FMA)."""
    return bool(gk_cpu_has_avx512f())


def set_simd_index(int level):
    """Use kernels up to SIMD_LEVELS[level], capped by the CPU; returns the index now active."""
    return gk_set_simd_level(level)


def simd_index():
    """Index into SIMD_LEVELS of the kernels in use."""
    return gk_simd_level()


def threads_start(int threads):
    """Starts the OpenMP team with its workers off the calling thread's core (see
    src/threads.c); returns how many workers moved."""
    with nogil:
        moved = gk_threads_start(threads)
    return moved
