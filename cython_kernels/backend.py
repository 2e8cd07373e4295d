"""CythonBackend: the FP32 CPU backend made of the kernel tables in this package.

Kernels are declared per reference function in conv_kernels, gemm_kernels, elementwise_kernels,
pool_kernels, rnn_kernels, layout_kernels, conv_transpose_kernels, resize_kernels, maths_kernels,
reduce_kernels, cast_kernels, broadcast_kernels, where_kernels and the int8 qconv_kernels,
qgemm_kernels, qelementwise_kernels, tflite_kernels and tflite_table_kernels (TFLite's 8-bit ops),
and grad_kernels (training's hot VJPs); each declines (with a reason shown by `gossamer explain`)
the nodes it cannot run exactly, and shape arithmetic is left to the reference on purpose
(not_worth.py says so).
"""

from __future__ import annotations

from ..refimpl.ir import Graph
from .broadcast_kernels import BroadcastKernels
from .cast_kernels import CastKernels
from .conv_kernels import ConvKernels
from .conv_transpose_kernels import ConvTransposeKernels
from .elementwise_kernels import ElementwiseKernels
from .gemm_kernels import GemmKernels
from .grad_kernels import GradKernels
from .layout_kernels import LayoutKernels
from .maths_kernels import MathsKernels
from .not_worth import explain_declines
from .pool_kernels import PoolKernels
from .qconv_kernels import QConvKernels
from .qelementwise_kernels import QElementwiseKernels
from .qgemm_kernels import QGemmKernels
from .reduce_kernels import ReduceKernels
from .resize_kernels import ResizeKernels
from .rnn_kernels import RnnKernels
from .tflite_kernels import TFLiteKernels
from .tflite_table_kernels import TFLiteTableKernels
from .where_kernels import WhereKernels


class CythonBackend(
    ConvKernels,
    ConvTransposeKernels,
    GemmKernels,
    ElementwiseKernels,
    PoolKernels,
    RnnKernels,
    LayoutKernels,
    ResizeKernels,
    QConvKernels,
    QGemmKernels,
    QElementwiseKernels,
    TFLiteKernels,
    TFLiteTableKernels,
    GradKernels,
    MathsKernels,
    ReduceKernels,
    CastKernels,
    BroadcastKernels,
    WhereKernels,
):
    """Cython + C SIMD kernels (AVX-512, AVX2 or generic, chosen at run time), threads per
    session (the kernels' own pool)."""

    name = "cython"
    priority = 100

    def is_available(self) -> str | None:
        from ._native import IMPORT_ERROR

        return IMPORT_ERROR

    def get_capability(self, graph: Graph):  # type: ignore[no-untyped-def]
        return explain_declines(graph, super().get_capability(graph))

    def describe(self) -> str:
        from ._native import IMPORT_ERROR, simd_level

        return f"cython ({'unavailable' if IMPORT_ERROR else simd_level()})"
