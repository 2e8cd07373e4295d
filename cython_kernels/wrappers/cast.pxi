# Wrappers of src/cast.h: Cast between bool, integers and float32/float64 (numpy's astype).

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE, PyBuffer_Release,
                            PyObject_GetBuffer)
cdef extern from "src/cast.h" nogil:
    int gk_cast_supported(int frm, int to)
    int gk_cast(const void *x, int frm, void *y, int to, long n, int threads)

# element size of each src/cast.h type code
cdef Py_ssize_t _CAST_SIZES[11]
_CAST_SIZES[:] = [1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8]


def cast_supported(int frm, int to):
    """True if cast() converts type code frm to type code to (src/cast.h)."""
    return bool(gk_cast_supported(frm, to))


def cast(x, int frm, y, int to, int threads):
    """y[...] = x converted from type code frm to type code to (both C-contiguous, equal element
    counts; ValueError otherwise). Returns 0, or -1 for a pair cast() does not convert."""
    cdef Py_buffer s, d
    cdef Call c
    cdef int rc
    cdef long n
    if not gk_cast_supported(frm, to):
        return -1
    PyObject_GetBuffer(x, &s, PyBUF_C_CONTIGUOUS)
    try:
        PyObject_GetBuffer(y, &d, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
        try:
            if s.itemsize != _CAST_SIZES[frm] or d.itemsize != _CAST_SIZES[to]:
                raise ValueError(f"cast: element sizes {s.itemsize}, {d.itemsize} do not match "
                                 f"type codes {frm}, {to}")
            n = s.len // s.itemsize
            if d.len // d.itemsize != n:
                raise ValueError(f"cast: {n} elements in, {d.len // d.itemsize} out")
            if n == 0:
                return 0
            with nogil:
                rc = gk_cast(s.buf, frm, d.buf, to, n, threads)
            if _tracing():
                c = _record(_run_cast, "cast", (x, y))
                c.c.p[0], c.c.p[1] = s.buf, d.buf
                c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = frm, to, n, threads
            return rc
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)


cdef int _run_cast(const gk_call *c) noexcept nogil:
    return gk_cast(c.p[0], <int>c.i[0], c.p[1], <int>c.i[1], c.i[2], <int>c.i[3])
