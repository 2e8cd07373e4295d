"""Pure data-movement ops (Pad in every mode, nearest Resize, Tile, DepthToSpace, SpaceToDepth)
as one gather through an index map: the reference op itself, run once per plan on the array of
element indices (+1, so padding reads as -1), says where each output element comes from. The
result is exact by construction; the map costs 4 bytes per output element, uploaded once."""

from __future__ import annotations

import math

import numpy as np

from ...refimpl.ir import Node, Value
from ..builder import Builder, f32, i32
from ._checks import at_plan_time, float32_inputs

OPS = ("Pad", "Resize", "Tile", "DepthToSpace", "SpaceToDepth")


def supports(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0)
    if why:
        return why
    for i, name in enumerate(node.inputs[1:], 1):
        if node.op_type == "Pad" and i == 2:
            if name and name not in consts:
                return "pad value is not constant"
        elif not at_plan_time(consts, name, inputs[i]) and name not in consts:
            return f"input {name!r} is neither constant nor an integer tensor"
    if node.op_type == "Resize":
        mode = node.attrs.get("mode", "nearest")
        if mode not in ("nearest", b"nearest"):
            return f"Resize mode {mode} (opencl runs nearest)"
        if node.attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize":
            return "tf_crop_and_resize"
        if int(node.attrs.get("antialias", 0)):
            return "antialias"
    if node.op_type == "Pad" and opset < 11 and float(node.attrs.get("value", 0.0)) != 0.0:
        return "Pad-2 with a non-zero value"
    return None


def lower(bld: Builder, node: Node, opset: int) -> None:
    from ...plugins.manager import op_registry

    shape = bld.shape(node.inputs[0])
    out_shape = bld.shape(node.outputs[0])
    fill = 0.0
    key = f"{node.name}::map{shape}->{out_shape}"
    found = bld.mapped.get(key)
    if found is None:
        fn = op_registry().resolve(node.domain, node.op_type, opset)
        index = np.arange(1, math.prod(shape) + 1, dtype=np.int64).reshape(shape)
        args: list = [index]
        for i, name in enumerate(node.inputs[1:], 1):
            if node.op_type == "Pad" and i == 2:
                args.append(None)  # pad with 0: index 0 - 1 = -1 is "fill"
                continue
            args.append(bld.const(name) if name else None)
        attrs = dict(node.attrs)
        if node.op_type == "Pad" and opset < 11:
            attrs["value"] = 0.0
        result = np.asarray(fn(*args, **attrs))  # type: ignore[misc]
        if any(not isinstance(d, int) for d in out_shape):  # a shape rule left it open
            out_shape = bld.shapes[node.outputs[0]] = tuple(result.shape)
        assert result.shape == tuple(out_shape), (result.shape, out_shape)
        mapped = result.reshape(-1) - 1
        found = bld.weight(key, mapped.astype(np.int32), np.int32)
        bld.mapped[key] = found
    if node.op_type == "Pad" and len(node.inputs) > 2 and node.inputs[2]:
        fill = float(bld.const(node.inputs[2]).reshape(-1)[0])
    total = math.prod(out_shape)
    args = [bld.ref(node.inputs[0]), bld.out(node.outputs[0]), found, f32(fill), i32(total)]
    bld.launch("gather_map_f32", (max(total, 1),), args)


SUPPORT = {op: supports for op in OPS}
LOWER = {op: lower for op in OPS}
