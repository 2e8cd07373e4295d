# Cython wrappers for src/layout.c (included by _ext.pyx; one section per kernel family).
# Arrays come in through the buffer protocol (any strides, any fixed-size dtype numpy can export;
# layout_kernels.py views the others as unsigned ints of the same size).
from cpython.buffer cimport PyBUF_STRIDES, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer

cdef extern from "src/layout.h" nogil:
    int gk_copy_nd(int ndim, const Py_ssize_t *shape, const char *src, const Py_ssize_t *ss,
                   char *dst, const Py_ssize_t *ds, Py_ssize_t esize, int threads)
    Py_ssize_t gk_gather(const char *x, Py_ssize_t outer, Py_ssize_t dim, Py_ssize_t row,
                        const void *idx, int idx64, Py_ssize_t nidx, char *y, int threads)


cdef int _copy_view(Py_buffer *s, const Py_ssize_t *perm, Py_buffer *d, Py_ssize_t offset,
                    int threads) except -2:
    """d[...] = s (axes of s permuted by perm, if given) into d at byte offset; shapes checked
    by the caller."""
    cdef Py_ssize_t shape[64]
    cdef Py_ssize_t ss[64]
    cdef int i, rc
    if s.ndim > 64 or s.itemsize != d.itemsize:
        return -1
    for i in range(s.ndim):
        shape[i] = s.shape[perm[i] if perm != NULL else i]
        ss[i] = s.strides[perm[i] if perm != NULL else i]
    with nogil:
        rc = gk_copy_nd(s.ndim, shape, <const char *>s.buf, ss, <char *>d.buf + offset,
                        d.strides, s.itemsize, threads)
    return rc


def copy_into(src, dst, int threads):
    """dst[...] = src (equal shapes and element sizes, any strides). Returns 0, or -1 if the
    kernel cannot run it (then nothing was copied)."""
    cdef Py_buffer s, d
    cdef int rc = -1
    PyObject_GetBuffer(src, &s, PyBUF_STRIDES)
    try:
        PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
        try:
            if s.ndim == d.ndim:
                rc = _copy_view(&s, NULL, &d, 0, threads)
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)
    return rc


def transpose_into(src, tuple perm, dst, int threads):
    """dst = src with axes permuted (dst.shape[i] == src.shape[perm[i]]). Returns 0 or -1."""
    cdef Py_buffer s, d
    cdef Py_ssize_t p[64]
    cdef int i, rc = -1
    if len(perm) > 64:
        return -1
    for i in range(len(perm)):
        p[i] = perm[i]
    PyObject_GetBuffer(src, &s, PyBUF_STRIDES)
    try:
        PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
        try:
            if s.ndim == d.ndim == len(perm):
                rc = _copy_view(&s, p, &d, 0, threads)
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)
    return rc


def concat_into(inputs, int axis, dst, int threads):
    """dst = the inputs joined along axis (shapes checked by the caller). Returns 0 or -1."""
    cdef Py_buffer s, d
    cdef Py_ssize_t offset = 0
    cdef int rc = 0
    PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
    try:
        for x in inputs:
            PyObject_GetBuffer(x, &s, PyBUF_STRIDES)
            try:
                if s.ndim != d.ndim:
                    return -1
                rc = _copy_view(&s, NULL, &d, offset, threads)
                if rc:
                    return rc
                offset += s.shape[axis] * d.strides[axis]
            finally:
                PyBuffer_Release(&s)
    finally:
        PyBuffer_Release(&d)
    return rc


def gather_rows(x, idx, dst, long outer, long dim, long row, int threads):
    """dst (outer, nidx, row bytes) = x (outer, dim, row bytes)[:, idx, :]; x, idx (int32 or
    int64) and dst C-contiguous. Returns -1, or the position of the first bad index."""
    cdef Py_buffer bx, bi, bd
    cdef Py_ssize_t bad = -1, nidx
    PyObject_GetBuffer(x, &bx, 0)
    try:
        PyObject_GetBuffer(idx, &bi, 0)
        try:
            PyObject_GetBuffer(dst, &bd, PyBUF_WRITABLE)
            try:
                nidx = bi.len // bi.itemsize
                with nogil:
                    bad = gk_gather(<const char *>bx.buf, outer, dim, row, bi.buf,
                                    bi.itemsize == 8, nidx, <char *>bd.buf, threads)
            finally:
                PyBuffer_Release(&bd)
        finally:
            PyBuffer_Release(&bi)
    finally:
        PyBuffer_Release(&bx)
    return bad
