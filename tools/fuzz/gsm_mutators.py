"""Structure-aware mutations of a `.gsm` file (docs/gsm-format.md): header fields that lie, and
edits of the JSON graph section and the data section, re-packed with a valid graph CRC so that
the edits get past the checksum and reach the validators, shape inference and the kernels.

Each mutator takes (gsm, ctx) and returns a one-line description, or None when not applicable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.dtypes import DTYPE_NAMES, to_numpy

from .common import INT_EXTREMES, Ctx
from .onnx_mutators import ADDABLE, OTHER_OPS

HEADER_FIELDS = ["magic", "major", "minor", "flags", "graph_offset", "graph_length", "data_offset",
                 "data_length", "crc"]  # fmt: skip
U64_LIES = [0, 1, 63, 64, 65, 2**31, 2**32, 2**63, 2**64 - 1]
JSON_INTS = [*INT_EXTREMES, 2**63, 2**64, -(2**63) - 1, 10**100]
JSON_FLOATS = [0.0, -1.0, 1e-300, 1e308, "NaN", "Infinity", "-Infinity"]
DTYPES = sorted(DTYPE_NAMES)


@dataclass
class Gsm:
    """A .gsm file taken apart: the graph document, the data section, header fields to lie in."""

    doc: dict
    data: bytearray
    header: dict[int, int] = field(default_factory=dict)  # field index -> value, after packing

    @classmethod
    def parse(cls, blob: bytes) -> Gsm:
        fields = mf.HEADER.unpack(blob[: mf.HEADER.size])
        g_off, g_len, d_off, d_len = fields[4:8]
        return cls(json.loads(blob[g_off : g_off + g_len]), bytearray(blob[d_off : d_off + d_len]))

    def pack(self) -> bytes:
        """The file: a consistent header and a valid CRC, then the lying fields written over."""
        blob = mf.pack_gsm(self.doc, bytes(self.data))
        if not self.header:
            return blob
        fields = list(mf.HEADER.unpack(blob[: mf.HEADER.size]))
        limits = {1: 2**16, 2: 2**16, 3: 2**32, 8: 2**32}
        for index, value in self.header.items():
            fields[index] = value % limits.get(index, 2**64)
        return mf.HEADER.pack(*fields) + blob[mf.HEADER.size :]


def _graphs(doc: dict) -> list[dict]:
    found: list[dict] = []

    def walk(g: dict) -> None:
        found.append(g)
        for n in g.get("nodes", []):
            for attr in n.get("attrs", {}).values():
                for sub in [attr.get("graph")] + list(attr.get("graphs", [])):
                    if isinstance(sub, dict):
                        walk(sub)

    walk(doc["graph"])
    return found


def _nodes(doc: dict) -> list[dict]:
    return [n for g in _graphs(doc) for n in g["nodes"]]


def _label(n: dict) -> str:
    return f"{n['op_type']}({n['name']})"


def header_lie(gsm: Gsm, ctx: Ctx) -> str | None:
    """A header field lies: version, flags, section offsets and lengths (alignment), or the CRC."""
    index = ctx.rng.randint(1, 8)
    if index in (1, 2):
        value = ctx.pick([0, 2, 255, 65535]) if index == 1 else ctx.pick([1, 7, 65535])
    elif index == 3:
        value = ctx.pick([1, 0x8000, 0x10000, 0xFFFFFFFF])
    elif index == 8:
        value = ctx.rng.randrange(2**32)
    else:
        value = ctx.pick(U64_LIES + [ctx.rng.randrange(0, 4096)])
    gsm.header[index] = value
    return f"header {HEADER_FIELDS[index]} = {value}"


def json_attr(gsm: Gsm, ctx: Ctx) -> str | None:
    """A node attribute set to extreme ints/floats, retyped, removed, or a known one added."""
    ns = _nodes(gsm.doc)
    if not ns:
        return None
    n = ctx.pick(ns)
    attrs = n["attrs"]
    if attrs and ctx.rng.random() < 0.75:
        name = ctx.pick(sorted(attrs))
        old = attrs[name]
    else:
        name = ctx.pick(sorted(ADDABLE))
        old = {"ints": [1, 1]} if ADDABLE[name] == "ints" else {"int": 1}
    kind = next(iter(old), "int") if isinstance(old, dict) else "int"
    r = ctx.rng.random()
    if r < 0.1:
        attrs.pop(name, None)
        return f"{_label(n)}: attribute {name} removed"
    if r < 0.25:
        attrs[name] = value = ctx.pick(
            [
                {"string": "SAME_UPPER"},
                {"float": 1.5},
                {"ints": []},
                {"int": 1},
                {"floats": ["NaN"]},
                {"tensor": 0},
            ]
        )
    elif kind == "ints":
        ints = old["ints"] if isinstance(old.get("ints"), list) else [1, 1]
        attrs[name] = value = {
            "ints": [ctx.pick(JSON_INTS) if ctx.rng.random() < 0.7 else v for v in ints]
            or [ctx.pick(JSON_INTS)]
        }
    elif kind == "float":
        attrs[name] = value = {"float": ctx.pick(JSON_FLOATS)}
    elif kind == "floats":
        attrs[name] = value = {"floats": [ctx.pick(JSON_FLOATS)] * ctx.rng.randint(0, 4)}
    else:
        attrs[name] = value = {"int": ctx.pick(JSON_INTS)}
    return f"{_label(n)}.{name} = {value}"


def json_value(gsm: Gsm, ctx: Ctx) -> str | None:
    """A graph input/output/value_info gets a hostile shape, dtype or kind."""
    g = gsm.doc["graph"]
    vs = [(k, v) for k in ("inputs", "outputs", "value_info") for v in g[k]]
    if not vs:
        return None
    where, v = ctx.pick(vs)
    key = ctx.pick(["shape", "shape", "dtype", "kind"])
    if key == "shape":
        v["shape"] = ctx.pick(
            [
                None,
                [],
                [2**40, 2**30],
                [0],
                [-1],
                [2**63 - 1, 2],
                ["N"] * 70,
                [*(v["shape"] or [1])[:-1], ctx.pick(JSON_INTS)],
            ]
        )
    elif key == "dtype":
        v["dtype"] = ctx.pick([*DTYPES, None, "", "float128", 3])
    else:
        v["kind"] = ctx.pick(["tensor", "sequence", "optional", "map", None])
    return f"{where} {v['name']!r} {key} = {v[key]!r}"


def json_tensor(gsm: Gsm, ctx: Ctx) -> str | None:
    """A tensor table entry reshaped or retyped (consistently: it still passes the size checks,
    so the lie reaches the ops), or its offset/nbytes made inconsistent."""
    raw = [t for t in gsm.doc["tensors"] if "offset" in t]
    if not raw:
        return None
    t = ctx.pick(raw)
    mode = ctx.pick(["reshape", "retype", "offset", "nbytes", "huge"])
    if mode == "reshape":
        itemsize = to_numpy(t["dtype"]).itemsize
        count = t["nbytes"] // max(1, itemsize)
        t["shape"] = ctx.pick(
            [[count], [1, count], [count, 1, 1], []]
            if count == 1
            else [[count], [1, count], [count, 1, 1], [0]]
        )
        if t["shape"] == [0]:
            t["nbytes"] = 0
    elif mode == "retype":
        size = int(np.prod(t["shape"]))
        t["dtype"] = ctx.pick(DTYPES)
        t["nbytes"] = size * to_numpy(t["dtype"]).itemsize if t["dtype"] != "string" else 0
    elif mode == "offset":
        t["offset"] = ctx.pick([1, -64, 64 * 10**6, 2**63, len(gsm.data), t["offset"] + 64])
    elif mode == "nbytes":
        t["nbytes"] = ctx.pick([0, t["nbytes"] + 1, t["nbytes"] - 1, 2**62, 2**64])
    else:
        t["shape"], t["nbytes"] = ctx.pick([([2**40], 2**42), ([2**31, 2**31], 2**64)])
    return f"tensor table entry ({mode}) -> {t}"


def data_values(gsm: Gsm, ctx: Ctx) -> str | None:
    """Values of an int/float tensor in the data section set to extremes (it has no checksum)."""
    tensors = gsm.doc["tensors"]
    ok = [
        i
        for i, t in enumerate(tensors)
        if t.get("dtype") in ("int64", "int32", "float32") and t.get("nbytes")
    ]
    ints = [i for i in ok if tensors[i]["dtype"] != "float32"]
    if not ok:
        return None
    t = tensors[ctx.pick(ints if ints and ctx.rng.random() < 0.8 else ok)]
    dtype = np.dtype(t["dtype"])
    view = np.frombuffer(gsm.data, dtype, t["nbytes"] // dtype.itemsize, t["offset"])
    if dtype.kind == "f":
        value: Any = ctx.pick([0.0, -1.0, 1e30, math.inf, -math.inf, math.nan])
    else:
        info = np.iinfo(dtype)
        value = ctx.pick([v for v in INT_EXTREMES if info.min <= v <= info.max])
    index = ctx.rng.randrange(view.size) if ctx.rng.random() < 0.6 else None
    if index is None:
        view[...] = value
    else:
        view[index] = value
    return f"data of tensor {t} {'all' if index is None else f'[{index}]'} = {value}"


def graph_names(gsm: Gsm, ctx: Ctx) -> str | None:
    """Names and structure: dangling inputs, cycles, duplicate outputs, op_type/domain/opset."""
    g = gsm.doc["graph"]
    ns = [n for n in g["nodes"] if n["inputs"] and n["outputs"]]
    mode = ctx.pick(["dangling", "cycle", "duplicate", "op", "domain", "opset"])
    if mode == "opset":
        g["opsets"][""] = value = ctx.pick([0, 1, 6, 11, 13, 99, 2**31, 2**63 - 1, -1])
        return f"opsets[''] = {value}"
    if not ns:
        return None
    i = ctx.rng.randrange(len(ns))
    n = ns[i]
    if mode == "dangling":
        n["inputs"][ctx.rng.randrange(len(n["inputs"]))] = "fuzz_dangling"
    elif mode == "cycle":
        n["inputs"][0] = ns[ctx.rng.randrange(i, len(ns))]["outputs"][0]
    elif mode == "duplicate":
        n["outputs"][0] = ctx.pick([m["outputs"][0] for m in ns] + [v["name"] for v in g["inputs"]])
    elif mode == "op":
        n["op_type"] = ctx.pick(OTHER_OPS)
    else:
        n["domain"] = ctx.pick(["com.microsoft", "ai.onnx.ml", "fuzz", "ai.onnx"])
    return f"{_label(n)}: {mode} -> inputs={n['inputs']} outputs={n['outputs']}"


def _graph_doc(name: str, nodes: list[dict], outputs: list[str]) -> dict:
    values = [{"name": o, "dtype": None, "shape": None, "kind": "tensor"} for o in outputs]
    return {"name": name, "opsets": {}, "metadata": {}, "inputs": [], "outputs": values,
            "value_info": [], "initializers": [], "nodes": nodes}  # fmt: skip


def deep_if(gsm: Gsm, ctx: Ctx) -> str | None:
    """A node wrapped in nested If bodies around the format's 64-level limit (JSON has no
    protobuf recursion limit, so the interpreter's own recursion gets tested)."""
    g = gsm.doc["graph"]
    ns = [n for n in g["nodes"] if n["outputs"] and n["inputs"]]
    if not ns:
        return None
    target = ctx.pick(ns)
    depth = ctx.pick([2, 16, 40, 62, 63, 64, 65])
    offset = -(-len(gsm.data) // mf.ALIGNMENT) * mf.ALIGNMENT
    gsm.data += bytes(offset - len(gsm.data)) + b"\x01"
    gsm.doc["tensors"].append({"dtype": "bool", "shape": [], "offset": offset, "nbytes": 1})
    g["initializers"].append({"name": "fuzz_true", "tensor": len(gsm.doc["tensors"]) - 1})
    out = target["outputs"][0]
    inner = dict(target, outputs=[out])
    for level in range(depth):
        other = {"op_type": "Identity", "domain": "", "name": f"fuzz_else{level}",
                 "inputs": [target["inputs"][0]], "outputs": [out], "attrs": {}}  # fmt: skip
        branches = {
            "then_branch": {"graph": _graph_doc(f"then{level}", [inner], [out])},
            "else_branch": {"graph": _graph_doc(f"else{level}", [other], [out])},
        }
        inner = {"op_type": "If", "domain": "", "name": f"fuzz_if{level}", "inputs": ["fuzz_true"],
                 "outputs": [out], "attrs": branches}  # fmt: skip
    g["nodes"][g["nodes"].index(target)] = inner
    return f"{_label(target)} wrapped in {depth} nested If bodies"


MUTATORS: dict[str, Callable[[Gsm, Ctx], str | None]] = {
    f.__name__: f
    for f in [header_lie, json_attr, json_value, json_tensor, data_values, graph_names, deep_if]
}
WEIGHTS = {"json_attr": 3.0, "data_values": 2.0, "header_lie": 0.5}
