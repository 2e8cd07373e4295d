"""Element-wise (Add/Sub/Mul/Div and two-input Max/Min with common broadcasts; Relu, Clip,
Sigmoid, Tanh, Erf, Gelu, Swish, HardSigmoid, HardSwish, LeakyRelu, PRelu), BatchNormalization
(inference; training mode runs train_kernels.py's), Softmax and LayerNormalization over the last
axis (pooling is in pool_kernels.py).

Shapes need not be known before running: what a kernel needs at prepare time is the rank (and
attributes); broadcast patterns and sizes are worked out per call, and a call whose shapes fall
outside what the kernel handles (e.g. both operands broadcast) raises RuntimeDecline: the host then
runs the reference for that call and counts it in Session.runtime_fallbacks.

Each prepared function carries its reference's signature (functools.wraps), so the host calls it
exactly as it would call the reference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.ops.op_add import add_7
from ..refimpl.ops.op_batch_normalization import batch_normalization_9, batch_normalization_14
from ..refimpl.ops.op_clip import clip_6, clip_11
from ..refimpl.ops.op_div import div_7
from ..refimpl.ops.op_erf import erf_9
from ..refimpl.ops.op_fused_gelu import gelu_1
from ..refimpl.ops.op_fused_hard_swish import hard_swish_1
from ..refimpl.ops.op_fused_layer_normalization import layer_normalization_1
from ..refimpl.ops.op_fused_swish import swish_1
from ..refimpl.ops.op_gelu import gelu_20
from ..refimpl.ops.op_hard_sigmoid import hard_sigmoid_6
from ..refimpl.ops.op_hard_swish import hard_swish_14
from ..refimpl.ops.op_layer_normalization import layer_normalization_17
from ..refimpl.ops.op_leaky_relu import leaky_relu_6
from ..refimpl.ops.op_max import max_8
from ..refimpl.ops.op_min import min_8
from ..refimpl.ops.op_mul import mul_7
from ..refimpl.ops.op_prelu import prelu_7
from ..refimpl.ops.op_relu import relu_6
from ..refimpl.ops.op_sigmoid import sigmoid_6
from ..refimpl.ops.op_softmax import softmax_1, softmax_13
from ..refimpl.ops.op_sub import sub_7
from ..refimpl.ops.op_swish import swish_24
from ..refimpl.ops.op_tanh import tanh_6
from ._common import (
    F32,
    UNARY_OPS,
    all_float32,
    apply_prelu,
    broadcast_plan,
    known_shape,
    scratch,
    static_shape,
    threads,
)
from ._native import ext
from .segments import traceable
from .train_kernels import bn_train_refusal, prepare_bn_train

Array = np.ndarray
BINARY = {"Add": 0, "Sub": 1, "Mul": 2, "Div": 3, "Max": 5, "Min": 6}
RELU, CLIP, SIGMOID = UNARY_OPS["Relu"], UNARY_OPS["Clip"], UNARY_OPS["Sigmoid"]


def _like(reference: Callable[..., Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, presented with reference's signature (it is called with the reference's arguments)."""
    return functools.update_wrapper(fn, reference, assigned=("__doc__",), updated=())  # type: ignore[arg-type]


def _same_signature(reference: Callable[..., Any]) -> Callable[..., Any]:
    def stub(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this kernel runs only through its prepare() hook")

    stub.__wrapped__ = reference  # type: ignore[attr-defined]
    return stub


def _declare(
    reference: Callable[..., Any],
    supports: Any,
    prepare: Any,
    dtypes: frozenset = frozenset({"float32"}),
) -> Any:
    fn = _same_signature(reference)
    wrapped = kernel(reference, dtypes=dtypes, supports=supports, prepare=prepare)(fn)
    return wrapped


def _as_prepared(reference: Callable[..., Any], run: Callable[..., Any]) -> Callable[..., Any]:
    run.__wrapped__ = reference  # type: ignore[attr-defined]
    return traceable(run)  # every call is C calls on its arrays (segments.py)


# ---- binary ops ---------------------------------------------------------------------------------


def _binary_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs)
    if bad:
        return bad
    a, b = known_shape(inputs[0]), known_shape(inputs[1])
    if a is None or b is None:  # the broadcast pattern is worked out per call
        return None
    plan = broadcast_plan(a, b)
    return plan if isinstance(plan, str) else None


def _pair_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    """Max/Min take any number of inputs; the kernel folds exactly two."""
    if len(inputs) != 2:
        return f"{len(inputs)} inputs (the kernel takes two)"
    return _binary_refusal(node, inputs)


def _prepare_binary(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        op = BINARY[node.op_type]
        plans: dict[tuple, tuple | str] = {}  # (a shape, b shape) -> broadcast_plan

        def run(a: Array, b: Array) -> Array:
            key = (a.shape, b.shape)
            plan = plans.get(key)
            if plan is None:
                plan = broadcast_plan(a.shape, b.shape)
                if len(plans) >= 64:
                    plans.clear()
                plans[key] = plan
            if isinstance(plan, str) or a.dtype != F32 or b.dtype != F32:
                raise RuntimeDecline(f"broadcast {a.shape} with {b.shape} is outside the kernel")
            swap, o, m, i, fo, fm, fi = plan
            big, small = (b, a) if swap else (a, b)
            y = output_array(big.shape, F32)
            ext().binary(op, _flat(big), _flat(small), y.reshape(-1), o, m, i, fo, fm, fi, swap,
                         threads())  # fmt: skip
            return y

        return _as_prepared(reference, run)

    return prepare


def _flat(x: Array) -> Array:
    """x as a flat C-contiguous float32 array (a view when it already is one)."""
    return x.reshape(-1) if x.flags.c_contiguous else np.ascontiguousarray(x, F32).reshape(-1)


# ---- unary ops ----------------------------------------------------------------------------------


def _unary(x: Array, op: int, lo: float = 0.0, hi: float = 0.0) -> Array:
    y = output_array(x.shape, F32)
    ext().unary(op, np.ascontiguousarray(x, F32).reshape(-1), y.reshape(-1), lo, hi, threads())
    return y


# reference -> (op code, its float attributes in the order the kernel takes them, their defaults)
ACTIVATIONS: dict[Callable[..., Any], tuple[str, tuple[tuple[str, float], ...]]] = {
    tanh_6: ("Tanh", ()),
    erf_9: ("Erf", ()),
    hard_swish_14: ("HardSwish", ()),
    hard_swish_1: ("HardSwish", ()),
    leaky_relu_6: ("LeakyRelu", (("alpha", 0.01),)),
    hard_sigmoid_6: ("HardSigmoid", (("alpha", 0.20000000298023224), ("beta", 0.5))),
    swish_24: ("Swish", (("alpha", 1.0),)),
    swish_1: ("Swish", (("alpha", 1.0),)),
    gelu_20: ("Gelu", ()),
    gelu_1: ("Gelu", ()),
}


def _activation_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    approximate = node.attrs.get("approximate", "none")
    if node.op_type == "Gelu" and approximate not in ("none", "tanh"):
        return f"approximate={approximate!r}"
    return all_float32(inputs)


def _prepare_activation(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        name, params = ACTIVATIONS[reference]
        if name == "Gelu" and node.attrs.get("approximate", "none") == "tanh":
            name = "GeluTanh"
        values = [float(node.attrs.get(k, d)) for k, d in params] + [0.0, 0.0]
        if name == "Swish":
            values[0] = float(F32(values[0]))  # alpha * x as float32 (Mul of a float32 array)
        op, lo, hi = UNARY_OPS[name], values[0], values[1]
        return _as_prepared(reference, lambda x, **_: _unary(x, op, lo, hi))

    return prepare


def _prelu_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs)
    if bad:
        return bad
    x, slope = known_shape(inputs[0]), known_shape(inputs[1])
    if x is not None and slope is not None:
        plan = broadcast_plan(x, slope)
        if isinstance(plan, str) or plan[0]:
            return "slope does not broadcast onto the input"
    return None


def _prepare_prelu(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    return _as_prepared(prelu_7, lambda x, slope: apply_prelu(x, slope))


def _prepare_unary(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        if reference is relu_6:
            return _as_prepared(reference, lambda x: _unary(x, RELU))
        if reference is sigmoid_6:
            return _as_prepared(reference, lambda x: _unary(x, SIGMOID))
        if reference is clip_6:
            lo = float(F32(node.attrs.get("min", -3.4028234663852886e38)))
            hi = float(F32(node.attrs.get("max", 3.4028234663852886e38)))
            return _as_prepared(reference, lambda x, **_: _unary(x, CLIP, lo, hi))

        def clip(x: Array, min: Array | None = None, max: Array | None = None) -> Array:
            lo = -np.inf if min is None else float(np.asarray(min, F32).reshape(()))
            hi = np.inf if max is None else float(np.asarray(max, F32).reshape(()))
            return _unary(x, CLIP, lo, hi)

        return _as_prepared(reference, clip)

    return prepare


def _clip11_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs)
    if bad:
        return bad
    for v in inputs[1:]:
        shape = known_shape(v) if v is not None else ()
        if shape is None or int(np.prod(shape)) != 1:
            return "min/max not known to be scalars"
    return None


# ---- normalisation, softmax ------------------------------------------------------------------


def _bn_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if node.attrs.get("training_mode", 0) or len([o for o in node.outputs if o]) > 1:
        return "training mode not supported"
    x = static_shape(inputs[0])
    return all_float32(inputs[:1]) or (None if x and len(x) >= 2 else "rank < 2 or unknown")


def _prepare_bn(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        eps = float(node.attrs.get("epsilon", 1e-5))

        def terms(scale: Array, b: Array, mean: Array, var: Array) -> tuple[Array, Array]:
            s, bb, m, v = (np.asarray(t, np.float64).reshape(-1) for t in (scale, b, mean, var))
            k = s / np.sqrt(v + eps)  # as the reference: float64 terms rounded once
            return np.ascontiguousarray(k, F32), np.ascontiguousarray(bb - m * k, F32)

        fixed = (
            terms(*(constants[i] for i in range(1, 5)))
            if set(range(1, 5)) <= set(constants)
            else None
        )

        def run(x: Array, scale: Array, b: Array, mean: Array, var: Array, **_: Any) -> Array:
            k, shift = fixed if fixed is not None else terms(scale, b, mean, var)
            y = output_array(x.shape, F32)
            c = x.shape[1]
            ext().channel_affine(np.ascontiguousarray(x, F32).reshape(-1), k, shift,
                                 y.reshape(-1), x.shape[0], c, y.size // max(1, x.shape[0] * c),
                                 threads())  # fmt: skip
            return y

        return _as_prepared(reference, run)

    return prepare


def _bn14_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if node.attrs.get("training_mode", 0):  # training: train_kernels.py
        return bn_train_refusal(node, inputs)
    return _bn_refusal(node, inputs)


def _prepare_bn14(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    if node.attrs.get("training_mode", 0):
        return prepare_bn_train(batch_normalization_14, node)
    return _prepare_bn(batch_normalization_14)(node, constants)


def _last_axis_refusal(
    node: Node, inputs: list[Value | None], default_axis: int = -1
) -> str | None:
    x = static_shape(inputs[0])
    if x is None or not x or x[-1] == 0:
        return "rank unknown, 0-d or empty last axis"
    axis = int(node.attrs.get("axis", default_axis))
    if node.op_type == "LayerNormalization" and int(node.attrs.get("stash_type", 1)) != 1:
        return "stash_type other than float32"
    # Softmax-1/11: rows of a 2-D view; Softmax-13: any axis (one that is not last: columns)
    any_axis = node.op_type == "Softmax"
    if axis not in (-1, len(x) - 1) and not (any_axis and -len(x) <= axis < len(x)):
        return f"axis {axis} is not the last axis"
    return all_float32(inputs)


def _prepare_softmax(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        axis = int(node.attrs.get("axis", 1 if reference is softmax_1 else -1))

        def run(x: Array, **kwargs: Any) -> Array:
            a = axis + x.ndim if axis < 0 else axis
            coerced = reference is softmax_1  # the axis and all after it, as one row
            n = int(np.prod(x.shape[a:])) if coerced else x.shape[a]
            if x.size == 0 or n == 0 or x.dtype != F32:
                raise RuntimeDecline(f"empty input or softmax axis (shape {x.shape})")
            y = output_array(x.shape, F32)
            inner = 1 if coerced else int(np.prod(x.shape[a + 1 :]))
            if inner == 1:
                ext().softmax_rows(_flat(x).reshape(-1, n), y.reshape(-1, n), threads())
            else:  # an axis before the last: softmax down columns, no transpose
                shape = (-1, n, inner)
                ext().softmax_axis(_flat(x).reshape(shape), y.reshape(shape), threads())
            return y

        return _as_prepared(reference, run)

    return prepare


def _prepare_layernorm(reference: Callable[..., Any]) -> Callable[..., Any]:
    def prepare(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
        eps = float(node.attrs.get("epsilon", 1e-5))
        # scale and bias as flat float32 vectors, made once when they are initializers
        fixed = {i: np.ascontiguousarray(constants[i], F32).reshape(-1)
                 for i in (1, 2) if i in constants}  # fmt: skip
        with_stats = any(node.outputs[1:3])  # Mean / InvStdDev asked for

        def run(x: Array, scale: Array, b: Array | None = None, **kwargs: Any) -> tuple:
            n = x.shape[-1]
            if n == 0 or scale.size != n or (b is not None and b.size != n):
                raise RuntimeDecline(f"normalised axis {n} vs scale {scale.shape}")
            sc = fixed.get(1)
            if sc is None:
                sc = np.ascontiguousarray(scale, F32).reshape(-1)
            bias = None if b is None else fixed.get(2)
            if b is not None and bias is None:
                bias = np.ascontiguousarray(b, F32).reshape(-1)
            y = output_array(x.shape, F32)
            stats = x.shape[:-1] + (1,)
            if with_stats:
                mean, inv_std = output_array(stats, F32, 1), output_array(stats, F32, 2)
            else:  # nobody reads them: the shared work buffer (no temporary, so segments hold)
                rows = y.size // n
                work = scratch(2 * rows)
                mean, inv_std = work[:rows].reshape(stats), work[rows:].reshape(stats)
            ext().layernorm_rows(_flat(x).reshape(-1, n), sc, bias, y.reshape(-1, n),
                                 mean.reshape(-1), inv_std.reshape(-1), eps, threads())  # fmt: skip
            return y, mean, inv_std

        return _as_prepared(reference, run)

    return prepare


def _layernorm_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = _last_axis_refusal(node, inputs)
    if why:
        return why
    n = static_shape(inputs[0])[-1]  # type: ignore[index]
    for v in inputs[1:3]:
        s = known_shape(v) if v is not None else (n,)
        if n is not None and s is not None and int(np.prod(s)) != n:
            return "scale/bias other than one value per element of the last axis"
    return None


class ElementwiseKernels(KernelBackend):
    """The element-wise, pooling and normalisation kernels (mixed into CythonBackend)."""

    add = _declare(add_7, _binary_refusal, _prepare_binary(add_7))
    sub = _declare(sub_7, _binary_refusal, _prepare_binary(sub_7))
    mul = _declare(mul_7, _binary_refusal, _prepare_binary(mul_7))
    div = _declare(div_7, _binary_refusal, _prepare_binary(div_7))
    max_ = _declare(max_8, _pair_refusal, _prepare_binary(max_8))
    min_ = _declare(min_8, _pair_refusal, _prepare_binary(min_8))
    relu = _declare(relu_6, None, _prepare_unary(relu_6))
    sigmoid = _declare(sigmoid_6, None, _prepare_unary(sigmoid_6))
    prelu = _declare(prelu_7, _prelu_refusal, _prepare_prelu)
    clip_6 = _declare(clip_6, None, _prepare_unary(clip_6))
    clip_11 = _declare(clip_11, _clip11_refusal, _prepare_unary(clip_11))
    bn_9 = _declare(batch_normalization_9, _bn_refusal, _prepare_bn(batch_normalization_9))
    bn_14 = _declare(batch_normalization_14, _bn14_refusal, _prepare_bn14)
    softmax_1 = _declare(
        softmax_1, lambda n, i: _last_axis_refusal(n, i, 1), _prepare_softmax(softmax_1)
    )
    softmax_13 = _declare(softmax_13, _last_axis_refusal, _prepare_softmax(softmax_13))
    ln_17 = _declare(
        layer_normalization_17, _layernorm_refusal, _prepare_layernorm(layer_normalization_17)
    )
    ln_fused = _declare(
        layer_normalization_1, _layernorm_refusal, _prepare_layernorm(layer_normalization_1)
    )


for _ref in ACTIVATIONS:  # Tanh, Erf, Gelu, Swish, HardSigmoid, HardSwish, LeakyRelu
    ElementwiseKernels.kernels[_ref] = _declare(
        _ref, _activation_refusal, _prepare_activation(_ref)
    )
