"""Gossamer's own ops (domain "gossamer") as ONNX model-local functions, for other runtimes.

The optimiser writes ops only Gossamer defines: gossamer::FusedConv, FusedGemm and FusedMatMul (an
op, a residual or bias Add and an activation epilogue), and gossamer::Gelu, HardSwish,
LayerNormalization and Swish (standard ops, registered for opsets that predate them). onnxruntime
knows none of them but inlines model-local functions, so the exporter writes each such node as a
call of a function `gossamer::<Op>[_<epilogue>]` (FusedConv_Add_Relu, FusedMatMul_Add_Gelu, Swish)
whose body spells the op in standard ops of the model's opset, one FunctionProto per distinct body
in `model.functions`. Netron still shows one fused node, with its attributes.

Attributes the body hands to an inner op (Conv's strides, pads, ...; Gemm's alpha, beta, transA,
transB; LayerNormalization's axis, epsilon, stash_type from opset 17; Gelu's approximate from
opset 20) are attribute references (`ref_attr_name`): one function serves every call, and an
attribute the call lacks is absent inside too, where the inner op's default is the gossamer op's.
What shapes the body (the activation and its activation_params, a residual or bias input, Swish's
alpha, the axis, epsilon and stash_type of LayerNormalization below opset 17) is written into it:
one function per distinct body, same-named variants numbered `_2`, `_3`, ... Bodies that hold
constants (Clip bounds, Gelu below opset 20, Swish with alpha != 1, LayerNormalization below 17)
hold them in the input's element type, so they are also written per element type.

A function's formal inputs are the reference function's parameters in order (x, w, b, slope, z for
FusedConv), so a call passes the node's inputs unchanged ("" for an absent optional one, which the
body then does not read); a call lists every output of the function ("" for one not used).
Reading a model back, `fused_op_of` recognises these functions by name and formal inputs, and the
importer restores the gossamer op itself instead of inlining the body.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..refimpl.dtypes import ONNX_TYPE_CODES, name_of, to_numpy
from ..refimpl.errors import GossamerError
from ..refimpl.ir import Graph, Node, Value
from ..refimpl.ops._fused_activation import ACTIVATIONS
from ..refimpl.registry import OpFunction, default_registry

try:
    import onnx
    from onnx import AttributeProto, helper, numpy_helper
except ImportError as _err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "writing ONNX functions needs the 'onnx' extra: pip install 'gossamer[onnx]'"
    ) from _err

DOMAIN = "gossamer"
_OUTPUTS = {"LayerNormalization": ["Y", "Mean", "InvStdDev"], "NchwcDepthwisePointwise": ["y", "t"]}
_ONNX_FLOAT = onnx.TensorProto.FLOAT
_ONNX_CODES = {name: code for code, name in ONNX_TYPE_CODES.items()}


class FunctionExportError(GossamerError):
    """A gossamer-domain node has no spelling in standard ONNX ops (see OnnxExportError)."""


def reference_function(op_type: str) -> OpFunction | None:
    """The reference function of gossamer::op_type (every gossamer op is version 1)."""
    return default_registry().resolve(DOMAIN, op_type, 1)


def formal_inputs(fn: OpFunction) -> list[str]:
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]


def attribute_types(op_type: str) -> dict[str, int]:
    """AttributeProto types of gossamer::op_type's attributes, from its reference signature."""
    fn = reference_function(op_type)
    if fn is None:
        return {}
    types: dict[str, int] = {}
    for p in inspect.signature(fn).parameters.values():
        if p.kind != inspect.Parameter.KEYWORD_ONLY:
            continue
        text = str(p.annotation)
        if "list[float]" in text:
            types[p.name] = AttributeProto.FLOATS
        elif "list[int]" in text:
            types[p.name] = AttributeProto.INTS
        elif "float" in text:
            types[p.name] = AttributeProto.FLOAT
        elif "int" in text:
            types[p.name] = AttributeProto.INT
        elif "str" in text:
            types[p.name] = AttributeProto.STRING
    return types


def fused_op_of(function: onnx.FunctionProto) -> str | None:
    """The gossamer op a model-local function written by `FunctionWriter` stands for, else None."""
    if function.domain != DOMAIN:
        return None
    op_type = function.name.split("_", 1)[0]
    fn = reference_function(op_type) if op_type in WRITERS else None
    # (a leading part: files written before an op gained a trailing optional input)
    inputs = list(function.input)
    if fn is None or not inputs or inputs != formal_inputs(fn)[: len(inputs)]:
        return None
    return op_type


class _Body:
    """The nodes of one function body under construction."""

    def __init__(self, node: Node, opset: int, x: Callable[[], Value | None]) -> None:
        self.node = node
        self.opset = opset
        self._x = x  # the type of input 0, inferred only when a body needs it
        self.nodes: list[onnx.NodeProto] = []

    @property
    def dtype(self) -> str | None:
        x = self._x()
        return None if x is None else x.dtype

    @property
    def rank(self) -> int | None:
        x = self._x()
        return None if x is None or x.shape is None else len(x.shape)

    def op(self, op_type: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        out = out or f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def ref(self, names: Mapping[str, int]) -> None:
        """The last node refers to the call's attributes `names` (name -> AttributeProto type)."""
        for name, kind in names.items():
            self.nodes[-1].attribute.append(
                AttributeProto(name=name, ref_attr_name=name, type=kind)  # type: ignore[arg-type]
            )

    def element_type(self) -> str:
        """The element type of the node's input 0 (bodies with constants are written per type)."""
        if self.dtype is None:
            raise FunctionExportError(
                f"{self.node.label()}: the element type of its input {self.node.inputs[0]!r} is "
                "unknown, and its ONNX function needs constants of that type; declare the graph "
                "inputs' types"
            )
        return self.dtype

    def const(self, value: float, dtype: str | None = None) -> str:
        """A scalar constant of the input's element type (or of `dtype`)."""
        array = np.array(value, dtype=np.float64).astype(to_numpy(dtype or self.element_type()))
        return self.op("Constant", [], value=numpy_helper.from_array(array))


def _activation(b: _Body, y: str, out: str, prefix: str = "") -> str:
    """Writes the fused activation epilogue (refimpl's apply_activation) named by the call's
    `{prefix}activation` and `{prefix}activation_params`; returns its name."""
    activation = str(b.node.attrs.get(f"{prefix}activation") or "")
    defaults = ACTIVATIONS.get(activation)
    if defaults is None:
        raise FunctionExportError(f"{b.node.label()}: unknown fused activation {activation!r}")
    params = [float(v) for v in b.node.attrs.get(f"{prefix}activation_params") or defaults]
    if activation == "":
        b.nodes[-1].output[0] = out  # y is the last node's output
        return out
    if activation == "Clip":
        if b.opset < 11:
            return b.op("Clip", [y], out, min=params[0], max=params[1])
        bounds = ["" if math.isinf(p) else b.const(p) for p in params]
        return b.op("Clip", [y, *bounds], out)
    if activation == "HardSigmoid":
        return b.op("HardSigmoid", [y], out, alpha=params[0], beta=params[1])
    if activation == "LeakyRelu":
        return b.op("LeakyRelu", [y], out, alpha=params[0])
    if activation == "PRelu":
        return b.op("PRelu", [y, "slope"], out)
    if activation == "HardSwish":
        return _hard_swish(b, y, out)
    if activation == "Swish":
        return _swish(b, y, params[0], out)
    if activation == "Gelu":
        return _gelu(b, y, "none", out)
    return b.op(activation, [y], out)  # Relu, Sigmoid


def _hard_swish(b: _Body, x: str, out: str) -> str:
    if b.opset >= 14:
        return b.op("HardSwish", [x], out)
    return b.op("Mul", [x, b.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5)], out)


def _swish(b: _Body, x: str, alpha: float, out: str) -> str:
    """x * Sigmoid(alpha * x), as the reference computes it (ai.onnx Swish-24 rounds otherwise)."""
    scaled = x if alpha == 1.0 else b.op("Mul", [x, b.const(alpha)])
    return b.op("Mul", [x, b.op("Sigmoid", [scaled])], out)


def _gelu(b: _Body, x: str, approximate: str | None, out: str) -> str:
    """Gelu; approximate None refers to the call's attribute (opset 20 on)."""
    if b.opset >= 20:
        if approximate is not None:
            return b.op("Gelu", [x], out, approximate=approximate)
        b.op("Gelu", [x], out)
        b.ref({"approximate": AttributeProto.STRING})
        return out
    if approximate == "tanh":  # x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = b.op("Mul", [x, b.op("Mul", [x, x])])
        inner = b.op("Add", [x, b.op("Mul", [cube, b.const(0.044715)])])
        core = b.op("Tanh", [b.op("Mul", [inner, b.const(math.sqrt(2 / math.pi))])])
    else:  # x/2 (1 + erf(x / sqrt 2))
        core = b.op("Erf", [b.op("Div", [x, b.const(math.sqrt(2))])])
    half_x = b.op("Mul", [x, b.const(0.5)])
    return b.op("Mul", [half_x, b.op("Add", [core, b.const(1.0)])], out)


_CONV_ATTRS = {
    "auto_pad": AttributeProto.STRING, "dilations": AttributeProto.INTS,
    "group": AttributeProto.INT, "kernel_shape": AttributeProto.INTS,
    "pads": AttributeProto.INTS, "strides": AttributeProto.INTS,
}  # fmt: skip
_GEMM_ATTRS = {
    "alpha": AttributeProto.FLOAT, "beta": AttributeProto.FLOAT,
    "transA": AttributeProto.INT, "transB": AttributeProto.INT,
}  # fmt: skip
_LN_ATTRS = {
    "axis": AttributeProto.INT,
    "epsilon": AttributeProto.FLOAT,
    "stash_type": AttributeProto.INT,
}


def _present(node: Node, index: int) -> bool:
    return len(node.inputs) > index and bool(node.inputs[index])


def _epilogue_name(b: _Body, *added: bool) -> list[str]:
    return ["Add"] * any(added) + [str(b.node.attrs.get("activation") or "")]


def _fused_conv(b: _Body) -> list[str]:
    """y = activation(Conv(x, w, b) + z)"""
    y = b.op("Conv", ["x", "w", "b"])
    b.ref(_CONV_ATTRS)
    if _present(b.node, 4):
        y = b.op("Add", [y, "z"])
    _activation(b, y, "y")
    return _epilogue_name(b, _present(b.node, 4))


def _fused_conv_pair(b: _Body) -> list[str]:
    """y = second_activation(Conv(activation(Conv(x, w1, b1)), w2, b2) + z): the first conv's
    pads and strides are the call's, the second's pads its second_pads (group 1, no dilation,
    the second of stride 1: the op's own limits)"""
    activations = [str(b.node.attrs.get(f"{p}activation") or "") for p in ("", "second_")]
    if "PRelu" in activations:
        raise FunctionExportError(f"{b.node.label()}: a PRelu in a conv pair has no slope input")
    h = b.op("Conv", ["x", "w1", "b1"])
    b.ref({name: _CONV_ATTRS[name] for name in ("pads", "strides")})
    h = _activation(b, h, "h")
    y = b.op("Conv", [h, "w2", "b2"])
    b.nodes[-1].attribute.append(
        AttributeProto(name="pads", ref_attr_name="second_pads", type=_CONV_ATTRS["pads"])  # type: ignore[arg-type]
    )
    if _present(b.node, 5):
        y = b.op("Add", [y, "z"])
    _activation(b, y, "y", prefix="second_")
    return [activations[0], "Add" * _present(b.node, 5), activations[1]]


def _fused_gemm(b: _Body) -> list[str]:
    """y = activation(Gemm(a, b, c))"""
    y = b.op("Gemm", ["a", "b", "c"] if _present(b.node, 2) else ["a", "b"])
    b.ref(_GEMM_ATTRS)
    _activation(b, y, "y")
    return _epilogue_name(b)


def _fused_mat_mul(b: _Body) -> list[str]:
    """y = activation(MatMul(a, b) + bias + residual)"""
    y = b.op("MatMul", ["a", "b"])
    if _present(b.node, 2):
        y = b.op("Add", [y, "bias"])
    if _present(b.node, 4):
        y = b.op("Add", [y, "residual"])
    _activation(b, y, "y")
    return _epilogue_name(b, _present(b.node, 2), _present(b.node, 4))


def _gelu_op(b: _Body) -> list[str]:
    if b.opset >= 20:
        _gelu(b, "x", None, "y")
        return []
    approximate = str(b.node.attrs.get("approximate", "none"))
    _gelu(b, "x", approximate, "y")
    return ["Tanh"] if approximate == "tanh" else []


def _hard_swish_op(b: _Body) -> list[str]:
    _hard_swish(b, "x", "y")
    return []


def _swish_op(b: _Body) -> list[str]:
    _swish(b, "x", float(b.node.attrs.get("alpha", 1.0)), "y")
    return []


def _layer_normalization(b: _Body) -> list[str]:
    """Y, Mean, InvStdDev as ai.onnx LayerNormalization-17 (its own function body below 17)."""
    outputs = ["Y", "Mean", "InvStdDev"]
    inputs = ["x", "scale", "b"] if _present(b.node, 2) else ["x", "scale"]
    if b.opset >= 17:
        b.nodes.append(helper.make_node("LayerNormalization", inputs, outputs))
        b.ref(_LN_ATTRS)
        return []
    axis = int(b.node.attrs.get("axis", -1))
    if axis >= 0 and b.rank is None:
        raise FunctionExportError(
            f"{b.node.label()}: LayerNormalization below opset 17 with axis={axis} needs the rank "
            "of its input, which is unknown; declare the graph inputs' shapes"
        )
    axis = axis if axis < 0 else axis - (b.rank or 0)  # the body reduces the trailing axes
    epsilon = float(b.node.attrs.get("epsilon", 1e-5))
    dtype = b.element_type()
    # refimpl's stash(): float32 for stash_type 1 (float64 stays), else the type (bfloat16 widens)
    stash_type = int(b.node.attrs.get("stash_type", 1))
    wide = dtype == "float64" or (stash_type != 1 and dtype != "bfloat16")
    stash = dtype if wide else "float32"
    x = "x" if stash == dtype else b.op("Cast", ["x"], to=_ONNX_FLOAT)
    axes = list(range(axis, 0))
    mean = b.op("ReduceMean", [x], "Mean", axes=axes, keepdims=1)
    centred = b.op("Sub", [x, mean])
    var = b.op("ReduceMean", [b.op("Mul", [centred, centred])], axes=axes, keepdims=1)
    std = b.op("Sqrt", [b.op("Add", [var, b.const(epsilon, stash)])])
    inv_std = b.op("Reciprocal", [std], "InvStdDev")
    normal = b.op("Mul", [centred, inv_std])
    if dtype != stash:
        normal = b.op("Cast", [normal], to=_ONNX_CODES[dtype])
    y = b.op("Mul", [normal, "scale"], None if len(inputs) > 2 else "Y")
    if len(inputs) > 2:
        b.op("Add", [y, "b"], "Y")
    return []


def _int64s(b: _Body, values: list[int]) -> str:
    return b.op("Constant", [], value=numpy_helper.from_array(np.array(values, np.int64)))


def _blocked_rank(b: _Body) -> int:
    if b.rank is None:
        raise FunctionExportError(
            f"{b.node.label()}: the rank of its input {b.node.inputs[0]!r} is unknown, and its "
            "ONNX function reshapes by it; declare the graph inputs' shapes"
        )
    return b.rank


def _to_blocked(b: _Body, x: str, rank: int, size: int, out: str) -> str:
    """(N, C, *spatial) -> (N, C/size, *spatial, size), rank that of x"""
    shape = b.op("Shape", [x])
    n = b.op("Slice", [shape, _int64s(b, [0]), _int64s(b, [1])])
    spatial = b.op("Slice", [shape, _int64s(b, [2]), _int64s(b, [rank])])
    split = b.op("Reshape", [x, b.op("Concat", [n, _int64s(b, [-1, size]), spatial], axis=0)])
    return b.op("Transpose", [split], out, perm=[0, 1, *range(3, rank + 1), 2])


def _from_blocked(b: _Body, x: str, rank: int, out: str | None = None) -> str:
    """(N, C/c, *spatial, c) -> (N, C, *spatial), rank that of x"""
    shape = b.op("Shape", [x])
    n = b.op("Slice", [shape, _int64s(b, [0]), _int64s(b, [1])])
    spatial = b.op("Slice", [shape, _int64s(b, [2]), _int64s(b, [rank - 1])])
    moved = b.op("Transpose", [x], perm=[0, 1, rank - 1, *range(2, rank - 1)])
    return b.op("Reshape", [moved, b.op("Concat", [n, _int64s(b, [-1]), spatial], axis=0)], out)


def _nchwc_reorder_input(b: _Body) -> list[str]:
    _to_blocked(b, "x", _blocked_rank(b), int(b.node.attrs.get("block_size", 8)), "y")
    return []


def _nchwc_reorder_output(b: _Body) -> list[str]:
    _from_blocked(b, "x", _blocked_rank(b), "y")
    return []


def _nchwc_global_average_pool(b: _Body) -> list[str]:
    b.op("GlobalAveragePool", [_from_blocked(b, "x", _blocked_rank(b))], "y")
    return []


_POOL_ATTRS = {
    "auto_pad": AttributeProto.STRING, "ceil_mode": AttributeProto.INT,
    "dilations": AttributeProto.INTS, "kernel_shape": AttributeProto.INTS,
    "pads": AttributeProto.INTS, "strides": AttributeProto.INTS,
}  # fmt: skip


def _nchwc_max_pool(b: _Body) -> list[str]:
    """y = blocked(MaxPool(x unblocked)), blocked like x"""
    rank = _blocked_rank(b)
    x = b._x()
    size = x.shape[-1] if x is not None and x.shape is not None else None
    if not isinstance(size, int):
        raise FunctionExportError(f"{b.node.label()}: the block of its input is unknown")
    y = b.op("MaxPool", [_from_blocked(b, "x", rank)])
    b.ref(_POOL_ATTRS)
    _to_blocked(b, y, rank - 1, size, "y")
    return []


def _nchwc_conv(b: _Body) -> list[str]:
    """y = blocked(activation(Conv(x', w, b) + z') * scale + shift), x' and z' unblocked (x may
    be NCHW)"""
    rank = _blocked_rank(b)
    blocked = rank == 5  # a 2-D conv's blocked input (NchwcConv is 2-D)
    x = b._x()
    size = x.shape[-1] if blocked and x is not None and x.shape is not None else 8
    if not isinstance(size, int):
        raise FunctionExportError(f"{b.node.label()}: the block of its input is unknown")
    y = b.op("Conv", [_from_blocked(b, "x", rank) if blocked else "x", "w", "b"])
    b.ref(_CONV_ATTRS)
    if _present(b.node, 3):
        y = b.op("Add", [y, _from_blocked(b, "z", 5)])
    y = _activation(b, y, "act")
    if _present(b.node, 4):
        y = b.op("Mul", [y, "scale"])
    if _present(b.node, 5):
        y = b.op("Add", [y, "shift"])
    _to_blocked(b, y, 4, size, "y")
    affine = ["Scale"] * _present(b.node, 4) + ["Shift"] * _present(b.node, 5)
    return _epilogue_name(b, _present(b.node, 3)) + affine


def _nchwc_conv_max_pool(b: _Body) -> list[str]:
    """y = blocked(MaxPool(activation(Conv(x', w, b)) * scale + shift)), x' = x unblocked (x may
    be NCHW); the pool's attributes are the call's pool_*"""
    rank = _blocked_rank(b)
    x = b._x()
    size = x.shape[-1] if rank == 5 and x is not None and x.shape is not None else 8
    if not isinstance(size, int):
        raise FunctionExportError(f"{b.node.label()}: the block of its input is unknown")
    y = b.op("Conv", [_from_blocked(b, "x", rank) if rank == 5 else "x", "w", "b"])
    b.ref(_CONV_ATTRS)
    y = _activation(b, y, "act")
    if _present(b.node, 3):
        y = b.op("Mul", [y, "scale"])
    if _present(b.node, 4):
        y = b.op("Add", [y, "shift"])
    y = b.op("MaxPool", [y])
    for name, kind in _POOL_ATTRS.items():
        b.nodes[-1].attribute.append(
            AttributeProto(name=name, ref_attr_name=f"pool_{name}", type=kind)  # type: ignore[arg-type]
        )
    _to_blocked(b, y, 4, size, "y")
    return _epilogue_name(b) + ["Scale"] * _present(b.node, 3) + ["Shift"] * _present(b.node, 4)


def _nchwc_depthwise_pointwise(b: _Body) -> list[str]:
    """t = blocked(h), h = activation(Conv(x', w, b)), y = blocked(pw_activation(Conv(h, pw_w,
    pw_b) + z')), x' and z' unblocked: the depthwise conv's attributes are the call's, the 1x1
    conv's its defaults"""
    rank = _blocked_rank(b)
    x = b._x()
    size = x.shape[-1] if x is not None and x.shape is not None else None
    if not isinstance(size, int):
        raise FunctionExportError(f"{b.node.label()}: the block of its input is unknown")
    h = b.op("Conv", [_from_blocked(b, "x", rank), "w", "b"])
    b.ref(_CONV_ATTRS)
    h = _activation(b, h, "h")
    _to_blocked(b, h, 4, size, "t")
    y = b.op("Conv", [h, "pw_w", "pw_b"])
    if _present(b.node, 5):
        y = b.op("Add", [y, _from_blocked(b, "z", 5)])
    y = _activation(b, y, "act", prefix="pw_")
    _to_blocked(b, y, 4, size, "y")
    activations = [str(b.node.attrs.get(f"{p}activation") or "") for p in ("", "pw_")]
    return [activations[0], "Add" * _present(b.node, 5), activations[1]]


# gossamer op -> writer of its function body (returns the name's epilogue parts)
def _packed_attention(b: _Body) -> list[str]:
    """y = per head softmax(q k^T * scale + mask) v over packed q|k|v (the reference's order)"""
    heads = int(b.node.attrs["num_heads"])
    scale = float(b.node.attrs.get("scale", 1.0))
    split = b.op("Reshape", ["qkv", _int64s(b, [0, 0, 3, heads, -1])])  # [B, S, 3, N, D]
    q, k, v = (
        b.op("Gather", [split, b.op("Constant", [], value=numpy_helper.from_array(np.int64(i)))],
             axis=2)
        for i in range(3)
    )  # fmt: skip
    q = b.op("Transpose", [q], perm=[0, 2, 1, 3])  # [B, N, S, D]
    k = b.op("Transpose", [k], perm=[0, 2, 3, 1])  # [B, N, D, S]
    v = b.op("Transpose", [v], perm=[0, 2, 1, 3])
    scores = b.op("MatMul", [q, k])
    if scale != 1.0:
        scores = b.op("Mul", [scores, b.const(scale)])
    if _present(b.node, 1):
        scores = b.op("Add", [scores, "mask"])
    y = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
    y = b.op("Transpose", [y], perm=[0, 2, 1, 3])  # [B, S, N, D]
    b.op("Reshape", [y, _int64s(b, [0, 0, -1])], "y")
    return []


WRITERS: dict[str, Callable[[_Body], list[str]]] = {
    "FusedConv": _fused_conv,
    "FusedConvPair": _fused_conv_pair,
    "FusedGemm": _fused_gemm,
    "FusedMatMul": _fused_mat_mul,
    "Gelu": _gelu_op,
    "HardSwish": _hard_swish_op,
    "LayerNormalization": _layer_normalization,
    "Swish": _swish_op,
    "NchwcReorderInput": _nchwc_reorder_input,
    "NchwcReorderOutput": _nchwc_reorder_output,
    "NchwcConv": _nchwc_conv,
    "NchwcGlobalAveragePool": _nchwc_global_average_pool,
    "NchwcMaxPool": _nchwc_max_pool,
    "NchwcConvMaxPool": _nchwc_conv_max_pool,
    "NchwcDepthwisePointwise": _nchwc_depthwise_pointwise,
    "PackedAttention": _packed_attention,
}


class FunctionWriter:
    """Collects one FunctionProto per distinct body for the gossamer-domain nodes of a graph."""

    def __init__(self, graph: Graph, opsets: dict[str, int]) -> None:
        self.graph = graph
        self.opset = opsets.get("", 1)
        self.opsets = [helper.make_opsetid("", self.opset)]
        self.functions: dict[bytes, onnx.FunctionProto] = {}
        self.names: set[str] = set()
        self._values: dict[str, Value] | None = None

    def call(self, node: Node) -> tuple[str, int]:
        """The function a call of `node` names (its attributes as they are) and the function's
        output count (a call lists every output, "" for one not used); writes the function on first
        use. An attribute the body refers to but the call lacks is left out of the inner node
        too (ONNX's rule), where its default is the gossamer op's."""
        writer, fn = WRITERS.get(node.op_type), reference_function(node.op_type)
        if writer is None or fn is None:
            raise FunctionExportError(
                f"node {node.label()} is a gossamer-domain op with no ONNX spelling; other "
                "runtimes could not run it (export a model optimised at a lower -O level)"
            )
        body = _Body(node, self.opset, lambda: self._value(node.inputs[0]))
        parts = [p for p in writer(body) if p]
        declared = sorted(set(node.attrs) | set(attribute_types(node.op_type)))
        proto = helper.make_function(
            DOMAIN, "", formal_inputs(fn), _OUTPUTS.get(node.op_type, ["y"]), body.nodes,
            self.opsets, attributes=declared,
        )  # fmt: skip
        key = proto.SerializeToString(deterministic=True)
        if key not in self.functions:
            proto.name = self._name("_".join([node.op_type, *parts]))
            proto.doc_string = f"gossamer::{node.op_type} in ai.onnx ops (opset {self.opset})"
            self.functions[key] = proto
        return self.functions[key].name, len(proto.output)

    def _name(self, base: str) -> str:
        name, i = base, 1
        while name in self.names:
            i += 1
            name = f"{base}_{i}"
        self.names.add(name)
        return name

    def _value(self, name: str) -> Value | None:
        """The inferred type of `name` in the top-level graph (None inside nested bodies)."""
        if name in self.graph.initializers:
            array = np.asarray(self.graph.initializers[name])
            return Value(name, name_of(array.dtype), array.shape)
        if self._values is None:
            from ..refimpl.shape_inference import infer_shapes

            try:
                self._values = infer_shapes(self.graph)
            except GossamerError:
                self._values = {}
        return self._values.get(name)
