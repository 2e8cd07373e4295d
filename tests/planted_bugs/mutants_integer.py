"""Planted bugs in the integer and gradient case families (quantized_contrib, tflite_int8,
gradients). Same rules as mutants_compute.py: one realistic kernel bug each, next to a correct
Relu."""

from __future__ import annotations

import numpy as np
from gossamer.plugins import kernel
from gossamer.refimpl.grad.grad_relu import relu_grad_6
from gossamer.refimpl.ops.op_adam import adam_1
from gossamer.refimpl.ops.op_qlinear_add import qlinear_add_1
from gossamer.refimpl.ops.op_tfl_add import tfl_add_1

from ._mutate import Neighbour, forcing


class QLinearAddZeroPointB(Neighbour):
    """com.microsoft QLinearAdd ignores B's zero point (treats B as symmetric)."""

    name = "qlinear_add_zero_point_b"

    @kernel(qlinear_add_1)
    def qlinear_add(a, a_scale, a_zero_point, b, b_scale, b_zero_point, c_scale, c_zero_point=None):
        zero = None if b_zero_point is None else np.zeros_like(b_zero_point)
        return qlinear_add_1(a, a_scale, a_zero_point, b, b_scale, zero, c_scale, c_zero_point)


class TFLiteAddActivation(Neighbour):
    """TFLite int8 ADD drops its fused activation clamp (RELU/RELU6 computed as NONE)."""

    name = "tflite_add_activation"
    add = kernel(tfl_add_1)(forcing(tfl_add_1, activation="NONE"))


class ReluGradLeak(Neighbour):
    """The Relu gradient lets 1 % of dy through where x < 0 (a leaky-relu kernel reused)."""

    name = "relu_grad_leak"

    @kernel(relu_grad_6)
    def relu_grad(dy, x):
        (dx,) = relu_grad_6(dy, x)
        return (dx + (0.01 * dy * (x < 0)).astype(dx.dtype),)


class AdamNoBiasCorrection(Neighbour):
    """Adam ignores the step count T: no bias correction (the first step's rate at every step)."""

    name = "adam_no_bias_correction"

    @kernel(adam_1)
    def adam(r, t, *tensors, alpha=0.9, beta=0.999, epsilon=1e-6, norm_coefficient=0.0,
             norm_coefficient_post=0.0):  # fmt: skip
        return adam_1(r, np.zeros_like(t), *tensors, alpha=alpha, beta=beta, epsilon=epsilon,
                      norm_coefficient=norm_coefficient,
                      norm_coefficient_post=norm_coefficient_post)  # fmt: skip


CLASSES = (QLinearAddZeroPointB, TFLiteAddActivation, ReluGradLeak, AdamNoBiasCorrection)
