# Wrappers of src/layout.h: strided n-d copies (Transpose, Slice, Split, Concat) and Gather.
# Arrays come in through the buffer protocol (any strides, any fixed-size dtype numpy can export;
# layout_kernels.py views the others as unsigned ints of the same size).
from cpython.buffer cimport (PyBUF_FORMAT, PyBUF_STRIDES, PyBUF_WRITABLE, PyBuffer_IsContiguous,
                             PyBuffer_Release, PyObject_GetBuffer)
from cpython.mem cimport PyMem_Free, PyMem_Malloc

cdef extern from "src/layout.h" nogil:
    int gk_copy_nd(int ndim, const Py_ssize_t *shape, const char *src, const Py_ssize_t *ss,
                   char *dst, const Py_ssize_t *ds, Py_ssize_t esize, int threads)
    void gk_fill(char *dst, Py_ssize_t n, const char *value, Py_ssize_t esize)
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
    if _tracing():
        _record_copy(s.ndim, shape, s.buf, ss, <char *>d.buf + offset, d.strides, s.itemsize,
                     threads)
    return rc


cdef void _record_copy(int ndim, const Py_ssize_t *shape, const void *src, const Py_ssize_t *ss,
                       void *dst, const Py_ssize_t *ds, Py_ssize_t esize, int threads):
    """Records an n-d copy (up to 8 dims; a larger one marks the trace unrecordable)."""
    cdef Call c
    cdef int i
    if ndim > 8:
        _trace.append(None)
        return
    c = _record(_run_copy_nd, "copy_nd", ())
    c.c.p[0], c.c.p[1] = <void *>src, dst
    for i in range(ndim):
        c.c.i[i], c.c.i[8 + i], c.c.i[16 + i] = shape[i], ss[i], ds[i]
    c.c.i[24], c.c.i[25], c.c.i[26] = ndim, esize, threads


cdef int _run_copy_nd(const gk_call *c) noexcept nogil:
    return gk_copy_nd(<int>c.i[24], <const Py_ssize_t *>&c.i[0], <const char *>c.p[0],
                      <const Py_ssize_t *>&c.i[8], <char *>c.p[1], <const Py_ssize_t *>&c.i[16],
                      c.i[25], <int>c.i[26])


cdef int _same_shape(str name, Py_buffer *s, const Py_ssize_t *perm, Py_buffer *d) except -1:
    """d's shape is s's (axes permuted by perm, if given) and the element sizes agree."""
    cdef int i
    if s.ndim != d.ndim:
        raise ValueError(f"{name}: source has {s.ndim} dims, destination {d.ndim}")
    if s.itemsize != d.itemsize:
        raise ValueError(f"{name}: element sizes differ ({s.itemsize} vs {d.itemsize})")
    for i in range(s.ndim):
        if d.shape[i] != s.shape[perm[i] if perm != NULL else i]:
            raise ValueError(f"{name}: destination dim {i} is {d.shape[i]}, source gives "
                             f"{s.shape[perm[i] if perm != NULL else i]}")
    return 0


def copy_into(src, dst, int threads):
    """dst[...] = src (equal shapes and element sizes, any strides; ValueError otherwise).
    Returns 0, or -1 if the kernel cannot run it (more than 64 dims; then nothing was copied)."""
    cdef Py_buffer s, d
    cdef int rc = -1
    PyObject_GetBuffer(src, &s, PyBUF_STRIDES)
    try:
        PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
        try:
            _same_shape("copy_into", &s, NULL, &d)
            rc = _copy_view(&s, NULL, &d, 0, threads)
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)
    return rc


def fill(value, dst):
    """dst[...] = value: dst C-contiguous, value one element of dst's element size (any dtype
    viewed as bytes). Recorded for segments, holding `value` (keep it unchanged afterwards)."""
    cdef Py_buffer v, d
    cdef Call c
    PyObject_GetBuffer(value, &v, PyBUF_STRIDES)
    try:
        PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
        try:
            if v.len != d.itemsize:
                raise ValueError(f"fill: the value has {v.len} bytes, an element {d.itemsize}")
            if not PyBuffer_IsContiguous(&d, b'C'):
                raise ValueError("fill: dst must be C-contiguous")
            with nogil:
                gk_fill(<char *>d.buf, d.len // d.itemsize, <const char *>v.buf, d.itemsize)
            if _tracing() and d.len:
                c = _record(_run_fill, "fill", (value, dst))
                c.c.p[0], c.c.p[1] = d.buf, v.buf
                c.c.i[0], c.c.i[1] = d.len // d.itemsize, d.itemsize
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&v)


cdef int _run_fill(const gk_call *c) noexcept nogil:
    gk_fill(<char *>c.p[0], c.i[0], <const char *>c.p[1], c.i[1])
    return 0


def transpose_into(src, tuple perm, dst, int threads):
    """dst = src with axes permuted (dst.shape[i] == src.shape[perm[i]], perm a permutation of
    range(ndim); ValueError otherwise). Returns 0 or -1 (more than 64 dims)."""
    cdef Py_buffer s, d
    cdef Py_ssize_t p[64]
    cdef char seen[64]
    cdef int i, n = len(perm), rc = -1
    cdef Py_ssize_t v
    if n > 64:
        return -1
    memset(seen, 0, sizeof(seen))
    for i in range(n):
        v = perm[i]
        if v < 0 or v >= n or seen[v]:
            raise ValueError(f"transpose_into: perm {perm} is not a permutation of range({n})")
        seen[v] = 1
        p[i] = v
    PyObject_GetBuffer(src, &s, PyBUF_STRIDES)
    try:
        PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
        try:
            if s.ndim != n:
                raise ValueError(f"transpose_into: perm has {n} axes, source {s.ndim}")
            _same_shape("transpose_into", &s, p, &d)
            rc = _copy_view(&s, p, &d, 0, threads)
        finally:
            PyBuffer_Release(&d)
    finally:
        PyBuffer_Release(&s)
    return rc


def concat_into(inputs, int axis, dst, int threads):
    """dst = the inputs joined along axis. Every input is checked (same ndim and element size as
    dst, other dims equal, lengths along axis summing to dst's; ValueError otherwise) before
    anything is copied. Returns 0, or -1 (more than 64 dims; nothing copied)."""
    cdef Py_buffer d
    cdef Py_buffer *bufs = NULL
    cdef Py_ssize_t offset = 0, total = 0, n = len(inputs), got = 0, j
    cdef int i, rc = 0
    PyObject_GetBuffer(dst, &d, PyBUF_STRIDES | PyBUF_WRITABLE)
    try:
        if axis < 0 or axis >= d.ndim:
            raise ValueError(f"concat_into: axis {axis} is outside [0, {d.ndim})")
        if d.ndim > 64:
            return -1
        bufs = <Py_buffer *>PyMem_Malloc(max(n, 1) * sizeof(Py_buffer))
        if bufs == NULL:
            raise MemoryError()
        for x in inputs:
            if got >= n:
                raise ValueError("concat_into: inputs changed length")
            PyObject_GetBuffer(x, &bufs[got], PyBUF_STRIDES)
            got += 1
            if bufs[got - 1].ndim != d.ndim or bufs[got - 1].itemsize != d.itemsize:
                raise ValueError(f"concat_into: input {got - 1} differs from the destination in "
                                 f"rank or element size")
            for i in range(d.ndim):
                if i != axis and bufs[got - 1].shape[i] != d.shape[i]:
                    raise ValueError(f"concat_into: input {got - 1} dim {i} is "
                                     f"{bufs[got - 1].shape[i]}, destination {d.shape[i]}")
            total += bufs[got - 1].shape[axis]
        if total != d.shape[axis]:
            raise ValueError(f"concat_into: inputs total {total} along axis {axis}, destination "
                             f"{d.shape[axis]}")
        # with at most 64 dims gk_copy_nd cannot fail, so no input is left half done
        for j in range(got):
            rc = _copy_view(&bufs[j], NULL, &d, offset, threads)
            if rc:
                return rc
            offset += bufs[j].shape[axis] * d.strides[axis]
    finally:
        for j in range(got):
            PyBuffer_Release(&bufs[j])
        PyMem_Free(bufs)
        PyBuffer_Release(&d)
    return rc


cdef bint _int_format(const char *f, Py_ssize_t itemsize) noexcept:
    """A signed integer buffer format of 4 or 8 bytes ('i', 'l', 'q', maybe after '<', '=', '@')."""
    if f == NULL:
        return False
    if f[0] == b'<' or f[0] == b'=' or f[0] == b'@':
        f += 1
    if f[0] == 0 or f[1] != 0:
        return False
    return (itemsize == 4 or itemsize == 8) and (f[0] == b'i' or f[0] == b'l' or f[0] == b'q')


def gather_rows(x, idx, dst, long outer, long dim, long row, int threads):
    """dst (outer, nidx, row bytes) = x (outer, dim, row bytes)[:, idx, :]; x, idx (int32 or
    int64) and dst C-contiguous (ValueError where a buffer is too small for the sizes, TypeError
    for another index type). Returns -1, or the position of the first bad index."""
    cdef Py_buffer bx, bi, bd
    cdef Py_ssize_t bad = -1, nidx
    cdef Call c
    if outer < 0 or dim < 0 or row < 0:
        raise ValueError("gather_rows: negative size")
    PyObject_GetBuffer(x, &bx, 0)
    try:
        PyObject_GetBuffer(idx, &bi, PyBUF_FORMAT)
        try:
            PyObject_GetBuffer(dst, &bd, PyBUF_WRITABLE)
            try:
                if not _int_format(bi.format, bi.itemsize):
                    raise TypeError(f"gather_rows: indices must be int32 or int64, not "
                                    f"{(<bytes>bi.format).decode() if bi.format else 'bytes'}")
                nidx = bi.len // bi.itemsize
                if bx.len < outer * dim * row:
                    raise ValueError(f"gather_rows: x has {bx.len} bytes, needs {outer} x {dim}"
                                     f" x {row}")
                if bd.len < outer * nidx * row:
                    raise ValueError(f"gather_rows: dst has {bd.len} bytes, needs {outer} x "
                                     f"{nidx} x {row}")
                with nogil:
                    bad = gk_gather(<const char *>bx.buf, outer, dim, row, bi.buf,
                                    bi.itemsize == 8, nidx, <char *>bd.buf, threads)
                if bad < 0 and _tracing() and outer * nidx * row:
                    c = _record(_run_gather, "gather", (x, idx, dst))
                    c.c.p[0], c.c.p[1], c.c.p[2] = bx.buf, bi.buf, bd.buf
                    c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = outer, dim, row, bi.itemsize == 8
                    c.c.i[4], c.c.i[5] = nidx, threads
            finally:
                PyBuffer_Release(&bd)
        finally:
            PyBuffer_Release(&bi)
    finally:
        PyBuffer_Release(&bx)
    return bad


cdef int _run_gather(const gk_call *c) noexcept nogil:
    """A replayed gather: nonzero (the plan's failure) when an index is out of range."""
    return gk_gather(<const char *>c.p[0], c.i[0], c.i[1], c.i[2], c.p[1], <int>c.i[3], c.i[4],
                     <char *>c.p[2], <int>c.i[5]) >= 0
