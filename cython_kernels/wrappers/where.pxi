# Wrappers of src/where.h: Where with full-size or one-element operands, and IsNaN.

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE, PyBuffer_Release,
                            PyObject_GetBuffer)
from libc.stdint cimport uint8_t

cdef extern from "src/where.h" nogil:
    void gk_where(const uint8_t *c, int c_full, const char *x, int x_full, const char *y,
                  int y_full, char *out, long n, long esize, int threads)
    void gk_isnan_f32(const float *x, uint8_t *out, long n)


cdef int _operand(str name, Py_buffer *b, Py_ssize_t n, Py_ssize_t esize) except -1:
    """1 if b holds n elements, 0 if one; ValueError otherwise."""
    if b.itemsize != esize:
        raise ValueError(f"where: {name} has {b.itemsize}-byte elements, not {esize}")
    if b.len == n * esize:
        return 1
    if b.len == esize:
        return 0
    raise ValueError(f"where: {name} has {b.len // esize} elements, not {n} or 1")


def where(c, x, y, out, int threads):
    """out = c ? x : y (C-contiguous buffers; c of bytes 0/1; c, x and y each of out's element
    count or one element; ValueError otherwise)."""
    cdef Py_buffer bc, bx, by, bo
    cdef int cf, xf, yf
    cdef Py_ssize_t n, es
    cdef Call call
    PyObject_GetBuffer(out, &bo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
    try:
        es = bo.itemsize
        n = bo.len // es
        PyObject_GetBuffer(c, &bc, PyBUF_C_CONTIGUOUS)
        try:
            PyObject_GetBuffer(x, &bx, PyBUF_C_CONTIGUOUS)
            try:
                PyObject_GetBuffer(y, &by, PyBUF_C_CONTIGUOUS)
                try:
                    cf = _operand("condition", &bc, n, 1)
                    xf = _operand("x", &bx, n, es)
                    yf = _operand("y", &by, n, es)
                    if n == 0:
                        return
                    with nogil:
                        gk_where(<const uint8_t *>bc.buf, cf, <const char *>bx.buf, xf,
                                 <const char *>by.buf, yf, <char *>bo.buf, n, es, threads)
                    if _tracing():
                        call = _record(_run_where, "where", (c, x, y, out))
                        call.c.p[0], call.c.p[1], call.c.p[2], call.c.p[3] = \
                            bc.buf, bx.buf, by.buf, bo.buf
                        call.c.i[0], call.c.i[1], call.c.i[2] = cf, xf, yf
                        call.c.i[3], call.c.i[4], call.c.i[5] = n, es, threads
                finally:
                    PyBuffer_Release(&by)
            finally:
                PyBuffer_Release(&bx)
        finally:
            PyBuffer_Release(&bc)
    finally:
        PyBuffer_Release(&bo)


cdef int _run_where(const gk_call *c) noexcept nogil:
    gk_where(<const uint8_t *>c.p[0], <int>c.i[0], <const char *>c.p[1], <int>c.i[1],
             <const char *>c.p[2], <int>c.i[2], <char *>c.p[3], c.i[3], c.i[4], <int>c.i[5])
    return 0


def isnan_f32(const float[::1] x, out):
    """out[i] = x[i] is NaN (out: C-contiguous bool/uint8 buffer of x's length)."""
    cdef Py_buffer bo
    cdef Call call
    if x is None:
        raise ValueError("isnan_f32: x is None")
    PyObject_GetBuffer(out, &bo, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
    try:
        if bo.itemsize != 1 or bo.len != x.shape[0]:
            raise ValueError(f"isnan_f32: out has {bo.len} bytes for {x.shape[0]} floats")
        if x.shape[0] == 0:
            return
        with nogil:
            gk_isnan_f32(&x[0], <uint8_t *>bo.buf, x.shape[0])
        if _tracing():
            call = _record(_run_isnan, "isnan_f32", (x, out))
            call.c.p[0], call.c.p[1] = <void *>&x[0], bo.buf
            call.c.i[0] = x.shape[0]
    finally:
        PyBuffer_Release(&bo)


cdef int _run_isnan(const gk_call *c) noexcept nogil:
    gk_isnan_f32(<const float *>c.p[0], <uint8_t *>c.p[1], c.i[0])
    return 0
