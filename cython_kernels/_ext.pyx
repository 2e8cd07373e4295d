# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin Cython wrappers over the C kernels in src/ (memoryviews in, GIL released while they run),
one wrappers/<family>.pxi per src/<family>.h.

Callers (the backend modules) pass C-contiguous float32 arrays of the right sizes. As defence in
depth every wrapper still checks, with a few comparisons before any C code runs, that the arrays
it is given are large enough for the sizes it is told (and that indices / geometry are in range),
and raises ValueError otherwise: no call can make a kernel read or write out of bounds. Every
kernel takes its thread count (for the kernels' pool, src/threadpool.h) explicitly.
"""

from libc.math cimport INFINITY
from libc.string cimport memset

include "wrappers/checks.pxi"
include "wrappers/runtime.pxi"
include "wrappers/plan.pxi"
include "wrappers/gemm.pxi"
include "wrappers/conv.pxi"
include "wrappers/winograd.pxi"
include "wrappers/pool.pxi"
include "wrappers/elementwise.pxi"
include "wrappers/normalize.pxi"
include "wrappers/rnn.pxi"
include "wrappers/layout.pxi"
include "wrappers/upsample.pxi"
include "wrappers/qgemm.pxi"
include "wrappers/qdynamic.pxi"
include "wrappers/qconv.pxi"
include "wrappers/qelementwise.pxi"
include "wrappers/reduce.pxi"
include "wrappers/cast.pxi"
include "wrappers/where.pxi"
include "wrappers/train.pxi"
include "wrappers/nchwc.pxi"
include "wrappers/bf16.pxi"
include "wrappers/gemm_direct.pxi"
include "wrappers/conv1x1.pxi"
include "wrappers/attention.pxi"
include "wrappers/gemm_i8w.pxi"
