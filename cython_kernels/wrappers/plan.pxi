# Segment plans (src/plan.h): recording the C calls a kernel makes, and running a recorded list of
# them in one call with the GIL released.
#
# While a trace is open (trace_begin/trace_end, on one thread), each instrumented wrapper records
# the C call it just made as a `Call`: the adapter that repeats it and the exact arguments it ran
# with, keeping the objects whose memory the pointers address alive. gossamer.cython_kernels
# .segments turns the calls of a run of nodes into a `Plan`. A wrapper that is not instrumented
# records nothing: only kernels that declare themselves traceable (every C call they make is
# recorded, and they do no other work on data) are traced, and segments.py verifies each plan by
# replaying it once against the node-by-node results.

from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBuffer_Release, PyObject_GetBuffer
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memcpy
from libc.stdint cimport uintptr_t

import numpy as _np

cdef extern from "pythread.h":
    unsigned long PyThread_get_thread_ident()

cdef extern from "src/plan.h" nogil:
    enum:
        GK_CALL_P
        GK_CALL_I
        GK_CALL_F
    ctypedef struct gk_call
    ctypedef int (*gk_call_fn)(const gk_call *c) noexcept nogil
    ctypedef struct gk_call:
        gk_call_fn run
        void *p[8]
        long i[28]
        float f[4]
        const void *ep
    ctypedef struct gk_patch:
        long call
        int slot
        int region
        Py_ssize_t offset
    long gk_plan_run(const gk_call *calls, long n)
    void gk_plan_patch(gk_call *calls, const gk_patch *patches, long n, char *const *bases)
    void gk_lut8(const unsigned char *x, const unsigned char *b, long n, const void *table,
                 int esize, void *y)

cdef list _trace = None  # the calls recorded so far while a trace is open, else None
cdef unsigned long _trace_thread = 0


def trace_begin():
    """Starts recording the instrumented C calls this thread makes."""
    global _trace, _trace_thread
    _trace = []
    _trace_thread = PyThread_get_thread_ident()


def trace_end():
    """Stops recording; returns the recorded calls (a list of Call)."""
    global _trace
    calls, _trace = _trace, None
    return calls if calls is not None else []


def trace_untraceable():
    """Marks the open trace (if this thread has one) as not replayable: the kernel is doing work
    that no recorded call repeats (numpy on its data)."""
    if _tracing():
        _trace.append(None)


cdef inline bint _tracing() noexcept:
    return _trace is not None and PyThread_get_thread_ident() == _trace_thread


cdef class Call:
    """One recorded C call: the adapter, its arguments, and the objects it reads and writes."""
    cdef gk_call c
    cdef readonly str name
    cdef readonly tuple keep

    def pointers(self):
        """(slot, address) of every non-NULL pointer argument."""
        return [(k, <uintptr_t>self.c.p[k]) for k in range(GK_CALL_P) if self.c.p[k] != NULL]

    def hold(self, tuple objects):
        """Keeps only these objects (an epilogue the call points at) referenced."""
        self.keep = objects

    def set_pointer(self, int slot, uintptr_t address):
        if slot < 0 or slot >= GK_CALL_P or self.c.p[slot] == NULL:
            raise ValueError(f"Call.set_pointer: slot {slot} holds no pointer")
        self.c.p[slot] = <void *>address

    def __repr__(self):
        return f"Call({self.name})"


cdef Call _record(gk_call_fn fn, str name, tuple keep):
    """A new call appended to the open trace (the caller fills its slots)."""
    cdef Call call = Call.__new__(Call)
    memset(&call.c, 0, sizeof(gk_call))
    call.c.run = fn
    call.name = name
    call.keep = keep
    _trace.append(call)
    return call


cdef class Plan:
    """Recorded calls run in order by one C call. Regions are the memory that may move between
    runs: `run(arrays)` takes one array per region, checks its shape and dtype (and, for a region
    whose address must not move, the address), patches the pointers into it and runs."""
    cdef gk_call *calls
    cdef long n
    cdef gk_patch *patches
    cdef long npatch
    cdef char **bases
    cdef int nregions
    cdef list shapes, dtypes
    cdef uintptr_t *fixed
    cdef tuple keep

    def __cinit__(self):
        self.calls = NULL
        self.patches = NULL
        self.bases = NULL
        self.fixed = NULL

    def __init__(self, list calls, list patches, list regions):
        """calls: Call objects; patches: (call, slot, region, offset); regions: (shape, dtype,
        fixed address or 0) per region."""
        cdef Call c
        cdef long k
        self.n, self.npatch, self.nregions = len(calls), len(patches), len(regions)
        self.calls = <gk_call *>PyMem_Malloc(max(self.n, 1) * sizeof(gk_call))
        self.patches = <gk_patch *>PyMem_Malloc(max(self.npatch, 1) * sizeof(gk_patch))
        self.bases = <char **>PyMem_Malloc(max(self.nregions, 1) * sizeof(char *))
        self.fixed = <uintptr_t *>PyMem_Malloc(max(self.nregions, 1) * sizeof(uintptr_t))
        if self.calls == NULL or self.patches == NULL or self.bases == NULL or self.fixed == NULL:
            raise MemoryError()
        for k in range(self.n):
            c = calls[k]
            memcpy(&self.calls[k], &c.c, sizeof(gk_call))
        for k in range(self.npatch):
            call, slot, region, offset = patches[k]
            if not (0 <= call < self.n and 0 <= slot < GK_CALL_P and 0 <= region < self.nregions):
                raise ValueError(f"Plan: patch {patches[k]} out of range")
            self.patches[k].call, self.patches[k].slot = call, slot
            self.patches[k].region, self.patches[k].offset = region, offset
        self.shapes = [tuple(r[0]) for r in regions]
        self.dtypes = [_np.dtype(r[1]) for r in regions]
        for k in range(self.nregions):
            self.fixed[k] = regions[k][2]
            self.bases[k] = NULL
        self.keep = tuple(calls)

    def __dealloc__(self):
        PyMem_Free(self.calls)
        PyMem_Free(self.patches)
        PyMem_Free(self.bases)
        PyMem_Free(self.fixed)

    def __len__(self):
        return self.n

    def fixed_addresses(self):
        """Per region: the address its array must have (0: any, the pointers are patched)."""
        return [self.fixed[k] for k in range(self.nregions)]

    def run(self, list arrays):
        """-1: every call ran; k >= 0: call k reported a failure (those after it did not run);
        -2: an array does not match its region (nothing ran)."""
        cdef Py_buffer b
        cdef int r
        cdef long failed
        cdef uintptr_t address
        if len(arrays) != self.nregions:
            raise ValueError(f"Plan.run: {len(arrays)} arrays for {self.nregions} regions")
        for r in range(self.nregions):
            a = arrays[r]
            if type(a) is not _np.ndarray or a.shape != self.shapes[r] or \
                    a.dtype != self.dtypes[r]:
                return -2
            try:
                PyObject_GetBuffer(a, &b, PyBUF_C_CONTIGUOUS)
            except BufferError:
                return -2
            address = <uintptr_t>b.buf
            PyBuffer_Release(&b)
            if self.fixed[r] != 0 and address != self.fixed[r]:
                return -2
            self.bases[r] = <char *>address
        with nogil:
            gk_plan_patch(self.calls, self.patches, self.npatch, self.bases)
            failed = gk_plan_run(self.calls, self.n)
        return failed


cdef int _run_lut8(const gk_call *c) noexcept nogil:
    gk_lut8(<const unsigned char *>c.p[0], <const unsigned char *>c.p[1], c.i[0], c.p[2],
            <int>c.i[1], c.p[3])
    return 0


def lut8(const unsigned char[::1] x, const unsigned char[::1] b, table, y):
    """y[i] = table[x[i]] (b None) or table[(x[i] << 8) | b[i]]: 8-bit inputs, a 1- or 2-byte
    table of 256 (65536 with b) entries, y C-contiguous with x's size and the table's dtype."""
    cdef const unsigned char[::1] t = table.view(_np.uint8).reshape(-1)
    cdef unsigned char[::1] yv = y.view(_np.uint8).reshape(-1)
    cdef int esize = table.dtype.itemsize
    cdef long n = x.shape[0]
    cdef long entries = 256 if b is None else 65536
    if esize != 1 and esize != 2 or y.dtype.itemsize != esize or not y.flags.c_contiguous:
        raise ValueError("lut8: the table and y must be of one 1- or 2-byte dtype")
    if t.shape[0] != entries * esize:
        raise ValueError(f"lut8: the table must hold {entries} entries")
    if b is not None and b.shape[0] != n:
        raise ValueError("lut8: x and b differ in size")
    if yv.shape[0] != n * esize:
        raise ValueError("lut8: y differs from x in size")
    if n == 0:
        return
    cdef const unsigned char *pb = NULL if b is None else &b[0]
    with nogil:
        gk_lut8(&x[0], pb, n, &t[0], esize, &yv[0])
    cdef Call call
    if _tracing():
        call = _record(_run_lut8, "lut8", (x, b, t, yv))
        call.c.p[0], call.c.p[1] = <void *>&x[0], <void *>pb
        call.c.p[2], call.c.p[3] = <void *>&t[0], <void *>&yv[0]
        call.c.i[0], call.c.i[1] = n, esize
