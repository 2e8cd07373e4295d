"""Data-movement kernels (float32 and other fixed-size dtypes): Transpose, Concat, Split, Slice,
Gather and friends as strided copies in C."""

from __future__ import annotations

from ..plugins import KernelBackend


class LayoutKernels(KernelBackend):
    """The data-movement kernels (mixed into CythonBackend)."""
