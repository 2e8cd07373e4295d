"""Structure-aware mutations of an ONNX ModelProto, in place.

Each mutator takes (model, ctx) and returns a one-line description of what it changed, or None when
the model has nothing it applies to. Together they reach every stage: the protobuf parser, the
importer (functions, subgraphs, external data, sparse tensors), graph validation, shape inference,
planning, the memory plan and the kernels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import AttributeProto as A
from onnx import TensorProto, helper, numpy_helper

from .common import FLOAT_EXTREMES, INT_EXTREMES, STRING_VALUES, Ctx

ADDABLE = {
    "kernel_shape": "ints", "strides": "ints", "pads": "ints", "dilations": "ints",
    "output_padding": "ints", "output_shape": "ints", "axes": "ints", "perm": "ints",
    "split": "ints", "auto_pad": "str", "direction": "str", "mode": "str",
    "coordinate_transformation_mode": "str", "nearest_mode": "str", "ceil_mode": "int",
    "group": "int", "axis": "int", "keepdims": "int", "hidden_size": "int", "to": "int",
    "transA": "int", "transB": "int", "count_include_pad": "int", "storage_order": "int",
    "linear_before_reset": "int", "layout": "int", "num_outputs": "int", "allowzero": "int",
    "largest": "int", "sorted": "int", "input_forget": "int", "antialias": "int",
    "exclude_outside": "int", "noop_with_empty_axes": "int", "alpha": "float", "beta": "float",
    "epsilon": "float", "clip": "float", "cubic_coeff_a": "float", "activations": "strs",
}  # fmt: skip
SPATIAL_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "ConvInteger"}
OTHER_OPS = [
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalMaxPool", "LSTM", "GRU", "RNN",
    "Gemm", "MatMul", "Resize", "Upsample", "Pad", "Reshape", "Slice", "Gather", "GatherND",
    "GatherElements", "ScatterND", "Concat", "Split", "ConstantOfShape", "Expand", "Tile", "Range",
    "TopK", "If", "Loop", "Scan", "Softmax", "LogSoftmax", "ReduceSum", "ReduceMax", "Relu", "Add",
    "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Cast", "BatchNormalization",
    "LayerNormalization", "Einsum", "NonZero", "Where", "CumSum", "OneHot", "DepthToSpace",
    "SpaceToDepth", "Unique", "NonMaxSuppression", "RoiAlign", "GridSample", "Col2Im", "DFT",
    "Mod", "BitShift", "QuantizeLinear", "DequantizeLinear", "QLinearConv", "MatMulInteger",
    "Trilu", "Compress", "ReverseSequence", "SequenceConstruct", "SplitToSequence",
    "ConcatFromSequence", "Optional", "StringNormalizer", "Identity", "Shape", "Size", "Bogus",
]  # fmt: skip
ELEM_TYPES = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 22, 23, 40, 999]


def graphs(model: onnx.ModelProto) -> list[onnx.GraphProto]:
    """The main graph and every subgraph (If/Loop/Scan bodies), in functions too."""
    found: list[onnx.GraphProto] = []

    def walk(nodes) -> None:
        for n in nodes:
            for a in n.attribute:
                for g in [a.g] if a.type == A.GRAPH else list(a.graphs):
                    found.append(g)
                    walk(g.node)

    found.append(model.graph)
    walk(model.graph.node)
    for f in model.functions:
        walk(f.node)
    return found


def nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Every node of every graph and function body."""
    out = [n for g in graphs(model) for n in g.node]
    return out + [n for f in model.functions for n in f.node]


def _label(n: onnx.NodeProto) -> str:
    return f"{n.op_type}({n.name or n.output[0] if n.output else ''})"


def _set_attr(n: onnx.NodeProto, name: str, value: object, kind: int | None = None) -> None:
    for i, a in enumerate(n.attribute):
        if a.name == name:
            del n.attribute[i]
            break
    n.attribute.append(helper.make_attribute(name, value, attr_type=kind))


def _random_value(ctx: Ctx, kind: str) -> tuple[object, int]:
    if kind == "int":
        return ctx.int_value(), A.INT
    if kind == "ints":
        return ctx.ints_value([1, 1]), A.INTS
    if kind == "float":
        return ctx.float_value(), A.FLOAT
    if kind == "str":
        return ctx.pick(STRING_VALUES).encode("utf-8", "surrogatepass"), A.STRING
    return [ctx.pick(STRING_VALUES).encode("utf-8", "surrogatepass")], A.STRINGS


def attr_extreme(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An int/ints/float/floats attribute set to extreme values (0, -1, 2^31, 2^63-1, nan, inf)."""
    cands = [
        (n, a)
        for n in nodes(model)
        for a in n.attribute
        if a.type in (A.INT, A.INTS, A.FLOAT, A.FLOATS)
    ]
    if not cands:
        return None
    n, a = ctx.pick(cands)
    if a.type == A.INT:
        a.i = ctx.int_value()
        value: object = a.i
    elif a.type == A.INTS:
        a.ints[:] = value = ctx.ints_value(list(a.ints))
    elif a.type == A.FLOAT:
        a.f = value = ctx.float_value()
    else:
        value = [ctx.float_value() for _ in range(ctx.rng.randint(0, max(1, len(a.floats)) + 1))]
        a.floats[:] = value
    return f"{_label(n)}.{a.name} = {value}"


def attr_type(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An attribute replaced by one of another type (int <-> float, list, string, tensor, graph)."""
    cands = [(n, a) for n in nodes(model) for a in n.attribute]
    if not cands:
        return None
    n, a = ctx.pick(cands)
    choices = [
        (3, A.INT),
        (2.5, A.FLOAT),
        (b"SAME_UPPER", A.STRING),
        ([1, 2], A.INTS),
        ([1.0], A.FLOATS),
        ([b"a"], A.STRINGS),
        ([], A.INTS),
        ([], A.FLOATS),
        (numpy_helper.from_array(np.array([1, 2], np.int64)), A.TENSOR),
        (helper.make_graph([], "empty", [], []), A.GRAPH),
    ]
    value, kind = ctx.pick([c for c in choices if c[1] != a.type])
    _set_attr(n, a.name, value, kind)
    return f"{_label(n)}.{a.name} retyped to {A.AttributeType.Name(kind)}"


def attr_add_remove(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An attribute removed, or a known one added with a hostile value."""
    ns = nodes(model)
    if not ns:
        return None
    n = ctx.pick(ns)
    if n.attribute and ctx.rng.random() < 0.4:
        i = ctx.rng.randrange(len(n.attribute))
        name = n.attribute[i].name
        del n.attribute[i]
        return f"{_label(n)}: removed attribute {name}"
    name = ctx.pick(sorted(ADDABLE))
    value, kind = _random_value(ctx, ADDABLE[name])
    _set_attr(n, name, value, kind)
    return f"{_label(n)}.{name} = {value!r}"


def auto_pad(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A conv/pool node's auto_pad changed, with extreme strides, kernel or dilations too."""
    ns = [n for n in nodes(model) if n.op_type in SPATIAL_OPS]
    if not ns:
        return None
    n = ctx.pick(ns)
    pad = ctx.pick(["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "bogus"])
    _set_attr(n, "auto_pad", pad.encode())
    parts = [f"auto_pad={pad}"]
    if ctx.rng.random() < 0.8:
        name = ctx.pick(["strides", "kernel_shape", "dilations", "pads"])
        v = ctx.pick([0, -1, 2**31, 2**32, 2**40, 2**63 - 1, ctx.rng.randint(2, 64)])
        value = [v] * (2 if name != "pads" else 4)
        _set_attr(n, name, value)
        parts.append(f"{name}={value}")
    return f"{_label(n)}: " + ", ".join(parts)


def _values(model: onnx.ModelProto) -> list[tuple[str, onnx.ValueInfoProto]]:
    g = model.graph
    return (
        [("input", v) for v in g.input]
        + [("output", v) for v in g.output]
        + [("value_info", v) for v in g.value_info]
    )


def io_shape(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A graph input/output/value_info shape changed: huge (2^40), 0 or negative dims, ranks."""
    vs = [(w, v) for w, v in _values(model) if v.type.HasField("tensor_type")]
    if not vs:
        return None
    where, v = ctx.pick(vs)
    shape = v.type.tensor_type.shape
    mode = ctx.pick(["dim", "huge", "param", "clear", "add", "drop"])
    if mode == "huge":
        dims = ctx.pick([[2**40, 2**30], [2**31, 2**31], [2**62, 4], [2**20] * 4, [0, 2**63 - 1]])
        shape.ClearField("dim")
        for d in dims:
            shape.dim.add().dim_value = d
    elif mode == "dim" and shape.dim:
        d = shape.dim[ctx.rng.randrange(len(shape.dim))]
        d.dim_value = ctx.pick([0, -1, -5, 2**31, 2**40, 2**63 - 1, 1, 7])
    elif mode == "param" and shape.dim:
        shape.dim[ctx.rng.randrange(len(shape.dim))].dim_param = ctx.pick(["N", "fuzz", "?", ""])
    elif mode == "clear":
        v.type.tensor_type.ClearField("shape")
    elif mode == "add":
        shape.dim.add().dim_value = ctx.pick([1, 2, 0, 2**40])
    elif shape.dim:
        del shape.dim[ctx.rng.randrange(len(shape.dim))]
    dims = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in shape.dim]
    return f"{where} {v.name!r} shape -> {dims if v.type.tensor_type.HasField('shape') else None}"


def io_dtype(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A graph input/output/value_info elem_type changed (undefined, string, int4, 999, ...)."""
    vs = [(w, v) for w, v in _values(model) if v.type.HasField("tensor_type")]
    if not vs:
        return None
    where, v = ctx.pick(vs)
    v.type.tensor_type.elem_type = code = ctx.pick(ELEM_TYPES)
    return f"{where} {v.name!r} elem_type -> {code}"


def _inits(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    return [t for g in graphs(model) for t in g.initializer]


def init_layout(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An initializer's dims, raw_data length or data_type made inconsistent."""
    ts = _inits(model)
    if not ts:
        return None
    t = ctx.pick(ts)
    mode = ctx.pick(["dims", "huge_dims", "raw_short", "raw_long", "data_type"])
    if mode == "dims":
        t.dims[:] = ctx.ints_value(list(t.dims))
    elif mode == "huge_dims":
        t.dims[:] = ctx.pick([[2**40], [2**31, 2**31], [2**62, 2**1], [0, 2**63 - 1]])
    elif mode == "raw_short" and t.raw_data:
        t.raw_data = t.raw_data[: ctx.rng.randrange(len(t.raw_data))]
    elif mode == "raw_long":
        t.raw_data = bytes(t.raw_data) + b"\x01" * ctx.rng.randint(1, 64)
    else:
        t.data_type = ctx.pick(ELEM_TYPES)
    return f"initializer {t.name!r} ({mode}): dims={list(t.dims)} data_type={t.data_type}"


def init_values(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An initializer's values set to extremes (shapes, pads, starts, k, trip counts, weights)."""
    ts = [t for t in _inits(model) if t.data_type in (1, 6, 7, 9, 10, 11)]
    ints = [t for t in ts if t.data_type in (6, 7)]
    if not ts:
        return None
    t = ctx.pick(ints if ints and ctx.rng.random() < 0.8 else ts)
    array = numpy_helper.to_array(t).copy()
    if array.size == 0:
        return None
    info = np.iinfo(array.dtype) if array.dtype.kind in "iu" else None
    pool = [v for v in INT_EXTREMES if info is None or info.min <= v <= info.max]
    if info is None:
        pool = FLOAT_EXTREMES if array.dtype.kind == "f" else [0, 1]
    if ctx.rng.random() < 0.5:
        i = ctx.rng.randrange(array.size)
        array.flat[i] = ctx.pick(pool)
    else:
        array[...] = ctx.pick(pool)
    t.CopyFrom(numpy_helper.from_array(array, t.name))
    return f"initializer {t.name!r} values -> {array.ravel()[:8].tolist()}"


def sparse_init(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An initializer turned into a sparse one with out-of-range, negative or huge indices/dims."""
    g = model.graph
    if not g.initializer:
        return None
    i = ctx.rng.randrange(len(g.initializer))
    array = numpy_helper.to_array(g.initializer[i]).ravel()
    name = g.initializer[i].name
    dims = list(g.initializer[i].dims)
    size = max(1, array.size)
    indices = ctx.pick([[0], [size - 1], [size + 5], [-1], [0, 0], [2**62]])
    dims = ctx.pick([dims, dims, [2**40], [0], [2**31, 2**31]])
    values = np.resize(array, len(indices)).astype(array.dtype) if array.size else array[:0]
    sparse = helper.make_sparse_tensor(
        numpy_helper.from_array(values, name),
        numpy_helper.from_array(np.array(indices, np.int64), name + "_idx"),
        dims,
    )
    del g.initializer[i]
    g.sparse_initializer.append(sparse)
    return f"initializer {name!r} made sparse: dims={dims} indices={indices}"


def _outputs(model: onnx.ModelProto) -> list[str]:
    return [o for n in model.graph.node for o in n.output if o]


def dangling(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A node input, or a graph output, renamed to a name nothing produces."""
    ns = [n for n in nodes(model) if n.input]
    if ns and ctx.rng.random() < 0.8:
        n = ctx.pick(ns)
        k = ctx.rng.randrange(len(n.input))
        n.input[k] = "fuzz_dangling"
        return f"{_label(n)}.input[{k}] -> dangling name"
    if not model.graph.output:
        return None
    model.graph.output[0].name = "fuzz_dangling"
    return "graph output 0 renamed to a dangling name"


def cycle(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A node made to read its own output or a later node's output (a cycle)."""
    ns = [n for n in model.graph.node if n.input and n.output]
    if not ns:
        return None
    i = ctx.rng.randrange(len(ns))
    j = ctx.rng.randrange(i, len(ns))
    k = ctx.rng.randrange(len(ns[i].input))
    ns[i].input[k] = ns[j].output[0]
    return f"{_label(ns[i])}.input[{k}] = output of {_label(ns[j])}"


def duplicate_output(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """Two producers of one name: a node output renamed to another output, an input or an
    initializer, or a graph output listed twice."""
    ns = [n for n in model.graph.node if n.output]
    names = _outputs(model) + [v.name for v in model.graph.input]
    names += [t.name for t in model.graph.initializer]
    if not ns or ctx.rng.random() < 0.2:
        if not model.graph.output:
            return None
        model.graph.output.append(model.graph.output[0])
        return "graph output 0 listed twice"
    n = ctx.pick(ns)
    n.output[0] = target = ctx.pick(names)
    return f"{_label(n)}.output[0] = {target!r} (already produced)"


def node_inputs(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A node's inputs swapped, dropped, blanked ("" = optional) or added; or an output added."""
    ns = nodes(model)
    if not ns:
        return None
    n = ctx.pick(ns)
    ins = list(n.input)
    mode = ctx.pick(["swap", "drop", "blank", "add", "clear", "add_output"])
    if mode == "swap" and len(ins) > 1:
        i, j = ctx.rng.sample(range(len(ins)), 2)
        ins[i], ins[j] = ins[j], ins[i]
    elif mode == "drop" and ins:
        del ins[ctx.rng.randrange(len(ins))]
    elif mode == "blank" and ins:
        ins[ctx.rng.randrange(len(ins))] = ""
    elif mode == "add":
        ins.append(ctx.pick(ins + _outputs(model)) if ins or _outputs(model) else "")
    elif mode == "clear":
        ins = []
    else:
        n.output.append("fuzz_extra_out")
    n.input[:] = ins
    return f"{_label(n)}: {mode} inputs -> {ins}"


def op_swap(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A node's op_type swapped for another op (or an unknown one), or its domain changed."""
    ns = nodes(model)
    if not ns:
        return None
    n = ctx.pick(ns)
    old = _label(n)
    if ctx.rng.random() < 0.85:
        n.op_type = ctx.pick(OTHER_OPS)
        return f"{old} -> op {n.op_type}"
    n.domain = ctx.pick(["com.microsoft", "ai.onnx.ml", "fuzz.unknown", "ai.onnx"])
    return f"{old} -> domain {n.domain}"


def opset(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """The default-domain opset version changed or removed, or the IR version changed."""
    versions = [0, 1, 5, 6, 7, 9, 10, 11, 12, 13, 16, 18, 19, 21, 22, 99, 2**31 - 1, 2**63 - 1, -1]
    mode = ctx.pick(["version", "version", "remove", "ir"])
    if mode == "ir":
        model.ir_version = ctx.pick([0, 1, 3, 99, 2**62, -1])
        return f"ir_version -> {model.ir_version}"
    for i, o in enumerate(model.opset_import):
        if o.domain in ("", "ai.onnx"):
            if mode == "remove":
                del model.opset_import[i]
                return "default opset_import removed"
            o.version = ctx.pick(versions)
            return f"opset -> {o.version}"
    return None


def recursive_function(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A model-local function that calls itself (or two that call each other), used by a node."""
    ns = [n for n in model.graph.node if n.input and n.output]
    if not ns:
        return None
    n = ctx.pick(ns)
    mutual = ctx.rng.random() < 0.4
    callee = "FuzzG" if mutual else "FuzzF"
    body = [helper.make_node(callee, ["fx"], ["fy"], domain="fuzz")]
    fns = [helper.make_function("fuzz", "FuzzF", ["fx"], ["fy"], body, [])]
    if mutual:
        back = [helper.make_node("FuzzF", ["fx"], ["fy"], domain="fuzz")]
        fns.append(helper.make_function("fuzz", "FuzzG", ["fx"], ["fy"], back, []))
    model.functions.extend(fns)
    model.opset_import.append(helper.make_opsetid("fuzz", 1))
    del n.input[1:]
    del n.output[1:]
    n.op_type, n.domain = "FuzzF", "fuzz"
    del n.attribute[:]
    return f"{'mutually ' if mutual else 'self-'}recursive local function called by {n.name!r}"


def deep_if(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """A node wrapped in nested If bodies, up to the depth protobuf parses (about 33 levels)."""
    g = model.graph
    ns = [n for n in g.node if n.output]
    if not ns:
        return None
    target = ctx.pick(ns)
    depth = ctx.pick([2, 8, 16, 24, 30, 31, 32, 33, 40])
    g.initializer.append(numpy_helper.from_array(np.array(True), "fuzz_true"))
    out = target.output[0]
    inner = onnx.NodeProto()
    inner.CopyFrom(target)
    del inner.output[1:]
    for level in range(depth):
        sub = helper.make_graph(
            [inner], f"lvl{level}", [], [helper.make_tensor_value_info(out, 0, None)]
        )
        other = helper.make_graph(
            [helper.make_node("Identity", [inner.input[0] if inner.input else "fuzz_true"], [out])],
            "e",
            [],
            [helper.make_tensor_value_info(out, 0, None)],
        )
        inner = helper.make_node("If", ["fuzz_true"], [out], then_branch=sub, else_branch=other)
    i = list(g.node).index(target)
    g.node[i].CopyFrom(inner)
    return f"node {target.name!r} wrapped in {depth} nested If bodies"


def external_data(model: onnx.ModelProto, ctx: Ctx) -> str | None:
    """An initializer moved to external data: traversal and absolute paths, huge offsets/lengths."""
    ts = _inits(model)
    if not ts:
        return None
    t = ctx.pick(ts)
    raw = numpy_helper.to_array(t).tobytes()
    ctx.files["weights.bin"] = raw + bytes(4096)
    location = ctx.pick(
        [
            "weights.bin",
            "weights.bin",
            "../../etc/passwd",
            "/etc/passwd",
            "/dev/zero",
            "missing.bin",
            "sub/../weights.bin",
            ".",
            "",
            "/proc/self/mem",
            "weights.bin\x00x",
        ]
    )
    offset = ctx.pick([None, 0, 0, 64, 4096, 2**40, -1, 2**63 - 1])
    length = ctx.pick([None, len(raw), len(raw), 0, 2**40, 2**63 - 1, -5, len(raw) + 1])
    del t.external_data[:]
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            entry = t.external_data.add()
            entry.key, entry.value = key, str(value)
    t.data_location = TensorProto.EXTERNAL
    if ctx.rng.random() < 0.8:
        t.ClearField("raw_data")
    return f"initializer {t.name!r} external: location={location!r} offset={offset} length={length}"


MUTATORS: dict[str, Callable[[onnx.ModelProto, Ctx], str | None]] = {
    f.__name__: f
    for f in [
        attr_extreme, attr_type, attr_add_remove, auto_pad, io_shape, io_dtype, init_layout,
        init_values, sparse_init, dangling, cycle, duplicate_output,
        node_inputs, op_swap, opset, recursive_function, deep_if, external_data,
    ]
}  # fmt: skip
WEIGHTS = {"attr_extreme": 3.0, "init_values": 2.0, "auto_pad": 2.0, "io_shape": 1.5}
