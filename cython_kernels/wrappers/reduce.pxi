# Wrappers of src/reduce.h: ReduceSum/Mean/Max/Min over one run of contiguous axes.

cdef extern from "src/reduce.h" nogil:
    void gk_reduce(int op, const float *x, float *y, long outer, long n, long inner, int threads)


def reduce(int op, const float[::1] x, float[::1] y, long outer, long n, long inner, int threads):
    """y[o, i] = op_{r < n} x[o, r, i] (op 0 sum, 1 mean, 2 max, 3 min; src/reduce.h)."""
    if x is None or y is None:
        raise ValueError("reduce: an array is None")
    if op < 0 or op > 3:
        raise ValueError(f"reduce: unknown op {op}")
    if outer < 0 or n < 0 or inner < 0:
        raise ValueError("reduce: negative size")
    if x.shape[0] < outer * n * inner or y.shape[0] < outer * inner:
        raise ValueError(f"reduce: x ({x.shape[0]}) or y ({y.shape[0]}) is smaller than "
                         f"{outer} x {n} x {inner}")
    if outer * inner == 0:
        return
    cdef const float *xp = ptr(x)
    with nogil:
        gk_reduce(op, xp, &y[0], outer, n, inner, threads)
    cdef Call c
    if _tracing():
        c = _record(_run_reduce, "reduce", (x, y))
        c.c.p[0], c.c.p[1] = <void *>xp, <void *>&y[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3], c.c.i[4] = op, outer, n, inner, threads


cdef int _run_reduce(const gk_call *c) noexcept nogil:
    gk_reduce(<int>c.i[0], <const float *>c.p[0], <float *>c.p[1], c.i[1], c.i[2], c.i[3],
              <int>c.i[4])
    return 0
