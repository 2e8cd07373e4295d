# Argument checks and pointer helpers shared by every wrapper (included first by _ext.pyx).

cdef inline const float *ptr(const float[::1] v) noexcept nogil:
    return &v[0] if v.shape[0] else NULL


cdef inline const float *optr(const float[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


cdef inline Py_ssize_t olen(const float[::1] v) noexcept:
    """Length of an optional vector (-1 for None)."""
    return -1 if v is None else v.shape[0]


cdef inline int _need(bint ok, str what) except -1:
    if not ok:
        raise ValueError(what)
    return 0


# Bound on every window size, stride, dilation and pad the C kernels take: products of a few of
# them (offsets, padded extents, polyphase buffer sizes) then stay far inside int64.
cdef long GEOMETRY_MAX = 1 << 20


cdef inline int _geometry(str name, long kh, long kw, long sh, long sw, long dh, long dw) except -1:
    """Kernel sizes, strides and dilations must be in [1, GEOMETRY_MAX]."""
    if kh < 1 or kw < 1 or sh < 1 or sw < 1 or dh < 1 or dw < 1:
        raise ValueError(f"{name}: kernel, stride and dilation must be >= 1 "
                         f"(got {kh}x{kw}, {sh}x{sw}, {dh}x{dw})")
    if (kh > GEOMETRY_MAX or kw > GEOMETRY_MAX or sh > GEOMETRY_MAX or sw > GEOMETRY_MAX
            or dh > GEOMETRY_MAX or dw > GEOMETRY_MAX):
        raise ValueError(f"{name}: kernel, stride and dilation must be <= {GEOMETRY_MAX} "
                         f"(got {kh}x{kw}, {sh}x{sw}, {dh}x{dw})")
    return 0


cdef inline int _pads(str name, long ph, long pw) except -1:
    """Begin pads must be in [0, GEOMETRY_MAX]."""
    if ph < 0 or pw < 0 or ph > GEOMETRY_MAX or pw > GEOMETRY_MAX:
        raise ValueError(f"{name}: pads must be in [0, {GEOMETRY_MAX}] (got {ph}, {pw})")
    return 0


cdef inline int _vec(str name, str arg, const float[::1] v, long n, bint optional) except -1:
    """v (None allowed if optional) holds at least n floats."""
    if v is None:
        if not optional and n > 0:
            raise ValueError(f"{name}: {arg} is required")
        return 0
    if v.shape[0] < n:
        raise ValueError(f"{name}: {arg} has {v.shape[0]} floats, needs {n}")
    return 0
