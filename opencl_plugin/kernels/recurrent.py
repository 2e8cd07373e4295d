"""LSTM and GRU (forward, reverse, bidirectional; both layouts; sequence_lens; clip, initial
states; LSTM peepholes and input_forget, GRU linear_before_reset) as one GEMM for X W^T of all
steps plus one launch that walks the whole sequence (recurrent.cl: a work-group per direction
with a barrier per step; a launch per step would pay PoCL's per-launch cost T times); an LSTM
whose hidden size is a multiple of 8 takes 8 units a work-item (lstm_seq8_f32). Declined:
activations other than the defaults, runtime weights, sequence_lens computed inside the region."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Node, Value
from ..builder import Builder, f32, i32
from ._checks import at_plan_time, float32_inputs, is_const
from .gemm import gemm, pack_panels

_DEFAULT_ACTS = {"LSTM": ["sigmoid", "tanh", "tanh"], "GRU": ["sigmoid", "tanh"]}
GROUP = 256  # work-items per direction's work-group (every OpenCL CPU/GPU device allows 256)
UNITS8 = True  # LSTM with H % 8 == 0 on lstm_seq8_f32 (8 units a work-item, float8 gates)


def _acts(node: Node) -> list[str]:
    acts = node.attrs.get("activations") or []
    return [(a.decode() if isinstance(a, bytes) else str(a)).lower() for a in acts]


def supports(node: Node, inputs: list[Value | None], consts: dict, opset: int) -> str | None:
    why = float32_inputs(inputs, 0, 1, 2, 3, 5, 6, 7)
    if why:
        return why
    for i, what in ((1, "W"), (2, "R"), (3, "B"), (7, "P")):
        if i == 7 and node.op_type == "GRU":
            break
        name = node.inputs[i] if len(node.inputs) > i else ""
        if name and not is_const(consts, name):
            return f"{what} is not constant"
    if len(node.inputs) > 4 and not at_plan_time(consts, node.inputs[4], inputs[4]):
        return "sequence_lens is neither constant nor an integer tensor"
    acts, default = _acts(node), _DEFAULT_ACTS[node.op_type]
    if acts and acts not in (default, default * 2):
        return f"activations {acts} (opencl runs the defaults, {default})"
    if node.attrs.get("clip") is not None and float(node.attrs["clip"]) <= 0:
        return "clip is not positive"
    x = inputs[0].shape  # type: ignore[union-attr]
    if len(x) != 3:
        return "X is not 3-D"
    return None


def lower(bld: Builder, node: Node, opset: int) -> None:
    lstm = node.op_type == "LSTM"
    ins = list(node.inputs) + [""] * (8 - len(node.inputs))
    layout = int(node.attrs.get("layout", 0))
    T, B, I = bld.shape(ins[0])
    if layout:
        T, B = B, T
    w, r = bld.const(ins[1]), bld.const(ins[2])
    D, HG, _ = w.shape
    H = HG // (4 if lstm else 3)
    b = bld.const(ins[3]) if ins[3] else np.zeros((D, 2 * HG), np.float32)
    direction = node.attrs.get("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    outs = list(node.outputs) + [""] * (3 - len(node.outputs))
    y = bld.out(outs[0]) if outs[0] else bld.scratch("y", T * D * B * H)
    yh = bld.out(outs[1]) if outs[1] else bld.scratch("yh", D * B * H)
    h0 = bld.ref(ins[5]) if ins[5] else None
    lens = None
    if ins[4]:  # plan-time values: a constant, or an integer input that keys the plan
        values = np.asarray(bld.const(ins[4])).reshape(-1).astype(np.int32)
        lens = bld.weight(f"{ins[4]}::lens{values.tolist()}", values, np.int32)
    x = bld.ref(ins[0])
    xw = bld.scratch("xw", D * T * B * HG)
    wt = bld.weight(f"{ins[1]}::panels", pack_panels(np.ascontiguousarray(w.transpose(0, 2, 1))))
    gemm(bld, x, wt, xw, M=T * B, N=HG, K=I, lda=I, ldb=16, pstride=16 * I, ldc=HG,
         batch=D, sB=-(-HG // 16) * 16 * I, sC=T * B * HG)  # fmt: skip
    units8 = lstm and UNITS8 and H % 8 == 0  # 8 units a work-item: R as [D][4][H/8][H][8]
    if units8:
        rw = bld.weight(f"{ins[2]}::units8", r.reshape(D, 4, H // 8, 8, H).transpose(0, 1, 2, 4, 3))
    else:
        rw = bld.weight(ins[2], r)
    weights = [xw, rw, bld.weight(ins[3] or f"{node.name}::b", b)]
    clip = node.attrs.get("clip")
    code = {"forward": 0, "reverse": 1, "bidirectional": 2}[direction]
    tail: list = [i32(v) for v in (T, B, H, D, code, layout)]
    tail += [f32(clip if clip is not None else 0.0), i32(clip is not None)]
    state = D * B * H * 2  # a float per unit: 2 halves per float in fp16 storage
    seq = [lens, i32(lens is not None)]
    if lstm:
        p = bld.const(ins[7]) if ins[7] else None
        c0 = bld.ref(ins[6]) if ins[6] else None
        yc = bld.out(outs[2]) if outs[2] else bld.scratch("yc", D * B * H)
        kernel = "lstm_seq8_f32" if units8 else "lstm_seq_f32"
        args = weights + [bld.weight(ins[7], p) if p is not None else None, i32(p is not None)]
        args += [h0, i32(h0 is not None), c0, i32(c0 is not None), *seq, y, yh, yc]
        args += [bld.scratch("h", 2 * state), bld.scratch("c", state), *tail]
        args += [i32(int(node.attrs.get("input_forget", 0)))]
        bld.launch(kernel, (GROUP, D), args, local=(GROUP, 1))
        return
    args = weights + [h0, i32(h0 is not None), *seq, y, yh, bld.scratch("h", 2 * state)]
    args += [bld.scratch("rh", state), bld.scratch("z", state), *tail]
    args += [i32(int(node.attrs.get("linear_before_reset", 0)))]
    bld.launch("gru_seq_f32", (GROUP, D), args, local=(GROUP, 1))


SUPPORT = {"LSTM": supports, "GRU": supports}
LOWER = {"LSTM": lower, "GRU": lower}
