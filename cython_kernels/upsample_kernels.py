"""Kernels that grow the spatial size (float32): ConvTranspose as packed GEMM + col2im, Resize."""

from __future__ import annotations

from ..plugins import KernelBackend


class UpsampleKernels(KernelBackend):
    """The upsampling kernels (mixed into CythonBackend)."""
