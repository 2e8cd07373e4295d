"""Conv, FusedConv, MatMul, FusedMatMul, Gemm and FusedGemm (float32 in and out), and the blocked
layout's 1x1 NchwcConv on the AMX tiles (bf16_nchwc_conv.py), in bfloat16 with
float32 accumulation: the kernels of the `cython-bf16` backend (precision="bf16").

Each product runs on the BF16 GEMM (src/bf16.h): the weights rounded to bfloat16 and packed once
(at prepare time when they are constants, else per call), the activations rounded as they are
packed (a conv's through the float32 im2col panels, src/conv.h), float32 accumulators, and the
float32 GEMM's own epilogue (biases, residual, clip, activation: gemm_kernels.make_epilogue).
What it computes is conformance/bf16_reference.py's bf16_matmul plus that epilogue. Depthwise
convs have no inner product to pair and are declined (the float32 kernels run them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plugins import KernelBackend, kernel
from ..refimpl.ops.op_conv import conv_1
from ..refimpl.ops.op_fused_conv import fused_conv_1
from ..refimpl.ops.op_fused_conv_pair import fused_conv_pair_1
from ..refimpl.ops.op_fused_gemm import fused_gemm_1
from ..refimpl.ops.op_fused_mat_mul import fused_mat_mul_1
from ..refimpl.ops.op_gemm import gemm_7, gemm_11
from ..refimpl.ops.op_mat_mul import mat_mul_1
from ..refimpl.ops.op_nchwc_conv import nchwc_conv_1
from .bf16_conv import conv_refusal, prepare_conv, prepare_fused_conv
from .bf16_conv_pair import pair_refusal, prepare_fused_conv_pair
from .bf16_matmul import (
    gemm_refusal,
    matmul_refusal,
    prepare_fused_gemm,
    prepare_fused_matmul,
    prepare_plain_gemm,
    prepare_plain_matmul,
)
from .bf16_nchwc_conv import nchwc_1x1_refusal, prepare_nchwc_1x1

Array = np.ndarray
FLOAT32 = {"float32"}


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class Bf16Kernels(KernelBackend):
    """The bf16 kernels (the whole kernel table of CythonBf16Backend)."""

    @kernel(conv_1, dtypes=FLOAT32, supports=conv_refusal, prepare=prepare_conv)
    def conv(
        x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_conv_1, dtypes=FLOAT32, supports=conv_refusal, prepare=prepare_fused_conv)
    def fused_conv(
        x: Array, w: Array, b: Array | None = None, slope: Array | None = None,
        z: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_conv_pair_1, dtypes=FLOAT32, supports=pair_refusal,
            prepare=prepare_fused_conv_pair)  # fmt: skip
    def fused_conv_pair(
        x: Array, w1: Array, b1: Array | None, w2: Array, b2: Array | None = None,
        z: Array | None = None, *, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None, second_pads: list[int] | None = None,
        second_activation: str = "", second_activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(nchwc_conv_1, dtypes=FLOAT32, supports=nchwc_1x1_refusal, prepare=prepare_nchwc_1x1)
    def nchwc_conv(
        x: Array, w: Array, b: Array | None = None, z: Array | None = None,
        scale: Array | None = None, shift: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(mat_mul_1, dtypes=FLOAT32, supports=matmul_refusal, prepare=prepare_plain_matmul)
    def mat_mul(a: Array, b: Array) -> Array:
        return _unprepared()

    @kernel(fused_mat_mul_1, dtypes=FLOAT32, supports=matmul_refusal, prepare=prepare_fused_matmul)
    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None,
        residual: Array | None = None, *, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_7, dtypes=FLOAT32, supports=gemm_refusal, prepare=prepare_plain_gemm)
    def gemm_7(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_11, dtypes=FLOAT32, supports=gemm_refusal, prepare=prepare_plain_gemm)
    def gemm_11(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_gemm_1, dtypes=FLOAT32, supports=gemm_refusal, prepare=prepare_fused_gemm)
    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
