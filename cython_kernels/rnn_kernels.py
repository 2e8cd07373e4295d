"""LSTM and GRU (float32): the input projection of all steps as one GEMM, then the recurrence in C."""

from __future__ import annotations

from ..plugins import KernelBackend


class RnnKernels(KernelBackend):
    """The recurrent kernels (mixed into CythonBackend)."""
