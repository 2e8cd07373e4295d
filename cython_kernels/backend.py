"""CythonBackend: the FP32 CPU backend made of the kernel tables in this package.

Kernels are declared per reference function in conv_kernels, gemm_kernels, elementwise_kernels,
pool_kernels, rnn_kernels, layout_kernels, copy_kernels, conv_transpose_kernels, resize_kernels,
maths_kernels, reduce_kernels, cast_kernels, broadcast_kernels, where_kernels and the int8
qconv_kernels, qgemm_kernels, qelementwise_kernels, tflite_kernels and tflite_table_kernels
(TFLite's 8-bit ops), and grad_kernels (training's hot VJPs); each declines (with a reason shown
by `gossamer explain`) the nodes it cannot run exactly, and shape arithmetic is left to the
reference on purpose (not_worth.py says so). A table is imported the first time the backend is
asked about one of its ops (lazy_tables.py), so a session imports only the tables its model needs.
"""

from __future__ import annotations

from ..plugins import KernelBackend
from ..refimpl.ir import Graph
from .lazy_tables import LazyKernels
from .not_worth import explain_declines

# The kernel tables (module, class), highest priority first: where two declare a kernel for one
# reference function, the earlier one's wins. Imported lazily (lazy_tables.py); a module may hold
# one table per op family, built on first access (layout_kernels, copy_kernels, pool_kernels,
# rnn_kernels, maths_kernels, broadcast_kernels, where_kernels).
TABLES: tuple[tuple[str, str], ...] = (
    ("conv_kernels", "ConvKernels"),
    ("conv_transpose_kernels", "ConvTransposeKernels"),
    ("gemm_kernels", "GemmKernels"),
    ("elementwise_kernels", "ElementwiseKernels"),
    ("pool_kernels", "MaxPoolKernels"),
    ("pool_kernels", "AveragePoolKernels"),
    ("pool_kernels", "GlobalAveragePoolKernels"),
    ("rnn_kernels", "LstmKernels"),
    ("rnn_kernels", "GruKernels"),
    ("layout_kernels", "TransposeKernels"),
    ("copy_kernels", "ConcatKernels"),
    ("copy_kernels", "SplitKernels"),
    ("copy_kernels", "SliceKernels"),
    ("copy_kernels", "GatherKernels"),
    ("copy_kernels", "PadKernels"),
    ("layout_kernels", "ReshapeKernels"),
    ("layout_kernels", "FlattenKernels"),
    ("layout_kernels", "SqueezeKernels"),
    ("layout_kernels", "UnsqueezeKernels"),
    ("resize_kernels", "ResizeKernels"),
    ("qconv_kernels", "QConvKernels"),
    ("qgemm_kernels", "QGemmKernels"),
    ("qelementwise_kernels", "QElementwiseKernels"),
    ("tflite_kernels", "TFLiteKernels"),
    ("tflite_table_kernels", "TFLiteTableKernels"),
    ("grad_kernels", "GradKernels"),
    ("optimizer_kernels", "OptimizerKernels"),
    ("maths_kernels", "SqrtKernels"),
    ("maths_kernels", "LogKernels"),
    ("maths_kernels", "PowKernels"),
    ("reduce_kernels", "ReduceKernels"),
    ("cast_kernels", "CastKernels"),
    ("broadcast_kernels", "ExpandKernels"),
    ("broadcast_kernels", "TileKernels"),
    ("where_kernels", "WhereKernels"),
    ("where_kernels", "IsNanKernels"),
    ("variadic_kernels", "VariadicKernels"),
    ("nchwc_kernels", "NchwcKernels"),
)


class CythonBackend(KernelBackend):
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

    def blocked_layout_wide(self) -> bool:
        """Whether the blocked-layout pass also blocks chains without a depthwise conv and wide
        k x k convs for these kernels (gossamer/layout_planning.py): with the AVX-512 kernels,
        where that was measured faster (benchmarks/results/nchwc_layout.md, Session 19)."""
        from ._native import IMPORT_ERROR, simd_level

        return not IMPORT_ERROR and simd_level() == "avx512f"


# set after the class statement: KernelBackend.__init_subclass__ collects `kernels` eagerly
CythonBackend.kernels = LazyKernels(__package__, TABLES)  # type: ignore[assignment]


if __name__ == "__main__":  # regenerates kernel_index.py from the tables above
    from pathlib import Path

    from .lazy_tables import index_of, index_text

    path = Path(__file__).with_name("kernel_index.py")
    path.write_text(index_text(index_of(CythonBackend.kernels.all_tables())))  # type: ignore[attr-defined]
    print(f"wrote {path}")
